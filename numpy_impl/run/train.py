"""Train any experiment definition with the NumPy implementation and save the run.

``run_experiment`` is what ``python -m numpy_impl EXPERIMENT`` calls: it loads the
experiment's split, draws the initialization from the experiment's one generator,
trains with the text's own trainer (the TDT4265 ``BaseTrainer`` or DD2424's
``mini_batch_gd``) and writes to a new run folder ``runs/numpy/<experiment>/version_N/``
(:mod:`numpy_impl.run.runfiles`) the TensorBoard events (the same tags as the Lightning
reference's, and the run's hyperparameters for the HParams view), ``history.json``,
``weights.npz`` (and ``last_weights.npz`` when early stopping restored the best),
``metrics.json``, ``experiment.yaml`` and ``checkpoint.npz`` (the final
:class:`numpy_impl.steps.TrainerState`, which ``ckpt_path=`` resumes from).

A non-finite loss or cost stops the run at its step with :class:`numpy_impl.steps.Diverged`;
a signal noted in ``signals`` stops it after the step with
:class:`numpy_impl.run.interrupt.Interrupted`, its checkpoint saved. Either way the logs so far
are saved first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from numpy_impl import dd2424, tdt4265
from numpy_impl import functional as F
from numpy_impl.draws import make_rng
from numpy_impl.models import MODELS, final_metrics
from numpy_impl.run import runfiles
from numpy_impl.run.experiments import Experiment, experiment_split
from numpy_impl.run.interrupt import Interrupted, Signals
from numpy_impl.run.schema import ExperimentError
from numpy_impl.run.tensorboard import EventWriter
from numpy_impl.run.terminal import draws_bars
from numpy_impl.splits import Split
from numpy_impl.steps import (
    Diverged,
    StepRecord,
    TrainerState,
    ValidationRecord,
    check_finite,
)

RUNS_DIR = runfiles.RUNS_DIR / "numpy"
#: The metrics the HParams view shows beside each run's hyperparameters.
HPARAM_METRICS = ("val/acc", "val/loss", "train/acc", "test/acc")


@dataclass
class RunResult:
    """What a finished run produced."""

    experiment: Experiment
    params: dict[str, np.ndarray]
    history: dict[str, Any]
    metrics: dict[str, float]
    run_dir: Path | None


def tdt4265_trainer(exp: Experiment, split: Split, rng: np.random.Generator, *,
                    model_class: type | None = None,
                    trainer_class: type[tdt4265.BaseTrainer] | None = None
                    ) -> tdt4265.BaseTrainer:
    """The TDT4265 model and trainer ``exp`` defines, on ``split``, ready to ``train``.

    ``model_class`` (called with lambda, like the starter's ``SoftmaxModel(l2_reg_lambda)``) and
    ``trainer_class`` replace the text's own classes, e.g. with a student's (compare/ does).
    """
    text_api = MODELS[exp.model].numpy_class
    # lambda for both models, as the Lightning reference and numpy_impl.models apply it (the
    # text's task 2 uses 0)
    model = (model_class or text_api.model_class)(exp.lam)
    model.w = model.w.astype(exp.dtype)
    trainer_class = trainer_class or text_api.trainer_class
    return trainer_class(model, exp.lr, exp.batch_size, exp.shuffle, split.X_train,
                         split.Y_train, split.X_val, split.Y_val, rng=rng,
                         early_stopping_patience=exp.early_stopping_patience)


def dd2424_arguments(exp: Experiment, split: Split, rng: np.random.Generator
                     ) -> dict[str, Any]:
    """``mini_batch_gd``'s keyword arguments for ``exp`` on ``split``: the training and
    validation data, ``gd_params``, ``init_network`` (drawn now from ``rng``, W before b),
    ``lam``, ``rng`` and ``loss`` (the model's :class:`numpy_impl.dd2424.Objective`)."""
    K, d = split.Y_train.shape[0], split.X_train.shape[0]
    init = {k: v.astype(exp.dtype) for k, v in dd2424.init_network(K, d, rng).items()}
    gd_params = {
        "n_batch": exp.batch_size, "eta": exp.lr, "n_epochs": exp.max_epochs,
        "shuffle": exp.shuffle, "flip": exp.flip, "image_shape": split.image_shape,
        "lr_step_epochs": exp.lr_step_epochs, "lr_plateau_patience": exp.lr_plateau_patience,
    }
    return {"X": split.X_train, "Y": split.Y_train, "gd_params": gd_params,
            "init_network": init, "lam": exp.lam, "rng": rng, "X_val": split.X_val,
            "Y_val": split.Y_val, "loss": MODELS[exp.model].numpy_class.objective}


@dataclass
class Training:
    """A run being trained: its ``records`` (the trainer's generator, see
    :mod:`numpy_impl.steps`) and, once they are exhausted, its ``outcome()``: the parameters,
    the text's history and the early-stopping facts (TDT4265's ``stopped_epoch``,
    ``stopped_step``, ``best_step``; none for DD2424)."""

    records: Iterator[StepRecord | ValidationRecord]
    outcome: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]]
    params: Callable[[], dict[str, np.ndarray]]  # the parameters now (before training: the
    # initial ones)


def training(exp: Experiment, split: Split, rng: np.random.Generator,
             state: TrainerState | None = None, *, model_class: type | None = None,
             trainer_class: type[tdt4265.BaseTrainer] | None = None,
             objective: dd2424.Objective | None = None) -> Training:
    """The text's own trainer for ``exp`` on ``split`` (TDT4265's ``BaseTrainer``, DD2424's
    :class:`numpy_impl.dd2424.MiniBatchGD`), from the checkpoint ``state`` if given; the
    TDT4265 model and trainer classes or the DD2424 objective replaced where given (compare/
    does)."""
    return TRAININGS[exp.text](exp, split, rng, state, model_class=model_class,
                               trainer_class=trainer_class, objective=objective)


def _tdt4265_training(exp: Experiment, split: Split, rng: np.random.Generator,
                      state: TrainerState | None, *, model_class: type | None,
                      trainer_class: type[tdt4265.BaseTrainer] | None, objective: Any) -> Training:
    trainer = tdt4265_trainer(exp, split, rng, model_class=model_class,
                              trainer_class=trainer_class)

    def outcome() -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
        return ({"w": trainer.model.w},
                {"train": trainer.train_history, "val": trainer.val_history},
                {"stopped_epoch": trainer.stopped_epoch,
                 "stopped_step": trainer.stopped_step, "best_step": trainer.best_step})

    return Training(trainer.steps(exp.max_epochs, state), outcome,
                    lambda: {"w": trainer.model.w})


def _dd2424_training(exp: Experiment, split: Split, rng: np.random.Generator,
                     state: TrainerState | None, *, model_class: Any, trainer_class: Any,
                     objective: dd2424.Objective | None) -> Training:
    arguments = dd2424_arguments(exp, split, rng)
    if objective is not None:
        arguments["loss"] = objective
    run = dd2424.MiniBatchGD(**arguments, state=state)
    return Training(iter(run), lambda: (run.network, run.history, {}), lambda: run.network)


#: Each text's trainer, as :func:`training` builds it.
TRAININGS: dict[str, Callable[..., Training]] = {"tdt4265": _tdt4265_training,
                                                  "dd2424": _dd2424_training}


def load_checkpoint(path: str | Path, exp: Experiment) -> TrainerState:
    """The checkpoint at ``path``, checked to be one of ``exp`` (the same definition, up to
    ``trainer.max_epochs``); an :class:`ExperimentError` (one line, exit 2) otherwise."""
    try:
        state = TrainerState.load(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ExperimentError(f"--ckpt_path {path}: not a checkpoint of python -m numpy_impl "
                              f"({type(err).__name__}: {err})") from None

    def definition(config: dict[str, Any] | None) -> Any:
        trainer = {k: v for k, v in (config or {}).get("trainer", {}).items() if k != "max_epochs"}
        return {**(config or {}), "trainer": trainer}

    if definition(state.config) != definition(exp.config):
        raise ExperimentError(f"--ckpt_path {path}: made by another experiment definition than "
                              f"{exp.name} with these flags; resume with the run's own flags")
    return state


def latest_checkpoint(runs_dir: str | Path, exp: Experiment) -> Path:
    """``--resume``: the checkpoint of the newest ``version_N`` of ``exp`` that has one."""
    run = runfiles.latest_version(Path(runs_dir, exp.name), "checkpoint.npz")
    if run is None:
        raise ExperimentError(f"--resume: no checkpoint.npz under {Path(runs_dir, exp.name)}")
    return run / "checkpoint.npz"


def run_experiment(exp: Experiment, runs_dir: Path | None = RUNS_DIR, verbose: bool = True,
                   *, ckpt_path: str | Path | None = None, signals: Signals | None = None,
                   progress: bool | None = None) -> RunResult:
    """Train ``exp`` with the NumPy implementation; save it in a new
    ``runs_dir/<name>/version_N/`` (nothing is saved when ``runs_dir`` is None).

    ``ckpt_path``: a ``checkpoint.npz`` to resume from (the run goes on in the new folder and
    ends with exactly the weights of a run never stopped). ``signals``: stop after the step in
    which a signal was noted there, saving the checkpoint (raises :class:`Interrupted`). A
    non-finite loss or cost raises :class:`Diverged` at its step. ``progress`` (with
    ``verbose``): True draws a progress bar on stderr, False none, None a bar only when stderr is
    a terminal; without a bar, one line per epoch."""
    split = experiment_split(exp)
    state = None if ckpt_path is None else load_checkpoint(ckpt_path, exp)
    if verbose:
        sizes = ", ".join(f"{k} {v}" for k, v in split.sizes().items())
        print(f"[numpy] {exp.name}: {exp.model}, data: {split.description}")
        print(f"[numpy] images: {sizes}; {exp.dtype}, lr {exp.lr}, lambda {exp.lam}, "
              f"batch {exp.batch_size}, {exp.max_epochs} epochs, seed {exp.seed}")
        if state is not None:
            print(f"[numpy] resuming after step {state.step} from {ckpt_path}")
    run_dir = None if runs_dir is None else runfiles.new_version_dir(Path(runs_dir) / exp.name)
    writer = None if run_dir is None else EventWriter(run_dir)
    steps = exp.max_epochs * (split.sizes()["train"] // exp.batch_size)
    display = _Display(exp.name, steps, 0 if state is None else state.step + 1,
                       None if not verbose else draws_bars(
                           sys.stderr, no_progress=progress is False, force=progress is True))
    regularised = MODELS[exp.model].regularised
    run = training(exp, split, make_rng(exp.seed), state)
    last: StepRecord | None = None  # the latest update's record: its weights, its checkpoint
    try:
        # The one loop: each record of the trainer checked, logged and shown; a signal stops
        # the run after a whole step.
        for record in run.records:
            if isinstance(record, StepRecord):
                values = {"train/loss": record.loss, "train/cost": record.cost, "lr": record.lr}
            else:  # R(w) of the weights validated: those of the update just before
                weights = (last or state).params[regularised]
                values = {**record.metrics, "weights/squared_norm": F.l2_penalty(weights)}
            if writer is not None:
                writer.scalars(values, record.step)
            check_finite(values, record.step, record.epoch, exp.lr)
            display.show(record)
            if isinstance(record, StepRecord):
                last = record
                if signals is not None and signals.signum is not None:
                    raise Interrupted(signals.signum, record.step)
    except (Diverged, Interrupted) as stop:
        if run_dir is not None and writer is not None:
            writer.close()
            _save_stopped(run_dir, exp, last, stop)
        raise
    finally:
        display.close()
    params, history, stopping = run.outcome()
    metrics: dict[str, Any] = {**final_metrics(exp.model, params, exp.lam, split), **stopping}
    restored = stopping.get("stopped_step") is not None
    metrics["weights_step"] = metrics["best_step"] if restored else (
        None if last is None else last.step)
    if run_dir is not None and writer is not None:
        if "test/acc" in metrics:  # DD2424's splits: after the last of its full-batch updates
            writer.scalars({"test/acc": metrics["test/acc"]}, steps - 1)
        writer.hparams(hparams_of(exp), [m for m in HPARAM_METRICS if m in metrics])
        writer.close()
        runfiles.write_npz(run_dir / "weights.npz", params)
        if restored and last is not None:
            runfiles.write_npz(run_dir / "last_weights.npz", last.params)
        _save_logs(run_dir, exp, history, metrics, last)
    if verbose:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if "/" in k)
        if restored:
            print(f"[numpy] early stopping in epoch {metrics['stopped_epoch']} (counted from 0) "
                  f"at step {metrics['stopped_step']}; restored the weights of step "
                  f"{metrics['best_step']}, the lowest validation loss")
        which = "the restored best" if restored else "the last step's"
        print(f"[numpy] final: {shown} (of {which} weights, step {metrics['weights_step']})")
        if run_dir is not None:
            saved = ("weights.npz (best), last_weights.npz (last step)" if restored
                     else "weights.npz")
            print(f"[numpy] {saved}, history, metrics, checkpoint and TensorBoard events in "
                  f"{run_dir}/\n[numpy] view: {runfiles.tensorboard_command(run_dir)}")
    return RunResult(exp, params, history, metrics, run_dir)


def _save_logs(run_dir: Path, exp: Experiment, history: dict[str, Any],
               metrics: dict[str, Any] | None, last: StepRecord | None) -> None:
    """history.json, metrics.json (when given), experiment.yaml and checkpoint.npz (the state
    after the last step's record, when there was one), each atomically."""
    runfiles.write_json(run_dir / "history.json", history)
    if metrics is not None:
        runfiles.write_json(run_dir / "metrics.json", metrics)
    runfiles.write_text(run_dir / "experiment.yaml", yaml.safe_dump(exp.config, sort_keys=False))
    if last is not None and last.state is not None:
        state = last.state()
        state.config = exp.config
        runfiles.write_bytes(run_dir / "checkpoint.npz", state.to_npz())


def _save_stopped(run_dir: Path, exp: Experiment, last: StepRecord | None,
                  stop: Diverged | Interrupted) -> None:
    """The logs of a run stopped by ``stop``: the history so far (and the checkpoint of the
    last step) for an interruption; the history and a metrics.json naming the non-finite
    quantity for a divergence."""
    if isinstance(stop, Interrupted) and stop.step is None:
        return  # a second signal, in the middle of a step: nothing of it is a whole state
    history = {} if last is None or last.state is None else last.state().history
    if isinstance(stop, Interrupted):
        _save_logs(run_dir, exp, history, None, last)
        stop.checkpoint = run_dir / "checkpoint.npz" if last is not None else None
        return
    metrics = {"diverged": {"step": stop.step, "epoch": stop.epoch, "quantity": stop.quantity,
                            "value": stop.value}}
    runfiles.write_json(run_dir / "history.json", history)
    runfiles.write_json(run_dir / "metrics.json", metrics)
    runfiles.write_text(run_dir / "experiment.yaml", yaml.safe_dump(exp.config, sort_keys=False))


#: Section fields the HParams view leaves out: where the data is and how it is read, and the
#: precision (shown as ``dtype``), which do not tell one run's settings from another's.
HPARAMS_LEFT_OUT = ("root", "download", "backend", "precision")


def hparams_of(exp: Experiment) -> dict[str, Any]:
    """The hyperparameters the HParams view shows for a run (the same on every side): every
    field of the experiment's sections but :data:`HPARAMS_LEFT_OUT`."""
    return {"experiment": exp.name, "model": exp.model, "seed": exp.seed, "dtype": exp.dtype,
            **{k: v for k, v in exp.sections().items() if k not in HPARAMS_LEFT_OUT}}



class _Display:
    """What a run shows on stderr: a progress bar (``bar`` True: the epoch, the batch loss and
    the last validation loss; early stopping may end the run before the bar is full), one line
    per epoch (``bar`` False: the steps done, the last batch loss and validation loss), or
    nothing (``bar`` None)."""

    def __init__(self, name: str, total: int, done: int, bar: bool | None) -> None:
        self.name, self.total, self.done, self.lines = name, total, done, bar is False
        self.bar = tqdm(total=total, initial=done, desc=f"[numpy] {name}", unit="step") \
            if bar else None
        self.epoch: int | None = None
        self.shown: dict[str, Any] = {}

    def show(self, record: StepRecord | ValidationRecord) -> None:
        if isinstance(record, StepRecord):
            if self.lines and self.epoch is not None and record.epoch != self.epoch:
                self.flush()
            self.epoch, self.done = record.epoch, self.done + 1
            self.shown["loss"] = f"{record.loss:.4f}"
            if self.bar is not None:
                self.bar.update(1)
        else:
            self.shown["val_loss"] = f"{record.metrics['val/loss']:.4f}"
        if self.bar is not None:
            self.bar.set_postfix({"epoch": self.epoch, **self.shown}, refresh=False)

    def flush(self) -> None:
        """The line of the epoch shown so far (one-line mode)."""
        if self.lines and self.epoch is not None:
            shown = "".join(f", {k} {v}" for k, v in self.shown.items())
            print(f"[numpy] {self.name} epoch {self.epoch}: {self.done}/{self.total} steps"
                  f"{shown}", file=sys.stderr, flush=True)
            self.epoch, self.shown = None, {}

    def close(self) -> None:
        self.flush()
        if self.bar is not None:
            self.bar.close()
