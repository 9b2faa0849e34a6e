"""The NumPy side of a parity run: numpy_impl's own trainer, or one with a student's pieces, in
a child process that hands over one record at a time through a pipe.

The trainer is the project's real one (:func:`numpy_impl.run.train.training` builds it from
the experiment, as ``python -m numpy_impl`` does), so compare also verifies its batching,
validation cadence, early stopping and learning-rate decay. :class:`NumpySide` replaces pieces
of it: a deliberately wrong model (the suite's negative tests) or a student's own.

Why a child process: the NumPy side may be a student's code (which runs in a sandbox the child
drives, see below) or a deliberately broken side of the suite's, and whatever it does (raises,
loops forever, calls ``sys.exit``, allocates far too much) must end in a clear error, never in
a hang or a crash of compare. The child (forked: it needs no torch, and inherits the side's
classes and the loaded split without pickling them) holds the trainer's generator of records
(:mod:`numpy_impl.steps`) and answers the parent's requests over a pipe, one at a time:

* ``NEXT``: it computes its next record and sends it. A step's record travels without its batch:
  X and Y are replaced by their digest (:func:`batch_digest`), which the parent compares with the
  digest of Lightning's batch; only when they differ does the parent ask for the batch itself
  (``BATCH``) to name the first element that differs. Its gradients and parameters do not go
  through the pipe either: they go through a shared mapping made before the fork
  (:class:`SharedArrays`), and the pipe carries their places. The parent takes a step's answer after
  Lightning's forward and backward and asks for the next record at once (at the latest, at the
  next batch's start), so the two sides compute the same step at the same time.
* ``CHECKPOINT``: it sends the trainer's checkpoint after the last record it sent (a pause) and
  exits.

The parent waits at most ``timeout`` seconds for each answer (:meth:`NumpyProcess.next`); what
the child did instead of answering becomes a :class:`NumpySideError`:

* it raised: the child sends an :class:`ErrorRecord` (type, message, its last frames);
* it sent nothing for ``timeout`` seconds: the parent kills it;
* it exited (``sys.exit``, ``os._exit``) or was killed (out of memory): the parent reads the
  end of the pipe and reports the exit status or the signal.

Who runs where (the trust boundary, the same as ``python -m compare.check``'s): the parent and
the child run trusted code only. A ``--numpy-side module:NAME`` of the project's own packages
(:data:`compare.check.sandbox.PROJECT`: numpy_impl, lightning_ref, compare, bench, where the
project keeps them, :func:`trusted`; e.g. ``compare.parity.wrong:NO_MEAN_GRADIENT``), or a
:class:`NumpySide` passed to ``run_parity``, is trusted and runs in the child, imported there.
Any other module is a student's and never runs in the child or the parent (a student's
``bench.py`` in the current folder included): the child finds its file without importing it
(:func:`locate_module`), copies it and its sibling ``.py`` files into compare.check's sandbox
(:class:`compare.check.session.Session`: a worker process in its own namespaces or at least its
own session, uid and hard limits, that cannot import the project's packages; loaded as the
grader loads a hand-in, definitions only) and plays the student's model class there
(:class:`SandboxedSide`): the trainer gets a :class:`SandboxedModel`, which forwards every call
and attribute to the worker through compare.check's channel (plain values and arrays, no
pickle, a size cap, a deadline of ``timeout`` seconds per call). Only the TDT4265 model class
can come from a student's module (a trainer class would have to subclass numpy_impl's, which
the sandbox does not offer); ``python -m compare.check`` grades a whole hand-in. The split's
sets, which every validation passes to the model, cross into the worker once
(:meth:`SandboxedSide.keep`). So the
records' pipe (pickle) connects two trusted processes: nothing a student's code does can
write to it, walk to it through the stack, or patch the trainer that fills it; the most it can
do is return wrong numbers from its own model, or break its own channel (an error, no
verdict). The sandbox's worker dies with the child; the parent removes the scratch folder of a
child it had to kill (:meth:`NumpyProcess.stop`).

Pausing for a checkpoint (SIGINT or SIGTERM in the parent, :mod:`compare.parity.pause`): the
child computes nothing it was not asked for, and the parent stops where it has not asked ahead,
so at the pause it asks for the checkpoint of the last step both sides have made
(:meth:`NumpyProcess.checkpoint`). A run
resumed from it (``state=``) starts with an :class:`InitRecord` of the parameters it resumes
from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import inspect
import mmap
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib.machinery import PathFinder, SourceFileLoader
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from compare.check import sandbox
from compare.check.session import HandInAborted, HandInRaised, Job, LoadError, Remote, Session
from compare.isolation import child_setup, describe, student_frames
from numpy_impl import dd2424
from numpy_impl.draws import make_rng
from numpy_impl.models import final_metrics
from numpy_impl.run import train
from numpy_impl.run.experiments import Experiment, ExperimentError, experiment_split
from numpy_impl.splits import Split
from numpy_impl.steps import StepRecord, TrainerState, ValidationRecord, copies
from numpy_impl.tdt4265 import BaseTrainer
from numpy_impl.texts import TEXTS

DEFAULT_TIMEOUT = 60.0  # seconds the parent waits for each record
DEFAULT_MEMORY = 4 << 30  # bytes the child may allocate beyond what it inherits at the fork
NEXT, CHECKPOINT, BATCH = "next", "checkpoint", "batch"  # the parent's requests
#: The sandbox's worker may use this much address space beyond ``memory`` (its own Python and
#: NumPy: the child's ``memory`` counts beyond what it inherits, the worker inherits nothing).
WORKER_BASE = 1 << 30
#: CPU seconds the sandbox's worker may use in all (a hard rlimit, a backstop only: every call
#: into it has a deadline of ``timeout`` seconds).
WORKER_CPU_SECONDS = 24 * 3600.0
#: What ``python -m compare.check`` grades (named in the messages for what a student's module
#: cannot give here).
CHECK_HINT = ("`python -m compare.check tdt4265 FOLDER` grades a whole hand-in, its trainer "
              "included")
#: Arrays of the split this large or larger cross into a student's sandbox once
#: (:meth:`SandboxedSide.keep`): every validation passes the whole sets to the model's forward.
KEEP_BYTES = 1 << 20
#: Room in the shared mapping for one step record's gradients and parameters (DD2424's W and b
#: and their gradients take 0.5 MB in float64); what does not fit goes through the pipe.
SHARED_BYTES = 8 << 20
T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder of compare/, numpy_impl/, ...


@dataclass(frozen=True)
class NumpySide:
    """Which NumPy implementation compare trains; every piece left None is numpy_impl's own.

    Attributes:
        model_class: TDT4265's model, built as ``model_class(l2_reg_lambda)`` with the
            starter's interface (``w``, ``forward``, ``backward`` storing ``grad``); a class,
            or for a student's module the factory of :class:`SandboxedModel`.
        trainer_class: TDT4265's trainer, a :class:`numpy_impl.tdt4265.BaseTrainer` subclass
            (it may replace ``batch_loader``, ``train_step``, the early-stopping rule, ...).
        objective: DD2424's :class:`numpy_impl.dd2424.Objective` (apply, loss, cost, backward).
    """

    model_class: type | Callable[..., Any] | None = None
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
    """The NumPy side's checkpoint after the last record it sent; None when its trainer could
    not make one (``error`` says why)."""

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
    frames of its traceback. A student's model in the sandbox (:class:`SandboxedSide`) may also
    have exited ("exit"), run out of time ("timeout") or broken its channel: then ``what`` says
    what it did instead of ``raised ERROR`` and ``after`` what follows the step in the message
    (``the NumPy side {what} after step 3{after}``)."""

    kind: str
    error: str
    frames: str
    what: str = ""
    after: str = ""


Record = InitRecord | StepRecord | ValidationRecord | EndRecord | StateRecord


@dataclass(frozen=True)
class Shared:
    """Where an array of a step record lies in the shared mapping (:class:`SharedArrays`)."""

    offset: int
    dtype: str
    shape: tuple[int, ...]


class SharedArrays:
    """An anonymous shared mapping, made before the fork, through which the child hands over a
    step record's gradients and parameters instead of pickling them into the pipe (a DD2424
    record's 0.5 MB cost the parent 0.3-0.5 ms a step to read and unpickle).

    The child copies the arrays in (:meth:`put`) and sends their places (:class:`Shared`); the
    parent copies them out as it receives the record (:meth:`take`), before it asks for the
    next one: the child writes only when asked, so the room of one record is enough and never
    written while it is read. An array that does not fit, or is not a plain array, goes
    through the pipe as before."""

    def __init__(self, size: int = SHARED_BYTES) -> None:
        self.memory = mmap.mmap(-1, size)

    def put(self, *groups: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        """Each dict of arrays with every array that fits replaced by its place."""
        offset, placed = 0, []
        for arrays in groups:
            out: dict[str, Any] = {}
            for name, a in arrays.items():
                if (type(a) is np.ndarray and not a.dtype.hasobject
                        and offset + a.nbytes <= len(self.memory)):
                    np.ndarray(a.shape, a.dtype, self.memory, offset)[...] = a
                    out[name] = Shared(offset, a.dtype.str, a.shape)
                    offset += -(-a.nbytes // 64) * 64  # the next array starts 64-byte aligned
                else:
                    out[name] = a
            placed.append(out)
        return tuple(placed)

    def take(self, arrays: dict[str, Any]) -> dict[str, Any]:
        """``arrays`` with every place replaced by a copy of the array there."""
        return {name: np.ndarray(a.shape, a.dtype, self.memory, a.offset).copy()
                if isinstance(a, Shared) else a for name, a in arrays.items()}


def batch_digest(X: np.ndarray, Y: np.ndarray) -> tuple[Any, ...]:
    """What identifies a batch bit for bit, in a few bytes: each array's dtype, shape, memory
    order and CRC-32 of its bytes in that order ("F" for a column-major array, such as a
    DD2424 batch of whole image columns, which is read as it lies instead of copied; "C"
    otherwise). It spares the pipe the batch (2.4 MB a step on DD2424). Equal digests are
    equal batches; a batch of the same values in another order has another digest, and then
    the batches themselves are compared (:meth:`Lockstep._take`), which is slower, not
    wrong."""
    def digest(a: np.ndarray) -> tuple[Any, ...]:
        order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
        memory = a.T if order == "F" else np.ascontiguousarray(a)
        return a.dtype.str, a.shape, order, zlib.crc32(memory.data)
    return digest(X), digest(Y)


class NumpySideError(RuntimeError):
    """The NumPy side ended without a verdict. ``kind`` says how: "crash" (it raised),
    "memory" (a MemoryError, or killed as the kernel kills for memory), "timeout" (no record
    in time), "exit" (it exited without its final record) or "import" (its ``module:NAME``
    could not be loaded). ``frames``: the traceback of the student's code, where known."""

    def __init__(self, kind: str, message: str, frames: str = "") -> None:
        super().__init__(message)
        self.kind, self.frames = kind, frames


def trusted(spec: str) -> bool:
    """Whether ``module:NAME`` names the project's own code (a module of numpy_impl,
    lightning_ref, compare or bench), which the child imports; any other module is a student's,
    which runs only in the sandbox (see the module doc).

    By the name and by where importing it would load it from: the project's package beside
    ``compare/`` (a student's ``bench.py`` in the current folder would shadow the project's
    ``bench``, and must not be imported here). Nothing is imported to find out."""
    top = spec.partition(":")[0].split(".")[0]
    if top not in sandbox.PROJECT:
        return False
    module = sys.modules.get(top)
    if module is not None:
        locations = list(getattr(module, "__path__", None) or [])
    else:
        found = importlib.util.find_spec(top)  # a top-level name: imports nothing
        locations = list(found.submodule_search_locations or []) if found else []
    return any(Path(location).resolve() == PROJECT_ROOT / top for location in locations)


def load_side(spec: str) -> NumpySide:
    """``module:NAME`` -> a NumpySide: ``NAME`` itself if it is one; a TDT4265 trainer class
    (a BaseTrainer subclass) or DD2424 Objective in its place; any other class as the TDT4265
    model class (the starter's interface: ``w``, ``forward``, ``backward``, ``grad``).

    Imports the module: for the project's own modules (:func:`trusted`) only, which the child
    loads this way; a student's module is loaded in the sandbox instead
    (:class:`SandboxedSide`)."""
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


def check_spec(spec: str, exp: Experiment | None = None) -> None:
    """Refuse a ``--numpy-side`` that is not of the form ``module:NAME``, or (given the
    experiment) a student's module for a DD2424 experiment: a usage error."""
    module_name, colon, name = spec.partition(":")
    if not (module_name and colon and name.isidentifier()):
        raise ExperimentError(
            f"--numpy-side {spec!r}: expected module:NAME naming a compare.NumpySide, a TDT4265 "
            "model or trainer class, or a DD2424 Objective (e.g. "
            "compare.parity.wrong:NO_MEAN_GRADIENT, or my_task3a:SoftmaxModel with my_task3a.py "
            "in the current folder)")
    if exp is not None and not TEXTS[exp.text].student_model and not trusted(spec):
        raise ExperimentError(
            f"--numpy-side {spec!r}: a module of your own runs in a sandbox and may give only a "
            f"TDT4265 model class, and {exp.name} is a DD2424 experiment; `python -m "
            "compare.check dd2424 FILE` grades a whole DD2424 hand-in")


def check_module(spec: str) -> None:
    """Refuse a ``--numpy-side`` whose module cannot be found, in one line naming it (a usage
    error, found before any training starts). A module of the project's packages is looked up
    by importing its packages (trusted code); any other is found by :func:`locate_module`,
    without importing anything."""
    module_name = spec.partition(":")[0]
    try:
        if trusted(spec):
            if importlib.util.find_spec(module_name) is None:
                raise ModuleNotFoundError(f"No module named {module_name!r}", name=module_name)
        else:
            locate_module(module_name)
    except ImportError as err:
        raise ExperimentError(f"--numpy-side {spec!r}: {err} (in the current folder "
                              f"{os.getcwd()} or on sys.path)") from None


class NumpyProcess:
    """One experiment trained by the NumPy side in a child process, one record per request (see
    the module): an InitRecord first, then Step- and ValidationRecords, then an EndRecord.

    Args:
        side: the pieces to replace, or ``"module:NAME"`` (a project module imported in the
            child, see :func:`load_side`; any other module loaded in the sandbox, see
            :class:`SandboxedSide`); None: numpy_impl's own.
        max_steps: the child stops after that many updates and sends the EndRecord of the last
            one (its parameters and their metrics).
        timeout: seconds to wait for each record (and for each call into the sandbox).
        memory: bytes the child may allocate beyond the address space it inherits (and the
            sandbox's worker beyond :data:`WORKER_BASE`).
        state: a checkpoint of the NumPy side to resume from.
        split: the experiment's split, already loaded by the parent (``experiment_split``: the
            child inherits it at the fork instead of loading it again); None: the child loads it.
    """

    def __init__(self, exp: Experiment, side: NumpySide | str | None = None,
                 max_steps: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory: int = DEFAULT_MEMORY, state: TrainerState | None = None,
                 split: Split | None = None) -> None:
        if isinstance(side, str):
            check_spec(side, exp)
        self.exp, self.side, self.max_steps = exp, side or NumpySide(), max_steps
        self.sandboxed = isinstance(side, str) and not trusted(side)
        self.timeout, self.memory, self.state = timeout, memory, state
        self.split = split
        self.last_step: int | None = None  # the last update received, for the messages
        self._process: multiprocessing.Process | None = None
        self._conn: Connection | None = None
        self._asked = False  # a NEXT is on its way: its answer not yet received
        self._peeked: Record | None = None
        self._shared: SharedArrays | None = None  # made at start, before the fork

    def start(self) -> None:
        """Fork the child; it loads the side, sends the InitRecord and waits for requests."""
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe(duplex=True)
        self._shared = SharedArrays()
        self._process = context.Process(
            target=_Child(child_end, self.exp, self.side, self.max_steps, self.memory,
                          self.state, self.timeout, self.split, self._shared).run,
            name="numpy-side", daemon=True)
        self._process.start()
        child_end.close()  # the child holds the only other end: its exit reads as EOF here
        self._asked = True  # the InitRecord comes unasked

    def ask(self) -> None:
        """Ask for the next record without waiting for it (the child computes it meanwhile);
        nothing when it is already asked for or received."""
        if not self._asked and self._peeked is None:
            self._send(NEXT)
            self._asked = True

    def peek(self) -> Record:
        """The next record, left in place for :meth:`next`."""
        if self._peeked is None:
            self.ask()
            self._peeked = self._receive()
            self._asked = False
        return self._peeked

    def next(self) -> Record:
        """The next record; waits for it at most ``timeout`` seconds."""
        record, self._peeked = self.peek(), None
        return record

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The batch X, Y of the last step record received (sent only when asked for)."""
        assert not self._asked and self._peeked is None, "the batch of the record just taken"
        self._send(BATCH)
        X, Y = self._receive()
        return X, Y

    def checkpoint(self) -> StateRecord:
        """The child's checkpoint after the last record taken; the child then exits."""
        if self._asked or self._peeked is not None:  # it has gone past the records taken
            return StateRecord(None, "the NumPy side had gone past the step (a mismatch)")
        self._send(CHECKPOINT)
        record = self._receive()
        assert isinstance(record, StateRecord), f"expected the checkpoint, got {record}"
        return record

    def stop(self) -> None:
        """Kill the child if it still runs and wait for it; safe to call on every exit path,
        more than once, and before :meth:`start`."""
        if self._process is not None:
            if self._process.exitcode is None:
                self._process.kill()
            self._process.join()
            if self.sandboxed and self._process.pid is not None:
                _sweep_sandbox(self._process.pid)
        if self._conn is not None:
            self._conn.close()

    def _send(self, request: str) -> None:
        assert self._conn is not None, "NumpyProcess.start() first"
        try:
            self._conn.send(request)
        except (BrokenPipeError, ConnectionResetError):
            raise self._exited() from None

    def _receive(self) -> Any:
        assert self._conn is not None, "NumpyProcess.start() first"
        # a signal's handler runs during the wait (and may raise: a second Ctrl-C)
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
            head = record.what or f"raised {record.error}"
            raise NumpySideError(record.kind, f"the NumPy side {head} {self._where()}"
                                 f"{record.after}", record.frames)
        if isinstance(record, StepRecord):
            assert self._shared is not None
            self.last_step = record.step
            record = dataclasses.replace(record, grads=self._shared.take(record.grads),
                                         params=self._shared.take(record.params))
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
    """What runs in the child process: the trainer's generator, one record per request."""

    def __init__(self, conn: Connection, exp: Experiment, side: NumpySide | str,
                 max_steps: int | None, memory: int, state: TrainerState | None,
                 timeout: float, split: Split | None, shared: SharedArrays) -> None:
        self.conn, self.exp, self.side, self.max_steps = conn, exp, side, max_steps
        self.memory, self.state, self.timeout, self.shared = memory, state, timeout, shared
        self.split: Split | None = split  # the parent's, inherited at the fork, or loaded here
        self.last: StepRecord | None = None  # the last step record sent
        self.last_params: dict[str, np.ndarray] | None = None  # its parameters (max_steps)
        self.sandboxed: SandboxedSide | None = None  # a student's module, once loaded

    def run(self) -> None:
        # The parent decides when the child ends; its death kills the child; the memory
        # limit counts from the address space inherited at the fork (compare.isolation).
        child_setup(self.memory)
        try:
            record = self.serve()
        except SandboxFailure as failure:  # the student's model, in the sandbox
            record = failure.record
        except EOFError:  # the parent closed the pipe: nothing more to answer
            record = None
        except Exception as error:  # noqa: BLE001 (the parent reports it)
            record = _error_record("memory" if isinstance(error, MemoryError) else "crash",
                                   error)
        self.close()
        if record is not None:
            with contextlib.suppress(OSError):  # the parent may have gone
                self.conn.send(record)

    def serve(self) -> EndRecord | StateRecord | ErrorRecord:
        """Load the side (an ErrorRecord "import" if it cannot be), send the InitRecord, then
        answer every request until the run ends or a checkpoint is asked for; the last
        record."""
        try:
            side = self.load()
        except SandboxFailure:
            raise
        except Exception as error:  # noqa: BLE001 (the parent reports it)
            return _error_record("import", error)
        if self.split is None:
            self.split = experiment_split(self.exp)
        if self.sandboxed is not None:  # the sets every validation passes, sent once
            self.sandboxed.keep(self.split.X_train, self.split.X_val, self.split.X_test)
        run = train.training(self.exp, self.split, make_rng(self.exp.seed), self.state,
                             model_class=side.model_class, trainer_class=side.trainer_class,
                             objective=side.objective)
        self.conn.send(self.initial(run))
        while True:
            request = self.conn.recv()
            if request == CHECKPOINT:
                return self.checkpoint()
            if request == BATCH:
                assert self.last is not None
                self.conn.send((self.last.X, self.last.Y))
                continue
            record = next(run.records, None)
            if record is None:
                return self.end(run.outcome())
            if isinstance(record, StepRecord):
                if self.max_steps is not None and record.step >= self.max_steps:
                    # one update too many: the run ends with the parameters of the last one
                    assert self.last_params is not None
                    return self.end((self.last_params, {}, {}))
                self.last = record
                if self.max_steps is not None:
                    self.last_params = copies(record.params)
                # without its batch (a digest instead) and the trainer's checkpoint method,
                # its arrays in the shared mapping
                grads, params = self.shared.put(record.grads, record.params)
                record = dataclasses.replace(record, X=batch_digest(record.X, record.Y),
                                             Y=None, state=None, grads=grads, params=params)
            self.conn.send(record)

    def load(self) -> NumpySide:
        """The side: as given; a project module's, imported here; a student's module's, in the
        sandbox (see the module doc)."""
        if not isinstance(self.side, str):
            return self.side
        if trusted(self.side):
            return load_side(self.side)
        self.sandboxed = SandboxedSide(self.side, self.timeout, self.memory)
        return self.sandboxed.open()

    def close(self) -> None:
        """End the sandbox's worker and remove its scratch folder (before the last record: the
        parent may kill this process once it has that)."""
        if self.sandboxed is not None:
            self.sandboxed.close()
            self.sandboxed = None

    def initial(self, run: train.Training) -> InitRecord:
        """The parameters training starts from: the trainer's, or the resumed checkpoint's."""
        if self.state is None:
            return InitRecord(copies(run.params()))
        return InitRecord(copies(self.state.params), self.state.step)

    def checkpoint(self) -> StateRecord:
        """The trainer's checkpoint after the last record sent, noting the experiment."""
        if self.last is None or self.last.state is None:
            return StateRecord(None, "its trainer makes no checkpoints" if self.last else
                               "no update yet")
        try:
            state = self.last.state()
        except Exception as error:  # noqa: BLE001 (a replaced trainer may not support it)
            return StateRecord(None, f"its trainer's checkpoint raised {describe(error)}")
        state.config = self.exp.config
        return StateRecord(state)

    def end(self, outcome: tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]
            ) -> EndRecord:
        params, _, stopping = outcome
        last = self.last.step if self.last else None
        return EndRecord(last, stopping.get("stopped_step"), stopping.get("stopped_epoch"),
                         stopping.get("best_step"), copies(params),
                         final_metrics(self.exp.model, params, self.exp.lam, self.split))


# ------------------------------------------------------------------- a student's module: sandbox


class SandboxFailure(Exception):
    """The student's code in the sandbox did not answer a call: :attr:`record` is the
    ErrorRecord the child sends (see :class:`ErrorRecord` for ``what`` and ``after``)."""

    def __init__(self, kind: str, error: str = "", what: str = "", after: str = "") -> None:
        super().__init__(error or f"{what}{after}")
        self.record = ErrorRecord(kind, error, "", what, after)


def locate_module(module_name: str) -> Path:
    """The source file ``module_name`` would be imported from (the current folder first, then
    ``sys.path``), found without importing anything: not the module, not a package above it
    (``importlib.util.find_spec`` would import those, running a student's ``__init__.py``).

    Raises ModuleNotFoundError (Python's message), or ImportError for a package or a module
    that is not a ``.py`` file."""
    search = [os.getcwd(), *sys.path]
    parts = module_name.split(".")
    spec = None
    for i in range(len(parts)):
        name = ".".join(parts[:i + 1])
        spec = PathFinder.find_spec(name, search)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        search = list(spec.submodule_search_locations or [])
    assert spec is not None
    if spec.submodule_search_locations is not None:
        raise ImportError(f"{module_name} is a package: --numpy-side takes the module (a .py "
                          "file) that defines the class")
    if not isinstance(spec.loader, SourceFileLoader) or spec.origin is None:
        raise ImportError(f"{module_name} ({spec.origin}) is not a Python source file")
    return Path(spec.origin).resolve()


def _stage(folder: Path, into: Path) -> None:
    """Copy ``folder``'s own ``.py`` files (the module and the siblings it may import) into
    ``into``: no links, no subfolders, at most :data:`compare.check.sandbox.MAX_COPY` bytes."""
    total = 0
    for path in sorted(folder.glob("*.py")):
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > sandbox.MAX_COPY:
            raise ImportError(f"the .py files of {folder} hold more than "
                              f"{sandbox.MAX_COPY >> 20} MB")
        shutil.copyfile(path, into / path.name)


class SandboxedSide:
    """A student's ``module:NAME`` (a TDT4265 model class), loaded in compare.check's sandbox.

    Made and used in the child (a :class:`compare.check.session.Session` belongs to the process
    that made it; its worker dies with that process) and closed there on every way out
    (:meth:`close`). :meth:`open` copies the module's file and its sibling ``.py`` files into the
    session's scratch folder, finds ``NAME`` there and checks that it is a model class; the
    NumpySide it returns builds :class:`SandboxedModel` objects. Every call into the worker has
    a deadline of ``timeout`` seconds, and what the student's code does instead of answering
    becomes a :class:`SandboxFailure` (:meth:`call`).
    """

    def __init__(self, spec: str, timeout: float, memory: int) -> None:
        self.spec, self.timeout = spec, timeout
        self.module_name, _, self.name = spec.partition(":")
        self.limits = sandbox.Limits(per_check=timeout, total=WORKER_CPU_SECONDS,
                                     memory=memory + WORKER_BASE)
        self.session: Session | None = None
        self.file = self.module_name.rpartition(".")[2] + ".py"
        self.cls: Remote | None = None
        self.kept: dict[int, tuple[np.ndarray, Remote]] = {}  # id -> (array, its handle)

    def open(self) -> NumpySide:
        """Load the module in a new sandbox; the side whose model class is ``NAME``. Raises
        ModuleNotFoundError or ImportError (the module cannot be found), or SandboxFailure."""
        path = locate_module(self.module_name)
        self.file = path.name
        staging = Path(tempfile.mkdtemp(prefix="compare-numpy-side-"))
        try:
            _stage(path.parent, staging)
            self.session = Session(Job(path=staging, assignment="tdt4265",
                                       mode=sandbox.best_mode(), limits=self.limits))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        session = self.session
        reply = self.call(lambda: session.call("find", files=[path.stem], names=[self.name],
                                               any_value=True))
        found = reply.get("found") if isinstance(reply, dict) else None
        if found is None:
            raise ImportError(f"cannot import name {self.name!r} from {self.module_name!r} "
                              f"({path})")
        problem = self._not_a_model(found)
        if problem:
            raise SandboxFailure(
                "import", what="could not be loaded",
                after=f": {self.spec} is {problem}; from a module of your own --numpy-side "
                "takes only a TDT4265 model class (the starter's interface: called with "
                "l2_reg_lambda; w, forward, backward storing grad), which runs in a sandbox; "
                f"{CHECK_HINT}")
        self.cls = found
        return NumpySide(model_class=self.model)

    def _not_a_model(self, found: Any) -> str:
        """What ``found`` is instead of a model class ('' when it is one)."""
        if not isinstance(found, Remote):
            return f"a value ({type(found).__name__}), not a class"
        session = self.session
        assert session is not None

        def has(name: str) -> bool:
            try:
                self.call(lambda: session.call("getattr", target=found, name=name))
            except SandboxFailure as failure:
                if failure.record.error.startswith("AttributeError"):
                    return False
                raise
            return True

        if not has("__mro__"):
            return "not a class"
        if has("forward") and has("backward"):
            return ""
        if has("train_step"):
            return "a trainer class"
        return "a class without forward and backward"

    def keep(self, *arrays: np.ndarray | None) -> None:
        """Send each of ``arrays`` of :data:`KEEP_BYTES` or more (the split's sets) to the
        worker once; a call into the worker that passes one of them names it instead
        (:meth:`in_worker`; the worker hands the student's code a fresh copy every time).
        Without this every validation sent the whole training set into the sandbox (125 MB
        for TDT4265's 20,000 images, about a second). The arrays are made read-only here, so
        that the worker's copy stays what they are."""
        session = self.session
        assert session is not None, "SandboxedSide.open() first"
        for array in arrays:
            if (type(array) is np.ndarray and array.nbytes >= KEEP_BYTES
                    and id(array) not in self.kept):
                array.flags.writeable = False
                self.kept[id(array)] = (array, self.call(
                    lambda array=array: session.call("keep", value=array)))

    def in_worker(self, value: Any) -> Any:
        """``value``, or its handle in the worker if it is an array :meth:`keep` sent."""
        found = self.kept.get(id(value))
        return found[1] if found is not None and found[0] is value else value

    def model(self, *args: Any, **kwargs: Any) -> SandboxedModel:
        """A new instance of the student's class (``NAME(l2_reg_lambda)``), in the worker."""
        cls = self.cls
        assert cls is not None, "SandboxedSide.open() first"
        return SandboxedModel(self, self.call(lambda: cls(*args, **kwargs)))

    def call(self, action: Callable[[], T]) -> T:
        """``action()`` (a request to the worker) within ``timeout`` seconds; the hand-in's
        exception, exit, time-out or death as a :class:`SandboxFailure`. An AttributeError of
        an attribute read (:class:`Remote` raises it) passes as it is."""
        assert self.session is not None, "SandboxedSide.open() first"
        worker = self.session.worker  # None before the first call, which starts it
        self.session.deadline = time.monotonic() + self.timeout
        try:
            return action()
        except HandInRaised as e:
            raise SandboxFailure("memory" if e.type == "MemoryError" else "crash",
                                 e.describe()) from None
        except HandInAborted as e:
            raised = e.raised
            where = str(raised.get("where", "")) or f" in {self.file}"
            if raised.get("exit"):
                raise SandboxFailure("exit", what=f"exited with status "
                                     f"{_exit_status(raised.get('code'))}",
                                     after=f" (sys.exit{where})") from None
            raise SandboxFailure("crash", f"{raised.get('type')}: {raised.get('message')}"
                                 f"{raised.get('where', '')}") from None
        except LoadError as e:
            raise SandboxFailure("import", what="could not be loaded", after=f": {e}") from None
        except sandbox.TimeLimit:
            raise SandboxFailure("timeout", what=f"gave no answer for {self.timeout:g} s",
                                 after="; stopped it") from None
        except sandbox.WorkerGone as e:
            raise self._gone(e, worker) from None
        finally:
            self.session.deadline = float("inf")

    def _gone(self, error: sandbox.WorkerGone, worker: sandbox.Worker | None) -> SandboxFailure:
        """The worker's process ended or broke its channel (it has been killed)."""
        code = None if worker is None else worker.process.returncode
        if worker is not None and code is not None and worker.mode == "namespace":
            # bubblewrap reports its worker's death by a signal as 128 + N; bubblewrap itself
            # killed (a negative status) means the grader killed it: a broken channel
            code = -(code - 128) if code > 128 else None if code < 0 else code
        elif code is not None and code < 0 and "killed by" not in error.reason:
            code = None  # the grader killed it for a malformed message
        if code is None:
            return SandboxFailure("crash", what="failed in its sandbox",
                                  after=f": {error.reason}")
        if code < 0:
            name = (signal.Signals(-code).name if -code in signal.Signals._value2member_map_
                    else str(-code))
            if -code == signal.SIGKILL:
                return SandboxFailure("memory", what=f"was killed ({name})",
                                      after=": out of memory or CPU time?")
            return SandboxFailure("crash", what=f"died of {name}")
        return SandboxFailure("exit", what=f"exited with status {code}",
                              after=f" (os._exit in {self.file}?)")

    def close(self) -> None:
        """Kill the worker and remove the scratch folder; safe to call more than once."""
        if self.session is not None:
            session, self.session = self.session, None
            session.close()


_ABSENT = object()


class SandboxedModel:
    """A student's model object, living in the sandbox's worker, as the trainer uses it.

    Attribute reads, writes and method calls go to the worker (:class:`Remote`), except ``w``:
    the worker returns arrays as copies, and the trainer updates ``w`` in place
    (``F.sgd_update``: ``w -= lr * grad`` on the array). So ``w`` is kept here, sent to the
    worker before every call into it if it changed since (:meth:`_push`), and read back after
    it (:meth:`_pull`): the student's methods always see the trainer's weights and the trainer
    sees whatever they did to ``w``, as with a local object. ``grad``, ``l2_reg_lambda`` and the
    rest are read from the worker each time they are used; an attribute the object lacks raises
    AttributeError, so ``getattr(model, "scores", None)`` sees exactly what the class defines.
    """

    def __init__(self, side: SandboxedSide, remote: Remote) -> None:
        vars(self).update(_side=side, _remote=remote, _sent=None)
        self._pull()

    def __getattr__(self, name: str) -> Any:  # every name but w, and w if the object has none
        if name.startswith("_"):
            raise AttributeError(name)
        remote = self._remote
        try:
            value = self._side.call(lambda: getattr(remote, name))
        except AttributeError:
            raise AttributeError(f"{self._side.name!r} object has no attribute "
                                 f"{name!r}") from None
        return _Method(self, value) if isinstance(value, Remote) else value

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "w":
            vars(self)["w"] = value  # sent before the next call into the worker
            return
        remote = self._remote
        self._side.call(lambda: setattr(remote, name, value))

    def __repr__(self) -> str:
        return f"<{self._side.spec} object in the sandbox>"

    def _push(self) -> None:
        """Send ``w`` to the worker unless it holds the same values already."""
        w = vars(self).get("w", _ABSENT)
        if w is _ABSENT or _same(w, self._sent):
            return
        remote = self._remote
        self._side.call(lambda: setattr(remote, "w", w))
        vars(self)["_sent"] = np.array(w) if isinstance(w, np.ndarray) else None

    def _pull(self) -> None:
        """Read ``w`` back from the worker (none if the object has none)."""
        remote = self._remote
        try:
            w = self._side.call(lambda: remote.w)
        except AttributeError:
            vars(self).pop("w", None)
            vars(self)["_sent"] = None
            return
        vars(self)["w"] = w
        vars(self)["_sent"] = np.array(w) if isinstance(w, np.ndarray) else None


class _Method:
    """A method of a :class:`SandboxedModel` (or any callable attribute): ``w`` sent before the
    call, read back after it."""

    def __init__(self, model: SandboxedModel, remote: Remote) -> None:
        self.model, self.remote = model, remote

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.model._push()
        remote, side = self.remote, self.model._side
        args = tuple(side.in_worker(a) for a in args)
        kwargs = {k: side.in_worker(v) for k, v in kwargs.items()}
        result = side.call(lambda: remote(*args, **kwargs))
        self.model._pull()
        return result


def _same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are arrays of the same dtype, shape and values (nan equal)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    try:
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    except TypeError:
        return False


def _exit_status(code: Any) -> int:
    """The exit status ``sys.exit(code)`` gives (``code`` as the worker reports it, a string)."""
    text = str(code).strip()
    if text in ("", "None"):
        return 0
    try:
        return int(text)
    except ValueError:
        return 1  # sys.exit("a message")


def _sweep_sandbox(pid: int) -> None:
    """In the parent, once the child ``pid`` has ended: what a child killed from outside (a
    time-out, a signal) could not remove itself. Its worker died with it (bubblewrap's
    ``--die-with-parent`` or a parent death signal, and in namespace mode every process in its
    PID namespace); left are its scratch folder and, in process mode as root, the processes the
    student's code started under the worker's uid (the pool's uids of that pid)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{sandbox.SCRATCH_PREFIX}{pid}-*"):
        sandbox.remove_tree(folder)
    if os.geteuid() == 0 and not sandbox.namespaces_work():
        sandbox.kill_uids(sandbox.uid_range(pid))


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
