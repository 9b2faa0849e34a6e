"""Pausing a parity run on SIGINT or SIGTERM, and resuming it where it stopped.

The checkpoint of a parity run is a folder, ``<run>/checkpoint/`` (``<run>``: the comparison's
``log_dir/<experiment>/version_N``), of three files of one step:

* ``last.ckpt``: the Lightning reference's, as ``python -m lightning_ref.fit`` saves it
  (:class:`lightning_ref.resume.LastCheckpoint`);
* ``numpy.npz``: the NumPy side's, as ``python -m numpy_impl`` saves it
  (:class:`numpy_impl.steps.TrainerState`, the experiment noted);
* ``parity.json``: the report so far (:meth:`compare.parity.findings.ParityReport.to_json`), so
  that the resumed run's verdict covers the whole run.

The signal only raises a flag. Both sides stop after the first step that does not end an
epoch (a Lightning checkpoint there resumes as a finished epoch, see :mod:`lightning_ref.resume`):
Lightning saves ``last.ckpt`` after that step; at the next batch's start the lockstep asks the
NumPy side for its checkpoint of the same step instead of its next update
(:mod:`compare.parity.lockstep`), and the pause writes the other two files and raises
:class:`Interrupted`. The NumPy side computes nothing it was not asked for, and it is asked for
its next record while the reference finishes an update (:meth:`Lockstep.run_ahead`): so once the
signal is noted nothing more is asked ahead, and a step at which it was (the signal came after
the request) is not where the run stops, the next one is. Both sides are then at that step. A
run resumed to its verdict is not resumed again (its curves would be written twice). A run that
ends before that step (early stopping, ``--steps``) ends as usual, with its verdict. A second
signal stops at once, without a checkpoint, even while the NumPy side is computing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from compare.parity.findings import ParityReport
from compare.parity.lockstep import Lockstep
from lightning_ref.callbacks import last_step
from lightning_ref.resume import LAST, LastCheckpoint
from numpy_impl.run import runfiles
from numpy_impl.run.experiments import Experiment, ExperimentError
from numpy_impl.run.interrupt import Interrupted, stopped_at_once
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
        lockstep.may_run_ahead = lambda: self.signum is None

    def stopped_at_once(self, signum: int) -> Interrupted:
        return stopped_at_once(signum)  # no checkpoint of both sides yet: none at all

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        self.lockstep.pausing = self.stop_at_next_batch

    def ready(self, trainer: pl.Trainer) -> bool:
        """Not after the last of ``max_steps`` (``--steps``): the run ends there with its
        verdict; not after a step at which the NumPy side was asked for its next record (it may
        be computing the next update: the run stops after that one, see the module)."""
        return ((trainer.max_steps < 0 or trainer.global_step < trainer.max_steps)
                and not self.lockstep.ran_ahead)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if not self.stop_at_next_batch:
            return
        assert self.signum is not None and self.folder is not None
        kept, step = self.lockstep.kept, last_step(trainer)
        if kept is None or kept.state is None:
            why = "the NumPy side ended first" if kept is None else kept.error
            raise Interrupted(self.signum, step, note=f"no checkpoint: {why}")
        runfiles.write_bytes(self.folder / NUMPY_STATE, kept.state.to_npz())
        runfiles.write_text(self.folder / REPORT, self.lockstep.report.to_json())
        raise Interrupted(self.signum, step, self.folder)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.signals.graceful = False  # the run ended before the pause: it ends with its verdict


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
