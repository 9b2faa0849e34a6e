"""A NumPy side that never lets compare judge it (it raises, hangs, exits, allocates far too
much, or diverges) ends in a clear error or a FAIL, never in a hang, a crash of compare, or a
PASS; the NumPy side's process never outlives the run (compare/parity/numpy_side.py)."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare import NumpySide, NumpySideError, run_parity
from compare.__main__ import main
from compare.parity import wrong

REPO = Path(__file__).resolve().parents[2]


def failed_side(side: NumpySide | str, log_dir: Path, **options: object) -> NumpySideError:
    """Run task 3b against ``side``, which must fail with NumpySideError; no process is left."""
    with pytest.raises(NumpySideError) as caught:
        run_parity("tdt4265/task3b", steps=5, numpy_side=side, log_dir=log_dir, **options)
    assert multiprocessing.active_children() == []  # the NumPy side's process has ended
    return caught.value


def test_a_raising_backward_is_reported_with_its_frames(log_dir: Path) -> None:
    error = failed_side(wrong.RAISES, log_dir)
    assert error.kind == "crash"
    assert str(error) == ("the NumPy side raised ValueError: shapes (128,10) and (785,10) not "
                          "aligned after step 0")
    assert "wrong.py" in error.frames and "in misbehave" in error.frames
    assert "numpy_side.py" not in error.frames  # only the trainer's and the student's frames


def test_a_hanging_backward_times_out(log_dir: Path) -> None:
    start = time.monotonic()
    error = failed_side(wrong.HANGS, log_dir, timeout=1.0)
    assert error.kind == "timeout"
    assert str(error) == "the NumPy side produced no record for 1 s after step 0; stopped it"
    assert time.monotonic() - start < 20  # Lightning's set-up, then one second's wait


@pytest.mark.parametrize("side, status", [(wrong.EXITS, 3), (wrong.OS_EXITS, 0)])
def test_an_exit_is_an_error_whatever_its_status(side: NumpySide, status: int,
                                                 log_dir: Path) -> None:
    error = failed_side(side, log_dir)
    assert error.kind == "exit"
    assert str(error) == (f"the NumPy side exited with status {status} after step 0 "
                          "(sys.exit or os._exit in wrong.py?)")


def test_far_too_much_memory_is_refused(log_dir: Path) -> None:
    """16 GiB against a limit of 1 GiB: a MemoryError in the NumPy side's process only."""
    error = failed_side(wrong.GREEDY, log_dir, memory=1 << 30)
    assert error.kind == "memory" and "MemoryError" in str(error)


def test_a_module_that_does_not_load(log_dir: Path) -> None:
    error = failed_side("no_such_module:SoftmaxModel", log_dir)
    assert error.kind == "import"
    assert "ModuleNotFoundError: No module named 'no_such_module'" in str(error)
    assert "before its first update" in str(error)


def test_both_sides_diverging_to_nan_fail(log_dir: Path) -> None:
    """At lr 1e300 both sides' weights overflow after the first update and their costs become
    nan at the same place: equal, but nothing that can be checked, so FAIL."""
    report = run_parity("tdt4265/task3b", {"model.lr": 1e300}, steps=4, strict=False,
                        log_dir=log_dir)
    assert not report.passed and report.verdict().startswith("FAIL: ")
    mismatch = report.mismatch
    assert (mismatch.step, mismatch.quantity) == (0, "val/cost")
    assert math.isnan(mismatch.numpy_value) and math.isnan(mismatch.lightning_value)


# ---------------------------------------------------------------------- python -m compare


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "compare", *args, "--no-progress"], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("args, status, message", [
    (["--numpy-side", "compare.parity.wrong:OS_EXITS"], 3,
     "error: the NumPy side exited with status 0 after step 0 (sys.exit or os._exit in "
     "compare/parity/wrong.py?)"),
    (["--numpy-side", "compare.parity.wrong:HANGS", "--timeout", "1"], 3,
     "error: the NumPy side produced no record for 1 s after step 0; stopped it"),
    (["--numpy-side", "no_such_module:X"], 2,  # a usage error, found before any training
     "error: --numpy-side 'no_such_module:X': No module named 'no_such_module'"),
    (["--numpy-side", "no_colon"], 2, "error: --numpy-side 'no_colon': expected module:NAME"),
])
def test_exit_status_without_a_verdict(args: list[str], status: int, message: str,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    """``main(argv)`` in this process: the NumPy side that exits or hangs is still a process of
    its own (compare's child), and what is checked is compare's exit status and lines."""
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    returncode = main(["tdt4265/task3b", "--steps", "5", *args, "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert returncode == status, stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(message), stderr
    assert "PASS" not in stdout and "FAIL" not in stdout


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_while_the_numpy_side_hangs(signum: int, status: int,
                                                          tmp_path: Path) -> None:
    """The NumPy side hangs (no time limit in sight): the first signal asks for a pause, which
    waits for the NumPy side's step and says so; the second ends compare at once, without a
    verdict, and takes the NumPy side's process with it."""
    out = start_cli("tdt4265/task3b", "--numpy-side", "compare.parity.wrong:HANGS", "--timeout",
                    "600", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not children(out.pid) and time.monotonic() < deadline:  # the NumPy side started
        time.sleep(0.1)
    (numpy_pid,) = children(out.pid)
    time.sleep(1.0)  # it hangs in its second backward
    out.send_signal(signum)
    time.sleep(1.0)
    assert out.poll() is None  # pausing: waiting for the NumPy side's step
    out.send_signal(signum)
    sent = time.monotonic()
    stdout, stderr = out.communicate(timeout=30)
    assert "a second signal stops at once" in stderr
    assert time.monotonic() - sent < 10
    assert out.returncode == status, stdout + stderr
    name = signal.Signals(signum).name
    assert f"interrupted ({name}): the run stopped before a verdict" in stderr
    assert not Path(f"/proc/{numpy_pid}").exists()
