"""What a parity run found: the first mismatch, the largest error of every quantity, the verdict."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from numpy_impl.run.runfiles import plain


@dataclass(frozen=True)
class Mismatch:
    """Where the two implementations part: the step (None: before the first update), the
    quantity (``"loss"``, ``"grad W"``, ``"b"``, ``"batch X"``, ``"val/loss"``, ...), the
    element (None for a scalar), both values and their relative error (see
    :mod:`compare.tolerance`)."""

    step: int | None
    epoch: int | None
    quantity: str
    index: tuple[int, ...] | None
    numpy_value: Any
    lightning_value: Any
    rel_error: float
    tolerance: float

    def __str__(self) -> str:
        where = "before training" if self.step is None else f"at step {self.step}"
        if self.epoch is not None:
            where += f" (epoch {self.epoch})"
        element = self.quantity + ("" if self.index is None else
                                   "[" + ", ".join(map(str, self.index)) + "]")
        return (f"first mismatch {where}: {element}: numpy {_show(self.numpy_value)}, "
                f"lightning {_show(self.lightning_value)}, relative error "
                f"{self.rel_error:.3g} > tolerance {self.tolerance:g}")


class ParityError(AssertionError):
    """The NumPy side and the Lightning reference disagree; ``mismatch`` says where first."""

    def __init__(self, mismatch: Mismatch, report: ParityReport | None = None) -> None:
        super().__init__(str(mismatch))
        self.mismatch = mismatch
        self.report = report


@dataclass
class QuantityStats:
    """The largest errors one quantity reached over the run, and at which step."""

    tolerance: float
    count: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    at_step: int | None = None

    def add(self, step: int | None, max_abs: float, max_rel: float) -> None:
        self.count += 1
        self.max_abs = max(self.max_abs, max_abs)
        if max_rel > self.max_rel or self.count == 1:
            self.max_rel, self.at_step = max_rel, step


@dataclass
class ParityReport:
    """Every quantity compared (in the order first met) with its largest errors, the first
    mismatch if any, and where the TensorBoard run is."""

    experiment: str
    dtype: str
    tolerance: float
    log_dir: Path | None = None
    steps: int = 0
    validations: int = 0
    quantities: dict[str, QuantityStats] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def mismatch(self) -> Mismatch | None:
        """The first mismatch, or None."""
        return self.mismatches[0] if self.mismatches else None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.steps > 0 and "diverged" not in self.summary

    def to_json(self) -> str:
        """The report as strict JSON (a non-finite number as the string "nan", "inf" or
        "-inf"): what a parity run leaves beside its curves, and what its checkpoint keeps so
        that a resumed run judges the whole run."""
        fields = {**asdict(self), "log_dir": None if self.log_dir is None else str(self.log_dir)}
        return json.dumps(plain(fields, str), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ParityReport:
        """What :meth:`to_json` wrote (ValueError, KeyError or TypeError if it is not that)."""
        fields = _decode(json.loads(text))
        quantities = {name: QuantityStats(**stats)
                      for name, stats in fields.pop("quantities").items()}
        mismatches = [Mismatch(**{**m, "index": None if m["index"] is None else tuple(m["index"])})
                      for m in fields.pop("mismatches")]
        log_dir = fields.pop("log_dir")
        return cls(**fields, quantities=quantities, mismatches=mismatches,
                   log_dir=None if log_dir is None else Path(log_dir))

    def table(self) -> str:
        """quantity | max abs err | max rel err | at step | tolerance, one row per quantity,
        MISMATCH beside a quantity past its tolerance."""
        header = ("quantity", "max abs err", "max rel err", "at step", "tolerance", "")
        rows = []
        for name, q in self.quantities.items():
            bad = q.max_rel > q.tolerance
            rows.append((name, f"{q.max_abs:.3g}", f"{q.max_rel:.3g}",
                         "-" if q.at_step is None else str(q.at_step),
                         "exact" if q.tolerance == 0 else f"{q.tolerance:g}",
                         "MISMATCH" if bad else ""))
        if not any(row[-1] for row in rows):  # no MISMATCH column where nothing is one
            header, rows = header[:-1], [row[:-1] for row in rows]
        table = tabulate(rows, header, tablefmt="simple", disable_numparse=True,
                         colalign=("left", "right", "right", "right", "right", "left")[
                             :len(header)])
        return "\n".join(line.rstrip() for line in table.splitlines())

    def verdict(self) -> str:
        """One line: PASS or FAIL, and why."""
        if self.mismatch is not None:
            return f"FAIL: {self.mismatch}"
        if "diverged" in self.summary:
            return f"FAIL: {self.summary['diverged']}"
        if self.steps == 0:
            return "FAIL: no training step was compared"
        return (f"PASS: {self.steps} steps and {self.validations} validations, every quantity "
                f"within tolerance ({self.dtype}: relative error <= {self.tolerance:g})")


def _show(value: Any) -> str:
    return f"{value:.17g}" if isinstance(value, float) else str(value)


_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value
