"""A report as sections (one per task), written twice from the same content: report.md with the
figures linked as PNG files, and report.pdf (matplotlib's PdfPages) on A4 pages, where every
section opens a page of its own with its text, tables and figures."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

PAGE = (8.27, 11.69)  # A4, inches
MARGIN, LINE = 0.07, 0.0165  # as fractions of the page
WRAP = 92


@dataclass
class Table:
    """A table: a header row, rows of cells (already formatted), an optional caption."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |",
                 "| " + " | ".join("---" for _ in self.header) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(([f"*{self.caption}*", ""] if self.caption else []) + lines)

    def text(self) -> list[str]:
        """The table in fixed-width columns, for the PDF's text pages."""
        rows = [list(self.header), *map(list, self.rows)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return lines


@dataclass
class Section:
    """One task of the report: its heading, paragraphs, tables and figures (by file stem)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


def write_figures(out: Path, figures: Mapping[str, Figure]) -> None:
    """Every figure as ``out/<name>.png``."""
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=110)


def write_markdown(path: Path, title: str, sections: Sequence[Section]) -> None:
    """report.md: the title, then each section with its text, tables and figure links."""
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += section.paragraphs
        parts += [table.markdown() for table in section.tables]
        parts += [f"![{name}]({name}.png)" for name in section.figures]
    path.write_text("\n\n".join(parts) + "\n")


def write_pdf(path: Path, title: str, sections: Sequence[Section],
              figures: Mapping[str, Figure]) -> int:
    """report.pdf on A4 pages: every section starts a page with its text and tables, its
    figures below (a new page where the next one does not fit); the first page carries the
    report's title. Returns the number of pages."""
    pages = 0
    with PdfPages(path) as pdf:
        for i, section in enumerate(sections):
            for page in _pages(title if i == 0 else None, section, figures):
                pdf.savefig(page)
                plt.close(page)
                pages += 1
    return pages


def _pixels(fig: Figure) -> np.ndarray:
    fig.set_dpi(150)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def _pages(title: str | None, section: Section, figures: Mapping[str, Figure]) -> list[Figure]:
    """The section laid out top to bottom: paragraphs wrapped, tables in a fixed-width font,
    then each figure at the page's width; a new page when the next item does not fit."""
    items: list[tuple[str, str]] = []  # (kind, line)
    if title:
        items += [("title", line) for line in textwrap.wrap(title, 48)] + [("gap", "")]
    items += [("heading", line) for line in textwrap.wrap(section.title, 55)] + [("gap", "")]
    for paragraph in section.paragraphs:
        items += [("text", line) for line in textwrap.wrap(paragraph, WRAP)] + [("gap", "")]
    for table in section.tables:
        if table.caption:
            items += [("text", line) for line in textwrap.wrap(table.caption, WRAP)]
        items += [("table", line) for line in table.text()] + [("gap", "")]
    styles = {"title": {"fontsize": 16, "weight": "bold"},
              "heading": {"fontsize": 14, "weight": "bold"},
              "text": {"fontsize": 10}, "gap": {"fontsize": 10},
              "table": {"fontsize": 6.5, "family": "monospace"}}
    heights = {"title": 1.7, "heading": 1.5, "text": 1.0, "gap": 0.6, "table": 0.85}
    pages: list[Figure] = []
    y = 0.0

    def room(height: float) -> None:
        nonlocal y
        if not pages or y - height < MARGIN:
            pages.append(plt.figure(figsize=PAGE))
            y = 1 - MARGIN

    for kind, line in items:
        room(heights[kind] * LINE)
        y -= heights[kind] * LINE
        pages[-1].text(MARGIN, y, line, va="bottom", **styles[kind])
    width = 1 - 2 * MARGIN
    for name in section.figures:
        image = _pixels(figures[name])
        height = width * image.shape[0] / image.shape[1] * PAGE[0] / PAGE[1]
        room(height + LINE)
        y -= height + LINE
        ax = pages[-1].add_axes((MARGIN, y, width, height))
        ax.imshow(image, interpolation="lanczos")
        ax.set_axis_off()
    return pages
