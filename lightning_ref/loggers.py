"""The reference's TensorBoard logger: Lightning's, with ``epoch`` written once per step.

Lightning's Trainer adds ``epoch`` (its ``current_epoch``) to every batch of metrics it hands
its loggers without a step of their own: at a step where the module logs twice (the update's
``train/loss`` and, DD2424, the validation after it) TensorBoard got two ``epoch`` points at the
same step. :class:`TextTensorBoardLogger` keeps the first; ``epoch`` then has one value per
step, as every other tag does and as compare's NumPy run writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from pytorch_lightning.loggers import Logger, TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_only
from tensorboard.compat.proto.summary_pb2 import Summary

EPOCH_TAG = "epoch"
STEP_TAGS = ("train/loss", "train/cost", "lr")  # what the module logs at every training step


class TextTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger that writes ``epoch`` at most once per step (the first
    value logged at that step; Lightning logs the same epoch for an update and its validation).
    Every other metric is written as given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epoch_step: int | None = None  # the step of the last epoch written

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        metrics = self._epoch_once(metrics, step)
        if metrics:
            super().log_metrics(metrics, step)

    @rank_zero_only
    def log_steps(self, rows: Sequence[tuple[int, Mapping[str, float]]]) -> None:
        """``log_metrics(metrics, step)`` for each row, with one TensorBoard event per step
        holding all of its values instead of one event per value: the same tags, steps and
        values (each as ``add_scalar`` stores it, a float32 ``simple_value``), a quarter of the
        events for the four step tags (66 against 226 us a step)."""
        writer = self.experiment._get_file_writer()  # what add_scalar writes through
        prefix = f"{self._prefix}{self.LOGGER_JOIN_CHAR}" if self._prefix else ""
        for step, metrics in rows:
            values = [Summary.Value(tag=prefix + k, simple_value=float(v))
                      for k, v in self._epoch_once(metrics, step).items()]
            writer.add_summary(Summary(value=values), step)

    def _epoch_once(self, metrics: Mapping[str, float], step: int | None
                    ) -> Mapping[str, float]:
        """``metrics`` without ``epoch`` if it was written at ``step`` already."""
        if EPOCH_TAG in metrics and step is not None:
            if step == self._epoch_step:
                return {k: v for k, v in metrics.items() if k != EPOCH_TAG}
            self._epoch_step = step
        return metrics


class StepLogs:
    """The per-step training metrics (:data:`STEP_TAGS` and ``epoch``), kept until they are
    written in one go (:meth:`write`): what Lightning's ``self.log(..., on_step=True)`` would
    have written after every step, at the same steps, with the same values (the losses as
    ``Tensor.item`` gives them, the learning rate as a tensor of the default dtype at that step
    gives it) and ``epoch`` (``current_epoch``, which Lightning's logger connector adds), for
    a fraction of the cost.

    A step is :meth:`open` from ``training_step`` until :meth:`close` (the module's
    ``on_train_batch_end``, where Lightning's logger connector writes a step's metrics); only
    closed steps are written, so a run that fails inside a step logs the steps before it, as
    Lightning does.
    """

    def __init__(self) -> None:
        self._open: tuple[int, int, torch.Tensor, torch.Tensor, float, torch.dtype] | None = None
        self._closed: list[tuple[int, int, torch.Tensor, torch.Tensor, float, torch.dtype]] = []

    def open(self, step: int, epoch: int, loss: torch.Tensor, cost: torch.Tensor, lr: float
             ) -> None:
        self._open = (step, epoch, loss, cost, lr, torch.get_default_dtype())

    def close(self, keep: bool = True) -> None:
        """The open step ended; ``keep``: Lightning would log it (``log_every_n_steps``)."""
        if self._open is not None and keep:
            self._closed.append(self._open)
        self._open = None

    def __len__(self) -> int:
        return len(self._closed)

    def write(self, loggers: Sequence[Logger]) -> None:
        """Write the closed steps to ``loggers`` (one ``log_metrics`` per step, or for the
        reference's TensorBoard logger one ``log_steps``; one ``save`` per logger) and forget
        them."""
        entries, self._closed = self._closed, []
        if not entries or not loggers:
            return
        steps, epochs, losses, costs, lrs, dtypes = zip(*entries, strict=True)
        losses, costs = torch.stack(losses).tolist(), torch.stack(costs).tolist()
        rates = [torch.tensor(lr, dtype=dtype).item() for lr, dtype in zip(lrs, dtypes,
                                                                           strict=True)]
        rows = [(step, {"train/loss": loss, "train/cost": cost, "lr": lr, EPOCH_TAG: epoch})
                for step, epoch, loss, cost, lr in zip(steps, epochs, losses, costs, rates,
                                                       strict=True)]
        for logger in loggers:
            if isinstance(logger, TextTensorBoardLogger):
                logger.log_steps(rows)
            else:
                for step, metrics in rows:
                    logger.log_metrics(metrics, step)
            logger.save()
