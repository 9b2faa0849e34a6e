"""``run_parity``: one experiment definition, trained by both sides in lockstep."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.utilities import rank_zero_only

from compare.parity.findings import ParityError, ParityReport
from compare.parity.lockstep import Lockstep, ParityCallback, ParityRuns
from compare.parity.numpy_side import DEFAULT_MEMORY, DEFAULT_TIMEOUT, NumpyProcess, NumpySide
from compare.parity.pause import CHECKPOINT_DIR, REPORT, ParityPause, load_resume
from compare.tolerance import TOLERANCES
from lightning_ref.callbacks import RestoreBest, TextEarlyStopping, last_step
from lightning_ref.data import ExperimentDataModule, reusing
from lightning_ref.fit import build, final_metrics
from lightning_ref.models import ParityModule
from numpy_impl.run import runfiles
from numpy_impl.run.experiments import (
    DEFAULT_EXPERIMENT,
    Experiment,
    experiment_split,
    load_experiment,
)
from numpy_impl.run.train import HPARAM_METRICS, hparams_of
from numpy_impl.steps import Diverged

RUNS_DIR = runfiles.RUNS_DIR / "compare"
FINAL_WEIGHTS = "final_weights.npz"


def lightning_parts(exp: Experiment, callbacks: list[Callback], logger: TensorBoardLogger,
                    steps: int | None = None, progress: bool = False
                    ) -> tuple[pl.Trainer, ParityModule, ExperimentDataModule]:
    """The Lightning reference for ``exp``, parsed and instantiated by the LightningCLI of
    ``python -m lightning_ref.fit`` (:func:`lightning_ref.fit.build`); compare adds its
    callbacks and logger and, with ``steps``, ``max_steps``."""
    trainer_overrides: dict[str, Any] = {
        "callbacks": callbacks, "logger": logger, "default_root_dir": logger.save_dir,
        "enable_progress_bar": progress, "enable_model_summary": False}
    if steps is not None:
        trainer_overrides["max_steps"] = steps
    cli = build(exp, save_config=False, **trainer_overrides)
    cli.datamodule.announce = False  # compare's report names the data
    return cli.trainer, cli.model, cli.datamodule


def run_parity(experiment: str | Path | Experiment = DEFAULT_EXPERIMENT,
               overrides: dict[str, Any] | None = None, steps: int | None = None,
               numpy_side: NumpySide | str | None = None, log_dir: str | Path = RUNS_DIR,
               tolerance: float | None = None, strict: bool = True,
               progress: bool = False, timeout: float = DEFAULT_TIMEOUT,
               memory: int = DEFAULT_MEMORY, ckpt_path: str | Path | None = None,
               callbacks: Sequence[Callback] = ()) -> ParityReport:
    """Train ``experiment`` (a name under configs/, a YAML path, or an Experiment) with the
    NumPy side and the Lightning reference in lockstep and compare them at every step.

    Args:
        overrides: dotted fields, e.g. ``{"model.lam": 0.1, "trainer.precision": "32-true"}``.
        steps: stop both sides after this many updates.
        numpy_side: pieces of the NumPy side to replace (default: numpy_impl's own), or
            ``"module:NAME"`` naming them: a module of the project's packages is imported in
            the NumPy side's process (:func:`compare.parity.numpy_side.load_side`); any other module
            is a student's, whose TDT4265 model class runs in compare.check's sandbox
            (:class:`compare.parity.numpy_side.SandboxedSide`), never in compare's processes.
        log_dir: the TensorBoard runs go to ``log_dir/<experiment>/version_N/`` (``numpy``,
            ``lightning`` and ``parity``: :class:`compare.parity.lockstep.ParityRuns`).
        tolerance: the largest relative error per element (default: 1e-10 for float64,
            1e-4 for float32; see :mod:`compare.tolerance`).
        strict: raise :class:`ParityError` at the first mismatch; otherwise run to the end and
            report every quantity's largest error (``report.mismatches``, ``report.passed``).
        progress: show Lightning's progress bar.
        timeout: seconds to wait for each of the NumPy side's records (and, for a student's
            module, for each call into its sandbox).
        memory: bytes the NumPy side's process may allocate (beyond what it inherits; a
            student's sandboxed model as much beyond its own Python and NumPy).
        ckpt_path: the checkpoint folder of a paused run of ``experiment`` to go on from (see
            :mod:`compare.parity.pause`); the run goes on in its own folder.
        callbacks: more Lightning callbacks for the reference's Trainer.

    SIGINT or SIGTERM during training pauses the run: both sides stop at one step, their
    checkpoint goes to ``<run>/checkpoint/`` and :class:`Interrupted` is raised (its
    ``checkpoint`` is that folder, or None with a ``note`` saying why not). A run that reaches
    its end leaves its report in ``<run>/parity.json`` and both sides' final weights in
    ``<run>/final_weights.npz`` (``numpy/NAME``, ``lightning/NAME``).

    Raises:
        ParityError: the sides disagree (with ``strict``).
        NumpySideError: the NumPy side raised, hung, exited, ran out of memory or could not be
            loaded (``.kind``); no verdict.
        ExperimentError: ``numpy_side`` is not ``module:NAME``, or names a student's module
            for a DD2424 experiment (only a TDT4265 model class can come from one).

    Under DDP (``trainer.strategy: ddp``) every process returns; only rank 0's report holds
    the comparisons (``report.summary["rank"]``).
    """
    exp = (experiment if isinstance(experiment, Experiment)
           else load_experiment(experiment, overrides))
    resume = None if ckpt_path is None else load_resume(ckpt_path, exp)
    report = resume.report if resume else ParityReport(exp.name, exp.dtype, 0.0)
    report.tolerance = TOLERANCES[exp.dtype] if tolerance is None else tolerance
    # The data first: a split that does not load (missing files, a batch larger than the
    # training set) ends the run here, before any run folder exists. Rank 0's NumPy side
    # inherits it at the fork instead of loading it again.
    split = experiment_split(exp) if rank_zero_only.rank == 0 else None
    numpy_run = NumpyProcess(exp, numpy_side, steps, timeout, memory,
                             resume.state if resume else None, split)
    runs = ParityRuns(log_dir, exp.name, resume.folder.parent if resume else None)
    lockstep = Lockstep(numpy_run, report, strict, curves=runs)
    callback = ParityCallback(lockstep, resume.state.step if resume else None)
    pause = ParityPause(lockstep, runs.root / CHECKPOINT_DIR)
    # the reference shares rank 0's split (one copy of the data in this process)
    with reusing(split, exp) if split is not None else nullcontext():
        trainer, model, datamodule = lightning_parts(exp, [callback, *callbacks, pause],
                                                     runs.lightning, steps, progress)
    # under DDP every rank would have to agree on the pause: a signal stops them at once
    pausing = pause.interruptible() if trainer.world_size == 1 else nullcontext()
    judged = False  # the run reached a verdict (not interrupted, the NumPy side did not fail)
    try:
        # ParityError here: the first mismatch; NumpySideError: the NumPy side failed
        with pausing:
            trainer.fit(model, datamodule=datamodule,
                        ckpt_path=str(resume.lightning) if resume else None)
    except Diverged as err:  # the reference stopped at a non-finite value: a mismatch already
        report.summary["diverged"] = str(err)
        judged = True
    except ParityError:
        judged = True
        raise
    else:
        judged = True
        if callback.active:
            lockstep.end(*_how_training_ended(trainer), _params(model),
                         final_metrics(model, datamodule))
            # the NumPy side's class templates, where ClassTemplates drew the reference's
            lockstep.templates(datamodule.split.image_shape, trainer.global_step)
            runfiles.write_npz(runs.root / FINAL_WEIGHTS, {
                **{f"numpy/{k}": v for k, v in lockstep.final.params.items()},
                **{f"lightning/{k}": v for k, v in _params(model).items()}})
        if datamodule.has_test:
            trainer.test(model, datamodule=datamodule, verbose=False)
    finally:  # whatever ended the run (an error, Ctrl-C, SIGTERM): no NumPy process outlives
        # it, and the curves so far are on disk
        numpy_run.stop()
        if datamodule.split is not None:
            sizes = ", ".join(f"{k} {v}" for k, v in datamodule.split.sizes().items())
            report.summary["data"] = f"{datamodule.split.description}; images: {sizes}"
        if trainer.is_global_zero:
            lockstep.flush()
            runs.close(hparams_of(exp), [m for m in HPARAM_METRICS
                                         if m in report.summary.get("final metrics", {})])
            if judged:
                runfiles.write_text(runs.root / REPORT, report.to_json())
    report.summary["rank"] = trainer.global_rank
    if strict and report.mismatch is not None:
        raise ParityError(report.mismatch, report)
    return report


def _how_training_ended(trainer: pl.Trainer) -> tuple[int | None, int | None, int | None]:
    """(last update step, early-stopping step, step of the restored weights), from 0."""
    stopped = next((cb.stopped_step for cb in trainer.callbacks
                    if isinstance(cb, TextEarlyStopping)), None)
    best = next((cb.best_step for cb in trainer.callbacks if isinstance(cb, RestoreBest)), None)
    return (last_step(trainer) if trainer.global_step else None), stopped, best


def _params(model: ParityModule) -> dict[str, Any]:
    return {k: v.detach().cpu().numpy() for k, v in model.named_parameters()}
