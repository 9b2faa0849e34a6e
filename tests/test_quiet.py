"""A quiet terminal: the Lightning-based commands print what matters and none of Lightning's
start-up chatter, the dependencies' deprecation warnings or a summary of parameterless
modules; the progress bar fits 80 columns; every CLI's --help is quick to read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOISE = ("GPU available", "TPU available", "Tip:", "LeafSpec", "Total params", "| Name",
         "Seed set to", "DeprecationWarning", "FutureWarning", "Traceback")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("command", [("lightning_ref.fit", "--trainer.max_epochs", "1"),
                                     ("compare", "--steps", "6")])
def test_no_noise_and_a_progress_bar_that_fits(command: tuple[str, ...], tmp_path: Path) -> None:
    out = run(*command, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    for noise in NOISE:
        assert noise not in text, noise
    if command[0] == "lightning_ref.fit":
        bars = [line for line in re.split(r"[\r\n]", text) if line.startswith("Epoch")]
        assert bars and all(len(line) <= 80 for line in bars), max(bars, key=len)
        assert "val/acc" in bars[-1] and "train/loss" in bars[-1] and "v_num" not in bars[-1]


@pytest.mark.slow
@pytest.mark.parametrize("module", ["numpy_impl", "lightning_ref.fit", "compare",
                                    "compare.check", "compare.report"])
def test_help_is_short_and_starts_with_the_projects_options(module: str, tmp_path: Path) -> None:
    out = run(module, "--help", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("usage:"), out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stdout.splitlines()) < 80  # LightningCLI's own help is 480 lines
    if not module.startswith("compare."):  # the experiment's fields all have defaults
        assert "(required" not in out.stdout
