"""The reference's TensorBoard logger: Lightning's, with ``epoch`` written once per step.

Lightning's Trainer adds ``epoch`` (its ``current_epoch``) to every batch of metrics it hands
its loggers without a step of their own: at a step where the module logs twice (the update's
``train/loss`` and, DD2424, the validation after it) TensorBoard got two ``epoch`` points at the
same step. :class:`TextTensorBoardLogger` keeps the first; ``epoch`` then has one value per
step, as every other tag does and as compare's NumPy run writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_only

EPOCH_TAG = "epoch"


class TextTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger that writes ``epoch`` at most once per step (the first
    value logged at that step; Lightning logs the same epoch for an update and its validation).
    Every other metric is written as given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch_step: int | None = None  # the step of the last epoch written

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if EPOCH_TAG in metrics and step is not None:
            if step == self._epoch_step:
                metrics = {k: v for k, v in metrics.items() if k != EPOCH_TAG}
            else:
                self._epoch_step = step
        if metrics:
            super().log_metrics(metrics, step)
