"""Stopping a run cleanly on SIGINT or SIGTERM.

The handlers of :func:`catch_signals` only note the signal; ``python -m numpy_impl``'s trainer
hook looks at the note after every completed step, saves the checkpoint and the logs, and
raises :class:`Interrupted`, which the CLI turns into 128 + the signal's number (130, 143).
Nothing is interrupted halfway, so the checkpoint is always the state after a whole step.
"""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SignalFlag:
    """The signal that asked the run to stop, None until one does."""

    signum: int | None = None


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


@contextmanager
def catch_signals() -> Iterator[SignalFlag]:
    """Within the block SIGINT and SIGTERM set the flag instead of stopping the process; the
    previous handlers come back afterwards."""
    flag = SignalFlag()

    def note(signum: int, frame: object) -> None:
        flag.signum = signum

    previous = {signum: signal.signal(signum, note) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
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
