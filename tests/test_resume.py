"""Interrupting and resuming the Lightning reference: a run stopped at any step (mid-epoch
included) and resumed ends with exactly the weights of a run never stopped; SIGINT and SIGTERM
on ``python -m lightning_ref.fit`` leave ``last.ckpt`` and exit 130 and 143; ``last.ckpt`` holds
the final weights; a bad ``--ckpt_path`` is one line and exit 2; checkpoints are written
atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from lightning_ref.fit import build, main
from lightning_ref.resume import LAST, AtomicCheckpointIO, LastCheckpoint
from numpy_impl.run.experiments import load_experiment
from numpy_impl.run.interrupt import Interrupted
from tests.signals import signal_mid_run

QUIET = ["--trainer.enable_progress_bar", "false"]

TASK2E = ("tdt4265/task2e", {"trainer.max_epochs": 6})  # starter cadence, early stopping
STEP_DECAY = ("dd2424/bonus_flip", {"data.dataset": "mnist", "data.root": None,
                                    "data.val_size": 500, "trainer.max_epochs": 3,
                                    "model.lr_step_epochs": 1, "model.lam": 0.01})
PLATEAU = ("dd2424/bonus_flip", {"data.dataset": "mnist", "data.root": None,
                                 "data.val_size": 500, "trainer.max_epochs": 4,
                                 "model.lr": 0.3, "model.lr_plateau_patience": 0})


class SignalAt(Callback):
    """Acts as if SIGTERM arrived during the update at global step ``step`` (counted from 0)."""

    def __init__(self, last: LastCheckpoint, step: int) -> None:
        self.last, self.step = last, step

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if trainer.global_step == self.step:
            self.last.signals.signum = signal.SIGTERM


def fit(name: str, overrides: dict[str, Any], root: Path, stop_after: int | None = None,
        ckpt_path: Path | None = None) -> tuple[pl.LightningModule, pl.Trainer, LastCheckpoint]:
    """The experiment as ``python -m lightning_ref.fit`` builds it, logging nowhere, with its
    checkpoints under ``root``; SIGTERM as if sent during the update at ``stop_after``."""
    cli = build(load_experiment(name, overrides), save_config=False, logger=False,
                enable_progress_bar=False, default_root_dir=str(root))
    last = LastCheckpoint()
    signals = [] if stop_after is None else [SignalAt(last, stop_after)]
    cli.trainer.callbacks.extend([*signals, last])
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt_path)
    return cli.model, cli.trainer, last


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_bit_identical(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor]) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key].dtype == torch.float64
        assert torch.equal(got[key], value), (key, (got[key] - value).abs().max().item())


@pytest.mark.slow
@pytest.mark.parametrize("case, step", [(TASK2E, 13), (STEP_DECAY, 25), (PLATEAU, 47)],
                         ids=["task2e-starter-early-stopping", "dd2424-step-decay",
                              "dd2424-plateau"])
def test_resume_from_mid_epoch_is_exact(case: tuple[str, dict], step: int,
                                        tmp_path: Path) -> None:
    """Stopped after the update at ``step`` (mid-epoch), resumed from its last.ckpt: the same
    final weights, bit for bit, and the same early stop, as an uninterrupted run."""
    name, overrides = case
    whole, whole_trainer, _ = fit(name, overrides, tmp_path / "whole")
    with pytest.raises(Interrupted) as info:
        fit(name, overrides, tmp_path / "run", stop_after=step)
    checkpoint = tmp_path / "run" / "checkpoints" / LAST
    assert info.value.checkpoint == checkpoint and info.value.step == step
    state = torch.load(checkpoint, weights_only=True)
    assert state["global_step"] == step + 1
    (loader,) = state["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert 0 < loader["position"] < whole_trainer.num_training_batches  # mid-epoch
    resumed, resumed_trainer, last = fit(name, overrides, tmp_path / "run",
                                         ckpt_path=checkpoint)
    assert_bit_identical(weights(resumed), weights(whole))
    assert resumed_trainer.global_step == whole_trainer.global_step
    assert resumed_trainer.optimizers[0].param_groups[0]["lr"] == (
        whole_trainer.optimizers[0].param_groups[0]["lr"])
    assert last.path == checkpoint
    for got, want in zip(resumed_trainer.callbacks, whole_trainer.callbacks, strict=True):
        if hasattr(want, "stopped_step"):
            assert (got.stopped_epoch, got.stopped_step) == (want.stopped_epoch, want.stopped_step)


@pytest.mark.slow
def test_last_checkpoint_holds_the_final_weights(tmp_path: Path) -> None:
    """Early stopping restored the best: last.ckpt holds those (the model's after fit), the best
    checkpoint too; a run that reaches max_epochs saves its last step's weights."""
    model, trainer, last = fit(*TASK2E, tmp_path)
    stopper = next(cb for cb in trainer.callbacks if hasattr(cb, "stopped_step"))
    assert stopper.stopped_step is not None, "task 2e must stop early within 6 epochs"
    final = torch.load(last.path, weights_only=True)
    best = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=True)
    assert_bit_identical(final["state_dict"], weights(model))
    assert_bit_identical(best["state_dict"], weights(model))
    assert final["global_step"] == trainer.global_step  # saved at the end, after the restore
    model, trainer, last = fit("tdt4265/task2b", {"trainer.max_epochs": 1}, tmp_path / "2b")
    final = torch.load(last.path, weights_only=True)
    assert_bit_identical(final["state_dict"], weights(model))
    assert final["global_step"] == trainer.global_step


def test_checkpoints_are_written_atomically(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way leaves the previous checkpoint whole and no stray file."""
    path = tmp_path / "x.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"a": torch.ones(3)}, path)

    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"a": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.ckpt"]
    cli = build(load_experiment("tdt4265/task2b", {}), save_config=False, logger=False)
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)


# ------------------------------------------------------------------------- the real command


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lightning_ref.fit", *args, *QUIET]


def fit_main(args: list[str], capsys: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """``python -m lightning_ref.fit ARGS`` as ``main(argv)`` in this process (from the current
    folder): its exit status (0, or SystemExit's code as LightningCLI exits), stdout, stderr."""
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["lightning_ref.fit", *args], code, out.out, out.err)


def final_weights(cwd: Path, name: str, version: int) -> dict[str, torch.Tensor]:
    path = cwd / "runs" / "lightning" / name / f"version_{version}" / "checkpoints" / LAST
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.slow
@pytest.mark.parametrize("signum, flags, overrides", [
    (signal.SIGTERM, ["tdt4265/task3b", "--trainer.max_epochs", "3"], {"trainer.max_epochs": 3}),
    (signal.SIGINT, ["dd2424/bonus_flip", "--data.dataset", "mnist", "--data.root", "null",
                     "--data.val_size", "500", "--trainer.max_epochs", "2"],
     {"data.dataset": "mnist", "data.root": None, "data.val_size": 500,
      "trainer.max_epochs": 2}),
], ids=["sigterm-tdt4265-task3b", "sigint-dd2424-flips"])
def test_signal_then_resume_is_exact(signum: int, flags: list[str], overrides: dict[str, Any],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    """A real training process gets the signal mid-run (once its progress bar shows steps done),
    exits 128 + the signal's number with one line that says how to resume; that command ends
    with the weights of an uninterrupted run (the same definition trained in this process),
    bit for bit. The signal goes to a real process; the resume command runs in this one."""
    name = flags[0]
    whole, _, _ = fit(name, overrides, tmp_path / "whole")
    # the progress bar (Lightning's, on stdout) says how many steps are done: wait for a few
    code, err = signal_mid_run(command(*flags)[:-2] + ["--trainer.enable_progress_bar", "true"],
                               tmp_path, signum)
    assert code == 128 + signum, err[-3000:]
    (line,) = [x for x in err.splitlines() if x.startswith("interrupted by")]
    assert signal.Signals(signum).name in line
    checkpoint = tmp_path / "runs" / "lightning" / name / "version_0" / "checkpoints" / LAST
    assert f"checkpoint {checkpoint.relative_to(tmp_path)}" in line
    state = torch.load(checkpoint, weights_only=True)
    (loader,) = state["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert loader["position"] > 0  # stopped mid-epoch
    resume = line.split("resume with: ")[1].split()
    assert resume[-2:] == ["--ckpt_path", str(checkpoint.relative_to(tmp_path))]
    assert resume[:3] == [sys.executable, "-m", "lightning_ref.fit"]
    monkeypatch.chdir(tmp_path)
    resumed = fit_main([*resume[3:], *QUIET], capsys)
    assert resumed.returncode == 0, resumed.stderr
    assert f"TensorBoard logs: {checkpoint.parent.parent.relative_to(tmp_path)}" in resumed.stdout
    assert_bit_identical(final_weights(tmp_path, name, 0), weights(whole))


def test_resume_flag_takes_the_latest_last_checkpoint(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    flags = ["tdt4265/task2b", "--trainer.max_epochs", "1"]
    missing = fit_main(command(*flags, "--resume")[3:], capsys)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert "--resume: no run of tdt4265/task2b to resume" in missing.stderr
    assert fit_main(command(*flags)[3:], capsys).returncode == 0
    again = fit_main(command(*flags, "--resume")[3:], capsys)  # the finished run: nothing more
    assert again.returncode == 0, again.stderr
    assert "version_0" in again.stdout



def test_default_root_dir_holds_the_logs_and_the_resume(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    """``--trainer.default_root_dir DIR``: the run's logs and checkpoints go under DIR (not
    runs/lightning/), and ``--resume`` with it finds the run there."""
    monkeypatch.chdir(tmp_path)
    flags = ["tdt4265/task2b", "--trainer.max_epochs", "1", "--trainer.default_root_dir",
             "elsewhere"]
    done = fit_main(command(*flags)[3:], capsys)
    assert done.returncode == 0, done.stderr
    run = Path("elsewhere", "tdt4265", "task2b", "version_0")
    assert f"TensorBoard logs: {run}" in done.stdout
    assert (run / "checkpoints" / "last.ckpt").is_file() and not Path("runs").exists()
    again = fit_main(command(*flags, "--resume")[3:], capsys)
    assert again.returncode == 0, again.stderr
    assert f"TensorBoard logs: {run}\n" in again.stdout and not Path("runs").exists()

@pytest.mark.parametrize("args, message", [
    (["--ckpt_path", "no/such.ckpt"], "error: --ckpt_path: 'no/such.ckpt' is not allowed: "
                                      "no such checkpoint file"),
    (["--ckpt_path"], "error: argument --ckpt_path: expected one argument"),  # as every CLI
])
def test_bad_ckpt_path_is_one_line_and_exit_2(args: list[str], message: str,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    out = fit_main(command("tdt4265/task2b", *args)[3:], capsys)
    assert out.returncode == 2
    assert out.stderr == message + "\n"
