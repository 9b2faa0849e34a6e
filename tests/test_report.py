"""python -m compare.report: both reports rendered in quick mode (DD2424 on generated
CIFAR-format files), every figure a valid PNG linked from report.md, a PDF page per task, the
cache, the errors; and the pieces on their own (TensorBoard curves, the zoom rule)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from compare.report import runs
from compare.report.__main__ import main
from compare.report.runs import read_curves
from compare.report.tdt4265 import zoom
from numpy_impl.run.exits import ExitCode
from tests.tables import markdown_tables

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = {
    "tdt4265": ["task2b_loss", "task2c_accuracy", "task2d_early_stopping", "task2e_shuffle",
                "task3b_loss", "task3c_accuracy", "task4b_weights", "task4c_val_accuracy",
                "task4e_weight_norm"],
    "dd2424": [*(f"setting{k}_{kind}" for k in range(1, 5) for kind in ("curves", "templates")),
               "bonus_test_accuracy", "bonus_val_accuracy", "bonus_grid_search",
               "multi_bce_histograms", "multi_bce_loss"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, cifar_root: Path) -> dict[str, Path]:
    """Both reports in quick mode, sharing one cache (the default one, beside the log
    folder ``runs``)."""
    base = tmp_path_factory.mktemp("report")
    out = {}
    for text, extra in (("tdt4265", []), ("dd2424", ["--data-root", str(cifar_root)])):
        out[text] = base / text
        assert main([text, "--out", str(out[text]), "--quick", "--logdir", str(base / "runs"),
                     "--no-progress", *extra]) == 0
    out["cache"] = base / ".report-cache"
    out["runs"] = base / "runs"
    return out


@pytest.mark.slow
def test_the_cache_is_not_under_the_log_folder(reports: dict[str, Path]) -> None:
    assert (reports["cache"] / "tdt4265").is_dir() and any(reports["cache"].rglob("record.json"))
    cached = {p.name for p in reports["cache"].rglob("*") if p.is_file()}
    logged = {p.name for p in reports["runs"].rglob("*") if p.is_file()}
    assert any(name.startswith("events.out.tfevents.") for name in logged)
    assert not cached & logged, cached & logged
    assert not any(p.name.endswith(".partial") for p in reports["runs"].rglob("*"))


@pytest.mark.slow
def test_the_tensorboard_runs_have_readable_names(reports: dict[str, Path]) -> None:
    runs_dir = reports["runs"] / "report"
    names = {p.parent.relative_to(runs_dir).as_posix()
             for p in runs_dir.rglob("events.out.tfevents.*")}
    assert "tdt4265/task2b_lr0.05_quick/numpy" in names, sorted(names)
    assert "dd2424/setting1_eta0.1_lam0_quick/lightning" in names, sorted(names)
    assert all(re.fullmatch(r"(tdt4265|dd2424)/[\w.]+_quick/(numpy|lightning|parity)", n)
               for n in names), sorted(names)


@pytest.mark.slow
def test_a_report_on_the_embedded_subset_says_so(reports: dict[str, Path]) -> None:
    markdown = (reports["tdt4265"] / "report.md").read_text()
    assert "embedded" in markdown.splitlines()[0]
    for section in ("## Task 2d", "## Task 2e"):
        text = markdown.split(section, 1)[1].split("\n## ", 1)[0]
        assert "the embedded MNIST subset" in text and "a validation after every step" in text
    assert "embedded" not in (reports["dd2424"] / "report.md").read_text().splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("text", ["tdt4265", "dd2424"])
def test_every_figure_is_a_valid_png_linked_from_report_md(reports: dict[str, Path],
                                                           text: str) -> None:
    out = reports[text]
    markdown = (out / "report.md").read_text()
    for name in FIGURES[text]:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == PNG_SIGNATURE, name
        assert plt.imread(path).ndim == 3, name
        assert f"]({name}.png)" in markdown, name
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(FIGURES[text])
    assert "QUICK MODE" in markdown.splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("text", ["tdt4265", "dd2424"])
def test_report_pdf_has_a_page_per_task(reports: dict[str, Path],
                                                           text: str) -> None:
    out = reports[text]
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    sections = (out / "report.md").read_text().count("\n## ")
    assert pages >= sections


@pytest.mark.slow
def test_the_reports_show_the_parity_of_every_run_and_the_gradient_checks(
        reports: dict[str, Path]) -> None:
    def table_with(column: str, markdown: str) -> list[dict[str, str]]:
        [table] = [t for t in markdown_tables(markdown) if t and column in t[0]]
        return table

    tdt = (reports["tdt4265"] / "report.md").read_text()
    assert [row["parity"] for row in table_with("parity", tdt)] == ["PASS"] * 8
    assert "FAIL" not in tdt
    assert {"TDT4265Softmax", "TDT4265Binary"} <= {
        row["model"] for row in table_with("vs autograd", tdt)}
    dd = (reports["dd2424"] / "report.md").read_text()
    assert "CIFAR-10 from" in dd.splitlines()[0]
    assert sorted(row["parity"] for row in table_with("parity", dd)) == ["NumPy only"] * 2 + [
        "PASS"] * 10
    assert "DD2424MultiBCE" in {row["model"] for row in table_with("vs autograd", dd)}
    assert "39.13%" in dd


@pytest.mark.slow
def test_a_rerun_takes_every_run_from_the_cache(reports: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def no_training(*args: object) -> None:
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(runs, "_train", no_training)
    assert main(["tdt4265", "--out", str(tmp_path), "--quick", "--cache",
                 str(reports["cache"]), "--no-progress"]) == 0
    assert (tmp_path / "report.pdf").is_file()


@pytest.mark.slow
def test_a_changed_definition_runs_again(reports: dict[str, Path]) -> None:
    job = runs.Job("tdt4265/task2b")
    exp = runs.resolve(job, {}, quick=True)
    other = runs.resolve(runs.Job("tdt4265/task2b", (("model.lr", 0.1),)), {}, quick=True)
    assert runs.cache_key(exp, True, True) != runs.cache_key(other, True, True)
    assert runs.cache_key(exp, True, True) != runs.cache_key(exp, False, True)
    with_download = runs.resolve(job, {"data.download": True}, quick=True)
    assert runs.cache_key(exp, True, True) == runs.cache_key(with_download, True, True)


def test_dd2424_without_cifar10_says_how_to_get_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["dd2424", "--out", str(tmp_path / "out"), "--data-root",
                 str(tmp_path / "empty"), "--quick"]) == ExitCode.DATA
    message = capsys.readouterr().err
    assert "CIFAR-10 not found" in message and "--download" in message
    assert "--dataset mnist" in message
    assert not (tmp_path / "out" / "report.md").exists()


def test_usage_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["tdt4266", "--out", "x"]) == 2
    assert main(["tdt4265"]) == 2
    assert main(["tdt4265", "--out", "x", "--dataset", "mnist"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("python -m compare.report: error:")
                                   for line in lines)


@pytest.mark.parametrize("layout", ["one run, prefixed tags", "one run per side"])
def test_read_curves_reads_both_sides_in_either_layout(tmp_path: Path, layout: str) -> None:
    from torch.utils.tensorboard import SummaryWriter

    values = {"numpy": [0.5, 0.25], "lightning": [0.5, 0.125]}
    if layout == "one run, prefixed tags":
        with SummaryWriter(str(tmp_path)) as writer:
            for side, ys in values.items():
                for step, y in zip((3, 7), ys, strict=True):
                    writer.add_scalar(f"{side}/val/loss", y, step)
            writer.add_scalar("parity/max_rel_error", 1e-15, 7)
    else:
        for side, ys in values.items():
            with SummaryWriter(str(tmp_path / side)) as writer:
                for step, y in zip((3, 7), ys, strict=True):
                    writer.add_scalar("val/loss", y, step)
    curves = read_curves(tmp_path)
    for side, ys in values.items():
        assert curves[side]["val/loss"] == ([3, 7], pytest.approx(ys))


def test_zoom_keeps_the_texts_ylim_only_where_the_curve_settles_inside_it() -> None:
    assert zoom((0.0, 0.2), [0.7, 0.3, 0.1, 0.08, 0.07]) == (0.0, 0.2)
    assert zoom((0.93, 0.99), [0.5, 0.8, 0.85, 0.86, 0.9]) is None


@pytest.mark.slow
def test_the_result_sentences_come_from_the_numbers(reports: dict[str, Path]) -> None:
    dd = (reports["dd2424"] / "report.md").read_text()
    assert "oscillates instead of settling" not in dd and "at some cost in accuracy" not in dd
    assert "The text expects the training cost of setting 2" in dd
    assert "Test accuracy (NumPy) of the four settings: " in dd and "template roughness" in dd
    tdt = (reports["tdt4265"] / "report.md").read_text()
    for expectation in ('validation accuracy to show fewer "spikes"', "weights of lambda = 1 to",
                        "validation accuracy to degrade with any amount"):
        assert f"The text expects the {expectation}" in tdt.replace("\n", " ")
