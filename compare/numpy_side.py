"""The NumPy side of a parity run: numpy_impl's own trainer, in a worker thread, handing over
one record at a time.

The trainer is the project's real one (``numpy_impl.train`` builds it from the experiment, as
``python -m numpy_impl`` does), so compare also verifies its batching, validation cadence,
early stopping and learning-rate decay. :class:`NumpySide` replaces pieces of it: a
deliberately wrong model (the suite's negative tests) or a student's own.

The worker's ``on_step`` hook puts each record into a ``queue.Queue(maxsize=1)``, so the trainer
runs at most one record ahead of the Lightning run that consumes them and no trace is stored.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import numpy as np

from numpy_impl import dd2424, train
from numpy_impl.draws import make_rng
from numpy_impl.experiments import Experiment
from numpy_impl.models import final_metrics
from numpy_impl.splits import Split, experiment_split
from numpy_impl.steps import StepRecord, ValidationRecord, copies
from numpy_impl.tdt4265 import BaseTrainer


@dataclass(frozen=True)
class NumpySide:
    """Which NumPy implementation compare trains; every piece left None is numpy_impl's own.

    Attributes:
        model_class: TDT4265's model, built as ``model_class(l2_reg_lambda)`` with the
            starter's interface (``w``, ``forward``, ``backward`` storing ``grad``).
        trainer_class: TDT4265's trainer, a :class:`numpy_impl.tdt4265.BaseTrainer` subclass
            (it may replace ``batch_loader``, ``train_step``, the early-stopping rule, ...).
        objective: DD2424's :class:`numpy_impl.dd2424.Objective` (apply, loss, cost, backward).
    """

    model_class: type | None = None
    trainer_class: type[BaseTrainer] | None = None
    objective: dd2424.Objective | None = None


@dataclass(frozen=True)
class InitRecord:
    """The parameters before the first update."""

    params: dict[str, np.ndarray]


@dataclass(frozen=True)
class EndRecord:
    """How the NumPy run ended: the last step it fed, early stopping (None: did not stop), the
    final (restored) parameters and their loss, cost and accuracy on every part of the split."""

    last_step: int | None
    stopped_step: int | None
    stopped_epoch: int | None
    best_step: int | None
    params: dict[str, np.ndarray]
    metrics: dict[str, float]


Record = InitRecord | StepRecord | ValidationRecord | EndRecord


class NumpySideError(RuntimeError):
    """The NumPy side raised; the original exception is the cause."""


class _Stop(Exception):
    """Raised inside the trainer to end it early (the consumer is gone or wants no more steps)."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class NumpyRun:
    """One experiment trained by the NumPy side in a worker thread; :meth:`next` returns its
    records in order: an InitRecord, then Step- and ValidationRecords, then an EndRecord.

    ``max_steps`` stops feeding after that many updates (the trainer is interrupted before it
    hands over the next one; the final parameters are those of the last step fed).
    """

    def __init__(self, exp: Experiment, side: NumpySide | None = None,
                 max_steps: int | None = None) -> None:
        self.exp, self.side, self.max_steps = exp, side or NumpySide(), max_steps
        self._queue: queue.Queue[Record | _Failed] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="numpy-side", daemon=True)
        self._peeked: Record | None = None
        self._last: StepRecord | None = None

    # ------------------------------------------------------------------ consumer side

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def peek(self) -> Record:
        """The next record, left in place for :meth:`next`."""
        if self._peeked is None:
            self._peeked = self._get()
        return self._peeked

    def next(self) -> Record:
        """The next record (waits for the trainer)."""
        record, self._peeked = self.peek(), None
        return record

    def stop(self) -> None:
        """Ask the trainer to stop, unblock it, and wait for the thread to end."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        if self._thread.ident is not None:
            self._thread.join()

    def _get(self) -> Record:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise NumpySideError("the NumPy side ended without a final record") from None
                continue
            if isinstance(item, _Failed):
                raise NumpySideError(f"the NumPy side raised {item.error!r}") from item.error
            return item

    # ------------------------------------------------------------------ worker side

    def _put(self, item: Record | _Failed) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stop

    def _feed(self, record: StepRecord | ValidationRecord) -> None:
        """The trainers' ``on_step`` hook."""
        if isinstance(record, StepRecord):
            if self.max_steps is not None and record.step >= self.max_steps:
                raise _Stop  # this update is one too many: end before handing it over
            self._last = record
        self._put(record)

    def _work(self) -> None:
        try:
            split = experiment_split(self.exp)
            rng = make_rng(self.exp.seed)
            train_fn = self._train_tdt4265 if self.exp.text == "tdt4265" else self._train_dd2424
            self._put(train_fn(split, rng))
        except _Stop:
            pass
        except BaseException as error:  # noqa: BLE001 (handed to the consumer, which re-raises)
            try:
                self._put(_Failed(error))
            except _Stop:
                pass

    def _train_tdt4265(self, split: Split, rng: np.random.Generator) -> EndRecord:
        trainer = train.tdt4265_trainer(self.exp, split, rng, model_class=self.side.model_class,
                                        trainer_class=self.side.trainer_class)
        self._put(InitRecord(copies({"w": trainer.model.w})))
        try:
            trainer.train(self.exp.max_epochs, on_step=self._feed)
            params = {"w": trainer.model.w}
        except _Stop:
            if self._stop.is_set():
                raise
            params = self._last.params if self._last else {"w": trainer.model.w}
        return self._end(split, params, trainer.stopped_step, trainer.stopped_epoch,
                         trainer.best_step)

    def _train_dd2424(self, split: Split, rng: np.random.Generator) -> EndRecord:
        arguments = train.dd2424_arguments(self.exp, split, rng)
        if self.side.objective is not None:
            arguments["loss"] = self.side.objective
        self._put(InitRecord(copies(arguments["init_network"])))
        try:
            params, _ = dd2424.mini_batch_gd(**arguments, on_step=self._feed)
        except _Stop:
            if self._stop.is_set():
                raise
            params = self._last.params if self._last else arguments["init_network"]
        return self._end(split, params, None, None, None)

    def _end(self, split: Split, params: dict[str, np.ndarray], stopped_step: int | None,
             stopped_epoch: int | None, best_step: int | None) -> EndRecord:
        """The final record; its metrics come from numpy_impl's uniform models (the final
        weights measured as the Lightning reference measures them: loss, cost, accuracy)."""
        metrics = final_metrics(self.exp.model, params, self.exp.lam, split)
        last = self._last.step if self._last else None
        return EndRecord(last, stopped_step, stopped_epoch, best_step, copies(params), metrics)
