"""``python -m compare [EXPERIMENT] [--steps N] [--model.lam 0.1 ...]``.

Trains one experiment definition (default: tdt4265/task2b on the embedded MNIST subset) with the
NumPy implementation and the Lightning reference side by side, compares them at every step,
and prints the largest error of every quantity, the verdict (exit code 0 for PASS, 1 for FAIL)
and where the TensorBoard run with both sides' curves is.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from numpy_impl.__main__ import split_overrides
from numpy_impl.experiments import DEFAULT_EXPERIMENT, ExperimentError


def numpy_side_from(spec: str):  # noqa: ANN201 (a NumpySide; imported lazily)
    """``module:NAME`` -> a NumpySide: ``NAME`` itself if it is one; a TDT4265 trainer class
    (a BaseTrainer subclass) or DD2424 Objective in its place; any other class as the TDT4265
    model class (the starter's interface: ``w``, ``forward``, ``backward``, ``grad``)."""
    from compare.numpy_side import NumpySide
    from numpy_impl.dd2424 import Objective
    from numpy_impl.tdt4265 import BaseTrainer

    module_name, _, name = spec.partition(":")
    hint = (f"--numpy-side {spec!r}: expected module:NAME naming a compare.NumpySide, a "
            "TDT4265 model or trainer class, or a DD2424 Objective (e.g. "
            "compare.wrong:NO_MEAN_GRADIENT, or my_task3a:SoftmaxModel with my_task3a.py in "
            "the current folder)")
    try:
        side = getattr(importlib.import_module(module_name), name, None) if name else None
    except ImportError as err:
        raise ExperimentError(f"{hint}; importing {module_name!r} failed: {err}") from err
    if isinstance(side, NumpySide):
        return side
    if isinstance(side, Objective):
        return NumpySide(objective=side)
    if isinstance(side, type) and issubclass(side, BaseTrainer):
        return NumpySide(trainer_class=side)
    if isinstance(side, type):
        return NumpySide(model_class=side)
    raise ExperimentError(hint)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compare",
        description="Train an experiment with the NumPy implementation and the Lightning "
        "reference in lockstep and compare losses, gradients, weights and metrics at every "
        "step. Extra arguments override fields, e.g. --model.lam 0.1 --trainer.max_epochs 2 "
        "--trainer.precision 32-true --trainer.strategy ddp --trainer.devices 2.")
    parser.add_argument("experiment", nargs="?", default=DEFAULT_EXPERIMENT,
                        help="a name such as tdt4265/task3b, or a YAML path "
                        "(default: %(default)s)")
    parser.add_argument("--steps", type=int, default=None,
                        help="stop both sides after N updates (default: the whole run)")
    parser.add_argument("--log-dir", default="runs/compare",
                        help="TensorBoard runs go to LOG_DIR/EXPERIMENT/version_N")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest relative error (default: 1e-10 float64, 1e-4 float32)")
    parser.add_argument("--numpy-side", default=None, metavar="MODULE:NAME",
                        help="a compare.NumpySide replacing pieces of the NumPy side")
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop at the first mismatch instead of running to the end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    try:
        rest, overrides = split_overrides(list(sys.argv[1:] if argv is None else argv))
    except ExperimentError as err:
        parser.error(str(err))
    args = parser.parse_args(rest)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")

    # Lightning's start-up chatter (devices, tips) would bury the table; warnings still show.
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from compare.parity_report import ParityError
    from compare.run import run_parity
    from numpy_impl.data import DatasetNotFoundError, UnsafePickleError

    try:
        side = numpy_side_from(args.numpy_side) if args.numpy_side else None
        report = run_parity(args.experiment, overrides, steps=args.steps, numpy_side=side,
                            log_dir=args.log_dir, tolerance=args.tolerance,
                            strict=args.fail_fast, progress=not args.no_progress)
    except ParityError as err:
        if err.report is None:  # a rank other than 0 under DDP: rank 0 reports
            return 1
        report = err.report
    except (ExperimentError, DatasetNotFoundError, UnsafePickleError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if report.summary.get("rank", 0) != 0:
        return 0  # under DDP, rank 0 compares and judges
    print(render(report))
    return 0 if report.passed else 1


def render(report) -> str:  # noqa: ANN001 (a ParityReport)
    """The table, how both sides ended, the verdict and where the TensorBoard run is."""
    lines = [f"\n{report.experiment} ({report.dtype}): NumPy side vs Lightning reference, "
             "step for step"]
    if "data" in report.summary:
        lines.append(f"data: {report.summary['data']}")
    lines += ["", report.table(), ""]
    for key in ("steps", "stopped_step", "best_step"):
        if key in report.summary:
            sides = report.summary[key]
            lines.append(f"{key.replace('_', ' ')}: numpy {sides['numpy']}, "
                         f"lightning {sides['lightning']}")
    for key, sides in report.summary.get("final metrics", {}).items():
        lines.append(f"final {key}: numpy {sides['numpy']:.6g}, lightning {sides['lightning']:.6g}")
    if report.summary.get("processes", 1) > 1:
        lines.append(f"Lightning ran on {report.summary['processes']} processes (DDP) against "
                     "one NumPy process")
    if report.summary.get("learning rates"):
        lines.append("learning rates: " + ", ".join(f"{r:g}" for r in
                                                   report.summary["learning rates"]))
    lines += ["", report.verdict()]
    if report.log_dir is not None:
        lines.append(f"TensorBoard: both sides' curves (numpy/..., lightning/...) and "
                     f"parity/max_rel_error in {report.log_dir}\n  view: tensorboard --logdir "
                     f"{report.log_dir}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
