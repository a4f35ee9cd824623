"""Critical sections: steps that a signal must not cut in two (sort.c's cs_enter/cs_leave).

The command turns SIGINT, SIGTERM and SIGHUP into exceptions, raised in the
main thread between any two bytecodes, and cleans up as they unwind. Where
one raised mid-step would lose track of what the step just made (a temp file
created but not yet recorded, a worker spawned but not yet the pool's), the
step runs in ``held()``: a signal that comes meanwhile is raised at its end.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def held() -> Iterator[None]:
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
