"""Each text's validation cadence, early stopping and best-weight restore, as Lightning callbacks.

* ``"epoch"`` (DD2424): Lightning's own validation loop after every epoch; nothing here.
* ``"starter"`` (TDT4265 starter code): validate after the update at global step s (counted from
  0) whenever ``s % (batches_per_epoch // 5) == 0``, so the first validation follows the first
  update. Lightning's ``val_check_interval=k`` validates after steps k-1, 2k-1, ... (it counts
  ``(batch_idx + 1) % k``), one step later than the starter, and restarts its count every epoch
  unless ``check_val_every_n_epoch=None``; no Trainer option gives steps 0, k, 2k, ... . So
  :class:`StarterValidation` measures the validation set itself at those steps and then tells
  Lightning's EarlyStopping and ModelCheckpoint that a validation ended.
* Early stopping (TDT4265 2d): Lightning's ``EarlyStopping(monitor="val/loss", mode="min",
  min_delta=0, patience=p)`` stops when p validations in a row were not strictly below the best;
  that is the starter's rule "the oldest of the last p + 1 validation losses is their minimum"
  (ties count as no improvement on both sides). ``ModelCheckpoint(monitor="val/loss",
  save_top_k=1)`` keeps the best weights (the earliest on ties: it replaces only on a strictly
  lower loss) and :class:`RestoreBest` loads them when early stopping ended training.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from pytorch_lightning.callbacks.early_stopping import EarlyStoppingReason

from numpy_impl.tdt4265 import validation_interval


class StarterValidation(Callback):
    """TDT4265's validation cadence: after the update at step s whenever s % interval == 0.

    Measures ``val/loss``, ``val/cost``, ``val/acc`` and ``train/acc`` (whole sets), logs them at
    step s (the step at which Lightning logs that update's ``train/loss``), then calls
    ``on_validation_end`` of the trainer's EarlyStopping and ModelCheckpoint callbacks, which is
    where they act after a validation of Lightning's own loop.
    """

    def __init__(self) -> None:
        self._limit_val_batches: Any = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            # this callback is the validation: Lightning's loop must not validate as well
            # (at each epoch's end, and again when early stopping ends an epoch)
            self._limit_val_batches, trainer.limit_val_batches = trainer.limit_val_batches, 0

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and self._limit_val_batches is not None:
            trainer.limit_val_batches = self._limit_val_batches

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step - 1  # the update just made, counted from 0
        if step % validation_interval(trainer.datamodule.batches_per_epoch):
            return
        metrics = pl_module.validation_metrics(*trainer.datamodule.tensors["val"])
        # Straight to the loggers rather than self.log(on_step=True): Lightning would log a
        # step value again at every later step of the epoch, and validations are sparse.
        for logger in trainer.loggers:
            logger.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)
        # where EarlyStopping, ModelCheckpoint, the LR scheduler and the progress bar read them
        trainer.callback_metrics.update(metrics)
        trainer.progress_bar_metrics.update({k: float(v) for k, v in metrics.items()})
        for callback in trainer.callbacks:
            if isinstance(callback, EarlyStopping | ModelCheckpoint):
                callback.on_validation_end(trainer, pl_module)


class TextEarlyStopping(EarlyStopping):
    """Lightning's EarlyStopping on ``val/loss``, checked after every validation; it also
    records the update step of the validation that stopped (``stopped_step``, counted from 0;
    ``stopped_epoch`` is Lightning's, counted from 0)."""

    def __init__(self, patience: int) -> None:
        super().__init__(monitor="val/loss", mode="min", min_delta=0.0, patience=patience,
                         check_on_train_epoch_end=False)
        self.stopped_step: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if self.stopped_step is None and self.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
            self.stopped_step = trainer.global_step - 1


class RestoreBest(Callback):
    """When early stopping ends training, load the weights of the lowest validation loss from
    the checkpoint that ``checkpoint`` kept (the TDT4265 text: "stop the training and return the
    weights at the minimum validation loss"). A run that reaches max_epochs keeps its final
    weights, as numpy_impl's trainer does. ``best_step`` / ``best_epoch`` say where the restored
    weights were validated (update step counted from 0)."""

    def __init__(self, checkpoint: ModelCheckpoint, early_stopping: TextEarlyStopping) -> None:
        self.checkpoint, self.early_stopping = checkpoint, early_stopping
        self.best_step: int | None = None
        self.best_epoch: int | None = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        path = self.checkpoint.best_model_path
        if self.early_stopping.stopped_step is None or not path:
            return  # not stopped early (or no finite validation loss was ever kept)
        state = trainer.strategy.load_checkpoint(path)
        pl_module.load_state_dict(state["state_dict"])
        self.best_step, self.best_epoch = state["global_step"] - 1, state["epoch"]


def validation_callbacks(validation: str, early_stopping_patience: int | None) -> list[Callback]:
    """The callbacks that carry out a model's ``validation`` rule and early stopping."""
    callbacks: list[Callback] = [StarterValidation()] if validation == "starter" else []
    if early_stopping_patience is not None:
        checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=1,
                                     save_on_train_epoch_end=False,
                                     filename="best-{epoch}-{step}")
        early_stopping = TextEarlyStopping(early_stopping_patience)
        callbacks += [early_stopping, checkpoint, RestoreBest(checkpoint, early_stopping)]
    return callbacks
