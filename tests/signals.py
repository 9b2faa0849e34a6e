"""Sending a real CLI process a signal mid-run, as a user's Ctrl-C or ``kill`` would."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def signal_mid_run(args: list[str], cwd: Path, signum: int, steps: int = 3
                   ) -> tuple[int, str]:
    """Start ``args`` (a command whose Lightning progress bar goes to stdout), send ``signum``
    once the bar shows ``steps`` updates of the first epoch done, and wait for the process;
    its exit status and stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, bufsize=1)
    seen = ""
    while (m := re.search(r"Epoch 0:.*? (\d+)/\d+", seen[-400:])) is None or int(m[1]) < steps:
        chunk = process.stdout.read(64)
        assert chunk, f"the run ended before any progress: {seen[-2000:]}"
        seen += chunk
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    return process.returncode, err
