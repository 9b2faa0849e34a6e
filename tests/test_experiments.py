"""The experiment definitions: every file loads, overrides reach the right field, bad input
gets an error that names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from numpy_impl.run.experiments import (
    CONFIG_DIR,
    DEFAULT_EXPERIMENT,
    ExperimentError,
    experiment_names,
    load_experiment,
    load_grid,
)


def test_every_experiment_the_texts_ask_for_is_defined() -> None:
    names = set(experiment_names())
    tdt = {"task2b", "task2d", "task2e", "task3b"} | {
        f"task4_lambda{lam}" for lam in ("1.0", "0.1", "0.01", "0.001")}
    dd = {f"setting{i}" for i in range(1, 5)} | {
        "bonus_all_data", "bonus_flip", "bonus_step_decay", "bonus_plateau", "bonus_multi_bce"}
    assert {f"tdt4265/{n}" for n in tdt} | {f"dd2424/{n}" for n in dd} <= names
    assert DEFAULT_EXPERIMENT in names


@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_loads(name: str) -> None:
    exp = load_experiment(name)
    assert exp.name == name
    assert exp.dtype in ("float64", "float32")
    assert exp.text in name


def test_the_four_required_dd2424_settings() -> None:
    settings = [load_experiment(f"dd2424/setting{i}") for i in range(1, 5)]
    assert [(e.lam, e.lr) for e in settings] == [(0, 0.1), (0, 0.001), (0.1, 0.001), (1, 0.001)]
    for e in settings:
        assert (e.batch_size, e.max_epochs, e.seed, e.shuffle) == (100, 40, 42, True)
        assert (e.split, e.validation, e.model) == ("dd2424", "epoch", "DD2424Softmax")


def test_tdt4265_hyperparameters_follow_the_starter_code() -> None:
    task2b, task2d, task2e = (load_experiment(f"tdt4265/task2{t}") for t in "bde")
    assert (task2b.lr, task2b.batch_size, task2b.max_epochs, task2b.shuffle) == (
        0.05, 128, 50, False)
    assert task2b.early_stopping_patience is None
    assert (task2d.max_epochs, task2d.early_stopping_patience, task2d.shuffle) == (500, 10, False)
    assert task2e.shuffle
    task3b = load_experiment("tdt4265/task3b")
    assert (task3b.lr, task3b.lam, task3b.shuffle, task3b.validation) == (
        0.01, 0.0, True, "starter")
    assert load_experiment("tdt4265/task4_lambda0.001").lam == 0.001


def test_overrides_use_the_lightning_cli_spelling() -> None:
    exp = load_experiment("tdt4265/task3b", {"model.lam": 0.5, "data.root": "somewhere",
                                             "trainer.precision": "32-true",
                                             "seed_everything": 7})
    assert (exp.lam, exp.root, exp.dtype, exp.seed) == (0.5, "somewhere", "float32", 7)
    assert exp.config["model"]["init_args"]["lam"] == 0.5
    assert load_experiment("tdt4265/task3b").lam == 0.0  # the file itself is untouched


@pytest.mark.parametrize(("overrides", "words"), [
    ({"model.lr_typo": 1}, ["unknown field", "lr_typo", "model"]),
    ({"data.split": "nope"}, ["data.split", "nope", "tdt4265_binary"]),
    ({"trainer.precision": "16-mixed"}, ["trainer.precision", "16-mixed"]),
    ({"model.validation": "weekly"}, ["model.validation", "weekly"]),
    ({"optimizer.lr": 1}, ["optimizer.lr"]),
])
def test_bad_fields_are_named(overrides: dict, words: list[str]) -> None:
    with pytest.raises(ExperimentError) as err:
        load_experiment("tdt4265/task2b", overrides)
    for word in words:
        assert word in str(err.value)


def test_unknown_experiment_lists_the_known_ones() -> None:
    with pytest.raises(ExperimentError, match="tdt4265/task2b"):
        load_experiment("tdt4265/task9")


def test_a_file_outside_configs(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text((CONFIG_DIR / "tdt4265" / "task2b.yaml").read_text())
    assert load_experiment(path).name == "mine"
    path.write_text("model: [1, 2\n")
    with pytest.raises(ExperimentError, match="not valid YAML"):
        load_experiment(path)
    path.write_text("- a list\n")
    with pytest.raises(ExperimentError, match="mapping"):
        load_experiment(path)


def test_yaml_tags_cannot_run_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("model: !!python/object/apply:os.system ['touch x']\n")
    with pytest.raises(ExperimentError):
        load_experiment(path)


def test_the_grid_sweeps_lambda_eta_and_batch_size() -> None:
    base, grid = load_grid("dd2424_bonus")
    assert base.name == "dd2424/bonus_all_data"
    assert set(grid) == {"model.lam", "model.lr", "data.batch_size"}
