"""Pausing a parity run on SIGINT or SIGTERM, and resuming it where it stopped.

The checkpoint of a parity run is a folder, ``<run>/checkpoint/`` (``<run>``: the comparison's
``log_dir/<experiment>/version_N``), of three files of one step:

* ``last.ckpt``: the Lightning reference's, as ``python -m lightning_ref.fit`` saves it
  (:class:`lightning_ref.resume.LastCheckpoint`);
* ``numpy.npz``: the NumPy side's, as ``python -m numpy_impl`` saves it
  (:class:`numpy_impl.steps.TrainerState`, the experiment noted);
* ``parity.json``: the report so far (:meth:`compare.parity.findings.ParityReport.to_json`), so
  that the resumed run's verdict covers the whole run.

The signal only raises a flag. The NumPy side runs ahead of the Lightning run (a record or two),
so both stop at the first step that the NumPy side has not passed yet and that does not end an
epoch (a Lightning checkpoint there resumes as a finished epoch, see
:mod:`lightning_ref.resume`): :class:`compare.parity.numpy_side.PausePoint`. Lightning saves
``last.ckpt`` after that step; at the next batch's start the lockstep has received the NumPy
side's checkpoint instead of its next update (:mod:`compare.parity.lockstep`), and the pause writes
the other two files and raises :class:`Interrupted`. A run resumed to its verdict is not resumed
again (its curves would be written twice). A run that ends before that step (early
stopping, ``--steps``) ends as usual, with its verdict. A second signal stops at once, without
a checkpoint; so does a NumPy side that sends nothing for
:data:`compare.parity.numpy_side.SIGNAL_GRACE` seconds (or twice its slowest record so far).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
import torch

from compare.parity.findings import ParityReport
from compare.parity.lockstep import Lockstep
from lightning_ref.callbacks import last_step
from lightning_ref.resume import LAST, LastCheckpoint
from numpy_impl.run import runfiles
from numpy_impl.run.experiments import Experiment, ExperimentError
from numpy_impl.run.interrupt import Interrupted
from numpy_impl.run.train import load_checkpoint
from numpy_impl.steps import TrainerState

CHECKPOINT_DIR = "checkpoint"
NUMPY_STATE, REPORT = "numpy.npz", "parity.json"


class ParityPause(LastCheckpoint):
    """Stops both sides at one step on SIGINT or SIGTERM and saves the run's checkpoint in
    ``folder`` (see the module)."""

    def __init__(self, lockstep: Lockstep, folder: Path) -> None:
        super().__init__(folder)
        self.lockstep = lockstep
        self.pause_step: int | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.training or self.signum is not None:  # a second signal: stop now
            raise Interrupted(signum, note="stopped at once, without a checkpoint")
        self.signum = self.lockstep.numpy.signum = signum

    def ready(self, trainer: pl.Trainer) -> bool:
        step, per_epoch = last_step(trainer), trainer.num_training_batches
        if self.pause_step is None:
            self.pause_step = self.lockstep.numpy.pause.choose(
                step + 1, lambda s: (s + 1) % per_epoch != 0)
        return step == self.pause_step

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if not self.stop_at_next_batch:
            return
        assert self.signum is not None and self.folder is not None
        kept = self.lockstep.kept
        if kept is None or kept.state is None:
            why = "the NumPy side ended first" if kept is None else kept.error
            raise Interrupted(self.signum, self.pause_step, note=f"no checkpoint: {why}")
        runfiles.write_bytes(self.folder / NUMPY_STATE, kept.state.to_npz())
        runfiles.write_text(self.folder / REPORT, self.lockstep.report.to_json())
        raise Interrupted(self.signum, self.pause_step, self.folder)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.training = False  # the run ended before the pause: it ends with its verdict


@dataclass(frozen=True)
class Resume:
    """A parity run's checkpoint, read and checked: its folder, the NumPy side's state and the
    report so far."""

    folder: Path
    state: TrainerState
    report: ParityReport

    @property
    def lightning(self) -> Path:
        return self.folder / LAST


def load_resume(path: str | Path, exp: Experiment) -> Resume:
    """The checkpoint folder ``path`` (or a file in it) of a paused run of ``exp``; an
    :class:`ExperimentError` (one line, exit 2) for anything else."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    missing = [name for name in (LAST, NUMPY_STATE, REPORT) if not (folder / name).is_file()]
    if missing:
        raise ExperimentError(f"--ckpt_path {path}: not the checkpoint of a paused python -m "
                              f"compare run (no {', '.join(missing)} in {folder})")
    if (folder.parent / REPORT).is_file():
        raise ExperimentError(f"--ckpt_path {path}: that run has been resumed to its end (its "
                              f"verdict is in {folder.parent / REPORT}); start a new run instead")
    state = load_checkpoint(folder / NUMPY_STATE, exp)
    try:
        report = ParityReport.from_json((folder / REPORT).read_text())
        lightning_step = torch.load(folder / LAST, weights_only=True,
                                    map_location="cpu")["global_step"] - 1
    except Exception as err:  # noqa: BLE001 (any unreadable file: one line)
        raise ExperimentError(f"--ckpt_path {path}: unreadable ({type(err).__name__}: "
                              f"{err})") from None
    if lightning_step != state.step:
        raise ExperimentError(f"--ckpt_path {path}: its files are of different steps ("
                              f"{LAST} {lightning_step}, {NUMPY_STATE} {state.step}); run the "
                              "comparison again")
    return Resume(folder, state, report)


def latest_resume(log_dir: str | Path, exp: Experiment) -> Path:
    """``--resume``: the checkpoint folder of the newest paused run of ``exp`` that has not
    been resumed to its end (a verdict in its run folder)."""
    run = runfiles.latest_version(Path(log_dir, exp.name), f"{CHECKPOINT_DIR}/{REPORT}",
                                  keep=lambda run: not (run / REPORT).is_file())
    if run is None:
        raise ExperimentError(f"--resume: no paused run of {exp.name} under "
                              f"{Path(log_dir, exp.name)}")
    return run / CHECKPOINT_DIR
