"""``python -m numpy_impl [EXPERIMENT | --config PATH] [--model.lam 0.1 --data.root DIR ...]``.

Trains one experiment definition (default: tdt4265/task2b on the embedded MNIST subset), or every
run of a grid (``grids/dd2424_bonus``), with the NumPy implementation. The experiment and its
flags follow the one schema of :mod:`numpy_impl.run.schema`, so the same command line works on
``python -m lightning_ref.fit`` and ``python -m compare``, and a bad value gets the same one line
and exit code 2 on all three.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from numpy_impl.run.exits import ExitCode
from numpy_impl.run.experiments import DEFAULT_EXPERIMENT, experiment_names, load_experiment
from numpy_impl.run.interrupt import Interrupted, Signals, resume_command
from numpy_impl.run.schema import (
    ExperimentError,
    Resuming,
    experiment_parser,
    experiment_source,
    parse_command_line,
    report,
    user_errors,
)
from numpy_impl.run.threads import configure_threads


def build_parser() -> ArgumentParser:
    """The NumPy CLI's own options; the experiment's flags are the schema's (in the epilog)."""
    parser = experiment_parser(
        "python -m numpy_impl", "Train an experiment of configs/ with the NumPy implementation.",
        f"a name such as {DEFAULT_EXPERIMENT} or grids/dd2424_bonus", Resuming(
            "CHECKPOINT", "resume from this checkpoint.npz of an earlier run of the same "
            "experiment and flags (the run goes on in a new version folder)",
            "resume from the newest checkpoint.npz of this experiment"))
    parser.add_argument("--runs-dir", default="runs/numpy", help="where runs are saved")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (off a terminal there is none: one line per "
                        "epoch instead)")
    parser.add_argument("--progress", action="store_true",
                        help="a progress bar on stderr even when it is not a terminal")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train the experiment or grid the command line names; the exit code
    (:class:`numpy_impl.run.exits.ExitCode`): OK when done, USAGE for a usage or config mistake (a
    bad --ckpt_path included), DATA for missing or unsafe data, FAILED for a diverged run (one
    line on stderr), 130 or 143 when SIGINT or SIGTERM stopped the run (after saving its
    checkpoint, whose path and the command that resumes it are printed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    configure_threads()
    try:
        args, parts = parse_command_line(build_parser(), argv)
        if args.list:
            print("\n".join(experiment_names()))
            return ExitCode.OK
        source = experiment_source([args.experiment] if args.experiment else [], parts.configs,
                                   DEFAULT_EXPERIMENT)
        # Imported here so that --list and --help stay instant.
        from numpy_impl.run.grid import run_grid
        from numpy_impl.run.train import latest_checkpoint, run_experiment

        is_grid = source.startswith("grids/") or Path(source).parent.name == "grids"
        if is_grid and (args.ckpt_path or args.resume):
            raise ExperimentError("--ckpt_path and --resume resume one experiment, not a grid")
        if is_grid:
            run_grid(source, parts.overrides, args.runs_dir)
            return ExitCode.OK
        exp = load_experiment(source, parts.overrides, parts.flags)
        ckpt_path = latest_checkpoint(args.runs_dir, exp) if args.resume else args.ckpt_path
        with Signals(graceful=True).installed() as signals:
            run_experiment(exp, args.runs_dir, ckpt_path=ckpt_path, signals=signals,
                           progress=False if args.no_progress else (True if args.progress
                                                                    else None))
    except user_errors() as err:
        return report(err)
    except Interrupted as stop:
        print(interrupted_message(stop, argv), file=sys.stderr)
        return stop.exit_code
    return ExitCode.OK


def interrupted_message(stop: Interrupted, argv: list[str]) -> str:
    """One line: which signal stopped the run after which step, where its checkpoint is and
    the command that resumes it (this command line with ``--ckpt_path``)."""
    if stop.checkpoint is None:
        why = stop.note or "before the first step"
        return f"interrupted ({stop}) {why}: nothing to resume"
    command = resume_command("numpy_impl", argv, stop.checkpoint)
    return (f"interrupted ({stop}) after step {stop.step}: checkpoint in {stop.checkpoint}; "
            f"resume with: {command}")


if __name__ == "__main__":
    sys.exit(main())
