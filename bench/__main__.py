"""``python -m bench [--quick] [--data-root DIR] [--out FILE] [--rows numpy,lightning,...]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.core import ROWS, Shapes, run_all

DEFAULT_OUT = Path("runs") / "bench.json"
TARGETS = {  # the row, the figure and the largest ratio (or seconds) that meets the target
    "numpy": ("ratio", 1.15),
    "lightning": ("ratio", 1.5),
    "compare": ("ratio", 1.2),
}


def table(result: dict[str, Any]) -> str:
    lines = [f"{'row':<44} {'seconds':>9} {'baseline':>9} {'ratio':>7}  target"]
    for row in (*ROWS, "thread_comparison"):
        if row not in result or row == "threads":
            continue
        for name, fig in result[row].items():
            label = f"{row}/{name}"
            if fig.get("absent"):
                lines.append(f"{label:<44} {'absent':>9}")
                continue
            target = ""
            if row in TARGETS:
                target = f"<= {TARGETS[row][1]}x " + ("ok" if fig["ratio"] <= TARGETS[row][1]
                                                     else "MISSED")
            elif row == "data" and name == "cifar_batch":
                target = "<= 0.3 s " + ("ok" if fig["seconds"] <= 0.3 else "MISSED")
            elif row == "startup" and "--help" in name:
                target = "<= 1 s " + ("ok" if fig["seconds"] <= 1.0 else "MISSED")
            elif "sandbox_seconds_per_handin" in fig:
                per = fig["sandbox_seconds_per_handin"]
                target = f"{per:+.3f} s a hand-in, <= 0.5 s " + ("ok" if per <= 0.5 else "MISSED")
            lines.append(f"{label:<44} {fig['seconds']:>9.4f} {fig['baseline_seconds']:>9.4f} "
                         f"{fig['ratio']:>7.2f}  {target}")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"threads: {result['threads']}; load average at start: {load} "
                 f"({result['cpu_count']} CPUs)")
    return "\n".join(lines)


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
    if "compare" in rows and not {"numpy", "lightning"} <= set(rows):
        parser.error("the compare row is measured against the numpy and lightning rows")
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
