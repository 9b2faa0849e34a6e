"""Grade a real hand-in as it is, function by function (the project's issue 10).

``python -m compare.check tdt4265 FOLDER`` or ``python -m compare.check dd2424 FILE_OR_FOLDER``;
``--batch DIR`` for a grader's folder of hand-ins. In Python or a notebook::

    from compare.check import check
    result = check("dd2424", "my_solution.py")
    print(result.to_text())

Each submission runs in a child process with time and memory limits (:mod:`.sandbox`), loaded
definitions-only (:mod:`.loader`), its functions found by name (:mod:`.names`) and checked
against numpy_impl and, for training, the Lightning reference (:mod:`.tdt4265`,
:mod:`.dd2424`, :mod:`.training`).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from compare.check.result import CheckResult, SubmissionResult
from compare.check.sandbox import Job, Limits, run_submission
from compare.check.verdict import Options

ASSIGNMENTS = ("tdt4265", "dd2424")


def check(assignment: str, path: str | PathLike, *, quick: bool = False,
          exec_all: bool = False, mapping: dict[str, str] | None = None,
          l2_convention: str = "text", time_limit: float = 300.0,
          check_time_limit: float = 60.0, memory_limit: int = 8 << 30) -> SubmissionResult:
    """Every check of one submission, as the CLI runs them (in a child process whose address
    space is limited to ``memory_limit`` bytes)."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment {assignment!r}: expected one of {ASSIGNMENTS}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    options = Options(l2_convention=l2_convention, quick=quick)
    limits = Limits(per_check=check_time_limit, total=time_limit, memory=memory_limit)
    job = Job(path.resolve(), assignment, options, exec_all, dict(mapping or {}), limits)
    result = run_submission(job)
    result.submission = str(path)
    return result


__all__ = ["ASSIGNMENTS", "CheckResult", "SubmissionResult", "check"]
