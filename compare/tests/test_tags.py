"""compare's two TensorBoard runs, ``numpy`` and ``lightning``, log alike: the same (kind, tag)
pairs, each at the same steps with the same values (scalars, images, histograms), so that
every chart overlays both sides. One short run per text: DD2424 on generated CIFAR-10 files
(validation every epoch, a test set: its metrics, ``epoch`` and the ground-truth histograms),
TDT4265 on the embedded MNIST subset with early stopping (the starter's cadence, the restored
weights' class templates). And a run whose data do not load leaves no run folder behind."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from compare import run_parity
from compare.__main__ import main
from numpy_impl.run.exits import ExitCode

KINDS = ("scalars", "images", "histograms")
#: Tags each run must hold (beyond what the other side holds: the sets are compared whole).
DD2424_TAGS = {
    ("scalars", tag) for tag in (
        "train/loss", "train/cost", "lr", "epoch", "val/loss", "val/cost", "val/acc",
        "train/acc", "train/full_loss", "train/full_cost", "weights/squared_norm",
        "test/loss", "test/cost", "test/acc")} | {
    ("images", "weights/class_templates"), ("histograms", "test/p_true_class_correct"),
    ("histograms", "test/p_true_class_incorrect")}
TDT4265_TAGS = {
    ("scalars", tag) for tag in (
        "train/loss", "train/cost", "lr", "epoch", "val/loss", "val/cost", "val/acc",
        "train/acc", "train/full_loss", "train/full_cost", "weights/squared_norm")} | {
    ("images", "weights/class_templates")}


def read_run(folder: Path) -> dict[tuple[str, str], list[tuple[int, Any]]]:
    """Every (kind, tag) of a run: its events as (step, value) in the order written; an
    image's value is its decoded pixels, a histogram's its proto fields."""
    acc = EventAccumulator(str(folder), size_guidance={kind: 0 for kind in KINDS})
    acc.Reload()
    events: dict[tuple[str, str], list[tuple[int, Any]]] = {}
    for tag in acc.Tags()["scalars"]:
        events["scalars", tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    for tag in acc.Tags()["images"]:
        events["images", tag] = [
            (e.step, np.asarray(Image.open(io.BytesIO(e.encoded_image_string))))
            for e in acc.Images(tag)]
    for tag in acc.Tags()["histograms"]:
        events["histograms", tag] = [(e.step, e.histogram_value) for e in acc.Histograms(tag)]
    return events


def assert_runs_alike(log_dir: Path, expected: set[tuple[str, str]]) -> dict[str, Any]:
    runs = {side: read_run(log_dir / side) for side in ("numpy", "lightning")}
    numpy_run, lightning_run = runs["numpy"], runs["lightning"]
    assert set(numpy_run) == set(lightning_run), (
        f"numpy only: {sorted(set(numpy_run) - set(lightning_run))}, "
        f"lightning only: {sorted(set(lightning_run) - set(numpy_run))}")
    assert expected <= set(numpy_run), sorted(expected - set(numpy_run))
    for key in sorted(numpy_run):
        kind, tag = key
        ours, theirs = numpy_run[key], lightning_run[key]
        assert [s for s, _ in ours] == [s for s, _ in theirs], f"{tag}: steps differ"
        for (step, a), (_, b) in zip(ours, theirs, strict=True):
            where = f"{kind} {tag} at step {step}"
            if kind == "scalars":
                # TensorBoard stores scalars as float32: both sides' float64 values agree to
                # ~1e-15, but one that lies next to a float32 rounding boundary may round to
                # adjacent float32 numbers (1 ulp, <= 1.2e-7 relative) on the two sides
                assert a == pytest.approx(b, rel=1e-6, abs=0), where
            elif kind == "images":
                assert a.shape == b.shape and a.dtype == b.dtype == np.uint8, where
                np.testing.assert_array_equal(a, b, err_msg=where)  # pixel for pixel
            else:
                # the counts exactly; the limits and moments are float64 functions of the
                # two sides' probabilities, which agree to the run's float64 parity (~1e-15)
                assert list(a.bucket) == list(b.bucket) and a.num == b.num, where
                for field in ("min", "max", "sum", "sum_squares"):
                    assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12), (
                        f"{where}: {field}")
                assert list(a.bucket_limit) == pytest.approx(list(b.bucket_limit),
                                                             rel=1e-12), where
    return numpy_run


def test_dd2424_runs_log_alike(cifar_root: Path, log_dir: Path) -> None:
    # 200 training images in batches of 50: 4 updates an epoch, 2 epochs, a test set
    report = run_parity("dd2424/setting1", {"data.root": str(cifar_root),
                                            "data.batch_size": 50, "model.lam": 0.1,
                                            "trainer.max_epochs": 2}, log_dir=log_dir)
    run = assert_runs_alike(report.log_dir, DD2424_TAGS)
    assert [s for s, _ in run["scalars", "train/full_loss"]] == [3, 7]  # after each epoch
    # once per step (Lightning used to write it again with each validation), and at the test
    assert run["scalars", "epoch"] == [(s, s // 4) for s in range(8)] + [(8, 2)]
    assert [s for s, _ in run["images", "weights/class_templates"]] == [8]
    assert [s for s, _ in run["histograms", "test/p_true_class_correct"]] == [8]
    # the NumPy side's own values (compared in the lockstep like the other quantities)
    assert {"train/full_loss", "train/full_cost"} <= set(report.quantities)


def test_tdt4265_runs_log_alike_with_early_stopping(log_dir: Path) -> None:
    # stops at step 6 (patience 3 on the starter's cadence; compare/tests/test_parity.py)
    report = run_parity("tdt4265/task2e", {"model.early_stopping_patience": 3,
                                           "model.lam": 0.1, "trainer.max_epochs": 5},
                        log_dir=log_dir)
    assert report.summary["stopped_step"] == {"numpy": 6, "lightning": 6}
    run = assert_runs_alike(report.log_dir, TDT4265_TAGS)
    validations = [s for s, _ in run["scalars", "val/loss"]]
    assert len(validations) > 3
    assert [s for s, _ in run["scalars", "train/full_cost"]] == validations
    assert [s for s, _ in run["scalars", "weights/squared_norm"]] == validations
    assert [s for s, _ in run["images", "weights/class_templates"]] == [7]
    assert {"train/full_loss", "train/full_cost"} <= set(report.quantities)


def test_data_that_do_not_load_leave_no_run_folder(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    log_dir = tmp_path / "runs"
    assert main(["dd2424/setting1", "--log-dir", str(log_dir), "--data.root",
                 str(tmp_path / "nonexistent"), "--no-progress"]) == ExitCode.DATA
    assert "CIFAR-10 not found" in capsys.readouterr().err
    assert not log_dir.exists()
