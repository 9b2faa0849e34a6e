"""One submission's checks in a child process of its own.

The child (multiprocessing "spawn": a fresh interpreter, so no module of one hand-in reaches
the next) is set up as compare's NumPy side is (:func:`compare.isolation.child_setup`: a memory
limit, SIGINT ignored, killed with its parent), and gets a scratch working directory, its
output sent to /dev/null, and a time limit per check (SIGALRM). It sends each check's result as
soon as it has it; the parent enforces an overall limit and kills the child past it. Whatever
the child does (raise, loop, sys.exit, os._exit, exhaust memory), the checks it finished keep
their results and the others become ``error`` with the reason.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compare.check.result import CheckResult, SubmissionResult
from compare.check.verdict import Options
from compare.isolation import child_setup, describe, where

LIVE: set[Any] = set()  # children running now, killed on Ctrl-C or SIGTERM


@dataclass
class Limits:
    """Seconds per check, seconds for the whole submission, bytes of address space the child
    may add to what it has at its start (a fresh interpreter: some 20 MB)."""

    per_check: float = 60.0
    total: float = 300.0
    memory: int = 8 << 30


@dataclass
class Job:
    """What to check: the submission, its assignment, and how."""

    path: Path
    assignment: str
    options: Options = field(default_factory=Options)
    exec_all: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


def check_ids(assignment: str, quick: bool) -> list[str]:
    """The ids of the checks that run, in order."""
    checks, training = _registry(assignment)
    return [i for i in checks if not (quick and i in training)]


def _registry(assignment: str) -> tuple[dict, tuple[str, ...]]:
    if assignment == "tdt4265":
        from compare.check import tdt4265 as m
    else:
        from compare.check import dd2424 as m  # type: ignore[no-redef]
    return m.CHECKS, m.TRAINING


class _TimeLimit(BaseException):
    """A check past its time limit; not an Exception, so that no ``except Exception`` (the
    hand-in's or a check's) swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _TimeLimit


def run_one(sub: Any, check_id: str, job: Job) -> CheckResult:
    """One check, in this process: not found is a skip, a crash or a time-out an error."""
    from compare.check.names import LoadError, NotFound

    checks, _ = _registry(job.assignment)
    folder = sub.path if sub.path.is_dir() else sub.path.parent
    signal.setitimer(signal.ITIMER_REAL, job.limits.per_check)
    try:
        return checks[check_id](sub, job.options)
    except NotFound as e:
        return CheckResult(check_id, "skip", str(e))
    except LoadError as e:
        return CheckResult(check_id, "error", str(e))
    except _TimeLimit:
        return CheckResult(check_id, "error", f"time limit: the check took more than "
                           f"{job.limits.per_check:g} s (an infinite loop?)")
    except SystemExit as e:
        return CheckResult(check_id, "error", f"the submission called sys.exit({e.code})"
                           f"{where(e, folder)}")
    except MemoryError as e:
        return CheckResult(check_id, "error", f"out of memory{where(e, folder)}")
    except Exception as e:  # noqa: BLE001 (anything a hand-in raises is reported)
        return CheckResult(check_id, "error", f"{describe(e)}{where(e, folder)}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _child(job: Job, ids: list[str], conn: Any) -> None:
    """The child's whole life: limits, scratch directory, load, check, report."""
    child_setup(job.limits.memory)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(tempfile.mkdtemp(prefix="check-"))
    signal.signal(signal.SIGALRM, _on_alarm)
    from compare.check import loader
    from compare.check.names import Submission

    folder = job.path if job.path.is_dir() else job.path.parent
    if any("matplotlib" in p.read_text(errors="replace") for p in folder.glob("*.py")):
        loader.quiet_matplotlib()
    sub = Submission(job.path, job.assignment, job.exec_all, job.mapping)
    for check_id in ids:
        result = run_one(sub, check_id, job)
        conn.send(("check", result))
    conn.send(("notes", sub.notes()))


def run_submission(job: Job) -> SubmissionResult:
    """Every check of one submission in a child process (see the module doc)."""
    ids = check_ids(job.assignment, job.options.quick)
    result = SubmissionResult(job.assignment, str(job.path))
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(job, ids, send), daemon=True)
    process.start()
    LIVE.add(process)
    send.close()
    deadline = time.monotonic() + job.limits.total
    reason = ""
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = (f"time limit: the submission took more than {job.limits.total:g} s "
                          "in all")
                break
            if not receive.poll(min(remaining, 0.5)):
                if not process.is_alive() and not receive.poll():
                    break
                continue
            try:
                kind, payload = receive.recv()
            except EOFError:
                break
            if kind == "check":
                result.checks.append(payload)
            else:
                result.notes.extend(payload)
                break
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        LIVE.discard(process)
        receive.close()
    if not reason:
        code = process.exitcode
        reason = ("the submission's process ended (os._exit or a crash), exit code "
                  f"{code}" if code is None or code >= 0 else
                  f"the submission's process was killed by signal {-code}"
                  + (" (memory?)" if -code == signal.SIGKILL else ""))
    done = {c.id for c in result.checks}
    if len(done) < len(ids):
        running = next(i for i in ids if i not in done)
        result.checks += [CheckResult(i, "error", reason + (f" during {running}" if i == running
                                                             else f" before {i} ran"))
                          for i in ids if i not in done]
        result.checks.sort(key=lambda c: ids.index(c.id))
    return result


def kill_all() -> None:
    """Kill every child still running (Ctrl-C, SIGTERM)."""
    for process in list(LIVE):
        if process.is_alive():
            process.kill()
