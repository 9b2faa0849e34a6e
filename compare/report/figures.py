"""One function per kind of figure in the reports. Each takes plain data (curves, arrays,
numbers) and returns a matplotlib Figure, so each can be drawn and tested on synthetic data.

Curves come as ``curves[side][tag] = (x, y)`` with side ``numpy`` or ``lightning``: the NumPy
curve is drawn solid, the Lightning reference's dashed over it in a darker shade of the same
colour, so where they agree (always, to ~1e-15) the dashes lie on the line. ``note`` (e.g. the
run's largest parity error) goes under the title.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

Series = tuple[Sequence[float], Sequence[float]]
Curves = Mapping[str, Mapping[str, Series]]

PART_NAMES = {"train": "training", "val": "validation", "test": "test"}
SIDE_NAMES = {"numpy": "NumPy", "lightning": "Lightning"}
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]
WIDE, TALL = 9.0, 4.8
plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "figure.titlesize": 13,
                     "legend.fontsize": 9})


def _figure(title: str, note: str | None, ncols: int = 1, width: float = WIDE,
            height: float = TALL, **kwargs: object) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained",
                             squeeze=False, **kwargs)
    fig.suptitle(_heading(title, note, width))
    return fig, axes[0]


def _heading(title: str, note: str | None, width: float) -> str:
    """The title and the note, each wrapped to the figure's width so that nothing is clipped."""
    chars = int(width * 9)
    lines = textwrap.wrap(title, chars) + (textwrap.wrap(note, int(chars * 1.1)) if note else [])
    return "\n".join(lines)


def _darker(color: str) -> tuple[float, float, float]:
    return tuple(0.55 * c for c in to_rgb(color))


def _plot(ax: Axes, series: Series, label: str, color: str, side: str) -> None:
    x, y = series
    few = len(x) <= 45  # markers where the points are few enough to tell apart
    if side == "numpy":
        ax.plot(x, y, color=color, lw=2.2, alpha=0.8, marker="o" if few else None, ms=6,
                label=f"{label} (NumPy)")
    else:
        ax.plot(x, y, color=_darker(color), lw=1.1, ls=(0, (4, 3)),
                marker="x" if few else None, ms=6, label=f"{label} (Lightning)")


def _limits(ax: Axes, values: Sequence[float], ylim: tuple[float, float] | None) -> None:
    """``ylim`` where given, else the range of ``values`` with a margin (so that a noisy
    background curve does not set the scale)."""
    if ylim is None and len(values):
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        pad = 0.08 * (high - low or abs(high) or 1.0)
        ylim = (low - pad, high + pad)
    if ylim is not None:
        ax.set_ylim(*ylim)


Panel = tuple[Curves, str, str, "tuple[float, float] | None", str]


def train_val_figure(title: str, panels: Sequence[Panel], xlabel: str,
                     note: str | None = None) -> Figure:
    """Training and validation curves, both sides, one panel per ``(curves, quantity, y label,
    ylim, panel title)`` (quantity ``loss``, ``cost`` or ``acc``). A Lightning
    ``batch/<quantity>`` curve (DD2424: the loss of each step's batch, where the NumPy side
    measures the whole training set once per epoch) is drawn faintly behind; ``ylim`` None fits
    the other curves."""
    fig, axes = _figure(title, note, ncols=len(panels),
                        width=WIDE if len(panels) == 1 else 12.0)
    for ax, (curves, quantity, ylabel, ylim, subtitle) in zip(axes, panels, strict=True):
        batch = curves.get("lightning", {}).get(f"batch/{quantity}")
        if batch is not None:
            ax.plot(*batch, color="0.6", lw=0.6, alpha=0.6,
                    label="training batches (Lightning, per step)")
        shown: list[float] = []
        for color, part in zip(COLORS, ("train", "val"), strict=False):
            for side in ("numpy", "lightning"):
                series = curves.get(side, {}).get(f"{part}/{quantity}")
                if series is not None:
                    _plot(ax, series, PART_NAMES[part], color, side)
                    shown.extend(series[1])
        _limits(ax, shown, ylim)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=subtitle)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    return fig


def comparison_figure(title: str, runs: Mapping[str, Curves], tag: str, ylabel: str,
                      xlabel: str, note: str | None = None,
                      ylim: tuple[float, float] | None = None) -> Figure:
    """One quantity (``tag``, e.g. ``val/acc``) of several runs on one chart, each run's
    NumPy and Lightning curves labelled with the run's name (a key of ``runs``)."""
    fig, (ax,) = _figure(title, note)
    shown: list[float] = []
    for color, (label, curves) in zip(COLORS, runs.items(), strict=False):
        for side in ("numpy", "lightning"):
            series = curves.get(side, {}).get(tag)
            if series is not None:
                _plot(ax, series, label, color, side)
                shown.extend(series[1])
    _limits(ax, shown, ylim)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", ncols=2 if len(runs) > 2 else 1)
    return fig


def early_stopping_figure(title: str, curves: Curves, stopped_step: int | None,
                          best_step: int | None, stopped_epoch: int | None,
                          note: str | None = None) -> Figure:
    """Validation loss against gradient steps, with where early stopping kicked in (epoch
    counted from 1) and the step whose weights it restored."""
    fig, (ax,) = _figure(title, note)
    shown: list[float] = []
    for side in ("numpy", "lightning"):
        series = curves.get(side, {}).get("val/loss")
        if series is not None:
            _plot(ax, series, "validation loss", COLORS[1], side)
            shown.extend(series[1])
    if stopped_step is not None:
        ax.axvline(stopped_step, color="k", lw=1.2,
                   label=f"early stop: step {stopped_step}, epoch {stopped_epoch + 1}")
    if best_step is not None:
        ax.axvline(best_step, color="tab:green", lw=1.2, ls=":",
                   label=f"lowest validation loss: step {best_step} (weights restored)")
    _limits(ax, shown, None)
    ax.set(xlabel="gradient step", ylabel="cross-entropy loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig


def templates_figure(title: str, rows: Mapping[str, np.ndarray], class_names: Sequence[str],
                     note: str | None = None) -> Figure:
    """Learnt weights as images, one row per model (``rows[label]``: K x H x W x C in [0, 1])
    and one tile per class, labelled with the class names (TDT4265 Figure 1, DD2424 Figure 4)."""
    K = len(class_names)
    fig, axes = plt.subplots(len(rows), K, figsize=(1.25 * K + 1.2, 1.55 * len(rows) + 0.9),
                             layout="constrained", squeeze=False)
    fig.suptitle(_heading(title, note, fig.get_figwidth()))
    for row, (label, images) in zip(axes, rows.items(), strict=True):
        for k, ax in enumerate(row):
            image = images[k]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image,
                      cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(class_names[k], fontsize=9)
        row[0].set_ylabel(label, fontsize=10)
    return fig


def norm_figure(title: str, lambdas: Sequence[float], norms: Sequence[float],
                unregularised: float | None = None, note: str | None = None) -> Figure:
    """||w||^2 after training against lambda (log scale), with the lambda = 0 model's as a
    reference line where given."""
    fig, (ax,) = _figure(title, note)
    ax.plot(lambdas, norms, "o-", color=COLORS[0], lw=2, label="after training (NumPy)")
    for lam, norm in zip(lambdas, norms, strict=True):
        ax.annotate(f"{norm:.3g}", (lam, norm), textcoords="offset points", xytext=(6, 6),
                    fontsize=9)
    if unregularised is not None:
        ax.axhline(unregularised, color="0.4", ls="--", lw=1,
                   label=f"lambda = 0: {unregularised:.3g}")
    ax.set(xscale="log", yscale="log", xlabel="lambda", ylabel="||w||^2 (all weights)")
    ax.margins(x=0.12, y=0.12)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best")
    return fig


def histogram_figure(title: str, panels: Mapping[str, tuple[np.ndarray, np.ndarray]],
                     note: str | None = None, bins: int = 25) -> Figure:
    """One panel per model (``panels[label] = (p_true, correct)``): histograms of the
    probability given to the ground-truth class of the correctly and of the incorrectly
    classified test images, on shared axes."""
    fig, axes = _figure(title, note, ncols=len(panels), width=12.0, sharex=True, sharey=True)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, (label, (p_true, correct)) in zip(axes, panels.items(), strict=True):
        correct = np.asarray(correct, dtype=bool)
        for mask, name, color in ((correct, "correct", COLORS[2]),
                                  (~correct, "incorrect", COLORS[3])):
            ax.hist(np.asarray(p_true)[mask], bins=edges, alpha=0.6, color=color,
                    label=f"{name} ({int(mask.sum())} test images)")
        ax.set(title=label, xlabel="probability of the ground-truth class",
               ylabel="test images")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    return fig


def bars_figure(title: str, labels: Sequence[str], values: Sequence[float], xlabel: str,
                note: str | None = None, highlight: int | None = None) -> Figure:
    """Horizontal bars, one per label, with its value written at the end (test accuracies of
    the improvements, validation accuracies of the grid points); ``highlight`` marks one."""
    height = max(TALL, 0.32 * len(labels) + 1.6)
    fig, (ax,) = _figure(title, note, height=height)
    colors = [COLORS[1] if i == highlight else COLORS[0] for i in range(len(labels))]
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=colors)
    ax.set_yticks(y, labels, fontsize=9 if len(labels) > 12 else 10)
    for yi, value in zip(y, values, strict=True):
        ax.text(value, yi, f" {value:.4f}", va="center", fontsize=9)
    ax.set_xlim(0, max(values, default=1.0) * 1.15 or 1.0)
    ax.set(xlabel=xlabel)
    ax.grid(alpha=0.3, axis="x")
    return fig


def paired_bars_figure(title: str, pairs: Sequence[tuple[str, str, float, float]],
                       xlabel: str, note: str | None = None) -> Figure:
    """Horizontal bars in pairs, one pair per ``(label, baseline label, baseline value,
    value)``: the baseline's bar in grey under the run's in colour, each value written at its
    end (DD2424 2.1: each improvement beside the run it differs from in that improvement)."""
    height = max(TALL, 0.75 * len(pairs) + 1.8)
    fig, (ax,) = _figure(title, note, height=height)
    ticks, names = [], []
    for i, (label, base_label, base, value) in enumerate(pairs):
        y = 2.4 * (len(pairs) - 1 - i)
        ax.barh(y + 0.5, value, color=COLORS[0], height=0.9)
        ax.barh(y - 0.5, base, color="0.7", height=0.9)
        for yy, v in ((y + 0.5, value), (y - 0.5, base)):
            ax.text(v, yy, f" {v:.4f}", va="center", fontsize=9)
        ticks += [y + 0.5, y - 0.5]
        names += [label, base_label]
    ax.set_yticks(ticks, names, fontsize=9)
    ax.set_xlim(0, max([v for p in pairs for v in p[2:]], default=1.0) * 1.15 or 1.0)
    ax.set(xlabel=xlabel)
    ax.grid(alpha=0.3, axis="x")
    return fig
