"""Running one hand-in's checks in order, each with its deadline, in the grader
(:mod:`.session` holds the channel to the hand-in's worker; :mod:`.tdt4265` and :mod:`.dd2424`
the checks): a check that finds nothing is a skip; a crash, an exit or a time-out of the
hand-in is that check's error, and the next check starts a fresh worker."""

from __future__ import annotations

import time
from typing import Any

from compare.check import dd2424, sandbox, tdt4265
from compare.check.formats import Unusable
from compare.check.names import NotFound, Submission
from compare.check.result import NOTHING, CheckResult, SubmissionResult
from compare.check.session import HandInAborted, HandInRaised, Job, LoadError, Session


def check_ids(assignment: str, quick: bool) -> list[str]:
    """The ids of the checks that run, in order."""
    checks, training = _registry(assignment)
    return [i for i in checks if not (quick and i in training)]


def _registry(assignment: str) -> tuple[dict, tuple[str, ...]]:
    m = {"tdt4265": tdt4265, "dd2424": dd2424}[assignment]
    return m.CHECKS, m.TRAINING


def run_one(sub: Any, check_id: str, job: Job, total_deadline: float) -> CheckResult:
    """One check: not found is a skip; a crash, an exit or a time-out of the hand-in an
    error."""
    session: Session = sub.session
    checks, _ = _registry(job.assignment)
    if time.monotonic() >= total_deadline:
        return CheckResult(check_id, "error", f"time limit: the submission took more than "
                           f"{job.limits.total:g} s in all before {check_id} ran")
    session.deadline = min(time.monotonic() + job.limits.per_check, total_deadline)
    try:
        return checks[check_id](sub, job.options)
    except NotFound as e:
        return CheckResult(check_id, "skip", str(e))
    except LoadError as e:
        return CheckResult(check_id, "error", str(e))
    except sandbox.TimeLimit:
        if session.deadline == total_deadline:
            return CheckResult(check_id, "error", f"time limit: the submission took more than "
                               f"{job.limits.total:g} s in all, during {check_id}")
        return CheckResult(check_id, "error", f"time limit: the check took more than "
                           f"{job.limits.per_check:g} s (an infinite loop?)")
    except sandbox.WorkerGone as e:
        return CheckResult(check_id, "error", f"{e.reason} during {check_id}")
    except HandInAborted as e:
        raised = e.raised
        if raised.get("exit"):
            return CheckResult(check_id, "error", f"the submission called "
                               f"sys.exit({raised.get('code', '')}){raised.get('where', '')}")
        return CheckResult(check_id, "error", f"{raised.get('type')}: {raised.get('message')}"
                           f"{raised.get('where', '')}")
    except HandInRaised as e:
        if e.type == "MemoryError":
            return CheckResult(check_id, "error", f"out of memory{e.where}")
        return CheckResult(check_id, "error", e.describe())
    except Exception as e:  # noqa: BLE001 (what the hand-in returned did not fit the check)
        text = str(e)
        return CheckResult(check_id, "error", f"{type(e).__name__}: "
                           f"{text if len(text) <= 300 else text[:297] + '...'}")
    finally:
        session.deadline = float("inf")


def run_submission(job: Job) -> SubmissionResult:
    """Every check of one submission (see the module doc)."""
    ids = check_ids(job.assignment, job.options.quick)
    result = SubmissionResult(job.assignment, str(job.path), sandbox=job.mode)
    total_deadline = time.monotonic() + job.limits.total
    try:
        session = Session(job)
    except Unusable as e:  # nothing to check in it: every check says why
        result.checks = [CheckResult(i, "error", f"{NOTHING}{e}") for i in ids]
        return result
    except OSError as e:
        result.checks = [CheckResult(i, "error", f"the submission could not be copied: {e}")
                         for i in ids]
        return result
    try:
        sub = Submission(session, job.assignment, job.mapping)
        for check_id in ids:
            result.checks.append(run_one(sub, check_id, job, total_deadline))
            session.deadline = min(time.monotonic() + 10, total_deadline + 10)
            session.collect_notes()
    finally:
        session.close()
    result.notes = list(session.notes)
    return result
