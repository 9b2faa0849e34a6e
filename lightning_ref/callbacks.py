"""Each text's validation cadence, early stopping and best-weight restore, as Lightning callbacks.

* ``"epoch"`` (DD2424): Lightning's own validation loop after every epoch (the module's
  ``validation_step``); Lightning's EarlyStopping and ModelCheckpoint act on it as usual.
* ``"starter"`` (TDT4265 starter code): validate after the update at global step s (counted from
  0) whenever ``s % (batches_per_epoch // 5) == 0``, so the first validation follows the first
  update. This is the one rule of the texts that Lightning cannot express: its
  ``val_check_interval=k`` validates after steps k-1, 2k-1, ... (it counts ``(batch_idx + 1) %
  k``), one step later than the starter, and restarts its count every epoch unless
  ``check_val_every_n_epoch=None``; no Trainer option gives steps 0, k, 2k, ... (running
  Lightning's loop after every step and skipping the others costs ~0.75 ms a step, more than
  the step itself on these sizes). So :class:`StarterValidation` measures the sets itself at
  those steps, and the Trainer's own validation loop is off (``trainer.limit_val_batches=0``;
  ``python -m lightning_ref.fit`` sets it from ``model.validation``). The early stopping and
  the checkpoint of the best weights then act after each of those validations, through
  Lightning's public API: :class:`TextEarlyStopping` runs EarlyStopping's check from
  ``on_train_batch_end`` (the subclassing pattern Lightning's EarlyStopping documentation
  shows) and ModelCheckpoint checks after every update (``every_n_train_steps=1``), where the
  monitored ``val/loss`` changes only at a validation.
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

from numpy_impl.steps import check_finite
from numpy_impl.tdt4265 import validation_interval


def last_step(trainer: pl.Trainer) -> int:
    """The step of the update just made, counted from 0 as the texts and the NumPy side count
    (Lightning's ``global_step`` counts the updates made, so it is one more)."""
    return trainer.global_step - 1


def starter_validates(trainer: pl.Trainer) -> bool:
    """Whether the update just made (step :func:`last_step`) is followed by one of the
    starter's validations."""
    return last_step(trainer) % validation_interval(trainer.num_training_batches) == 0


class StarterValidation(Callback):
    """TDT4265's validation cadence: after the update at step s whenever s % interval == 0.

    Measures ``val/loss``, ``val/cost``, ``val/acc`` (the whole validation set) and ``train/acc``
    (the whole training set, the data module's two validation loaders), writes them to the
    loggers at step s (the step at which Lightning logs that update's ``train/loss``), and logs
    them to the module's ``callback_metrics`` and progress bar for the callbacks that act on a
    validation (``logger=False``: a value logged on_step from a callback would be written again
    at every later step of the epoch).
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.limit_val_batches != 0:
            raise ValueError("model.validation 'starter' validates after the starter's steps "
                             "itself: Lightning's own validation loop must be off "
                             "(trainer.limit_val_batches=0)")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if not starter_validates(trainer):
            return
        val, train = (next(iter(loader)) for loader in trainer.datamodule.val_dataloader())
        metrics = pl_module.validation_metrics(val, train)
        for logger in trainer.loggers:
            logger.log_metrics({k: float(v) for k, v in metrics.items()},
                               step=last_step(trainer))
        pl_module.log_dict(metrics, on_step=True, on_epoch=False, prog_bar=True, logger=False,
                           sync_dist=True, batch_size=1)


class TextEarlyStopping(EarlyStopping):
    """Lightning's EarlyStopping on ``val/loss``, checked after every validation of the model's
    cadence (``"epoch"``: Lightning's loop; ``"starter"``: the steps StarterValidation measures);
    it also records the update step of the validation that stopped (``stopped_step``, counted
    from 0; ``stopped_epoch`` is Lightning's, counted from 0)."""

    def __init__(self, patience: int, validation: str = "epoch") -> None:
        super().__init__(monitor="val/loss", mode="min", min_delta=0.0, patience=patience,
                         check_on_train_epoch_end=False)
        self.validation = validation
        self.stopped_step: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.validation == "epoch":
            super().on_validation_end(trainer, pl_module)
            self._record_stop(trainer)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.validation == "starter" and starter_validates(trainer):
            self._run_early_stopping_check(trainer)
            self._record_stop(trainer)

    def state_dict(self) -> dict[str, Any]:
        # EarlyStopping's own state, and the step it stopped at (for a resumed run's summary)
        return {**super().state_dict(), "stopped_step": self.stopped_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.stopped_step = state_dict.get("stopped_step")

    def _record_stop(self, trainer: pl.Trainer) -> None:
        if self.stopped_step is None and self.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
            self.stopped_step = last_step(trainer)


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

    def state_dict(self) -> dict[str, Any]:
        # a final checkpoint (saved after the restore) says which weights it holds
        return {"best_step": self.best_step, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_step, self.best_epoch = state_dict["best_step"], state_dict["best_epoch"]


def validation_callbacks(validation: str, early_stopping_patience: int | None) -> list[Callback]:
    """The callbacks that carry out a model's ``validation`` rule and early stopping."""
    callbacks: list[Callback] = [StarterValidation()] if validation == "starter" else []
    if early_stopping_patience is not None:
        # "starter": check after every update, where val/loss changes only at a validation
        per_step = {"every_n_train_steps": 1} if validation == "starter" else {}
        checkpoint = ModelCheckpoint(monitor="val/loss", mode="min", save_top_k=1,
                                     save_on_train_epoch_end=False,
                                     filename="best-{epoch}-{step}", **per_step)
        early_stopping = TextEarlyStopping(early_stopping_patience, validation)
        callbacks += [early_stopping, checkpoint, RestoreBest(checkpoint, early_stopping)]
    return callbacks


class WriteStepLogs(Callback):
    """Writes the module's per-step training metrics (:class:`lightning_ref.loggers.StepLogs`,
    kept by ``training_step``) to the loggers: before each of Lightning's validations (so that
    a validation's metrics follow the steps before them, and TextTensorBoardLogger keeps the
    update's ``epoch``), at each epoch's end, at the end of training, and when training fails
    or is interrupted (the steps completed before it)."""

    @staticmethod
    def write(trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logs = getattr(pl_module, "step_logs", None)
        if logs is not None:
            logs.write(trainer.loggers)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.write(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.write(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.write(trainer, pl_module)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self.write(trainer, pl_module)  # before Lightning finalises (closes) the loggers


class StopOnDivergence(Callback):
    """A non-finite batch loss or cost J, or validation loss or cost, stops training at its step
    with :class:`numpy_impl.steps.Diverged` (the same check and message as the NumPy side's,
    :func:`numpy_impl.steps.check_finite`). The batch's values are checked after its update; a
    validation's once it has been logged (before the next batch, at a validation's end, or at
    the end of training), under the step it followed."""

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        # the module's values of this step (in one process Lightning's callback_metrics do not
        # hold them: the module writes them to the loggers itself, lightning_ref.loggers.StepLogs;
        # under DDP the synced means it logs, so that every rank stops at the same step)
        metrics = (trainer.callback_metrics if trainer.world_size > 1
                   else getattr(pl_module, "step_values", {}))
        self._check(trainer, {tag: metrics[tag] for tag in ("train/loss", "train/cost")
                              if tag in metrics})

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        self._check_validation(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check_validation(trainer)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._check_validation(trainer)

    def _check_validation(self, trainer: pl.Trainer) -> None:
        metrics = trainer.callback_metrics
        self._check(trainer, {tag: metrics[tag] for tag in ("val/loss", "val/cost")
                              if tag in metrics})

    @staticmethod
    def _check(trainer: pl.Trainer, values: dict[str, Any]) -> None:
        if trainer.global_step > 0:
            check_finite(values, last_step(trainer), trainer.current_epoch,
                         trainer.optimizers[0].param_groups[0]["lr"])
