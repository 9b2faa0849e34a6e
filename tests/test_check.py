"""compare.check on hand-ins written for the purpose: the project's implementation behind the
texts' APIs passes every check; each broken one (tests/submissions/tdt4265/broken/NAME holds
the one file it changes; tests/submissions/dd2424/broken/NAME.py the definitions laid over
dd2424/handwritten.py) fails exactly the checks it should; crashes become errors; the CLI's
exit statuses and output files."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare.check import check
from tests.tables import markdown_tables

SUBMISSIONS = Path(__file__).parent / "submissions"
CORRECT = SUBMISSIONS / "tdt4265" / "correct"
DD2424 = SUBMISSIONS / "dd2424" / "correct.py"
HANDWRITTEN = SUBMISSIONS / "dd2424" / "handwritten.py"
ROWS = SUBMISSIONS / "dd2424" / "rows.py"

# name -> (status, ids with that status; every other check passes)
BROKEN: dict[str, tuple[str, set[str]]] = {
    "l2_lambda_w": ("fail", {"SoftmaxModel.backward_l2"}),
    "l2_divided_by_n": ("fail", {"SoftmaxModel.backward_l2"}),
    "lambda_ignored": ("fail", {"SoftmaxModel.backward_l2"}),
    "softmax_overflows": ("warn", {"SoftmaxModel.forward"}),  # right on realistic scores
    "accuracy_strict": ("fail", {"binary_accuracy"}),
    "minmax": ("fail", {"pre_process_images"}),
    "early_stop_9": ("fail", {"early_stopping"}),
    "no_shuffle": ("fail", {"batch_loader"}),
    "accuracy_percent": ("convention", {"binary_accuracy"}),
    "trains_at_import": ("fail", set()),
    "constructor_loads_data": ("fail", set()),
    "syntax_error": ("fail", set()),
    "loops_forever": ("error", {"binary_cross_entropy_loss"}),
    "sys_exit": ("error", {"one_hot_encode"}),
}


# name -> {id: status} under --quick; every other check passes
DD2424_BROKEN: dict[str, dict[str, str]] = {
    "no_1_over_n": {"BackwardPass": "fail", "BackwardPass_l2": "fail"},
    "l2_on_bias": {"ComputeCost": "fail", "BackwardPass_l2": "fail"},
    "l2_lambda_w": {"BackwardPass_l2": "fail"},
    "l2_divided_by_n": {"BackwardPass_l2": "fail"},
    "bce_no_1_over_k": {"multiple_bce_loss": "fail", "multiple_bce_gradient": "fail"},
    "scalar_mean_std": {"normalize": "fail"},
    "flip_misses_a_row": {"flip": "fail"},
    "flip_no_mirror": {"flip": "fail"},
    "softmax_overflows": {"ApplyNetwork": "warn"},  # right on realistic scores
    "trains_at_import": {},
}
# the words each failing message must hold (the mistake named)
DD2424_MESSAGES: dict[str, tuple[str, str]] = {
    "no_1_over_n": ("BackwardPass", "no 1/n"),
    "l2_on_bias": ("BackwardPass_l2", "gradient of b includes 2*lambda*b"),
    "l2_lambda_w": ("BackwardPass_l2", "1.0*lambda*W"),
    "l2_divided_by_n": ("BackwardPass_l2", "L2 gradient is divided by n"),
    "bce_no_1_over_k": ("multiple_bce_gradient", "1/K of eq. 14"),
    "scalar_mean_std": ("normalize", "one scalar mean and std"),
    "flip_misses_a_row": ("flip", "image rows [31] are not mirrored"),
    "softmax_overflows": ("ApplyNetwork", "overflows"),
}


def dd2424_variant(name: str, root: Path) -> Path:
    """handwritten.py with broken/NAME.py's definitions appended (the later ones win)."""
    path = root / f"{name}.py"
    overlay = (SUBMISSIONS / "dd2424" / "broken" / f"{name}.py").read_text()
    path.write_text(HANDWRITTEN.read_text() + "\n\n" + overlay)
    return path


def variant(name: str, root: Path) -> Path:
    """The correct adapter with the broken hand-in's file(s) laid over it."""
    folder = root / name
    shutil.copytree(CORRECT, folder)
    for f in (SUBMISSIONS / "tdt4265" / "broken" / name).glob("*.py"):
        shutil.copy(f, folder / f.name)
    return folder


def not_passing(result) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.status != "pass"}


@pytest.mark.slow
def test_correct_tdt4265_passes_every_check() -> None:
    result = check("tdt4265", CORRECT)
    assert not_passing(result) == {}, result.to_text()
    assert len(result.checks) == 15


@pytest.mark.slow
def test_correct_dd2424_file_passes_every_check() -> None:
    result = check("dd2424", DD2424)
    assert not_passing(result) == {}, result.to_text()
    assert len(result.checks) == 12
    assert any("skipped" in n and "LoadBatch(" in n for n in result.notes)


@pytest.mark.parametrize("name", sorted(DD2424_BROKEN))
def test_broken_dd2424_fails_exactly_its_checks(name: str, tmp_path: Path) -> None:
    result = check("dd2424", dd2424_variant(name, tmp_path), quick=True, check_time_limit=20)
    assert not_passing(result) == DD2424_BROKEN[name], result.to_text()
    if name in DD2424_MESSAGES:
        cid, words = DD2424_MESSAGES[name]
        assert words in result.by_id()[cid].message, result.to_text()


@pytest.mark.slow
def test_handwritten_dd2424_passes_and_trains_in_lockstep() -> None:
    result = check("dd2424", HANDWRITTEN)
    assert not_passing(result) == {}, result.to_text()
    assert not any(n for n in result.notes if "skipped" in n)  # its training is under __main__


@pytest.mark.slow
def test_dd2424_no_1_over_n_also_parts_in_training(tmp_path: Path) -> None:
    result = check("dd2424", dd2424_variant("no_1_over_n", tmp_path))
    assert not_passing(result) == {"BackwardPass": "fail", "BackwardPass_l2": "fail",
                                   "MiniBatchGD": "fail"}, result.to_text()
    assert "step 0" in result.by_id()["MiniBatchGD"].message


@pytest.mark.slow
def test_dd2424_one_image_per_row_is_a_convention_that_says_so() -> None:
    result = check("dd2424", ROWS)
    # elementwise functions (normalize, the BCE loss) and flip indices do not show the layout
    layout_free = {"normalize", "flip", "multiple_bce_loss"}
    assert not_passing(result) == {c.id: "convention" for c in result.checks
                                   if c.id not in layout_free}, result.to_text()
    for c in result.checks:
        if c.status == "convention":
            assert c.message.startswith("one image per row"), c.message


def test_dd2424_trains_at_import_runs_under_exec_and_errors(tmp_path: Path) -> None:
    result = check("dd2424", dd2424_variant("trains_at_import", tmp_path), quick=True,
                   exec_all=True)
    assert set(not_passing(result).values()) == {"error"}
    assert "FileNotFoundError" in result.checks[0].message


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_tdt4265_fails_exactly_its_checks(name: str, tmp_path: Path) -> None:
    status, ids = BROKEN[name]
    result = check("tdt4265", variant(name, tmp_path), quick=True, check_time_limit=5)
    assert not_passing(result) == dict.fromkeys(ids, status), result.to_text()


@pytest.mark.slow
def test_no_1_over_n_also_parts_in_training(tmp_path: Path) -> None:
    result = check("tdt4265", variant("no_1_over_n", tmp_path))
    assert not_passing(result) == {"BinaryModel.backward": "fail", "train_binary": "fail"}
    message = result.by_id()["train_binary"].message
    assert "step 0" in message and "w after the update" in message


def test_messages_name_the_mistake(tmp_path: Path) -> None:
    half = check("tdt4265", variant("l2_lambda_w", tmp_path), quick=True)
    assert "1.0*lambda*w" in half.by_id()["SoftmaxModel.backward_l2"].message
    assert "relative error" in half.by_id()["SoftmaxModel.backward_l2"].message
    convention = check("tdt4265", tmp_path / "l2_lambda_w", quick=True, l2_convention="half")
    assert convention.status_of("SoftmaxModel.backward_l2") == "convention"
    assert "9" in check("tdt4265", variant("early_stop_9", tmp_path), quick=True
                        ).by_id()["early_stopping"].message


# hand-ins that follow a known other convention or write harmless variations: name -> (the
# statuses that are not pass, check() keywords, quick)
QUIRKS: dict[str, tuple[dict[str, str], dict, bool]] = {
    "bias_first": ({"pre_process_images": "convention"}, {}, False),
    "zero_grad_after_update": ({}, {}, False),
    "loss_shape_1": ({}, {}, False),
    "renamed": ({"pre_process_images": "skip"}, {}, True),
    "needs_exec": ({"one_hot_encode": "skip"}, {}, True),
    "one_hot_bool": ({}, {}, True),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_conventions_and_harmless_variations(name: str, tmp_path: Path) -> None:
    expected, keywords, quick = QUIRKS[name]
    result = check("tdt4265", variant(name, tmp_path), quick=quick, **keywords)
    assert not_passing(result) == expected, result.to_text()
    if name == "bias_first":  # the models and trainers got inputs and weights bias-first
        for cid in ("BinaryModel.backward", "SoftmaxModel.backward_l2", "train_softmax"):
            assert "bias first" in result.by_id()[cid].message, result.to_text()
    if name == "one_hot_bool":
        assert "(as bool, accepted)" in result.by_id()["one_hot_encode"].message
    if expected.get("pre_process_images") == "skip":
        assert "--map pre_process_images=NAME" in result.by_id()["pre_process_images"].message


def test_map_and_exec_find_what_the_defaults_do_not(tmp_path: Path) -> None:
    mapped = check("tdt4265", variant("renamed", tmp_path), quick=True,
                   mapping={"pre_process_images": "prepare_images"})
    assert not_passing(mapped) == {}, mapped.to_text()
    assert any("skipped" in n and "_make_encoder" in n
               for n in check("tdt4265", variant("needs_exec", tmp_path), quick=True).notes)
    executed = check("tdt4265", tmp_path / "needs_exec", quick=True, exec_all=True)
    assert not_passing(executed) == {}, executed.to_text()


@pytest.mark.slow
def test_memory_blowup_is_an_error_and_the_rest_runs(tmp_path: Path) -> None:
    result = check("tdt4265", variant("memory_blowup", tmp_path), quick=True,
                   memory_limit=2 << 30, time_limit=60)
    assert not_passing(result) == {"one_hot_encode": "error"}, result.to_text()
    assert "out of memory at task3a.py" in result.by_id()["one_hot_encode"].message


def test_os_exit_costs_only_its_own_check(tmp_path: Path) -> None:
    """The worker that exited is started again for the next check: the checks before and
    after are graded as usual."""
    result = check("tdt4265", variant("os_exit", tmp_path), quick=True)
    assert not_passing(result) == {"binary_accuracy": "error"}, result.to_text()
    assert "os._exit" in result.by_id()["binary_accuracy"].message


def test_missing_files_are_skips(tmp_path: Path) -> None:
    folder = tmp_path / "only_utils"
    folder.mkdir()
    shutil.copy(CORRECT / "utils.py", folder)
    result = check("tdt4265", folder, quick=True)
    assert result.status_of("batch_loader") == "pass"
    assert result.status_of("pre_process_images") == "skip"
    assert "pre_process_images" in result.by_id()["pre_process_images"].message


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare.check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_exit_statuses_and_files(tmp_path: Path) -> None:
    ok = _cli("tdt4265", str(CORRECT), "--quick", "--json", "r.json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["assignment"] == "tdt4265" and len(payload["checks"]) == 13
    assert set(payload["checks"][0]) == {"id", "status", "message"}
    failed = _cli("tdt4265", str(variant("minmax", tmp_path)), "--quick", "--format",
                  "gradescope", cwd=tmp_path)
    assert failed.returncode == 1
    gradescope = json.loads((tmp_path / "results.json").read_text())
    test = gradescope["tests"][0]
    assert set(test) == {"name", "score", "max_score", "status", "output"}
    assert test["name"] == "pre_process_images" and test["score"] == 0.0
    errored = _cli("tdt4265", str(variant("loops_forever", tmp_path)), "--quick",
                   "--check-time-limit", "3", cwd=tmp_path)
    assert errored.returncode == 3
    usage = _cli("tdt4264", str(CORRECT), cwd=tmp_path)
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) == 1


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                             (signal.SIGKILL, -signal.SIGKILL)])
def test_cli_interrupt_kills_the_looping_child(signum: int, code: int, tmp_path: Path) -> None:
    """Ctrl-C and SIGTERM end the checker at once with 130/143; even SIGKILL, where no code of
    the checker runs, takes the child with it (compare.isolation.child_setup)."""
    folder = variant("loops_forever", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "compare.check", "tdt4265", str(folder),
                             "--quick", "--check-time-limit", "300"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _descendants(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        children = _descendants(proc.pid)
        assert children, "the checker started no child"
        time.sleep(2)  # the child is looping in cross_entropy_loss by now
        sent = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == code, proc.stderr.read()
        assert time.monotonic() - sent < 10
        time.sleep(0.5)
        assert not [p for p in children if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_cli_batch_writes_the_tables(tmp_path: Path) -> None:
    batch = tmp_path / "handins"
    batch.mkdir()
    for name in ("minmax", "accuracy_percent", "sys_exit"):
        variant(name, batch)
    shutil.copytree(CORRECT, batch / "correct")
    run = _cli("tdt4265", "--batch", str(batch), "--quick", "--jobs", "2", "--out",
               str(tmp_path / "table"), cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    csv_lines = (tmp_path / "table.csv").read_text().splitlines()
    assert csv_lines[0].startswith("submission,pre_process_images,")
    assert [line.split(",")[0] for line in csv_lines[1:]] == [
        "accuracy_percent", "correct", "minmax", "sys_exit"]
    assert len(json.loads((tmp_path / "table.json").read_text())) == 4
    [rows] = markdown_tables((tmp_path / "table.md").read_text())
    assert [row["submission"] for row in rows] == ["accuracy_percent", "correct", "minmax",
                                                   "sys_exit"]
    assert rows[2]["pre_process_images"] == "fail" and rows[1]["passed"] == "13/13"


@pytest.mark.slow
@pytest.mark.parametrize(("submission", "failing"), [
    ("tdt4265/correct", set()),
    ("tdt4265/broken/l2_lambda_w", {"SoftmaxModel.backward_l2"}),
])
def test_the_checks_as_pytest_items(submission: str, failing: set[str], tmp_path: Path) -> None:
    """``pytest compare/ --submission PATH --assignment tdt4265``: one test per check, the
    failing checks failing with the checker's message (a broken hand-in is laid over the
    correct one, as the other tests do)."""
    path = SUBMISSIONS / "tdt4265" / "correct"
    if submission != "tdt4265/correct":
        path = tmp_path / "handin"
        shutil.copytree(SUBMISSIONS / "tdt4265" / "correct", path)
        for file in (SUBMISSIONS / submission).iterdir():
            shutil.copy(file, path / file.name)
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                          str(repo / "compare" / "tests" / "test_submission.py"),
                          "--submission", str(path), "--assignment", "tdt4265", "--check-quick",
                          "-rf"],
                         cwd=repo, capture_output=True, text=True, timeout=600)
    failed = set(re.findall(r"FAILED \S+::test_check\[(\S+?)\]", out.stdout))
    assert failed == failing, out.stdout[-3000:]
    assert "skipped" not in out.stdout.splitlines()[-1], out.stdout[-500:]
    if failing:
        assert "lambda*w" in out.stdout


@pytest.mark.slow
def test_the_process_sandbox_grades_alike_and_says_so(tmp_path: Path) -> None:
    """--sandbox process, the fallback where namespaces are not available: the same grades,
    the time limit kept from outside, and one line saying which isolation ran."""
    result = check("dd2424", DD2424, quick=True, sandbox="process")
    assert not_passing(result) == {} and result.sandbox == "process", result.to_text()
    looping = check("tdt4265", variant("loops_forever", tmp_path), quick=True,
                    check_time_limit=3, sandbox="process")
    assert not_passing(looping) == {"binary_cross_entropy_loss": "error"}, looping.to_text()
    run = _cli("dd2424", str(DD2424), "--quick", "--sandbox", "process", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr.startswith("sandbox: process only"), run.stderr
