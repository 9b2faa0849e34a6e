"""``python -m lightning_ref.fit``: --help, a short run of every experiment definition, and
whole runs held against numpy_impl's trainers (weights, early stopping, learning rates,
logged losses and validation steps), plus resuming from a checkpoint."""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import CSVLogger

from lightning_ref import MODELS, ExperimentDataModule
from lightning_ref.callbacks import RestoreBest, TextEarlyStopping
from lightning_ref.fit import (
    DEFAULT_CONFIG,
    lightning_validation_batches,
    main,
    with_default_config,
)
from numpy_impl.run.experiments import CONFIG_DIR, Experiment, experiment_names, load_experiment
from numpy_impl.run.train import run_experiment

REPO = Path(__file__).resolve().parent.parent
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@pytest.mark.slow
def test_help() -> None:
    """--help: the project's flags; --help-all: LightningCLI's full help, every Trainer option."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "lightning_ref.fit", "--help"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for flag in ("--config", "--model", "--trainer.max_epochs", "--data.root",
                 "--data.download", "--data.backend", "--help-all"):
        assert flag in out.stdout
    out = subprocess.run([sys.executable, "-m", "lightning_ref.fit", "--help-all"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--trainer.strategy" in out.stdout
    assert "seed_everything --> data.seed" in out.stdout  # the one seed
    assert "--optimizer" not in out.stdout  # SGD and the decay are the model's own
    assert "warn" not in out.stderr.lower()


def test_model_help_lists_the_init_args(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--model.help", "TDT4265Softmax"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for arg in ("lr", "lam", "validation", "early_stopping_patience", "lr_step_epochs",
                "lr_plateau_patience"):
        assert f"--model.{arg}" in out


def test_default_is_task2b() -> None:
    assert with_default_config([]) == ["--config", str(DEFAULT_CONFIG)]
    assert with_default_config(["--model.lam", "1"])[:2] == ["--config", str(DEFAULT_CONFIG)]
    assert with_default_config(["--config", "x.yaml"]) == ["--config", "x.yaml"]
    assert DEFAULT_CONFIG == CONFIG_DIR / "tdt4265" / "task2b.yaml"


@pytest.mark.parametrize("name", experiment_names())
def test_every_config_runs(name: str, cifar_root: Path, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Each configs/ file unchanged, a few steps: TDT4265 on the embedded subset, DD2424 on
    generated CIFAR-10 batches (the real set is not here)."""
    monkeypatch.chdir(tmp_path)  # runs/lightning/... lands here
    args = ["--config", str(CONFIG_DIR / f"{name}.yaml"), "--trainer.max_epochs", "1",
            "--trainer.limit_train_batches", "3", *QUIET]
    if name.startswith("dd2424"):
        args += ["--data.root", str(cifar_root), "--data.val_size", "100"]
    metrics = main(args)
    assert metrics and all(np.isfinite(v) for v in metrics.values())
    assert ("test/acc" in metrics) == name.startswith("dd2424")
    out = capsys.readouterr().out
    log_dir = tmp_path / "runs" / "lightning" / name / "version_0"
    assert f"TensorBoard logs: {Path('runs', 'lightning', name, 'version_0')}" in out
    assert "-m tensorboard.main --logdir" in out and "checkpoint" in out
    assert "final metrics (" in out
    assert list(log_dir.glob("events.out.tfevents.*"))


def test_no_arguments_runs_task2b(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    metrics = main(["--trainer.max_epochs", "2", *QUIET])
    assert metrics["val/acc"] > 0.8  # 2 vs 3 after two epochs on the embedded subset
    assert (tmp_path / "runs" / "lightning" / "tdt4265" / "task2b" / "version_0").is_dir()
    assert "checkpoint (last)" in capsys.readouterr().out


# --------------------------------------------------------------------------- parity with numpy


class LearningRates(Callback):
    """The learning rate each epoch trained with."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def fit_like_numpy(exp: Experiment, tmp_path: Path, **trainer_kwargs):
    """The experiment through lightning_ref with a plain Trainer; returns the module, the data
    module, the trainer and the learning-rate recorder."""
    dm = ExperimentDataModule(**dataclasses.asdict(exp.data), seed=exp.seed,
                              precision=exp.trainer.precision)
    model = MODELS[exp.model](**dataclasses.asdict(exp.model_args),
                              initial_parameters=dm.initial_parameters)
    rates = LearningRates()
    trainer = pl.Trainer(
        max_epochs=exp.max_epochs, precision=exp.trainer.precision,
        limit_val_batches=lightning_validation_batches(exp.validation),
        accelerator="cpu", default_root_dir=tmp_path, callbacks=[rates],
        enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1,
        **{"logger": CSVLogger(tmp_path, name="csv"), **trainer_kwargs})
    trainer.fit(model, datamodule=dm)
    return model, dm, trainer, rates


def assert_same_weights(model, params: dict[str, np.ndarray], rtol: float = 1e-12) -> None:
    got = {k: p.detach().numpy() for k, p in model.named_parameters()}
    assert got.keys() == params.keys()
    for key, value in params.items():
        assert np.abs(got[key] - value).max() <= rtol * np.abs(value).max(), key


def csv_series(trainer: pl.Trainer, tag: str) -> dict[int, float]:
    trainer.logger.save()
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as f:
        return {int(r["step"]): float(r[tag]) for r in csv.DictReader(f) if r.get(tag)}


def test_early_stopping_run_matches_numpy(tmp_path: Path) -> None:
    """Task 2e (shuffling, early stopping): same stop, same restored weights, the same training
    loss at every step and validations at the same steps with the same losses."""
    exp = load_experiment("tdt4265/task2e", {"trainer.max_epochs": 40})
    reference = run_experiment(exp, runs_dir=None, verbose=False)
    assert reference.metrics["stopped_step"] is not None, "the reference run must stop early"
    model, _, trainer, _ = fit_like_numpy(exp, tmp_path)
    stopper = next(cb for cb in trainer.callbacks if isinstance(cb, TextEarlyStopping))
    restore = next(cb for cb in trainer.callbacks if isinstance(cb, RestoreBest))
    assert (stopper.stopped_epoch, stopper.stopped_step) == (
        reference.metrics["stopped_epoch"], reference.metrics["stopped_step"])
    assert restore.best_step == min(reference.history["val"]["loss"],
                                    key=reference.history["val"]["loss"].get)
    assert_same_weights(model, reference.params)
    train_loss, val_loss = csv_series(trainer, "train/loss"), csv_series(trainer, "val/loss")
    assert list(train_loss) == list(reference.history["train"]["loss"])
    np.testing.assert_allclose(list(train_loss.values()),
                               list(reference.history["train"]["loss"].values()), rtol=1e-12)
    assert list(val_loss) == list(reference.history["val"]["loss"])
    np.testing.assert_allclose(list(val_loss.values()),
                               list(reference.history["val"]["loss"].values()), rtol=1e-12)
    # the CSV logger writes the accuracy in float32
    train_acc = csv_series(trainer, "train/acc")
    assert train_acc == pytest.approx(reference.history["train"]["accuracy"], abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    {"model.lr": 0.3, "model.lr_plateau_patience": 0, "trainer.max_epochs": 6},  # 2.1d plateau
    {"model.lr_step_epochs": 1, "trainer.max_epochs": 3, "model.lam": 0.01},  # 2.1d step decay
    {"data.flip": True, "trainer.max_epochs": 2, "model.lam": 0.01},  # 2.1b flips
])
def test_dd2424_run_matches_numpy(overrides: dict, tmp_path: Path) -> None:
    """DD2424's recipe on the embedded MNIST subset: same weights and learning rates."""
    exp = load_experiment("dd2424/bonus_all_data", {
        "data.dataset": "mnist", "data.root": None, "data.val_size": 500, **overrides})
    reference = run_experiment(exp, runs_dir=None, verbose=False)
    model, _, trainer, rates = fit_like_numpy(exp, tmp_path)
    assert_same_weights(model, reference.params)
    assert rates.rates == pytest.approx(reference.history["eta"], rel=1e-15)
    val_cost = csv_series(trainer, "val/cost")
    np.testing.assert_allclose(list(val_cost.values()), reference.history["val_cost"],
                               rtol=1e-12)


def test_multiple_bce_float32_matches_numpy(tmp_path: Path) -> None:
    exp = load_experiment("dd2424/bonus_multi_bce", {
        "data.dataset": "mnist", "data.root": None, "trainer.max_epochs": 2, "model.lam": 0.1,
        "trainer.precision": "32-true"})
    reference = run_experiment(exp, runs_dir=None, verbose=False)
    model, _, _, _ = fit_like_numpy(exp, tmp_path)
    assert model.W.dtype == torch.float32
    assert_same_weights(model, reference.params, rtol=1e-5)


@pytest.mark.slow
def test_resumed_run_draws_what_an_uninterrupted_one_would(tmp_path: Path) -> None:
    """The checkpoint holds the generator's state: epoch 2 after resuming from epoch 1's
    checkpoint shuffles and flips as in an uninterrupted run, and ends with the same weights."""
    overrides = {"data.dataset": "mnist", "data.root": None, "data.val_size": 500}
    exp = load_experiment("dd2424/bonus_flip", {**overrides, "trainer.max_epochs": 2})
    whole, _, _, _ = fit_like_numpy(exp, tmp_path / "whole", logger=False)
    fit_like_numpy(load_experiment("dd2424/bonus_flip", {**overrides, "trainer.max_epochs": 1}),
                   tmp_path / "first", logger=False)
    (checkpoint,) = (tmp_path / "first" / "checkpoints").glob("*.ckpt")
    dm = ExperimentDataModule(exp.dataset, exp.split, exp.batch_size, exp.root,
                              shuffle=exp.shuffle, flip=exp.flip, val_size=exp.val_size,
                              seed=exp.seed)
    model = MODELS[exp.model](lr=exp.lr, lam=exp.lam, initial_parameters=dm.initial_parameters)
    trainer = pl.Trainer(max_epochs=2, precision="64-true", accelerator="cpu", logger=False,
                        default_root_dir=tmp_path / "resumed", enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(model, datamodule=dm, ckpt_path=checkpoint)
    for (key, p), q in zip(model.named_parameters(), whole.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=key)
    # and a module built from the checkpoint alone (no initial parameters) loads it
    loaded = MODELS[exp.model].load_from_checkpoint(checkpoint)
    state = torch.load(checkpoint, weights_only=True)
    assert state["ExperimentDataModule"]["rng"]["bit_generator"] == "PCG64"
    assert loaded.hparams.lr == exp.lr
    for key, p in loaded.named_parameters():
        torch.testing.assert_close(p.detach(), state["state_dict"][key], rtol=0, atol=0)


def test_print_config_of_a_named_experiment(capsys: pytest.CaptureFixture) -> None:
    """``fit NAME --print_config`` prints that experiment's configuration (the name given as
    LightningCLI's --config), not task 2b's, and a name that is not one is one line, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["tdt4265/task3b", "--print_config"])
    assert exit_info.value.code == 0
    config = yaml.safe_load(capsys.readouterr().out)
    task3b = yaml.safe_load((REPO / "configs" / "tdt4265" / "task3b.yaml").read_text())
    assert config["model"]["init_args"]["lr"] == task3b["model"]["init_args"]["lr"]
    assert config["trainer"]["max_epochs"] == task3b["trainer"]["max_epochs"]
    with pytest.raises(SystemExit) as exit_info:
        main(["nosuch", "--print_config"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: no experiment 'nosuch'")
