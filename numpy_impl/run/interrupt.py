"""Stopping a run cleanly on SIGINT or SIGTERM.

One handler for every CLI (:class:`Signals`). While a run trains, the first signal is only
noted: the run looks at the note after every completed step, saves its checkpoint and logs and
raises :class:`Interrupted`, which the CLI turns into 128 + the signal's number (130, 143), so
a checkpoint is always the state after a whole step. Elsewhere, or on a second signal, it
raises :class:`Interrupted` at once, without a checkpoint.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


class Interrupted(BaseException):
    """The run stopped after ``step`` (None: not at a step) on signal ``signum``; its checkpoint
    is ``checkpoint`` (None when nothing was saved, ``note`` may say why). A BaseException, as
    KeyboardInterrupt is, so that no ``except Exception`` on the way (Lightning's, a student's)
    takes it for an error.
    Every CLI of the project stops with it (numpy_impl, lightning_ref.fit, compare,
    compare.check, compare.report) and exits with :attr:`exit_code`."""

    def __init__(self, signum: int, step: int | None = None,
                 checkpoint: Path | None = None, note: str = "") -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum, self.step, self.checkpoint, self.note = signum, step, checkpoint, note

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended: 130, 143."""
        return 128 + self.signum


SIGNALS = (signal.SIGINT, signal.SIGTERM)


def stopped_at_once(signum: int) -> Interrupted:
    """What a signal that stops a run at once raises by default: no step, no checkpoint."""
    return Interrupted(signum, note="stopped at once, without a checkpoint")


class Signals:
    """SIGINT and SIGTERM: the one handler of every CLI of the project.

    While :meth:`installed`, a signal raises :class:`Interrupted` at once (``at_once`` builds
    it from the signal's number; by default without a step or checkpoint), unless ``graceful``
    is set (a run that stops at its next step boundary, with a checkpoint): then the first
    signal is only noted in ``signum`` and one line on stderr says so; the run looks at
    ``signum`` after each step. A second signal stops at once, graceful or not, so that a run
    stuck inside a step can always be stopped.
    """

    def __init__(self, graceful: bool = False,
                 at_once: Callable[[int], Interrupted] | None = None) -> None:
        self.graceful = graceful
        self.at_once = at_once or stopped_at_once
        self.signum: int | None = None  # the first signal, while graceful

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.graceful or self.signum is not None:
            raise self.at_once(signum)
        self.signum = signum
        # os.write, not print: a handler may run in the middle of another write to stderr
        os.write(2, f"{signal.Signals(signum).name}: stopping after the current step, with a "
                    "checkpoint (a second signal stops at once, without one)\n".encode())

    def reinstall(self, signum: int = signal.SIGTERM) -> None:
        """Take ``signum`` back from a handler installed since (Lightning's SignalConnector
        installs its own SIGTERM handler when fit starts)."""
        signal.signal(signum, self.handle)

    @contextmanager
    def installed(self) -> Iterator[Signals]:
        """SIGINT and SIGTERM go to :meth:`handle` within the block; the previous handlers come
        back afterwards."""
        previous = {signum: signal.signal(signum, self.handle) for signum in SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def resume_command(module: str, argv: Sequence[str], checkpoint: Path) -> str:
    """The command that resumes a run of ``python -m module`` started with ``argv``: the same
    arguments, an earlier ``--ckpt_path``/``--resume`` replaced by ``--ckpt_path checkpoint``."""
    kept, skip = [], False
    for arg in argv:
        if skip or arg == "--resume" or arg.startswith("--ckpt_path="):
            skip = False
            continue
        skip = arg == "--ckpt_path"
        if not skip:
            kept.append(arg)
    return shlex.join([sys.executable, "-m", module, *kept, "--ckpt_path", str(checkpoint)])
