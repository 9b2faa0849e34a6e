"""Running a student's code in a child process: what ``python -m compare --numpy-side`` (its
NumPy side, :mod:`compare.parity.numpy_side`) and ``python -m compare.check`` (each hand-in,
:mod:`compare.check.sandbox`) share.

* :func:`child_setup`, first thing in the child: the parent alone decides when the child ends
  (SIGINT, which a terminal's Ctrl-C sends to the whole process group, is ignored; SIGTERM
  kills; the parent's death, even by SIGKILL, kills it too: Linux's ``PR_SET_PDEATHSIG``), and
  its address space may grow by at most a given number of bytes, so that a memory blow-up is a
  MemoryError in the child instead of the machine's trouble.
* :func:`student_frames`, :func:`where`: a child's exception as the student's frames only.
* :class:`Interrupted` and :func:`run_interruptible`: SIGINT or SIGTERM in the parent unwinds
  it (its children are stopped on the way) and ends it with 128 + the signal's number (130,
  143).

The exit statuses are :class:`numpy_impl.run.exits.ExitCode`'s.
"""

from __future__ import annotations

import ctypes
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from numpy_impl.run.interrupt import Interrupted, Signals
from numpy_impl.run.threads import configure_threads

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def limit_address_space(allowance: int) -> None:
    """Let this process's address space grow by at most ``allowance`` bytes beyond what it has
    now (a forked child: the parent's, torch's libraries included): a larger allocation raises
    MemoryError here instead of exhausting the machine."""
    in_use = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = in_use + allowance
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def child_setup(memory: int) -> None:
    """The first thing a child running student code does (see the module doc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    limit_address_space(memory)
    configure_threads()  # the student's NumPy: one BLAS thread, as every side


def student_frames(error: BaseException, keep: Callable[[str], bool]
                   ) -> list[traceback.FrameSummary]:
    """The frames of ``error``'s traceback whose file name ``keep`` accepts."""
    return [f for f in traceback.extract_tb(error.__traceback__) if keep(f.filename)]


def where(error: BaseException, folder: Path) -> str:
    """`` at file.py:LINE``: the innermost frame of ``error`` in ``folder``, or ''."""
    frames = student_frames(error, lambda name: name.startswith(str(folder)))
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


def describe(error: BaseException) -> str:
    """``Type: message``."""
    return f"{type(error).__name__}: {error}"


def run_interruptible(run: Callable[[], int], message: str | Callable[[Interrupted], str],
                      cleanup: Callable[[], None] = lambda: None) -> int:
    """``run()`` with SIGINT and SIGTERM raising :class:`Interrupted`; on one, ``cleanup()``,
    ``message`` (``{}``: the signal's name; or a function of the :class:`Interrupted`) on
    stderr and 128 + its number. The previous handlers are restored afterwards."""
    try:
        with Signals().installed():
            return run()
    except Interrupted as stop:
        cleanup()
        print(message(stop) if callable(message) else message.format(stop), file=sys.stderr)
        return stop.exit_code
