"""The maths both texts share, written once: activations, losses, L2 and the SGD update.

Conventions
-----------
* ``axis`` is the class axis: 1 for TDT4265 (one row per sample, ``(N, K)``), 0 for DD2424
  (one column per sample, ``(K, n)``). Losses average over the other axis.
* Every function keeps the dtype of its floating inputs: float32 in, float32 out. Targets are
  0/1 labels, so they are cast to the dtype of the predictions (exactly) instead of being allowed
  to upcast a float32 computation.
* Stability: activations and log-activations never form ``exp`` of a large positive number, so
  scores of +-1e4 give finite, exact-as-possible results. Losses computed from *probabilities*
  go through :func:`safe_log`, the one documented clip of the package. The trainers compute
  every loss they record from the scores instead (the ``*_with_logits`` losses), where nothing
  is clipped; the probability versions are the texts' own API.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def _float(x: np.ndarray) -> np.ndarray:
    """``x`` as a floating array; integer input becomes float64, float input keeps its dtype."""
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _like(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Targets in the dtype of the predictions (0/1 labels, so the cast is exact)."""
    return np.asarray(targets).astype(predictions.dtype, copy=False)


# ----------------------------------------------------------------------------- activations


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, TDT4265 eq. 1 and DD2424 eq. 12: ``1 / (1 + exp(-z))``, elementwise.

    Evaluated through ``e = exp(-|z|)`` (never overflows): ``1 / (1 + e)`` for z >= 0 and the
    algebraically equal ``e / (1 + e)`` for z < 0, so sigmoid(-1e4) is 0 and sigmoid(1e4) is 1
    without overflow warnings, and small outputs keep their relative precision.
    """
    z = _float(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(sigmoid(z)) = min(z, 0) - log1p(exp(-|z|))``, elementwise and overflow-free.

    ``log(1 - sigmoid(z))`` is ``log_sigmoid(-z)``.
    """
    z = _float(z)
    return np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))


def softmax(S: np.ndarray, axis: int) -> np.ndarray:
    """SOFTMAX along ``axis``, TDT4265 eq. 4 and DD2424 eq. 3: ``exp(s) / 1^T exp(s)``.

    The maximum score is subtracted first (softmax is shift-invariant), so no exponent is
    positive and scores of +-1e4 give exact 0/1 probabilities instead of inf/inf.
    """
    S = _float(S)
    E = np.exp(S - S.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def log_softmax(S: np.ndarray, axis: int) -> np.ndarray:
    """``log(softmax(S))`` along ``axis`` as ``S - max - log(sum(exp(S - max)))`` (finite for any
    finite scores; a probability that underflows to 0 still has its exact log here)."""
    S = _float(S)
    shifted = S - S.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# ----------------------------------------------------------------------------- losses


def safe_log(p: np.ndarray) -> np.ndarray:
    """``log(p)`` for probabilities, with the package's one clip: ``p`` is raised to at least
    the smallest normal number of its dtype (``np.finfo(dtype).tiny``).

    Only probabilities that rounded to 0 (or are subnormal) are changed, so the loss of a
    prediction that rounded to 0 (or, through ``1 - p``, to 1) is large but finite: about 708
    in float64 and 87 in float32, instead of ``inf`` and, after ``0 * inf``, ``nan``.
    Where logits are at hand, the ``*_with_logits`` losses avoid the clip altogether.
    """
    p = _float(p)
    return np.log(np.maximum(p, np.finfo(p.dtype).tiny))


def binary_cross_entropy_terms(targets: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Elementwise ``-(y ln p + (1 - y) ln(1 - p))``: TDT4265 eq. 3's C^n and each term of
    DD2424 eq. 14. Same shape as ``probs``."""
    p = _float(probs)
    y = _like(targets, p)
    return -(y * safe_log(p) + (1 - y) * safe_log1m(p))


def safe_log1m(p: np.ndarray) -> np.ndarray:
    """``log(1 - p)`` for probabilities, with :func:`safe_log`'s clip on ``1 - p``, computed as
    ``log1p(-p)``: ``1 - p`` would round away the digits of a small p (in float32, p = 1e-4
    loses the loss's fourth digit), log1p keeps them. ``1 - p`` is exact for p >= 1/2, so the
    clip applies exactly where it did: where p rounded to 1."""
    p = _float(p)
    tiny = np.finfo(p.dtype).tiny
    with np.errstate(divide="ignore", invalid="ignore"):  # log1p(-1): the clipped entries
        return np.where(1 - p >= tiny, np.log1p(-p), np.log(tiny)).astype(p.dtype, copy=False)


def binary_cross_entropy(targets: np.ndarray, probs: np.ndarray) -> np.floating:
    """TDT4265 eq. 3: the mean of :func:`binary_cross_entropy_terms` over the batch.

    ``targets`` and ``probs`` have shape (N, 1) (or (N,)); returns a scalar of probs' dtype.
    """
    return binary_cross_entropy_terms(targets, probs).mean()


def binary_cross_entropy_with_logits_terms(targets: np.ndarray,
                                           logits: np.ndarray) -> np.ndarray:
    """:func:`binary_cross_entropy_terms` of ``p = sigmoid(z)`` from the scores z, using
    ``ln p = log_sigmoid(z)`` and ``ln(1 - p) = log_sigmoid(-z)``: exact for any finite z, no
    clipping (a p that rounds to 0 or 1 has lost the information the loss needs). Same shape
    as ``logits``."""
    z = _float(logits)
    y = _like(targets, z)
    return -(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z))


def binary_cross_entropy_with_logits(targets: np.ndarray, logits: np.ndarray) -> np.floating:
    """TDT4265 eq. 3 from the scores z (p = sigmoid(z)): the mean of
    :func:`binary_cross_entropy_with_logits_terms` over the batch."""
    return binary_cross_entropy_with_logits_terms(targets, logits).mean()


def cross_entropy(targets: np.ndarray, probs: np.ndarray, axis: int) -> np.floating:
    """Categorical cross-entropy, TDT4265 eq. 5 = DD2424 eq. 5-6 (the loss part):
    ``mean_n( -sum_k y_k ln p_k )`` with one-hot ``targets`` (the text's note:
    ``-y^T log(p) = -log(p_y)``). ``axis`` is the class axis."""
    p = _float(probs)
    y = _like(targets, p)
    return -(y * safe_log(p)).sum(axis=axis).mean()


def cross_entropy_with_logits(targets: np.ndarray, scores: np.ndarray, axis: int) -> np.floating:
    """:func:`cross_entropy` of ``softmax(scores, axis)``, through :func:`log_softmax`."""
    S = _float(scores)
    y = _like(targets, S)
    return -(y * log_softmax(S, axis)).sum(axis=axis).mean()


def multiple_binary_cross_entropy(targets: np.ndarray, probs: np.ndarray,
                                  axis: int) -> np.floating:
    """DD2424 eq. 14 averaged over the batch: ``mean_n( (1/K) sum_k bce(y_k, p_k) )`` where
    ``p = sigmoid(s)`` (eq. 13) and ``axis`` is the class axis (K entries)."""
    return binary_cross_entropy_terms(targets, probs).mean(axis=axis).mean()


def multiple_binary_cross_entropy_with_logits(targets: np.ndarray, logits: np.ndarray,
                                              axis: int) -> np.floating:
    """:func:`multiple_binary_cross_entropy` of ``p = sigmoid(s)`` from the scores s, through
    :func:`binary_cross_entropy_with_logits_terms` (exact for any finite s)."""
    return binary_cross_entropy_with_logits_terms(targets, logits).mean(axis=axis).mean()


# ----------------------------------------------------------------------------- L2, SGD, labels


def l2_penalty(w: np.ndarray) -> np.floating:
    """R(w) = ||w||^2 = sum_ij w_ij^2: TDT4265 eq. 10 and the regulariser of DD2424 eq. 5."""
    return np.sum(w * w)


def cost(loss: np.floating | float, w: np.ndarray, lam: float) -> np.floating:
    """The cost of both texts, ``J = loss + lam * R(w)`` with ``R(w) = ||w||^2`` (TDT4265 eq. 9-10,
    DD2424 eq. 5; no 1/2). ``w`` is every regularised weight: TDT4265's whole w (bias row
    included), DD2424's W (not b)."""
    # float(lam): a NumPy float64 scalar would upcast a float32 loss (NEP 50).
    return loss + float(lam) * l2_penalty(w)


def l2_gradient(w: np.ndarray, lam: float) -> np.ndarray:
    """Gradient of ``lam * ||w||^2``: ``2 * lam * w`` (TDT4265 task 4a, DD2424 eq. 10).

    Some solutions in circulation use ``lam * w``, the gradient of ``lam/2 * ||w||^2``; both texts
    write the penalty without the 1/2, so we keep the 2.
    """
    # float(lam): a NumPy float64 scalar would upcast a float32 w (NEP 50); a Python float does not.
    return 2 * float(lam) * w


def sgd_update(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """One gradient-descent step in place, DD2424 eq. 8-9: ``theta <- theta - eta * dJ/dtheta``.

    In place so that every holder of the arrays (a model, a params dict, a gradient check) sees
    the update, and so that a float32 parameter stays float32.
    """
    for name, g in grads.items():
        params[name] -= float(lr) * g


def one_hot(labels: np.ndarray, num_classes: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Integer labels of shape (n,) -> one-hot rows of shape (n, num_classes) (e.g.
    ``3 -> [0, 0, 0, 1, 0, ...]``, TDT4265 task 3)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}"
        )
    return np.eye(num_classes, dtype=dtype)[labels]
