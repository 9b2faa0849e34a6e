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

Pausing for a checkpoint (SIGINT or SIGTERM in the parent, :mod:`compare.pause`): the child is
ahead of the parent, so the parent cannot ask it for the state of a step it has already left.
Instead the parent names a step the child has not passed (:meth:`PausePoint.choose`); the
child, after sending that update, keeps its trainer's checkpoint of it
(:class:`numpy_impl.steps.TrainerState`), sends what follows the update (a validation), and at
its next update sends a :class:`StateRecord` instead and exits. A run resumed from that
checkpoint (``state=``) starts with an :class:`InitRecord` of the parameters it resumes from
and redoes nothing the parent has seen: the validation after the resumed step, which its
trainer repeats, is not sent again.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from compare.isolation import child_setup, describe, student_frames
from numpy_impl import dd2424, train
from numpy_impl.draws import make_rng
from numpy_impl.experiments import Experiment, ExperimentError
from numpy_impl.interrupt import Interrupted
from numpy_impl.models import final_metrics
from numpy_impl.splits import Split, experiment_split
from numpy_impl.steps import StepRecord, TrainerState, ValidationRecord, copies
from numpy_impl.tdt4265 import BaseTrainer

DEFAULT_TIMEOUT = 60.0  # seconds the parent waits for each record
DEFAULT_MEMORY = 4 << 30  # bytes the child may allocate beyond what it inherits at the fork
#: Seconds the parent waits for a record once a signal asked it to stop (or twice the longest
#: wait for one so far, if longer): a NumPy side that hangs must not hold up Ctrl-C for the
#: whole ``timeout``, a slow one still reaches the pause.
SIGNAL_GRACE = 5.0
_POLL = 0.2  # seconds between the parent's looks at a signal while it waits for a record


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
    """The parameters before the first update, or after the update at ``step`` that a resumed
    run goes on from."""

    params: dict[str, np.ndarray]
    step: int | None = None


@dataclass(frozen=True)
class StateRecord:
    """The NumPy side's checkpoint after the update at the pause step; None when its trainer
    could not make one (``error`` says why)."""

    state: TrainerState | None
    error: str = ""


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


Record = InitRecord | StepRecord | ValidationRecord | EndRecord | StateRecord


class PausePoint:
    """The step at which the NumPy side keeps its checkpoint, agreed in memory both processes
    share (the child is forked after it is made): the child notes every update it has sent and
    learns whether it is the one; the parent names the first step the child has not passed."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._lock = context.Lock()
        self._passed = context.Value("q", -1, lock=False)  # the child's last update sent
        self._target = context.Value("q", -1, lock=False)  # -1: no pause asked for

    def passes(self, step: int) -> bool:
        """In the child, once update ``step`` is sent: whether to keep its checkpoint."""
        with self._lock:
            self._passed.value = step
            return self._target.value == step

    def choose(self, earliest: int, allowed: Callable[[int], bool]) -> int:
        """In the parent: the first step from ``earliest`` on that ``allowed`` accepts and the
        child has not passed; the child will keep its checkpoint there."""
        if not self._lock.acquire(timeout=DEFAULT_TIMEOUT):  # the child died holding it
            raise NumpySideError("timeout", "the NumPy side did not answer the pause")
        try:
            step = max(earliest, self._passed.value + 1)
            while not allowed(step):
                step += 1
            self._target.value = step
            return step
        finally:
            self._lock.release()


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
        state: a checkpoint of the NumPy side to resume from (see the module).

    ``pause``: where the child keeps a checkpoint; ``signum``: a signal asked the parent to
    stop (set by :class:`compare.pause.ParityPause`), so a record is awaited at most
    :data:`SIGNAL_GRACE` seconds (or twice the longest wait so far) more before
    :class:`Interrupted` is raised.
    """

    def __init__(self, exp: Experiment, side: NumpySide | str | None = None,
                 max_steps: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory: int = DEFAULT_MEMORY, state: TrainerState | None = None) -> None:
        if isinstance(side, str):
            check_spec(side)
        self.exp, self.side, self.max_steps = exp, side or NumpySide(), max_steps
        self.timeout, self.memory, self.state = timeout, memory, state
        self.pause = PausePoint()
        self.signum: int | None = None
        self.last_step: int | None = None  # the last update received, for the messages
        self.slowest = 0.0  # the longest wait for a record so far, in seconds
        self._process: multiprocessing.Process | None = None
        self._conn: Connection | None = None
        self._peeked: Record | None = None

    def start(self) -> None:
        """Fork the child; it starts training at once."""
        context = multiprocessing.get_context("fork")
        self._conn, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_Child(sender, self.exp, self.side, self.max_steps, self.memory,
                          self.state, self.pause).run,
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
        start = time.monotonic()
        while not self._conn.poll(_POLL):
            waited = time.monotonic() - start
            grace = max(SIGNAL_GRACE, 2 * self.slowest)
            if self.signum is not None and waited >= grace:
                self.stop()
                raise Interrupted(self.signum, note=f"the NumPy side sent nothing for "
                                  f"{grace:.3g} s after it")
            if waited >= self.timeout:
                self.stop()
                raise NumpySideError("timeout", f"the NumPy side produced no record for "
                                     f"{self.timeout:g} s {self._where()}; stopped it")
        self.slowest = max(self.slowest, time.monotonic() - start)
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
                 max_steps: int | None, memory: int, state: TrainerState | None,
                 pause: PausePoint) -> None:
        self.conn, self.exp, self.side, self.max_steps = conn, exp, side, max_steps
        self.memory, self.state, self.pause = memory, state, pause
        self.split: Split | None = None
        self.last: StepRecord | None = None
        self.kept: StateRecord | None = None  # the checkpoint of the pause step, once passed

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
        self.conn.send(self.initial({"w": trainer.model.w}))
        # only when resuming: a replaced trainer's train() may not take a state
        resume = {} if self.state is None else {"state": self.state}
        trainer.train(self.exp.max_epochs, on_step=self.on_step, **resume)
        return self.end({"w": trainer.model.w}, trainer.stopped_step, trainer.stopped_epoch,
                        trainer.best_step)

    def train_dd2424(self, side: NumpySide, rng: np.random.Generator) -> EndRecord:
        arguments = train.dd2424_arguments(self.exp, self.split, rng)
        if side.objective is not None:
            arguments["loss"] = side.objective
        self.conn.send(self.initial(arguments["init_network"]))
        params, _ = dd2424.mini_batch_gd(**arguments, on_step=self.on_step, state=self.state)
        return self.end(params, None, None, None)

    def initial(self, params: dict[str, np.ndarray]) -> InitRecord:
        """The parameters training starts from: ``params``, or the resumed checkpoint's."""
        if self.state is None:
            return InitRecord(copies(params))
        return InitRecord(copies(self.state.params), self.state.step)

    def on_step(self, record: StepRecord | ValidationRecord) -> None:
        """The trainer's hook: send the record. The update after ``max_steps`` is one too many:
        the run ends before it, with the parameters of the last step sent; so is the update
        after the pause step: the run ends with that step's checkpoint (see the module)."""
        if isinstance(record, ValidationRecord):
            if self.state is None or record.step != self.state.step:
                self.conn.send(record)
            return
        if self.max_steps is not None and record.step >= self.max_steps:
            self.exit_with(self.end(self.last.params, None, None, None))
        if self.kept is not None:
            self.exit_with(self.kept)
        self.last = record
        # without the trainer's checkpoint builder (a closure over its loop: not picklable)
        self.conn.send(dataclasses.replace(record, state=None))
        if self.pause.passes(record.step):
            self.kept = self.checkpoint(record)

    def checkpoint(self, record: StepRecord) -> StateRecord:
        """The trainer's checkpoint after ``record``'s update, noting the experiment."""
        if record.state is None:
            return StateRecord(None, "its trainer makes no checkpoints")
        try:
            state = record.state()
        except Exception as error:  # noqa: BLE001 (a replaced trainer may not support it)
            return StateRecord(None, f"its trainer's checkpoint raised {describe(error)}")
        state.config = self.exp.config
        return StateRecord(state)

    def exit_with(self, record: EndRecord | StateRecord) -> None:
        """Send the last record and end this process (the parent has all it needs)."""
        self.conn.send(record)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

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
