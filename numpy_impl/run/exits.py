"""The exit codes of every command of the project (``python -m numpy_impl``, ``lightning_ref.fit``,
``compare``, ``compare.check``, ``compare.report``, ``bench``), defined once."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a command's exit status means. An interrupted run exits 128 + the signal's number
    (130 for Ctrl-C, 143 for SIGTERM: :attr:`numpy_impl.run.interrupt.Interrupted.exit_code`)."""

    OK = 0  #: the run finished; compare and compare.check: every check passed
    FAILED = 1  #: a verdict of failure (a mismatch, a failed check) or a diverged training run
    USAGE = 2  #: a bad command line, option, experiment definition or checkpoint
    ERRORED = 3  #: no verdict: a side or hand-in raised, hung or exited; nothing found to check
    DATA = 4  #: the data: a missing, damaged, unsafe or unfit file, or a failed download


def exit_status(failed: bool, errored: bool) -> ExitCode:
    """FAILED if anything failed; else ERRORED if anything errored (no verdict); else OK."""
    return ExitCode.FAILED if failed else ExitCode.ERRORED if errored else ExitCode.OK
