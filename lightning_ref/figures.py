"""The texts' figures in TensorBoard: learnt weights as class templates, and (DD2424 2.2) the
ground-truth-class probability of correctly and incorrectly classified test images."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import TensorBoardLogger
from torch import Tensor

TEMPLATES_TAG = "weights/class_templates"
HISTOGRAM_TAGS = {True: "test/p_true_class_correct", False: "test/p_true_class_incorrect"}


def class_templates(weights: Tensor, image_shape: tuple[int, int, int]) -> Tensor:
    """One image per class, (K, C, H, W) in [0, 1], from one row of weights per class.

    A row is an image stored channel-major (CIFAR-10's layout: all of R row by row, then G,
    then B; MNIST has one channel). Each class is normalised on its own, as the DD2424 text
    does: ``(w - min) / (max - min)``; a constant row (zero weights) gives a black tile.
    """
    height, width, channels = image_shape
    w = weights.detach().to("cpu", torch.float64).reshape(-1, channels, height, width)
    low = w.amin(dim=(1, 2, 3), keepdim=True)
    span = w.amax(dim=(1, 2, 3), keepdim=True) - low
    return torch.where(span > 0, (w - low) / torch.where(span > 0, span, 1), 0.0)


def _tensorboards(trainer: pl.Trainer) -> list[Any]:
    """The SummaryWriters of the run's TensorBoard loggers (none on ranks other than 0)."""
    if not trainer.is_global_zero:
        return []
    return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]


class ClassTemplates(Callback):
    """At the end of training, the learnt weights as a row of class-template images
    (TDT4265 task 4b: a 28x28 tile per digit; DD2424: a 32x32x3 tile per CIFAR class)."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        writers = _tensorboards(trainer)
        if not writers:
            return
        images = class_templates(pl_module.class_weights(), trainer.datamodule.split.image_shape)
        for writer in writers:
            writer.add_images(TEMPLATES_TAG, images, trainer.global_step, dataformats="NCHW")
            writer.flush()


class GroundTruthHistograms(Callback):
    """DD2424 Exercise 2.2: histograms of the probability the model gives the ground-truth class,
    for the test images it classifies correctly and for those it gets wrong."""

    def on_test_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                          batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        writers = _tensorboards(trainer)
        if not writers:
            return
        X, Y = batch
        with torch.no_grad():
            scores = pl_module(X)
        labels = pl_module.labels(Y)
        p_true = pl_module.probabilities(scores).gather(0, labels[None, :])[0].cpu()
        correct = (pl_module.predictions(scores) == labels).cpu()  # as the accuracy counts
        for writer in writers:
            for is_correct, tag in HISTOGRAM_TAGS.items():
                values = p_true[correct == is_correct]
                if values.numel():
                    writer.add_histogram(tag, values, trainer.global_step, bins="auto")
            writer.flush()
