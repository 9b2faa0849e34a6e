"""The NumPy side of a parity run: numpy_impl's own trainer, or one with a student's pieces, in
a child process that hands over one record at a time through a pipe.

The trainer is the project's real one (``numpy_impl.train`` builds it from the experiment, as
``python -m numpy_impl`` does), so compare also verifies its batching, validation cadence,
early stopping and learning-rate decay. :class:`NumpySide` replaces pieces of it: a
deliberately wrong model (the suite's negative tests) or a student's own.

Why a child process: the NumPy side may be a student's code, and whatever it does (raises,
loops forever, calls ``sys.exit``, allocates far too much) must end in a clear error, never in
a hang or a crash of compare. The child (forked: it needs no torch, and inherits the side's
classes without pickling them) runs the trainer; the trainer's ``on_step`` hook sends every
record through a one-way pipe. A send blocks while the pipe is full, so the child runs at most
a pipe buffer ahead of the Lightning run and no trace is stored. The parent takes the records in
order (:meth:`NumpyProcess.next`), waiting at most ``timeout`` seconds for each; what the child
did instead of sending the next record becomes a :class:`NumpySideError`:

* it raised: the child sends an :class:`ErrorRecord` (type, message, its last frames);
* it sent nothing for ``timeout`` seconds: the parent kills it;
* it exited (``sys.exit``, ``os._exit``) or was killed (out of memory): the parent reads the
  end of the pipe and reports the exit status or the signal.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import multiprocessing
import os
import signal
import sys
import traceback
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from compare.isolation import child_setup, describe, student_frames
from numpy_impl import dd2424, train
from numpy_impl.draws import make_rng
from numpy_impl.experiments import Experiment, ExperimentError
from numpy_impl.models import final_metrics
from numpy_impl.splits import Split, experiment_split
from numpy_impl.steps import StepRecord, ValidationRecord, copies
from numpy_impl.tdt4265 import BaseTrainer

DEFAULT_TIMEOUT = 60.0  # seconds the parent waits for each record
DEFAULT_MEMORY = 4 << 30  # bytes the child may allocate beyond what it inherits at the fork


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


@dataclass(frozen=True)
class ErrorRecord:
    """The NumPy side raised: ``kind`` "import" (loading a ``module:NAME`` side), "memory" (a
    MemoryError) or "crash" (anything else), the exception as ``Type: message`` and the last
    frames of its traceback."""

    kind: str
    error: str
    frames: str


Record = InitRecord | StepRecord | ValidationRecord | EndRecord


class NumpySideError(RuntimeError):
    """The NumPy side ended without a verdict. ``kind`` says how: "crash" (it raised),
    "memory" (a MemoryError, or killed as the kernel kills for memory), "timeout" (no record
    in time), "exit" (it exited without its final record) or "import" (its ``module:NAME``
    could not be loaded). ``frames``: the traceback of the student's code, where known."""

    def __init__(self, kind: str, message: str, frames: str = "") -> None:
        super().__init__(message)
        self.kind, self.frames = kind, frames


def load_side(spec: str) -> NumpySide:
    """``module:NAME`` -> a NumpySide: ``NAME`` itself if it is one; a TDT4265 trainer class
    (a BaseTrainer subclass) or DD2424 Objective in its place; any other class as the TDT4265
    model class (the starter's interface: ``w``, ``forward``, ``backward``, ``grad``).

    Imports the module, so it runs in the child (a student's module is student code)."""
    module_name, _, name = spec.partition(":")
    side = getattr(importlib.import_module(module_name), name, None)
    if isinstance(side, NumpySide):
        return side
    if isinstance(side, dd2424.Objective):
        return NumpySide(objective=side)
    if isinstance(side, type) and issubclass(side, BaseTrainer):
        return NumpySide(trainer_class=side)
    if isinstance(side, type):
        return NumpySide(model_class=side)
    raise ImportError(f"{module_name!r} has no {name!r} that is a compare.NumpySide, a TDT4265 "
                      "model or trainer class, or a DD2424 Objective")


def check_spec(spec: str) -> None:
    """Refuse a ``--numpy-side`` that is not of the form ``module:NAME`` (a usage error)."""
    module_name, colon, name = spec.partition(":")
    if not (module_name and colon and name.isidentifier()):
        raise ExperimentError(
            f"--numpy-side {spec!r}: expected module:NAME naming a compare.NumpySide, a TDT4265 "
            "model or trainer class, or a DD2424 Objective (e.g. compare.wrong:NO_MEAN_GRADIENT, "
            "or my_task3a:SoftmaxModel with my_task3a.py in the current folder)")


class NumpyProcess:
    """One experiment trained by the NumPy side in a child process; :meth:`next` returns its
    records in order: an InitRecord, then Step- and ValidationRecords, then an EndRecord.

    Args:
        side: the pieces to replace, or ``"module:NAME"`` (loaded in the child, see
            :func:`load_side`); None: numpy_impl's own.
        max_steps: the child stops after that many updates and sends the EndRecord of the last
            one (its parameters and their metrics).
        timeout: seconds to wait for each record.
        memory: bytes the child may allocate beyond the address space it inherits.
    """

    def __init__(self, exp: Experiment, side: NumpySide | str | None = None,
                 max_steps: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory: int = DEFAULT_MEMORY) -> None:
        if isinstance(side, str):
            check_spec(side)
        self.exp, self.side, self.max_steps = exp, side or NumpySide(), max_steps
        self.timeout, self.memory = timeout, memory
        self.last_step: int | None = None  # the last update received, for the messages
        self._process: multiprocessing.Process | None = None
        self._conn: Connection | None = None
        self._peeked: Record | None = None

    def start(self) -> None:
        """Fork the child; it starts training at once."""
        context = multiprocessing.get_context("fork")
        self._conn, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_Child(sender, self.exp, self.side, self.max_steps, self.memory).run,
            name="numpy-side", daemon=True)
        self._process.start()
        sender.close()  # the child holds the only sending end: its exit reads as EOF here

    def peek(self) -> Record:
        """The next record, left in place for :meth:`next`."""
        if self._peeked is None:
            self._peeked = self._receive()
        return self._peeked

    def next(self) -> Record:
        """The next record; waits for it at most ``timeout`` seconds."""
        record, self._peeked = self.peek(), None
        return record

    def stop(self) -> None:
        """Kill the child if it still runs and wait for it; safe to call on every exit path,
        more than once, and before :meth:`start`."""
        if self._process is not None:
            if self._process.exitcode is None:
                self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()

    def _receive(self) -> Record:
        assert self._conn is not None, "NumpyProcess.start() first"
        if not self._conn.poll(self.timeout):
            self.stop()
            raise NumpySideError("timeout", f"the NumPy side produced no record for "
                                 f"{self.timeout:g} s {self._where()}; stopped it")
        try:
            record = self._conn.recv()
        except EOFError:
            raise self._exited() from None
        if isinstance(record, ErrorRecord):
            self.stop()
            raise NumpySideError(record.kind, f"the NumPy side raised {record.error} "
                                 f"{self._where()}", record.frames)
        if isinstance(record, StepRecord):
            self.last_step = record.step
        return record

    def _exited(self) -> NumpySideError:
        """The child closed the pipe without its final record: it exited or was killed."""
        assert self._process is not None
        self._process.join(self.timeout)
        self.stop()
        code, where = self._process.exitcode, self._where()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGKILL:
                return NumpySideError("memory", f"the NumPy side was killed ({name}) {where}: "
                                      "out of memory?")
            return NumpySideError("crash", f"the NumPy side died of {name} {where}")
        return NumpySideError("exit", f"the NumPy side exited with status {code} {where} "
                              f"(sys.exit or os._exit in {_suspects(self.side)}?)")

    def _where(self) -> str:
        return ("before its first update" if self.last_step is None
                else f"after step {self.last_step}")


class _Child:
    """What runs in the child process: the trainer, its records sent through ``conn``."""

    def __init__(self, conn: Connection, exp: Experiment, side: NumpySide | str,
                 max_steps: int | None, memory: int) -> None:
        self.conn, self.exp, self.side, self.max_steps = conn, exp, side, max_steps
        self.memory = memory
        self.split: Split | None = None
        self.last: StepRecord | None = None

    def run(self) -> None:
        # The parent decides when the child ends; its death kills the child; the memory
        # limit counts from the address space inherited at the fork (compare.isolation).
        child_setup(self.memory)
        try:
            side = load_side(self.side) if isinstance(self.side, str) else self.side
        except Exception as error:  # noqa: BLE001 (the parent reports it)
            self.conn.send(_error_record("import", error))
            return
        try:
            self.split = experiment_split(self.exp)
            rng = make_rng(self.exp.seed)
            if self.exp.text == "tdt4265":
                self.conn.send(self.train_tdt4265(side, rng))
            else:
                self.conn.send(self.train_dd2424(side, rng))
        except Exception as error:  # noqa: BLE001 (the parent reports it)
            self.conn.send(_error_record("memory" if isinstance(error, MemoryError) else "crash",
                                         error))

    def train_tdt4265(self, side: NumpySide, rng: np.random.Generator) -> EndRecord:
        trainer = train.tdt4265_trainer(self.exp, self.split, rng, model_class=side.model_class,
                                        trainer_class=side.trainer_class)
        self.conn.send(InitRecord(copies({"w": trainer.model.w})))
        trainer.train(self.exp.max_epochs, on_step=self.on_step)
        return self.end({"w": trainer.model.w}, trainer.stopped_step, trainer.stopped_epoch,
                        trainer.best_step)

    def train_dd2424(self, side: NumpySide, rng: np.random.Generator) -> EndRecord:
        arguments = train.dd2424_arguments(self.exp, self.split, rng)
        if side.objective is not None:
            arguments["loss"] = side.objective
        self.conn.send(InitRecord(copies(arguments["init_network"])))
        params, _ = dd2424.mini_batch_gd(**arguments, on_step=self.on_step)
        return self.end(params, None, None, None)

    def on_step(self, record: StepRecord | ValidationRecord) -> None:
        """The trainer's hook: send the record. The update after ``max_steps`` is one too many:
        the run ends before it, with the parameters of the last step sent."""
        if isinstance(record, StepRecord):
            if self.max_steps is not None and record.step >= self.max_steps:
                self.conn.send(self.end(self.last.params, None, None, None))
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)  # this process's work is done; the parent has the end record
            self.last = record
        # without the trainer's checkpoint builder (a closure over its loop: not picklable,
        # and a parity run is never resumed)
        self.conn.send(dataclasses.replace(record, state=None)
                       if isinstance(record, StepRecord) else record)

    def end(self, params: dict[str, np.ndarray], stopped_step: int | None,
            stopped_epoch: int | None, best_step: int | None) -> EndRecord:
        last = self.last.step if self.last else None
        return EndRecord(last, stopped_step, stopped_epoch, best_step, copies(params),
                         final_metrics(self.exp.model, params, self.exp.lam, self.split))



def _error_record(kind: str, error: BaseException) -> ErrorRecord:
    """``error`` as text, with the last frames of its traceback outside this module."""
    frames = student_frames(error, lambda name: name != __file__)
    return ErrorRecord(kind, describe(error), "".join(traceback.format_list(frames[-5:])))


def _suspects(side: NumpySide | str) -> str:
    """The source files of the replaced pieces of the NumPy side: a guess at who ended the
    process."""
    if isinstance(side, str):
        return side.partition(":")[0].replace(".", "/") + ".py"
    pieces = [side.model_class, side.trainer_class]
    if side.objective is not None:
        pieces += [getattr(side.objective, f.name) for f in fields(side.objective)]
    files = {Path(inspect.getfile(piece)).name for piece in pieces
             if piece is not None and not piece.__module__.startswith("numpy_impl.")}
    return ", ".join(sorted(files)) or "numpy_impl"
