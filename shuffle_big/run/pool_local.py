"""Running tasks in worker processes (or inline), with clean failure and shutdown.

Workers are spawned, not forked: a forked child would share, and be charged
for, whatever the parent holds. They ignore SIGINT (the parent decides) and
report bytes done for the progress bar in a shared array, one slot per
task: no lock needed (a lock is a semaphore that multiprocessing's resource
tracker complains about when we exit by a signal).

Spawning is a critical section: a spawned child waits for its start-up
data on a pipe before it is the pool's to kill, so a signal raised mid-spawn
would leave it behind, printing an EOFError traceback when the pipe closed.
And a child starts with SIGINT blocked, deaf to the terminal's Ctrl-C (else
it prints a KeyboardInterrupt traceback from half-way through its imports),
until ``_init_worker`` ignores SIGINT for good.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import signal
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from ..errors import ShuffleError
from ..signals import critical_section, run_multiprocessing_finalizers, sigint_blocked
from .pool import Executor, measured

_counter = None  # this worker's progress slots, set when it starts


def _init_worker(counter) -> None:
    global _counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since birth (see the module's doc)
    _counter = counter


class Reporter:
    """Picklable progress callback for task ``slot``: adds bytes done to its slot."""

    def __init__(self, slot: int) -> None:
        self.slot = slot

    def __call__(self, n: int) -> None:
        if _counter is not None and n:
            _counter[self.slot] += n


class Workers:
    """A pool of ``jobs`` processes; a context manager that kills them on error."""

    def __init__(self, jobs: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.counter = ctx.RawArray("q", jobs)  # one slot per pass-1 task
        self.jobs = jobs
        self._pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(self.counter,))
        self.peak_rss = 0  # the largest peak RSS a worker reported

    def submit(self, fn: Callable, *args) -> Future:
        """Run ``fn(*args)`` in a worker; get its value with ``result``."""
        try:
            with critical_section(), sigint_blocked():  # submit starts a worker while fewer than `jobs` run
                return self._pool.submit(measured, fn, *args)
        except BrokenProcessPool:
            raise _worker_died() from None

    def result(self, future: Future):
        try:
            value, rss = future.result()
        except BrokenProcessPool:
            raise _worker_died() from None
        self.peak_rss = max(self.peak_rss, rss)
        return value


    @property
    def done_bytes(self) -> int:
        return sum(self.counter)

    def kill(self) -> None:
        pool = self._pool  # no public API to stop running tasks
        processes = list((pool._processes or {}).values())
        manager = pool._executor_manager_thread
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.kill()
        for p in processes:
            p.join()
        if manager is not None:
            # It is noticing the dead workers; closing the queues under it (below)
            # would make it die with a traceback on our stderr.
            manager.join(timeout=10)  # type: ignore[attr-defined]  # a Thread; typeshed says otherwise
        run_multiprocessing_finalizers()  # the pool's queues' semaphores, before a death by signal

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._pool.shutdown(wait=True)
        else:
            self.kill()


def local_executor(jobs: int) -> Executor:
    """``jobs`` worker processes of this machine sharing the budget; none at all for one job."""
    return Executor(jobs, partial(Workers, jobs), inline=jobs == 1)


def _worker_died() -> ShuffleError:
    return ShuffleError("a worker process died unexpectedly (out of memory, or killed?)")
