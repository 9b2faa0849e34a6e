"""The parity suite: every model of both texts and every training feature, NumPy side against
Lightning reference, step for step (short runs: the embedded MNIST subset or small generated
CIFAR-10 files). Each run raises ParityError at its first mismatch; test_wrong.py shows that
each kind of check can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from compare import NumpySide, ParityReport, run_parity
from compare.parity.lockstep import Lockstep
from compare.parity.numpy_side import NumpyProcess, Shared, SharedArrays, batch_digest
from numpy_impl import splits
from tests.fakes import StarterSoftmaxModel

MNIST = {"data.dataset": "mnist", "data.root": None}
# DD2424's split on the embedded subset: 800 training images (8 batches of 100 per epoch),
# 800 validation and 1,000 test images
DD2424_MNIST = {**MNIST, "data.split": "dd2424"}
FLOAT32 = {"trainer.precision": "32-true"}

# One experiment per model, shuffled and with L2, short: (experiment, overrides, steps).
# DD2424's models train on CIFAR-10 batch files (the cifar_root fixture: 200 images a batch;
# batch_size 50 gives 4 updates an epoch) or, for the softmax, on MNIST cut into batches.
CIFAR = {"data.batch_size": 50, "data.split": "dd2424", "trainer.max_epochs": 3}
MODELS: dict[str, tuple[str, dict[str, Any], int | None]] = {
    "TDT4265Binary": ("tdt4265/task2e", {"model.lam": 0.1}, 15),
    "TDT4265Softmax": ("tdt4265/task3b", {"model.lam": 0.1}, 15),
    "DD2424Softmax": ("dd2424/setting2", {**DD2424_MNIST, "model.lam": 0.1,
                                          "trainer.max_epochs": 2}, None),
    "DD2424MultiBCE": ("dd2424/bonus_multi_bce", {**CIFAR, "model.lam": 0.1}, None),
}
EXPECTED_STEPS = {"DD2424Softmax": 16, "DD2424MultiBCE": 12}


def parity(experiment: str, overrides: dict[str, Any], log_dir: Path,
           steps: int | None = None) -> ParityReport:
    """A strict run (ParityError at the first mismatch) that must compare something."""
    report = run_parity(experiment, overrides, steps=steps, log_dir=log_dir)
    assert report.passed, report.verdict()
    assert report.summary["steps"]["numpy"] == report.summary["steps"]["lightning"] == (
        report.steps)
    return report


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_in_both_precisions(model: str, dtype: str, cifar_root: Path,
                                        log_dir: Path) -> None:
    experiment, overrides, steps = MODELS[model]
    if overrides.get("data.split") == "dd2424" and "data.dataset" not in overrides:
        overrides = {**overrides, "data.root": str(cifar_root)}
    report = parity(experiment, {**overrides, **(FLOAT32 if dtype == "float32" else {})},
                    log_dir, steps)
    assert report.dtype == dtype
    assert report.tolerance == {"float64": 1e-10, "float32": 1e-4}[dtype]
    assert report.steps == (steps or EXPECTED_STEPS[model]) and report.validations > 0
    for quantity in ("init w" if model.startswith("TDT") else "init W", "batch X", "loss",
                     "cost", "val/loss", "val/acc", "final train/loss"):
        assert quantity in report.quantities
    grads = ["grad w"] if model.startswith("TDT") else ["grad W", "grad b"]
    for grad in grads:
        assert report.quantities[grad].count == report.steps
    if model.startswith("DD2424"):  # the test set, through Lightning's test loop
        assert {"test/loss", "test/cost", "test/acc"} <= set(report.quantities)
    if dtype == "float64":  # the updates and losses agree to round-off, far inside the tolerance
        per_step = ["loss", "cost", *grads, *(g.removeprefix("grad ") for g in grads)]
        assert max(report.quantities[q].max_rel for q in per_step) < 1e-13
        # whole-set losses too: both sides compute them from the scores (the MultiBCE loss of
        # P lost ~1e-12 here where its validation sigmoids saturate)
        assert max(report.quantities[q].max_rel for q in ("val/loss", "val/cost")) < 1e-13


def test_shuffle_off_and_the_starter_cadence(log_dir: Path) -> None:
    """Task 2b: no shuffling; 6 batches an epoch, so the starter validates after every update."""
    report = parity("tdt4265/task2b", {}, log_dir, steps=20)
    assert report.validations == 20


def test_dd2424_shuffle_off(log_dir: Path) -> None:
    report = parity("dd2424/setting1", {**DD2424_MNIST, "data.shuffle": False,
                                        "trainer.max_epochs": 2}, log_dir)
    assert report.steps == 16 and report.validations == 2


@pytest.mark.parametrize("experiment, overrides, validations", [
    ("dd2424/setting1", {**DD2424_MNIST, "trainer.max_epochs": 2}, 2),  # Lightning's loop
    ("tdt4265/task3b", {"trainer.max_epochs": 1}, 6),  # the starter's: steps 0, 6, ..., 30 of 31
])
def test_the_numpy_side_validates_while_the_reference_does(
        experiment: str, overrides: dict[str, Any], validations: int, log_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The NumPy side is asked for its validation when the reference's begins (after the
    update it follows), not once the reference's has ended: the two measure their sets at
    the same time. Every validation still compared."""
    asked_before: list[bool] = []
    validation = Lockstep.validation

    def spy(self: Lockstep, step: int, metrics: dict[str, float]) -> None:
        asked_before.append(self.numpy._asked or self.numpy._peeked is not None)
        validation(self, step, metrics)

    monkeypatch.setattr(Lockstep, "validation", spy)
    report = parity(experiment, overrides, log_dir)
    assert report.validations == validations == len(asked_before)
    assert all(asked_before), asked_before



@pytest.mark.parametrize("experiment, overrides", [
    ("dd2424/setting1", {**DD2424_MNIST, "trainer.max_epochs": 1}),  # batches of columns
    ("dd2424/bonus_flip", {**DD2424_MNIST, "trainer.max_epochs": 1}),  # flipped columns
    ("tdt4265/task3b", {"trainer.max_epochs": 1}),  # batches of rows
])
def test_the_numpy_side_runs_ahead_and_batches_agree_by_digest(
        experiment: str, overrides: dict[str, Any], log_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an update's record is taken, the NumPy side is asked for its next record before
    the reference updates (it computes it meanwhile); and the two sides' batches, laid out
    alike, agree by their digests: no batch is sent through the pipe."""
    asked_ahead: list[bool] = []
    after_update = Lockstep.after_update

    def spy(self: Lockstep, step: int, epoch: int, params: dict[str, Any]) -> None:
        asked_ahead.append(self.numpy._asked or self.numpy._peeked is not None)
        after_update(self, step, epoch, params)

    def no_batch(self: NumpyProcess) -> None:
        raise AssertionError("a batch was sent: the digests differed")

    monkeypatch.setattr(Lockstep, "after_update", spy)
    monkeypatch.setattr(NumpyProcess, "batch", no_batch)
    report = parity(experiment, overrides, log_dir)
    assert report.passed and len(asked_ahead) == report.steps > 0
    assert all(asked_ahead), asked_ahead


def test_a_batch_digest_names_values_and_layout() -> None:
    """Equal batches have equal digests, read in their own memory order (a column-major batch
    without a copy); one changed bit, or the same values in the other order, another."""
    rng = np.random.default_rng(0)
    X, Y = np.asfortranarray(rng.normal(size=(12, 5))), np.eye(5)[[1, 0, 3, 2, 4]]
    assert batch_digest(X, Y) == batch_digest(X.copy(order="F"), Y.copy())
    assert batch_digest(X, Y)[0][2] == "F" and batch_digest(X.copy(order="C"), Y)[0][2] == "C"
    assert batch_digest(X, Y) != batch_digest(X.copy(order="C"), Y)
    changed = X.copy(order="F")
    changed[7, 3] = np.nextafter(changed[7, 3], np.inf)
    assert batch_digest(X, Y) != batch_digest(changed, Y)


def test_shared_arrays_hand_over_arrays_bit_for_bit() -> None:
    """What the NumPy side puts in the shared mapping comes out the same (dtype, shape,
    values to the bit), one group after another in one room; what does not fit, or is not a
    plain array, stays as it was (it goes through the pipe)."""
    rng = np.random.default_rng(1)
    shared = SharedArrays(size=4096)
    grads = {"W": np.asfortranarray(rng.normal(size=(3, 7))), "b": np.zeros((3, 0)),
             "big": np.ones(1000)}  # 8,000 bytes: more than the room
    params = {"w": rng.normal(size=(5, 2)).astype(">f4"), "o": np.array([None]), "n": 3.0}
    placed_grads, placed_params = shared.put(grads, params)
    assert isinstance(placed_grads["W"], Shared) and isinstance(placed_params["w"], Shared)
    assert placed_grads["big"] is grads["big"] and placed_params["o"] is params["o"]
    assert placed_params["n"] == 3.0
    for given, placed in ((grads, placed_grads), (params, placed_params)):
        taken = shared.take(placed)
        for name, value in given.items():
            if isinstance(value, np.ndarray) and not value.dtype.hasobject:
                assert taken[name].dtype == value.dtype and taken[name].shape == value.shape
                assert taken[name].tobytes() == value.tobytes(), name
    assert shared.take(placed_grads)["W"] is not shared.take(placed_grads)["W"]  # copies

EARLY_STOPPING = {  # stops within the first epochs: (experiment, overrides, stopped step)
    "TDT4265Binary": ("tdt4265/task2e", {"model.early_stopping_patience": 3,
                                         "trainer.max_epochs": 5}, 6),
    "TDT4265Softmax": ("tdt4265/task3b", {"model.early_stopping_patience": 1, "model.lr": 0.03,
                                          "model.lam": 0.01, "trainer.max_epochs": 3}, 54),
}


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("model", list(EARLY_STOPPING))
def test_early_stopping_same_step_and_restored_weights(model: str, dtype: str,
                                                       log_dir: Path) -> None:
    """Both stop at the same validation and restore the same best weights (compared as
    "final w"; the run's last weights differ from them)."""
    experiment, overrides, stop = EARLY_STOPPING[model]
    report = parity(experiment, {**overrides, **(FLOAT32 if dtype == "float32" else {})},
                    log_dir)
    stopped, best = report.summary["stopped_step"], report.summary["best_step"]
    assert stopped["numpy"] == stopped["lightning"] == report.steps - 1 == stop
    assert best["numpy"] == best["lightning"] is not None and best["numpy"] < stop
    assert "final w" in report.quantities


DD2424_FEATURES = {
    "shuffle off": {"data.shuffle": False},
    "flips": {"data.flip": True},
    "step decay": {"model.lr_step_epochs": 1},
    "plateau decay": {"model.lr_plateau_patience": 0},
}


@pytest.mark.parametrize("feature", list(DD2424_FEATURES))
@pytest.mark.parametrize("model", ["DD2424Softmax", "DD2424MultiBCE"])
def test_dd2424_models_with_every_feature(model: str, feature: str, cifar_root: Path,
                                          log_dir: Path) -> None:
    """Each DD2424 model with each bonus feature, on CIFAR-10 batch files, with L2."""
    experiment = MODELS[model][0]
    report = parity(experiment, {**CIFAR, "data.root": str(cifar_root), "model.lam": 0.01,
                                 **DD2424_FEATURES[feature]}, log_dir)
    assert report.steps == 12 and report.validations == 3


def test_step_decay(log_dir: Path) -> None:
    report = parity("dd2424/bonus_step_decay", {**DD2424_MNIST, "model.lr_step_epochs": 1,
                                                "model.lam": 0.01, "trainer.max_epochs": 3},
                    log_dir)
    assert report.summary["learning rates"] == pytest.approx([0.01, 0.001, 0.0001], rel=1e-15)


def test_plateau_decay(log_dir: Path) -> None:
    report = parity("dd2424/bonus_plateau", {**DD2424_MNIST, "model.lr": 2.0,
                                             "model.lr_plateau_patience": 0,
                                             "trainer.max_epochs": 4}, log_dir)
    assert len(report.summary["learning rates"]) > 1  # the plateau did cut the rate


@pytest.mark.slow
def test_flips_on_cifar10_files(cifar_root: Path, log_dir: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Flip augmentation on 32x32x3 images read from CIFAR-10 batch files (all five batches
    minus 200 validation images: 8 batches of 100 per epoch); the data set read once, for
    both sides (the reference shares the NumPy side's split: one copy in memory)."""
    loads = []
    load_split = splits.load_split
    monkeypatch.setattr(splits, "load_split", lambda *a, **k: loads.append(a) or load_split(
        *a, **k))
    report = parity("dd2424/bonus_flip", {"data.root": str(cifar_root), "data.val_size": 200,
                                          "model.lam": 0.01, "trainer.max_epochs": 2}, log_dir)
    assert report.steps == 16 and "test/acc" in report.quantities
    assert len(loads) == 1


def test_flips_on_mnist(log_dir: Path) -> None:
    parity("dd2424/bonus_flip", {**DD2424_MNIST, "trainer.max_epochs": 2}, log_dir)


def test_tensorboard_overlays_both_sides(log_dir: Path) -> None:
    """Two runs, numpy and lightning, with the same tags at the same steps (so TensorBoard draws
    each tag's two curves in one chart), a parity run with the error of every step (also as
    log10, readable at ~1e-15), and both sides' hyperparameters in the HParams view."""
    report = parity("dd2424/setting2", {**DD2424_MNIST, "trainer.max_epochs": 1}, log_dir)
    assert report.log_dir is not None and report.log_dir.is_relative_to(log_dir)
    runs = {}
    for side in ("numpy", "lightning", "parity"):
        runs[side] = EventAccumulator(str(report.log_dir / side), size_guidance={"scalars": 0})
        runs[side].Reload()
    for tag in ("train/loss", "train/cost", "lr", "val/loss", "val/cost", "val/acc",
                "train/acc", "test/loss", "test/acc"):
        steps = {side: [e.step for e in runs[side].Scalars(tag)] for side in ("numpy",
                                                                               "lightning")}
        assert steps["numpy"] == steps["lightning"] and steps["numpy"], tag
    for side in ("numpy", "lightning"):
        assert "_hparams_/experiment" in runs[side].PluginTagToContent("hparams"), side
    errors = runs["parity"].Scalars("parity/max_rel_error")
    assert [e.step for e in errors] == list(range(report.steps))
    assert max(e.value for e in errors) < 1e-13
    log10 = [e.value for e in runs["parity"].Scalars("parity/log10_max_rel_error")]
    assert all(-18 <= v < -13 for v in log10)


def test_multiple_bce_where_sigmoids_saturate(log_dir: Path) -> None:
    """DD2424 2.2 on MNIST in float32: validation pixels z-scored with the training set's
    near-zero std reach ~1000 and scores ~20, where sigmoid rounds to 1 in float32. The text's
    loss of P would clip log(1 - p) at log(tiny) = -87.3 (validation loss off by 0.6 %); the
    trainer's loss of the scores matches the reference's logsigmoid."""
    report = parity("dd2424/bonus_multi_bce", {**DD2424_MNIST, **FLOAT32, "model.lam": 0.1,
                                               "trainer.max_epochs": 1}, log_dir)
    assert report.quantities["val/loss"].max_rel < 1e-6


def test_cross_entropy_where_softmax_underflows(log_dir: Path) -> None:
    """Task 3 in float32 at lr 0.2 (20 times the text's): the scores grow apart fast and from
    step 4 the true class's probability underflows for some images. The text's loss of the
    outputs would clip log(p) at -87.3 (step 4's batch loss: about 24.0 against 24.5); the
    trainer's loss of the scores matches the reference's log_softmax."""
    report = parity("tdt4265/task3b", {**FLOAT32, "model.lr": 0.2}, log_dir, steps=6)
    assert report.quantities["loss"].max_rel < 1e-5


def test_a_model_with_only_the_starter_interface(log_dir: Path) -> None:
    """NumpySide(model_class=...) with no ``scores``: losses of the outputs, still in parity
    where no probability saturates."""
    report = run_parity("tdt4265/task3b", {"model.lam": 0.1}, steps=5, log_dir=log_dir,
                        numpy_side=NumpySide(model_class=StarterSoftmaxModel))
    assert report.passed and report.steps == 5 and report.quantities["loss"].max_rel < 1e-13
