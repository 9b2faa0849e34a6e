"""One hand-in's checks, decided here, in the grader, out of the hand-in's reach.

The hand-in runs in a worker process in a sandbox (:mod:`.sandbox`, :mod:`.worker`). The
checks (:mod:`.tdt4265`, :mod:`.dd2424`, :mod:`.training`) run in this process: they find the
hand-in's functions (:class:`compare.check.names.Submission`), call them through
:class:`Remote` proxies, which send plain inputs and get plain values back (:mod:`.wire`: no
pickle, a size cap), and compare those with the reference computed here. The hand-in never
sees the reference, the tolerance or the comparison, and nothing it sends can run code here.

Every check has a deadline enforced from here: past it the worker is killed (with every process
it started) and the check is an ``error``; the next check starts a fresh worker, so one hanging
or exiting function does not cost the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from compare.check import sandbox, wire
from compare.check.verdict import Options


@dataclass
class Job:
    """What to check: the submission, its assignment, and how."""

    path: Path
    assignment: str
    options: Options = field(default_factory=Options)
    exec_all: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    mode: str = "namespace"


# The TDT4265 starter code's own lines in the methods it provides (its validation_step, "NO NEED
# TO CHANGE THIS FUNCTION", and BaseTrainer.train, where the student adds early stopping), with
# the spaces taken out; a prefix ending in "(" stands for a call written over several lines. As
# in the 2022 and 2023 starters (the 2022 shape as in student forks of TDT4265_StarterCode, e.g.
# Eeaeau/TDT4265_StarterCode, assignment1/task2.py and trainer.py).
STARTER_LINES: dict[str, tuple[str, ...]] = {
    "validation_step": (
        "logits=self.model.forward(self.X_val)", "loss=cross_entropy_loss(",
        "accuracy_train=calculate_accuracy(", "accuracy_val=calculate_accuracy(",
        "returnloss,accuracy_train,accuracy_val"),
    "train": (
        "num_batches_per_epoch=self.X_train.shape[0]//self.batch_size",
        "num_steps_per_val=num_batches_per_epoch//5", "train_history=dict(",
        "val_history=dict(", "forepochinrange(num_epochs):", "train_loader=utils.batch_loader(",
        "forX_batch,Y_batchiniter(train_loader):", "loss=self.train_step(X_batch,Y_batch)",
        'train_history["loss"][global_step]=loss', "ifglobal_step%num_steps_per_val==0:",
        "val_loss,accuracy_train,accuracy_val=self.validation_step()",
        'train_history["accuracy"][global_step]=accuracy_train',
        'val_history["loss"][global_step]=val_loss',
        'val_history["accuracy"][global_step]=accuracy_val', "global_step+=1",
        "returntrain_history,val_history"),
}


def starter_line(function: str, line: str) -> bool:
    """Whether ``line`` of ``function`` (a qualified name) is one the starter code wrote."""
    known = STARTER_LINES.get(function.rsplit(".", 1)[-1], ())
    text = "".join(line.split()).replace("'", '"')
    return bool(text) and any(text == k or (k.endswith("(") and text.startswith(k))
                              for k in known)


#: Errors that the NumPy of a hand-in's time did not raise: (exception type, the start of its
#: message) -> what changed, said after the error so that a grader can tell old code from wrong
#: code (the check stays an error: the hand-in does not run on this NumPy).
NUMPY_CHANGES = {
    ("TypeError", "only 0-dimensional arrays can be converted to Python scalars"): (
        "an array of one element but one or more dimensions (such as a row `outputs[i]` of "
        "shape (1,)) made into a Python number, as `math.log` or `float()` do: NumPy 1.25 "
        "deprecated this (a DeprecationWarning) and the NumPy installed here, "
        f"{np.__version__}, refuses it, so code written for NumPy 1.x that ran then stops "
        "here; `.item()` or `[0]` takes the element"),
}


class HandInRaised(Exception):  # noqa: N818 (it is the hand-in's exception, reported)
    """The hand-in raised an Exception in the worker: its type's name, message and where (the
    file and line, and the function and that line's text of the innermost frame of its own)."""

    def __init__(self, type_name: str, message: str, where: str, function: str = "",
                 line: str = "") -> None:
        super().__init__(message)
        self.type, self.message, self.where = type_name, message, where
        self.function, self.line = function, line

    @property
    def in_starter_code(self) -> bool:
        return starter_line(self.function, self.line)

    def describe(self) -> str:
        message = self.message if len(self.message) <= 300 else self.message[:297] + "..."
        text = f"{self.type}: {message}{self.where}"
        if self.in_starter_code:
            text += (f", in {self.function}, a line of the starter code (not one you wrote): "
                     f"`{self.line[:80]}`")
        changed = next((why for (kind, start), why in NUMPY_CHANGES.items()
                        if self.type == kind and self.message.startswith(start)), None)
        if changed:
            text += f" ({changed})"
        return text


class HandInAborted(BaseException):
    """The hand-in raised SystemExit or another BaseException: the check is an error."""

    def __init__(self, raised: dict) -> None:
        super().__init__(raised.get("message", ""))
        self.raised = raised


class LoadError(RuntimeError):
    """A file of the hand-in that raised while being loaded."""


class Session:
    """One hand-in's scratch copy and its worker, started again after it dies."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.uid = sandbox.UIDS.take() if sandbox.own_uid(job.mode) else None
        try:
            self.scratch = sandbox.Scratch(job.path, self.uid)
        except BaseException:
            if self.uid is not None:
                sandbox.UIDS.give(self.uid)
            raise
        copy = self.scratch.work / "submission"
        self.files = sorted(p.stem for p in copy.glob("*.py"))  # a notebook's or zip's too
        self.worker: sandbox.Worker | None = None
        self.generation = 0
        self.deadline = float("inf")
        self.notes: dict[str, None] = dict.fromkeys(self.scratch.notes)

    def _worker(self) -> sandbox.Worker:
        if self.worker is None or self.worker.process.poll() is not None:
            self.worker = sandbox.Worker(self.scratch, self.job.mode, self.job.limits, self.uid)
            self.generation += 1
            copy = self.scratch.work / "submission"
            quiet = any("matplotlib" in p.read_text(errors="replace") for p in copy.glob("*.py"))
            drop = self.uid if self.job.mode == "process" else None
            self.worker.start({"files": self.files, "exec_all": self.job.exec_all,
                               "quiet_matplotlib": quiet, "uid": drop}, self.deadline)
        return self.worker

    def call(self, op: str, **args: Any) -> Any:
        """One request to the worker; its value (handles as :class:`Remote`), or the hand-in's
        exception as :class:`HandInRaised`/:class:`HandInAborted`, :class:`LoadError`, or
        :class:`sandbox.WorkerGone` (the worker is dead)."""
        worker = self._worker()
        try:
            reply = worker.request(op, _out(args), self.deadline)
        except sandbox.WorkerGone:
            self.worker = None
            raise
        (kind, body), = reply.items()
        if kind == "value":
            return _in(body, self)
        if kind == "load_error" and isinstance(body, str):
            raise LoadError(body)
        if kind == "raised" and isinstance(body, dict):
            if body.get("exit") or body.get("base"):
                raise HandInAborted(body)
            raise HandInRaised(str(body.get("type", "?")), str(body.get("message", "")),
                               str(body.get("where", "")), str(body.get("function", "")),
                               str(body.get("line", "")))
        if kind == "unsendable":
            raise HandInRaised("ValueError", f"the result cannot be sent back ({body})", "")
        worker.kill()
        self.worker = None
        raise sandbox.WorkerGone(f"the hand-in's process sent a malformed reply ({kind!r})")

    def collect_notes(self) -> None:
        """The loader's notes so far (what was skipped or dropped), if the worker is alive."""
        if self.worker is not None and self.worker.process.poll() is None:
            try:
                notes = self.call("notes")
            except (Exception, sandbox.WorkerGone, HandInAborted):  # noqa: BLE001
                return
            if isinstance(notes, list):
                self.notes.update(dict.fromkeys(str(n)[:2000] for n in notes))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.kill()
        self.scratch.remove()
        if self.uid is not None:
            sandbox.UIDS.give(self.uid)


class Remote:
    """An object of the hand-in's, in the worker: calls and attribute reads and writes go
    there, plain values come back."""

    __slots__ = ("_session", "_handle", "_generation")

    def __init__(self, session: Session, handle: wire.Handle) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_generation", session.generation)

    def _target(self) -> wire.Handle:
        if self._generation != self._session.generation:
            raise sandbox.WorkerGone("the hand-in's process was restarted since this object "
                                     "was made")
        return self._handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call("call", target=self._target(), args=list(args),
                                  kwargs=kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._session.call("getattr", target=self._target(), name=name)
        except HandInRaised as e:
            if e.type == "AttributeError":
                raise AttributeError(name) from None
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.call("setattr", target=self._target(), name=name, value=value)

    def __repr__(self) -> str:
        return "<an object of the hand-in>"


def _out(value: Any) -> Any:
    if isinstance(value, Remote):
        return value._target()
    if isinstance(value, tuple):
        return tuple(_out(v) for v in value)
    if isinstance(value, list):
        return [_out(v) for v in value]
    if isinstance(value, dict):
        return {k: _out(v) for k, v in value.items()}
    return value


def _in(value: Any, session: Session) -> Any:
    if isinstance(value, wire.Handle):
        return Remote(session, value)
    if isinstance(value, tuple):
        return tuple(_in(v, session) for v in value)
    if isinstance(value, list):
        return [_in(v, session) for v in value]
    if isinstance(value, dict):
        return {k: _in(v, session) for k, v in value.items()}
    return value
