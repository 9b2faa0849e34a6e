"""Pausing and resuming a parity run (compare/parity/pause.py): SIGINT or SIGTERM stops both
sides at one step and leaves their checkpoint; the resumed run ends with the weights of a run never
stopped, bit for bit on each side, and judges the whole run; bad checkpoints are one line and
exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from compare import run_parity
from compare.__main__ import main
from compare.parity.findings import Mismatch, ParityReport, QuantityStats
from compare.parity.pause import CHECKPOINT_DIR, NUMPY_STATE, REPORT
from compare.parity.run import FINAL_WEIGHTS
from lightning_ref.resume import LAST
from numpy_impl.run.experiments import ExperimentError
from numpy_impl.run.interrupt import Interrupted
from numpy_impl.steps import TrainerState
from tests.signals import signal_mid_run

TASK3B = ["tdt4265/task3b", "--trainer.max_epochs", "2"]  # 31 steps an epoch, validates every 6
FLIPS = ["dd2424/bonus_flip", "--data.dataset", "mnist", "--data.root", "null",
         "--data.val_size", "500", "--trainer.max_epochs", "2"]


#: The run definitions the tests pause, as run_parity overrides (the same as TASK3B, FLIPS).
WHOLE = {"tdt4265/task3b": {"trainer.max_epochs": 2},
         "dd2424/bonus_flip": {"data.dataset": "mnist", "data.root": None, "data.val_size": 500,
                               "trainer.max_epochs": 2}}


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ParityReport]:
    """Each definition run once, never paused: the reference every resumed run must end at
    (shared by the tests of this module; computed on first use)."""
    runs: dict[str, ParityReport] = {}
    root = tmp_path_factory.mktemp("whole")

    class Lazy(dict):
        def __missing__(self, name: str) -> ParityReport:
            runs[name] = run_parity(name, WHOLE[name], log_dir=root)
            return runs[name]

    return Lazy()


def final_weights(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / FINAL_WEIGHTS) as npz:
        return {key: npz[key] for key in npz.files}


def assert_same_weights(got: Path, want: Path) -> None:
    """Both sides' final weights of two runs, bit for bit."""
    got_w, want_w = final_weights(got), final_weights(want)
    assert sorted(got_w) == sorted(want_w) and {k.split("/")[0] for k in want_w} == {
        "numpy", "lightning"}
    for key, value in want_w.items():
        assert got_w[key].dtype == np.float64
        assert np.array_equal(got_w[key], value), (key, np.abs(got_w[key] - value).max())


def assert_same_verdict(got: ParityReport, want: ParityReport) -> None:
    """The resumed run judged the whole run: as many steps and validations, the same errors
    of every quantity and the same final metrics as the run never stopped."""
    assert got.passed and want.passed
    assert (got.steps, got.validations) == (want.steps, want.validations)
    quantities = {k: v for k, v in got.quantities.items() if not k.startswith("resumed ")}
    assert {k: (v.max_abs, v.max_rel) for k, v in quantities.items()} == {
        k: (v.max_abs, v.max_rel) for k, v in want.quantities.items()}
    assert got.summary["final metrics"] == want.summary["final metrics"]


def curve_steps(run: Path) -> dict[str, list[int]]:
    """The steps of every scalar tag of a TensorBoard run, in the order written."""
    events = EventAccumulator(str(run))
    events.Reload()
    return {tag: [e.step for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


class SignalAfter(Callback):
    """Sends this process ``signum`` at the end of the update at global step ``step`` (after
    the lockstep has asked the NumPy side for its next record), or with ``at_start`` at the
    start of that update (before it has)."""

    def __init__(self, step: int, signum: int = signal.SIGTERM, at_start: bool = False) -> None:
        self.step, self.signum, self.at_start = step, signum, at_start

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if self.at_start and trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self.at_start and trainer.global_step - 1 == self.step:
            os.kill(os.getpid(), self.signum)


@pytest.mark.slow
@pytest.mark.parametrize("signal_at", [SignalAfter(12, at_start=True), SignalAfter(11)],
                         ids=["during-step-12", "after-step-11-asked-ahead"])
def test_a_pause_on_a_validation_step_resumes_exactly(signal_at: SignalAfter, tmp_path: Path,
                                                      whole: dict[str, ParityReport]) -> None:
    """SIGTERM during step 12, which the starter's cadence validates: both sides stop after it
    (the NumPy side's checkpoint holds that validation done); the resumed run does not compare
    it twice, ends with the uninterrupted run's weights and judges all steps. SIGTERM at the
    end of step 11, once the NumPy side has been asked for step 12 ahead: the same pause,
    after step 12 (the NumPy side is never past the step both sides stop at)."""
    whole = whole["tdt4265/task3b"]
    with pytest.raises(Interrupted) as info:
        run_parity("tdt4265/task3b", {"trainer.max_epochs": 2}, log_dir=tmp_path / "paused",
                   callbacks=[signal_at])
    folder = tmp_path / "paused" / "tdt4265" / "task3b" / "version_0" / CHECKPOINT_DIR
    assert (info.value.signum, info.value.step, info.value.checkpoint) == (
        signal.SIGTERM, 12, folder)
    state = TrainerState.load(folder / NUMPY_STATE)
    assert (state.step, state.batch, state.pending) == (12, 13, False)
    assert sorted(state.history["val"]["loss"]) == ["0", "12", "6"]
    assert (folder / LAST).is_file() and not (folder.parent / REPORT).exists()
    paused = ParityReport.from_json((folder / REPORT).read_text())
    assert (paused.steps, paused.validations) == (13, 3)  # steps 0-12; validations 0, 6, 12
    # TensorBoard reads a run's event files in the order of their names, whose first field is
    # the second they were opened in and whose last is a per-process counter compared as text
    # ("10" < "9"): a resume in a later second, as a user's always is, is read after the pause
    time.sleep(1.05)
    resumed = run_parity("tdt4265/task3b", {"trainer.max_epochs": 2}, ckpt_path=folder)
    assert_same_verdict(resumed, whole)
    with pytest.raises(ExperimentError, match="that run has been resumed to its end"):
        run_parity("tdt4265/task3b", {"trainer.max_epochs": 2}, ckpt_path=folder)
    assert resumed.quantities["resumed w"].at_step == 12
    assert_same_weights(folder.parent, Path(whole.log_dir))
    for side in ("numpy", "lightning", "parity"):  # the curves go on: every step once
        got, want = (curve_steps(run / side) for run in (folder.parent, Path(whole.log_dir)))
        assert got == want, side


@pytest.mark.slow
def test_a_pause_never_ends_an_epoch(tmp_path: Path, whole: dict[str, ParityReport]) -> None:
    """SIGTERM during step 30, which ends epoch 0 (31 steps an epoch), where a Lightning
    checkpoint would resume as a finished epoch; both sides pause after step 31 instead, and
    the resumed run still ends exactly."""
    whole = whole["tdt4265/task3b"]
    with pytest.raises(Interrupted) as info:
        run_parity("tdt4265/task3b", {"trainer.max_epochs": 2}, log_dir=tmp_path / "paused",
                   callbacks=[SignalAfter(30, at_start=True)])
    assert info.value.step == 31
    assert TrainerState.load(info.value.checkpoint / NUMPY_STATE).batch == 1  # of epoch 1
    resumed = run_parity("tdt4265/task3b", {"trainer.max_epochs": 2},
                         ckpt_path=info.value.checkpoint)
    assert_same_verdict(resumed, whole)
    assert_same_weights(info.value.checkpoint.parent, Path(whole.log_dir))


def test_a_run_that_ends_before_the_pause_gives_its_verdict(tmp_path: Path) -> None:
    """The signal after the last of ``steps`` updates: nothing is left to pause; the verdict."""
    report = run_parity("tdt4265/task3b", steps=12, log_dir=tmp_path,
                        callbacks=[SignalAfter(11)])
    assert report.passed and report.steps == 12
    assert not (Path(report.log_dir) / CHECKPOINT_DIR).exists()


def test_the_report_survives_its_json() -> None:
    report = ParityReport("x", "float64", 1e-10, steps=3, validations=1)
    report.quantities["grad W"] = QuantityStats(1e-10, 2, 1e-17, float("inf"), 3)
    report.mismatches.append(Mismatch(3, 0, "grad W", (1, 2), np.float64("nan"), 2.0,
                                      float("inf"), 1e-10))
    report.summary["final metrics"] = {"val/loss": {"numpy": float("nan"), "lightning": 0.5}}
    text = report.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    again = ParityReport.from_json(text)
    assert again.verdict() == report.verdict()
    assert again.mismatch.index == (1, 2) and again.quantities["grad W"].max_rel == float("inf")
    assert np.isnan(again.summary["final metrics"]["val/loss"]["numpy"])


# ------------------------------------------------------------------------- the real command


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "compare", *args]


def compare_main(args: list[str], capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """``python -m compare ARGS`` as ``main(argv)`` in this process (from the current folder):
    its exit status, stdout and stderr."""
    capsys.readouterr()
    code = main(args)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["compare", *args], code, out.out, out.err)


def run_dir(cwd: Path, name: str, version: int) -> Path:
    return cwd / "runs" / "compare" / name / f"version_{version}"


@pytest.mark.slow
@pytest.mark.parametrize("signum, flags, by_flag", [(signal.SIGTERM, TASK3B, False),
                                                     (signal.SIGINT, FLIPS, True)],
                         ids=["sigterm-tdt4265-task3b", "sigint-dd2424-flips-resume"])
def test_signal_then_resume_is_exact(signum: int, flags: list[str], by_flag: bool,
                                     tmp_path: Path, whole: dict[str, ParityReport],
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    """A real parity run gets the signal mid-epoch (once its progress bar shows steps done),
    exits 128 + the signal's number with one line that says how to resume; that command (or
    ``--resume``) ends with both sides' weights of an uninterrupted run, bit for bit, and
    leaves nothing more to resume. The signal goes to a real process; the resume command and
    the one after it run in this one."""
    name = flags[0]
    reference = whole[name]  # the same definition run in process, never paused
    code, err = signal_mid_run(command(*flags, "--progress"), tmp_path, signum)
    assert code == 128 + signum, err[-3000:]
    (line,) = [x for x in err.splitlines() if x.startswith("interrupted")]
    assert "Traceback" not in err
    folder = run_dir(tmp_path, name, 0) / CHECKPOINT_DIR
    assert line.startswith(f"interrupted ({signal.Signals(signum).name}) after step ")
    assert f"checkpoint in {folder.relative_to(tmp_path)} " in line
    assert sorted(p.name for p in folder.iterdir()) == sorted([LAST, NUMPY_STATE, REPORT])
    resume = line.split("resume with: ")[1].split()
    assert resume[-2:] == ["--ckpt_path", str(folder.relative_to(tmp_path))]
    assert resume[:3] == command()
    if by_flag:
        resume = command(*flags, "--resume")
    monkeypatch.chdir(tmp_path)
    resumed = compare_main([*resume[3:], "--no-progress"], capsys)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stderr == "", resumed.stderr
    assert f"TensorBoard: {folder.parent.relative_to(tmp_path)}/" in resumed.stdout
    assert_same_weights(folder.parent, Path(reference.log_dir))
    assert_same_verdict(ParityReport.from_json((folder.parent / REPORT).read_text()), reference)
    again = compare_main([*flags, "--resume", "--no-progress"], capsys)  # nothing left paused
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
    assert f"--resume: no paused run of {name} under " in again.stderr


def test_bad_checkpoints_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["tdt4265/task3b", "--resume"]) == 2
    assert capsys.readouterr().err == (
        "error: --resume: no paused run of tdt4265/task3b under runs/compare/tdt4265/task3b\n")
    assert main(["tdt4265/task3b", "--ckpt_path", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ckpt_path nowhere: not the checkpoint of a paused python -m "
                          "compare run (no last.ckpt, numpy.npz, parity.json in nowhere)")
    with pytest.raises(Interrupted) as info:
        run_parity("tdt4265/task3b", {"trainer.max_epochs": 2}, callbacks=[SignalAfter(3)])
    folder = str(info.value.checkpoint)
    assert main(["tdt4265/task3b", "--model.lam", "0.5", "--ckpt_path", folder]) == 2
    assert "made by another experiment definition than tdt4265/task3b" in capsys.readouterr().err
    assert main(["tdt4265/task3b", "--resume", "--ckpt_path", folder]) == 2
    assert "--ckpt_path already names the checkpoint" in capsys.readouterr().err
    (info.value.checkpoint / REPORT).write_text("{")
    assert main(["tdt4265/task3b", "--trainer.max_epochs", "2", "--ckpt_path", folder]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unreadable (JSONDecodeError" in err
