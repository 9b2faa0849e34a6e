"""``python -m compare``: the table, the verdict and its exit code, the TensorBoard run; and DDP
with 2 CPU processes against one NumPy process. The single-process runs call ``main(argv)`` in
this process (what they check is its exit code, its output and the files it writes); the DDP
runs are subprocesses: Lightning's DDP launcher starts the second rank by running the same
command again, which pytest's own process cannot be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compare.__main__ import main
from numpy_impl.run.experiments import ExperimentError

REPO = Path(__file__).resolve().parents[2]
DDP = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"]


def compare_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "compare", *args, "--no-progress"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def compare_main(*args: str, capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """``python -m compare ARGS --no-progress`` as ``main(argv)`` in this process (run from the
    current folder): its exit status, stdout and stderr, as :func:`compare_cli` gives them."""
    capsys.readouterr()
    code = main([*args, "--no-progress"])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["compare", *args], code, out.out, out.err)


def test_default_experiment_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture) -> None:
    """The README's first command, shortened: task 2b, both sides, the verdict, the logs."""
    monkeypatch.chdir(tmp_path)
    out = compare_main("--steps", "12", capsys=capsys)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tdt4265/task2b (float64)" in out.stdout
    assert out.stdout.count("data: ") == 1, out.stdout  # the report names the data, once
    for column in ("quantity", "max abs err", "max rel err", "at step"):
        assert column in out.stdout
    for row in ("batch X", "loss", "grad w", "val/loss", "final w"):
        assert f"\n{row} " in out.stdout
    assert "\nPASS: 12 steps" in out.stdout
    run_dir = Path("runs", "compare", "tdt4265", "task2b", "version_0")
    assert f"-m tensorboard.main --logdir {run_dir}" in out.stdout
    for side in ("numpy", "lightning", "parity"):
        assert list((tmp_path / run_dir / side).glob("events.out.tfevents.*")), side


def test_a_mismatch_fails_with_exit_code_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    out = compare_main("tdt4265/task3b", "--steps", "3", "--numpy-side",
                       "compare.parity.wrong:NO_MEAN_GRADIENT", capsys=capsys)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL: first mismatch at step 0 (epoch 0): grad w[" in out.stdout
    assert "MISMATCH" in out.stdout


def test_bad_arguments(capsys: pytest.CaptureFixture) -> None:
    assert main(["no/such_experiment", "--no-progress"]) == 2
    assert "no experiment 'no/such_experiment'" in capsys.readouterr().err
    assert main(["--numpy-side", "compare.parity.wrong"]) == 2
    assert "expected module:NAME" in capsys.readouterr().err
    assert main(["--steps", "0"]) == 2
    assert capsys.readouterr().err == (
        "error: --steps: 0 is not allowed: the number of steps must be >= 1\n")


@pytest.mark.slow
@pytest.mark.parametrize("experiment, overrides, expected", [
    # columns: shuffling and flips; the ranks' shares gathered into whole batches
    ("dd2424/bonus_flip", ["--data.dataset", "mnist", "--data.root", "null", "--data.split",
                           "dd2424", "--model.lam", "0.01", "--trainer.max_epochs", "2"],
     "PASS: 16 steps and 2 validations"),
    # rows: the starter's cadence, early stopping and the restored weights
    ("tdt4265/task2e", ["--model.early_stopping_patience", "3", "--trainer.max_epochs", "5"],
     "stopped step: numpy 6, lightning 6"),
])
def test_ddp_two_processes_against_one_numpy_process(experiment: str, overrides: list[str],
                                                     expected: str, tmp_path: Path) -> None:
    out = compare_cli(experiment, *overrides, *DDP, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Lightning ran on 2 processes (DDP) against one NumPy process" in out.stdout
    assert expected in out.stdout and "\nPASS: " in out.stdout


@pytest.mark.slow
def test_ddp_stops_every_rank_at_the_first_mismatch(tmp_path: Path) -> None:
    out = compare_cli("tdt4265/task3b", "--model.lam", "0.1", "--steps", "6", "--fail-fast",
                      "--numpy-side", "compare.parity.wrong:HALF_L2_GRADIENT", *DDP, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL: first mismatch at step 1 (epoch 0): grad w[" in out.stdout


def test_numpy_side_names_a_side_or_a_piece() -> None:
    from compare.parity import wrong
    from compare.parity.numpy_side import check_spec, load_side
    from numpy_impl import tdt4265

    assert load_side("compare.parity.wrong:NO_MEAN_GRADIENT") is wrong.NO_MEAN_GRADIENT
    assert load_side("numpy_impl.tdt4265:SoftmaxModel").model_class is tdt4265.SoftmaxModel
    assert load_side("compare.parity.wrong:SkippedShuffle").trainer_class is wrong.SkippedShuffle
    assert load_side("compare.parity.wrong:REGULARISED_BIAS").objective is wrong.REGULARISED_BIAS
    for spec in ("compare.parity.wrong:NOTHING", "no_such_module:X"):
        check_spec(spec)  # the form is right; loading it fails (in the NumPy side's process)
        with pytest.raises(ImportError):
            load_side(spec)
    for spec in ("compare.parity.wrong", "compare.parity.wrong:", ":X"):
        with pytest.raises(ExperimentError, match="module:NAME"):
            check_spec(spec)
