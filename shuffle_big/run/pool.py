"""Where tasks run: the one interface the engine sees, whatever runs them (local processes, Dask, none).

An ``Executor`` is decided before the run and answers what the engine needs
to know up front (how many workers, whose memory, whether a task may run
twice); its ``start()`` makes the ``Pool`` that runs tasks, only when a run
needs workers at all. Every pool runs a task as ``measured(fn, *args)``, so
its value comes back with the peak memory of the process that ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ..progress import Meter


class Pool(Protocol):
    """Runs tasks; as a context manager, stops its workers when the block fails."""

    peak_rss: int  # the largest peak RSS a task's process reported

    @property
    def done_bytes(self) -> int:
        """Input bytes that running tasks reported done (0 where they cannot report as they go)."""
        ...

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on a worker; its value comes from ``result``."""
        ...

    def result(self, future: Future) -> Any:
        """The value of a task (raising its error, or a clear one if its worker died)."""
        ...

    def __enter__(self) -> Pool: ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


@dataclass(frozen=True)
class Executor:
    """Where a run's tasks go: all the engine asks of it before any task runs."""

    workers: int  # tasks that run at once
    start: Callable[[], Pool]  # start the workers
    shares_budget: bool = True  # local processes share --memory; each worker of a cluster has all of it
    retries: bool = False  # a task may run twice (a lost worker's task is retried): tasks write privately
    inline: bool = False  # no workers: every task runs in this process (local -j 1)

    def budget_per_worker(self, budget: int) -> int:
        return budget // self.workers if self.shares_budget else budget

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> list[Any]:
        """``fn(task)`` for each task on the workers (started for it), the values in the tasks' order."""
        with self.start() as pool:
            futures = [pool.submit(fn, task) for task in tasks]
            return [pool.result(f) for f in futures]


def each_done(pool: Pool, futures: Iterable[Future], meter: Meter, progress: Callable[[], int]) -> Iterator[tuple[Future, Any]]:
    """(future, value) as tasks finish, in any order; a task's error is raised at once.

    The meter moves to ``progress()`` at least every 0.2 s meanwhile.
    """
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for f in finished:
            yield f, pool.result(f)
        meter.to(progress())


def peak_rss() -> int:
    """This process's peak resident memory in bytes.

    VmHWM, not getrusage: ru_maxrss survives exec, so a process started by a
    big parent would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measured(fn: Callable, *args):
    """``fn(*args)`` and this process's peak RSS after it (what a pool runs in its workers)."""
    return fn(*args), peak_rss()
