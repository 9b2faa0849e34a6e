"""What the NumPy trainers report, step by step, to an optional ``on_step`` hook.

``tdt4265.BaseTrainer.train(num_epochs, on_step=...)`` and ``dd2424.mini_batch_gd(...,
on_step=...)`` call ``on_step(record)`` with a :class:`StepRecord` right after every update and
with a :class:`ValidationRecord` after every validation (TDT4265: the starter's cadence;
DD2424: after every epoch). The parity tool (``compare/``) uses them to hold the trainers
against the Lightning reference step for step; without a hook the trainers do no extra work.

Steps are global update counts from 0, epochs count from 0. ``params`` and ``grads`` are
copies, so a hook may keep a record while training goes on; ``X`` and ``Y`` are the batch as the
update used it (flipped where the epoch flips), which the trainers never modify.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ValidationRecord:
    """One validation, after the update at ``step``, as the Lightning reference logs it:
    ``val/loss``, ``val/cost``, ``val/acc`` (whole validation set) and ``train/acc`` (whole
    training set)."""

    epoch: int
    step: int
    metrics: dict[str, float]


OnStep = Callable[[StepRecord | ValidationRecord], None]


def copies(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A copy of every array, so that later in-place updates do not reach a record."""
    return {name: np.array(value, copy=True) for name, value in arrays.items()}
