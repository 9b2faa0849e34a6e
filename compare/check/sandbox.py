"""Where a hand-in runs: a private scratch copy of it, a worker process (:mod:`.worker`) in an
OS sandbox, hard limits, and a channel (:mod:`.wire`) the grader reads with deadlines.

Two modes (``--sandbox``; the default is the strongest this machine has, :func:`best_mode`):

``namespace`` (Linux, bubblewrap): the worker gets its own PID, mount, network, IPC and UTS
namespaces. It sees the system read-only (``/usr``, Python and its packages), not the project,
not the grader's files, not other hand-ins; its only writable place is its scratch copy
(``/sandbox``, with ``/tmp`` pointing into it). It cannot see or signal any process outside.
When the grader is root the worker runs as a uid of its own with no capabilities (``setpriv``),
so the process limit counts its processes only; otherwise in a user namespace of its own.
Killing bubblewrap ends the PID namespace: every process in it dies, double forks included.

``process`` (where namespaces are not available): its own session, a parent death signal, the
same hard limits, and, when the grader is root, a uid of its own (the worker switches to it
after Python and NumPy have started, before it reads the hand-in), so it can neither write the
grader's files nor signal it, and every process of that uid is killed at the end. It can read
what that uid may read, and, when the grader is not root, do whatever the grader's user can.

Both: rlimits set hard before the worker starts (address space, CPU seconds, processes, file
size, open files; a hand-in cannot raise a hard limit), the wall clock enforced from here (the
worker is killed, so nothing inside can hold it off), the scratch copy removed at the end.
"""

from __future__ import annotations

import functools
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compare.check import wire

MODES = ("namespace", "process")
HERE = Path(__file__).resolve().parent
WORKER_FILES = ("worker.py", "wire.py", "loader.py")
PROJECT = ("numpy_impl", "lightning_ref", "compare", "bench")
LIVE: set[Worker] = set()  # workers running now, killed on Ctrl-C or SIGTERM
#: Set by :func:`kill_all`: the checker is stopping, and a check its kill cut short is no grade
STOPPING = threading.Event()
MAX_COPY = 512 << 20  # bytes of a hand-in's folder copied into its scratch
PR_SET_PDEATHSIG = 1


@dataclass
class Limits:
    """Seconds per check and per submission; the worker's hard rlimits."""

    per_check: float = 60.0
    total: float = 300.0
    memory: int = 8 << 30  # bytes of address space
    processes: int = 256  # processes and threads of the hand-in's uid
    file_size: int = 256 << 20  # bytes any one file may grow to
    open_files: int = 256

    @property
    def cpu_seconds(self) -> int:
        return int(self.total) + 10


class WorkerGone(BaseException):
    """The worker did not answer as it must (timed out, died, or wrote a malformed message);
    it has been killed. Not an Exception, so that no check's ``except Exception`` takes it for
    a hand-in's error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TimeLimit(WorkerGone):
    """A deadline passed before the worker answered."""


# ------------------------------------------------------------------------------- the modes


@functools.cache
def namespaces_work() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here (a container may forbid
    namespaces)."""
    if shutil.which("bwrap") is None or (os.geteuid() == 0 and shutil.which("setpriv") is None):
        return False
    try:
        probe = subprocess.run([*_bwrap_prefix(), "--", "true"], capture_output=True,
                               timeout=20, env={})
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def best_mode() -> str:
    return "namespace" if namespaces_work() else "process"


@functools.cache
def python_open_to_all() -> bool:
    """Whether another uid can run this Python and import its packages (every folder above
    them searchable by others): a process-mode worker can then run under a uid of its own."""
    for root in {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}:
        for folder in [root, *root.parents]:
            if not folder.stat().st_mode & 0o001:
                return False
    return True


def own_uid(mode: str) -> bool:
    """Whether the workers run under uids of their own: when the grader is root, and in process
    mode only if its Python is open to other uids."""
    return os.geteuid() == 0 and (mode == "namespace" or python_open_to_all())


def mode_note(mode: str) -> str:
    """The one line a run says about its sandbox."""
    if mode == "namespace":
        return "sandbox: namespace (bubblewrap: own PID, mount, network and IPC namespaces)"
    why = "" if sys.platform != "linux" or shutil.which("bwrap") else ", bubblewrap not installed"
    if own_uid(mode):
        return (f"sandbox: process only (own session, uid and hard limits{why}); the hand-in "
                "can read files any user can read")
    return (f"sandbox: process only (own session and hard limits{why}); the hand-in runs as "
            "the grader's user and can read and write what it can and signal it: install "
            "bubblewrap for namespaces")


# ------------------------------------------------------------------------------- uids


class _UidPool:
    """A uid of its own for each worker when the grader is root: numbers no account uses,
    unique to this grader process (its pid) and to each worker running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used: set[int] = set()

    def take(self) -> int:
        with self.lock:
            slot = next(i for i in range(1024) if i not in self.used)
            self.used.add(slot)
        return uid_range(os.getpid()).start + slot

    def give(self, uid: int) -> None:
        with self.lock:
            self.used.discard(uid - uid_range(os.getpid()).start)


def uid_range(pid: int) -> range:
    """The uids the workers of the grader process ``pid`` run under (when it is root)."""
    first = 1_000_000_000 + (pid % 1_000_000) * 1024
    return range(first, first + 1024)


UIDS = _UidPool()


def _processes_of(uids: range) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(line.split()[1]) in uids:
            pids.append(int(status.parent.name))
    return pids


def kill_uids(uids: range) -> None:
    """Kill every process of ``uids`` until none is left (forks racing the kill included)."""
    for _ in range(50):
        pids = _processes_of(uids)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


# ------------------------------------------------------------------------------- scratch


def copy_submission(src: Path, dst: Path) -> list[str]:
    """Make ``dst`` the hand-in's folder of .py files: a folder copied (:func:`copy_folder`), a
    .py file copied, a notebook converted, a zip extracted (:func:`.formats.prepare`, which
    runs nothing of the hand-in). Returns the notes (links not copied, lines left out of a
    notebook, ...); raises :class:`.formats.Unusable` when it holds nothing to check."""
    from compare.check import formats

    return formats.prepare(src, dst, copy_folder, MAX_COPY)


def copy_folder(src: Path, dst: Path) -> list[str]:
    """Copy a folder's regular files and folders into ``dst`` (which exists); links are not
    followed (one may point at another hand-in) but named in the notes returned."""
    notes: list[str] = []
    total = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        for d in list(dirs):
            if (Path(root) / d).is_symlink():
                dirs.remove(d)
                notes.append(f"{rel / d}: a link, not copied")
            else:
                (dst / rel / d).mkdir()
        for f in files:
            path = Path(root) / f
            if path.is_symlink() or not path.is_file():
                notes.append(f"{rel / f}: a link or special file, not copied")
                continue
            total += path.stat().st_size
            if total > MAX_COPY:
                raise OSError(f"{src} holds more than {MAX_COPY >> 20} MB")
            shutil.copyfile(path, dst / rel / f)
    return notes


SCRATCH_PREFIX = "compare-check-"


@functools.cache
def sweep_scratch() -> None:
    """Remove the scratch folders of graders that died without removing them (SIGKILL), once
    per process: a folder's name holds its grader's pid."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and folder.is_dir() \
                and folder.stat().st_uid == os.geteuid():
            shutil.rmtree(folder, ignore_errors=True)


class Scratch:
    """``root/checker`` (the worker's files, read-only to it) and ``root/work`` (the hand-in's
    copy in ``submission/``, ``tmp/``, ``home/``: its only writable place). Removed by
    :meth:`remove`."""

    def __init__(self, submission: Path, uid: int | None) -> None:
        sweep_scratch()
        self.root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        os.chmod(self.root, 0o755)
        self.checker = self.root / "checker"
        self.checker.mkdir()
        for name in WORKER_FILES:
            shutil.copyfile(HERE / name, self.checker / name)
        self.work = self.root / "work"
        self.work.mkdir()
        try:
            self.notes = copy_submission(submission, self.work / "submission")
        except BaseException:
            self.remove()
            raise
        for sub in ("tmp", "home"):
            (self.work / sub).mkdir()
        if uid is not None:  # the worker's own uid owns its copy and nothing else
            for root, dirs, files in os.walk(self.work):
                os.chown(root, uid, uid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)

    def remove(self) -> None:
        remove_tree(self.root)


def remove_tree(folder: Path) -> None:
    """Remove ``folder`` even where the hand-in took the write permission away."""
    def unlock(func: Any, path: str, exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=unlock)


# ------------------------------------------------------------------------------- launching


def _python_roots() -> list[Path]:
    """The folders the worker's Python needs: the interpreter's prefix, the virtualenv's and
    any further package folder on sys.path; none that holds the project's own folder."""
    project = HERE.parents[1]
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    roots |= {Path(e).resolve() for e in sys.path
              if Path(e or ".").name in ("site-packages", "dist-packages") and Path(e).is_dir()}
    roots = {r for r in roots if r != project and r not in project.parents}
    return [r for r in sorted(roots) if not any(o in r.parents for o in roots)]


def _masks(roots: list[Path]) -> list[str]:
    """The project's packages where they lie inside a bound folder (a non-editable install),
    hidden under an empty tmpfs."""
    import importlib.util

    args = []
    for name in PROJECT:
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            path = Path(location).resolve()
            if any(r in path.parents for r in roots):
                args += ["--tmpfs", str(path)]
    return args


def _bwrap_prefix() -> list[str]:
    root = os.geteuid() == 0
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    # as root: no user namespace (it would map the hand-in to uid 0, whose process count the
    # kernel never limits); setpriv drops to the worker's uid with no capabilities instead
    args += ["--cap-add", "CAP_SETUID,CAP_SETGID"] if root else ["--unshare-user",
                                                                 "--disable-userns"]
    args += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime"):
        args += ["--ro-bind-try", etc, etc]
    return args


def command(mode: str, scratch: Scratch, uid: int | None) -> tuple[list[str], Path]:
    """The worker's command line and the working folder it starts in (as the worker sees
    them)."""
    python = ["-I", "-X", "utf8"]
    if mode == "process":
        return [sys.executable, *python, str(scratch.checker / "worker.py")], \
            scratch.work / "submission"
    roots = _python_roots()
    args = _bwrap_prefix()
    made: set[Path] = set()
    for r in roots:  # the folders above each bound one, traversable (bubblewrap makes them)
        for parent in reversed(r.parents):
            if parent != Path("/") and parent not in made and not str(parent).startswith("/usr"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(r), str(r)]
    args += _masks(roots)
    args += ["--bind", str(scratch.work), "/sandbox", "--ro-bind", str(scratch.checker),
             "/checker", "--chdir", "/sandbox/submission"]
    if not any(r == Path("/tmp") or Path("/tmp") in r.parents for r in roots):
        args += ["--symlink", "/sandbox/tmp", "/tmp"]  # (else Python lives there: TMPDIR only)
    if uid is not None:
        args += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        args += ["--"]
    return [*args, sys.executable, *python, "/checker/worker.py"], Path("/sandbox/submission")


def _environment(mode: str, scratch: Scratch) -> dict[str, str]:
    base = "/sandbox" if mode == "namespace" else str(scratch.work)
    return {"PATH": "/usr/bin:/bin", "HOME": f"{base}/home", "TMPDIR": f"{base}/tmp",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{base}/tmp", "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _preexec(limits: Limits, mode: str, uid: int | None, cwd: Path) -> Any:
    """What runs in the forked child before the worker (or bubblewrap) starts."""
    def setup() -> None:
        import ctypes

        if sys.platform == "linux":  # a parent death signal is Linux's (prctl)
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for which, value in ((resource.RLIMIT_AS, limits.memory),
                             (resource.RLIMIT_CPU, limits.cpu_seconds),
                             (resource.RLIMIT_NPROC, limits.processes),
                             (resource.RLIMIT_FSIZE, limits.file_size),
                             (resource.RLIMIT_NOFILE, limits.open_files),
                             (resource.RLIMIT_CORE, 0)):
            if which == resource.RLIMIT_NPROC and uid is None and mode == "process":
                continue  # the grader's own uid: its other processes would count too
            resource.setrlimit(which, (value, value))
        if mode == "process":
            os.chdir(cwd)  # the worker drops to ``uid`` itself, once Python has started
    return setup


# ------------------------------------------------------------------------------- the worker


class Worker:
    """One worker process and its channel; :meth:`request` sends one request and returns the
    reply, or raises :class:`WorkerGone` (the worker is then dead)."""

    def __init__(self, scratch: Scratch, mode: str, limits: Limits, uid: int | None) -> None:
        if STOPPING.is_set():
            raise WorkerGone("the checker is stopping")
        self.scratch, self.mode, self.limits, self.uid = scratch, mode, limits, uid
        argv, cwd = command(mode, scratch, uid)
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            env=_environment(mode, scratch), start_new_session=True, close_fds=True,
            preexec_fn=_preexec(limits, mode, uid, cwd))
        LIVE.add(self)
        self.out = self.process.stdin.fileno()
        self.inp = self.process.stdout.fileno()
        os.set_blocking(self.out, False)

    def start(self, config: dict, deadline: float) -> None:
        self._send(config, deadline)
        reply = self._receive(deadline)
        if reply != {"value": "ready"}:
            raise self._gone(f"the worker did not start ({str(reply)[:200]})")

    def request(self, op: str, args: dict, deadline: float) -> dict:
        self._send({"op": op, "args": args}, deadline)
        reply = self._receive(deadline)
        if not isinstance(reply, dict) or len(reply) != 1:
            raise self._gone("the hand-in's process sent a malformed reply")
        return reply

    def _send(self, value: Any, deadline: float) -> None:
        data = memoryview(wire.encode(value))
        while data:
            self._wait(select.POLLOUT, self.out, deadline)
            try:
                n = os.write(self.out, data[:1 << 20])
            except BlockingIOError:
                continue
            except OSError:
                raise self._gone(self._death()) from None
            data = data[n:]

    def _read(self, n: int, deadline: float) -> bytes:
        chunks, left = [], n
        while left:
            self._wait(select.POLLIN, self.inp, deadline)
            chunk = os.read(self.inp, min(left, 1 << 20))
            if not chunk:
                raise self._gone(self._death())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _receive(self, deadline: float) -> Any:
        size = int.from_bytes(self._read(8, deadline), "big")
        if size > wire.MAX_MESSAGE:
            raise self._gone(f"the hand-in's process sent a message of {size:,} bytes, over "
                             f"the cap of {wire.MAX_MESSAGE:,}")
        try:
            return wire.decode(self._read(size, deadline))
        except (wire.WireError, ValueError, OverflowError) as e:
            raise self._gone(f"the hand-in's process sent a malformed message ({e})") from None

    def _wait(self, event: int, fd: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(fd, event | select.POLLHUP | select.POLLERR)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TimeLimit("time limit")
            if poller.poll(min(left, 0.5) * 1000):
                return

    def _death(self) -> str:
        """Why the channel closed: the exit status or signal of the worker."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        said = self.said()
        self.kill()
        if code is None:
            return "the hand-in's process closed its channel" + said
        if self.mode == "namespace" and code > 128:  # bubblewrap reports a signal as 128+N
            code = -(code - 128)
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ \
                else str(-code)
            return (f"the hand-in's process was killed by {name}"
                    + (" (out of memory or CPU time?)" if -code in (9, 24) else ""))
        return f"the hand-in's process ended (os._exit or a crash), exit code {code}{said}"

    def said(self) -> str:
        """What the sandbox wrote on stderr before the worker silenced it (bubblewrap's or
        Python's own complaint when the worker could not start), as ``: ...``, or ''."""
        try:
            self.stderr.seek(0)
            text = self.stderr.read(2000).decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f" ({text.splitlines()[-1][:300]})" if text else ""

    def _gone(self, reason: str) -> WorkerGone:
        self.kill()
        return WorkerGone(reason)

    def kill(self) -> None:
        """End the worker and everything it started."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        if self.uid is not None:
            kill_uids(range(self.uid, self.uid + 1))
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.stderr.close()
        LIVE.discard(self)


def kill_all() -> None:
    """Kill every worker still running and start no more (Ctrl-C, SIGTERM): what the checks
    that were running then record is no grade (see :data:`STOPPING`)."""
    STOPPING.set()
    for worker in list(LIVE):
        worker.kill()
