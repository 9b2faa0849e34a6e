"""The TDT4265 report: the runs tasks 2-4 need and the section, figure and table for each task
the text asks to report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from compare.report import claims, figures
from compare.report.content import gradient_section, parity_note, pct, runs_section
from compare.report.document import Section, Table
from compare.report.runs import Job, RunRecord
from numpy_impl.tdt4265 import validation_interval

LAMBDAS = ("1.0", "0.1", "0.01", "0.001")
GRADIENT_MODELS = ["TDT4265Binary", "TDT4265Softmax"]
DIGITS = [str(k) for k in range(10)]


def jobs(quick: bool) -> list[Job]:
    """The runs tasks 2-4 need (the same in quick mode, each shortened)."""
    return [Job("tdt4265/task2b"), Job("tdt4265/task2d"), Job("tdt4265/task2e"),
            Job("tdt4265/task3b"), *(Job(f"tdt4265/task4_lambda{lam}") for lam in LAMBDAS)]


def zoom(suggested: tuple[float, float], values: Sequence[float]) -> tuple[float, float] | None:
    """The text's suggested ylim where the second half of the curve lies mostly inside it
    (its median does), else None: fit the curve (the text's numbers are for its 20,000-image
    training set; another data set may settle elsewhere)."""
    tail = np.asarray(values[len(values) // 2:], dtype=float)
    return suggested if tail.size and suggested[0] <= np.median(tail) <= suggested[1] else None


def _curves_figure(record: RunRecord, title: str, quantity: str, ylabel: str,
                   suggested: tuple[float, float]) -> Figure:
    ylim = zoom(suggested, record.curves["numpy"][f"val/{quantity}"][1])
    return figures.train_val_figure(title, [(record.curves, quantity, ylabel, ylim, "")],
                                    "gradient step", parity_note([record]))


def _final(record: RunRecord) -> str:
    m = record.metrics
    return (f"Final (restored) weights: training accuracy {pct(m['train/acc'])}, validation "
            f"accuracy {pct(m['val/acc'])}; training loss {m['train/loss']:.4f}, validation "
            f"loss {m['val/loss']:.4f}.")


def _cadence(record: RunRecord) -> str:
    """The validation cadence and early stopping the run actually had, from its data: the
    text's 20,000 images validate every 20% of an epoch; the embedded subset's few batches
    (the binary task: 6 an epoch) make the starter's ``batches // 5`` validate after every
    step, and so early stopping's patience counts steps."""
    batch = int(record.data_arg("batch_size"))
    batches = record.sizes["train"] // batch
    every = validation_interval(batches)
    patience = record.init_arg("early_stopping_patience")
    where = ("the embedded MNIST subset" if record.embedded else "MNIST") + \
        f" ({record.sizes['train']} training images)"
    text = (f"{where}: {batches} batches of {batch} an epoch, so a validation after every "
            f"{'step' if every == 1 else f'{every} steps'}")
    if patience:
        text += f"; early stopping after {patience} validations ({patience * every} steps) " \
            "without improvement"
    return text


def _stopping(record: RunRecord) -> str:
    m = record.metrics
    if m.get("stopped_step") is None:
        return (f"Early stopping did not kick in within the run's "
                f"{record.experiment['trainer']['max_epochs']} epochs.")
    return (f"Early stopping kicked in during epoch {m['stopped_epoch'] + 1} (counted from 1; "
            f"epoch {m['stopped_epoch']} counted from 0), after gradient step "
            f"{m['stopped_step']}: the validation loss had not improved over the last 10 "
            f"validations. The weights of step {m['best_step']}, the lowest validation loss, "
            "were restored.")


def build(records: Mapping[str, RunRecord], gradients: Sequence[Mapping[str, Any]],
          quick: bool, data: str, class_names: Sequence[str]
          ) -> tuple[list[Section], dict[str, Figure]]:
    """The report's sections and figures (by file stem) from the finished runs."""
    r2b, r2d, r2e = (records[f"tdt4265/task{t}"] for t in ("2b", "2d", "2e"))
    r3b = records["tdt4265/task3b"]
    r4 = {float(lam): records[f"tdt4265/task4_lambda{lam}"] for lam in LAMBDAS}
    figs: dict[str, Figure] = {
        "task2b_loss": _curves_figure(
            r2b, "Task 2b: logistic regression (2 vs 3), loss over training", "loss",
            "binary cross-entropy loss", (0.0, 0.2)),
        "task2c_accuracy": _curves_figure(
            r2b, "Task 2c: logistic regression (2 vs 3), accuracy over training", "acc",
            "accuracy", (0.93, 0.99)),
        "task2d_early_stopping": figures.early_stopping_figure(
            f"Task 2d: where early stopping kicked in (validation loss); {_cadence(r2d)}",
            r2d.curves,
            r2d.metrics.get("stopped_step"), r2d.metrics.get("best_step"),
            r2d.metrics.get("stopped_epoch"), parity_note([r2d])),
        "task2e_shuffle": figures.comparison_figure(
            f"Task 2e: validation accuracy with and without shuffling; {_cadence(r2e)}",
            {"validation, no shuffling (2d)": r2d.curves,
             "validation, shuffled (2e)": r2e.curves},
            "val/acc", "validation accuracy", "gradient step", parity_note([r2d, r2e])),
        "task3b_loss": _curves_figure(
            r3b, "Task 3b: softmax regression (10 digits), loss over training", "loss",
            "cross-entropy loss", (0.2, 0.6)),
        "task3c_accuracy": figures.train_val_figure(
            "Task 3c: softmax regression (10 digits), accuracy over training",
            [(r3b.curves, "acc", "accuracy", None, "")], "gradient step", parity_note([r3b])),
        "task4b_weights": figures.templates_figure(
            "Task 4b: the weights of each digit (w without the bias row, each tile scaled to "
            "[0, 1])",
            {"lambda = 0": r3b.arrays["templates"], "lambda = 1": r4[1.0].arrays["templates"]},
            class_names, parity_note([r3b, r4[1.0]], curves=False)),
        "task4c_val_accuracy": figures.comparison_figure(
            "Task 4c: validation accuracy for each lambda",
            {f"validation, lambda = {lam:g}": r.curves for lam, r in r4.items()},
            "val/acc", "validation accuracy", "gradient step", parity_note(r4.values())),
        "task4e_weight_norm": figures.norm_figure(
            "Task 4e: ||w||^2 after training against lambda", list(r4),
            [_norm(r) for r in r4.values()], _norm(r3b),
            parity_note(r4.values(), curves=False)),
    }
    gaps = [f"lambda = {lam:g}: {pct(r.metrics['val/acc'])}" for lam, r in r4.items()]
    sections = [
        runs_section(records, [
            f"Data: {data}. Every run is an experiment definition under configs/tdt4265/, "
            "trained by the NumPy implementation (numpy_impl) and, from the same "
            "initialisation on the same batches, by the PyTorch Lightning reference "
            "(lightning_ref) in lockstep (compare.run_parity); every curve below shows both.",
            *(["Quick mode: every run is cut to 1 epoch; the curves show that the report "
               "renders, not the text's results."] if quick else [])]),
        gradient_section("Tasks 2a and 3a: gradient checks", gradients, quick),
        Section("Task 2b: training and validation loss",
                ["Training loss at every gradient step (the batch's loss, as the starter code "
                 "records it) and validation loss every 20% of an epoch (the starter's "
                 f"cadence; here {_cadence(r2b)}); zoomed as the text suggests where the "
                 "curves lie in its range.", _final(r2b)],
                figures=["task2b_loss"]),
        Section("Task 2c: training and validation accuracy",
                ["Accuracy of the whole training and validation sets at every validation.",
                 _final(r2b)], figures=["task2c_accuracy"]),
        Section("Task 2d: early stopping", [f"Data: {_cadence(r2d)}.", _stopping(r2d),
                                            _final(r2d)],
                figures=["task2d_early_stopping"]),
        Section("Task 2e: shuffling",
                ["Validation accuracy of task 2d (no shuffling) and the same run with the "
                 f"training set shuffled before every epoch. Data: {_cadence(r2e)}.",
                 f"Without shuffling: {_stopping(r2d)}", f"With shuffling: {_stopping(r2e)}",
                 claims.expects("the validation accuracy to show fewer \"spikes\" with "
                                "shuffling", claims.fewer_spikes(
                                    [("without shuffling", r2d.curves["numpy"]["val/acc"][1]),
                                     ("with shuffling", r2e.curves["numpy"]["val/acc"][1])]))],
                figures=["task2e_shuffle"]),
        Section("Task 3b: softmax regression, loss", [_final(r3b), _stopping(r3b)],
                figures=["task3b_loss"]),
        Section("Tasks 3c and 3d: softmax regression, accuracy",
                [_final(r3b), "Over-fitting shows as a training accuracy that keeps rising "
                 "while the validation accuracy stalls; the gap at the end is "
                 f"{100 * (r3b.metrics['train/acc'] - r3b.metrics['val/acc']):.2f} points."],
                figures=["task3c_accuracy"]),
        Section("Task 4b: weights with and without L2 regularisation",
                ["One 28x28 tile per digit: the model of task 3b (lambda = 0, top) and the same "
                 "model trained with lambda = 1 (bottom), J = C + lambda ||w||^2.",
                 claims.expects("the weights of lambda = 1 to be less noisy", "the "
                                + claims.smoothness_statement(
                                    [("lambda = 0", r3b.arrays["templates"]),
                                     ("lambda = 1", r4[1.0].arrays["templates"])]))],
                figures=["task4b_weights"]),
        Section("Tasks 4c and 4d: validation accuracy for each lambda",
                ["Final validation accuracy: " + "; ".join(gaps) + f" (lambda = 0: "
                 f"{pct(r3b.metrics['val/acc'])}).",
                 claims.expects("the validation accuracy to degrade with any amount of "
                                "regularisation", claims.change_statement(
                                    ("lambda = 0", r3b.metrics["val/acc"]),
                                    [(f"lambda = {lam:g}", r.metrics["val/acc"])
                                     for lam, r in r4.items()], "final validation accuracy"))],
                [Table(["lambda", "val acc", "train acc", "sum of w squared"],
                       [[f"{lam:g}", pct(r.metrics["val/acc"]), pct(r.metrics["train/acc"]),
                         f"{_norm(r):.4g}"] for lam, r in {0.0: r3b, **r4}.items()])],
                figures=["task4c_val_accuracy"]),
        Section("Task 4e: the length of the weights against lambda",
                ["||w||^2 of every weight (bias row included, as the L2 term R(w) of this "
                 "project counts it) after training, for each lambda of task 4c; the dashed "
                 "line is the unregularised model of task 3b.",
                 claims.asks("what one observes", claims.trend_statement(
                     "||w||^2 after training", "lambda",
                     [(lam, _norm(r)) for lam, r in {0.0: r3b, **r4}.items()]))],
                figures=["task4e_weight_norm"]),
    ]
    return sections, figs


def _norm(record: RunRecord) -> float:
    return float(np.sum(record.arrays["param_w"] ** 2))
