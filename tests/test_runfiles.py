"""Saved runs: one layout, versioned folders (a rerun never overwrites), atomic writes, valid
JSON for non-finite values, and the NumPy side's TensorBoard events and HParams."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from numpy_impl.run import runfiles
from numpy_impl.run.experiments import load_experiment
from numpy_impl.run.train import run_experiment


def test_versions_count_up_and_never_reuse_a_folder(tmp_path: Path) -> None:
    first, second = runfiles.new_version_dir(tmp_path), runfiles.new_version_dir(tmp_path)
    assert (first.name, second.name) == ("version_0", "version_1")
    (tmp_path / "version_7").mkdir()
    assert runfiles.new_version_dir(tmp_path).name == "version_8"


def test_json_is_valid_for_non_finite_values(tmp_path: Path) -> None:
    path = runfiles.write_json(tmp_path / "m.json", {"loss": float("nan"), "cost": np.inf,
                                                     "acc": np.float32(0.5), "h": [1.0, -np.inf]})
    text = path.read_text()
    assert json.loads(text) == {"loss": None, "cost": None, "acc": 0.5, "h": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = runfiles.write_text(tmp_path / "a.txt", "old")
    with pytest.raises(TypeError):
        runfiles.write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_npz_round_trips(tmp_path: Path) -> None:
    arrays = {"W": np.arange(6.0).reshape(2, 3), "b": np.zeros((2, 1), np.float32)}
    loaded = np.load(runfiles.write_npz(tmp_path / "w.npz", arrays))
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype


def test_numpy_runs_are_versioned_and_log_to_tensorboard(tmp_path: Path) -> None:
    exp = load_experiment("tdt4265/task3b", {"trainer.max_epochs": 1, "model.lam": 0.1})
    first = run_experiment(exp, tmp_path, verbose=False)
    second = run_experiment(exp, tmp_path, verbose=False)
    assert first.run_dir == tmp_path / "tdt4265" / "task3b" / "version_0"
    assert second.run_dir.name == "version_1"
    assert {p.name for p in first.run_dir.iterdir() if not p.name.startswith("events")} == {
        "weights.npz", "history.json", "metrics.json", "experiment.yaml", "checkpoint.npz"}
    events = EventAccumulator(str(first.run_dir), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])  # weights/squared_norm: at every validation
    assert {"train/loss", "train/cost", "lr", "weights/squared_norm", "val/loss", "val/cost",
            "val/acc", "train/acc"} <= tags
    losses = [e.value for e in events.Scalars("train/loss")]
    assert losses == pytest.approx(list(first.history["train"]["loss"].values()), rel=1e-6)
    w = first.params["w"]  # the last validation follows the last update of the epoch
    last_norm = events.Scalars("weights/squared_norm")[-1].value
    assert math.isclose(last_norm, float(np.sum(w * w)), rel_tol=1e-6)
    plugins = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(plugins)


def test_latest_version_is_the_newest_by_number_holding_the_file(tmp_path: Path) -> None:
    for name in ("version_2", "version_10", "version_9", "version_x", "version_11"):
        (tmp_path / name).mkdir()
    for name in ("version_2", "version_10", "version_9", "version_x"):
        (tmp_path / name / "a.txt").write_text("")
    assert runfiles.latest_version(tmp_path, "a.txt") == tmp_path / "version_10"  # not 9, not 11
    assert runfiles.latest_version(tmp_path, "a.txt",
                                   keep=lambda run: run.name != "version_10") == (
        tmp_path / "version_9")
    assert runfiles.latest_version(tmp_path, "b.txt") is None
    assert runfiles.latest_version(tmp_path / "nowhere", "a.txt") is None
