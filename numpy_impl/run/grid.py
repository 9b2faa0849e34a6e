"""DD2424 Exercise 2.1c: a grid search, every run an experiment with some fields replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from numpy_impl.dd2424 import grid_points
from numpy_impl.run.experiments import load_experiment, load_grid
from numpy_impl.run.train import run_experiment


def run_grid(name: str, overrides: dict[str, Any] | None = None,
             runs_dir: str | Path = "runs/numpy", verbose: bool = True) -> list[dict[str, Any]]:
    """Train every point of a grid definition (each from its own fresh generator, as a
    separate run of the base experiment would be) and report one row per run."""
    base, grid = load_grid(name)
    rows = []
    points = grid_points(grid)
    for i, point in enumerate(points, 1):
        exp = load_experiment(base.path, {**(overrides or {}), **point})
        if verbose:
            print(f"[grid] run {i}/{len(points)}: {point}")
        tag = "_".join(f"{k.rpartition('.')[2]}{v}" for k, v in point.items())
        result = run_experiment(exp, Path(runs_dir) / "grid" / tag, verbose=False)
        rows.append({**point, **{k: v for k, v in result.metrics.items() if "/" in k}})
        if verbose:
            print("       " + ", ".join(f"{k} {v:.4f}" for k, v in rows[-1].items()
                                        if k not in point and isinstance(v, float)))
    rows.sort(key=lambda row: -row.get("val/acc", 0.0))
    out = Path(runs_dir) / "grid" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    if verbose:
        print(f"[grid] best by validation accuracy: {rows[0]}\n[grid] every run in {out}")
    return rows
