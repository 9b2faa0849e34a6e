"""``python -m numpy_impl [EXPERIMENT] [--model.lam 0.1 --data.root DIR ...]``.

Trains one experiment definition (default: tdt4265/task2b on the embedded MNIST
subset), or every run of a grid (``grids/dd2424_bonus``), with the NumPy implementation.
Overrides use the Lightning CLI's spelling, so the same flags work on both sides.
"""

from __future__ import annotations

import argparse
import sys

import yaml

from numpy_impl.experiments import (
    DEFAULT_EXPERIMENT,
    ExperimentError,
    experiment_names,
    load_experiment,
)


def split_overrides(argv: list[str]) -> tuple[list[str], dict[str, object]]:
    """Separate the dotted overrides (``--model.lam 0.1``, ``--data.root=DIR``) from the other
    arguments; values are read as YAML scalars, so ``null``, ``true`` and numbers work."""
    rest: list[str] = []
    overrides: dict[str, object] = {}
    it = iter(argv)
    for arg in it:
        key, eq, value = arg.removeprefix("--").partition("=")
        if not arg.startswith("--") or ("." not in key and key != "seed_everything"):
            rest.append(arg)
            continue
        if not eq:
            value = next(it, None)
            if value is None:
                raise ExperimentError(f"override --{key} needs a value")
        overrides[key] = yaml.safe_load(value)
    return rest, overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m numpy_impl",
        description="Train an experiment of configs/ with the NumPy implementation. Extra "
        "arguments override fields, e.g. --model.lam 0.1 --trainer.max_epochs 5 "
        "--data.root DIR --data.download true.",
    )
    parser.add_argument("experiment", nargs="?", default=DEFAULT_EXPERIMENT,
                        help=f"a name such as {DEFAULT_EXPERIMENT} or grids/dd2424_bonus, or a "
                        "YAML path (default: %(default)s)")
    parser.add_argument("--runs-dir", default="runs/numpy", help="where runs are saved")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    try:
        rest, overrides = split_overrides(sys.argv[1:] if argv is None else argv)
    except ExperimentError as err:
        parser.error(str(err))
    args = parser.parse_args(rest)
    if args.list:
        print("\n".join(experiment_names()))
        return 0
    # Imported here so that --list and --help stay instant.
    from numpy_impl.data import DatasetNotFoundError, UnsafePickleError
    from numpy_impl.grid import run_grid
    from numpy_impl.train import run_experiment

    try:
        if args.experiment.startswith("grids/"):
            run_grid(args.experiment, overrides, args.runs_dir)
        else:
            run_experiment(load_experiment(args.experiment, overrides), args.runs_dir)
    except (ExperimentError, DatasetNotFoundError, UnsafePickleError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
