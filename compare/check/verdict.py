"""Comparing a hand-in's value with the reference's, and saying how they differ in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from compare.check.result import CheckResult, Status
from compare.tolerance import errors

TOLERANCE = 1e-8  # float64 relative to the quantity's size; round-off is about 1e-15


@dataclass
class Options:
    """How the checks run: ``l2_convention`` "text" (lambda*w fails) or "half" (lambda*w is a
    convention); ``quick`` leaves out lockstep training; ``steps`` its number of updates."""

    l2_convention: str = "text"
    quick: bool = False
    steps: int = 200


def as_array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def scalar(value: Any) -> float:
    """A loss as a float, whether a float, a 0-d array or an array of shape (1,) or (1, 1)."""
    a = np.asarray(value, dtype=np.float64)
    if a.size != 1:
        raise ValueError(f"expected one number, got an array of shape {a.shape}")
    return float(a.reshape(-1)[0])


def agrees(got: Any, want: Any, tol: float = TOLERANCE) -> bool:
    try:
        a, b = as_array(got), as_array(want)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    return bool(a.size == 0 or errors(a, b)[1].max() <= tol)


def mismatch(got: Any, want: Any, tol: float = TOLERANCE) -> str:
    """The first element (in reading order) where ``got`` is off: both values and the error
    relative to the quantity's size; or the two shapes when they differ."""
    a, b = as_array(got), as_array(want)
    if a.shape != b.shape:
        return f"yours has shape {a.shape}, expected {b.shape}"
    rel = errors(a, b)[1]
    bad = np.flatnonzero(rel > tol)
    if bad.size == 0:
        return "they agree"
    i = int(bad[0])
    index = np.unravel_index(i, a.shape) if a.ndim else ()
    where = f" at {tuple(int(k) for k in index)}" if a.ndim else ""
    return (f"first difference{where}: yours {a[index]:.6g}, expected {b[index]:.6g} "
            f"(relative error {rel.reshape(-1)[i]:.2g}; {bad.size} of {a.size} elements differ)")


def compare(check_id: str, got: Any, want: Any, what: str,
            known: dict[str, Any] | None = None,
            conventions: dict[str, Any] | None = None, note: str = "",
            tol: float = TOLERANCE) -> CheckResult:
    """pass when ``got`` agrees with ``want``; convention when it agrees with one of
    ``conventions`` (its key is the message); else fail, naming the ``known`` mistake it
    agrees with, if any, and the first differing element."""
    suffix = f" ({note})" if note else ""
    if agrees(got, want, tol):
        return CheckResult(check_id, "pass", f"{what} agrees with the text{suffix}")
    for message, value in (conventions or {}).items():
        if agrees(got, value, tol):
            return CheckResult(check_id, "convention", message + suffix)
    diagnosis = next((m for m, v in (known or {}).items() if agrees(got, v, tol)), None)
    head = diagnosis or f"{what} differs from the text"
    try:
        detail = mismatch(got, want, tol)
    except (TypeError, ValueError):
        detail = f"yours is {got!r}"
    return CheckResult(check_id, "fail", f"{head}; {detail}{suffix}")


def fail(check_id: str, message: str) -> CheckResult:
    return CheckResult(check_id, "fail", message)


def first_failure(results: list[CheckResult]) -> CheckResult:
    """Several cases of one check: the first that is not a pass, else the first (a
    convention outranks a pass so that it is reported)."""
    rank: dict[Status, int] = {"error": 0, "fail": 1, "convention": 2, "skip": 3, "pass": 4}
    return min(results, key=lambda r: rank[r.status])

