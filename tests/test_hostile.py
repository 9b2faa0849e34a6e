"""Hand-ins written to fool or break ``compare.check``, each against the protection that stops
it (docs/security.md; the project's issue 17).

Every hostile hand-in is tests/submissions/dd2424/handwritten.py with a real bug laid over it
(broken/no_1_over_n.py: BackwardPass and BackwardPass_l2 fail) and an attack added. Its
*honest grade* is that of the same file without the attack; under attack it must get no check
that the honest file does not pass. The attacks name nothing of the checker's internals: they
walk every frame, every open descriptor, every loaded module and every process they can see.

One batch (``--batch --jobs 2``) runs them all beside a correct hand-in and the honest wrong
one; each test then reads its part of the result. The whole module needs the namespace sandbox
(bubblewrap): some attacks kill every process they can see, which a process-mode worker
running as the grader's user could do for real.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare.check.sandbox import namespaces_work

SUBMISSIONS = Path(__file__).parent / "submissions" / "dd2424"
HANDWRITTEN = SUBMISSIONS / "handwritten.py"
BUG = (SUBMISSIONS / "broken" / "no_1_over_n.py").read_text()
HONEST_FAILS = {"BackwardPass", "BackwardPass_l2"}
REPO = Path(__file__).resolve().parents[1]

# CI never skips: there the namespace sandbox must be there (test_ci_has_the_namespace_sandbox)
pytestmark = pytest.mark.skipif(not namespaces_work() and not os.environ.get("CI"),
                                reason="bubblewrap namespaces are not available here")

# --------------------------------------------------------------------------- the attacks

# Everything a process can write to: every open descriptor, every object with send/write.
FORGE = r'''
import gc as _gc, os as _os, pickle as _pickle, struct as _struct, sys as _sys

class _Evil:
    def __reduce__(self):
        return (eval, ("__import__('pathlib').Path(%(marker)r).write_text('pwned')",))

def _forge():
    ids = ["LoadBatch", "normalize", "ApplyNetwork", "ComputeLoss", "ComputeCost",
           "ComputeAccuracy", "BackwardPass", "BackwardPass_l2", "MiniBatchGD", "flip",
           "multiple_bce_loss", "multiple_bce_gradient"]
    messages = [_pickle.dumps(("check", {"id": i, "status": "pass", "message": "ok"}))
                for i in ids]
    messages += [_pickle.dumps(_Evil()), _pickle.dumps(("check", 42)), b"\x00" * 64,
                 _struct.pack(">Q", 1 << 62), _struct.pack(">Q", 12) + b"{not json!!}"]
    framed = [_struct.pack("!i", len(m)) + m for m in messages]
    framed += [_struct.pack(">Q", len(m)) + m for m in messages]
    for fd in _os.listdir("/proc/self/fd"):
        for m in messages + framed:
            try:
                _os.write(int(fd), m)
            except OSError:
                pass
    for obj in _gc.get_objects():
        for name in ("send", "send_bytes", "write"):
            method = getattr(type(obj), name, None)
            if method is not None and not isinstance(obj, type):
                for m in messages:
                    try:
                        method(obj, m)
                    except Exception:
                        pass
    for frame in _sys._current_frames().values():
        while frame is not None:
            for value in list(frame.f_locals.values()):
                for name in ("send", "write"):
                    if hasattr(value, name) and not isinstance(value, type):
                        try:
                            getattr(value, name)(messages[0])
                        except Exception:
                            pass
            frame = frame.f_back

def ApplyNetwork(X, network, _at_load=_forge()):
    _forge()
    s = network["W"] @ X + network["b"]
    E = np.exp(s - s.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
'''

# Patch everything that could decide a verdict, wherever it might live.
PATCH_SOURCE = r'''
import builtins as _b, importlib as _il, sys as _s
import numpy as _np
for _name in ("abs", "max", "allclose", "isclose", "array_equal", "all", "any"):
    setattr(_np, _name, lambda *a, **k: True if _name != "abs" else 0)
for _mod in ("compare", "compare.check", "compare.check.verdict", "compare.tolerance",
             "compare.check.dd2424", "numpy_impl", "numpy_impl.dd2424"):
    try:
        _il.import_module(_mod)
    except Exception:
        pass
for _m in list(_s.modules.values()):
    for _attr in ("TOLERANCE", "CHECKS", "agrees", "compare", "errors", "mismatch",
                  "backward_pass", "first_failure"):
        if hasattr(_m, _attr):
            try:
                setattr(_m, _attr, (lambda *a, **k: True) if callable(getattr(_m, _attr))
                        else 1e300)
            except Exception:
                pass
'''
PATCHES = {
    "patch_default_argument": "PATCH = %(src)r\ndef _a(_=exec(PATCH)):\n    pass\n",
    "patch_decorator": "PATCH = %(src)r\ndef _d(f):\n    exec(PATCH)\n    return f\n\n"
                       "@_d\ndef _b():\n    pass\n",
    "patch_class_body": "PATCH = %(src)r\nclass _C:\n    exec(PATCH)\n",
    "patch_module_call": "import builtins\nPATCH = %(src)r\n_X = builtins.exec(PATCH)\n",
}

# A value whose __array__ looks for the expected value in every frame it can reach.
FRAME_READER = r'''
import sys as _sys, gc as _gc

class _Peek:
    def __init__(self, fallback):
        self.fallback = fallback
    def __array__(self, dtype=None, copy=None):
        for frame in list(_sys._current_frames().values()):
            while frame is not None:
                for name, value in frame.f_locals.items():
                    if name in ("want", "expected", "reference", "flat", "P") and \
                            getattr(value, "shape", None) == np.shape(self.fallback):
                        return np.asarray(value, dtype=dtype)
                frame = frame.f_back
        for obj in _gc.get_objects():
            if isinstance(obj, np.ndarray) and obj.shape == np.shape(self.fallback) \
                    and obj is not self.fallback:
                return obj
        return np.asarray(self.fallback, dtype=dtype) * 0 + 0.5
    def __float__(self):
        return float(np.asarray(self).reshape(-1)[0])

_ApplyNetwork = ApplyNetwork
def ApplyNetwork(X, network):
    return _Peek(_ApplyNetwork(X, network))

def ComputeLoss(P, y):
    return _Peek(np.array(1.0))
'''
FRAME_READER_FAILS = {"ApplyNetwork", "ComputeLoss", "ComputeCost"}  # ComputeCost calls ComputeLoss

REEXPORT = "from numpy_impl.dd2424 import *  # noqa\nfrom numpy_impl import dd2424 as _ref\n" \
           "ComputeLoss = _ref.compute_loss\n"

# Writes everywhere it might reach: the grader's folder and home, /tmp, the repository, its own
# original file, a folder the test names.
WRITER = r'''
import os as _os
def _write_everywhere():
    for place in %(places)r:
        try:
            with open(place, "a") as f:
                f.write("pwned")
        except OSError:
            pass
def _b(_=_write_everywhere()):
    pass
'''

# Reads and edits every other hand-in it can find.
NEIGHBOUR = r'''
import os as _os
def _meddle():
    for top in (%(batch)r, "/", _os.path.expanduser("~"), "/tmp", "/sandbox"):
        for root, dirs, files in _os.walk(top):
            if root.count(_os.sep) > 6 or root.startswith(("/proc", "/sys", "/usr")):
                dirs[:] = []
                continue
            for name in files:
                path = _os.path.join(root, name)
                if name.endswith(".py") and "neighbour" not in name:
                    try:
                        text = open(path).read()
                        with open(path, "w") as f:
                            f.write(text.replace("1 / n", "2 / n").replace("np.mean", "np.sum"))
                        if name.startswith("correct"):
                            _os.remove(path)
                    except OSError:
                        pass
def _b(_=_meddle()):
    pass
'''

FORK_BOMB = r'''
import os as _os, time as _time
def _bomb():
    for _ in range(300):
        try:
            if _os.fork() == 0:
                _time.sleep(120)
                _os._exit(0)
        except OSError:
            break
def _b(_=_bomb()):
    pass
'''

# Outlives its process (fork, setsid, fork) and writes later: a forged results.json too.
DETACHED = r'''
import os as _os, time as _time
def _detach():
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            _time.sleep(3)
            for place in %(places)r:
                try:
                    with open(place, "w") as f:
                        f.write('{"score": 15.0, "tests": []}')
                except OSError:
                    pass
        _os._exit(0)
def _b(_=_detach()):
    pass
'''

# Signals every process it can see: its parent first.
KILLER = r'''
import os as _os, signal as _signal
def _kill_everyone():
    for sig in (_signal.SIGSTOP, _signal.SIGKILL):
        try:
            _os.kill(_os.getppid(), sig)
        except OSError:
            pass
        for pid in _os.listdir("/proc"):
            if pid.isdigit() and int(pid) != _os.getpid():
                try:
                    _os.kill(int(pid), sig)
                except OSError:
                    pass
def ComputeCost(P, y, network, lam, _=_kill_everyone()):
    _kill_everyone()
    return 0.0
'''

# Raises its limits, then takes 30 GB.
GREEDY = r'''
import resource as _r
def ComputeLoss(P, y):
    for limit in (_r.RLIMIT_AS, _r.RLIMIT_NPROC, _r.RLIMIT_CPU, _r.RLIMIT_FSIZE):
        try:
            _r.setrlimit(limit, (_r.RLIM_INFINITY, _r.RLIM_INFINITY))
        except (ValueError, OSError):
            pass
    hog = np.ones(30 * 2**30 // 8)
    return float(hog[0])
'''

# Holds off the time limit every way a process can.
STUBBORN = r'''
import signal as _signal, time as _time
class _Linger:
    def __del__(self):
        while True:
            try:
                _time.sleep(0.05)
            except BaseException:
                pass
def ApplyNetwork(X, network):
    for sig in (_signal.SIGALRM, _signal.SIGTERM, _signal.SIGINT, _signal.SIGVTALRM):
        _signal.signal(sig, _signal.SIG_IGN)
    _Linger()
    while True:
        try:
            _time.sleep(0.05)
        except BaseException:
            pass
'''

DEEP = r'''
import sys as _sys
def ComputeLoss(P, y):
    _sys.setrecursionlimit(10**8)
    def down(n):
        return down(n + 1) + 1
    return down(0)
'''

# Over the cap of a message (300 MB), and under it but far over what a message needs (50 MB).
HUGE = r'''
def ComputeLoss(P, y):
    return "x" * 300_000_000
def ComputeCost(P, y, network, lam):
    raise ValueError("y" * 50_000_000)
'''

# hand-in -> (attack source, the checks the attack itself makes non-passing beyond the bug;
# None: it may break any check, as long as it passes none the honest hand-in does not)
ATTACKS: dict[str, tuple[str, set[str]]] = {
    "forge": (FORGE, None),
    **{name: (code, None) for name, code in PATCHES.items()},
    "frame_reader": (FRAME_READER, FRAME_READER_FAILS),
    "reexport": (REEXPORT, None),
    "writer": (WRITER, set()),
    "neighbour": (NEIGHBOUR, set()),
    "fork_bomb": (FORK_BOMB, set()),
    "detached": (DETACHED, set()),
    "killer": (KILLER, {"ComputeCost"}),
    "greedy": (GREEDY, {"ComputeLoss", "ComputeCost"}),  # ComputeCost calls ComputeLoss
    "stubborn": (STUBBORN, {"ApplyNetwork"}),
    "deep": (DEEP, {"ComputeLoss", "ComputeCost"}),
    "huge": (HUGE, {"ComputeLoss", "ComputeCost"}),
}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _scratch_folders(grader: int) -> list[str]:
    """The scratch folders of the grader process ``grader`` still there."""
    import tempfile

    return [p.name for p in Path(tempfile.gettempdir()).glob(f"compare-check-{grader}-*")]


def _leftovers(grader: int) -> list[int]:
    """Processes of the grader process ``grader``'s sandboxes still alive: under its workers'
    uids (as root), or started in or with its scratch folders (other graders running at the
    same time on this machine are not counted)."""
    from compare.check.sandbox import uid_range

    marker = f"compare-check-{grader}-"
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            uid = int(next(x for x in (proc / "status").read_text().splitlines()
                           if x.startswith("Uid:")).split()[1])
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(proc / "cwd") if os.geteuid() == 0 else ""
        except (OSError, StopIteration):
            continue
        if uid in uid_range(grader) or marker in cmdline or marker in cwd:
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every hostile hand-in and two honest ones, checked in one batch."""
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "handins"
    folder.mkdir()
    cwd = root / "grader"
    cwd.mkdir()
    markers = root / "markers"
    markers.mkdir()
    base = HANDWRITTEN.read_text() + "\n\n" + BUG + "\n\n"
    places = [str(markers / "outside"), str(cwd / "pwned"), str(Path.home() / ".pwned-check"),
              "/tmp/pwned-check", str(REPO / "pwned-check"), str(folder / "writer.py"),
              str(cwd / "results.json")]
    (folder / "correct.py").write_text(HANDWRITTEN.read_text())
    (folder / "honest.py").write_text(base)
    for name, (code, _) in ATTACKS.items():
        source = code % {"marker": str(markers / f"{name}-unpickled"), "src": PATCH_SOURCE,
                         "places": places, "batch": str(folder)} if "%(" in code else code
        (folder / f"{name}.py").write_text(base + source)
    before = _digest(folder)
    start = time.monotonic()
    grader = subprocess.Popen([sys.executable, "-m", "compare.check", "dd2424", "--batch",
                               str(folder), "--quick", "--jobs", "2", "--check-time-limit", "5",
                               "--memory-limit", "2", "--out", str(root / "grades"),
                               "--sandbox", "namespace"],
                              cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = grader.communicate(timeout=600)
    finally:
        grader.kill()
    run = subprocess.CompletedProcess(grader.args, grader.returncode, stdout, stderr)
    seconds = time.monotonic() - start
    time.sleep(4)  # what a detached process would write, it has written by now
    results = {r["submission"]: r for r in json.loads((root / "grades.json").read_text())}
    return {"run": run, "results": results, "folder": folder, "before": before,
            "after": _digest(folder), "markers": markers, "cwd": cwd, "places": places,
            "root": root, "seconds": seconds, "grader": grader.pid}


def _statuses(result: dict) -> dict[str, str]:
    return {c["id"]: c["status"] for c in result["checks"]}


@pytest.mark.slow
def test_the_batch_finishes_with_a_grade_for_everyone(batch: dict) -> None:
    run = batch["run"]
    assert run.returncode in (1, 3), run.stderr[-2000:]  # failures, never 0, never a crash
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    expected = {"correct.py", "honest.py", *(f"{n}.py" for n in ATTACKS)}
    assert set(batch["results"]) == expected
    for name, result in batch["results"].items():
        assert len(result["checks"]) == 11, (name, result)
    assert set(_statuses(batch["results"]["correct.py"]).values()) == {"pass"}
    honest = _statuses(batch["results"]["honest.py"])
    assert {i for i, s in honest.items() if s != "pass"} == HONEST_FAILS


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_earns_more_than_the_honest_grade(name: str, batch: dict) -> None:
    statuses = _statuses(batch["results"][f"{name}.py"])
    extra = ATTACKS[name][1]
    passed = {i for i, s in statuses.items() if s in ("pass", "convention", "warn")}
    assert not passed & HONEST_FAILS, (name, statuses)
    if extra is not None:  # the attack breaks only what it says; the rest is graded honestly
        assert passed == set(statuses) - HONEST_FAILS - extra, (name,
                                                                batch["results"][f"{name}.py"])


@pytest.mark.slow
def test_pickled_code_in_a_message_never_runs(batch: dict) -> None:
    assert not list(batch["markers"].glob("*-unpickled"))


@pytest.mark.slow
def test_importing_the_project_is_an_error_naming_the_import(batch: dict) -> None:
    result = batch["results"]["reexport.py"]
    assert set(_statuses(result).values()) == {"error"}
    assert all("numpy_impl" in c["message"] for c in result["checks"]), result


@pytest.mark.slow
def test_nothing_is_written_outside_scratch_nor_into_any_hand_in(batch: dict) -> None:
    assert batch["after"] == batch["before"]  # no hand-in changed, deleted or added a file
    for place in batch["places"]:
        if Path(place).parent != batch["folder"]:
            assert not Path(place).exists(), place
    assert sorted(p.name for p in batch["cwd"].iterdir()) == []


@pytest.mark.slow
def test_neighbours_keep_their_grades(batch: dict) -> None:
    assert set(_statuses(batch["results"]["correct.py"]).values()) == {"pass"}
    honest = _statuses(batch["results"]["honest.py"])
    assert {i for i, s in honest.items() if s != "pass"} == HONEST_FAILS


@pytest.mark.slow
def test_nothing_is_left_running_and_scratch_is_removed(batch: dict) -> None:
    assert _leftovers(batch["grader"]) == []
    assert _scratch_folders(batch["grader"]) == []


@pytest.mark.slow
def test_limits_hold(batch: dict) -> None:
    results = batch["results"]
    by_id = {c["id"]: c for c in results["stubborn.py"]["checks"]}
    assert "time limit" in by_id["ApplyNetwork"]["message"]
    assert _statuses(results["greedy.py"])["ComputeLoss"] == "error"
    assert _statuses(results["deep.py"])["ComputeLoss"] == "error"
    size = len(json.dumps(results["huge.py"]))
    assert size < 50_000, size  # 300 MB of text does not reach the grades


@pytest.mark.slow
def test_killing_the_grader_is_not_possible(batch: dict) -> None:
    # the killer's neighbours in the batch were graded, so the grader lived on
    assert _statuses(batch["results"]["killer.py"])["ComputeCost"] != "pass"
    assert batch["seconds"] < 300


@pytest.mark.slow
def test_a_killed_batch_keeps_every_finished_grade(batch: dict, tmp_path: Path) -> None:
    """SIGKILL mid-batch: the results decided before it stay, and a rerun finishes the rest
    without checking them again."""
    folder = tmp_path / "handins"
    folder.mkdir()
    for k in range(6):
        (folder / f"s{k}.py").write_text(HANDWRITTEN.read_text())
    stuck = folder / "s9_stuck.py"
    stuck.write_text(HANDWRITTEN.read_text() + "\n" + STUBBORN)
    command = [sys.executable, "-m", "compare.check", "dd2424", "--batch", str(folder),
               "--quick", "--jobs", "1", "--check-time-limit", "60", "--out",
               str(tmp_path / "grades")]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    store = tmp_path / "grades.d"
    deadline = time.monotonic() + 120
    while len(list(store.glob("*.json"))) < 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    proc.kill()
    proc.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in store.glob("*.json")}
    assert len(kept) == 6  # the stuck one was running: no result, no partial file
    assert not list(store.glob(".*tmp"))
    stuck.write_text(HANDWRITTEN.read_text())  # its author fixes it; the rest is unchanged
    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "6 of 7 results reused" in rerun.stderr
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("*.json") if p.name in kept} == kept
    assert len(json.loads((tmp_path / "grades.json").read_text())) == 7


@pytest.mark.slow
def test_a_detached_process_cannot_rewrite_results_json(tmp_path: Path) -> None:
    """--format gradescope writes results.json in the grader's folder; a process the hand-in
    leaves behind would rewrite it after the checker has exited."""
    target = tmp_path / "results.json"
    handin = tmp_path / "handin.py"
    handin.write_text(HANDWRITTEN.read_text() + "\n\n" + BUG + "\n\n"
                      + DETACHED % {"places": [str(target)]})
    run = subprocess.run([sys.executable, "-m", "compare.check", "dd2424", str(handin),
                          "--quick", "--format", "gradescope"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    honest = target.read_text()
    time.sleep(4.5)
    assert target.read_text() == honest
    assert json.loads(honest)["score"] == 9.0


def test_ci_has_the_namespace_sandbox() -> None:
    """CI must run these tests, not skip them: .ci/run installs bubblewrap."""
    assert namespaces_work()


@pytest.mark.slow
def test_a_huge_reply_is_capped(tmp_path: Path) -> None:
    """A result over the message cap is an error; a message under it but far too long reaches
    the grader cut to wire.MAX_TEXT."""
    from compare.check import wire
    from compare.check.session import HandInRaised, Job, Session

    handin = tmp_path / "h.py"
    handin.write_text("def big():\n    return 'x' * 300_000_000\n\n"
                      "def loud():\n    raise ValueError('y' * 50_000_000)\n")
    session = Session(Job(handin, "dd2424", mode="namespace"))
    try:
        session.deadline = time.monotonic() + 120
        found = session.call("find", files=["h"], names=["big", "loud"], any_value=False)
        big = found["found"]
        loud = session.call("find", files=["h"], names=["loud"], any_value=False)["found"]
        with pytest.raises(HandInRaised, match="cannot be sent back"):
            big()
        with pytest.raises(HandInRaised) as raised:
            loud()
        assert len(raised.value.message) < wire.MAX_TEXT + 100
    finally:
        session.close()


TDT4265 = Path(__file__).parent / "submissions" / "tdt4265"


@pytest.mark.slow
def test_a_forging_tdt4265_hand_in_gets_its_honest_grade(tmp_path: Path) -> None:
    """The route that gave a wrong hand-in 15/15: forged check results written to every
    descriptor and object it can reach, from a default argument of task2a.py."""
    import shutil

    from compare.check import check

    honest = tmp_path / "honest"
    shutil.copytree(TDT4265 / "correct", honest)
    shutil.copy(TDT4265 / "broken" / "no_1_over_n" / "task2a.py", honest / "task2a.py")
    forging = tmp_path / "forging"
    shutil.copytree(honest, forging)
    with (forging / "task2a.py").open("a") as f:
        f.write("\nimport numpy as np\n"
                + FORGE.replace("def ApplyNetwork(", "def _unused(") % {
                    "marker": str(tmp_path / "unpickled")})
    grades = {}
    for name in ("honest", "forging"):
        result = check("tdt4265", tmp_path / name, sandbox="namespace")
        grades[name] = {c.id for c in result.checks if c.status in ("pass", "convention", "warn")}
    assert "BinaryModel.backward" not in grades["honest"]
    assert grades["forging"] <= grades["honest"], grades
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_only_grades_decided_before_it(tmp_path: Path) -> None:
    """Ctrl-C in a batch kills the running sandboxes: what the check they cut short would
    record (an error) is no grade, so it is not stored, and a rerun checks it again."""
    import signal

    folder = tmp_path / "handins"
    folder.mkdir()
    for k in range(4):  # correct hand-ins, every check: each passes all, given the time
        (folder / f"s{k}.py").write_text(HANDWRITTEN.read_text())
    proc = subprocess.Popen([sys.executable, "-m", "compare.check", "dd2424", "--batch",
                             str(folder), "--jobs", "1", "--out", str(tmp_path / "grades")],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    store = tmp_path / "grades.d"
    deadline = time.monotonic() + 120
    while not list(store.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the next hand-in is in its checks (MiniBatchGD takes seconds)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr and "interrupted (SIGINT)" in stderr, stderr
    kept = [json.loads(p.read_text()) for p in store.glob("*.json")]
    assert 1 <= len(kept) < 4
    for payload in kept:
        statuses = {c["status"] for c in payload["result"]["checks"]}
        assert statuses == {"pass"}, payload
    assert f"{len(kept)} results kept" in stderr
