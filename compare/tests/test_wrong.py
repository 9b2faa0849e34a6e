"""Every parity check can fail: deliberately wrong NumPy sides (compare.parity.wrong) are caught at
the step and in the quantity where they part from the reference."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from compare import NumpySide, ParityError, run_parity
from compare.parity import wrong

DD2424_MNIST = {"data.dataset": "mnist", "data.root": None, "data.split": "dd2424"}

# name: (numpy side, experiment, overrides, steps, expected step, expected quantity)
CASES: dict[str, tuple[NumpySide, str, dict[str, Any], int | None, int, str]] = {
    # wrong from the first update
    "no 1/N in the gradient": (wrong.NO_MEAN_GRADIENT, "tdt4265/task3b", {}, 5, 0, "grad w"),
    # lambda * w and 2 lambda * w agree while w = 0 (the zero initialisation): step 1
    "lambda w instead of 2 lambda w": (wrong.HALF_L2_GRADIENT, "tdt4265/task3b",
                                       {"model.lam": 0.1}, 5, 1, "grad w"),
    # b = 0 at first, so the bias penalty shows from step 1, in grad b before anything else
    "L2 on the bias": (wrong.REGULARISED_BIAS_SIDE, "dd2424/setting2",
                       {**DD2424_MNIST, "model.lam": 0.1}, 5, 1, "grad b"),
    # the very first batch is already another one
    "a skipped shuffle": (wrong.SKIPPED_SHUFFLE, "tdt4265/task3b", {}, 5, 0, "batch X"),
    # 6 batches an epoch: the NumPy side starts its second epoch at step 5
    "one batch short per epoch": (wrong.ONE_BATCH_SHORT, "tdt4265/task2b", {}, 10, 5,
                                  "batch X"),
    # Lightning stops at step 6 (see test_parity); the NumPy side trains on at step 7
    "early stopping one validation late": (
        wrong.LATE_PATIENCE, "tdt4265/task2e",
        {"model.early_stopping_patience": 3, "trainer.max_epochs": 5}, None, 7,
        "stopped step"),
    # 31 batches an epoch: every 3 steps instead of every 6, so an extra one after step 3
    "validating every 10% of an epoch": (wrong.TEN_VALIDATIONS_PER_EPOCH, "tdt4265/task3b", {},
                                         10, 3, "validation"),
    # Lightning's val_check_interval rule: no validation after the first update
    "validating one step late": (wrong.VALIDATES_ONE_STEP_LATE, "tdt4265/task3b", {}, 10, 0,
                                 "validation"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_wrong_numpy_side_is_caught_where_it_goes_wrong(case: str, log_dir: Path) -> None:
    side, experiment, overrides, steps, step, quantity = CASES[case]
    with pytest.raises(ParityError) as caught:
        run_parity(experiment, overrides, steps=steps, numpy_side=side, log_dir=log_dir)
    mismatch = caught.value.mismatch
    assert (mismatch.step, mismatch.quantity) == (step, quantity), str(mismatch)
    assert re.match(rf"first mismatch at step {step}\D", str(mismatch)), str(mismatch)
    assert caught.value.report is not None and caught.value.report.mismatch == mismatch


def test_the_mismatch_names_the_element_and_both_values(log_dir: Path) -> None:
    """No 1/N: every element of grad w is N = 128 times too large (the zero initialisation
    makes the first update's gradient exactly computable here)."""
    with pytest.raises(ParityError) as caught:
        run_parity("tdt4265/task3b", steps=2, numpy_side=wrong.NO_MEAN_GRADIENT,
                   log_dir=log_dir)
    m = caught.value.mismatch
    assert m.epoch == 0 and m.index is not None and len(m.index) == 2
    assert m.numpy_value == pytest.approx(128 * m.lightning_value, rel=1e-12)
    assert m.rel_error > 0.9 and m.tolerance == 1e-10
    assert f"grad w[{m.index[0]}, {m.index[1]}]" in str(m)


def test_report_mode_runs_on_and_collects_every_quantity(log_dir: Path) -> None:
    report = run_parity("tdt4265/task3b", {"model.lam": 0.1}, steps=6, strict=False,
                        numpy_side=wrong.HALF_L2_GRADIENT, log_dir=log_dir)
    assert not report.passed and report.steps == 6
    assert (report.mismatch.step, report.mismatch.quantity) == (1, "grad w")
    # the wrong gradient makes wrong weights and, from then on, wrong losses
    assert {m.quantity for m in report.mismatches} >= {"grad w", "w", "loss", "final w"}
    assert report.quantities["batch X"].max_rel == 0  # the batches still agree
    assert "MISMATCH" in report.table() and report.verdict().startswith("FAIL: ")
    assert report.quantities["grad w"].at_step is not None


def test_a_numpy_side_that_raises_is_reported(log_dir: Path) -> None:
    class Broken(wrong.tdt4265.SoftmaxModel):
        def backward(self, X: np.ndarray, outputs: np.ndarray, targets: np.ndarray) -> None:
            raise FloatingPointError("student bug")

    with pytest.raises(Exception, match="student bug"):
        run_parity("tdt4265/task3b", steps=3, numpy_side=NumpySide(model_class=Broken),
                   log_dir=log_dir)
