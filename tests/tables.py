"""Read back the project's text tables (GitHub markdown, the batch checker's terminal grid) by
their content, so that the tests check the columns and values and not the spacing a library
chose."""

from __future__ import annotations

import re

_PIPE = re.compile(r"(?<!\\)\|")  # a cell border: a | not escaped as \|
_RULE = re.compile(r"\|(\s*:?-{3,}:?\s*\|)+")  # the line under a markdown table's header


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every GitHub markdown table in ``text`` (lines starting with ``|``, the second a rule of
    at least three dashes a column: GitHub reads nothing else as a table) as a list of rows,
    each ``{header: cell}`` (a ``\\|`` read back as ``|``). AssertionError where a row has
    another number of cells than the header."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and _RULE.fullmatch(block[1].rstrip()):
            tables.append(_markdown_table(block))
        block = []
    return tables


def _markdown_table(lines: list[str]) -> list[dict[str, str]]:
    def cells(line: str) -> list[str]:
        assert line.startswith("|") and line.rstrip().endswith("|"), line
        return [c.strip().replace("\\|", "|") for c in _PIPE.split(line.rstrip())[1:-1]]

    header = cells(lines[0])
    assert len(cells(lines[1])) == len(header), lines[:2]
    rows = []
    for line in lines[2:]:
        row = cells(line)
        assert len(row) == len(header), (header, line)
        rows.append(dict(zip(header, row, strict=True)))
    return rows


def terminal_batch(text: str) -> tuple[list[str], dict[str, tuple[list[str], str]]]:
    """The batch checker's terminal table read back: the check ids in column order (from the
    key above the grid) and, per submission (its name whole again where it wrapped), its cell
    per check and its ``passed`` cell."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("submission "))
    key = " ".join(lines[:top])
    assert key.startswith("checks: "), key
    ids = [pair.split("=", 1)[1] for pair in key[len("checks: "):].split()]
    numbers = lines[top].split()[1:-1]
    assert numbers == [str(n) for n in range(1, len(ids) + 1)], lines[top]
    assert lines[top].split()[-1] == "passed", lines[top]
    name_width = lines[top].index(" 1 ") if ids else lines[top].index(" passed")
    rows: dict[str, tuple[list[str], str]] = {}
    name = None
    for line in lines[top + 1:]:
        if line.startswith("cells: "):
            break
        rest = line[name_width:].split()
        if rest:
            name = line[:name_width].strip()
            assert len(rest) == len(ids) + 1, line
            rows[name] = (rest[:-1], rest[-1])
        else:  # the next piece of a wrapped name
            assert name is not None, line
            rows[name + line.strip()] = rows.pop(name)
            name += line.strip()
    return ids, rows
