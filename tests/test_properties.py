"""Property-based tests: every loss, cost and gradient of both texts against PyTorch.

Hypothesis draws the batch size (1 included), the number of classes, the dtype (float32 and
float64), lambda, and the kind of scores: ordinary, extreme (+-1e4, so probabilities round
to 0 or 1), or all equal; targets may hold a single class. Each result must be finite and
equal to the reference PyTorch computes in float64 from the very same inputs (losses with
torch.nn.functional, gradients with autograd of J = loss + lam * ||W||^2), to 1e-10 (float64)
or 1e-4 (float32) of the reference's largest element. For a gradient the scale is at least
the largest input |x|: its terms are (p - y) x, and p - y cancels where p is near y (float32
resolves 1 - p only to 6e-8, so a gradient of 1e-6 is known only to a few per cent), which is
the precision of the text's formula in that dtype and no error of the implementation.

The probability-based losses clip ``log p`` at the dtype's smallest normal number
(numpy_impl.functional.safe_log); their reference applies the same clip with ``torch.clamp``,
which changes nothing unless a probability rounded to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

from numpy_impl import dd2424, tdt4265

TOLERANCE = {np.float32: 1e-4, np.float64: 1e-10}
SCORE_KINDS = ("ordinary", "extreme", "equal")
EXTREME = 1e4


@dataclass(frozen=True)
class Case:
    """One drawn example: the sizes, dtype, lambda, kind of scores and targets, and a seed."""

    n: int
    k: int
    dtype: type
    lam: float
    scores: str
    one_class: bool
    seed: int

    @property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


cases = st.builds(
    Case,
    n=st.integers(1, 8),
    k=st.integers(2, 10),
    dtype=st.sampled_from([np.float32, np.float64]),
    lam=st.sampled_from([0.0, 1e-3, 0.5]),
    scores=st.sampled_from(SCORE_KINDS),
    one_class=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)


def draw_scores(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """Scores of ``case.scores`` kind: normal * 5, +-1e4 mixed with ordinary ones, or one
    value everywhere."""
    rng = case.rng
    if case.scores == "equal":
        s = np.full(shape, rng.normal())
    elif case.scores == "extreme":
        s = np.where(rng.random(shape) < 0.7, rng.choice([-EXTREME, EXTREME], shape),
                     rng.normal(size=shape))
    else:
        s = 5 * rng.normal(size=shape)
    return s.astype(case.dtype)


def draw_labels(case: Case, n: int, k: int) -> np.ndarray:
    """n integer labels in 0..k-1, all the same one when ``case.one_class``."""
    rng = np.random.default_rng(case.seed + 1)
    if case.one_class:
        return np.full(n, rng.integers(k))
    return rng.integers(0, k, n)


def t(a: np.ndarray | float) -> torch.Tensor:
    """The exact float64 tensor of a NumPy array (float32 values are representable)."""
    return torch.tensor(np.asarray(a, dtype=np.float64))


def clipped_log(p: torch.Tensor, dtype: type) -> torch.Tensor:
    """``log p`` with safe_log's clip (p at least the dtype's smallest normal number)."""
    return torch.log(torch.clamp(p, min=float(np.finfo(dtype).tiny)))


def assert_matches(got: np.ndarray | np.floating, ref: torch.Tensor, dtype: type,
                   scale: float = 0.0) -> None:
    """``got`` is finite, of ``dtype``, and within the dtype's tolerance of ``ref``, relative
    to ``ref``'s largest element or ``scale``, whichever is larger."""
    got_arr = np.asarray(got)
    assert got_arr.dtype == dtype, got_arr.dtype
    assert np.isfinite(got_arr).all(), got_arr
    expected = ref.detach().numpy()
    assert got_arr.shape == expected.shape
    scale = max(float(np.abs(expected).max()), scale, float(np.finfo(dtype).tiny))
    np.testing.assert_allclose(got_arr, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


# ------------------------------------------------------------------------------ TDT4265


def binary_targets(case: Case) -> np.ndarray:
    """(N, 1) targets in {0, 1}."""
    return (draw_labels(case, case.n, 2)[:, None]).astype(case.dtype)


def one_hot_targets(case: Case) -> np.ndarray:
    """(N, K) one-hot targets."""
    return np.eye(case.k, dtype=case.dtype)[draw_labels(case, case.n, case.k)]


@given(cases)
def test_tdt4265_binary_losses(case: Case) -> None:
    z = draw_scores(case, (case.n, 1))
    y = binary_targets(case)
    ref = TF.binary_cross_entropy_with_logits(t(z), t(y))
    assert_matches(tdt4265.binary_cross_entropy_loss_with_logits(y, z), ref, case.dtype)
    probs = torch.sigmoid(t(z)).numpy().astype(case.dtype)
    ref_p = -(t(y) * clipped_log(t(probs), case.dtype)
              + (1 - t(y)) * clipped_log(1 - t(probs), case.dtype)).mean()
    assert_matches(tdt4265.binary_cross_entropy_loss(y, probs), ref_p, case.dtype)


@given(cases)
def test_tdt4265_softmax_losses(case: Case) -> None:
    z = draw_scores(case, (case.n, case.k))
    y = one_hot_targets(case)
    labels = torch.tensor(y.argmax(axis=1))
    ref = TF.cross_entropy(t(z), labels)
    assert_matches(tdt4265.cross_entropy_loss_with_logits(y, z), ref, case.dtype)
    probs = TF.softmax(t(z), dim=1).numpy().astype(case.dtype)
    ref_p = TF.nll_loss(clipped_log(t(probs), case.dtype), labels)
    assert_matches(tdt4265.cross_entropy_loss(y, probs), ref_p, case.dtype)


def tdt4265_inputs(case: Case, k: int) -> tuple[np.ndarray, np.ndarray]:
    """X (N, 785) in [-1, 1] with the bias 1 last, and w (785, k) scaled so that the scores
    X w are of the case's kind (all equal: w = 0)."""
    rng = case.rng
    X = np.hstack([rng.uniform(-1, 1, (case.n, 784)), np.ones((case.n, 1))])
    scale = {"ordinary": 0.2, "extreme": 1e3, "equal": 0.0}[case.scores]
    w = scale * rng.normal(size=(785, k))
    return X.astype(case.dtype), w.astype(case.dtype)


@pytest.mark.parametrize("model_class", [tdt4265.BinaryModel, tdt4265.SoftmaxModel])
@given(case=cases)
def test_tdt4265_backward(model_class: type, case: Case) -> None:
    binary = model_class is tdt4265.BinaryModel
    k = 1 if binary else 10
    X, w = tdt4265_inputs(case, k)
    y = binary_targets(case) if binary else np.eye(k, dtype=case.dtype)[
        draw_labels(case, case.n, k)]
    model = model_class(l2_reg_lambda=case.lam, dtype=case.dtype)
    model.w = w
    model.backward(X, model.forward(X), y)

    w_t = t(w).requires_grad_()
    z = t(X) @ w_t
    loss = (TF.binary_cross_entropy_with_logits(z, t(y)) if binary
            else TF.cross_entropy(z, torch.tensor(y.argmax(axis=1))))
    (loss + case.lam * (w_t**2).sum()).backward()
    assert_matches(model.grad, w_t.grad, case.dtype, scale=float(np.abs(X).max()))


# ------------------------------------------------------------------------------- DD2424


def dd2424_inputs(case: Case) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """X (d, n) and a network W (K, d), b (K, 1) whose scores are of the case's kind."""
    rng = case.rng
    d = int(rng.integers(1, 20))
    X = rng.normal(size=(d, case.n))
    scale = {"ordinary": 1.0, "extreme": 1e4, "equal": 0.0}[case.scores]
    W = scale * rng.normal(size=(case.k, d))
    b = scale * rng.normal(size=(case.k, 1))
    return X.astype(case.dtype), {"W": W.astype(case.dtype), "b": b.astype(case.dtype)}


@given(cases)
def test_dd2424_losses_and_cost(case: Case) -> None:
    S = draw_scores(case, (case.k, case.n))
    y = draw_labels(case, case.n, case.k)
    W = case.rng.normal(size=(case.k, 3)).astype(case.dtype)
    labels = torch.tensor(y)
    assert_matches(dd2424.compute_loss_with_logits(S, y), TF.cross_entropy(t(S).T, labels),
                   case.dtype)
    P = TF.softmax(t(S), dim=0).numpy().astype(case.dtype)
    ref = TF.nll_loss(clipped_log(t(P), case.dtype).T, labels)
    assert_matches(dd2424.compute_loss(P, y), ref, case.dtype)
    ref_cost = ref + case.lam * (t(W) ** 2).sum()
    assert_matches(dd2424.compute_cost(P, y, {"W": W}, case.lam), ref_cost, case.dtype)


@given(cases)
def test_dd2424_multiple_bce_losses_and_cost(case: Case) -> None:
    S = draw_scores(case, (case.k, case.n))
    Y = np.eye(case.k, dtype=case.dtype)[draw_labels(case, case.n, case.k)].T
    W = case.rng.normal(size=(case.k, 3)).astype(case.dtype)
    ref = TF.binary_cross_entropy_with_logits(t(S), t(Y))  # the mean over K and n
    assert_matches(dd2424.compute_loss_multiple_bce_with_logits(S, Y), ref, case.dtype)
    P = torch.sigmoid(t(S)).numpy().astype(case.dtype)
    ref_p = -(t(Y) * clipped_log(t(P), case.dtype)
              + (1 - t(Y)) * clipped_log(1 - t(P), case.dtype)).mean()
    assert_matches(dd2424.compute_loss_multiple_bce(P, Y), ref_p, case.dtype)
    ref_cost = ref_p + case.lam * (t(W) ** 2).sum()
    assert_matches(dd2424.compute_cost_multiple_bce(P, Y, {"W": W}, case.lam), ref_cost,
                   case.dtype)


@pytest.mark.parametrize("multiple_bce", [False, True])
@given(case=cases)
def test_dd2424_backward(multiple_bce: bool, case: Case) -> None:
    X, network = dd2424_inputs(case)
    y = draw_labels(case, case.n, case.k)
    Y = np.eye(case.k, dtype=case.dtype)[y].T
    if multiple_bce:
        P = dd2424.apply_network_sigmoid(X, network)
        grads = dd2424.backward_pass_multiple_bce(X, Y, P, network, case.lam)
    else:
        P = dd2424.apply_network(X, network)
        grads = dd2424.backward_pass(X, Y, P, network, case.lam)

    W, b = t(network["W"]).requires_grad_(), t(network["b"]).requires_grad_()
    S = W @ t(X) + b
    loss = (TF.binary_cross_entropy_with_logits(S, t(Y)) if multiple_bce
            else TF.cross_entropy(S.T, torch.tensor(y)))
    (loss + case.lam * (W**2).sum()).backward()
    assert_matches(grads["W"], W.grad, case.dtype, scale=float(np.abs(X).max()))
    assert_matches(grads["b"], b.grad, case.dtype, scale=1.0)  # its terms p - y lie in [-1, 1]
