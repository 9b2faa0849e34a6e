"""Divergence on both sides: a non-finite loss or cost stops the run at its step with the same
one line on python -m numpy_impl and python -m lightning_ref.fit (exit 1), and compare
reports it as a mismatch (FAIL, exit 1), never as a match."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# lambda = 1 at a huge learning rate: 2 * lambda * w overshoots and grows w geometrically
DIVERGING = ["tdt4265/task3b", "--model.lr", "1e6", "--model.lam", "1",
             "--trainer.max_epochs", "3"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)


def error_line(out: subprocess.CompletedProcess) -> str:
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    return lines[0]


def test_both_sides_stop_at_the_same_step_with_the_same_line(tmp_path: Path) -> None:
    numpy = run("numpy_impl", *DIVERGING, cwd=tmp_path)
    lightning = run("lightning_ref.fit", *DIVERGING, "--trainer.enable_progress_bar", "false",
                    cwd=tmp_path)
    assert numpy.returncode == lightning.returncode == 1
    line = error_line(numpy)
    assert line.startswith("error: training diverged: the ")
    assert "try a smaller learning rate" in line
    assert error_line(lightning) == line


def test_compare_fails_on_a_non_finite_value(tmp_path: Path) -> None:
    out = run("compare", *DIVERGING, "--no-progress", cwd=tmp_path)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert "\nFAIL: " in out.stdout and "PASS" not in out.stdout
    assert "training diverged" in out.stdout
