"""A quiet terminal for the Lightning-based commands: what matters, and nothing else.

Lightning announces the hardware ("GPU available: False ..."), advertises two cloud products in
"Tip:" lines and prints the seed, all at INFO through the ``pytorch_lightning`` and
``lightning_fabric`` loggers, which the commands raise to WARNING (warnings and errors still
show). torch warns from inside Lightning's ``_pytree`` module about an API Lightning calls
(``isinstance(treespec, LeafSpec)``): a dependency's deprecation the user can do nothing about;
nor about ModelCheckpoint's warning that a resumed run's checkpoint folder is not empty.
The progress bar shows the epoch, the batch's loss and the latest validation accuracy, so it
fits an 80-column terminal.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar

#: What the progress bar shows besides the epoch and the step count.
PROGRESS_METRICS = ("train/loss", "val/acc")


def quiet_lightning() -> None:
    """Silence Lightning's start-up chatter and the dependencies' deprecation warnings."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # a resumed run goes on in its own folder, where its checkpoints are expected
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")


class TextProgressBar(TQDMProgressBar):
    """Lightning's progress bar with only :data:`PROGRESS_METRICS` (no ``v_num``) and without
    the rate, so that a line stays within 80 columns even where tqdm cannot measure the
    terminal (output to a file or a pipe)."""

    BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule
                    ) -> dict[str, Any]:
        metrics = super().get_metrics(trainer, pl_module)
        return {k: v for k, v in metrics.items() if k in PROGRESS_METRICS}


class EpochLines(pl.Callback):
    """Instead of a progress bar where there is no terminal (a pipe, a file, CI): one line per
    epoch on stdout, where the bar would go, with the steps done and :data:`PROGRESS_METRICS`."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        total = trainer.num_training_batches
        shown = [f"{k} {float(v):.4f}" for k, v in trainer.progress_bar_metrics.items()
                 if k in PROGRESS_METRICS]
        print(f"Epoch {trainer.current_epoch}: {done}/{total} steps"
              + "".join(f", {s}" for s in shown), flush=True)
