"""Critical sections: a signal during ``held()`` is raised at its end, not in the middle."""

from __future__ import annotations

import os
import signal

import pytest

from shuffle_big.signals import held


class Raised(Exception):
    pass


def _raise(signum, frame):
    raise Raised(signum)


@pytest.fixture
def raising_handlers():
    saved = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_a_signal_in_a_held_step_is_raised_after_it(raising_handlers):
    steps = []
    with pytest.raises(Raised):
        with held():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("made")  # the handler must not have cut in before this
            steps.append("recorded")
    assert steps == ["made", "recorded"]
    assert signal.getsignal(signal.SIGTERM) is _raise  # the handler is back


def test_an_ignored_signal_stays_ignored_through_a_held_step(raising_handlers):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with held():
        os.kill(os.getpid(), signal.SIGHUP)
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # and nothing was raised
