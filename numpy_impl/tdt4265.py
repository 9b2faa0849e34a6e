"""TDT4265 Assignment 1 in the starter code's conventions.

One row per image: ``X`` is (N, 785) after :func:`pre_process_images` (bias 1 in the LAST
column, as the starter code does), binary targets are (N, 1), multi-class targets one-hot
(N, 10); the weights ``w`` are (785, 1) or (785, 10), so the scores are ``z = X @ w``.
The maths lives in :mod:`numpy_impl.functional`; the random draws in :mod:`numpy_impl.draws`.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

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

NUM_PIXELS = 784
NUM_INPUTS = NUM_PIXELS + 1  # the bias trick


def pre_process_images(X: np.ndarray, dtype: DTypeLike | None = None) -> np.ndarray:
    """[N, 784] pixels in 0..255 -> [N, 785]: ``X / 127.5 - 1`` in [-1, 1], then the bias trick
    (a column of ones appended LAST, as in the starter code; the text's Task 1 says "at the
    beginning", the starter's tests check only the width).

    The result is float32 when ``X`` is float32 (or ``dtype`` says so), float64 otherwise.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != NUM_PIXELS:
        raise ValueError(f"expected images of shape (N, {NUM_PIXELS}), got {X.shape}")
    if dtype is None:
        dtype = np.float32 if X.dtype == np.float32 else np.float64
    X = X.astype(dtype, copy=False) / 127.5 - 1
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def binary_cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> np.floating:
    """Eq. 3: the mean over the batch of ``-(y ln y_hat + (1 - y) ln(1 - y_hat))``.

    targets, outputs: (N, 1). Outputs that rounded to 0 or 1 give a large finite loss
    (see :func:`numpy_impl.functional.safe_log`).
    """
    _check_same_shape(targets, outputs)
    return F.binary_cross_entropy(targets, outputs)


def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray) -> np.floating:
    """Eq. 5: the mean over the batch of ``-sum_k y_k ln y_hat_k``. targets (one-hot), outputs:
    (N, K)."""
    _check_same_shape(targets, outputs)
    return F.cross_entropy(targets, outputs, axis=1)


def binary_cross_entropy_loss_with_logits(targets: np.ndarray, scores: np.ndarray) -> np.floating:
    """Eq. 3 from the scores z = X w of eq. 1 (``y_hat = sigmoid(z)``): equal to
    ``binary_cross_entropy_loss(targets, sigmoid(z))`` where y_hat is not rounded to 0 or 1,
    and exact where it is (``ln y_hat = log_sigmoid(z)``, nothing clipped). targets, scores:
    (N, 1). The loss the trainer records."""
    _check_same_shape(targets, scores)
    return F.binary_cross_entropy_with_logits(targets, scores)


def cross_entropy_loss_with_logits(targets: np.ndarray, scores: np.ndarray) -> np.floating:
    """Eq. 5 from the scores z = X w of eq. 4 (``y_hat = softmax(z)``), through
    ``ln y_hat = log_softmax(z)``: exact where y_hat underflows to 0, which
    :func:`cross_entropy_loss` must clip. targets (one-hot), scores: (N, K). The loss the
    trainer records."""
    _check_same_shape(targets, scores)
    return F.cross_entropy_with_logits(targets, scores, axis=1)


def _check_same_shape(targets: np.ndarray, outputs: np.ndarray) -> None:
    if np.shape(targets) != np.shape(outputs):
        raise ValueError(
            f"targets and outputs must have the same shape, got {np.shape(targets)} and "
            f"{np.shape(outputs)}"
        )


class _LinearModel:
    """What the two models share: ``w`` of shape (785, K), zeros (tasks 2b and 3b), and L2."""

    num_outputs: int

    def __init__(self, l2_reg_lambda: float = 0.0, dtype: DTypeLike = np.float64) -> None:
        self.I = NUM_INPUTS
        self.l2_reg_lambda = float(l2_reg_lambda)
        self.w = draws.init_tdt4265(self.num_outputs, self.I)["w"].astype(dtype)
        self.grad: np.ndarray | None = None

    def zero_grad(self) -> None:
        self.grad = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """z = X w, the argument of eq. 1 (or 4): X (N, 785) -> (N, K). ``activation`` maps it
        to probabilities; the trainer's loss is computed from it (see
        :meth:`_GradientDescentTrainer.data_loss`)."""
        return X @ self.w

    def activation(self, z: np.ndarray) -> np.ndarray:
        """The probabilities of the scores z (eq. 1 or 4)."""
        raise NotImplementedError

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``activation(scores(X))``: X (N, 785) -> probabilities (N, K)."""
        return self.activation(self.scores(X))

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        """Store in ``self.grad`` (shape of ``w``) the gradient of J = C + lambda * ||w||^2.

        For both models dC^n/dz = -(y - y_hat) (eq. 6 and eq. 8), so averaged over the batch
        ``dC/dw = -X^T (y - y_hat) / N``. The L2 term (eq. 9-10) adds ``2 * lambda * w`` over all
        of ``w``, bias row included, because R sums over every weight. (Solutions using
        ``lambda * w`` differentiate ``lambda/2 ||w||^2``; we follow the text.)
        """
        _check_same_shape(targets, outputs)
        y = np.asarray(targets).astype(outputs.dtype, copy=False)
        N = X.shape[0]
        self.grad = -(X.T @ (y - outputs)) / N + F.l2_gradient(self.w, self.l2_reg_lambda)


class BinaryModel(_LinearModel):
    """Logistic regression (Task 2): ``y_hat = sigmoid(X @ w)``, w of shape (785, 1)."""

    num_outputs = 1

    def activation(self, z: np.ndarray) -> np.ndarray:
        """Eq. 1: scores z = X w (N, 1) -> probabilities of class "2", ``sigmoid(z)`` (N, 1)."""
        return F.sigmoid(z)


class SoftmaxModel(_LinearModel):
    """Softmax regression (Task 3): ``y_hat = softmax(X @ w)`` over 10 classes, w (785, 10)."""

    num_outputs = 10

    def activation(self, z: np.ndarray) -> np.ndarray:
        """Eq. 4: scores z = X w (N, 10) -> class probabilities ``softmax(z)`` (N, 10); each row
        sums to 1."""
        return F.softmax(z, axis=1)


def one_hot_encode(Y: np.ndarray, num_classes: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Y (N, 1) integer labels -> (N, num_classes) one-hot, e.g. ``[[3]] -> [[0, 0, 0, 1, ...]]``.

    Pass ``dtype=np.float32`` for a float32 pipeline (float64 targets would not upcast the
    losses, which cast targets, but keeping one dtype throughout is cheaper).
    """
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[1] != 1:
        raise ValueError(f"expected labels of shape (N, 1), got {Y.shape}")
    return F.one_hot(Y[:, 0], num_classes, dtype)


class _Forward(Protocol):
    def forward(self, X: np.ndarray) -> np.ndarray: ...


class TrainableModel(_Forward, Protocol):
    """What the trainer needs: the starter's model interface. A model that also has
    ``scores(X)`` (ours do) gets its loss computed from the scores."""

    w: np.ndarray
    grad: np.ndarray | None

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None: ...


def binary_accuracy(X: np.ndarray, targets: np.ndarray, model: _Forward) -> float:
    """Task 2c: the fraction of images whose prediction (1 if y_hat >= 0.5 else 0) equals the
    target (N, 1)."""
    predictions = model.forward(X) >= 0.5
    return float(np.mean(predictions == (np.asarray(targets) == 1)))


def accuracy(X: np.ndarray, targets: np.ndarray, model: _Forward) -> float:
    """Task 3c: the fraction of images whose most probable class is the one-hot target's."""
    return float(np.mean(model.forward(X).argmax(axis=1) == np.asarray(targets).argmax(axis=1)))


def binary_accuracy_from_scores(targets: np.ndarray, scores: np.ndarray) -> float:
    """:func:`binary_accuracy` from the scores z = X w: predict 1 where ``sigmoid(z) >= 0.5``."""
    return float(np.mean((F.sigmoid(scores) >= 0.5) == (np.asarray(targets) == 1)))


def accuracy_from_scores(targets: np.ndarray, scores: np.ndarray) -> float:
    """:func:`accuracy` from the scores z = X w: softmax is increasing, so the most probable
    class is the one of the highest score (the reference's argmax too); no softmax needed."""
    return float(np.mean(scores.argmax(axis=1) == np.asarray(targets).argmax(axis=1)))


def batch_loader(X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool = False,
                 drop_last: bool = True,
                 rng: np.random.Generator | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of mini-batches ``(X_batch, Y_batch)`` (Task 2e).

    The epoch's order is drawn NOW, when the loader is created (``draws.draw_epoch``: one
    ``rng.permutation(N)`` when shuffling, nothing otherwise), so the draw order of a run does not
    depend on when iteration starts. Without shuffling the batches are views of ``X`` and ``Y``;
    with it each batch is a single gather ``X[order[slice]]``. ``drop_last`` drops the final
    N % batch_size samples, as the starter does.
    """
    if shuffle and rng is None:
        raise ValueError("batch_loader(shuffle=True) needs rng= a Generator (draws.make_rng)")
    if len(X) != len(Y):
        raise ValueError(f"X and Y hold different numbers of samples: {len(X)} and {len(Y)}")
    order = draws.draw_epoch(rng, len(X), shuffle, flip=False).order
    slices = draws.batch_slices(len(X), batch_size, drop_last)
    if shuffle:
        return ((X[order[sl]], Y[order[sl]]) for sl in slices)
    return ((X[sl], Y[sl]) for sl in slices)


VALIDATIONS_PER_EPOCH = 5  # the starter code validates every 20 % of an epoch


def validation_interval(batches_per_epoch: int,
                        validations_per_epoch: int = VALIDATIONS_PER_EPOCH) -> int:
    """The starter's ``num_steps_per_val = batches_per_epoch // 5``; at least 1, so that an epoch
    of fewer than five batches validates after every step instead of dividing by zero."""
    return max(1, batches_per_epoch // validations_per_epoch)


class BaseTrainer:
    """The starter code's trainer: mini-batch gradient descent with the starter's bookkeeping.

    * ``train_history["loss"][s]``: the DATA loss (eq. 3 or 5, without lambda * R) of the batch
      of global step ``s``, from the forward pass of that step, i.e. BEFORE its update.
    * Validation follows the update at global step ``s`` (counted from 0) whenever
      ``s % validation_interval == 0`` with ``validation_interval = batches_per_epoch //
      validations_per_epoch`` (every 20 % of an epoch), so the first one follows the first
      update. Each records ``val_history["loss"][s]`` (data loss on the whole validation set),
      ``val_history["accuracy"][s]`` and ``train_history["accuracy"][s]`` (whole training set).
    * Early stopping (``early_stopping_patience=p``, the text uses 10): stop at the validation
      where the validation loss has not improved over the last p validations, i.e. the oldest of
      the last p + 1 validation losses is their minimum. The weights are then restored to those
      of the lowest validation loss (the earliest on ties), and ``stopped_epoch`` (counted from 0),
      ``stopped_step`` (the global step of the validation that stopped) and ``best_step`` are set.
      When training ends without stopping, the final weights are kept and ``stopped_*`` stay
      None (``best_step`` is set either way).
    * Shuffling uses ``rng``: one ``draws.draw_epoch`` per epoch, at its start.

    Subclasses implement :meth:`train_step` and :meth:`validation_step`; ``batch_loader``
    (the starter's ``utils.batch_loader``) makes each epoch's batches and may be replaced too.
    """

    batch_loader = staticmethod(batch_loader)

    def __init__(self, model: TrainableModel, learning_rate: float, batch_size: int,
                 shuffle_dataset: bool, X_train: np.ndarray, Y_train: np.ndarray,
                 X_val: np.ndarray, Y_val: np.ndarray,
                 *, rng: np.random.Generator | None = None,
                 early_stopping_patience: int | None = None,
                 validations_per_epoch: int = VALIDATIONS_PER_EPOCH) -> None:
        if shuffle_dataset and rng is None:
            raise ValueError("shuffle_dataset=True needs rng=np.random.Generator (draws.make_rng)")
        self.model = model
        self.learning_rate = float(learning_rate)
        self.batch_size = batch_size
        self.shuffle_dataset = shuffle_dataset
        self.X_train, self.Y_train = X_train, Y_train
        self.X_val, self.Y_val = X_val, Y_val
        self.rng = rng
        self.early_stopping_patience = early_stopping_patience
        self.batches_per_epoch = len(draws.batch_slices(len(X_train), batch_size, drop_last=True))
        if self.batches_per_epoch == 0:
            raise ValueError(f"{len(X_train)} training samples make no batch of {batch_size}")
        # The starter's num_steps_per_val; at least 1 so that an epoch of fewer than
        # validations_per_epoch batches validates every step instead of dividing by zero.
        self.validation_interval = validation_interval(self.batches_per_epoch,
                                                       validations_per_epoch)
        self.stopped_epoch: int | None = None
        self.stopped_step: int | None = None
        self.best_step: int | None = None

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """One gradient-descent step on a batch; returns the batch's data loss before it."""
        raise NotImplementedError

    def validation_step(self) -> tuple[float, float, float]:
        """Returns (validation loss, training accuracy, validation accuracy), whole sets."""
        raise NotImplementedError

    def training_set_loss(self) -> float:
        """The data loss of the whole training set with the current weights (the base trainer
        knows no loss: NaN)."""
        return float("nan")

    def _measure(self, train_loss: bool) -> tuple[float, float, float, float]:
        """What a validation measures: :meth:`validation_step`'s three values and (``train_loss``;
        else NaN) the data loss of the whole training set (the ``train/full_loss`` of the
        validation records; the starter's histories have no such entry)."""
        val_loss, accuracy_train, accuracy_val = self.validation_step()
        return (val_loss, accuracy_train, accuracy_val,
                self.training_set_loss() if train_loss else float("nan"))

    def train(self, num_epochs: int, on_step: OnStep | None = None,
              state: TrainerState | None = None) -> tuple[dict, dict]:
        """Train for ``num_epochs`` (or until early stopping); returns the starter's
        ``(train_history, val_history)``, dicts of dicts keyed by global step.

        Runs :meth:`steps` to the end, handing each record to ``on_step`` (optional: without
        it nothing reads the records' ``train/full_loss``, which is then not computed);
        ``state=`` a checkpoint to resume from (the result is then bit for bit the
        uninterrupted run's)."""
        for record in self.steps(num_epochs, state, train_loss=on_step is not None):
            if on_step is not None:
                on_step(record)
        return self.train_history, self.val_history

    def steps(self, num_epochs: int, state: TrainerState | None = None, *,
              train_loss: bool = True) -> Iterator[StepRecord | ValidationRecord]:
        """The training loop, one record at a time: a :class:`numpy_impl.steps.StepRecord`
        after every update and a :class:`numpy_impl.steps.ValidationRecord` after every
        validation (see :mod:`numpy_impl.steps`: a record's arrays are the trainer's own until
        the next record is asked for). ``state``: a checkpoint (:meth:`checkpoint` of an
        earlier run) to go on from. ``train_loss``: the validation records hold the data loss
        of the whole training set (``train/full_loss``; NaN without)."""
        self._start(state)
        self._train_loss = train_loss
        at, stopping = self._at, self._stopping
        if stopping.stopped_step is not None:
            return
        if at.pending:  # resumed between an update and its validation
            at.pending = False
            stop = yield from self._validate(at.epoch, at.step)
            if stop:
                return
        for epoch in range(at.epoch, num_epochs):
            if epoch != at.epoch:
                at.epoch, at.batch = epoch, 0
            elif at.epoch_rng is not None:
                self.rng.bit_generator.state = at.epoch_rng  # redraw the resumed epoch's plan
            if self.rng is not None:
                at.epoch_rng = self.rng.bit_generator.state
            loader = self.batch_loader(self.X_train, self.Y_train, self.batch_size,
                                       shuffle=self.shuffle_dataset, rng=self.rng)
            for X_batch, Y_batch in itertools.islice(loader, at.batch, None):
                at.step, at.batch = at.step + 1, at.batch + 1
                penalty = self._cost(0.0)  # lambda * R(w) of the weights before the update
                loss = float(self.train_step(X_batch, Y_batch))
                self.train_history["loss"][at.step] = loss
                at.pending = True
                yield StepRecord(epoch=epoch, step=at.step, X=X_batch, Y=Y_batch, loss=loss,
                                 cost=loss + penalty, grads={"w": self.model.grad},
                                 params={"w": self.model.w}, lr=self.learning_rate,
                                 state=self.checkpoint)
                at.pending = False
                stop = yield from self._validate(epoch, at.step)
                if stop:
                    return

    def checkpoint(self) -> TrainerState:
        """The run's state after the latest update of :meth:`steps` (what ``state=`` resumes
        from), as copies."""
        return TrainerState.of({"w": self.model.w}, {"train": self.train_history,
                                                     "val": self.val_history},
                               self._stopping.scalars(), self._stopping.best_params,
                               **dataclasses.asdict(self._at))

    def _start(self, state: TrainerState | None) -> None:
        """The histories, early stopping and position of a new run, or of ``state``'s."""
        if state is None:
            self.train_history = {"loss": {}, "accuracy": {}}
            self.val_history = {"loss": {}, "accuracy": {}}
            self._stopping, self._at = _EarlyStopping(), Position()
        else:
            history = {part: {key: {int(s): v for s, v in series.items()}
                              for key, series in curves.items()}
                       for part, curves in state.history.items()}  # JSON keys are text
            self.train_history, self.val_history = history["train"], history["val"]
            self._stopping, self._at = _EarlyStopping.of(state), Position.of(state)
            self.model.w = state.params["w"].copy()
        self.stopped_epoch, self.stopped_step, self.best_step = (
            self._stopping.stopped_epoch, self._stopping.stopped_step, self._stopping.best_step)

    def _validate(self, epoch: int, step: int) -> Iterator[ValidationRecord]:
        """What follows the update at ``step``: validate when the cadence says so, track the
        best weights and decide on early stopping (then restore them), all before yielding the
        record (so a checkpoint taken there holds the validation whole); returns whether to
        stop."""
        if step % self.validation_interval != 0:
            return False
        val_loss, accuracy_train, accuracy_val, train_loss = self._measure(self._train_loss)
        val_loss = float(val_loss)
        self.train_history["accuracy"][step] = float(accuracy_train)
        self.val_history["loss"][step] = val_loss
        self.val_history["accuracy"][step] = float(accuracy_val)
        record = ValidationRecord(epoch, step, {
            "val/loss": val_loss, "val/cost": self._cost(val_loss),
            "val/acc": float(accuracy_val), "train/acc": float(accuracy_train),
            "train/full_loss": train_loss, "train/full_cost": self._cost(train_loss)})
        stopping = self._stopping
        stopping.val_losses.append(val_loss)
        if val_loss < stopping.best_loss:  # strict: ties keep the earliest
            stopping.best_loss, stopping.best_params = val_loss, {"w": self.model.w.copy()}
            stopping.best_step = self.best_step = step
        stop = self._should_stop(stopping.val_losses)
        if stop:
            if stopping.best_params is not None:  # None only if every loss was nan
                self.model.w = stopping.best_params["w"]
            stopping.stopped_epoch, stopping.stopped_step = epoch, step
            self.stopped_epoch, self.stopped_step = epoch, step
        yield record
        return stop

    def _cost(self, loss: float, w: np.ndarray | None = None) -> float:
        """J = C + lambda * R(w) (eq. 9-10) of the current or the given weights (lambda: the
        model's ``l2_reg_lambda``, 0 for a model without one)."""
        lam = float(getattr(self.model, "l2_reg_lambda", 0.0))
        return float(F.cost(loss, self.model.w if w is None else w, lam))

    def _should_stop(self, val_losses: list[float]) -> bool:
        """No improvement over the last p validations: the oldest of the last p + 1 is their
        minimum (ties count as no improvement)."""
        p = self.early_stopping_patience
        if p is None or len(val_losses) <= p:
            return False
        window = val_losses[-(p + 1):]
        return window[0] <= min(window[1:])


@dataclass
class _EarlyStopping:
    """The early-stopping bookkeeping of a run: every validation loss so far, the lowest and
    the weights and step that had it, and where the run stopped (None while it goes on)."""

    val_losses: list[float] = field(default_factory=list)
    best_loss: float = np.inf
    best_params: dict[str, np.ndarray] | None = None
    best_step: int | None = None
    stopped_epoch: int | None = None
    stopped_step: int | None = None

    def scalars(self) -> dict[str, Any]:
        """Everything but the best weights, for :attr:`TrainerState.extra`."""
        return {k: v for k, v in vars(self).items() if k != "best_params"}

    @classmethod
    def of(cls, state: TrainerState) -> _EarlyStopping:
        """The bookkeeping a checkpoint holds, copied."""
        best = None if state.best_params is None else copies(state.best_params)
        return cls(**copy.deepcopy(state.extra), best_params=best)


class _GradientDescentTrainer(BaseTrainer):
    """train_step and validation_step of tasks 2 and 3, which differ only in loss and accuracy.

    ``loss_function`` is the text's loss of the outputs; ``loss_from_scores`` the same loss of
    the scores z = X w. Every loss the trainer records, validates and early-stops on comes from
    :meth:`data_loss`. Likewise ``accuracy_function`` is the text's accuracy of a model and
    ``accuracy_from_scores`` the same accuracy of the scores; a trainer with an accuracy of its
    own sets ``accuracy_from_scores = None``.

    With one of our models (``forward`` is ``activation(scores(X))``) each step and each
    evaluated set costs ONE product ``X w``: the scores give the outputs, the loss and the
    accuracy (:meth:`scores_and_outputs`).
    """

    @staticmethod
    def loss_function(targets: np.ndarray, outputs: np.ndarray) -> np.floating:
        raise NotImplementedError

    loss_from_scores: Callable[[np.ndarray, np.ndarray], np.floating] | None = None

    @staticmethod
    def accuracy_function(X: np.ndarray, targets: np.ndarray, model: _Forward) -> float:
        raise NotImplementedError

    accuracy_from_scores: Callable[[np.ndarray, np.ndarray], float] | None = None

    def scores_and_outputs(self, X: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """``(z, outputs)``: for one of our models (its ``forward`` is ``activation(scores(X))``)
        the scores z = X w and ``activation(z)`` from one product; for any other model
        ``(None, model.forward(X))``."""
        if self.model_scores:
            z = self.model.scores(X)
            return z, self.model.activation(z)
        return None, self.model.forward(X)

    def accuracy_of(self, X: np.ndarray, Y: np.ndarray, z: np.ndarray | None) -> float:
        """The accuracy on X, Y: ``accuracy_from_scores`` of the scores z when both are at
        hand, else the text's ``accuracy_function``."""
        if z is not None and self.accuracy_from_scores is not None:
            return self.accuracy_from_scores(Y, z)
        return self.accuracy_function(X, Y, self.model)

    def data_loss(self, X: np.ndarray, Y: np.ndarray, outputs: np.ndarray | None = None,
                  z: np.ndarray | None = None) -> np.floating:
        """The data loss of the model on X, Y (eq. 3 or 5, without lambda * R).

        ``loss_from_scores(Y, model.scores(X))`` when the trainer sets ``loss_from_scores`` and
        the model has ``scores``: exact where outputs round to 0 or 1 (float32: |z| > ~17 for
        sigmoid, ~87 behind the maximum for softmax), as the reference computes it (task 3 at
        lr 0.2 in float32: 2 % of a batch loss lost otherwise). Otherwise (a model with only the
        starter's interface, or a trainer whose ``loss_from_scores`` is None because it brings
        a loss of its own) ``loss_function`` of the outputs (``outputs`` if given, else
        ``model.forward(X)``). ``z``: the scores X w when already computed.
        """
        scores = getattr(self.model, "scores", None)
        if self.loss_from_scores is not None and scores is not None:
            return self.loss_from_scores(Y, scores(X) if z is None else z)
        return self.loss_function(Y, self.model.forward(X) if outputs is None else outputs)

    def train_step(self, X_batch: np.ndarray, Y_batch: np.ndarray) -> float:
        """Forward, loss (before the update), backward, ``w <- w - lr * grad`` (in place)."""
        z, outputs = self.scores_and_outputs(X_batch)
        loss = self.data_loss(X_batch, Y_batch, outputs, z)
        self.model.backward(X_batch, outputs, Y_batch)
        F.sgd_update({"w": self.model.w}, {"w": self.model.grad}, self.learning_rate)
        return float(loss)

    def validation_step(self) -> tuple[float, float, float]:
        """One product X w per set: the validation loss and accuracy from the validation scores,
        the training accuracy from the training scores."""
        return self._measure_sets()[:3]

    def training_set_loss(self) -> float:
        return float(self.data_loss(self.X_train, self.Y_train))

    def _measure(self, train_loss: bool) -> tuple[float, float, float, float]:
        if type(self).validation_step is not _GradientDescentTrainer.validation_step:
            return super()._measure(train_loss)  # a validation_step of its own
        return self._measure_sets(train_loss)

    def _measure_sets(self, train_loss: bool = False) -> tuple[float, float, float, float]:
        """:meth:`validation_step`'s values and (``train_loss``; else NaN) the training set's
        data loss, from the same training scores as its accuracy (for a model that is not
        ours, without ``scores``, the loss needs a forward pass of its own)."""
        z_val = self.model.scores(self.X_val) if self.model_scores else None
        loss = self.data_loss(self.X_val, self.Y_val, None, z_val)
        z_train = self.model.scores(self.X_train) if self.model_scores else None
        accuracy_train = self.accuracy_of(self.X_train, self.Y_train, z_train)
        accuracy_val = self.accuracy_of(self.X_val, self.Y_val, z_val)
        full = (float(self.data_loss(self.X_train, self.Y_train, None, z_train)) if train_loss
                else float("nan"))
        return float(loss), accuracy_train, accuracy_val, full

    @property
    def model_scores(self) -> bool:
        """Whether the model is one of ours, whose outputs are ``activation(scores(X))``."""
        return getattr(type(self.model), "forward", None) is _LinearModel.forward


class LogisticTrainer(_GradientDescentTrainer):
    """Task 2: binary cross-entropy (eq. 3) and accuracy at the 0.5 threshold."""

    loss_function = staticmethod(binary_cross_entropy_loss)
    loss_from_scores = staticmethod(binary_cross_entropy_loss_with_logits)
    accuracy_function = staticmethod(binary_accuracy)
    accuracy_from_scores = staticmethod(binary_accuracy_from_scores)


class SoftmaxTrainer(_GradientDescentTrainer):
    """Task 3-4: categorical cross-entropy (eq. 5) and argmax accuracy."""

    loss_function = staticmethod(cross_entropy_loss)
    loss_from_scores = staticmethod(cross_entropy_loss_with_logits)
    accuracy_function = staticmethod(accuracy)
    accuracy_from_scores = staticmethod(accuracy_from_scores)
