"""Deliberately wrong NumPy sides: bugs that implementations of the two texts really contain,
each of which compare must catch at the right step and quantity (``compare/tests/test_wrong.py``).

The last ones never reach a verdict (they raise, hang, exit or allocate far too much): compare
must end them with a clear error instead.

They also show how to plug an implementation of your own into compare: replace the TDT4265
model or trainer class, or the DD2424 objective, with :class:`compare.NumpySide`, e.g.
``run_parity("tdt4265/task3b", numpy_side=NumpySide(model_class=MySoftmaxModel))`` or
``python -m compare tdt4265/task3b --numpy-side mymodule:MY_SIDE``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from compare.parity.numpy_side import NumpySide
from numpy_impl import dd2424, tdt4265


class NoMeanGradient(tdt4265.SoftmaxModel):
    """Forgets the 1/N of the batch mean: the gradient of the summed, not the averaged, loss."""

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.grad = -(X.T @ (targets - outputs)) + 2 * self.l2_reg_lambda * self.w


class HalfL2Gradient(tdt4265.SoftmaxModel):
    """``lambda * w`` for the L2 term: the gradient of lambda/2 ||w||^2, not of the text's
    lambda ||w||^2. Invisible while w = 0 (the first step), wrong from the second."""

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.grad = -(X.T @ (targets - outputs)) / X.shape[0] + self.l2_reg_lambda * self.w


def _backward_regularising_b(X: np.ndarray, Y: np.ndarray, P: np.ndarray,
                             network: dict[str, np.ndarray],
                             lam: float) -> dict[str, np.ndarray]:
    grads = dd2424.backward_pass(X, Y, P, network, lam)
    grads["b"] = grads["b"] + 2 * lam * network["b"]  # the text regularises W only
    return grads


#: DD2424's softmax objective whose gradient regularises the bias too (its cost does not):
#: invisible while b = 0 (the first step), wrong from the second.
REGULARISED_BIAS = dataclasses.replace(dd2424.OBJECTIVES["softmax"],
                                       backward=_backward_regularising_b)


class SkippedShuffle(tdt4265.SoftmaxTrainer):
    """Asked to shuffle, its batch loader never does (nor draws a permutation)."""

    @staticmethod
    def batch_loader(X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool = False,
                     drop_last: bool = True, rng: np.random.Generator | None = None
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return tdt4265.batch_loader(X, Y, batch_size, shuffle=False, drop_last=drop_last)


class OneBatchShort(tdt4265.LogisticTrainer):
    """An off-by-one batch count (``range(num_batches - 1)``): the last full batch of every epoch
    is never used, so the second epoch starts one step early."""

    @staticmethod
    def batch_loader(X: np.ndarray, Y: np.ndarray, batch_size: int, shuffle: bool = False,
                     drop_last: bool = True, rng: np.random.Generator | None = None
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        batches = tdt4265.batch_loader(X, Y, batch_size, shuffle, drop_last, rng)
        return itertools.islice(batches, len(X) // batch_size - 1)


class LatePatience(tdt4265.LogisticTrainer):
    """Early stopping one validation late: waits for p + 1 validations without improvement."""

    def _should_stop(self, val_losses: list[float]) -> bool:
        p = self.early_stopping_patience
        if p is None or len(val_losses) <= p + 1:
            return False
        window = val_losses[-(p + 2):]
        return window[0] <= min(window[1:])


class TenValidationsPerEpoch(tdt4265.SoftmaxTrainer):
    """Validates every 10 % of an epoch instead of the starter's 20 %."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs, validations_per_epoch=10)


class ValidatesOneStepLate(tdt4265.SoftmaxTrainer):
    """Lightning's ``val_check_interval`` rule, after steps k-1, 2k-1, ... instead of the
    starter's 0, k, 2k, ... (its train loop tests ``step % validation_interval == 0``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # shifting the step count by one in the test moves every validation one step later
        self.validation_interval = _ShiftedInterval(self.validation_interval)


class _ShiftedInterval(int):
    """An interval k for which ``s % k == 0`` holds at s = k-1, 2k-1, ..."""

    def __rmod__(self, step: int) -> int:
        return (step + 1) % int(self)


NO_MEAN_GRADIENT = NumpySide(model_class=NoMeanGradient)
HALF_L2_GRADIENT = NumpySide(model_class=HalfL2Gradient)
REGULARISED_BIAS_SIDE = NumpySide(objective=REGULARISED_BIAS)
SKIPPED_SHUFFLE = NumpySide(trainer_class=SkippedShuffle)
ONE_BATCH_SHORT = NumpySide(trainer_class=OneBatchShort)
LATE_PATIENCE = NumpySide(trainer_class=LatePatience)
TEN_VALIDATIONS_PER_EPOCH = NumpySide(trainer_class=TenValidationsPerEpoch)
VALIDATES_ONE_STEP_LATE = NumpySide(trainer_class=ValidatesOneStepLate)


# ---------------------------------------------------------------------- no verdict at all
# Student code that never lets compare judge it (compare/tests/test_isolation.py): each
# misbehaves in the second call of its backward, after update 0 was handed over. compare must end
# each with a clear error (exit status 3), never hang, crash or pass.


class _SecondBackward(tdt4265.SoftmaxModel):
    """The softmax model, whose second ``backward`` calls :meth:`misbehave`."""

    def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 2:
            self.misbehave()
        super().backward(X, outputs, targets)

    def misbehave(self) -> None:
        raise NotImplementedError


class RaisingBackward(_SecondBackward):
    def misbehave(self) -> None:
        raise ValueError("shapes (128,10) and (785,10) not aligned")


class HangingBackward(_SecondBackward):
    def misbehave(self) -> None:
        while True:
            pass


class ExitingBackward(_SecondBackward):
    def misbehave(self) -> None:
        sys.exit(3)


class OsExitBackward(_SecondBackward):
    def misbehave(self) -> None:
        os._exit(0)


class GreedyBackward(_SecondBackward):
    def misbehave(self) -> None:
        self.buffer = np.empty(1 << 31)  # 16 GiB


RAISES = NumpySide(model_class=RaisingBackward)
HANGS = NumpySide(model_class=HangingBackward)
EXITS = NumpySide(model_class=ExitingBackward)
OS_EXITS = NumpySide(model_class=OsExitBackward)
GREEDY = NumpySide(model_class=GreedyBackward)
