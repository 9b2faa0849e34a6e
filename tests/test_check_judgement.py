"""compare.check's judgement (issue 18): the ``warn`` status (right by the text, with a weakness
named; ``--strict`` makes it a fail; it earns the point everywhere), messages a student
understands (never a whole value of the hand-in; what differs in words), the 2022 starter's
trainer (its validation_step reads globals only ``__main__`` sets: the hand-in's train_step is
driven by the checker's loop instead) and errors in a starter-code line named as the
starter's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compare.check import check
from compare.check.result import table_csv, table_terminal
from tests.tables import terminal_batch

SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "tdt4265" / "correct"
STARTER_2022 = SUBMISSIONS / "tdt4265" / "broken" / "starter_2022"
HANDWRITTEN = SUBMISSIONS / "dd2424" / "handwritten.py"


def handin(root: Path, name: str, overlays: tuple[Path, ...] = (),
           edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """The correct TDT4265 hand-in with the files of ``overlays`` laid over it, then each
    file's ``(old, new)`` replacements (each ``old`` must occur exactly once)."""
    folder = root / name
    shutil.copytree(CORRECT, folder)
    for overlay in overlays:
        for f in overlay.glob("*.py"):
            shutil.copy(f, folder / f.name)
    for file, changes in (edits or {}).items():
        text = (folder / file).read_text()
        for old, new in changes:
            assert text.count(old) == 1, (file, old)
            text = text.replace(old, new)
        (folder / file).write_text(text)
    return folder


def not_passing(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.status != "pass"}


SOFTMAX_OVERFLOWS = SUBMISSIONS / "tdt4265" / "broken" / "softmax_overflows"
SIGMOID = ("        e = np.exp(-np.abs(z))\n"
           "        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
           "        return np.exp(z) / (1 + np.exp(z))")
KEEPS_LAST = ("                        if best_w is not None:\n"
              "                            self.model.w = best_w\n", "")
CLI = [sys.executable, "-m", "compare.check", "tdt4265"]


# ------------------------------------------------------------------------------- warn


def test_unshifted_softmax_is_a_warn_that_names_the_fix(tmp_path: Path) -> None:
    result = check("tdt4265", handin(tmp_path, "h", (SOFTMAX_OVERFLOWS,)), quick=True)
    assert not_passing(result) == {"SoftmaxModel.forward": "warn"}, result.to_text()
    message = result.by_id()["SoftmaxModel.forward"].message
    assert "overflows once a score passes about 709" in message
    assert "subtract each row's maximum score before exp" in message
    assert "yours gives nan" in message
    assert "the output for random weights agrees with the text" in message
    strict = check("tdt4265", tmp_path / "h", quick=True, strict=True)
    assert not_passing(strict) == {"SoftmaxModel.forward": "fail"}, strict.to_text()
    assert "failed under --strict" in strict.by_id()["SoftmaxModel.forward"].message


def test_unshifted_softmax_wrong_on_realistic_scores_still_fails(tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", (SOFTMAX_OVERFLOWS,), {"task3a.py": [(
        "return e / e.sum(axis=1, keepdims=True)", "return e / e.sum()")]})
    result = check("tdt4265", folder, quick=True)
    assert not_passing(result) == {"SoftmaxModel.forward": "fail"}, result.to_text()
    assert "random weights" in result.by_id()["SoftmaxModel.forward"].message


def test_unshifted_softmax_in_dd2424_is_a_warn(tmp_path: Path) -> None:
    path = tmp_path / "overflows.py"
    path.write_text(HANDWRITTEN.read_text() + "\n\n" + (
        SUBMISSIONS / "dd2424" / "broken" / "softmax_overflows.py").read_text())
    result = check("dd2424", path, quick=True)
    assert not_passing(result) == {"ApplyNetwork": "warn"}, result.to_text()
    assert "subtract each column's maximum" in result.by_id()["ApplyNetwork"].message
    strict = check("dd2424", path, quick=True, strict=True)
    assert not_passing(strict) == {"ApplyNetwork": "fail"}, strict.to_text()


def test_sigmoid_as_exp_over_one_plus_exp_is_a_warn(tmp_path: Path) -> None:
    result = check("tdt4265", handin(tmp_path, "h", edits={"task2a.py": [SIGMOID]}), quick=True)
    assert not_passing(result) == {"BinaryModel.forward": "warn"}, result.to_text()
    assert "1 / (1 + exp(-z))" in result.by_id()["BinaryModel.forward"].message


def test_early_stopping_without_the_best_weights_is_a_warn(tmp_path: Path) -> None:
    result = check("tdt4265", handin(tmp_path, "h", edits={"trainer.py": [KEEPS_LAST]}),
                   quick=True)
    assert not_passing(result) == {"early_stopping": "warn"}, result.to_text()
    message = result.by_id()["early_stopping"].message
    assert "keeps the weights of the last step" in message
    assert "minimum validation loss" in message
    # the wrong stop rule is still a fail
    nine = check("tdt4265", handin(tmp_path, "nine", edits={"trainer.py": [
        KEEPS_LAST, ("self.early_stopping_patience = 10", "self.early_stopping_patience = 9")]}),
        quick=True)
    assert not_passing(nine) == {"early_stopping": "fail"}, nine.to_text()


FIXED_SEED = ("        rng = np.random.default_rng() if rng is None else rng\n",
              "        rng = np.random.default_rng(0)  # the same order every epoch\n")


def test_a_loader_with_the_same_shuffle_every_epoch_is_a_warn(tmp_path: Path) -> None:
    # the signature without rng: nothing could give it another order
    folder = handin(tmp_path, "h", edits={
        "utils.py": [FIXED_SEED, ("        rng: np.random.Generator | None = None,\n", "")],
        "trainer.py": [("shuffle=self.shuffle_dataset,\n                rng=self.rng)",
                        "shuffle=self.shuffle_dataset)")]})
    result = check("tdt4265", folder, quick=True)
    assert not_passing(result) == {"batch_loader": "warn"}, result.to_text()
    assert "same order every epoch" in result.by_id()["batch_loader"].message
    # a loader that takes an rng (the trainer gives it one) is not blamed for its default
    takes_rng = check("tdt4265", handin(tmp_path, "rng", edits={"utils.py": [FIXED_SEED]}),
                      quick=True)
    assert not_passing(takes_rng) == {}, takes_rng.to_text()


@pytest.mark.slow
def test_warn_earns_the_point_and_exits_0(tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", (SOFTMAX_OVERFLOWS,), {"trainer.py": [KEEPS_LAST]})
    result = check("tdt4265", folder, quick=True)
    assert set(not_passing(result).values()) == {"warn"}, result.to_text()
    assert result.exit_status == 0
    gradescope = result.to_gradescope()
    assert gradescope["score"] == len(result.checks)
    test = next(t for t in gradescope["tests"] if t["name"] == "SoftmaxModel.forward")
    assert (test["score"], test["max_score"], test["status"]) == (1.0, 1.0, "passed")
    assert test["output"].startswith("[warn] ")
    result.submission = "h"
    assert table_csv([result]).splitlines()[1].endswith(f",{len(result.checks)}/"
                                                        f"{len(result.checks)}")
    ids, rows = terminal_batch(table_terminal([result]))
    cells, passed = rows["h"]
    assert dict(zip(ids, cells, strict=True))["SoftmaxModel.forward"] == "w"
    assert passed == f"{len(result.checks)}/{len(result.checks)}"
    assert "2 warn" in result.to_text()

    run = subprocess.run([*CLI, str(folder), "--quick", "--format", "gradescope"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((tmp_path / "results.json").read_text())["score"] == len(result.checks)
    strict = subprocess.run([*CLI, str(folder), "--quick", "--strict"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert re.search(r"^  FAIL +SoftmaxModel\.forward ", strict.stdout, re.M), strict.stdout


# ------------------------------------------------------------------------------- messages


@pytest.mark.parametrize(("returned", "words"), [
    ("[[0.0] * 300000, [1.0]]", "a list of 2 items"),       # ragged: no array to compare
    ("{'probs': np.zeros((3000, 3000))}", "a dict with keys 'probs'"),
    ("'p' * 100000", "characters"),
    ("np.zeros((3000, 3000))", "yours has shape (3000, 3000), expected (16, 10)"),
])
def test_a_huge_wrong_value_gives_a_short_message(returned: str, words: str,
                                                  tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", edits={"task3a.py": [(
        "        return e / e.sum(axis=1, keepdims=True)",
        f"        return {returned}")]})
    result = check("tdt4265", folder, quick=True)
    assert set(not_passing(result)) == {"SoftmaxModel.forward"}, result.to_text()
    message = result.by_id()["SoftmaxModel.forward"].message
    assert len(message) < 500, message[:1000]
    assert words in message, message


def test_a_huge_loss_that_is_no_number_gives_a_short_message(tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", edits={"task3a.py": [(
        "def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray):\n",
        "def cross_entropy_loss(targets: np.ndarray, outputs: np.ndarray):\n"
        "    return 'x' * 100000\n")]})
    result = check("tdt4265", folder, quick=True)
    message = result.by_id()["cross_entropy_loss"].message
    assert result.status_of("cross_entropy_loss") in ("fail", "error")
    assert len(message) < 500, message[:1000]


def test_a_wrong_shape_says_what_it_is(tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", edits={"task3a.py": [(
        "        return e / e.sum(axis=1, keepdims=True)",
        "        return (e / e.sum(axis=1, keepdims=True)).T")]})
    message = check("tdt4265", folder, quick=True).by_id()["SoftmaxModel.forward"].message
    assert "the right values, transposed" in message


SHUFFLES_ALWAYS = [("    if shuffle:\n        rng = np.random.default_rng() if rng is None",
                    "    if True:\n        rng = np.random.default_rng() if rng is None")]


def test_the_batch_loader_says_what_it_does_wrong(tmp_path: Path) -> None:
    shuffles = check("tdt4265", handin(tmp_path, "shuffles", edits={"utils.py": SHUFFLES_ALWAYS}),
                     quick=True)
    message = shuffles.by_id()["batch_loader"].message
    assert shuffles.status_of("batch_loader") == "fail"
    assert message.startswith("your loader shuffles although shuffle=False; first difference "
                              "at position "), message
    assert ", expected sample " in message
    keeps = check("tdt4265", handin(tmp_path, "keeps", edits={"utils.py": [(
        "    if not drop_last:\n", "    if True:\n")]}), quick=True)
    message = keeps.by_id()["batch_loader"].message
    assert keeps.status_of("batch_loader") == "fail"
    assert "keeps the last, incomplete batch (4 samples) although drop_last=True" in message


# ------------------------------------------------------------------------------- 2022 starter

BUGGY_STEP = [("        outputs = self.model.forward(X_batch)\n"
               "        loss = cross_entropy_loss(Y_batch, outputs)\n"
               "        self.model.backward(X_batch, outputs, Y_batch)\n"
               "        self.model.w -= self.learning_rate * self.model.grad\n"
               "        return loss\n",
               "        outputs = self.model.forward(X_batch)\n"
               "        self.model.backward(X_batch, outputs, Y_batch)\n"
               "        self.model.w -= self.learning_rate * self.model.grad\n"
               "        return cross_entropy_loss(Y_batch, self.model.forward(X_batch))\n")]
DRIVEN = "its train_step was driven by the checker's loop"
GLOBALS = "its validation_step reads globals set only under __main__ (starter code"


@pytest.mark.slow
def test_the_2022_starter_trainer_trains_through_the_checkers_loop(tmp_path: Path) -> None:
    result = check("tdt4265", handin(tmp_path, "h", (STARTER_2022,)))
    assert not_passing(result) == {}, result.to_text()
    for cid in ("train_binary", "train_softmax"):
        message = result.by_id()[cid].message
        assert message.startswith("200 steps agree with the reference"), message
        assert GLOBALS in message and DRIVEN in message, message
        assert "name 'Y_val' is not defined" in message
    # its own early stopping rule is still what is graded
    assert "stops after 10 validations" in result.by_id()["early_stopping"].message


@pytest.mark.slow
def test_the_2022_starter_trainer_with_a_buggy_train_step_fails(tmp_path: Path) -> None:
    folder = handin(tmp_path, "h", (STARTER_2022,), {"task2.py": BUGGY_STEP})
    result = check("tdt4265", folder)
    assert not_passing(result) == {"train_binary": "fail"}, result.to_text()
    message = result.by_id()["train_binary"].message
    assert "step 0" in message and "the loss of the batch" in message and DRIVEN in message


def test_a_name_error_in_train_step_is_the_students_error(tmp_path: Path) -> None:
    """A train_step that reads a global of __main__ (learning_rate) is the student's own line:
    an error, no fallback, not called the starter's."""
    folder = handin(tmp_path, "h", (STARTER_2022,), {"task2.py": [(
        "self.model.w -= self.learning_rate * self.model.grad",
        "self.model.w -= learning_rate * self.model.grad")]})
    result = check("tdt4265", folder)
    assert not_passing(result) == {"train_binary": "error"}, result.to_text()
    message = result.by_id()["train_binary"].message
    assert "NameError: name 'learning_rate' is not defined at task2.py:" in message
    assert "starter" not in message and DRIVEN not in message


def test_an_error_in_the_students_own_trainer_lines_is_an_error(tmp_path: Path) -> None:
    """An AttributeError in the early stopping the student added to BaseTrainer.train: no
    fallback (that is only for the starter's validation_step), not called the starter's."""
    folder = handin(tmp_path, "h", edits={"trainer.py": [(
        "best_w = self.model.w.copy()", "best_w = self.model.weights.copy()")]})
    result = check("tdt4265", folder)
    assert not_passing(result) == {"early_stopping": "error", "train_binary": "error",
                                   "train_softmax": "error"}, result.to_text()
    for cid in ("train_binary", "train_softmax"):
        message = result.by_id()[cid].message
        assert message.startswith("AttributeError:") and "at trainer.py:" in message, message
        assert "starter" not in message and DRIVEN not in message, message



def test_an_error_of_code_written_for_numpy_1_says_what_changed(tmp_path: Path) -> None:
    """``math.log(outputs[n])`` on a row of shape (1,), as hand-ins of NumPy 1.x's time wrote
    the loss (e.g. navimI/TDT4265_Assignment1, 2023): NumPy 1.25 warned, NumPy 2 raises. Still
    an error here, and the message says which change it is and how the code ran then."""
    folder = handin(tmp_path, "h", edits={"task2a.py": [(
        "    return (-(targets * log_p + (1 - targets) * log_1_minus_p)).mean()",
        "    import math\n"
        "    return -sum(targets[n] * math.log(outputs[n]) + (1 - targets[n])\n"
        "                * math.log(1 - outputs[n])\n"
        "                for n in range(len(outputs))) / len(outputs)")]})
    result = check("tdt4265", folder)
    message = result.by_id()["binary_cross_entropy_loss"].message
    assert result.status_of("binary_cross_entropy_loss") == "error", result.to_text()
    assert message.startswith("TypeError: only 0-dimensional arrays"), message
    assert "at task2a.py:" in message and "NumPy 1.25 deprecated this" in message, message
    assert "`.item()` or `[0]` takes the element" in message, message

@pytest.mark.slow
def test_an_error_in_a_starter_line_says_it_is_the_starters(tmp_path: Path) -> None:
    """calculate_accuracy with a parameter of the student's: the starter's validation_step
    calls it the starter's way and raises in the starter's line."""
    folder = handin(tmp_path, "h", edits={"task2.py": [(
        "def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel) -> float:",
        "def calculate_accuracy(X: np.ndarray, targets: np.ndarray, model: BinaryModel,\n"
        "                       threshold: float) -> float:")]})
    result = check("tdt4265", folder)
    assert result.status_of("train_binary") == "error", result.to_text()
    message = result.by_id()["train_binary"].message
    assert "TypeError" in message and "threshold" in message
    assert ("in LogisticTrainer.validation_step, a line of the starter code (not one you "
            "wrote): `accuracy_train = calculate_accuracy(`") in message, message
    # the same error from the student's own call is not called the starter's
    assert "starter" not in result.by_id()["binary_accuracy"].message
