"""Running the engine's tasks on a Dask cluster (``--engine dask``).

Imported only when asked for: the core never imports dask. The engine
submits the same ScatterTask and OrderTask objects it gives its local worker
processes, as plain function calls, with ``private`` set: a task that Dask
retries (its worker was lost) or runs twice writes under a fresh directory,
and the engine uses only the files named in the result of the attempt that
finished. Keys depend only on the seed and record offsets, so any attempt
writes the same bytes, and the output is byte-identical to the local
engine's at any number of workers.

The inputs and output must be at the same paths on every worker: a shared
filesystem, one machine (``--engine dask`` without ``--scheduler`` starts a
local cluster of ``-j`` worker processes), or URLs. Temp space (``-T``) too,
or a URL: then tasks hand on their buckets and output runs as objects there
(see ``tasks``), and this process writes the output.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any

from ..errors import ShuffleError
from ..signals import sigint_blocked
from .pool import Executor, measured


class DaskCluster:
    """A connection to a Dask scheduler (or a local cluster it starts); a context manager."""

    def __init__(self, scheduler: str | None = None, workers: int = 2, timeout: float = 10.0) -> None:
        self.scheduler = scheduler
        self.want_workers = workers
        self.timeout = timeout
        self.client: Any = None  # a distributed.Client once connected
        self._local: Any = None  # the LocalCluster this started, if any

    def __enter__(self) -> DaskCluster:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ShuffleError("--engine dask needs the extra: pip install 'shuffle-big[dask]'") from None
        try:
            # A signal mask is inherited by threads and survives exec: with SIGINT
            # blocked while they start, the cluster's threads and worker processes
            # never see the Ctrl-C that a terminal sends the whole process group
            # (each would print a KeyboardInterrupt traceback). This process
            # alone gets it (on the way out, if it came meanwhile), and stops them.
            with sigint_blocked():
                if self.scheduler is None:
                    self._local = LocalCluster(
                        n_workers=self.want_workers, threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.ERROR,
                        # The scheduler serves HTTP even without a dashboard, by default
                        # on 8787: a second run at once would warn that it is taken.
                        scheduler_kwargs={"dashboard_address": ":0"},
                    )
                    self.client = Client(self._local, timeout=self.timeout)
                else:
                    self.client = Client(self.scheduler, timeout=self.timeout)
        except (OSError, TimeoutError, ValueError) as err:
            self.close()
            where = self.scheduler or "a local cluster"
            raise ShuffleError(f"cannot connect to the Dask scheduler at '{where}': {err}") from None
        except BaseException:
            self.close()
            raise
        return self

    @property
    def workers(self) -> int:
        """How many workers the scheduler has now (at least 1: tasks wait for one)."""
        return max(1, len(self.client.scheduler_info()["workers"]))

    def executor(self) -> Executor:
        """Tasks on the cluster's workers, each with the whole budget; a lost worker's task is retried."""
        return Executor(self.workers, self.pool, shares_budget=False, retries=True)

    def pool(self) -> DaskPool:
        # Our own workers can be stopped mid-task when a run fails; a shared
        # cluster's cannot, so its running tasks finish on their own.
        return DaskPool(self.client, stop=self.close if self._local is not None else None)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def __exit__(self, *exc) -> None:
        self.close()


class DaskPool:
    """What the engine needs of a worker pool (see ``workers.Workers``), on a Dask client."""

    done_bytes = 0  # no shared progress counter across machines: progress comes from completions

    def __init__(self, client, stop: Callable[[], None] | None = None) -> None:
        self.client = client
        self._stop = stop
        self.peak_rss = 0
        self._futures: list = []

    def submit(self, fn: Callable, *args) -> concurrent.futures.Future:
        """Run ``fn(*args)`` on the cluster; a concurrent.futures Future, so the engine can wait on it."""
        local: concurrent.futures.Future = concurrent.futures.Future()
        remote = self.client.submit(measured, fn, *args, pure=False)
        self._futures.append(remote)

        def settle(done) -> None:
            try:
                local.set_result(done.result())
            except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
                local.set_exception(err)

        remote.add_done_callback(settle)
        return local

    def result(self, future: concurrent.futures.Future):
        value, rss = future.result()
        self.peak_rss = max(self.peak_rss, rss)
        return value

    def kill(self) -> None:
        """Stop what is pending, and our own cluster's workers, before the temp space goes."""
        self.client.cancel(self._futures, force=True)
        self._futures = []
        if self._stop is not None:
            self._stop()

    def __enter__(self) -> DaskPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.kill()
        self._futures = []
