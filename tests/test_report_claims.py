"""The reports' result sentences follow the numbers (issue 19): made-up run numbers go into the
sentence-making functions of compare.report.claims, and the verdicts change with them."""

from __future__ import annotations

import numpy as np
import pytest

from compare.report import claims, dd2424, runs


def test_the_stated_best_setting_is_the_best_of_the_table() -> None:
    first = [("setting 1", 0.282), ("setting 2", 0.391), ("setting 3", 0.38)]
    second = [("setting 1", 0.412), ("setting 2", 0.391), ("setting 3", 0.38)]
    one, two = (claims.best_statement(t, "test accuracy") for t in (first, second))
    assert one.startswith("Best test accuracy: setting 2 with 39.10%")
    assert two.startswith("Best test accuracy: setting 1 with 41.20%")
    assert "lowest: setting 1" in one and "lowest: setting 3" in two
    tied = claims.best_statement([("a", 0.5), ("b", 0.50001)], "test accuracy")
    assert tied == "Test accuracy: all tie at 50.00%."  # equal as the table prints them


def test_an_oscillating_and_a_smooth_cost_curve_read_differently() -> None:
    smooth = claims.curve_statement("The cost", [2.0, 1.9, 1.85, 1.82, 1.8])
    wobbly = claims.curve_statement("The cost", [2.0, 2.4, 1.9, 2.5, 1.8, 2.2])
    slight = claims.curve_statement("The cost", [2.0, 1.5, 1.51, 1.2, 1.0])
    assert "rose in 0 of 4 epochs" in smooth and smooth.endswith("smooth.")
    assert "oscillates" not in smooth
    assert "rose in 3 of 5 epochs" in wobbly and wobbly.endswith("it oscillates.")
    assert "rose in 1 of 4" in slight and "oscillates" not in slight.rsplit(":", 1)[1]


def test_what_lambda_did_to_accuracy_is_the_measured_difference() -> None:
    base = ("lambda 0", 0.781)
    up = claims.change_statement(base, [("lambda 0.1", 0.782)], "test accuracy")
    down = claims.change_statement(base, [("lambda 1", 0.75)], "test accuracy")
    same = claims.change_statement(base, [("lambda 0.01", 0.781)], "test accuracy")
    assert "lambda 0.1: 78.20%, +0.10 points (higher)" in up
    assert "lambda 1: 75.00%, -3.10 points (lower)" in down
    assert "+0.00 points (unchanged)" in same


def _templates(noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, 8)[None, :, None, None] * np.ones((2, 8, 8, 1))
    return np.clip(ramp + noise * rng.standard_normal(ramp.shape), 0, 1)


def test_the_smoothness_statement_follows_the_measure() -> None:
    noisy, clean = _templates(0.3), _templates(0.0)
    assert claims.roughness(clean) < claims.roughness(noisy)
    smoother = claims.smoothness_statement([("lambda 0", noisy), ("lambda 1", clean)])
    rougher = claims.smoothness_statement([("lambda 0", clean), ("lambda 1", noisy)])
    alike = claims.smoothness_statement([("lambda 0", noisy), ("lambda 1", noisy)])
    assert "lambda 1 is smoother than lambda 0" in smoother
    assert "lambda 1 is rougher than lambda 0" in rougher
    assert "lambda 1 is about as smooth as lambda 0" in alike
    assert f"lambda 0: {claims.roughness(noisy):.4f}" in smoother


def test_fewer_spikes_is_counted_not_assumed() -> None:
    spiky, steady = [0.9, 0.8, 0.92, 0.85, 0.95], [0.9, 0.91, 0.93, 0.93, 0.95]
    fewer = claims.fewer_spikes([("without shuffling", spiky), ("with shuffling", steady)])
    more = claims.fewer_spikes([("without shuffling", steady), ("with shuffling", spiky)])
    assert "fell at 2 of 4 validations (50%" in fewer
    assert fewer.endswith("fewer drops per validation with shuffling")
    assert more.endswith("more drops per validation with shuffling")
    # runs of different lengths compare by the share of validations: 2 of 8 is fewer than 2 of 4
    long = [0.9, 0.8, 0.92, 0.93, 0.94, 0.85, 0.95, 0.96, 0.97]
    assert claims.fewer_spikes([("a", spiky), ("b", long)]).endswith("fewer drops per "
                                                                    "validation b")
    assert claims.fewer_spikes([("a", long), ("b", spiky)]).endswith("more drops per "
                                                                    "validation b")
    line = claims.expects("fewer spikes", more)
    assert line.startswith("The text expects fewer spikes; this run: ") and line.endswith(".")


@pytest.mark.parametrize("quick", [True, False])
def test_each_bonus_improvement_differs_from_its_baseline_in_that_improvement_only(
        quick: bool) -> None:
    """DD2424 2.1: a gain is the improvement's, not a larger step's: the two resolved
    definitions differ in the improvement's own fields and nothing else."""
    expected = {"dd2424/bonus_all_data": {"data.split", "data.val_size"},
                "dd2424/bonus_flip": {"data.flip"},
                "dd2424/bonus_step_decay": {"model.init_args.lr_step_epochs"},
                "dd2424/bonus_plateau": {"model.init_args.lr_plateau_patience"}}
    jobs = {job.label: job for job in dd2424.jobs(quick)}
    for _, name, base in dd2424.IMPROVEMENTS:
        configs = [runs.resolve(jobs[n], {}, quick).config for n in (base, name)]
        assert set(claims.differences(*configs)) == expected[name], name


def test_differences_ignore_where_the_files_come_from() -> None:
    base = {"data": {"root": "data", "download": False, "flip": False}, "seed_everything": 42}
    other = {"data": {"root": "/x", "download": True, "flip": True}, "seed_everything": 42}
    assert claims.differences(base, other) == {"data.flip": (False, True)}
    assert claims.differences_text(base, base) == "nothing"


def test_the_weight_norm_trend_is_read_from_the_numbers() -> None:
    falling = claims.trend_statement("norm", "lambda", [(1.0, 0.5), (0.0, 9.0), (0.1, 2.0)])
    assert falling.endswith("it falls at every larger lambda.")
    mixed = claims.trend_statement("norm", "lambda", [(0.0, 9.0), (0.1, 2.0), (1.0, 3.0)])
    assert mixed.endswith("it falls at 1 and rises at 1 of 2 larger lambda values.")
