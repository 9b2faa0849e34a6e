"""Grade a real hand-in as it is, function by function (the project's issue 10).

``python -m compare.check tdt4265 FOLDER`` or ``python -m compare.check dd2424 FILE_OR_FOLDER``;
``--batch DIR`` for a grader's folder of hand-ins. In Python or a notebook::

    from compare.check import check
    result = check("dd2424", "my_solution.py")
    print(result.to_text())

Each submission runs in a worker process in an OS sandbox with hard limits (:mod:`.sandbox`,
:mod:`.worker`), loaded definitions-only (:mod:`.loader`); its functions are found by name
(:mod:`.names`) and called from the grader, which sends inputs and gets plain values back
(:mod:`.wire`), and checked here, out of the hand-in's reach, against numpy_impl and, for
training, the Lightning reference (:mod:`.session`, :mod:`.tdt4265`, :mod:`.dd2424`,
:mod:`.training`). docs/security.md says what a hand-in can and cannot do.
"""

from __future__ import annotations

import functools
from os import PathLike
from pathlib import Path

from compare.check.result import CheckResult, SubmissionResult
from compare.check.runner import run_submission
from compare.check.sandbox import MODES, Limits, best_mode, namespaces_work
from compare.check.session import Job
from compare.check.verdict import Options, strictly

ASSIGNMENTS = ("tdt4265", "dd2424")


@functools.cache
def _one_blas_thread() -> None:
    """One BLAS thread in the grader: in a batch its threads compute references at once, and
    OpenBLAS's own pool, shared by them, spins (seen: two threads stuck in a 10 x 3072 product)."""
    from numpy_impl.run.threads import configure_threads

    configure_threads()


def check(assignment: str, path: str | PathLike, *, quick: bool = False,
          exec_all: bool = False, mapping: dict[str, str] | None = None,
          l2_convention: str = "text", time_limit: float = 300.0,
          check_time_limit: float = 60.0, memory_limit: int = 8 << 30,
          sandbox: str | None = None, strict: bool = False) -> SubmissionResult:
    """Every check of one submission, as the CLI runs them (its worker's address space limited
    to ``memory_limit`` bytes; ``sandbox`` "namespace" or "process", None: the strongest
    available; ``strict``: every warn is a fail)."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment {assignment!r}: expected one of {ASSIGNMENTS}")
    _one_blas_thread()
    mode = sandbox or best_mode()
    if mode not in MODES:
        raise ValueError(f"sandbox {mode!r}: expected one of {MODES}")
    if mode == "namespace" and not namespaces_work():
        raise ValueError("sandbox 'namespace': bubblewrap is not installed or namespaces are "
                         "not allowed here")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    options = Options(l2_convention=l2_convention, quick=quick, strict=strict)
    limits = Limits(per_check=check_time_limit, total=time_limit, memory=memory_limit)
    job = Job(path.resolve(), assignment, options, exec_all, dict(mapping or {}), limits, mode)
    result = run_submission(job)
    if strict:
        result.checks = [strictly(c) for c in result.checks]
    result.submission = str(path)
    return result


__all__ = ["ASSIGNMENTS", "CheckResult", "SubmissionResult", "check"]
