"""A report as sections (one per task), written twice from the same content: report.md with the
figures linked as PNG files, and report.pdf (reportlab's platypus) on A4 pages, where every
section opens a page of its own with its text, tables and figures."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PlatypusTable
from tabulate import tabulate

MARGIN = 1.8 * cm  # every side of the A4 page
CELL_SIZE, CELL_PAD = 8.5, 4.0  # table text (pt) and the padding left and right of it
MIN_COLUMN = 1.6 * cm  # where the columns do not fit: each starts here (or at its natural width)
CUT_WORD = 2.0  # what a word cut over two lines costs when columns share the width, in lines
PLACEHOLDERS = {"", "-", "\u2013", "\u2014", "n/a", "NaN", "nan"}  # no number: any column
NUMBER = re.compile(r"[+\-\u2212]?(\d[\d,]*\.?\d*|\.\d+)(e[+\-]?\d+)?%?", re.IGNORECASE)


@dataclass
class Table:
    """A table: a header row, rows of cells (already formatted), an optional caption."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""

    def markdown(self) -> str:
        """The table in GitHub markdown (a ``|`` in a cell escaped), its caption above it."""
        table = tabulate([[_md_cell(c) for c in row] for row in self.rows],
                         [_md_cell(h) for h in self.header], tablefmt="github",
                         disable_numparse=True)
        return "\n".join(([f"*{self.caption}*", ""] if self.caption else []) + [table])


def _md_cell(text: str) -> str:
    """A cell of a GitHub markdown table: a ``|`` escaped, a line break as a space."""
    return text.replace("|", "\\|").replace("\n", " ")


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
    """report.pdf on A4 pages (reportlab's platypus): every section starts a page with its
    text, its tables (cells wrapped to columns that share the page's width, the header row
    repeated where a table runs onto the next page) and its figures at the text's width; the
    first page carries the report's title, which is also the PDF's title. Returns the number
    of pages."""
    styles = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="compare.report",
                            leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN)
    width, height = doc.width, doc.height
    story: list[Flowable] = [Paragraph(escape(title), styles["title"])]
    for i, section in enumerate(sections):
        if i:
            story.append(PageBreak())
        story.append(Paragraph(escape(section.title), styles["heading"]))
        story += [Paragraph(escape(p), styles["body"]) for p in section.paragraphs]
        for table in section.tables:
            story += _table(table, width, height, styles)
        story += [_image(figures[name], width, height) for name in section.figures]
    pages = 0

    def footer(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        nonlocal pages
        pages = max(pages, canvas.getPageNumber())
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, MARGIN / 2, str(canvas.getPageNumber()))
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return pages


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=10,
                          leading=13.5, spaceAfter=6)
    cell = ParagraphStyle("cell", parent=body, fontSize=CELL_SIZE, leading=CELL_SIZE + 2,
                          spaceAfter=0)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=17, leading=21,
                                alignment=TA_LEFT, spaceAfter=14),
        "heading": ParagraphStyle("heading", parent=base["Heading1"], fontSize=14, leading=18,
                                  spaceBefore=0, spaceAfter=8),
        "body": body,
        "caption": ParagraphStyle("caption", parent=body, fontName="Helvetica-Oblique",
                                  spaceBefore=4, spaceAfter=4),
        "cell": cell,
        "cell_right": ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT),
        "header": ParagraphStyle("header", parent=cell, fontName="Helvetica-Bold"),
        "header_right": ParagraphStyle("header_right", parent=cell, fontName="Helvetica-Bold",
                                       alignment=TA_RIGHT),
    }


def _numeric(cells: Sequence[str]) -> bool:
    """Whether a column holds numbers (placeholders such as ``-`` aside): right-aligned."""
    filled = [c.strip() for c in cells if c.strip() not in PLACEHOLDERS]
    return bool(filled) and all(NUMBER.fullmatch(c) for c in filled)


def _widths(columns: Sequence[Sequence[str]], width: float) -> list[float]:
    """Column widths that add up to at most ``width``: each column's natural width (its
    longest cell on one line) where they all fit; otherwise, from MIN_COLUMN each (or less
    where a column needs less), the width is handed out a step at a time to the column
    where it helps most for its width: the table's height in lines (and a little every
    cell's), a word cut over two lines counting CUT_WORD lines more; where nothing helps,
    to the column furthest from its natural width."""
    pad = 2 * CELL_PAD + 1  # and a point of slack: a cell exactly as wide would wrap
    space = stringWidth(" ", "Helvetica", CELL_SIZE)
    cells = [[[stringWidth(w, "Helvetica-Bold" if r == 0 else "Helvetica", CELL_SIZE)
               for w in c.split()] for r, c in enumerate(col)] for col in columns]
    natural = [max(sum(ws) + space * max(len(ws) - 1, 0) for ws in col) + pad for col in cells]
    if sum(natural) <= width:
        return natural
    widths = [min(n, MIN_COLUMN) for n in natural]
    if sum(widths) >= width:
        return [w * width / sum(widths) for w in widths]

    def lines(i: int, w: float) -> list[tuple[int, int]]:  # per row: (lines, cut words)
        return [_lines(ws, w - pad, space) for ws in cells[i]]

    def cost(table: list[list[tuple[int, int]]]) -> float:
        rows = list(zip(*table, strict=True))
        return (sum(max(n for n, _ in row) for row in rows)
                + 0.05 * sum(n for row in rows for n, _ in row)
                + CUT_WORD * sum(c for row in rows for _, c in row))

    table = [lines(i, w) for i, w in enumerate(widths)]
    step = width / 80
    while (spare := width - sum(widths)) > 1e-6:
        now = cost(table)
        best, best_key, best_width, best_lines = -1, (0.0, 0.0), 0.0, table[0]
        for i in range(len(cells)):
            room = min(natural[i] - widths[i], spare)
            if room <= 1e-6:
                continue
            for grow in {min(k * step, room) for k in range(1, 9)} | {room}:
                trial = lines(i, widths[i] + grow)
                key = ((now - cost([*table[:i], trial, *table[i + 1:]])) / grow,
                       (natural[i] - widths[i]) / natural[i])
                if best < 0 or key > best_key:
                    best, best_key, best_width, best_lines = i, key, widths[i] + grow, trial
        if best < 0:
            break
        if best_key[0] <= 0:  # nothing helps any more: a step to the one furthest from natural
            best_width = min(widths[best] + step, natural[best], widths[best] + spare)
            best_lines = lines(best, best_width)
        widths[best], table[best] = best_width, best_lines
    return widths


def _lines(words: Sequence[float], width: float, space: float) -> tuple[int, int]:
    """How many lines a cell's words (their widths) take at ``width``, and how many words
    wider than a line are cut over lines (as reportlab does)."""
    lines, cuts, x = 1, 0, 0.0
    for w in words:
        if w > width:
            pieces = int(-(-w // max(width, 1.0)))
            lines, cuts = lines + (1 if x else 0) + pieces - 1, cuts + 1
            x = w - (pieces - 1) * width
        elif x and x + space + w > width:
            lines, x = lines + 1, w
        else:
            x = x + space + w if x else w
    return lines, cuts


def _table(table: Table, width: float, height: float,
           styles: Mapping[str, ParagraphStyle]) -> list[Flowable]:
    """The table with its caption above it: cells as Paragraphs (wrapped inside columns
    that fit ``width``), numbers right-aligned, the header repeated on every page it runs
    onto; a table that fits a page is kept on one page."""
    rows = [list(table.header), *map(list, table.rows)]
    columns = [[row[i] if i < len(row) else "" for row in rows]
               for i in range(len(table.header))]
    right = [_numeric(col[1:]) for col in columns]
    data = [[Paragraph(escape(cells[i]), styles[("cell" if r else "header")
                                                + ("_right" if right[i] else "")])
             for i in range(len(columns))] for r, cells in enumerate(zip(*columns, strict=True))]
    flowable = PlatypusTable(data, colWidths=_widths(columns, width), repeatRows=1, hAlign="LEFT")
    flowable.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f9")]),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#7f8da3")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c5ccd6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    parts: list[Flowable] = [Spacer(1, 4)]
    if table.caption:
        parts.append(Paragraph(escape(table.caption), styles["caption"]))
    parts += [flowable, Spacer(1, 8)]
    if sum(p.wrap(width, height)[1] for p in parts) <= height:
        return [KeepTogether(parts)]
    # too long for one page: it breaks across pages, but starts where a few rows fit
    return [CondPageBreak(height / 4), *parts]


def _image(fig: Figure, width: float, height: float) -> Image:
    """The figure as a PNG (150 dpi) at the text's width, scaled down to the page's height
    where it would be taller."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    buf.seek(0)
    w, h = ImageReader(buf).getSize()
    buf.seek(0)
    scale = min(width / w, (height - 12) / h)
    image = Image(buf, width=w * scale, height=h * scale)
    image.hAlign = "CENTER"
    image.spaceBefore = 6
    return image
