"""Running tasks in worker processes (or inline), with clean failure and shutdown.

Workers are spawned, not forked: a forked child would share, and be charged
for, whatever the parent holds. They ignore SIGINT (the parent decides) and
report bytes done for the progress bar in a shared array, one slot per
task: no lock needed (a lock is a semaphore that multiprocessing's resource
tracker complains about when we exit by a signal).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from .errors import ShuffleError

_counter = None


def _init_worker(counter) -> None:
    global _counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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

    def submit(self, fn: Callable, *args) -> Future:
        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool:
            raise ShuffleError("a worker process died unexpectedly (out of memory, or killed?)") from None

    @staticmethod
    def result(future: Future):
        try:
            return future.result()
        except BrokenProcessPool:
            raise ShuffleError("a worker process died unexpectedly (out of memory, or killed?)") from None

    @property
    def done_bytes(self) -> int:
        return sum(self.counter)

    def kill(self) -> None:
        processes = list((self._pool._processes or {}).values())  # no public API to stop running tasks
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.kill()
        for p in processes:
            p.join()
        # The pool's queues hold semaphores that multiprocessing's resource tracker
        # reports as leaked (on our stderr) unless their finalizers run, and a run
        # ended by a signal never reaches the atexit hook that would run them.
        multiprocessing.util._run_finalizers(0)

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._pool.shutdown(wait=True)
        else:
            self.kill()
