"""``python -m bench [--quick] [--data-root DIR] [--out FILE]``: how fast the parts run.

Every figure is measured in one process, on the same data, as the median over repeated runs,
and set against a baseline measured in the same run (a lower bound, a bare loop, the parts
alone, the interpreter's own start-up): speed is judged by those ratios, never by a timed
assertion. The table is printed and every figure and ratio is written as JSON. See
docs/performance.md for the targets, what was found and what was changed.
"""
