"""What a check says, and every way it is written out: JSON (``--json``), Gradescope's
results.json (``--format gradescope``), the batch table (terminal, CSV, JSON, Markdown) and the
exit status.

Statuses: ``pass``; ``fail`` (the function disagrees with the text); ``convention`` (it follows
a known other convention, which the message names, and is checked accordingly); ``warn`` (right
by the text, with a weakness the message names, e.g. a softmax that overflows for scores past
709; ``--strict`` makes it a fail); ``error`` (the submission crashed, looped, exited or ran out
of memory); ``skip`` (the function was not found). A pass, a convention and a warn earn the
check's point.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from tabulate import tabulate

from numpy_impl.run.exits import exit_status as _exit_status
from numpy_impl.run.runfiles import write_text

NOTHING = "nothing to check: "  # how every check's message starts when a hand-in holds nothing
Status = Literal["pass", "fail", "convention", "warn", "error", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "convention", "warn", "error", "skip")
EARNED: tuple[Status, ...] = ("pass", "convention", "warn")  # the statuses that earn the point


@dataclass(frozen=True)
class CheckResult:
    """One check of one submission: its id, status and a message in plain words."""

    id: str
    status: Status
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")


@dataclass
class SubmissionResult:
    """Every check of one submission, in the order they ran, and notes about loading it
    (skipped statements, dropped lines, the data layout it uses)."""

    assignment: str
    submission: str
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""  # "namespace" or "process": how the hand-in was isolated

    def by_id(self) -> dict[str, CheckResult]:
        return {c.id: c for c in self.checks}

    def status_of(self, check_id: str) -> Status:
        return self.by_id()[check_id].status

    def ids_with(self, *statuses: Status) -> list[str]:
        return [c.id for c in self.checks if c.status in statuses]

    @property
    def exit_status(self) -> int:
        return exit_status([self])

    def to_dict(self) -> dict:
        return {"assignment": self.assignment, "submission": self.submission,
                "checks": [asdict(c) for c in self.checks], "notes": list(self.notes),
                "sandbox": self.sandbox}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_gradescope(self) -> dict:
        """Gradescope's results.json: one test per check. A pass, a convention or a warn
        earns the point; a skip is shown with max_score 0 so it neither earns nor costs."""
        tests = []
        for c in self.checks:
            earned = c.status in EARNED
            tests.append({
                "name": c.id, "score": 1.0 if earned else 0.0,
                "max_score": 0.0 if c.status == "skip" else 1.0,
                "status": "passed" if earned else "failed",
                "output": f"[{c.status}] {c.message}".strip()})
        return {"score": sum(t["score"] for t in tests), "tests": tests,
                "output": "\n".join(self.notes), "visibility": "visible"}

    def to_text(self) -> str:
        """The report a student reads in the terminal."""
        lines = [f"{self.assignment} check of {self.submission}"]
        lines += [f"  note: {n}" for n in self.notes]
        if self.checks:
            table = tabulate([(c.status.upper(), c.id, c.message) for c in self.checks],
                             tablefmt="plain", disable_numparse=True)
            lines += [f"  {line}".rstrip() for line in table.splitlines()]
        counts = {s: len(self.ids_with(s)) for s in STATUSES}
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
        why = self.nothing_found()
        if why:
            lines.append(f"nothing of the assignment was found in {self.submission}: {why}")
        return "\n".join(lines)

    def nothing_found(self) -> str | None:
        """Why nothing of the assignment was found in this submission, or None: every check
        was skipped (none of the names looked for is defined), or it holds nothing to check
        (every check an error starting with :data:`NOTHING`)."""
        if self.checks and all(c.status == "skip" for c in self.checks):
            return ("no check found what it looks for (each skip names the names it looked "
                    "for; --map ROLE=NAME names another)")
        if self.checks and all(c.status == "error" and c.message.startswith(NOTHING)
                               for c in self.checks):
            return self.checks[0].message[len(NOTHING):]
        return None


def exit_status(results: list[SubmissionResult]) -> int:
    """1 if any check failed; else 3 if any errored or nothing of the assignment was found in a
    submission (every check skipped: no verdict); else 0 (compare's rule too)."""
    statuses = {c.status for r in results for c in r.checks}
    nothing = any(r.nothing_found() for r in results)
    return _exit_status(failed="fail" in statuses, errored="error" in statuses or nothing)


def _table(results: list[SubmissionResult]) -> tuple[list[str], list[list[str]]]:
    """A row per submission, a column per check id (in first-seen order), cells the status."""
    ids: list[str] = []
    for r in results:
        ids += [c.id for c in r.checks if c.id not in ids]
    rows = []
    for r in results:
        by_id = r.by_id()
        cells = [by_id[i].status if i in by_id else "" for i in ids]
        rows.append([r.submission, *cells,
                     f"{len(r.ids_with(*EARNED))}/{len(r.checks)}"])
    return ["submission", *ids, "passed"], rows


def table_csv(results: list[SubmissionResult]) -> str:
    header, rows = _table(results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def table_markdown(results: list[SubmissionResult]) -> str:
    """The batch table as GitHub markdown: a row per submission, every status in full."""
    header, rows = _table(results)
    return tabulate([[_md_cell(c) for c in row] for row in rows],
                    [_md_cell(h) for h in header], tablefmt="github",
                    disable_numparse=True) + "\n"


def _md_cell(text: str) -> str:
    """A cell of a GitHub markdown table: a ``|`` escaped, a line break as a space."""
    return text.replace("|", "\\|").replace("\n", " ")


#: the terminal table's cell for each status: one character, the failures in capitals
SHORT = {"pass": ".", "fail": "F", "convention": "c", "warn": "w", "error": "E", "skip": "s",
         "": "-"}
SHORT_KEY = ("cells: .=pass F=fail c=convention w=warn E=error s=skip -=not run; passed: the "
             "checks that earned the point (pass, convention, warn) / the checks run")
MIN_NAME = 10  # the narrowest the submission column gets (a longer name wraps onto more lines)


def table_terminal(results: list[SubmissionResult], width: int | None = None) -> str:
    """The batch table for a terminal ``width`` columns wide (default: this terminal's, 100
    where it has none): a row per submission, a numbered column per check (the key above the
    table names them), a status as one character (the key below says which) and how many
    earned the point. A submission's name wraps where it would not fit; every message is in
    the JSON written beside the CSV and Markdown tables."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    header, rows = _table(results)
    ids = header[1:-1]
    names = [row[0] for row in rows]
    cells = [[row[0], *(SHORT[s] for s in row[1:-1]), row[-1]] for row in rows]
    head = ["submission", *(str(n) for n in range(1, len(ids) + 1)), "passed"]
    align = ["left", *["center"] * len(ids), "right"]

    def render(name_width: int | None) -> str:
        # the header as the first row: a header gets two spaces more than its text, which a
        # column of one-character cells cannot spare
        grid = tabulate([head, *cells], tablefmt="plain", disable_numparse=True,
                        colalign=align, maxcolwidths=[name_width, *[None] * (len(ids) + 1)])
        return "\n".join(line.rstrip() for line in grid.splitlines())

    grid = render(None)
    over = max(map(len, grid.splitlines())) - width
    longest = max(map(len, names), default=0)
    if over > 0 and longest > MIN_NAME:
        grid = render(max(longest - over, MIN_NAME))
    key = "checks: " + " ".join(f"{n}={i}" for n, i in enumerate(ids, start=1))
    return "\n".join([*textwrap.wrap(key, width, break_on_hyphens=False), grid,
                      *textwrap.wrap(SHORT_KEY, width)])


def write_batch(results: list[SubmissionResult], stem: Path) -> list[Path]:
    """Write ``stem``.csv, .json (every message) and .md, each whole or not at all; returns
    the paths."""
    texts = {".csv": table_csv(results), ".json": json.dumps([r.to_dict() for r in results],
                                                              indent=2),
             ".md": table_markdown(results)}
    return [write_text(stem.parent / f"{stem.name}{suffix}", text)
            for suffix, text in texts.items()]
