"""The error measure (compare.tolerance) and the report's table and messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compare.parity.findings import Mismatch, ParityReport, QuantityStats
from compare.tolerance import TOLERANCES, difference, discrete_difference, errors


def test_scalars_use_the_symmetric_relative_error() -> None:
    d = difference(1.0, 1.0 + 1e-12)
    assert d.max_rel == pytest.approx(1e-12 / (2 + 1e-12), rel=1e-3)
    assert d.max_abs == pytest.approx(1e-12, rel=1e-3) and d.index is None
    assert difference(0.0, 0.0).max_rel == 0  # no 0 / 0
    assert difference(1.0, -1.0).max_rel == 1 and difference(0.0, 5.0).max_rel == 1
    assert difference(3.0, 3.0).max_rel == 0



@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True,
                                                                  allow_infinity=True))
def test_two_floats_are_measured_as_two_zero_d_arrays(a: float, b: float) -> None:
    """Two Python floats (a step's loss, cost, learning rate) take a shorter path than arrays:
    the same errors and the same values named, to the bit."""
    assert difference(a, b) == difference(np.array(a), np.array(b)) or (
        math.isnan(a) or math.isnan(b))  # nan != nan in the values named
    if math.isnan(a) or math.isnan(b):
        assert difference(a, b).max_rel == 1


@pytest.mark.parametrize("to_array", [False, True], ids=["floats", "arrays"])
def test_values_near_the_largest_float_are_measured_too(to_array: bool) -> None:
    """Where the two sizes' sum (or the difference) overflows float64, the relative error is
    still the one defined above, not nan or 0 (which no tolerance would flag)."""
    def diff(a: float, b: float) -> float:
        if to_array:
            return difference(np.array([a, 1.0]), np.array([b, 1.0])).max_rel
        return difference(a, b).max_rel

    assert diff(1e308, -1e308) == 1.0
    assert diff(1.7e308, 1.683e308) == pytest.approx(0.017 / 3.383, rel=1e-12)
    assert diff(1.7e308, 1.7e308) == 0.0
    assert difference(np.array([1.7e308, np.nan]), np.array([-1.7e308, 0.0])).max_rel == 1.0

def test_array_elements_are_measured_against_the_quantity_size() -> None:
    """The cancellation case of tdt4265/task3b step 0: an element that is zero up to round-off
    (NumPy 1.75e-18, torch -2.78e-18) next to elements of size 0.15."""
    a = np.array([0.15, 1.7519856752720666e-18])
    b = np.array([0.15, -2.7795542283947987e-18])
    d = difference(a, b)
    assert d.max_rel < 1e-16 and d.index == (1,)
    assert not d.exceeds(TOLERANCES["float64"])
    # a wrong element of the same size as the quantity is far beyond the tolerance
    assert difference(a, np.array([0.15 / 128, 0.0])).max_rel > 0.9


def test_the_worst_element_is_named_with_both_values() -> None:
    a = np.zeros((3, 4))
    b = a.copy()
    b[2, 1] = 1e-3
    b[0, 0] = 1e-9
    d = difference(a, b)
    assert d.index == (2, 1) and (d.numpy_value, d.lightning_value) == (0.0, 1e-3)


def test_non_finite_values_never_agree() -> None:
    """Both sides at nan (or the same infinity) is a mismatch, not a match: two diverged runs
    must not pass."""
    abs_err, rel_err = errors([np.nan, np.inf, 1.0, np.inf, 2.0],
                              [np.nan, np.inf, np.nan, 1.0, 2.0])
    assert list(rel_err) == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert all(math.isinf(e) for e in abs_err[:4]) and abs_err[4] == 0
    assert difference(np.nan, np.nan).exceeds(1e-10)
    assert difference([np.inf, 0.0], [np.inf, 0.0]).exceeds(1e-10)
    assert discrete_difference(np.nan, np.nan).max_rel == 1


def test_shapes_and_discrete_values() -> None:
    d = difference(np.zeros((128, 785)), np.zeros((129, 785)))
    assert d.max_rel == 1 and d.numpy_value == "shape (128, 785)"
    assert discrete_difference(6, 6).max_rel == 0
    assert discrete_difference(6, None).max_rel == 1
    assert discrete_difference("13/25", "13/25").max_rel == 0


def test_the_report() -> None:
    report = ParityReport("tdt4265/task3b", "float64", 1e-10, steps=4, validations=1)
    report.quantities["loss"] = QuantityStats(1e-10, 4, 1e-16, 2e-16, 3)
    assert report.passed and report.verdict().startswith("PASS: 4 steps and 1 validations")
    assert "loss" in report.table() and "MISMATCH" not in report.table()
    mismatch = Mismatch(1, 0, "grad w", (483, 0), -0.0995719, -0.0994215, 6.4e-4, 1e-10)
    report.quantities["grad w"] = QuantityStats(1e-10, 2, 1.5e-4, 6.4e-4, 1)
    report.mismatches.append(mismatch)
    assert not report.passed and "MISMATCH" in report.table()
    assert str(mismatch) == (f"first mismatch at step 1 (epoch 0): grad w[483, 0]: numpy "
                             f"{-0.0995719:.17g}, lightning {-0.0994215:.17g}, relative "
                             f"error 0.00064 > tolerance 1e-10")
    assert str(Mismatch(None, None, "init W", (0, 3), 0.1, 0.2, 0.3, 0.0)).startswith(
        "first mismatch before training: init W[0, 3]: numpy 0.10000000000000001")
    assert ParityReport("x", "float64", 1e-10).verdict().startswith("FAIL: no training step")
