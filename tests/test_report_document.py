"""compare.report.document's PDF, read back with poppler (pdftotext, pdfinfo, pdfimages): every
table cell's text is there, no word lies outside the page (a wide table's columns share the
page's width), text is no smaller than 8 pt, a 60-row table runs onto the next page with its
header repeated, each section opens a page, figures are embedded, and the report's sentences
come out literally (``<``, ``>``, ``&`` are no markup)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from compare.report.document import Section, Table, write_markdown, write_pdf  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdfimages")),
    reason="needs poppler-utils (pdftotext, pdfinfo, pdfimages)")

TITLE = "DOCUMENT TEST: a report title long enough to wrap over more than one line of the page"
WIDE = Table(
    ["configuration identifier", "regularisation_strength_lambda", "learning-rate schedule",
     "validation accuracy (NumPy implementation)", "remarks about the run"],
    [[f"experiment_{i}_with_a_rather_long_identifier", f"{0.1 * i:.4f}",
      "cyclical triangular schedule with warm restarts every two epochs",
      f"{40 + i:.2f}%", f"Sentence number {i}: the run converged smoothly and its curves "
      f"match the reference <to the last digit> & beyond."] for i in range(6)],
    caption="A wide table: five columns of long labels & long sentences")
LONG = Table(["grid point", "val acc", "test acc"],
             [[f"point-{i:02d} lambda={i / 1000:.3f}", f"{30 + i / 3:.2f}", f"{29 + i / 4:.2f}"]
              for i in range(60)],
             caption="A 60-row table")
ESCAPED = "a < b & c > d"


def _figure(size: tuple[float, float]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=size)
    ax.plot([0, 1, 2], [0, 1, 4])
    ax.set_title("a figure")
    return fig


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, list[Section]]:
    sections = [
        Section("First section: the wide table", ["Some words before the table.", ESCAPED],
                [WIDE], ["wide"]),
        Section("Second section: the long table", ["The grid."], [LONG], ["tall"]),
    ]
    figures = {"wide": _figure((8, 3)), "tall": _figure((3, 14))}  # the tall one is scaled down
    path = tmp_path_factory.mktemp("document") / "report.pdf"
    pages = write_pdf(path, TITLE, sections, figures)
    write_markdown(path.with_suffix(".md"), TITLE, sections)
    for fig in figures.values():
        plt.close(fig)
    return path, pages, sections


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pages(path: Path) -> list[dict]:
    """Per page: its width and height, and its words as (text, xMin, yMin, xMax, yMax)."""
    out = _run("pdftotext", "-bbox", str(path), "-")
    pages = []
    for page in re.findall(r"<page (.*?)</page>", out, re.S):
        width, height = map(float, re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        words = [(html.unescape(text), *map(float, box)) for *box, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            page)]
        pages.append({"width": width, "height": height, "words": words})
    return pages


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_page_count_is_the_pdfs(pdf: tuple[Path, int, list[Section]]) -> None:
    path, pages, _ = pdf
    info = _run("pdfinfo", str(path))
    assert int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1)) == pages == len(_pages(path))
    assert re.search(r"^Title:\s+(.*)$", info, re.M).group(1) == TITLE


def test_every_cell_caption_and_sentence_is_in_the_text(
        pdf: tuple[Path, int, list[Section]]) -> None:
    """In content order (-raw) a cell's lines follow each other; long words may be split
    over lines, so the comparison ignores white space."""
    path, _, sections = pdf
    text = _flat(_run("pdftotext", "-raw", str(path), "-"))
    for section in sections:
        expected = [section.title, *section.paragraphs]
        for table in section.tables:
            expected += [table.caption, *table.header, *(c for row in table.rows for c in row)]
        missing = [s for s in expected if _flat(s) not in text]
        assert not missing, missing


def test_no_word_lies_outside_the_page(pdf: tuple[Path, int, list[Section]]) -> None:
    path, _, _ = pdf
    margin = 20.0  # points: well inside the page, whatever the layout's own margins
    for number, page in enumerate(_pages(path), 1):
        outside = [w for w in page["words"]
                   if w[1] < margin or w[3] > page["width"] - margin
                   or w[2] < 0 or w[4] > page["height"]]
        assert not outside, (number, outside[:5])


def test_text_is_readable(pdf: tuple[Path, int, list[Section]]) -> None:
    """No word smaller than 8 pt: poppler's word box is about 0.93 times the font size tall
    (7.86 pt for 8.5 pt Helvetica), so 7.3 pt is the floor."""
    path, _, _ = pdf
    small = [w for page in _pages(path) for w in page["words"] if w[4] - w[2] < 7.3]
    assert not small, small[:5]


def test_each_section_starts_a_page(pdf: tuple[Path, int, list[Section]]) -> None:
    path, _, sections = pdf
    starts = [_flat(" ".join(w[0] for w in page["words"])) for page in _pages(path)]
    assert starts[0].startswith(_flat(TITLE + sections[0].title))
    for section in sections[1:]:
        assert any(start.startswith(_flat(section.title)) for start in starts[1:]), section.title


def test_the_long_table_breaks_with_its_header_repeated(
        pdf: tuple[Path, int, list[Section]]) -> None:
    path, _, _ = pdf
    pages = [" ".join(w[0] for w in page["words"]) for page in _pages(path)]
    with_rows = [i for i, text in enumerate(pages) if re.search(r"point-\d\d", text)]
    assert len(with_rows) >= 2
    for i in with_rows:
        assert "grid point val acc test acc" in pages[i]
    assert "point-00" in pages[with_rows[0]] and "point-59" in pages[with_rows[-1]]


def test_figures_are_embedded(pdf: tuple[Path, int, list[Section]]) -> None:
    path, _, _ = pdf
    images = _run("pdfimages", "-list", str(path)).splitlines()[2:]
    assert len(images) >= 2


def test_markup_characters_come_out_literally(pdf: tuple[Path, int, list[Section]]) -> None:
    path, _, _ = pdf
    text = " ".join(_run("pdftotext", "-raw", str(path), "-").split())
    assert ESCAPED in text
    assert "&lt;" not in text and "&amp;" not in text
    assert "<to the last digit> & beyond." in text
    assert "long labels & long sentences" in text
