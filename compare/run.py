"""``run_parity``: one experiment definition, trained by both sides in lockstep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from compare.lockstep import Lockstep, ParityCallback, ParityLogger
from compare.numpy_side import NumpyRun, NumpySide
from compare.parity_report import ParityError, ParityReport
from compare.tolerance import TOLERANCES
from lightning_ref.callbacks import RestoreBest, TextEarlyStopping
from lightning_ref.data import ExperimentDataModule
from lightning_ref.fit import TRAINER_DEFAULTS, final_metrics, lightning_validation_batches
from lightning_ref.models import MODELS, ParityModule
from numpy_impl.experiments import DEFAULT_EXPERIMENT, Experiment, load_experiment

RUNS_DIR = Path("runs") / "compare"


def lightning_parts(exp: Experiment, callbacks: list[Callback], logger: ParityLogger,
                    steps: int | None = None, progress: bool = False
                    ) -> tuple[pl.Trainer, ParityModule, ExperimentDataModule]:
    """The Lightning reference for ``exp``, built from its file's sections as LightningCLI
    (``python -m lightning_ref.fit``) builds it: ``model.init_args`` for the module,
    ``data`` plus the seed for the data module, ``trainer`` over the CLI's defaults. compare adds
    its callback and logger and, with ``steps``, ``max_steps``."""
    config = exp.config
    trainer_args: dict[str, Any] = {**TRAINER_DEFAULTS, **(config.get("trainer") or {})}
    datamodule = ExperimentDataModule(**(config.get("data") or {}), seed=exp.seed,
                                      precision=trainer_args["precision"])
    model = MODELS[exp.model](**(config["model"].get("init_args") or {}),
                              initial_parameters=datamodule.initial_parameters)
    trainer_args.update(callbacks=callbacks, logger=logger, default_root_dir=logger.save_dir,
                        enable_progress_bar=progress, enable_model_summary=False,
                        limit_val_batches=lightning_validation_batches(model.validation))
    if steps is not None:
        trainer_args["max_steps"] = steps
    return pl.Trainer(**trainer_args), model, datamodule


def run_parity(experiment: str | Path | Experiment = DEFAULT_EXPERIMENT,
               overrides: dict[str, Any] | None = None, steps: int | None = None,
               numpy_side: NumpySide | None = None, log_dir: str | Path = RUNS_DIR,
               tolerance: float | None = None, strict: bool = True,
               progress: bool = False) -> ParityReport:
    """Train ``experiment`` (a name under configs/, a YAML path, or an Experiment) with the
    NumPy side and the Lightning reference in lockstep and compare them at every step.

    Args:
        overrides: dotted fields, e.g. ``{"model.lam": 0.1, "trainer.precision": "32-true"}``.
        steps: stop both sides after this many updates.
        numpy_side: pieces of the NumPy side to replace (default: numpy_impl's own).
        log_dir: the TensorBoard run goes to ``log_dir/<experiment>/version_N``.
        tolerance: the largest relative error per element (default: 1e-10 for float64,
            1e-4 for float32; see :mod:`compare.tolerance`).
        strict: raise :class:`ParityError` at the first mismatch; otherwise run to the end and
            report every quantity's largest error (``report.mismatches``, ``report.passed``).
        progress: show Lightning's progress bar.

    Under DDP (``trainer.strategy: ddp``) every process returns; only rank 0's report holds
    the comparisons (``report.summary["rank"]``).
    """
    exp = (experiment if isinstance(experiment, Experiment)
           else load_experiment(experiment, overrides))
    report = ParityReport(exp.name, exp.dtype,
                          TOLERANCES[exp.dtype] if tolerance is None else tolerance)
    numpy_run = NumpyRun(exp, numpy_side, steps)
    logger = ParityLogger(str(log_dir), exp.name)
    lockstep = Lockstep(numpy_run, report, strict, scalar=logger.scalar)
    logger.lockstep = lockstep
    callback = ParityCallback(lockstep)
    trainer, model, datamodule = lightning_parts(exp, [callback], logger, steps, progress)
    try:
        trainer.fit(model, datamodule=datamodule)  # ParityError here: the first mismatch
        if callback.active:
            lockstep.end(*_how_training_ended(trainer), _params(model),
                         final_metrics(model, datamodule))
        if datamodule.has_test:
            trainer.test(model, datamodule=datamodule, verbose=False)
    finally:
        numpy_run.stop()
        if datamodule.split is not None:
            sizes = ", ".join(f"{k} {v}" for k, v in datamodule.split.sizes().items())
            report.summary["data"] = f"{datamodule.split.description}; images: {sizes}"
    report.summary["rank"] = trainer.global_rank
    if trainer.is_global_zero:
        lockstep.flush()
        logger.finalize("success")
    if strict and report.mismatch is not None:
        raise ParityError(report.mismatch, report)
    return report


def _how_training_ended(trainer: pl.Trainer) -> tuple[int | None, int | None, int | None]:
    """(last update step, early-stopping step, step of the restored weights), from 0."""
    stopped = next((cb.stopped_step for cb in trainer.callbacks
                    if isinstance(cb, TextEarlyStopping)), None)
    best = next((cb.best_step for cb in trainer.callbacks if isinstance(cb, RestoreBest)), None)
    return (trainer.global_step - 1 if trainer.global_step else None), stopped, best


def _params(model: ParityModule) -> dict[str, Any]:
    return {k: v.detach().cpu().numpy() for k, v in model.named_parameters()}
