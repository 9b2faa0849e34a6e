"""``python -m compare.report {tdt4265,dd2424} --out DIR [--data-root DIR] [--download]
[--dataset mnist] [--quick] [--logdir DIR] [--cache DIR]``.

Runs what the text's report needs (each experiment by the NumPy implementation and, in lockstep,
by the Lightning reference; cached, so a rerun redoes only what changed) and writes
DIR/report.md, DIR/report.pdf and every figure as DIR/<name>.png; each lockstep run's
TensorBoard files go to <logdir>/report/<experiment>_<hyperparameters>/ and the cache to
.report-cache/ beside the log folder (never inside it, so TensorBoard lists only runs).
Exit status: 0 written, 1 the data is missing or bad (the message says how to get it), 2 a
usage error, 130/143 interrupted (finished runs stay cached). The drawing and training
modules are imported only once the command line is read, so ``--help`` is instant.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from compare.isolation import run_interruptible
from numpy_impl.data import DataError, DatasetNotFoundError
from numpy_impl.run.exits import ExitCode

PROG = "python -m compare.report"
CIFAR_HELP = (
    "DD2424 trains on CIFAR-10, which is not here. Fetch it (170 MB) with "
    f"`{PROG} dd2424 --out DIR --data-root data --download`, point --data-root at a folder "
    "holding cifar-10-batches-py/, or run the DD2424 recipe on the embedded MNIST subset with "
    f"`{PROG} dd2424 --out DIR --dataset mnist`.")


def parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, exit_on_error=False, description=(
        "Write a text's report (report.md, report.pdf, one PNG per figure) from runs of the "
        "NumPy implementation and the Lightning reference."))
    p.add_argument("text", choices=["tdt4265", "dd2424"], help="which assignment's report")
    p.add_argument("--out", required=True, help="the folder the report is written to")
    p.add_argument("--data-root", default=None,
                   help="real MNIST / CIFAR-10 under this folder (torchvision's layout); "
                   "default: the embedded MNIST subset for TDT4265, data/ for CIFAR-10")
    p.add_argument("--download", action="store_true", help="fetch missing data to --data-root")
    p.add_argument("--dataset", choices=["cifar10", "mnist"], default="cifar10",
                   help="DD2424 only: mnist runs its recipe on MNIST (the embedded subset "
                   "unless --data-root)")
    p.add_argument("--quick", action="store_true",
                   help="shorten every run (1 epoch, 2 grid points): renders in seconds")
    p.add_argument("--logdir", default="runs",
                   help="TensorBoard's log folder: each lockstep run is written to "
                   "LOGDIR/report/<experiment>_<hyperparameters>/ (default: runs)")
    p.add_argument("--cache", default=None,
                   help="where finished runs are kept (default: .report-cache/ beside "
                   "--logdir, e.g. ./.report-cache for runs/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def data_setup(args: Any) -> tuple[dict[str, Any], str, list[str]]:
    """The overrides every run gets, the data's description for the title, and the class
    names. Raises DatasetNotFoundError where CIFAR-10 is asked for but missing."""
    from compare.report import tdt4265
    from numpy_impl.data import load_cifar10, load_cifar10_label_names

    if args.text == "tdt4265" or args.dataset == "mnist":
        overrides = {"data.root": args.data_root, "data.download": args.download}
        where = "MNIST from " + args.data_root if args.data_root else \
            "the embedded 5,000-image MNIST subset"
        if args.text == "dd2424":
            overrides["data.dataset"] = "mnist"
            where = f"{where}, not CIFAR-10"
        return overrides, where, tdt4265.DIGITS
    root = args.data_root or "data"
    if args.download:
        load_cifar10(root, download=True)
    names = load_cifar10_label_names(root)
    return {"data.root": root}, f"CIFAR-10 from {root}", names


def data_used(records: Any, where: str) -> str:
    """The title's data, from what the runs actually trained on (each split's description):
    ``where`` (what the command line asked for), said to be the embedded subset whenever a
    run used it."""
    embedded = "the embedded 5,000-image MNIST subset"
    if any(r.embedded for r in records) and "embedded" not in where:
        return f"{embedded} (asked for: {where})"
    return where


def build_report(args: Any) -> Path:
    """Run (or take from the cache) everything the report needs and write it; returns the
    report.md path."""
    import matplotlib.pyplot as plt

    from compare.report import dd2424, tdt4265
    from compare.report.document import write_figures, write_markdown, write_pdf
    from compare.report.gradients import gradient_table
    from compare.report.runs import run_jobs
    from lightning_ref.quiet import quiet_lightning
    from numpy_impl.run.threads import configure_threads

    quiet_lightning()
    configure_threads()  # small matrices: one thread (docs/performance.md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    overrides, data, class_names = data_setup(args)
    text = {"tdt4265": tdt4265, "dd2424": dd2424}[args.text]  # each text's report
    cache = Path(cache_dir(args))
    records, extra = run_jobs(
        text.jobs(args.quick), overrides, args.quick, cache / args.text,
        {"gradient checks": lambda: gradient_table(text.GRADIENT_MODELS, args.quick)},
        progress=not args.no_progress, log_dir=Path(args.logdir))
    data = data_used(records.values(), data)
    gradients = extra["gradient checks"]
    sections, figures = text.build(records, gradients, args.quick, data, class_names)
    title = (f"{args.text.upper()} Assignment 1: report ({data}"
             f"{'; QUICK MODE, shortened runs' if args.quick else ''})")
    write_figures(out, figures)
    write_markdown(out / "report.md", title, sections)
    write_pdf(out / "report.pdf", title, sections, figures)
    plt.close("all")
    return out / "report.md"


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    try:
        args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    except Exception as err:  # jsonargparse's ArgumentError: one line, exit 2
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return ExitCode.USAGE
    if args.text == "tdt4265" and args.dataset != "cifar10":
        print(f"{PROG}: error: --dataset applies to dd2424 only", file=sys.stderr)
        return ExitCode.USAGE
    return run_interruptible(lambda: write(args), f"{PROG}: interrupted ({{}}); the runs "
                             f"finished so far stay cached in {cache_dir(args)}/")


def cache_dir(args: Any) -> str:
    """The cache folder the command uses (``--cache``, else beside ``--logdir``)."""
    if args.cache:
        return str(args.cache)
    return str(Path(args.logdir).absolute().parent / ".report-cache")  # runs.default_cache_dir


def write(args: Any) -> int:
    """Write the report; the exit status."""
    start = time.monotonic()
    try:
        report = build_report(args)
    except DatasetNotFoundError as err:
        print(f"{PROG}: {err.dataset} not found under {err.root}/ ({len(err.missing)} "
              f"file(s) missing, e.g. {err.missing[0]}). "
              + (CIFAR_HELP if err.dataset == "CIFAR-10" else
                 "Fetch it with --data-root DIR --download."), file=sys.stderr)
        return ExitCode.DATA
    except DataError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return ExitCode.DATA
    print(f"wrote {report}, {report.with_suffix('.pdf')} and the figures in {report.parent}/ "
          f"in {time.monotonic() - start:.0f} s")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
