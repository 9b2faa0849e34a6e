"""What both reports say the same way: the parity line under a figure, the table of runs and
their verification, the gradient-check section, number formats."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from compare.report.document import Section, Table
from compare.report.runs import RunRecord


def pct(value: float) -> str:
    """An accuracy in [0, 1] as a percentage with two decimals."""
    return f"{100 * value:.2f}%"


def parity_note(records: Iterable[RunRecord], curves: bool = True) -> str:
    """The line under a figure that says its numbers were verified: the largest relative error
    between the NumPy side and the Lightning reference over the runs drawn, and the verdict.
    ``curves`` False: the figure draws the NumPy side's final weights or predictions only."""
    records = [r for r in records if r.parity is not None]
    if not records:
        return "NumPy only (no Lightning run)"
    worst = max(r.parity.max_rel_error for r in records)
    verdict = "PASS" if all(r.parity.passed for r in records) else "FAIL"
    steps = sum(r.parity.steps for r in records)
    if not curves:
        return (f"NumPy's final weights; Lightning's agree to a relative error of {worst:.2g} "
                f"({verdict})")
    return (f"NumPy (solid) vs Lightning (dashed): max relative error {worst:.2g} over {steps} "
            f"steps, {verdict}")


def runs_section(records: Mapping[str, RunRecord], intro: Sequence[str]) -> Section:
    """Every run of the report: what it is, how long it trained, its final validation
    accuracy and the lockstep comparison's verdict and largest relative error."""
    rows = []
    for name, record in records.items():
        parity = record.parity
        rows.append([name, f"{len(record.curves['numpy'].get('train/loss', ([], []))[0])}",
                     pct(record.metrics["val/acc"]),
                     "-" if parity is None else f"{parity.max_rel_error:.2g}",
                     "NumPy only" if parity is None else ("PASS" if parity.passed else "FAIL")])
    table = Table(["run", "points", "val acc", "max rel err", "parity"], rows,
                  "Every run, its number of training-curve points (TDT4265: gradient steps; "
                  "DD2424: epochs), its final validation accuracy, and the largest relative "
                  "error between the NumPy side and the Lightning reference over every quantity "
                  "compared at every step (batches, losses, gradients, parameters, validations, "
                  "final weights and metrics).")
    failed = [r for r in records.values() if r.parity is not None and not r.parity.passed]
    paragraphs = list(intro) + [f"Parity FAILED for {', '.join(r.name for r in failed)}: "
                                + "; ".join(r.parity.verdict for r in failed)] * bool(failed)
    return Section("How these numbers were produced and verified", paragraphs, [table])


def gradient_section(title: str, rows: Sequence[Mapping[str, Any]], quick: bool) -> Section:
    """The gradient-check table: per model, the largest relative error of the hand-derived
    gradients against autograd and against central differences."""
    table = Table(["model", "parameters", "batch", "lambda", "vs autograd",
                   "vs finite differences"],
                  [[r["model"], r["parameters"], str(r["batch"]), f"{r['lam']:g}",
                    f"{r['vs_autograd']:.2g}", f"{r['vs_finite_differences']:.2g} "
                    f"({r['differenced']} elements)"] for r in rows])
    eps = rows[0]["eps"] if rows else 0.0
    text = [
        "Each model's hand-derived gradient of the cost J (lambda included) at random "
        "parameters of the size trained here (N(0, 0.01^2)) on a random batch, against "
        "PyTorch autograd on the Lightning module's cost and against centred finite "
        f"differences (step {eps:g}). The error is DD2424's relative error "
        "|g_a - g_n| / max(1e-12, |g_a| + |g_n|), its largest over every element. Autograd "
        "agrees to round-off; the finite differences to their truncation and round-off error, "
        "which dominates on the elements whose gradient is nearly zero.",
    ]
    if quick:
        text.append("Quick mode: the finite differences cover the first 20 inputs' weights "
                    "and the biases only.")
    return Section(title, text, [table])
