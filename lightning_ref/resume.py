"""Interrupting a Lightning run and resuming it exactly, and the checkpoint of its final weights.

* :class:`AtomicCheckpointIO`: Lightning writes a checkpoint through fsspec, whose local
  "transaction" writes a temporary file in the system's temporary folder and then moves it,
  which is a copy (not a rename) when that folder is on another file system, so a crash can
  leave half a checkpoint. This plugin writes every checkpoint with
  :func:`numpy_impl.run.runfiles.write_bytes` (a temporary file in the same folder, fsync, rename).
* :class:`LastCheckpoint`: ``last.ckpt``, beside the best checkpoint, holds the run's latest
  state: the final weights when fit ends (after :class:`~lightning_ref.callbacks.RestoreBest`,
  so they are the weights whose metrics the run prints), or the last completed step when
  SIGINT or SIGTERM stopped it (:meth:`LastCheckpoint.interruptible`). Either resumes with
  ``trainer.fit(ckpt_path=...)``; it also ends a resumed epoch as an uninterrupted run would
  (the plateau decay included).

Why a step boundary and not the signal's moment: a step cut in half is no state to resume from.
The signal handler only raises a flag; the next ``on_train_batch_end`` after the flag (this
callback runs after every other one, so the starter's validation, the early stopping and the
best checkpoint have seen the step) saves the checkpoint, as Lightning's own
``ModelCheckpoint(every_n_train_steps=...)`` does, and the next batch's start raises
:class:`Interrupted` (by then the step's metrics are in the logs). An epoch's last step is not
such a boundary: Lightning resumes a checkpoint saved there as a finished epoch and would skip
that epoch's end (its validation, the learning-rate decay), so the run stops after the next
epoch's first step instead (or at the end of fit). Lightning's own SIGTERM handling (a
``SystemExit`` with status 0 at the next epoch's end) is replaced while training.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.plugins.io import TorchCheckpointIO

from lightning_ref.callbacks import last_step
from numpy_impl.run import runfiles
from numpy_impl.run.interrupt import Interrupted, Signals

LAST = "last.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint format, written atomically (readers see the old file or the whole
    new one)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        runfiles.write_bytes(path, buffer.getvalue())


def checkpoint_dir(trainer: pl.Trainer) -> Path:
    """Where the run's checkpoints go: the ModelCheckpoint's folder, else the log folder's
    ``checkpoints/`` (Lightning's layout)."""
    callback = trainer.checkpoint_callback
    if callback is not None and getattr(callback, "dirpath", None):
        return Path(callback.dirpath)
    return Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"


class LastCheckpoint(Callback):
    """Saves ``last.ckpt``: the final state when fit ends, or the last completed step when a
    signal caught by :meth:`interruptible` asked to stop (then raises :class:`Interrupted`).
    ``path`` is the latest one saved."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder  # where last.ckpt goes (None: the run's checkpoint folder)
        # graceful between on_train_start and on_train_end: the run stops at a step boundary
        self.signals = Signals(at_once=self.stopped_at_once)
        self.handling = False  # interruptible() is active (the process's signal handlers)
        self.stop_at_next_batch = False
        self.path: Path | None = None

    @property
    def signum(self) -> int | None:
        """The signal that asked the run to stop (None: none yet)."""
        return self.signals.signum

    def stopped_at_once(self, signum: int) -> Interrupted:
        """What a signal outside training, or a second one, raises: the latest checkpoint
        saved, if any."""
        return Interrupted(signum, -1, self.path)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the run: at the next step boundary while training (see the
        module), at once otherwise (:class:`Interrupted`). The previous handlers come back."""
        with self.signals.installed():
            self.handling = True
            try:
                yield
            finally:
                self.handling = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # Last of all callbacks (after the model's), so that a step's checkpoint holds what the
        # others did after it. A new list: Lightning is iterating the current one.
        trainer.callbacks = [cb for cb in trainer.callbacks if cb is not self] + [self]

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.signals.graceful = True
        if self.handling:  # over Lightning's SignalConnector, which fit has just installed
            self.signals.reinstall(signal.SIGTERM)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if self.stop_at_next_batch:
            assert self.signum is not None
            raise Interrupted(self.signum, last_step(trainer), self.path)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if (self.signum is not None and not trainer.should_stop
                and done < trainer.num_training_batches and self.ready(trainer)):
            self.save(trainer)
            self.stop_at_next_batch = True

    def ready(self, trainer: pl.Trainer) -> bool:
        """Whether the step just made (a step boundary, see the module) is where to stop; a
        subclass may wait for a later one (compare waits for its NumPy side)."""
        return True

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The end of an epoch resumed mid-way: Lightning, still "restarting", would skip the
        # ReduceLROnPlateau step (its metric might be missing after a restart inside a
        # validation); here the epoch's validation has run in full since the resume, so the
        # epoch ends as in an uninterrupted run.
        if trainer.fit_loop.restarting:
            trainer.fit_loop.restarting = False

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.signals.graceful = False
        self.save(trainer)
        if self.signum is not None:
            raise Interrupted(self.signum, last_step(trainer), self.path)

    def save(self, trainer: pl.Trainer) -> None:
        self.path = (self.folder or checkpoint_dir(trainer)) / LAST
        trainer.save_checkpoint(self.path)
