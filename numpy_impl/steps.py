"""What the NumPy trainers report, step by step: records, and the checkpoint of a run.

``tdt4265.BaseTrainer.steps(num_epochs)`` and ``dd2424.MiniBatchGD`` are generators: each
yields a :class:`StepRecord` right after every update and a :class:`ValidationRecord` after
every validation (TDT4265: the starter's cadence; DD2424: after every epoch), and computes the
next one only when asked (``next``), so a reader (``python -m numpy_impl``'s loop, the parity
tool's lockstep) drives the run one record at a time. The texts' own entry points,
``BaseTrainer.train(num_epochs, on_step=...)`` and ``dd2424.mini_batch_gd(..., on_step=...)``,
run the generator to the end, handing each record to the optional ``on_step``.

Steps are global update counts from 0, epochs count from 0. A record's arrays (``X``, ``Y``,
``params``, ``grads``) are the trainer's own, valid until the next record is asked for (the
next update changes the parameters in place): a reader that keeps one copies it
(:func:`copies`), so a trainer makes no copy nobody needs. ``X`` and ``Y`` are the batch as the
update used it (flipped where the epoch flips).

A :class:`StepRecord` also carries ``state``, the trainer's ``checkpoint`` method: a
:class:`TrainerState` of everything the rest of the run depends on, which the trainers'
``state=`` argument resumes from, bit for bit; it is built only when called (before the next
record is asked for). :class:`Diverged` is what a reader raises on a non-finite loss or cost
(``python -m numpy_impl`` does; the trainers never check).
"""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StepRecord:
    """One update: its batch, the batch's loss and cost J BEFORE the update, the gradients of J
    it applied, the learning rate it used and the parameters AFTER it."""

    epoch: int
    step: int
    X: np.ndarray
    Y: np.ndarray
    loss: float
    cost: float
    grads: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    lr: float
    state: Callable[[], TrainerState] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ValidationRecord:
    """One validation, after the update at ``step``, as the Lightning reference logs it:
    ``val/loss``, ``val/cost``, ``val/acc`` (whole validation set) and ``train/acc``,
    ``train/full_loss``, ``train/full_cost`` (whole training set: the texts' training curves
    per epoch or validation, beside the batch losses ``train/loss`` of every step)."""

    epoch: int
    step: int
    metrics: dict[str, float]


OnStep = Callable[[StepRecord | ValidationRecord], None]


def copies(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A copy of every array, so that later in-place updates do not reach a record."""
    return {name: np.array(value, copy=True) for name, value in arrays.items()}


@dataclass
class Position:
    """Where a run is (see :class:`TrainerState`): the last update's ``step`` (-1 before the
    first), its ``epoch`` and ``batch`` (the count of that epoch's updates so far), whether the
    work that follows it is ``pending``, and the generator state ``epoch_rng`` at the start of
    the epoch."""

    step: int = -1
    epoch: int = 0
    batch: int = 0
    pending: bool = False
    epoch_rng: dict[str, Any] | None = None

    @classmethod
    def of(cls, state: TrainerState) -> Position:
        return cls(state.step, state.epoch, state.batch, state.pending,
                   copy.deepcopy(state.epoch_rng))


@dataclass
class TrainerState:
    """A checkpoint of a run after the update at global step ``step``: what a trainer's
    ``state=`` argument needs to go on exactly as if never stopped.

    ``epoch`` and ``batch``: the update was the ``batch``-th (counted from 1) of ``epoch``;
    ``epoch_rng``: the generator's ``bit_generator.state`` at the start of that epoch, before
    its :func:`numpy_impl.draws.draw_epoch` (None when the run draws nothing), so a resumed run
    redraws the same plan and leaves the generator where the original did. ``pending``: the
    work that follows the update (a validation, DD2424's end of an epoch) is still to do.
    ``params`` are copies of the parameters after the update; ``history`` the trainer's
    histories so far; ``extra`` its other scalars (TDT4265: early stopping; DD2424: eta and the
    plateau decay); ``best_params`` the TDT4265 weights of the lowest validation loss.
    """

    step: int
    epoch: int
    batch: int
    pending: bool
    epoch_rng: dict[str, Any] | None
    params: dict[str, np.ndarray]
    history: dict[str, Any]
    extra: dict[str, Any]
    best_params: dict[str, np.ndarray] | None = None
    config: dict[str, Any] | None = None  # the experiment, as python -m numpy_impl notes it

    @classmethod
    def of(cls, params: dict[str, np.ndarray], history: dict[str, Any], extra: dict[str, Any],
           best_params: dict[str, np.ndarray] | None = None, **position: Any) -> TrainerState:
        """A state holding deep copies, so that training on does not reach it."""
        return cls(params=copies(params), history=copy.deepcopy(history),
                   extra=copy.deepcopy(extra),
                   best_params=None if best_params is None else copies(best_params), **position)

    def to_npz(self) -> bytes:
        """One ``.npz``: ``params/NAME`` and ``best/NAME`` arrays, and ``meta``, a JSON string of
        the rest (exact: JSON writes floats by ``repr``, and ``NaN``/``Infinity`` are allowed)."""
        meta = {"step": self.step, "epoch": self.epoch, "batch": self.batch,
                "pending": self.pending, "epoch_rng": self.epoch_rng, "history": self.history,
                "extra": self.extra, "config": self.config}
        arrays = {f"params/{k}": v for k, v in self.params.items()}
        arrays.update({f"best/{k}": v for k, v in (self.best_params or {}).items()})
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | Path) -> TrainerState:
        """Read what :meth:`to_npz` wrote (no pickles are loaded)."""
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            params = {k.removeprefix("params/"): npz[k] for k in npz.files
                      if k.startswith("params/")}
            best = {k.removeprefix("best/"): npz[k] for k in npz.files if k.startswith("best/")}
        return cls(params=params, best_params=best or None, **meta)


class Diverged(ArithmeticError):
    """A non-finite ``quantity`` (e.g. "the cost J of the batch") at ``step``: training
    diverged, most often because the learning rate ``lr`` is too large."""

    def __init__(self, quantity: str, value: float, step: int, epoch: int, lr: float) -> None:
        super().__init__(f"training diverged: {quantity} at step {step} (epoch {epoch}) is "
                         f"{value}; try a smaller learning rate (model.lr is {lr})")
        self.quantity, self.value, self.step, self.epoch = quantity, value, step, epoch



#: The quantities whose first non-finite value stops a run, in the order they are checked,
#: by the tags both sides log them under.
DIVERGENCE_CHECKS = {"train/loss": "the loss of the batch", "train/cost": "the cost J of the batch",
                     "val/loss": "the validation loss", "val/cost": "the validation cost J"}


def check_finite(values: Mapping[str, float], step: int, epoch: int, lr: float) -> None:
    """Raise :class:`Diverged` for the first of :data:`DIVERGENCE_CHECKS` in ``values`` (by tag)
    that is not finite; the NumPy CLI and the Lightning reference both call this."""
    for tag, quantity in DIVERGENCE_CHECKS.items():
        if tag in values and not math.isfinite(float(values[tag])):
            raise Diverged(quantity, float(values[tag]), step, epoch, lr)
