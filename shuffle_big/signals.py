"""Signals: turned into clean-ups, held off during critical steps, and died by at the end.

The command turns SIGINT, SIGTERM and SIGHUP into exceptions (``install``),
raised in the main thread between any two bytecodes, and cleans up as they
unwind; then it dies by the signal (``die_by``), so shells see the usual
status. Where one raised mid-step would lose track of what the step just
made (a temp file created but not yet recorded, a worker spawned but not yet
the pool's), the step runs in ``critical_section()`` (sort.c's cs_enter/cs_leave): a
signal that comes meanwhile is raised at its end. It swaps handlers
rather than masking, because a process-directed signal may be delivered to
any thread whose mask allows it (the pool's manager thread, say), where the
main thread's mask would not apply; ``sigint_blocked`` masks, because there
the point is what threads and children started meanwhile inherit.

A library caller that wants the same clean-up on SIGTERM calls ``install()``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(Exception):
    """Raised by the SIGTERM/SIGHUP handler so that clean-up runs before the process exits."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def catchable() -> list[int]:
    """The signals to turn into clean-ups: as in sort.c, one ignored when we started (nohup, a
    script's ``cmd &``) stays ignored, since whoever started us wants the run to outlive it."""
    return [s for s in CAUGHT if signal.getsignal(s) is not signal.SIG_IGN]


def install(caught: list[int] | None = None) -> None:
    """SIGINT raises KeyboardInterrupt, SIGTERM and SIGHUP raise Terminated (in the main thread)."""
    for signum in catchable() if caught is None else caught:
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else _raise_terminated)


def die_by(signum: int) -> NoReturn:
    """Exit the way an unhandled signal would, so shells see the usual status."""
    run_multiprocessing_finalizers()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)


def run_multiprocessing_finalizers() -> None:
    """Worker pools hold semaphores that multiprocessing's resource tracker reports as leaked (on our
    stderr) unless their finalizers run; dying by a signal skips the atexit hook that would run them."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util._run_finalizers(0)  # private, stable since Python 3.4


@contextlib.contextmanager
def critical_section() -> Iterator[None]:
    """Note SIGINT, SIGTERM and SIGHUP during the block; raise them again after it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers, and only it runs them
        return
    noted: list[int] = []
    saved = {}
    for signum in CAUGHT:
        if callable(signal.getsignal(signum)):  # leave SIG_IGN (nohup) and SIG_DFL alone
            saved[signum] = signal.signal(signum, lambda n, _: noted.append(n))
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        for caught in noted:
            signal.raise_signal(caught)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread: threads and processes it starts meanwhile inherit the block.

    A mask survives exec, so a child started here never sees the Ctrl-C that
    a terminal sends the whole process group (it would print a traceback)
    until it unblocks SIGINT itself; this process gets it on the way out.
    multiprocessing's resource tracker unblocks SIGINT in the thread that
    starts it (it blocks and then *unblocks* it around its own spawn), which
    would silently undo this; so it is started first.
    """
    from multiprocessing import resource_tracker  # only runs with workers need it

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
