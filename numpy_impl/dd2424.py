"""DD2424 Assignment 1 in the text's conventions.

One column per image: ``X`` is (d, n), one-hot labels ``Y`` are (K, n), integer labels ``y``
are (n,); the network is a dict with ``W`` (K, d) and ``b`` (K, 1), so the scores are
``s = W x + b`` (eq. 1). The maths lives in :mod:`numpy_impl.functional`; the random draws
(initialisation, permutations, flips) in :mod:`numpy_impl.draws`.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from numpy_impl import draws
from numpy_impl import functional as F
from numpy_impl.steps import (
    OnStep,
    Position,
    StepRecord,
    TrainerState,
    ValidationRecord,
    copies,
)

K_CIFAR = 10
IMAGE_SHAPES = {3072: (32, 32, 3), 784: (28, 28, 1)}  # d -> (height, width, channels)

make_rng = draws.make_rng


def init_network(K: int, d: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Top-level step 3: ``W = .01 * N(0, 1)`` (K, d), drawn before ``b = 0`` (K, 1)."""
    return draws.init_dd2424(K, d, rng)


# ----------------------------------------------------------------------------- data


def batch_arrays(data: np.ndarray, labels: np.ndarray, dtype: DTypeLike = np.float64
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images as rows of uint8 (n, d) and their labels -> the text's ``(X, Y, y)``.

    X: (d, n) in [0, 1] (one column per image); Y: (K, n) one-hot, same dtype as X;
    y: (n,) integer labels 0..9.
    """
    X = data.T.astype(dtype)
    X /= 255  # in place: a second 10,000 x 3,072 array costs more (page faults) than dividing
    Y = F.one_hot(labels, K_CIFAR, X.dtype).T
    return X, Y, labels


def load_batch(path: str | PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exercise 1.1, LoadBatch: a CIFAR-10 batch file -> ``(X, Y, y)`` (see batch_arrays)."""
    from numpy_impl.data import load_cifar_batch  # the file format is data.py's business

    return batch_arrays(*load_cifar_batch(path))


#: Rows (dimensions) per block in :func:`mean_std`.
STATS_BLOCK = 128


def mean_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2: the per-dimension mean and standard deviation of the training data, each (d, 1).

    Computed STATS_BLOCK dimensions at a time: each row's reduction is the same as over the
    whole array (bit for bit), but ``std`` then needs a (STATS_BLOCK, n) temporary instead of a
    copy of X (1.2 GB for all five CIFAR-10 batches), and the blocks stay in cache.
    """
    blocks = [X[i:i + STATS_BLOCK] for i in range(0, X.shape[0], STATS_BLOCK)]
    return (np.concatenate([b.mean(axis=1, keepdims=True) for b in blocks]),
            np.concatenate([b.std(axis=1, keepdims=True) for b in blocks]))


def normalize(X: np.ndarray, mean: np.ndarray, std: np.ndarray, in_place: bool = False
              ) -> np.ndarray:
    """Step 2: ``(X - mean_X) / std_X`` per dimension, with the TRAINING mean and std.

    A dimension that is constant over the training set (std 0, e.g. MNIST's border pixels)
    is divided by 1 instead: it stays 0 after centring rather than becoming nan. CIFAR-10 has
    no such dimension, so the text's recipe is unchanged there. ``in_place``: X itself becomes
    the result (the training set, which nothing else holds: no second copy of it).
    """
    Z = np.subtract(X, mean, out=X if in_place else None)
    Z /= np.where(std > 0, std, 1)  # in place, as batch_arrays: one new array, not two
    return Z


def take_columns(A: np.ndarray, columns: np.ndarray | slice) -> np.ndarray:
    """``A[:, columns]``. For a column-major A (the splits' layout: each image a contiguous
    column) it is taken as rows of ``A.T``, whole columns at a time, 2-3x faster than the
    element-wise gather; the result is the same array in the same (column-major) layout."""
    if A.flags.f_contiguous and not A.flags.c_contiguous:
        return A.T[columns].T
    return A[:, columns]


def labels_of(Y: np.ndarray) -> np.ndarray:
    """One-hot (K, n) -> integer labels (n,)."""
    return np.asarray(Y).argmax(axis=0)


# ----------------------------------------------------------------------------- softmax network


def scores(X: np.ndarray, network: dict[str, np.ndarray]) -> np.ndarray:
    """Eq. 1 for every column: ``S = W X + b``, (K, n)."""
    return network["W"] @ X + network["b"]


def softmax_of_scores(S: np.ndarray) -> np.ndarray:
    """Eq. 2-3 for every column of the scores S (K, n): ``P = SOFTMAX(S)``."""
    return F.softmax(S, axis=0)


def apply_network(X: np.ndarray, network: dict[str, np.ndarray]) -> np.ndarray:
    """ApplyNetwork, eq. 1-3: ``P = SOFTMAX(W X + b)`` column by column, (K, n)."""
    return softmax_of_scores(scores(X, network))


def compute_loss(P: np.ndarray, y: np.ndarray) -> np.floating:
    """ComputeLoss, eq. 6 averaged over the images: ``mean(-log p_y)`` (= ``-y^T log p`` with
    one-hot y, the text's note). P: (K, n); y: (n,) integer labels."""
    return F.cross_entropy(F.one_hot(y, P.shape[0], P.dtype).T, P, axis=0)


def compute_cost(P: np.ndarray, y: np.ndarray, network: dict[str, np.ndarray],
                 lam: float) -> np.floating:
    """Eq. 5: ``J = loss + lam * sum_ij W_ij^2`` (b is not regularised)."""
    return F.cost(compute_loss(P, y), network["W"], lam)


def compute_loss_with_logits(S: np.ndarray, y: np.ndarray) -> np.floating:
    """:func:`compute_loss` of ``P = SOFTMAX(S)`` from the scores S = W X + b (eq. 1), through
    ``log p = log_softmax(s)``: exact where p underflows to 0, which ``compute_loss`` must clip.
    S: (K, n); y: (n,) integer labels. The loss the trainer records."""
    return F.cross_entropy_with_logits(F.one_hot(y, S.shape[0], S.dtype).T, S, axis=0)


def compute_accuracy(P: np.ndarray, y: np.ndarray) -> float:
    """ComputeAccuracy: the fraction (in [0, 1]) of columns whose argmax (eq. 4) is the label."""
    return float(np.mean(P.argmax(axis=0) == np.asarray(y)))


def linear_gradients(X: np.ndarray, G: np.ndarray, network: dict[str, np.ndarray],
                     lam: float) -> dict[str, np.ndarray]:
    """Eq. 10-11 given ``G = dl/ds`` for each image (K, n): the batch means
    ``dJ/dW = G X^T / n + 2 lam W`` and ``dJ/db = G 1 / n`` (b is not regularised)."""
    n = X.shape[1]
    return {
        "W": G @ X.T / n + F.l2_gradient(network["W"], lam),
        "b": G.sum(axis=1, keepdims=True) / n,
    }


def backward_pass(X: np.ndarray, Y: np.ndarray, P: np.ndarray, network: dict[str, np.ndarray],
                  lam: float) -> dict[str, np.ndarray]:
    """BackwardPass: gradients of the cost (eq. 5) w.r.t. W (K, d) and b (K, 1), eq. 10-11.

    For softmax + cross-entropy ``dl/ds = p - y`` for each image (Lecture 3's last slide).
    """
    G = P - np.asarray(Y).astype(P.dtype, copy=False)
    return linear_gradients(X, G, network, lam)


# ----------------------------------------------------------------------------- multiple BCE


def apply_network_sigmoid(X: np.ndarray, network: dict[str, np.ndarray]) -> np.ndarray:
    """Exercise 2.2, eq. 12-13: ``P = sigmoid(W X + b)`` elementwise, (K, n); columns need not
    sum to 1."""
    return sigmoid_of_scores(scores(X, network))


def sigmoid_of_scores(S: np.ndarray) -> np.ndarray:
    """Eq. 13 for every entry of the scores S (K, n): ``P = sigmoid(S)``."""
    return F.sigmoid(S)


def compute_loss_multiple_bce(P: np.ndarray, Y: np.ndarray) -> np.floating:
    """Eq. 14 averaged over the images: ``mean_n( -(1/K) sum_k [(1-y_k) log(1-p_k) +
    y_k log p_k] )``. P, Y: (K, n)."""
    return F.multiple_binary_cross_entropy(Y, P, axis=0)


def compute_loss_multiple_bce_with_logits(S: np.ndarray, Y: np.ndarray) -> np.floating:
    """:func:`compute_loss_multiple_bce` of ``P = sigmoid(S)`` (eq. 12-13) from the scores
    S = W X + b, through ``log p = log_sigmoid(s)`` and ``log(1 - p) = log_sigmoid(-s)``: exact
    where p rounds to 0 or 1, which ``compute_loss_multiple_bce`` must clip. S, Y: (K, n). The
    loss the trainer records."""
    return F.multiple_binary_cross_entropy_with_logits(Y, S, axis=0)


def compute_cost_multiple_bce(P: np.ndarray, Y: np.ndarray, network: dict[str, np.ndarray],
                              lam: float) -> np.floating:
    """Eq. 5 with the loss of eq. 14: ``loss + lam * sum_ij W_ij^2``."""
    return F.cost(compute_loss_multiple_bce(P, Y), network["W"], lam)


def backward_pass_multiple_bce(X: np.ndarray, Y: np.ndarray, P: np.ndarray,
                               network: dict[str, np.ndarray],
                               lam: float) -> dict[str, np.ndarray]:
    """Gradients of the multiple-BCE cost: ``dl/ds = (p - y) / K`` for each image (each of the K
    sigmoid + BCE terms gives ``p_k - y_k``, and eq. 14 averages them), then eq. 10-11."""
    K = P.shape[0]
    G = (P - np.asarray(Y).astype(P.dtype, copy=False)) / K
    return linear_gradients(X, G, network, lam)


@dataclass(frozen=True)
class Objective:
    """One output/loss pair behind one interface; every function takes one-hot ``Y`` (K, n).

    ``apply``, ``loss``, ``cost`` and ``backward`` follow the text's API (the loss and cost of
    the probabilities ``P = apply(X, network)``). ``loss_from_scores`` is the same loss computed
    from the scores S = W X + b (eq. 1), exact where P rounds to 0 or 1 (float32: |s| > ~17 for
    sigmoid, ~87 behind the maximum for softmax), as the reference computes it; what the trainer
    records, validates on and reports is :meth:`loss_and_cost`, which uses it when it is set.
    An objective with a loss of your own sets ``loss_from_scores=None`` (or its own), so that
    its ``loss`` and ``cost`` of P are what is recorded.

    ``activation`` (optional) is ``apply``'s second half, ``apply(X, net) == activation(S)``
    with S = W X + b: with it the trainer computes S once per batch and set, and takes both P
    and the loss from it (:meth:`forward`). An objective that replaces ``apply`` sets
    ``activation=None`` (or its own), so that its ``apply`` is what runs.
    """

    apply: Callable[[np.ndarray, dict], np.ndarray]
    loss: Callable[[np.ndarray, np.ndarray], np.floating]
    cost: Callable[[np.ndarray, np.ndarray, dict, float], np.floating]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray, dict, float], dict]
    loss_from_scores: Callable[[np.ndarray, np.ndarray], np.floating] | None = None
    activation: Callable[[np.ndarray], np.ndarray] | None = None

    def forward(self, X: np.ndarray, network: dict[str, np.ndarray]
                ) -> tuple[np.ndarray | None, np.ndarray]:
        """``(S, P)``: the scores S = W X + b (eq. 1) and ``P = activation(S)`` from ONE product
        when ``activation`` is set; else ``(None, apply(X, network))``."""
        if self.activation is None:
            return None, self.apply(X, network)
        S = scores(X, network)
        return S, self.activation(S)

    def loss_and_cost(self, X: np.ndarray, Y: np.ndarray, network: dict[str, np.ndarray],
                      lam: float, P: np.ndarray | None = None, S: np.ndarray | None = None
                      ) -> tuple[np.floating, np.floating]:
        """The data loss and the cost J of ``network`` on X (d, n), Y (K, n): from the scores
        (``S`` if given, else ``W X + b``) through ``loss_from_scores`` when it is set, else
        ``loss`` and ``cost`` of ``P`` (``apply(X, network)`` unless given)."""
        if self.loss_from_scores is None:
            P = self.apply(X, network) if P is None else P
            return self.loss(P, Y), self.cost(P, Y, network, lam)
        loss = self.loss_from_scores(scores(X, network) if S is None else S, Y)
        return loss, F.cost(loss, network["W"], lam)


# The softmax functions with one-hot Y, as Objective takes them.
def _compute_loss_one_hot(P: np.ndarray, Y: np.ndarray) -> np.floating:
    return compute_loss(P, labels_of(Y))


def _compute_cost_one_hot(P: np.ndarray, Y: np.ndarray, network: dict[str, np.ndarray],
                          lam: float) -> np.floating:
    return compute_cost(P, labels_of(Y), network, lam)


def _compute_loss_one_hot_from_scores(S: np.ndarray, Y: np.ndarray) -> np.floating:
    return compute_loss_with_logits(S, labels_of(Y))


OBJECTIVES: dict[str, Objective] = {
    "softmax": Objective(
        apply=apply_network,
        loss=_compute_loss_one_hot,
        cost=_compute_cost_one_hot,
        backward=backward_pass,
        loss_from_scores=_compute_loss_one_hot_from_scores,
        activation=softmax_of_scores,
    ),
    "multiple_bce": Objective(
        apply=apply_network_sigmoid,
        loss=compute_loss_multiple_bce,
        cost=compute_cost_multiple_bce,
        backward=backward_pass_multiple_bce,
        loss_from_scores=compute_loss_multiple_bce_with_logits,
        activation=sigmoid_of_scores,
    ),
}


# ----------------------------------------------------------------------------- flips


def flip_indices(height: int = 32, width: int = 32, channels: int = 3) -> np.ndarray:
    """Exercise 2.1(b)'s ``inds_flip``, for any image size: ``x[inds]`` mirrors each row of an
    image stored channel-major (all of channel 0 row by row, then channel 1, ...), as CIFAR-10
    rows are. Entry ``c*H*W + r*W + j`` takes the pixel ``c*H*W + r*W + (W-1-j)``.
    Returns a 1-D integer array of length H*W*C (the text's has a trailing axis of 1)."""
    grid = np.arange(channels * height * width).reshape(channels, height, width)
    return grid[:, :, ::-1].reshape(-1)


def _image_shape(d: int) -> tuple[int, int, int]:
    if d not in IMAGE_SHAPES:
        raise ValueError(f"no default image shape for d={d}; pass image_shape=(H, W, C)")
    return IMAGE_SHAPES[d]


def flip_images(X: np.ndarray, mask: np.ndarray, inds: np.ndarray | None = None) -> np.ndarray:
    """A copy of X (d, n) in which every column j with ``mask[j]`` is replaced by ``X[inds, j]``
    (a horizontal flip). ``inds`` defaults to :func:`flip_indices` for CIFAR-10 (d = 3072) or
    MNIST (d = 784). X itself is never modified; the copy keeps its memory order (a batch of
    whole image columns stays column-major)."""
    if inds is None:
        inds = flip_indices(*_image_shape(X.shape[0]))
    columns = np.flatnonzero(mask)
    out = X.copy(order="K")
    out[:, columns] = X[:, columns][inds]
    return out


# ----------------------------------------------------------------------------- training

GD_REQUIRED = ("n_batch", "eta", "n_epochs")
GD_DEFAULTS: dict[str, Any] = {
    "shuffle": True,
    "flip": False,
    "lr_step_epochs": None,
    "lr_plateau_patience": None,
    "image_shape": None,  # (H, W, C) for flips; inferred for d = 3072 or 784
}
LR_DECAY_FACTOR = 0.1
PLATEAU_EPS = 1e-8  # torch's ReduceLROnPlateau skips reductions smaller than this


def _gd_params(gd_params: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(gd_params) - set(GD_REQUIRED) - set(GD_DEFAULTS))
    missing = [k for k in GD_REQUIRED if k not in gd_params]
    if unknown or missing:
        raise ValueError(
            f"gd_params: unknown {unknown}, missing {missing}; "
            f"expected {list(GD_REQUIRED)} and optionally {list(GD_DEFAULTS)}"
        )
    params = {**GD_DEFAULTS, **gd_params}
    if params["lr_step_epochs"] is not None and params["lr_plateau_patience"] is not None:
        raise ValueError("gd_params: choose one of lr_step_epochs and lr_plateau_patience")
    return params


class PlateauDecay:
    """Exercise 2.1(d), "divide eta by 10 when the validation cost plateaus", with exactly the
    semantics of ``torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', factor=0.1,
    patience=p, threshold=0, cooldown=0)``: ``best`` starts at inf; each epoch a cost strictly
    below ``best`` becomes ``best`` and resets the count of bad epochs, any other cost adds one;
    when the count exceeds p, eta is multiplied by 0.1 (unless that changes it by no more than
    1e-8, torch's ``eps``) and the count restarts from 0."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best = np.inf
        self.num_bad_epochs = 0

    def step(self, cost: float, eta: float) -> float:
        """Record one epoch's validation cost; return the eta for the next epoch."""
        if cost < self.best:
            self.best, self.num_bad_epochs = cost, 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            self.num_bad_epochs = 0
            if eta - eta * LR_DECAY_FACTOR > PLATEAU_EPS:
                eta = eta * LR_DECAY_FACTOR
        return eta


def objective_of(loss: str | Objective) -> Objective:
    """``OBJECTIVES[loss]`` for a name; an :class:`Objective` (e.g. your own) as it is."""
    return OBJECTIVES[loss] if isinstance(loss, str) else loss


def evaluate(X: np.ndarray, Y: np.ndarray, network: dict[str, np.ndarray], lam: float,
             loss: str | Objective = "softmax") -> dict[str, float]:
    """Loss and cost (:meth:`Objective.loss_and_cost`) and accuracy (eq. 4) of ``network`` on
    the whole of X (d, n), Y (K, n); one product W X for all three (:meth:`Objective.forward`)."""
    objective = objective_of(loss)
    S, P = objective.forward(X, network)
    data_loss, cost = objective.loss_and_cost(X, Y, network, lam, P, S)
    return {"loss": float(data_loss), "cost": float(cost),
            "accuracy": compute_accuracy(P, labels_of(Y))}


def mini_batch_gd(X: np.ndarray, Y: np.ndarray, gd_params: dict[str, Any],
                  init_network: dict[str, np.ndarray], lam: float, rng: np.random.Generator,
                  X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, *,
                  loss: str | Objective = "softmax", on_step: OnStep | None = None,
                  state: TrainerState | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, list]]:
    """MiniBatchGD, Exercise 1.8 (plus the bonus options): train a deep copy of ``init_network``.

    gd_params: ``n_batch``, ``eta``, ``n_epochs``; optionally ``shuffle`` (True), ``flip``
    (False), ``lr_step_epochs`` (eta / 10 after every k epochs, i.e. torch's StepLR(k, 0.1)),
    ``lr_plateau_patience`` (see :class:`PlateauDecay`; needs X_val), ``image_shape``.
    ``loss``: ``"softmax"`` (eq. 1-6) or ``"multiple_bce"`` (eq. 12-14), or an
    :class:`Objective` of your own. ``on_step`` (optional) receives every record of
    :class:`MiniBatchGD` (a :class:`numpy_impl.steps.StepRecord` after every update and, when
    X_val is given, a :class:`numpy_impl.steps.ValidationRecord` after every epoch);
    ``state=`` a checkpoint (a step record's ``state()``) to resume from (``init_network`` is
    then ignored; ``rng`` is set to the state's epoch), which ends bit for bit as the
    uninterrupted run does.

    Returns ``(trained_network, history)``; history holds one entry per epoch, measured on the
    whole sets after the epoch: ``train_loss``, ``train_cost``, ``train_accuracy`` (and
    ``val_loss``, ``val_cost``, ``val_accuracy`` when X_val is given), and ``eta``, the learning
    rate used during the epoch.
    """
    run = MiniBatchGD(X, Y, gd_params, init_network, lam, rng, X_val, Y_val, loss=loss,
                      state=state)
    for record in run:
        if on_step is not None:
            on_step(record)
    return run.network, run.history


class MiniBatchGD:
    """:func:`mini_batch_gd` as a generator of its records: iterate to train, one record at a
    time (see :mod:`numpy_impl.steps`); ``network`` and ``history`` are the run's so far.

    Each epoch starts with ``draws.draw_epoch(rng, n, shuffle, flip)`` (a permutation when
    shuffling, then n flips when flipping) and makes ``n // n_batch`` updates (eq. 8-9) on full
    batches in that order; a flipped sample is mirrored with the precomputed ``inds_flip``.
    After each epoch the whole sets are evaluated, the history extended and eta decayed.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, gd_params: dict[str, Any],
                 init_network: dict[str, np.ndarray], lam: float, rng: np.random.Generator,
                 X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, *,
                 loss: str | Objective = "softmax", state: TrainerState | None = None) -> None:
        self.gd = _gd_params(gd_params)
        self.objective = objective_of(loss)
        self.X, self.Y, self.lam, self.rng = X, Y, lam, rng
        has_val = X_val is not None and Y_val is not None
        if self.gd["lr_plateau_patience"] is not None and not has_val:
            raise ValueError("lr_plateau_patience watches the validation cost: pass X_val and "
                             "Y_val")
        self.sets = {"train": (X, Y), **({"val": (X_val, Y_val)} if has_val else {})}
        patience = self.gd["lr_plateau_patience"]
        self.plateau = PlateauDecay(patience) if patience is not None else None
        if state is None:
            self.network = copy.deepcopy(init_network)
            self.history: dict[str, list] = {f"{prefix}_{key}": [] for prefix in self.sets
                                             for key in ("loss", "cost", "accuracy")}
            self.history["eta"] = []
            self.eta = float(self.gd["eta"])
            self.at = Position(pending=True)  # the first epoch's end is to do
        else:
            self.network, self.history = copies(state.params), copy.deepcopy(state.history)
            self.eta = state.extra["eta"]
            if self.plateau is not None:
                self.plateau.best, self.plateau.num_bad_epochs = state.extra["plateau"]
            self.at = Position.of(state)

    def __iter__(self) -> Iterator[StepRecord | ValidationRecord]:
        X, Y, network, at, objective = self.X, self.Y, self.network, self.at, self.objective
        d, n = X.shape
        shuffle, flip = self.gd["shuffle"], self.gd["flip"]
        inds_flip = flip_indices(*(self.gd["image_shape"] or _image_shape(d))) if flip \
            else None
        slices = draws.batch_slices(n, self.gd["n_batch"])
        for epoch in range(at.epoch, self.gd["n_epochs"]):
            if epoch != at.epoch:
                at.epoch, at.batch, at.pending = epoch, 0, True
            elif at.epoch_rng is not None:
                self.rng.bit_generator.state = at.epoch_rng  # redraw the resumed epoch's plan
            at.epoch_rng = self.rng.bit_generator.state
            plan = draws.draw_epoch(self.rng, n, shuffle, flip)
            for sl in slices[at.batch:]:
                # Without shuffling the batch is a view: the text's sequential inds = j_start:j_end
                batch = plan.order[sl] if shuffle else sl
                Xb, Yb = take_columns(X, batch), take_columns(Y, batch)
                if flip:
                    Xb = flip_images(Xb, plan.flip[sl], inds_flip)
                S, P = objective.forward(Xb, network)                        # eq. 1-3
                loss, cost = objective.loss_and_cost(Xb, Yb, network, self.lam, P, S)  # eq. 5-6
                grads = objective.backward(Xb, Yb, P, network, self.lam)     # eq. 10-11
                F.sgd_update(network, grads, self.eta)                       # eq. 8-9
                at.step, at.batch = at.step + 1, at.batch + 1
                yield StepRecord(epoch, at.step, Xb, Yb, float(loss), float(cost), grads=grads,
                                 params=network, lr=self.eta, state=self.checkpoint)
            if at.pending:  # not resumed from after this epoch's end
                yield from self._end_epoch(epoch)

    def _end_epoch(self, epoch: int) -> Iterator[ValidationRecord]:
        """The history's entries of the epoch (the whole sets) and the learning rate of the
        next epoch, then the epoch's validation record (so a checkpoint taken there holds the
        epoch's end whole)."""
        history = self.history
        history["eta"].append(self.eta)
        for prefix, (XX, YY) in self.sets.items():
            for key, value in evaluate(XX, YY, self.network, self.lam, self.objective).items():
                history[f"{prefix}_{key}"].append(value)
        step_epochs = self.gd["lr_step_epochs"]
        if step_epochs is not None and (epoch + 1) % step_epochs == 0:
            self.eta = self.eta * LR_DECAY_FACTOR
        if self.plateau is not None:
            self.eta = self.plateau.step(history["val_cost"][-1], self.eta)
        self.at.pending = False
        if "val" in self.sets:
            yield ValidationRecord(epoch, self.at.step, {
                "val/loss": history["val_loss"][-1], "val/cost": history["val_cost"][-1],
                "val/acc": history["val_accuracy"][-1],
                "train/acc": history["train_accuracy"][-1],
                "train/full_loss": history["train_loss"][-1],
                "train/full_cost": history["train_cost"][-1]})

    def checkpoint(self) -> TrainerState:
        """The run's state after the latest update (what ``state=`` resumes from), as
        copies."""
        plateau = self.plateau
        extra = {"eta": self.eta,
                 "plateau": None if plateau is None else [plateau.best, plateau.num_bad_epochs]}
        return TrainerState.of(self.network, self.history, extra,
                               **dataclasses.asdict(self.at))


def grid_points(grid: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, as one dict per run, in a fixed order."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def grid_search(X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
                grid: dict[str, list], base_params: dict[str, Any], seed: int, *,
                loss: str = "softmax") -> list[dict[str, Any]]:
    """Exercise 2.1(c): train once for every combination of the lists in ``grid`` (keys ``lam``
    and any gd_params key, typically ``eta`` and ``n_batch``), each from a fresh
    ``make_rng(seed)`` and ``init_network`` so that runs differ only in their settings.

    ``base_params`` holds the gd_params (and ``lam``, default 0) the grid does not vary. Returns
    one flat row per run: the run's ``lam`` and gd_params, then the final ``train_loss``,
    ``train_cost``, ``train_accuracy``, ``val_loss``, ``val_cost``, ``val_accuracy``.
    """
    K, d = Y.shape[0], X.shape[0]
    rows = []
    for point in grid_points(grid):
        settings = {**base_params, **point}
        lam = float(settings.pop("lam", 0.0))
        rng = make_rng(seed)
        network, history = mini_batch_gd(X, Y, settings, init_network(K, d, rng), lam, rng,
                                         X_val, Y_val, loss=loss)
        final = {key: series[-1] for key, series in history.items() if key != "eta"}
        rows.append({"lam": lam, **settings, **final})
    return rows
