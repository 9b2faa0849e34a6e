"""Divergence on both sides: a non-finite loss or cost stops the run at its step with the same
one line on python -m numpy_impl and python -m lightning_ref.fit (exit 1), and compare
reports it as a mismatch (FAIL, exit 1), never as a match. Each CLI's ``main(argv)`` runs in
this process: what is checked is its exit code and the lines it writes."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path

import pytest

# lambda = 1 at a huge learning rate: 2 * lambda * w overshoots and grows w geometrically
DIVERGING = ["tdt4265/task3b", "--model.lr", "1e6", "--model.lam", "1",
             "--trainer.max_epochs", "3"]


def run(cli: str, *args: str, capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """``python -m CLI ARGS`` as ``main(argv)`` in this process (from the current folder): its
    exit status (fit exits through SystemExit, as LightningCLI does), stdout and stderr."""
    module = importlib.import_module(cli if cli == "lightning_ref.fit" else f"{cli}.__main__")
    capsys.readouterr()
    try:
        code = module.main(list(args))
        code = code if isinstance(code, int) else 0  # fit returns its metrics
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess([cli, *args], code, out.out, out.err)


def error_line(out: subprocess.CompletedProcess) -> str:
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    return lines[0]


def test_both_sides_stop_at_the_same_step_with_the_same_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    numpy = run("numpy_impl", *DIVERGING, capsys=capsys)
    lightning = run("lightning_ref.fit", *DIVERGING, "--trainer.enable_progress_bar", "false",
                    capsys=capsys)
    assert numpy.returncode == lightning.returncode == 1
    line = error_line(numpy)
    assert line.startswith("error: training diverged: the ")
    assert "try a smaller learning rate" in line
    assert error_line(lightning) == line


def test_compare_fails_on_a_non_finite_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    out = run("compare", *DIVERGING, "--no-progress", capsys=capsys)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert "\nFAIL: " in out.stdout and "PASS" not in out.stdout
    assert "training diverged" in out.stdout
