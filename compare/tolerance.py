"""How compare measures the distance between a NumPy value and a Lightning value.

Element by element, in float64, for a quantity with elements a_i (NumPy) and b_i (Lightning):

    abs_err_i = |a_i - b_i|
    rel_err_i = |a_i - b_i| / max(TINY, max_j |a_j| + max_j |b_j|)   (TINY: smallest normal float64)

i.e. each element's error relative to the size of its quantity. For a scalar (loss, cost,
learning rate, a metric) this is |a - b| / (|a| + |b|); it is symmetric, lies in [0, 1] and is 0
exactly when the values are equal, so two zeros agree instead of dividing 0 by 0.

Why the quantity's size and not each element's own |a_i| + |b_i|: an element that is zero up to
round-off has no relative precision to compare. Step 0 of tdt4265/task3b gives an example:
grad w[347, 9] is a sum of 128 terms totalling 0.143 in magnitude that cancel to about -1e-18
(exactly summed: -1.2e-18); NumPy's BLAS gets 1.75e-18 and torch's -2.78e-18, both within
float64 round-off of the truth, yet their element-wise relative error is 1. Measured against the
quantity (max |grad w| = 0.15) the same difference is 3e-17. A wrong formula changes elements
by a fraction of the quantity's size (a missing 1/N, a lambda instead of 2 lambda, a regularised
bias), far above the tolerance.

A non-finite element (nan or an infinity) on either side is a mismatch, whatever the other side
holds: abs_err inf and rel_err 1, the largest possible. Two runs that both diverge to nan agree
on nothing that can be checked, so they must not pass; and a nan in a step number or count
(``discrete_difference``) is a mismatch too.

A quantity agrees when every element's rel_err is at most its tolerance: 1e-10 in float64 (two
correct implementations differ by round-off, about 1e-15) and 1e-4 in float32. What must be
bit-identical (the initial parameters, the batches) has tolerance 0; what must be equal (step
numbers, numbers of correct predictions) is compared with ``discrete_difference``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

TINY = float(np.finfo(np.float64).tiny)
TOLERANCES = {"float64": 1e-10, "float32": 1e-4}
EXACT = 0.0


def errors(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise (abs_err, rel_err) of two arrays (or scalars) of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    size_a = float(np.abs(a[finite_a]).max(initial=0.0))
    size_b = float(np.abs(b[finite_b]).max(initial=0.0))
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(a - b)
        if math.isinf(size_a + size_b):
            # Both sizes near float64's largest: their sum (and a difference) overflows, so
            # the relative error is measured on halves, where neither can (halving loses no
            # bit above the subnormals, and the ratio is the same).
            rel = np.abs(a / 2 - b / 2) / (size_a / 2 + size_b / 2)
        else:
            rel = abs_err / max(TINY, size_a + size_b)
    finite = finite_a & finite_b
    same = (a == b) & finite
    abs_err = np.where(same, 0.0, np.where(finite, abs_err, np.inf))
    rel_err = np.where(same, 0.0, np.where(finite, rel, 1.0))
    return abs_err, rel_err


@dataclass(frozen=True)
class Difference:
    """How far apart two values are: the largest errors and the element where they are largest
    (``index`` None for a scalar), with both values there."""

    max_abs: float
    max_rel: float
    index: tuple[int, ...] | None
    numpy_value: Any
    lightning_value: Any

    def exceeds(self, tolerance: float) -> bool:
        return self.max_rel > tolerance


def difference(numpy_value: Any, lightning_value: Any) -> Difference:
    """The :class:`Difference` of two arrays or scalars. Different shapes differ completely:
    ``max_rel`` 1, and the two shapes stand in for the values."""
    if (isinstance(numpy_value, float) and isinstance(lightning_value, float)
            and math.isfinite(abs(numpy_value) + abs(lightning_value))):
        # Two finite float64 scalars (a step's loss, cost, learning rate): the same sums as
        # below, without making arrays of them.
        a, b = float(numpy_value), float(lightning_value)
        max_abs = abs(a - b)
        return Difference(max_abs, max_abs / max(TINY, abs(a) + abs(b)), None, a, b)
    a, b = np.asarray(numpy_value), np.asarray(lightning_value)
    if a.shape != b.shape:
        return Difference(np.inf, 1.0, None, f"shape {a.shape}", f"shape {b.shape}")
    if a.size == 0:
        return Difference(0.0, 0.0, None, None, None)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(a.astype(np.float64, copy=False) - b.astype(np.float64, copy=False))
    scale = (float(np.abs(a).max()) + float(np.abs(b).max()) if np.isfinite(abs_err).all()
             else math.inf)
    if math.isfinite(scale):
        # Every element finite on both sides, and the sizes' sum too (the usual case, checked
        # after every step): the quantity's one scale divides every element alike, so the
        # largest error is the largest difference, without errors()'s full-size temporaries.
        flat = int(np.argmax(abs_err))
        max_abs = float(abs_err.reshape(-1)[flat])
        max_rel = max_abs / max(TINY, scale)
    else:
        abs_err, rel_err = errors(a, b)
        flat = int(np.argmax(rel_err))
        max_abs, max_rel = float(abs_err.max()), float(rel_err.max())
    index = np.unravel_index(flat, a.shape) if a.ndim else None
    where = index if index is not None else ()
    return Difference(
        max_abs=max_abs, max_rel=max_rel,
        index=None if index is None else tuple(int(i) for i in index),
        numpy_value=a[where].item(), lightning_value=b[where].item())


def discrete_difference(numpy_value: Any, lightning_value: Any) -> Difference:
    """Values that must be equal, not close (step numbers, None for "did not happen"):
    max_rel 0 when equal, 1 otherwise; a non-finite float is never equal."""
    same = numpy_value == lightning_value and not any(
        isinstance(v, float) and not np.isfinite(v) for v in (numpy_value, lightning_value))
    return Difference(0.0 if same else np.inf, 0.0 if same else 1.0, None, numpy_value,
                      lightning_value)
