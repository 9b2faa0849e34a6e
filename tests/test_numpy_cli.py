"""``python -m numpy_impl`` trains every experiment of both texts on small data and saves it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from numpy_impl import dd2424
from numpy_impl.__main__ import main
from numpy_impl.run.exits import ExitCode
from numpy_impl.run.experiments import experiment_names, experiment_split, load_experiment
from numpy_impl.run.train import run_experiment

REPO = Path(__file__).resolve().parent.parent


def small(name: str, cifar_root: Path) -> list[str]:
    """Overrides that make an experiment a two-epoch run on small data."""
    args = ["--trainer.max_epochs", "2"]
    if name.startswith("dd2424"):
        args += ["--data.root", str(cifar_root), "--data.val_size", "100"]
    return args


@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_trains(name: str, cifar_root: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture) -> None:
    assert main([name, "--runs-dir", str(tmp_path), *small(name, cifar_root)]) == 0
    out = capsys.readouterr().out
    assert "final:" in out and "val/acc" in out
    run = tmp_path / name / "version_0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["val/acc"] <= 1
    weights = np.load(run / "weights.npz")
    assert set(weights.files) in ({"w"}, {"W", "b"})
    assert np.isfinite(weights[weights.files[0]]).all()


def test_the_default_run_says_it_uses_the_embedded_subset(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(REPO)
    capsys.readouterr()
    assert main(["--runs-dir", str(tmp_path), "--trainer.max_epochs", "1"]) == 0
    stdout, stderr = capsys.readouterr()
    assert "embedded MNIST subset" in stdout
    assert "train 800, val 200" in stdout
    assert "val/acc" in stdout
    assert "6/6 steps" in stderr  # not a terminal: one line for the epoch of six steps


def test_early_stopping_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["tdt4265/task2d", "--runs-dir", str(tmp_path)]) == 0
    run = tmp_path / "tdt4265" / "task2d" / "version_0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stopped_step"] - metrics["best_step"] == 10  # 10 validations, one per step
    assert f"at step {metrics['stopped_step']}" in capsys.readouterr().out


def test_dd2424_on_the_embedded_mnist_subset(tmp_path: Path) -> None:
    exp = load_experiment("dd2424/setting2", {"data.dataset": "mnist", "data.root": None,
                                              "trainer.max_epochs": 3})
    result = run_experiment(exp, tmp_path, verbose=False)
    costs = result.history["train_cost"]
    assert costs[0] > costs[1] > costs[2]  # eta = .001 decreases the training cost every epoch
    assert result.metrics["test/acc"] > 0.25  # 24 small steps; chance is 0.1


def test_errors_are_plain_words(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["dd2424/setting1", "--data.root", str(tmp_path)]) == ExitCode.DATA == 4
    err = capsys.readouterr().err
    assert "data_batch_1" in err and "--data.download true" in err
    assert main(["tdt4265/task2b", "--model.lr_typo", "1"]) == 2  # usage: 2
    assert "lr_typo" in capsys.readouterr().err
    assert main(["tdt4265/task2b", "stray"]) == 2
    assert capsys.readouterr().err == "error: unrecognized arguments: stray\n"


@pytest.mark.slow
def test_the_grid_reports_every_run(cifar_root: Path, tmp_path: Path) -> None:
    from numpy_impl.run.grid import run_grid

    rows = run_grid("dd2424_bonus", {"trainer.max_epochs": 1, "data.root": str(cifar_root),
                                     "data.val_size": 100}, tmp_path, verbose=False)
    assert len(rows) == 4 * 3 * 3
    assert {(r["model.lam"], r["model.lr"], r["data.batch_size"]) for r in rows} == {
        (lam, lr, b) for lam in (0.0, 0.001, 0.01, 0.1) for lr in (0.001, 0.005, 0.01)
        for b in (20, 100, 500)}
    assert json.loads((tmp_path / "grid" / "results.json").read_text()) == rows


CIFAR_ROOT = os.environ.get("DD2424_CIFAR_ROOT")


@pytest.mark.skipif(CIFAR_ROOT is None, reason="set DD2424_CIFAR_ROOT to a folder holding "
                    "cifar-10-batches-py/ to check the text's reference numbers on real data")
def test_the_texts_reference_numbers_on_real_cifar10() -> None:
    """DD2424: seed 42, W before b, n_batch 100, eta .001, lam 0: training cost 1.972 after the
    first epoch; test accuracy 39.13% after 40 shuffled epochs."""
    exp = load_experiment("dd2424/setting2", {"data.root": CIFAR_ROOT})
    split = experiment_split(exp)
    rng = dd2424.make_rng(exp.seed)
    init = dd2424.init_network(10, 3072, rng)
    params = {"n_batch": 100, "eta": 0.001, "n_epochs": 40, "shuffle": True}
    network, history = dd2424.mini_batch_gd(split.X_train, split.Y_train, params, init, 0.0, rng)
    assert round(history["train_cost"][0], 3) == 1.972
    P = dd2424.apply_network(split.X_test, network)
    assert round(100 * dd2424.compute_accuracy(P, split.Y_test.argmax(0)), 2) == 39.13


def test_the_reference_recipe_runs_on_generated_cifar_files(cifar_root: Path) -> None:
    """The code path of the test above, on generated files in the real format."""
    exp = load_experiment("dd2424/setting2", {"data.root": str(cifar_root)})
    split = experiment_split(exp)
    rng = dd2424.make_rng(exp.seed)
    init = dd2424.init_network(10, 3072, rng)
    params = {"n_batch": 100, "eta": 0.001, "n_epochs": 2, "shuffle": True}
    _, history = dd2424.mini_batch_gd(split.X_train, split.Y_train, params, init, 0.0, rng)
    y = split.Y_train.argmax(0)
    initial_cost = dd2424.compute_cost(dd2424.apply_network(split.X_train, init), y, init, 0.0)
    assert history["train_cost"][1] < history["train_cost"][0] < initial_cost
