"""The project's text tables (tabulate renders them all): the batch checker's Markdown and
terminal tables and a hand-in's report, the parity table, the benchmark table and the report's
markdown tables, each read back by its columns and values."""

from __future__ import annotations

import re

from bench.__main__ import table as bench_table
from compare.check.result import (
    STATUSES,
    CheckResult,
    SubmissionResult,
    table_csv,
    table_markdown,
    table_terminal,
)
from compare.check.runner import check_ids
from compare.parity.findings import ParityReport, QuantityStats
from compare.report.document import Table
from tests.tables import markdown_tables, terminal_batch

IDS = check_ids("tdt4265", quick=False)  # 15 checks, the widest grid
CELL = {"pass": ".", "fail": "F", "convention": "c", "warn": "w", "error": "E", "skip": "s"}


def batch(n: int, name_length: int = 40) -> list[SubmissionResult]:
    """``n`` hand-ins with long names and every status in turn (the last check left out of
    every seventh hand-in: a cell of a check that did not run)."""
    results = []
    for k in range(n):
        name = f"handin_{k:03d}_" + "x" * (name_length - 11)
        checks = [CheckResult(i, STATUSES[(k + j) % len(STATUSES)], f"message {k} {i}")
                  for j, i in enumerate(IDS)]
        results.append(SubmissionResult("tdt4265", name, checks[:-1] if k % 7 == 0 else checks))
    return results


def test_the_terminal_table_of_100_handins_fits_100_columns() -> None:
    results = batch(100, name_length=60)
    text = table_terminal(results, width=100)
    too_long = [line for line in text.splitlines() if len(line) > 100]
    assert not too_long, too_long[:3]
    ids, rows = terminal_batch(text)
    assert ids == IDS
    assert list(rows) == [r.submission for r in results]  # every name whole, in order
    for r in results:
        cells, passed = rows[r.submission]
        by_id = r.by_id()
        assert cells == [CELL[by_id[i].status] if i in by_id else "-" for i in IDS]
        assert passed == f"{len(r.ids_with('pass', 'convention', 'warn'))}/{len(r.checks)}"


def test_the_terminal_table_keeps_short_names_on_one_line() -> None:
    results = batch(3, name_length=12)
    text = table_terminal(results, width=100)
    assert max(map(len, text.splitlines())) <= 100
    names = [r.submission for r in results]
    assert [line.split()[0] for line in text.splitlines() if line.startswith("handin_")] == names
    assert re.search(r"\.=pass F=fail c=convention w=warn E=error s=skip -=not run", text)


def test_the_markdown_batch_table_holds_every_status_in_full() -> None:
    results = batch(8)
    results[1].submission = "a|b"  # a pipe in a name does not break the table
    [rows] = markdown_tables(table_markdown(results))
    assert list(rows[0]) == ["submission", *IDS, "passed"]
    for r, row in zip(results, rows, strict=True):
        by_id = r.by_id()
        assert row == {"submission": r.submission,
                       **{i: by_id[i].status if i in by_id else "" for i in IDS},
                       "passed": f"{len(r.ids_with('pass', 'convention', 'warn'))}/"
                                 f"{len(r.checks)}"}
    csv_rows = [line.split(",") for line in table_csv(results).splitlines()]
    assert [row[0] for row in csv_rows[1:]] == [r.submission for r in results]


def test_a_handins_report_lists_status_id_and_message_of_every_check() -> None:
    [result] = batch(1)
    text = result.to_text()
    lines = text.splitlines()
    assert lines[0] == f"tdt4265 check of {result.submission}"
    for c, line in zip(result.checks, lines[1:-1], strict=True):
        assert re.fullmatch(rf"  {c.status.upper()}\s+{re.escape(c.id)}\s+{c.message}", line)
    assert lines[-1].strip() == "3 pass, 3 fail, 2 convention, 2 warn, 2 error, 2 skip"


def parity_report() -> ParityReport:
    report = ParityReport("tdt4265/task2b", "float64", 1e-9)
    for name, tolerance, step, abs_err, rel_err in [("batch X", 0.0, None, 0.0, 0.0),
                                                    ("loss", 1e-9, 3, 1.234e-12, 5.6e-13),
                                                    ("grad w", 1e-9, 7, 1e-6, 2e-6)]:
        report.quantities[name] = QuantityStats(tolerance)
        report.quantities[name].add(step, abs_err, rel_err)
    return report


def test_the_parity_table_has_a_row_per_quantity() -> None:
    lines = parity_report().table().splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == [
        "quantity", "max abs err", "max rel err", "at step", "tolerance"]
    assert set(lines[1]) == {"-", " "}
    assert [re.split(r"\s{2,}", line.strip()) for line in lines[2:]] == [
        ["batch X", "0", "0", "-", "exact"],
        ["loss", "1.23e-12", "5.6e-13", "3", "1e-09"],
        ["grad w", "1e-06", "2e-06", "7", "1e-09", "MISMATCH"]]


def test_the_bench_table_has_a_row_per_figure() -> None:
    result = {
        "numpy": {"dd2424_float64": {"seconds": 1.23456, "baseline_seconds": 1.1, "ratio": 1.12},
                  "tdt4265_float64": {"seconds": 2.0, "baseline_seconds": 1.0, "ratio": 2.0}},
        "data": {"cifar_batch": {"seconds": 0.1, "baseline_seconds": 0.05, "ratio": 2.0}},
        "checker": {"sandbox": {"absent": True},
                    "sandbox_4": {"seconds": 3.0, "baseline_seconds": 2.0, "ratio": 1.5,
                                  "sandbox_seconds_per_handin": 0.25}},
        "threads": {"threads": 2}, "load_average": [0.5, 0.4, 0.3], "cpu_count": 2}
    lines = bench_table(result).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["row", "seconds", "baseline", "ratio", "target"]
    assert [re.split(r"\s{2,}", line) for line in lines[2:-1]] == [
        ["numpy/dd2424_float64", "1.2346", "1.1000", "1.12", "<= 1.15x ok"],
        ["numpy/tdt4265_float64", "2.0000", "1.0000", "2.00", "<= 1.15x MISSED"],
        ["data/cifar_batch", "0.1000", "0.0500", "2.00", "<= 0.3 s ok"],
        ["checker/sandbox", "absent"],
        ["checker/sandbox_4", "3.0000", "2.0000", "1.50", "+0.250 s a hand-in, <= 0.5 s ok"]]
    assert lines[-1] == ("threads: {'threads': 2}; load average at start: 0.50, 0.40, 0.30 "
                         "(2 CPUs)")


def test_a_report_table_is_github_markdown_with_its_caption() -> None:
    table = Table(["lambda", "val acc", "sum of w squared"],
                  [["0", "91.20%", "12.3"], ["1", "88.00%", "||w||"]], "The caption.")
    text = table.markdown()
    assert text.startswith("*The caption.*\n\n|")
    assert markdown_tables(text) == [[
        {"lambda": "0", "val acc": "91.20%", "sum of w squared": "12.3"},
        {"lambda": "1", "val acc": "88.00%", "sum of w squared": "||w||"}]]


def test_a_passing_parity_table_has_no_empty_column() -> None:
    """The MISMATCH column only where a quantity is one: a passing run's table ends with its
    tolerance column (no empty column's dashes under nothing)."""
    report = parity_report()
    del report.quantities["grad w"]
    lines = report.table().splitlines()
    assert len(re.split(r"\s{2,}", lines[1].strip())) == 5
    assert lines[1].rstrip().endswith("-") and lines[0].rstrip().endswith("tolerance")
