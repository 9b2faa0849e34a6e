"""The two texts' reports, written from runs of both sides: ``python -m compare.report tdt4265
--out DIR`` and ``python -m compare.report dd2424 --out DIR`` write DIR/report.md, DIR/report.pdf
and every figure as PNG (see :mod:`compare.report.__main__`)."""
