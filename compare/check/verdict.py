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
    convention); ``quick`` leaves out lockstep training; ``steps`` its number of updates;
    ``strict`` turns every warn into a fail (:func:`strictly`)."""

    l2_convention: str = "text"
    quick: bool = False
    steps: int = 200
    strict: bool = False


def strictly(result: CheckResult) -> CheckResult:
    """``--strict``: a warn (right by the text, with a weakness named) becomes a fail."""
    if result.status != "warn":
        return result
    return CheckResult(result.id, "fail", f"{result.message} (a warning, failed under --strict)")


def describe(value: Any, limit: int = 160) -> str:
    """A hand-in's value in a few words, never whole: an array's type, shape and first
    values, a sequence's length and first items, a mapping's keys, a string's start."""
    if isinstance(value, np.ndarray | np.generic):
        a = np.asarray(value)
        if a.ndim == 0:
            text = f"{_few(a.reshape(-1))[1:-1]} ({a.dtype})"
        else:
            text = (f"an array of shape {a.shape} ({a.dtype})"
                    + (f", first values {_few(a.reshape(-1))}" if a.size else ""))
    elif isinstance(value, bool | int | float | complex):
        text = repr(value)
    elif isinstance(value, str):
        text = repr(value[:40]) + (f" ... ({len(value)} characters)" if len(value) > 40 else "")
    elif isinstance(value, list | tuple):
        kind = type(value).__name__
        items = ", ".join(f"an array of shape {np.shape(v)}" if isinstance(v, np.ndarray)
                          else f"a {type(v).__name__} of {len(v)} items"
                          if isinstance(v, list | tuple | dict) else describe(v, 40)
                          for v in value[:3])
        more = ", ..." if len(value) > 3 else ""
        text = f"a {kind} of {len(value)} items: [{items}{more}]"
    elif isinstance(value, dict):
        keys = ", ".join(repr(str(k)[:20]) for k in list(value)[:5])
        text = f"a dict with keys {keys}{', ...' if len(value) > 5 else ''}"
    elif value is None:
        text = "None"
    else:
        text = f"an object of type {type(value).__name__}" if type(value).__module__ in (
            "builtins", "numpy") else "an object of the hand-in (not a number or an array)"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _few(flat: np.ndarray, n: int = 3) -> str:
    """The first ``n`` values of a flat array, short."""
    items = []
    for v in flat[:n]:
        try:
            items.append(f"{v:.6g}" if flat.dtype.kind in "fc" else str(v)[:20])
        except (TypeError, ValueError):
            items.append(str(v)[:20])
    return "[" + ", ".join(items) + (", ...]" if flat.size > n else "]")


def as_array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def scalar(value: Any) -> float:
    """A loss as a float, whether a float, a 0-d array or an array of shape (1,) or (1, 1)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"expected one number, got {describe(value)}") from None
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
        return f"yours has shape {a.shape}, expected {b.shape}{_shape_words(a, b, tol)}"
    rel = errors(a, b)[1]
    bad = np.flatnonzero(rel > tol)
    if bad.size == 0:
        return "they agree"
    i = int(bad[0])
    index = np.unravel_index(i, a.shape) if a.ndim else ()
    where = f" at {tuple(int(k) for k in index)}" if a.ndim else ""
    return (f"first difference{where}: yours {a[index]:.6g}, expected {b[index]:.6g} "
            f"(relative error {rel.reshape(-1)[i]:.2g}; {bad.size} of {a.size} elements differ)")


def _shape_words(a: np.ndarray, b: np.ndarray, tol: float) -> str:
    """What a shape mismatch is, in words, where it is one of the usual ones."""
    if a.size == b.size and a.size:
        if a.ndim == 2 and a.shape == b.shape[::-1] and agrees(a.T, b, tol):
            return " (the right values, transposed)"
        if agrees(a.reshape(b.shape), b, tol):
            return f" (the right values; reshape to {b.shape})"
        return " (as many values, laid out differently)"
    if b.ndim >= 1 and a.ndim == b.ndim and a.shape[1:] == b.shape[1:]:
        return f" ({a.shape[0]} rows where {b.shape[0]} are expected)"
    return ""


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
        detail = f"yours is {describe(got)}"
    return CheckResult(check_id, "fail", f"{head}; {detail}{suffix}")


def fail(check_id: str, message: str) -> CheckResult:
    return CheckResult(check_id, "fail", message)


def first_failure(results: list[CheckResult]) -> CheckResult:
    """Several cases of one check: the first that is not a pass, else the first (a
    convention outranks a pass so that it is reported)."""
    rank: dict[Status, int] = {"error": 0, "fail": 1, "warn": 2, "convention": 3, "skip": 4,
                               "pass": 5}
    return min(results, key=lambda r: rank[r.status])

