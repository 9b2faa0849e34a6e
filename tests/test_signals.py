"""The one signal handler of every CLI (numpy_impl.run.interrupt.Signals): while a run trains,
the first SIGINT or SIGTERM is noted and announced on stderr, the run stops at its next step
boundary; a second, or one outside training, raises Interrupted at once; the previous
handlers come back."""

from __future__ import annotations

import os
import signal

import pytest

from numpy_impl.run.interrupt import Interrupted, Signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_is_noted_and_announced_a_second_stops_at_once(
        signum: int, capfd: pytest.CaptureFixture) -> None:
    before = signal.getsignal(signum)
    signals = Signals(graceful=True)
    with signals.installed():
        os.kill(os.getpid(), signum)
        assert signals.signum == signum  # noted, nothing raised
        assert capfd.readouterr().err == (
            f"{signal.Signals(signum).name}: stopping after the current step, with a "
            "checkpoint (a second signal stops at once, without one)\n")
        with pytest.raises(Interrupted) as info:
            os.kill(os.getpid(), signum)
    assert (info.value.signum, info.value.step, info.value.checkpoint) == (signum, None, None)
    assert info.value.exit_code == 128 + signum
    assert signal.getsignal(signum) == before


def test_outside_training_a_signal_stops_at_once_with_what_at_once_builds() -> None:
    signals = Signals(at_once=lambda signum: Interrupted(signum, 7, note="here"))
    with signals.installed(), pytest.raises(Interrupted) as info:
        os.kill(os.getpid(), signal.SIGTERM)
    assert (info.value.step, info.value.note, signals.signum) == (7, "here", None)
