"""``python -m bench [--quick] [--data-root DIR] [--out FILE] [--rows numpy,lightning,...]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.core import ROWS, Shapes, run_all

DEFAULT_OUT = Path("runs") / "bench.json"
TARGETS = {  # the row, the figure and the largest ratio (or seconds) that meets the target
    "numpy": ("ratio", 1.15),
    "lightning": ("ratio", 1.5),
    "compare": ("ratio", 1.2),
}


def table(result: dict[str, Any]) -> str:
    """A row per figure: its seconds, its baseline's, their ratio and the target it meets or
    misses; then the threads and the load the run started under."""
    rows = []
    for row in (*ROWS, "thread_comparison"):
        if row not in result or row == "threads":
            continue
        for name, fig in result[row].items():
            label = f"{row}/{name}"
            if fig.get("absent"):
                rows.append((label, "absent", "", "", ""))
                continue
            rows.append((label, f"{fig['seconds']:.4f}", f"{fig['baseline_seconds']:.4f}",
                         f"{fig['ratio']:.2f}", _target(row, name, fig)))
    lines = tabulate(rows, ("row", "seconds", "baseline", "ratio", "target"), tablefmt="simple",
                     disable_numparse=True,
                     colalign=("left", "right", "right", "right", "left")).splitlines()
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"threads: {result['threads']}; load average at start: {load} "
                 f"({result['cpu_count']} CPUs)")
    return "\n".join(line.rstrip() for line in lines)


def _target(row: str, name: str, fig: dict[str, Any]) -> str:
    """The target of a figure and whether it is met ("" where it has none)."""
    if row in TARGETS:
        return f"<= {TARGETS[row][1]}x " + ("ok" if fig["ratio"] <= TARGETS[row][1] else "MISSED")
    if row == "data" and name == "cifar_batch":
        return "<= 0.3 s " + ("ok" if fig["seconds"] <= 0.3 else "MISSED")
    if row == "startup" and "--help" in name:
        return "<= 1 s " + ("ok" if fig["seconds"] <= 1.0 else "MISSED")
    if "sandbox_seconds_per_handin" in fig:
        per = fig["sandbox_seconds_per_handin"]
        return f"{per:+.3f} s a hand-in, <= 0.5 s " + ("ok" if per <= 0.5 else "MISSED")
    return ""


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the NumPy trainers, the Lightning reference, compare, the data "
                    "readers, scaling and start-up, each as a ratio to a baseline measured in "
                    "the same run; print a table and write every figure as JSON.")
    parser.add_argument("--quick", action="store_true",
                        help="small shapes and one repeat: shows that it works (CI)")
    parser.add_argument("--data-root", default=None,
                        help="real MNIST and CIFAR-10 (torchvision's layout); default: files of "
                             "the real size written to a temporary folder")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"JSON file ({DEFAULT_OUT})")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"comma-separated subset of {','.join(ROWS)}")
    args = parser.parse_args(argv)
    rows = tuple(r for r in args.rows.split(",") if r)
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    result = run_all(Shapes(args.quick), args.data_root, rows,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(table(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
