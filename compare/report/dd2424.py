"""The DD2424 report: the four required settings, the bonus improvements (Exercise 2.1) and the
multiple binary cross-entropy comparison (Exercise 2.2), with the runs each needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from compare.report import claims, figures
from compare.report.content import gradient_section, parity_note, pct, runs_section
from compare.report.document import Section, Table
from compare.report.runs import Curves, Job, RunRecord
from numpy_impl.dd2424 import grid_points
from numpy_impl.run.experiments import load_grid

SETTINGS = [f"dd2424/setting{k}" for k in range(1, 5)]
#: The same run as bonus_all_data with eta 0.01, the step size both decays start from: their
#: baseline, so that each differs from it in the decay alone.
ALL_DATA, ALL_DATA_ETA = "dd2424/bonus_all_data", "dd2424/bonus_all_data_eta0.01"
EXTRA_JOBS = [Job(ALL_DATA, (("model.lr", 0.01),), ALL_DATA_ETA)]
#: Exercise 2.1's improvements: (label, run, the baseline it is compared with). Each differs
#: from its baseline in the one thing it improves (the table says what, from the definitions).
IMPROVEMENTS = [
    ("(a) all five batches for training", ALL_DATA, "dd2424/setting2"),
    ("(b) horizontal flips", "dd2424/bonus_flip", ALL_DATA),
    ("(d) step decay, eta / 10 every 10 epochs", "dd2424/bonus_step_decay", ALL_DATA_ETA),
    ("(d) eta / 10 on a validation plateau", "dd2424/bonus_plateau", ALL_DATA_ETA),
]
GRID = "dd2424_bonus"
MULTI_BCE, SOFTMAX = "dd2424/bonus_multi_bce", "dd2424/setting2"
GRADIENT_MODELS = ["DD2424Softmax", "DD2424MultiBCE"]
#: The text's reference numbers for setting 2 (seed 42, n_batch 100, eta 0.001, lambda 0).
TEXT_COST_AFTER_EPOCH_1, TEXT_TEST_ACCURACY = 1.972, 0.3913


def grid_jobs(quick: bool) -> list[Job]:
    """Exercise 2.1c: one NumPy-only run per grid point (quick mode: the first and the last)."""
    base, grid = load_grid(GRID)
    points = grid_points(grid)
    points = [points[0], points[-1]] if quick else points
    return [Job(base.name, tuple(point.items()), _grid_name(point), parity=False)
            for point in points]


def _grid_name(point: Mapping[str, Any]) -> str:
    return "grid/" + ", ".join(f"{k.rpartition('.')[2]} {v:g}" for k, v in point.items())


def jobs(quick: bool) -> list[Job]:
    """Every run the report needs: the four settings, the bonus runs, the grid points."""
    bonus = [name for _, name, _ in IMPROVEMENTS if name != ALL_DATA_ETA] + [MULTI_BCE]
    return [Job(name) for name in SETTINGS + bonus] + EXTRA_JOBS + grid_jobs(quick)


def _setting_label(record: RunRecord) -> str:
    epochs = record.experiment["trainer"]["max_epochs"]
    return (f"lambda = {record.lam:g}, eta = {record.init_arg('lr'):g}, n_batch = "
            f"{record.data_arg('batch_size')}, {epochs} epoch{'s' if epochs != 1 else ''}")


def _test_accuracies(record: RunRecord) -> tuple[str, str]:
    """The NumPy side's and the Lightning reference's test accuracy."""
    lightning = (record.parity.final_metrics.get("test/acc", {}).get("lightning")
                 if record.parity else None)
    return pct(record.metrics["test/acc"]), "-" if lightning is None else pct(lightning)


def _loss_cost(record: RunRecord, title: str) -> Figure:
    return figures.train_val_figure(
        title, [(record.curves, "loss", "cross-entropy loss", None, "loss"),
                (record.curves, "cost", "cost J = loss + lambda ||W||^2", None, "cost")],
        "epoch", parity_note([record]))


def build(records: Mapping[str, RunRecord], gradients: Sequence[Mapping[str, Any]],
          quick: bool, data: str, class_names: Sequence[str]
          ) -> tuple[list[Section], dict[str, Figure]]:
    """The report's sections and figures (by file stem) from the finished runs."""
    figs: dict[str, Figure] = {}
    sections = [
        runs_section(records, [
            f"Data: {data}. Every run is an experiment definition under configs/dd2424/, "
            "trained by the NumPy implementation (numpy_impl) and, from the same "
            "initialisation on the same batches, by the PyTorch Lightning reference "
            "(lightning_ref) in lockstep (compare.run_parity); the curves show both. The grid "
            "search's points run on the NumPy side only (a table, not curves).",
            *(["Quick mode: every run is cut to 1 epoch and the grid to 2 points; the "
               "figures show that the report renders, not the text's results."]
              if quick else [])]),
        gradient_section("Exercise 1: gradient checks", gradients, quick),
    ]
    for k, name in enumerate(SETTINGS, 1):
        record = records[name]
        figs[f"setting{k}_curves"] = _loss_cost(
            record, f"Exercise 1, setting {k} ({_setting_label(record)}): loss and cost")
        figs[f"setting{k}_templates"] = figures.templates_figure(
            f"Exercise 1, setting {k}: the rows of W as class templates",
            {f"setting {k}": record.arrays["templates"]}, class_names,
            parity_note([record], curves=False))
        numpy_acc, lightning_acc = _test_accuracies(record)
        sections.append(Section(
            f"Exercise 1, setting {k}: {_setting_label(record)}",
            [f"Training and validation loss and cost after every epoch (the whole sets), and "
             f"the learnt W as class templates. Test accuracy: {numpy_acc} (Lightning "
             f"reference: {lightning_acc})."],
            figures=[f"setting{k}_curves", f"setting{k}_templates"]))
    sections.append(_settings_table(records))
    sections.append(_bonus(records, figs))
    sections.append(_multi_bce(records, figs))
    return sections, figs


def _settings_table(records: Mapping[str, RunRecord]) -> Section:
    """The final test accuracies of the four settings, and the text's reference numbers."""
    rows = []
    for k, name in enumerate(SETTINGS, 1):
        record = records[name]
        rows.append([str(k), f"{record.lam:g}", f"{record.init_arg('lr'):g}",
                     *_test_accuracies(record)])
    setting2 = records[SOFTMAX]
    cost_1 = setting2.curves["numpy"]["train/cost"][1][0]
    return Section("Exercise 1: final test accuracies", [
        "The text's reference for setting 2's parameters (seed 42, W drawn before b): a training "
        f"cost of {TEXT_COST_AFTER_EPOCH_1} after the first epoch and {pct(TEXT_TEST_ACCURACY)} "
        f"test accuracy after 40 epochs on CIFAR-10. Here: {cost_1:.4f} after the first epoch "
        f"and {pct(setting2.metrics['test/acc'])} after "
        f"{setting2.experiment['trainer']['max_epochs']} epochs (docs/expected-results.md)"
        + ("." if setting2.data.startswith("CIFAR-10") else
           f", on {setting2.data.split(' (')[0]}, not CIFAR-10: not comparable with the "
           "text's numbers."),
        *_settings_claims(records)],
        [Table(["setting", "lambda", "eta", "test acc (NumPy)", "test acc (Lightning)"], rows)])


def _settings_claims(records: Mapping[str, RunRecord]) -> list[str]:
    """The settings' results in words, each computed from the runs: the best setting (from
    the table's NumPy column), each training cost curve's rises, what eta and lambda did to
    the test accuracy and to the templates' smoothness."""
    settings = [(k, records[name]) for k, name in enumerate(SETTINGS, 1)]

    def label(k: int, r: RunRecord) -> str:
        return f"setting {k} (lambda {r.lam:g}, eta {r.init_arg('lr'):g})"

    cost = {k: r.curves["numpy"]["train/cost"][1] for k, r in settings}
    text = [claims.best_statement([(label(k, r), r.metrics["test/acc"]) for k, r in settings],
                                  "test accuracy (NumPy) of the four settings")]
    text.append("Training cost over the whole training set after each epoch: " + " ".join(
        claims.curve_statement(f"Setting {k}'s cost", cost[k]) for k, _ in settings))
    k2, r2 = settings[1]
    text.append(claims.expects(
        f"the training cost of {label(k2, r2)} to decrease at every epoch",
        claims.curve_statement("the cost", cost[k2])))
    same_lam = [(k, r) for k, r in settings if r.lam == r2.lam and r is not r2]
    if same_lam:
        text.append("The learning rate: " + claims.change_statement(
            (label(k2, r2), r2.metrics["test/acc"]),
            [(label(k, r), r.metrics["test/acc"]) for k, r in same_lam], "test accuracy"))
    same_eta = [(k, r) for k, r in settings
                if r.init_arg("lr") == r2.init_arg("lr") and r is not r2]
    if same_eta:
        text.append("The amount of regularisation: " + claims.change_statement(
            (label(k2, r2), r2.metrics["test/acc"]),
            [(label(k, r), r.metrics["test/acc"]) for k, r in same_eta], "test accuracy"))
        text.append("The learnt W's " + claims.smoothness_statement(
            [(f"lambda {r.lam:g}", r.arrays["templates"]) for _, r in [(k2, r2), *same_eta]]))
    return text


def _short(record: RunRecord) -> str:
    """A run's name without the text's prefix, with its step size: ``bonus_flip (eta 0.001)``."""
    return f"{record.name.rpartition('/')[2]} (eta {record.init_arg('lr'):g})"


def _train_test_gap(record: RunRecord) -> float:
    return record.metrics["train/acc"] - record.metrics["test/acc"]


def _bonus(records: Mapping[str, RunRecord], figs: dict[str, Figure]) -> Section:
    """Exercise 2.1: each improvement against a baseline that differs from it in that one
    thing (what differs is read from the two definitions), the grid search, the curves."""
    rows, pairs, gains = [], [], []
    for label, name, base in IMPROVEMENTS:
        record, baseline = records[name], records[base]
        gain = record.metrics["test/acc"] - baseline.metrics["test/acc"]
        gains.append((label, gain, baseline))
        rows.append([label, _short(record), _short(baseline),
                     claims.differences_text(baseline.experiment, record.experiment),
                     *_test_accuracies(record), pct(baseline.metrics["test/acc"]),
                     f"{100 * gain:+.2f}"])
        pairs.append((label, f"baseline: {_short(baseline)}", baseline.metrics["test/acc"],
                      record.metrics["test/acc"]))
    grid = sorted((r for n, r in records.items() if n.startswith("grid/")),
                  key=lambda r: -r.metrics["val/acc"])
    best, grid_base = grid[0], records[ALL_DATA]
    gain = best.metrics["test/acc"] - grid_base.metrics["test/acc"]
    rows.append(["(c) grid search, best by validation accuracy", best.name.removeprefix("grid/"),
                 _short(grid_base), claims.differences_text(grid_base.experiment,
                                                            best.experiment),
                 pct(best.metrics["test/acc"]), "-", pct(grid_base.metrics["test/acc"]),
                 f"{100 * gain:+.2f}"])
    pairs.append(("(c) grid search best", f"baseline: {_short(grid_base)}",
                  grid_base.metrics["test/acc"], best.metrics["test/acc"]))
    compared = [records[n] for _, n, _ in IMPROVEMENTS] + [records[b] for _, _, b in IMPROVEMENTS]
    figs["bonus_test_accuracy"] = figures.paired_bars_figure(
        "Exercise 2.1: test accuracy of each improvement and of its baseline (which differs "
        "from it in that improvement only; the grid search in lambda, eta and n_batch)",
        pairs, "test accuracy",
        parity_note(compared, curves=False) + "; grid: NumPy only")
    figs["bonus_val_accuracy"] = figures.comparison_figure(
        "Exercise 2.1: validation accuracy per epoch of each improvement and its baseline",
        {_short(records[n]): records[n].curves
         for n in dict.fromkeys(n for _, name, base in IMPROVEMENTS for n in (base, name))},
        "val/acc", "validation accuracy", "epoch",
        parity_note(compared))
    figs["bonus_grid_search"] = figures.bars_figure(
        "Exercise 2.1c: grid search over lambda, eta and n_batch (validation accuracy)",
        [r.name.removeprefix("grid/") for r in grid], [r.metrics["val/acc"] for r in grid],
        "validation accuracy", "NumPy only; the best point in orange", highlight=0)
    largest = max(gains, key=lambda g: g[1])
    if round(100 * largest[1], 2) > 0:
        gain_text = (f"Largest gain over its own baseline: {largest[0]}, "
                     f"{100 * largest[1]:+.2f} points over {_short(largest[2])}.")
    else:
        gain_text = ("None of the improvements raised the test accuracy over its own "
                     f"baseline (largest change: {100 * largest[1]:+.2f} points, {largest[0]}).")
    flip, flip_base = records["dd2424/bonus_flip"], records[ALL_DATA]
    _, grid_gaps = claims.gap_statement(
        [(r.name.removeprefix("grid/"), r.metrics["train/acc"], r.metrics["test/acc"])
         for r in grid], "training minus test accuracy")
    worst = grid[int(max(range(len(grid)), key=lambda i: grid_gaps[i]))]
    return Section("Exercise 2.1: improving the network", [
        "Each improvement is compared with a baseline that differs from it in that improvement "
        "alone: all five batches with setting 2, flips with all five batches, and both decays "
        "with all five batches trained at the step size they start from (eta 0.01, no decay). "
        "The 'differs' column lists every field of the two definitions that differs. The grid "
        "runs every combination of lambda, eta and n_batch from the same initialisation and "
        "picks the best validation accuracy.",
        claims.best_statement(
            [(label, records[name].metrics["test/acc"]) for label, name, _ in IMPROVEMENTS]
            + [("(c) the grid search's best point", best.metrics["test/acc"])],
            "test accuracy (NumPy) of the improvements") + " " + gain_text,
        claims.expects(
            "flips to reduce over-fitting at the very least (the gap between training and test "
            "accuracy)", claims.compare_gaps(
                (_short(flip_base), round(100 * _train_test_gap(flip_base), 2)),
                (_short(flip), round(100 * _train_test_gap(flip), 2)),
                "training minus test accuracy")),
        claims.expects(
            "not too much over-fitting in the grid, the model being simple",
            f"the largest gap between training and test accuracy over the grid is "
            f"{max(grid_gaps):+.2f} points ({worst.name.removeprefix('grid/')})")],
        [Table(["improvement", "run", "baseline", "differs", "test acc (NumPy)",
                "test acc (Lightning)", "baseline test acc", "gain (points)"], rows),
         Table(["grid point", "val acc", "test acc", "train - test acc (points)"],
               [[r.name.removeprefix("grid/"), pct(r.metrics["val/acc"]),
                 pct(r.metrics["test/acc"]), f"{g:+.2f}"] for r, g in zip(grid, grid_gaps,
                                                                          strict=True)],
               "The grid, best validation accuracy first.")],
        figures=["bonus_test_accuracy", "bonus_val_accuracy", "bonus_grid_search"])


def _relative_loss(record: RunRecord) -> Curves:
    """A run's training and validation loss curves (both sides) divided by its own training
    loss after the first epoch, so that losses on different scales share one axis."""
    start = record.curves["numpy"]["train/loss"][1][0]
    return {side: {tag: (x, [v / start for v in y]) for tag, (x, y) in tags.items()
                   if tag in ("train/loss", "val/loss")}
            for side, tags in record.curves.items()}


def _multi_bce(records: Mapping[str, RunRecord], figs: dict[str, Figure]) -> Section:
    """Exercise 2.2: multiple binary cross-entropy against softmax + cross-entropy, over-fitting
    measured on scales the two losses share (accuracy gaps; each loss over its own start)."""
    bce, softmax = records[MULTI_BCE], records[SOFTMAX]
    pair = {f"softmax + cross-entropy (setting 2, eta {softmax.init_arg('lr'):g})": softmax,
            f"sigmoid + multiple BCE (eta {bce.init_arg('lr'):g})": bce}
    figs["multi_bce_histograms"] = figures.histogram_figure(
        "Exercise 2.2: probability of the ground-truth class, test images",
        {label: (r.arrays["p_true"], r.arrays["correct"]) for label, r in pair.items()},
        parity_note(pair.values(), curves=False))
    relative = {label: _relative_loss(r) for label, r in pair.items()}
    values = [v for curves in relative.values() for tags in curves.values()
              for _, y in tags.values() for v in y]
    pad = 0.08 * (max(values) - min(values) or 1.0)
    shared = (min(values) - pad, max(values) + pad)  # one scale for both panels
    figs["multi_bce_loss"] = figures.train_val_figure(
        "Exercise 2.2: training and validation loss of each loss function, each divided by "
        "its own training loss after the first epoch (the two losses have different scales)",
        [(curves, "loss", "loss / training loss after epoch 1", shared, label)
         for label, curves in relative.items()], "epoch", parity_note(pair.values()))

    def loss_gap(r: RunRecord) -> float:
        return (r.metrics["val/loss"] - r.metrics["train/loss"]) / r.curves["numpy"][
            "train/loss"][1][0]

    rows = [[label, *_test_accuracies(r),
             f"{100 * (r.metrics['train/acc'] - r.metrics['val/acc']):+.2f}",
             f"{100 * _train_test_gap(r):+.2f}", f"{loss_gap(r):+.4f}"]
            for label, r in pair.items()]
    return Section("Exercise 2.2: sigmoid and multiple binary cross-entropy", [
        "With p = sigmoid(s) and the loss of eq. 14, dl/ds = (p - y) / K for each image (the "
        "softmax + cross-entropy gradient is p - y): the same code with the 1/K factor, which is "
        "why eta is ten times larger.",
        "The two losses have different scales (log 10 and log 2 at zero scores), so "
        "over-fitting is measured where they share one: the gaps between training and "
        "validation and between training and test accuracy, in points, and the validation "
        "minus the training loss as a share of each model's own training loss after the first "
        "epoch (the figure draws each loss on that scale).",
        claims.asks(
            "whether more or less over-fitting occurs with the multiple BCE loss",
            claims.compare_gaps(
                ("softmax + cross-entropy", round(100 * _train_test_gap(softmax), 2)),
                ("multiple BCE", round(100 * _train_test_gap(bce), 2)),
                "training minus test accuracy")
            + "; " + claims.compare_gaps(
                ("softmax + cross-entropy", round(loss_gap(softmax), 4)),
                ("multiple BCE", round(loss_gap(bce), 4)),
                "validation minus training loss over its first training loss", unit=""))],
        [Table(["model", "test acc (NumPy)", "test acc (Lightning)",
                "train - val acc (points)", "train - test acc (points)",
                "(val - train loss) / first train loss"], rows)],
        figures=["multi_bce_histograms", "multi_bce_loss"])
