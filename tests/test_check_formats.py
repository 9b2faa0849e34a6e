"""compare.check meets hand-ins as they come (the project's issue 18): script lines that raise
when loaded, defaults that read a script's globals, file names that are not identifiers, a
helper named like a standard-library module, notebooks, zips, a grader's folder holding
anything, and a hand-in in which nothing of the assignment is found."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from compare.check import check, formats
from compare.check.sandbox import copy_folder

SUBMISSIONS = Path(__file__).parent / "submissions"
HANDWRITTEN = SUBMISSIONS / "dd2424" / "handwritten.py"
CORRECT = SUBMISSIONS / "tdt4265" / "correct"


def not_passing(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.status != "pass"}


def notes_with(result, words: str) -> list[str]:
    return [n for n in result.notes if words in n]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare.check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------------- loading


SCRIPT_LINES = '''

X_train, Y_train, y_train = LoadBatch("data_batch_1")
X_train_reduced = X_train[:100]
W0 = np.random.normal(0, 0.01, size=(K, d))
import a_package_nobody_installed


def transformData(xOut, xTrain=X_train):
    return xOut - xTrain.mean()


def f(a, b=X_train):
    return a + b
'''


def test_lines_that_raise_when_loaded_cost_only_themselves(tmp_path: Path) -> None:
    """Each kept statement runs on its own: those that raise are left out, named in one note;
    a def whose default raises is still defined."""
    handin = tmp_path / "assignment1.py"
    handin.write_text(HANDWRITTEN.read_text() + SCRIPT_LINES)
    result = check("dd2424", handin, quick=True)
    assert not_passing(result) == {}, result.to_text()
    raised = notes_with(result, "raised when run")
    assert len(raised) == 1, result.notes
    for words in ("`X_train_reduced = X_train[:100]` (NameError", "`W0 = np.random.normal(",
                  "`import a_package_nobody_installed` (ModuleNotFoundError",
                  "`def f(a, b=X_train):` defined without the default of b in f (NameError",
                  "the default of xTrain in transformData"):
        assert words in raised[0], raised[0]


def test_a_default_that_reads_a_script_global(tmp_path: Path) -> None:
    """The function is defined; a call that passes the argument runs, a call that leaves it
    out raises TypeError naming the default; decorators and class bodies likewise."""
    from compare.check.session import HandInRaised, Job, Session

    handin = tmp_path / "handin.py"
    handin.write_text(HANDWRITTEN.read_text() + '''
LAMBDA = config["lambda"]


def ComputeCost(P, y, network, lam=LAMBDA):
    return ComputeLoss(P, y) + lam * np.sum(network["W"] ** 2)


@profile_me
def scaled(x, factor=SCALE):
    return x * factor


class Model:
    W_init = X_train.shape[0]

    def __init__(self, lam=LAMBDA, unused=X_train):
        self.lam = lam
''')
    result = check("dd2424", handin, quick=True)
    assert not_passing(result) == {}, result.to_text()
    note = notes_with(result, "raised when run")[0]
    assert "the decorator @profile_me of scaled" in note and "of class Model" in note, note
    session = Session(Job(handin, "dd2424", mode="process"))
    try:
        session.deadline = time.monotonic() + 60

        def find(name: str):  # noqa: ANN202
            return session.call("find", files=["handin"], names=[name], any_value=False)["found"]

        assert find("scaled")(2, 3) == 6
        with pytest.raises(HandInRaised) as raised:
            find("scaled")(2)
        assert raised.value.type == "TypeError"
        assert "default `SCALE` could not be evaluated" in raised.value.message
        assert "NameError" in raised.value.message
        assert find("Model")(lam=0.5).lam == 0.5
        with pytest.raises(HandInRaised, match="without lam"):
            find("Model")()
    finally:
        session.close()


@pytest.mark.parametrize("name", ["assignment1.final.py", "my-solution.py", "2 layer.py"])
def test_file_names_that_are_not_identifiers(name: str, tmp_path: Path) -> None:
    handin = tmp_path / name
    shutil.copy(HANDWRITTEN, handin)
    result = check("dd2424", handin, quick=True)
    assert not_passing(result) == {}, result.to_text()
    assert f"{name}: flip_indices" in result.by_id()["flip"].message


def test_helpers_named_like_standard_library_modules(tmp_path: Path) -> None:
    """random.py and statistics.py beside the hand-in: its own imports get them, NumPy's and
    the standard library's get theirs (NumPy's unseeded default_rng, in the TDT4265 batch
    loader and trainer, imports the standard library's random.SystemRandom)."""
    from compare.check.session import Job, Session

    helpers = {"random.py": "def random():\n    return 'the student random'\n\n"
                            "def shuffle(x):\n    raise RuntimeError('not mine')\n",
               "statistics.py": "def mean(x):\n    return 'the student mean'\n"}
    tdt4265 = shutil.copytree(CORRECT, tmp_path / "tdt4265")
    folder = tmp_path / "handin"
    folder.mkdir()
    for name, text in helpers.items():
        (tdt4265 / name).write_text(text)
        (folder / name).write_text(text)
    result = check("tdt4265", tdt4265, quick=True)
    assert not_passing(result) == {}, result.to_text()
    (folder / "assignment.py").write_text(
        HANDWRITTEN.read_text()
        + "\nimport random\nfrom statistics import mean\n\n\ndef whose():\n"
          "    return random.random(), mean([1])\n")
    result = check("dd2424", folder, quick=True)
    assert not_passing(result) == {}, result.to_text()
    session = Session(Job(folder, "dd2424", mode="process"))
    try:
        session.deadline = time.monotonic() + 60
        whose = session.call("find", files=["assignment"], names=["whose"],
                             any_value=False)["found"]
        assert whose() == ("the student random", "the student mean")
    finally:
        session.close()


# --------------------------------------------------------------------------- formats


def handwritten_cells() -> list[str]:
    """handwritten.py as a student's notebook: a cell of IPython lines, its definitions in
    cells, and the training under __main__ as top-level cells."""
    source = HANDWRITTEN.read_text()
    head, _, main = source.partition('if __name__ == "__main__":\n')
    cells = ["!pip install numpy\n%matplotlib inline\nimport matplotlib.pyplot as plt\n"]
    cells += ["def" + c if i else c for i, c in enumerate(head.split("\ndef"))]
    cells.append("%%time\n" + "\n".join(line[4:] for line in main.splitlines()))
    cells.append("%%bash\nls -l\n")
    return cells


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Assignment 1"]}]}
    for source in cells:
        notebook["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None,
                                  "outputs": [], "source": source.splitlines(keepends=True)})
    path.write_text(json.dumps(notebook))
    return path


def test_a_notebook_passes_every_check(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "Assignment 1.ipynb", handwritten_cells())
    result = check("dd2424", notebook, quick=True)
    assert not_passing(result) == {}, result.to_text()
    converted = notes_with(result, "converted to Assignment 1.py")
    assert len(converted) == 1, result.notes
    for words in ("code cell 1 line 1 `!pip install numpy`", "line 2 `%matplotlib inline`",
                  "`%%time`", "`%%bash` (the whole cell)"):
        assert words in converted[0], converted[0]
    assert notes_with(result, "skipped (not definitions)")  # its training did not run


def test_ipython_lines_only_where_a_line_starts() -> None:
    lines = ["x = (a", "     % b)", "for i in range(3):", "    !echo $i", "s = '''", "%not",
             "'''", "files = !ls", "np.sum?", "y %= 2", "!pip install \\", "    numpy"]
    out, left_out = formats.ipython_lines(lines)
    assert out[1] == "     % b)" and out[5] == "%not" and out[9] == "y %= 2"
    assert out[3] == "    pass  # (IPython) !echo $i"
    assert [w.split("`")[1] for w in left_out] == ["!echo $i", "files = !ls", "np.sum?",
                                                   "!pip install \\"]
    assert out[11].startswith("#")
    compile("\n".join(out), "cell", "exec")


def zip_folder(folder: Path, target: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(folder)
                z.write(path, f"{top}/{rel}" if top else str(rel))
    return target


@pytest.mark.slow
def test_zips_of_a_folder_and_of_a_notebook(tmp_path: Path) -> None:
    folder_zip = zip_folder(CORRECT, tmp_path / "handin.zip", top="assignment1")
    result = check("tdt4265", folder_zip, quick=True)
    assert not_passing(result) == {}, result.to_text()
    assert notes_with(result, "its files are in the folder assignment1/")
    (tmp_path / "nb").mkdir()
    write_notebook(tmp_path / "nb" / "assignment.ipynb", handwritten_cells())
    result = check("dd2424", zip_folder(tmp_path / "nb", tmp_path / "nb.zip"), quick=True)
    assert not_passing(result) == {}, result.to_text()
    assert notes_with(result, "assignment.ipynb: converted to assignment.py")


def test_a_folder_of_notebooks_keeps_its_own_py(tmp_path: Path) -> None:
    folder = tmp_path / "handin"
    folder.mkdir()
    write_notebook(folder / "assignment.ipynb", handwritten_cells())
    (folder / "helpers.py").write_text("def helper():\n    return 1\n")
    write_notebook(folder / "helpers.ipynb", ["def helper():\n    return 2\n"])
    result = check("dd2424", folder, quick=True)
    assert not_passing(result) == {}, result.to_text()
    assert notes_with(result, "helpers.ipynb: not converted, helpers.py is there")


def test_zips_are_extracted_safely(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("good.py", "x = 1\n")
        z.writestr("../escaped.py", "x = 2\n")
        z.writestr("/absolute.py", "x = 3\n")
        z.writestr("sub/../../up.py", "x = 4\n")
        link = zipfile.ZipInfo("link.py")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/passwd")
        z.writestr("__MACOSX/._good.py", "junk")
    dst = tmp_path / "out" / "copy"
    notes = formats.prepare(evil, dst, copy_folder)
    assert sorted(p.name for p in dst.iterdir()) == ["good.py"]
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path / "out" / "up.py").exists()
    assert len(notes) == 4 and any("a link" in n for n in notes), notes
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.py", "x = 1\n")
        z.writestr("zeros.npy", bytes(4 << 20))
    with pytest.raises(formats.Unusable, match=r"unpacks to 4 MB, over the cap of 1 MB \(a zip"):
        formats.prepare(bomb, tmp_path / "bomb", copy_folder, limit=1 << 20)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.py", "x = 1\n")
        z.writestr("zeros.npy", bytes(formats.BOMB_MIN))  # 1000 times its compressed size
    notes = formats.prepare(bomb, tmp_path / "member", copy_folder)
    assert sorted(p.name for p in (tmp_path / "member").iterdir()) == ["a.py"]
    assert any("zeros.npy: unpacks to 16 MB" in n and "(a zip bomb?)" in n for n in notes), notes
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(formats.Unusable, match="not a readable zip"):
        formats.prepare(tmp_path / "corrupt.zip", tmp_path / "corrupt", copy_folder)


# --------------------------------------------------------------------------- batch, exit


@pytest.mark.slow
def test_a_batch_gives_every_entry_a_row(tmp_path: Path) -> None:
    batch = tmp_path / "handins"
    batch.mkdir()
    (batch / "folder").mkdir()
    shutil.copy(HANDWRITTEN, batch / "folder" / "assignment1.py")
    shutil.copy(HANDWRITTEN, batch / "single.py")
    write_notebook(batch / "notebook.ipynb", handwritten_cells())
    zip_folder(batch / "folder", batch / "zipped.zip")
    (batch / "empty").mkdir()
    (batch / "dangling").symlink_to(tmp_path / "nowhere")
    (batch / "README.txt").write_text("grade these\n")
    run = _cli("dd2424", "--batch", str(batch), "--quick", "--jobs", "2", "--out",
               str(tmp_path / "grades"), cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    rows = {r["submission"]: r for r in json.loads((tmp_path / "grades.json").read_text())}
    assert set(rows) == {"folder", "single.py", "notebook.ipynb", "zipped.zip", "empty",
                         "dangling", "README.txt"}
    whys = {"empty": "empty is an empty folder", "dangling": "a link whose target does not exist",
            "README.txt": "not a .py file, a notebook (.ipynb), a .zip or a folder"}
    for name, row in rows.items():
        statuses = {c["status"] for c in row["checks"]}
        assert len(row["checks"]) == 11, row
        if name in whys:
            assert statuses == {"error"}, row
            assert all(c["message"].startswith("nothing to check: ") and whys[name] in
                       c["message"] for c in row["checks"]), row
        else:
            assert statuses == {"pass"}, row


@pytest.mark.slow
def test_nothing_found_exits_3_and_says_so_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = _cli("dd2424", str(empty), "--quick", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    said = [line for line in run.stdout.splitlines()
            if line.startswith("nothing of the assignment was found in")]
    assert said == [f"nothing of the assignment was found in {empty}: {empty.name} is an "
                    "empty folder"], run.stdout
    unrelated = tmp_path / "unrelated.py"
    unrelated.write_text("def hello():\n    return 'world'\n")
    run = _cli("dd2424", str(unrelated), "--quick", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    said = [line for line in run.stdout.splitlines()
            if line.startswith("nothing of the assignment was found in")]
    assert len(said) == 1 and "no check found what it looks for" in said[0], run.stdout
    assert os.path.isdir(empty)
