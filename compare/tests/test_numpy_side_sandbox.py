"""``--numpy-side module:NAME`` with a student's module: its model class runs only in
compare.check's sandbox, never in compare's processes (compare/parity/numpy_side.py: SandboxedSide,
SandboxedModel), and still trains step for step against the reference; whatever the module
does to the processes it can reach, the run ends in a verdict or an error, never in a PASS it
did not earn.

Each test runs ``python -m compare`` from a folder holding the student's module, as a student
would, with a time limit; after it no scratch folder of the sandbox is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from compare.__main__ import main
from compare.check.sandbox import SCRATCH_PREFIX
from compare.check.session import Session
from compare.parity.numpy_side import SandboxedSide

REPO = Path(__file__).resolve().parents[2]
LIMIT = 120  # seconds for one run of python -m compare (a run takes ~6 s)

# numpy_impl.tdt4265.SoftmaxModel's maths, copied by hand: plain NumPy, no project imports
CORRECT = '''
import numpy as np


class SoftmaxModel:
    def __init__(self, l2_reg_lambda):
        self.I = 785
        self.w = np.zeros((self.I, 10))
        self.grad = None
        self.l2_reg_lambda = l2_reg_lambda

    def forward(self, X):
        z = X @ self.w
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, X, outputs, targets):
        N = X.shape[0]
        self.grad = -(X.T @ (targets - outputs)) / N + 2 * self.l2_reg_lambda * self.w

    def zero_grad(self):
        self.grad = None
'''

# the starter's mistake: the gradient of the summed loss (no 1/N)
WRONG = CORRECT.replace("/ N + 2", "+ 2")

# Attacks on whatever it shares a process with, on import (the class body runs when the module
# loads) and in every forward; otherwise WRONG (no 1/N). Run in compare's own child (as before
# the sandbox), the import of numpy_impl makes it correct (so it would PASS) and the forged
# pickles would reach the parent's pipe.
ATTACKS = '''
import gc
import inspect
import os
import pickle
import sys

FORGED = pickle.dumps(("forged", "PASS"))


def _connections():
    """Every multiprocessing Connection reachable through the stack or the garbage collector."""
    found = []
    frames = list(sys._current_frames().values())
    try:
        frames += [info.frame for info in inspect.stack()]
    except Exception:
        pass
    for frame in frames:
        while frame is not None:
            for value in list(frame.f_locals.values()):
                found.append(value)
                found.extend(getattr(value, "__dict__", {}).values())
            frame = frame.f_back
    found += gc.get_objects()
    return [c for c in found if type(c).__name__ == "Connection" and hasattr(c, "send_bytes")]


def attack(write_fds):
    for conn in _connections():
        try:
            conn.send(("forged", "PASS"))
        except Exception:
            pass
    if write_fds:
        for fd in os.listdir("/proc/self/fd"):
            for data in (b"forged bytes\\n", FORGED, len(FORGED).to_bytes(4, "big") + FORGED):
                try:
                    os.write(int(fd), data)
                except OSError:
                    pass
    try:  # patch the trainer's package, and become the reference's model
        import numpy_impl.tdt4265 as reference

        reference.SoftmaxTrainer.validation_step = lambda self: (0.0, 1.0, 1.0)
        SoftmaxModel.backward = reference.SoftmaxModel.backward
    except Exception:
        pass
    return True
'''


def hostile(write_fds: bool) -> str:
    model = WRONG.replace("class SoftmaxModel:\n", "class SoftmaxModel:\n"
                          f"    attacked = attack({write_fds})\n\n", 1)
    model = model.replace("        z = X @ self.w\n",
                          f"        attack({write_fds})\n        z = X @ self.w\n", 1)
    # the class body's attack runs before the class exists: it patches on the next call
    return ATTACKS + model


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """TimeoutError in this process after ``seconds`` (for a test run in pytest's process)."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"the test took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def scratch_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"))


def left_behind(before: set[Path]) -> list[Path]:
    """Scratch folders made since ``before`` whose process has ended (other graders running
    now on this machine keep theirs)."""
    def alive(folder: Path) -> bool:
        pid = folder.name[len(SCRATCH_PREFIX):].split("-")[0]
        return pid.isdigit() and Path(f"/proc/{pid}").exists()

    return [f for f in scratch_folders() - before if f.exists() and not alive(f)]


def compare_with(source: str, *args: str, folder: Path, name: str = "mymodel",
                 experiment: str = "tdt4265/task3b", steps: int = 3
                 ) -> subprocess.CompletedProcess:
    """``python -m compare EXPERIMENT --steps N --numpy-side NAME:...`` run from ``folder``,
    which holds ``source`` as NAME.py."""
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    before = scratch_folders()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "compare", experiment, "--steps", str(steps),
                          "--no-progress", *args], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=LIMIT)
    assert left_behind(before) == [], "the sandbox's scratch folder was left behind"
    return out


def errors(out: subprocess.CompletedProcess) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.slow
def test_a_correct_model_of_a_students_module_passes(tmp_path: Path) -> None:
    out = compare_with(CORRECT, "--numpy-side", "mymodel:SoftmaxModel", folder=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "\nPASS: 3 steps" in out.stdout


@pytest.mark.slow
def test_a_wrong_model_of_a_students_module_fails(tmp_path: Path) -> None:
    out = compare_with(WRONG, "--numpy-side", "mymodel:SoftmaxModel", folder=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL: first mismatch at step 0 (epoch 0): grad w[" in out.stdout


@pytest.mark.slow
def test_a_hostile_model_cannot_reach_the_trainer_or_its_pipe(tmp_path: Path) -> None:
    """It walks the stack and the garbage collector for a Connection to send forged records
    through and imports numpy_impl to patch it (and to become correct): in the sandbox there
    is neither, so it stays the wrong model it is and FAILs."""
    out = compare_with(hostile(write_fds=False), "--numpy-side", "mymodel:SoftmaxModel",
                       folder=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL: first mismatch at step 0 (epoch 0): grad w[" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_a_students_module_named_like_a_project_package_is_sandboxed(tmp_path: Path) -> None:
    """A ``bench.py`` in the current folder would shadow the project's ``bench`` package: it is
    the student's, not the project's, so it runs in the sandbox too (and stays wrong)."""
    out = compare_with(hostile(write_fds=False), "--numpy-side", "bench:SoftmaxModel",
                       folder=tmp_path, name="bench")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL: first mismatch at step 0 (epoch 0): grad w[" in out.stdout


@pytest.mark.slow
def test_a_hostile_model_writing_to_every_descriptor_never_passes(tmp_path: Path) -> None:
    """The same, and forged bytes and pickles written to every open file descriptor: the only
    writable one that goes anywhere is its own channel to the sandbox, which compare rejects
    (an error, no verdict), or the bytes go nowhere (a FAIL). Never a PASS, never a crash."""
    out = compare_with(hostile(write_fds=True), "--numpy-side", "mymodel:SoftmaxModel",
                       folder=tmp_path)
    assert out.returncode in (1, 3), out.stdout + out.stderr
    assert "PASS" not in out.stdout and "Traceback" not in out.stderr
    if out.returncode == 1:
        assert "FAIL: first mismatch at step 0 (epoch 0): grad w[" in out.stdout
    else:
        assert len(errors(out)) == 1 and "FAIL" not in out.stdout, out.stderr


@pytest.mark.slow
def test_a_students_module_may_not_import_the_project(tmp_path: Path) -> None:
    source = """
    from numpy_impl.tdt4265 import SoftmaxModel as Reference


    class SoftmaxModel(Reference):
        pass
    """
    out = compare_with(source, "--numpy-side", "mymodel:SoftmaxModel", folder=tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    (line,) = errors(out)
    assert line.startswith("error: the NumPy side could not be loaded before its first update: "
                           "loading mymodel.py raised ImportError: a hand-in may not import "
                           "numpy_impl"), line
    assert line.endswith(" at mymodel.py:2"), line  # the import's line
    assert "PASS" not in out.stdout and "FAIL" not in out.stdout


@pytest.mark.slow
def test_a_students_trainer_class_is_refused_in_one_line(tmp_path: Path) -> None:
    source = """
    class SoftmaxTrainer:
        def __init__(self, model, learning_rate, batch_size, shuffle, X, Y, X_val, Y_val):
            self.model = model

        def train_step(self, X_batch, Y_batch):
            return 0.0
    """
    out = compare_with(source, "--numpy-side", "mymodel:SoftmaxTrainer", folder=tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    (line,) = errors(out)
    assert "mymodel:SoftmaxTrainer is a trainer class" in line
    assert "`python -m compare.check tdt4265 FOLDER` grades a whole hand-in" in line


@pytest.mark.slow
def test_a_hanging_model_is_stopped_and_its_sandbox_removed(tmp_path: Path) -> None:
    source = CORRECT.replace("        N = X.shape[0]\n", "        while True:\n            pass\n")
    out = compare_with(source, "--numpy-side", "mymodel:SoftmaxModel", "--timeout", "2",
                       folder=tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    (line,) = errors(out)
    assert "no record for 2 s" in line or "no answer for 2 s" in line, line


def test_a_students_module_cannot_replace_a_dd2424_piece(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a TDT4265 model class comes from a student's module: a usage error, at once."""
    (tmp_path / "mymodel.py").write_text("OBJECTIVE = None\n")
    monkeypatch.chdir(tmp_path)
    with time_limit(60):
        status = main(["dd2424/setting1", "--numpy-side", "mymodel:OBJECTIVE", "--no-progress"])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --numpy-side 'mymodel:OBJECTIVE': a module of your own runs in "
                          "a sandbox"), err
    assert "python -m compare.check dd2424 FILE" in err


# CORRECT, but its forward writes into the images it is given once it has used them
WRITES_ITS_INPUT = CORRECT.replace(
    "        return e / e.sum(axis=1, keepdims=True)\n",
    "        X[...] = 0.0\n        return e / e.sum(axis=1, keepdims=True)\n", 1)


@pytest.mark.slow
def test_a_model_that_writes_into_its_input_still_gets_the_whole_sets(tmp_path: Path) -> None:
    """The whole sets cross into the sandbox once and every call gets a fresh copy of them: a
    forward that zeroes its argument after use changes nothing the next validation call
    gets (each validation passes the training and validation sets twice), so it PASSes."""
    out = compare_with(WRITES_ITS_INPUT, "--numpy-side", "mymodel:SoftmaxModel", folder=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "\nPASS: 3 steps and 1 validations" in out.stdout


def test_the_sets_cross_into_the_sandbox_once(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """SandboxedSide.keep sends a large array to the worker once; a method called with it
    sends its handle instead, and the student's code gets the same values every time."""
    (tmp_path / "mymodel.py").write_text(textwrap.dedent(WRITES_ITS_INPUT))
    monkeypatch.chdir(tmp_path)
    side = SandboxedSide("mymodel:SoftmaxModel", timeout=60, memory=2 << 30)
    sent: list[tuple[str, dict]] = []
    call = Session.call

    def spy(self: Session, op: str, **args: object) -> object:
        sent.append((op, args))
        return call(self, op, **args)

    with time_limit(60):
        try:
            model = side.open().model_class(0.0)
            model.w = np.random.default_rng(0).normal(size=(785, 10)) * 0.01
            X = np.random.default_rng(1).normal(size=(400, 785))  # 2.5 MB: kept
            side.keep(X)
            monkeypatch.setattr(Session, "call", spy)
            first, second = model.forward(X), model.forward(X)
        finally:
            side.close()
    z = X @ model.w
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, want, rtol=1e-12)
    calls = [args for op, args in sent if op == "call"]
    assert len(calls) == 2 and not X.flags.writeable
    assert all(not any(isinstance(a, np.ndarray) for a in args["args"]) for args in calls)
