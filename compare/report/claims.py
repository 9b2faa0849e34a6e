"""The sentences of a report that state a result, each computed from the run's numbers: which
setting scored best, whether a curve oscillates, what a change did to accuracy, how smooth the
learnt templates are. Every verdict word comes from a stated measure, never from the code."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from compare.report.content import pct

#: A curve "oscillates" where its total rise is at least this share of its total fall.
OSCILLATION_SHARE = 0.1
#: Two roughness values within this relative difference are "about as smooth".
SMOOTHNESS_TOLERANCE = 0.05


def expects(text: str, measured: str) -> str:
    """What the assignment text predicts and what this run measured, side by side."""
    return f"The text expects {text}; this run: {measured.rstrip('.')}."


def asks(question: str, measured: str) -> str:
    """What the assignment text asks the student to find out, and what this run measured."""
    return f"The text asks {question}; this run: {measured.rstrip('.')}."


def best_statement(rows: Sequence[tuple[str, float]], measure: str) -> str:
    """Which row scored highest (all rows tied at the top where several are)."""
    shown = [(label, round(100 * value, 2)) for label, value in rows]  # as the table prints
    top = max(value for _, value in shown)
    best = [label for label, value in shown if value == top]
    if len(best) == len(rows):
        return f"{measure[0].upper()}{measure[1:]}: all tie at {top:.2f}%."
    lowest = min(value for _, value in shown)
    worst = [label for label, value in shown if value == lowest]
    return (f"Best {measure}: {_join(best)} with {top:.2f}%; lowest: {_join(worst)} with "
            f"{lowest:.2f}%.")


def _join(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def moves(values: Sequence[float]) -> tuple[int, int, float, float]:
    """(steps at which the curve rose, steps in all, total rise, total fall)."""
    diffs = np.diff(np.asarray(values, dtype=float))
    return (int(np.sum(diffs > 0)), int(diffs.size), float(diffs[diffs > 0].sum()),
            float(-diffs[diffs < 0].sum()))


def curve_statement(what: str, values: Sequence[float],
                    unit: str = "epochs after the first") -> str:
    """Whether a cost curve fell steadily, mostly fell or oscillated, with the measure."""
    ups, steps, rise, fall = moves(values)
    if steps == 0:
        return f"{what} has a single point: no statement on whether it settles."
    if ups == 0:
        return f"{what} rose in 0 of {steps} {unit} (it fell in every one): smooth."
    share = rise / fall if fall > 0 else float("inf")
    verdict = ("it never falls" if fall == 0 else "it oscillates" if share >= OSCILLATION_SHARE
               else "it mostly falls, with small rises")
    share_text = "no fall at all" if fall == 0 else f"{share:.0%} of its total fall {fall:.4g}"
    return (f"{what} rose in {ups} of {steps} {unit} (total rise {rise:.4g}, {share_text}; "
            f"oscillating here means rises of at least {OSCILLATION_SHARE:.0%} of the falls): "
            f"{verdict}.")


def change_statement(base: tuple[str, float], others: Sequence[tuple[str, float]],
                     measure: str) -> str:
    """Each alternative's accuracy against the base's, as a difference in points."""
    parts = []
    for label, value in others:
        diff = round(100 * (value - base[1]), 2)
        verdict = "higher" if diff > 0 else "lower" if diff < 0 else "unchanged"
        parts.append(f"{label}: {pct(value)}, {diff:+.2f} points ({verdict})")
    return f"{measure} against {base[0]} ({pct(base[1])}): " + "; ".join(parts) + "."


def roughness(templates: np.ndarray) -> float:
    """Mean absolute difference between horizontally and vertically neighbouring pixels of
    class templates (K x H x W x C, each scaled to [0, 1]): lower is smoother."""
    t = np.asarray(templates, dtype=float)
    return float(np.concatenate([np.abs(np.diff(t, axis=1)).ravel(),
                                 np.abs(np.diff(t, axis=2)).ravel()]).mean())


def smoothness_statement(templates: Sequence[tuple[str, np.ndarray]]) -> str:
    """Each model's template roughness, and each against the first: smoother, rougher or
    about as smooth (within SMOOTHNESS_TOLERANCE)."""
    values = [(label, roughness(t)) for label, t in templates]
    base_label, base = values[0]
    listed = "; ".join(f"{label}: {value:.4f}" for label, value in values)
    verdicts = []
    for label, value in values[1:]:
        change = (value - base) / base if base > 0 else 0.0
        if abs(change) <= SMOOTHNESS_TOLERANCE:
            word = "about as smooth as"
        else:
            word = "smoother than" if change < 0 else "rougher than"
        verdicts.append(f"{label} is {word} {base_label} ({change:+.0%})")
    return (f"template roughness (mean absolute difference between neighbouring pixels of each "
            f"class template scaled to [0, 1]; lower is smoother): {listed}; "
            + "; ".join(verdicts) + ".")


def drops_statement(rows: Sequence[tuple[str, Sequence[float]]]
                    ) -> tuple[str, list[float]]:
    """How often each validation-accuracy curve fell between validations (its "spikes"), as a
    share of its validations (runs of different lengths compare by that share), and by how
    much per validation."""
    parts, shares = [], []
    for label, values in rows:
        ups, steps, rise, _ = moves([-v for v in values])
        share = ups / steps if steps else 0.0
        shares.append(round(share, 4))
        parts.append(f"{label}: it fell at {ups} of {steps} validations ({share:.0%}; total "
                     f"fall {100 * rise:.2f} points, {100 * rise / max(steps, 1):.2f} per "
                     "validation)")
    return "; ".join(parts), shares


def fewer_spikes(rows: Sequence[tuple[str, Sequence[float]]]) -> str:
    """The first curve's drops against the second's, as a share of each one's validations:
    fewer, more or as many in the second."""
    text, (first, second) = drops_statement(rows)
    verdict = ("fewer drops" if second < first else "more drops" if second > first
               else "as many drops")
    return f"{text}: {verdict} per validation {rows[1][0]}"


def _flatten(config: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


#: Fields that name a run rather than decide its outcome.
NOT_SETTINGS = ("data.download", "data.root")


def differences(base: dict, other: dict) -> dict[str, tuple[object, object]]:
    """Every field of two resolved experiment definitions whose value differs, as
    ``{dotted field: (base's value, other's value)}`` (None where a field is absent); where
    the files come from (``data.root``, ``data.download``) is not a difference."""
    a, b = _flatten(base), _flatten(other)
    return {key: (a.get(key), b.get(key)) for key in sorted(a.keys() | b.keys())
            if key not in NOT_SETTINGS and a.get(key) != b.get(key)}


def differences_text(base: dict, other: dict) -> str:
    """The differences as a short line, e.g. ``model.init_args.lr_step_epochs: - -> 10``."""
    diff = differences(base, other)
    if not diff:
        return "nothing"
    return "; ".join(f"{key.replace('init_args.', '')}: {'-' if old is None else old} -> "
                     f"{'-' if new is None else new}" for key, (old, new) in diff.items())


def gap_statement(rows: Sequence[tuple[str, float, float]],
                  measure: str) -> tuple[str, list[float]]:
    """Each row's gap between two accuracies (e.g. training minus test), in points."""
    gaps = [round(100 * (high - low), 2) for _, high, low in rows]
    text = "; ".join(f"{label}: {gap:+.2f} points" for (label, _, _), gap in zip(rows, gaps,
                                                                               strict=True))
    return f"{measure}: {text}", gaps


def compare_gaps(first: tuple[str, float], second: tuple[str, float], what: str,
                 unit: str = " points") -> str:
    """Whether the second run's gap (in points, or ``unit``) is smaller, larger or the same as
    the first's (as given: round them as they are printed)."""
    (a_label, a), (b_label, b) = first, second
    verdict = ("smaller than" if b < a else "larger than" if b > a else "the same as")
    return f"{b_label}'s {what} ({b:+g}{unit}) is {verdict} {a_label}'s ({a:+g}{unit})"


def trend_statement(what: str, by: str, rows: Sequence[tuple[float, float]]) -> str:
    """How ``what`` moved as ``by`` grew, pair by pair of rows sorted by ``by``: falls at every
    step, rises at every step, or neither (with the count of each)."""
    ordered = sorted(rows)
    diffs = [b[1] - a[1] for a, b in itertools.pairwise(ordered)]
    falls, rises = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    listed = ", ".join(f"{x:g}: {y:.4g}" for x, y in ordered)
    if diffs and falls == len(diffs):
        verdict = f"it falls at every larger {by}"
    elif diffs and rises == len(diffs):
        verdict = f"it rises at every larger {by}"
    else:
        verdict = f"it falls at {falls} and rises at {rises} of {len(diffs)} larger {by} values"
    return f"{what} by {by} ({listed}): {verdict}."
