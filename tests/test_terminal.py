"""A terminal that fits where it writes (issue 19): progress bars only on a terminal (one line
per epoch, or nothing, in a pipe), ``--no-progress`` everywhere a bar is drawn, an unknown flag
named at once with exit code 2, a missing ``--numpy-side`` module in one line, and ``--help``
wrapped on word boundaries at 80 columns."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO)}
# the shortest runs the other tests use: task 2b on the embedded MNIST subset (6 steps an epoch)
SHORT = {
    "numpy_impl": ["--trainer.max_epochs", "2", "--runs-dir", "runs"],
    "lightning_ref.fit": ["--trainer.max_epochs", "2"],
    "compare": ["--steps", "8"],
}
BAR_TEXT = re.compile(r"\r(?!\n)|it/s|step/s|s/it|█")  # a frame redrawn in place, a rate


def run(module: str, *args: str, cwd: Path, timeout: float = 300
        ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=timeout)


def run_on_a_terminal(module: str, *args: str, cwd: Path, timeout: float = 300
                      ) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; the exit status and all it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 columns
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=ENV,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, out.decode(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("module", list(SHORT))
def test_a_piped_run_writes_no_bar_frames(module: str, tmp_path: Path) -> None:
    out = run(module, *SHORT[module], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    assert not BAR_TEXT.search(text), repr(text[-2000:])
    epochs = [line for line in text.splitlines() if re.search(r"[Ee]poch \d+:", line)]
    if module == "compare":
        assert not epochs, epochs  # only a bar there was: nothing instead
    else:  # at most one line per epoch, with the steps done
        assert len(epochs) == 2 and re.search(r" (6/6|12/12) steps", epochs[-1]), epochs


@pytest.mark.slow
@pytest.mark.parametrize("module", list(SHORT))
def test_no_progress_turns_the_bar_off_on_a_terminal_too(module: str, tmp_path: Path) -> None:
    code, text = run_on_a_terminal(module, *SHORT[module], "--no-progress", cwd=tmp_path)
    assert code == 0, text[-2000:]
    assert not BAR_TEXT.search(text), repr(text[-2000:])


@pytest.mark.slow
def test_a_terminal_gets_the_bar(tmp_path: Path) -> None:
    code, text = run_on_a_terminal("numpy_impl", *SHORT["numpy_impl"], cwd=tmp_path)
    assert code == 0, text[-2000:]
    assert re.search(r"\r(?!\n)", text) and "12/12" in text, repr(text[-2000:])


@pytest.mark.slow
@pytest.mark.parametrize("module", list(SHORT))
def test_an_unknown_flag_is_named_at_once(module: str, tmp_path: Path) -> None:
    start = time.monotonic()
    out = run(module, "tdt4265/task3b", "--lr", "0.1", cwd=tmp_path, timeout=60)
    seconds = time.monotonic() - start
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("error: unrecognized arguments: --lr"), out.stderr
    assert seconds < 5, seconds  # before torch loads (about 0.3 s)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_missing_numpy_side_module_is_one_line(tmp_path: Path) -> None:
    out = run("compare", "tdt4265/task3b", "--numpy-side", "no_such_module:X", cwd=tmp_path,
              timeout=60)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("error: --numpy-side 'no_such_module:X': No module named "
                                 "'no_such_module'"), out.stderr
    assert not (tmp_path / "runs").exists()  # found before any training


@pytest.mark.slow
@pytest.mark.parametrize("module", ["numpy_impl", "lightning_ref.fit", "compare",
                                    "compare.check", "compare.report", "bench"])
def test_help_is_wrapped_at_80_columns(module: str, tmp_path: Path) -> None:
    out = run(module, "--help", cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    long = [line for line in out.stdout.splitlines() if len(line) > 80]
    assert not long, long
