"""``python -m compare [EXPERIMENT | --config PATH] [--steps N] [--model.lam 0.1 ...]``.

Trains one experiment definition (default: tdt4265/task2b on the embedded MNIST subset) with the
NumPy implementation and the Lightning reference side by side, compares them at every step,
and prints the largest error of every quantity, the verdict and where the TensorBoard run with
both sides' curves is.

SIGINT (Ctrl-C) or SIGTERM pauses the run: both sides stop at one step, their checkpoint goes
to the run's ``checkpoint/`` folder, and the command that resumes it is printed (the same
command with ``--ckpt_path``; ``--resume`` takes the newest paused run of the experiment). See
:mod:`compare.parity.pause`.

Exit status: 0 PASS; 1 FAIL (a mismatch); 2 a usage error; 3 ERROR, no verdict: the NumPy side
crashed, hung (``--timeout``), exited, ran out of memory or its ``--numpy-side`` module could not
be loaded (a module that does not exist is a usage error, 2); 130 (SIGINT) or 143 (SIGTERM):
interrupted, no verdict yet.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jsonargparse import ArgumentParser, Namespace

from compare.isolation import run_interruptible
from compare.parity.numpy_side import DEFAULT_TIMEOUT, NumpySideError, check_module, check_spec
from numpy_impl.run.exits import ExitCode, exit_status
from numpy_impl.run.experiments import DEFAULT_EXPERIMENT, Experiment, load_experiment
from numpy_impl.run.interrupt import Interrupted, resume_command
from numpy_impl.run.runfiles import tensorboard_command
from numpy_impl.run.schema import (
    Resuming,
    experiment_parser,
    experiment_source,
    not_allowed,
    parse_command_line,
    report,
    user_errors,
)
from numpy_impl.run.terminal import draws_bars
from numpy_impl.run.threads import configure_threads


def build_parser() -> ArgumentParser:
    """compare's own options; the experiment's flags are the schema's (in the epilog)."""
    parser = experiment_parser(
        "python -m compare", "Train an experiment with the NumPy implementation and the "
        "Lightning reference in lockstep and compare losses, gradients, weights and metrics at "
        "every step.", "a name such as tdt4265/task3b", Resuming(
            "FOLDER", "resume the paused run whose checkpoint folder this is (the run's "
            "checkpoint/), with the flags it was started with",
            "resume the newest paused run of this experiment"))
    parser.add_argument("--steps", type=int | None, default=None,
                        help="stop both sides after N updates (default: the whole run)")
    parser.add_argument("--log-dir", default="runs/compare",
                        help="TensorBoard runs go to LOG_DIR/EXPERIMENT/version_N")
    parser.add_argument("--tolerance", type=float | None, default=None,
                        help="largest relative error (default: 1e-10 float64, 1e-4 float32)")
    parser.add_argument("--numpy-side", default=None, metavar="MODULE:NAME",
                        help="a compare.NumpySide replacing pieces of the NumPy side, or a "
                        "TDT4265 model or trainer class or a DD2424 Objective, from the "
                        "project's packages (e.g. compare.parity.wrong:NO_MEAN_GRADIENT); from a "
                        "module of your own (my_task3a:SoftmaxModel, my_task3a.py in the "
                        "current folder) a TDT4265 model class only, run in a sandbox")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="longest wait for each of the NumPy side's records")
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop at the first mismatch instead of running to the end")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (off a terminal there is none)")
    parser.add_argument("--progress", action="store_true",
                        help="the progress bar on stdout even when it is not a terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; 0 for PASS, 1 for FAIL, 2 for a usage or config mistake, 4 for
    missing or unsafe data (one line on stderr), 3 for no verdict, 130 or 143 when SIGINT or SIGTERM
    paused it (one line: where its checkpoint is and the command that resumes it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, parts = parse_command_line(build_parser(), argv)
        if args.steps is not None and args.steps < 1:
            raise not_allowed("--steps", args.steps, "the number of steps must be >= 1")
        if args.timeout <= 0:
            raise not_allowed("--timeout", args.timeout, "the time limit must be > 0 seconds")
        if args.numpy_side is not None:
            check_spec(args.numpy_side)
            check_module(args.numpy_side)  # before any training starts
        source = experiment_source([args.experiment] if args.experiment else [], parts.configs,
                                   DEFAULT_EXPERIMENT)
        exp = load_experiment(source, parts.overrides, parts.flags)
        if args.numpy_side is not None:
            check_spec(args.numpy_side, exp)  # a student's module: TDT4265 only
        if args.resume:
            from compare.parity.pause import latest_resume

            args.ckpt_path = str(latest_resume(args.log_dir, exp))
    except user_errors() as err:
        return report(err)

    # SIGINT/SIGTERM: the NumPy side's process is stopped as the run unwinds (NumpyProcess.stop)
    return run_interruptible(lambda: run(args, exp),
                             lambda stop: interrupted_message(stop, argv, args, exp))


def interrupted_message(stop: Interrupted, argv: list[str], args: Namespace,
                        exp: Experiment) -> str:
    """One line: the signal, where the checkpoint is and the command that resumes it, or why
    there is none."""
    if stop.checkpoint is None:
        why = f" ({stop.note})" if stop.note else ""
        return (f"interrupted ({stop}): the run stopped before a verdict{why}; the curves so "
                f"far are in {args.log_dir}/{exp.name}/ (its newest version_N); run it again")
    return (f"interrupted ({stop}) after step {stop.step}: checkpoint in {stop.checkpoint} "
            f"(curves beside it); resume with: "
            f"{resume_command('compare', argv, stop.checkpoint)}")


def run(args: Namespace, exp: Experiment) -> int:
    """The parity run; prints the report and returns the exit status."""
    from lightning_ref.quiet import quiet_lightning

    quiet_lightning()  # Lightning's start-up chatter would bury the table
    configure_threads()
    from compare.parity.findings import ParityError
    from compare.parity.run import run_parity

    try:
        report_ = run_parity(exp, steps=args.steps, numpy_side=args.numpy_side,
                             log_dir=args.log_dir, tolerance=args.tolerance,
                             strict=args.fail_fast,
                             progress=draws_bars(sys.stdout, args.no_progress, args.progress),
                             timeout=args.timeout, ckpt_path=args.ckpt_path)
    except ParityError as err:
        if err.report is None:  # a rank other than 0 under DDP: rank 0 reports
            return ExitCode.FAILED
        report_ = err.report
    except NumpySideError as err:
        print(f"error: {err}" + (f"\n{err.frames}" if err.frames else ""), file=sys.stderr)
        return ExitCode.ERRORED
    except user_errors() as err:
        return report(err)
    if report_.summary.get("rank", 0) != 0:
        return ExitCode.OK  # under DDP, rank 0 compares and judges
    print(render(report_))
    return exit_status(failed=not report_.passed, errored=False)


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
    if "diverged" in report.summary:
        lines.append(f"the Lightning reference stopped: {report.summary['diverged']}")
    lines += ["", report.verdict()]
    if report.log_dir is not None:
        lines.append(f"TensorBoard: {report.log_dir}/ holds the runs numpy and lightning (the "
                     "same tags, so each chart overlays both sides) and parity (the error of "
                     f"every step)\n  view: {tensorboard_command(report.log_dir)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
