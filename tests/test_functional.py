"""numpy_impl.functional: hand-derived values, finite differences, stability and dtypes."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numpy_impl import functional as F
from numpy_impl.gradcheck import max_relative_error, numerical_gradients

DTYPES = [np.float32, np.float64]
finite_scores = st.floats(-30, 30, allow_nan=False, width=32)


def shapes(min_side: int = 1, max_side: int = 6):
    return hnp.array_shapes(min_dims=2, max_dims=2, min_side=min_side, max_side=max_side)


# ----------------------------------------------------------------------------- hand values


def test_sigmoid_hand_values():
    assert F.sigmoid(np.array(0.0)) == 0.5
    np.testing.assert_allclose(F.sigmoid(np.array([math.log(3), -math.log(3)])), [0.75, 0.25])


def test_log_sigmoid_hand_values():
    np.testing.assert_allclose(
        F.log_sigmoid(np.array([0.0, math.log(3)])), [-math.log(2), math.log(0.75)]
    )


def test_softmax_of_zero_and_ln2():
    np.testing.assert_allclose(F.softmax(np.array([[0.0, math.log(2)]]), axis=1), [[1 / 3, 2 / 3]])
    np.testing.assert_allclose(
        F.softmax(np.array([[0.0], [math.log(2)]]), axis=0), [[1 / 3], [2 / 3]]
    )


def test_log_softmax_hand_values():
    np.testing.assert_allclose(
        F.log_softmax(np.array([[0.0, math.log(2)]]), axis=1), [[math.log(1 / 3), math.log(2 / 3)]]
    )


def test_binary_cross_entropy_two_samples_by_hand():
    y = np.array([[1.0], [0.0]])
    p = np.array([[0.8], [0.4]])
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert F.binary_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)
    z = np.log(p / (1 - p))  # the logits of those probabilities
    assert F.binary_cross_entropy_with_logits(y, z) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_two_samples_by_hand():
    Y = np.array([[0, 1, 0], [1, 0, 0]])
    P = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    expected = -(math.log(0.5) + math.log(0.1)) / 2
    assert F.cross_entropy(Y, P, axis=1) == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(Y.T, P.T, axis=0) == pytest.approx(expected, rel=1e-12)
    S = np.log(P) + 7.0  # any shift of log P has softmax P
    assert F.cross_entropy_with_logits(Y, S, axis=1) == pytest.approx(expected, rel=1e-12)


def test_multiple_bce_eq14_by_hand():
    # K = 2 classes (rows), n = 2 images (columns)
    Y = np.array([[1, 0], [0, 1]])
    P = np.array([[0.9, 0.2], [0.3, 0.6]])
    image0 = -(math.log(0.9) + math.log(0.7)) / 2
    image1 = -(math.log(0.8) + math.log(0.6)) / 2
    expected = (image0 + image1) / 2
    assert F.multiple_binary_cross_entropy(Y, P, axis=0) == pytest.approx(expected, rel=1e-12)
    assert F.multiple_binary_cross_entropy(Y.T, P.T, axis=1) == pytest.approx(expected, rel=1e-12)
    S = np.log(P / (1 - P))  # the logits of those probabilities
    assert F.multiple_binary_cross_entropy_with_logits(Y, S, axis=0) == pytest.approx(
        expected, rel=1e-12)


def test_l2_penalty_and_gradient_by_hand():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert F.l2_penalty(w) == 5.25
    np.testing.assert_array_equal(F.l2_gradient(w, 0.1), 0.2 * w)


def test_one_hot_example_and_errors():
    np.testing.assert_array_equal(
        F.one_hot(np.array([3, 0]), 5), [[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]]
    )
    assert F.one_hot(np.array([1]), 3, np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="0..2"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(ValueError, match="1-D integer"):
        F.one_hot(np.array([[1]]), 3)


def test_sgd_update_is_in_place():
    w = np.ones((2, 2), dtype=np.float32)
    params = {"w": w}
    F.sgd_update(params, {"w": np.full((2, 2), 2.0, dtype=np.float32)}, np.float64(0.25))
    assert params["w"] is w
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, 0.5)


# ----------------------------------------------------------------------------- properties


@given(hnp.arrays(np.float64, shapes(), elements=finite_scores))
def test_sigmoid_symmetry_and_range(z):
    s = F.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(F.sigmoid(-z), 1 - s, atol=1e-15)
    np.testing.assert_allclose(F.log_sigmoid(z), np.log(s), rtol=1e-12, atol=1e-15)


@given(
    hnp.arrays(np.float64, shapes(), elements=finite_scores),
    st.sampled_from([0, 1]),
    st.floats(-100, 100),
)
def test_softmax_sums_to_one_and_is_shift_invariant(S, axis, shift):
    P = F.softmax(S, axis)
    np.testing.assert_allclose(P.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(S + shift, axis), P, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(F.log_softmax(S, axis), np.log(P), rtol=1e-9, atol=1e-12)


@given(hnp.arrays(np.float64, shapes(), elements=st.floats(-15, 15)), st.data())
def test_losses_from_logits_equal_losses_from_probabilities(Z, data):
    # |z| <= 15: beyond, 1 - sigmoid(z) cancels and the from-probabilities loss loses digits
    N, K = Z.shape
    y = data.draw(hnp.arrays(np.int64, (N, K), elements=st.integers(0, 1)))
    assert F.binary_cross_entropy_with_logits(y, Z) == pytest.approx(
        F.binary_cross_entropy(y, F.sigmoid(Z)), rel=1e-9
    )
    labels = data.draw(hnp.arrays(np.int64, (N,), elements=st.integers(0, K - 1)))
    Y = F.one_hot(labels, K)
    assert F.cross_entropy_with_logits(Y, Z, axis=1) == pytest.approx(
        F.cross_entropy(Y, F.softmax(Z, 1), axis=1), rel=1e-9
    )
    assert F.multiple_binary_cross_entropy_with_logits(y, Z, axis=1) == pytest.approx(
        F.multiple_binary_cross_entropy(y, F.sigmoid(Z), axis=1), rel=1e-9
    )


# ----------------------------------------------------------------------------- finite differences


@given(shapes(max_side=4), st.integers(0, 2**32 - 1))
def test_loss_gradients_match_finite_differences(shape, seed):
    """d(mean BCE)/dz = (sigmoid(z) - y)/numel, d(mean CE)/dS = (softmax(S) - Y)/N: the formulas
    both texts' backward passes rest on."""
    rng = np.random.default_rng(seed)
    N, K = shape
    Z = rng.normal(size=shape)
    y = rng.integers(0, 2, size=shape).astype(float)
    Y = F.one_hot(rng.integers(0, K, size=N), K)
    params = {"Z": Z}

    numerical = numerical_gradients(lambda: F.binary_cross_entropy_with_logits(y, Z), params, 1e-6)
    assert max_relative_error({"Z": (F.sigmoid(Z) - y) / Z.size}, numerical) < 1e-6

    numerical = numerical_gradients(lambda: F.cross_entropy_with_logits(Y, Z, 1), params, 1e-6)
    analytic = (F.softmax(Z, 1) - Y) / N
    np.testing.assert_allclose(numerical["Z"], analytic, atol=1e-8)

    numerical = numerical_gradients(
        lambda: F.multiple_binary_cross_entropy(Y, F.sigmoid(Z), 1), params, 1e-6
    )
    np.testing.assert_allclose(numerical["Z"], (F.sigmoid(Z) - Y) / K / N, atol=1e-8)
    numerical = numerical_gradients(
        lambda: F.multiple_binary_cross_entropy_with_logits(Y, Z, 1), params, 1e-6
    )
    np.testing.assert_allclose(numerical["Z"], (F.sigmoid(Z) - Y) / K / N, atol=1e-8)


def test_l2_gradient_matches_finite_differences_and_not_half_of_it():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))
    lam = 0.7
    numerical = numerical_gradients(lambda: lam * F.l2_penalty(w), {"w": w})
    np.testing.assert_allclose(F.l2_gradient(w, lam), numerical["w"], rtol=1e-9)
    assert not np.allclose(lam * w, numerical["w"], rtol=1e-3)


# ----------------------------------------------------------------------------- stability


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_scores_are_finite_and_exact(dtype):
    z = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = F.sigmoid(z)
        ls = F.log_sigmoid(z)
        S = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
        P = F.softmax(S, axis=1)
        LP = F.log_softmax(S, axis=1)
    assert s[0] == 0 and s[-1] == 1 and s[2] == 0.5
    assert ls[0] == -1e4 and ls[-1] == 0
    np.testing.assert_array_equal(P[0], [1, 0, 0])
    np.testing.assert_allclose(P[1], 1 / 3, rtol=1e-6)
    assert np.isfinite(LP).all() and LP[0, 1] == -2e4
    y = np.array([0, 1, 0, 1, 0], dtype=dtype)
    # y=0 with z=1e4 costs 1e4 (the exact value), from logits
    assert F.binary_cross_entropy_with_logits(y, z) == pytest.approx(
        (1e4 + 50 + math.log(2)) / 5, rel=1e-6
    )
    Y = np.array([[0, 1, 0], [1, 0, 0]], dtype=dtype)
    assert F.cross_entropy_with_logits(Y, S, axis=1) == pytest.approx(
        (2e4 + math.log(3)) / 2, rel=1e-6
    )
    # one image (row), K = 5 classes: the terms are 0, 50, log 2, 50 + ~2e-22 and 1e4
    assert F.multiple_binary_cross_entropy_with_logits(y[None, :], z[None, :], axis=1) == (
        pytest.approx((1e4 + 50 + math.log(2)) / 5, rel=1e-6))


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_of_scores_are_exact_where_the_probabilities_saturate(dtype):
    """Scores of +-800: sigmoid and softmax round to exactly 0 or 1 in both dtypes (exp(-800)
    underflows even in float64), so the losses of the probabilities clip log(0) at log(tiny)
    (708 or 87.3), while the losses of the scores keep the exact value, 800 or 1600 per wrong
    image."""
    y = np.array([[1], [0], [0], [1]])
    z = np.array([[-800], [800], [-800], [800]], dtype=dtype)  # two wrong by a margin of 800
    Y = np.array([[1, 0, 0], [0, 1, 0]])
    S = np.array([[-800, 800, 0], [-800, 800, 0]], dtype=dtype)  # the first wrong by 1600
    big = -math.log(np.finfo(dtype).tiny)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert F.binary_cross_entropy_with_logits(y, z) == pytest.approx(800 * 2 / 4, rel=1e-6)
        assert F.binary_cross_entropy(y, F.sigmoid(z)) == pytest.approx(big * 2 / 4, rel=1e-6)
        assert F.multiple_binary_cross_entropy_with_logits(y.T, z.T, axis=0) == pytest.approx(
            800 * 2 / 4, rel=1e-6)
        assert F.cross_entropy_with_logits(Y, S, axis=1) == pytest.approx(1600 / 2, rel=1e-6)
        assert F.cross_entropy(Y, F.softmax(S, 1), axis=1) == pytest.approx(big / 2, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_probabilities_that_round_to_zero_or_one_give_finite_losses(dtype):
    p = np.array([[0.0], [1.0], [0.0], [1.0]], dtype=dtype)
    y = np.array([[1.0], [0.0], [0.0], [1.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        bce = F.binary_cross_entropy(y, p)
        ce = F.cross_entropy(np.array([[1, 0]]), np.array([[0.0, 1.0]], dtype=dtype), axis=1)
        mbce = F.multiple_binary_cross_entropy(y, p, axis=1)
    big = -math.log(np.finfo(dtype).tiny)  # the documented clip: about 708 or 87
    assert bce == pytest.approx(big / 2, rel=1e-6)
    assert ce == pytest.approx(big, rel=1e-6)
    assert np.isfinite(mbce)
    assert F.safe_log(np.array([0.5], dtype=dtype))[0] == np.log(dtype(0.5))  # no clip here


# ----------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_is_preserved(dtype):
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(5, 3)).astype(dtype)
    Y = F.one_hot(np.array([0, 1, 2, 1, 0]), 3)  # float64 targets must not upcast
    y = np.array([[0], [1], [1], [0], [1]])  # integer targets neither
    for out in (
        F.sigmoid(Z),
        F.log_sigmoid(Z),
        F.softmax(Z, 1),
        F.log_softmax(Z, 0),
        F.safe_log(F.sigmoid(Z)),
        F.binary_cross_entropy_terms(Y, F.sigmoid(Z)),
        F.binary_cross_entropy(y, F.sigmoid(Z[:, :1])),
        F.binary_cross_entropy_with_logits(y, Z[:, :1]),
        F.cross_entropy(Y, F.softmax(Z, 1), 1),
        F.cross_entropy_with_logits(Y, Z, 1),
        F.multiple_binary_cross_entropy(Y, F.sigmoid(Z), 1),
        F.binary_cross_entropy_with_logits_terms(Y, Z),
        F.multiple_binary_cross_entropy_with_logits(Y, Z, 1),
        F.l2_penalty(Z),
        F.l2_gradient(Z, np.float64(0.3)),
    ):
        assert out.dtype == dtype


def test_integer_scores_become_float64():
    assert F.sigmoid(np.array([0, 1])).dtype == np.float64
    assert F.softmax(np.array([[0, 1]]), 1).dtype == np.float64


# ----------------------------------------------------------------------------- no torch


def test_numpy_impl_never_imports_torch():
    code = (
        "import importlib, pkgutil, sys\n"
        "import numpy_impl\n"
        "for m in pkgutil.iter_modules(numpy_impl.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module(f'numpy_impl.{m.name}')\n"
        "for name in ('torch', 'pytorch_lightning', 'tensorflow'):\n"
        "    assert name not in sys.modules, f'{name} was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_keeps_the_digits_of_a_small_probability(dtype: type) -> None:
    """ln(1 - p) for small p to a few ulps of the dtype (1 - p would round away most of them:
    float32, p = 1.68e-4 gave a relative error of 1e-4), and the clip where p rounded to 1."""
    p = np.array([[1.68e-4], [3e-7], [0.25], [0.5], [1.0]], dtype=dtype)
    y = np.zeros_like(p)
    got = F.binary_cross_entropy_terms(y, p)
    exact = -np.log1p(-p[:-1].astype(np.float64))
    assert got.dtype == dtype
    np.testing.assert_allclose(got[:-1], exact, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert got[-1, 0] == -np.log(np.finfo(dtype).tiny)  # p = 1: the package's one clip
