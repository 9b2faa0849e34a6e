"""``python -m numpy_impl [EXPERIMENT | --config PATH] [--model.lam 0.1 --data.root DIR ...]``.

Trains one experiment definition (default: tdt4265/task2b on the embedded MNIST subset), or every
run of a grid (``grids/dd2424_bonus``), with the NumPy implementation. The experiment and its
flags follow the one schema of :mod:`numpy_impl.schema`, so the same command line works on
``python -m lightning_ref.fit`` and ``python -m compare``, and a bad value gets the same one line
and exit code 2 on all three.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from numpy_impl.experiments import DEFAULT_EXPERIMENT, experiment_names, load_experiment
from numpy_impl.schema import (
    HelpFormatter,
    experiment_source,
    parse_command_line,
    report,
    section_help,
    user_errors,
)


def build_parser() -> ArgumentParser:
    """The NumPy CLI's own options; the experiment's flags are the schema's (in the epilog)."""
    parser = ArgumentParser(
        prog="python -m numpy_impl", exit_on_error=False, epilog=section_help(),
        formatter_class=HelpFormatter,
        description="Train an experiment of configs/ with the NumPy implementation.")
    parser.add_argument("experiment", nargs="?", default=None,
                        help=f"a name such as {DEFAULT_EXPERIMENT} or grids/dd2424_bonus, or a "
                        f"YAML path; without it and without --config: {DEFAULT_EXPERIMENT}")
    parser.add_argument("--runs-dir", default="runs/numpy", help="where runs are saved")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train the experiment or grid the command line names; 0 when done, 2 for a usage or
    config mistake, 1 for missing or unsafe data (one line on stderr)."""
    try:
        args, parts = parse_command_line(build_parser(), argv)
        if args.list:
            print("\n".join(experiment_names()))
            return 0
        source = experiment_source([args.experiment] if args.experiment else [], parts.configs,
                                   DEFAULT_EXPERIMENT)
        # Imported here so that --list and --help stay instant.
        from numpy_impl.grid import run_grid
        from numpy_impl.train import run_experiment

        if source.startswith("grids/") or Path(source).parent.name == "grids":
            run_grid(source, parts.overrides, args.runs_dir)
        else:
            run_experiment(load_experiment(source, parts.overrides, parts.flags), args.runs_dir)
    except user_errors() as err:
        return report(err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
