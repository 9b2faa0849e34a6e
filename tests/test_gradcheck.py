"""numpy_impl.gradcheck: the checks themselves, on functions whose gradients are known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numpy_impl.gradcheck import (
    check_tdt4265,
    max_relative_error,
    numerical_gradients,
    relative_error,
)


def quadratic(seed: int = 0):
    """f(A, v) = sum(C * A^2) + sum(A) * v[0] + 3 v[1]: gradients 2 C A + v[0], (sum A, 3)."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(3, 4))
    params = {"A": rng.normal(size=(3, 4)), "v": rng.normal(size=2)}

    def f():
        A, v = params["A"], params["v"]
        return float(np.sum(C * A**2) + A.sum() * v[0] + 3 * v[1])

    def exact():
        A, v = params["A"], params["v"]
        return {"A": 2 * C * A + v[0], "v": np.array([A.sum(), 3.0])}

    return f, params, exact


def test_numerical_gradients_of_a_quadratic_are_exact_and_restore_params():
    f, params, exact = quadratic()
    before = {k: v.copy() for k, v in params.items()}
    numerical = numerical_gradients(f, params)
    for name in params:
        np.testing.assert_array_equal(params[name], before[name])  # bit-for-bit restore
        np.testing.assert_allclose(numerical[name], exact()[name], rtol=1e-9, atol=1e-12)
        assert numerical[name].shape == params[name].shape


def test_numerical_gradients_perturb_the_arrays_in_place():
    w = np.zeros((2, 2))
    params = {"w": w}
    seen = []
    numerical_gradients(lambda: seen.append(w.copy()) or 0.0, params, eps=0.5)
    assert len(seen) == 8
    assert seen[0][0, 0] == 0.5 and seen[1][0, 0] == -0.5 and seen[2][0, 0] == 0


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                  elements=st.floats(-3, 3)))
def test_numerical_gradient_of_sum_of_cubes(x):
    params = {"x": x.copy()}
    numerical = numerical_gradients(lambda: float(np.sum(params["x"] ** 3)), params, eps=1e-4)
    np.testing.assert_allclose(numerical["x"], 3 * x**2, atol=1e-6)


def test_check_tdt4265_passes_and_returns_the_largest_difference():
    f, params, exact = quadratic(1)
    worst = check_tdt4265(f, params, exact())
    assert 0 <= worst <= 1e-6


def test_check_tdt4265_names_the_wrong_element():
    f, params, exact = quadratic(2)
    wrong = exact()
    wrong["A"][1, 2] += 1e-5  # just over eps^2 = 1e-6
    with pytest.raises(AssertionError, match=r"gradient A\[1, 2\].*> eps\^2"):
        check_tdt4265(f, params, wrong)
    wrong = exact()
    wrong["v"][1] += 5e-7  # within eps^2: accepted
    assert check_tdt4265(f, params, wrong) == pytest.approx(5e-7, rel=1e-3)
    with pytest.raises(AssertionError, match="shape"):
        check_tdt4265(f, params, {"A": exact()["A"].T, "v": exact()["v"]})


def test_relative_error_by_hand():
    np.testing.assert_allclose(relative_error(np.array([1.0, 1.0, 0.0, 3.0]),
                                              np.array([1.0, -1.0, 0.0, 1.0])),
                               [0.0, 1.0, 0.0, 0.5])
    assert relative_error(1e-20, 0.0) == pytest.approx(1e-8)  # eps = 1e-12 in the denominator
    assert max_relative_error({"a": np.array([1.0, 2.0]), "b": np.array([[4.0]])},
                              {"a": np.array([1.0, 2.0]), "b": np.array([[2.0]])}) == \
        pytest.approx(1 / 3)
    assert max_relative_error(np.array([2.0]), np.array([1.0])) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="different gradients"):
        max_relative_error({"a": np.zeros(1)}, {"b": np.zeros(1)})


def test_the_checks_catch_the_half_l2_convention():
    """lam * w is the gradient of lam/2 ||w||^2, not of the texts' lam ||w||^2: both checks fail."""
    rng = np.random.default_rng(3)
    params = {"w": rng.normal(size=(5, 2))}
    lam = 0.1

    def cost():
        return lam * float(np.sum(params["w"] ** 2))

    check_tdt4265(cost, params, {"w": 2 * lam * params["w"]})
    with pytest.raises(AssertionError):
        check_tdt4265(cost, params, {"w": lam * params["w"]})
    numerical = numerical_gradients(cost, params)
    assert max_relative_error({"w": 2 * lam * params["w"]}, numerical) < 1e-9
    assert max_relative_error({"w": lam * params["w"]}, numerical) == pytest.approx(1 / 3)


def test_float32_params_are_perturbed_in_their_dtype():
    params = {"w": np.array([1.0, 2.0], dtype=np.float32)}
    numerical = numerical_gradients(lambda: float(np.sum(params["w"] ** 2)), params, eps=1e-2)
    assert params["w"].dtype == np.float32
    np.testing.assert_allclose(numerical["w"], [2.0, 4.0], rtol=1e-4)
