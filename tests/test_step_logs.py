"""The module keeps each training step's ``train/loss``, ``train/cost`` and ``lr`` and writes
them to the loggers in one go (lightning_ref.loggers.StepLogs, callbacks.WriteStepLogs), which
costs a fraction of Lightning's ``self.log`` per step: the loggers must get exactly what
``self.log`` gave them (the same tags, steps, values and ``epoch``, TensorBoard and CSV), with
both validation cadences, with ``log_every_n_steps``, and when training fails part-way (the
steps completed before the failure, not the one that failed)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import CSVLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_ref import MODELS, ExperimentDataModule
from lightning_ref.fit import lightning_validation_batches
from lightning_ref.loggers import TextTensorBoardLogger

RUNS = {  # model, its init args, the data module's (embedded MNIST subset), epochs
    "dd2424": ("DD2424Softmax", {"lr": 0.05, "lam": 0.01, "lr_step_epochs": 1},
               {"dataset": "mnist", "split": "dd2424", "batch_size": 50, "shuffle": True,
                "seed": 3}, 2),
    "tdt4265": ("TDT4265Softmax", {"lr": 0.05, "lam": 0.01, "validation": "starter",
                                   "early_stopping_patience": 3},
                {"dataset": "mnist", "split": "tdt4265", "batch_size": 256, "shuffle": True,
                 "seed": 4}, 2),
}


class Fail(Callback):
    """Raises at the start of update ``step`` (or in its on_train_batch_end: ``late``)."""

    def __init__(self, step: int, late: bool = False) -> None:
        self.step, self.late = step, late

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if not self.late and trainer.global_step == self.step:
            raise RuntimeError("stop here")

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.late and trainer.global_step - 1 == self.step:
            raise RuntimeError("stop here")


def fit(run: str, folder: Path, through_lightning: bool, fail: Fail | None = None,
        **trainer_kwargs: Any) -> tuple[dict, list[dict]]:
    """Fit ``run``; its TensorBoard scalars ({tag: [(step, value)]}) and CSV rows."""
    model_name, model_args, data_args, epochs = RUNS[run]
    dm = ExperimentDataModule(**data_args)
    model = MODELS[model_name](**model_args, initial_parameters=dm.initial_parameters)
    if through_lightning:  # the reference: Lightning's own self.log at every step
        model.logs_steps_through_lightning = lambda: True
    loggers = [TextTensorBoardLogger(str(folder), name="tb", version=0, default_hp_metric=False),
               CSVLogger(str(folder), name="csv", version=0)]
    trainer = pl.Trainer(
        max_epochs=epochs, precision="64-true", accelerator="cpu", default_root_dir=folder,
        limit_val_batches=lightning_validation_batches(model.validation), logger=loggers,
        callbacks=[fail] if fail else [], enable_progress_bar=False,
        enable_model_summary=False, **{"log_every_n_steps": 1, **trainer_kwargs})
    if fail is None:
        trainer.fit(model, datamodule=dm)
    else:
        with pytest.raises(RuntimeError, match="stop here"):
            trainer.fit(model, datamodule=dm)
    for logger in loggers:
        logger.finalize("success")
    acc = EventAccumulator(str(folder / "tb" / "version_0"), size_guidance={"scalars": 0})
    acc.Reload()
    scalars = {tag: [(e.step, e.value) for e in acc.Scalars(tag)]
               for tag in acc.Tags()["scalars"]}
    with open(folder / "csv" / "version_0" / "metrics.csv") as f:
        rows = sorted((dict(r) for r in csv.DictReader(f)),
                      key=lambda r: (int(r["step"]), sorted(k for k, v in r.items() if v)))
    return scalars, rows


def assert_logged_alike(run: str, tmp_path: Path, **kwargs: Any) -> dict:
    ours = fit(run, tmp_path / "ours", False, **kwargs)
    reference = fit(run, tmp_path / "reference", True, **kwargs)
    assert set(ours[0]) == set(reference[0])
    for tag in reference[0]:
        assert ours[0][tag] == reference[0][tag], tag  # steps and values, in order
    assert ours[1] == reference[1]  # every CSV row (the same values to the last digit)
    return ours[0]


@pytest.mark.parametrize("run", sorted(RUNS))
def test_step_metrics_are_logged_as_self_log_logs_them(run: str, tmp_path: Path) -> None:
    scalars = assert_logged_alike(run, tmp_path)
    steps = [s for s, _ in scalars["train/loss"]]
    assert steps == list(range(len(steps))) and len(steps) > 10  # every step
    assert {"train/cost", "lr", "epoch", "val/loss"} <= set(scalars)
    assert [s for s, _ in scalars["epoch"]] == steps  # once per step


def test_log_every_n_steps_is_kept(tmp_path: Path) -> None:
    scalars = assert_logged_alike("dd2424", tmp_path, log_every_n_steps=3)
    steps = [s for s, _ in scalars["train/loss"]]
    assert len(steps) > 3 and all((s + 1) % 3 == 0 for s in steps[:-1]), steps


@pytest.mark.parametrize("late", [False, True])
def test_a_failed_fit_logs_the_steps_completed_before_it(late: bool, tmp_path: Path) -> None:
    scalars = assert_logged_alike("tdt4265", tmp_path, fail=Fail(5, late))
    assert [s for s, _ in scalars["train/loss"]] == list(range(5))
