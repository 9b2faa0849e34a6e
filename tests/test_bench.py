"""``python -m bench --quick`` runs and writes every row and ratio (never its timings: speed is
judged by the ratios the benchmark prints, not asserted in a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.core import run_child
from compare.check.sandbox import namespaces_work

REPO = Path(__file__).resolve().parent.parent

ROWS = {
    "numpy": {"dd2424_float64", "tdt4265_float64", "dd2424_float32", "tdt4265_float32"},
    "lightning": {"dd2424", "tdt4265"},
    "cli": {"dd2424", "tdt4265"},
    "compare": {"dd2424", "tdt4265"},
    "data": {"cifar_batch", "mnist_train"},
    "scaling": {f"{axis}={v}" for axis, values in (("n", (250, 500, 1000)),
                                                   ("d", (768, 1536, 3072)),
                                                   ("batch", (50, 100, 200)))
                for v in values},
    "startup": {"python -m compare --help", "python -m compare.check --help",
                "python -m numpy_impl --help", "python -m lightning_ref.fit --help",
                "python -m compare.report --help",
                "import numpy_impl"},
    "checker": {"submission", "folder_of_4", "sandbox_4" if namespaces_work() else "sandbox"},
    "thread_comparison": {"numpy_dd2424", "numpy_tdt4265", "torch_dd2424", "torch_tdt4265"},
}


@pytest.mark.slow
def test_quick_bench_writes_every_row_and_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["threads"]["threads"] >= 1
    for row, names in ROWS.items():
        assert set(result[row]) == names, row
        for name, figures in result[row].items():
            if name == "sandbox" and figures == {"absent": True}:  # no bubblewrap here
                continue
            assert {"seconds", "baseline_seconds", "ratio"} <= set(figures), (row, name)
            # the fit CLI's epoch is a difference of two runs, which noise can take below 0 at
            # the quick sizes; every other figure is a median of positive times
            positive = ("baseline_seconds",) if row == "cli" else (
                "seconds", "baseline_seconds", "ratio")
            assert all(figures[k] > 0 for k in positive), (row, name, figures)
            # the peak memory of the process that measured the row (the cli rows: the CLI's)
            assert figures["peak_mb"] > 20, (row, name, figures)
    for figures in result["compare"].values():  # the two sides alone, measured in the row
        assert figures["numpy_seconds"] > 0 and figures["lightning_seconds"] > 0, figures
        assert figures["baseline_seconds"] == pytest.approx(
            figures["numpy_seconds"] + figures["lightning_seconds"])
    for figures in result["cli"].values():
        assert figures["epochs"] == 2 and figures["baseline_peak_mb"] > 20, figures
    assert "row" in done.stdout and "ratio" in done.stdout  # the table


def test_peak_memory_is_the_childs_own(tmp_path: Path) -> None:
    """run_child measures the peak resident memory of that one child, not this process's or
    another child's: a child that fills 300 MiB shows it, an empty one after it does not."""
    _, big = run_child(["-c", "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
                       tmp_path, log=tmp_path / "big.log")
    _, small = run_child(["-c", "pass"], tmp_path, log=tmp_path / "small.log")
    assert big >= 300 * 2**20 > small > 0


def test_a_failing_child_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="(?s)exited 3.*no such thing"):
        run_child(["-c", "import sys; print('no such thing'); sys.exit(3)"], tmp_path,
                  log=tmp_path / "out.log")
