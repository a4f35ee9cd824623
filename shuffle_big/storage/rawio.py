"""Writing whole buffers to file descriptors, and writing them behind the caller's back."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from ..signals import critical_section

IOV_MAX = 1024


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> int:
    """Write all of ``data`` at ``offset`` of ``fd``, resuming after short writes; return the end offset."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        offset += n
        view = view[n:]
    return offset


def writev_all(fd: int, bufs: list) -> int:
    """Write every buffer in ``bufs`` to ``fd``, resuming after short writes."""
    views = [memoryview(b).cast("B") for b in bufs if len(b)]
    total = 0
    while views:
        batch = views[:IOV_MAX]
        n = os.writev(fd, batch)
        total += n
        done = 0
        while done < len(batch) and n >= len(batch[done]):
            n -= len(batch[done])
            done += 1
        views = views[done:]
        if n:
            views[0] = views[0][n:]
    return total


class WriteBehind:
    """Runs one write job at a time on a thread of its own, so the caller computes the next meanwhile.

    The kernel copies written bytes into the page cache with the GIL let go,
    so while one core does that, the other keys and partitions the next
    records. At most one job is in flight: ``submit`` first waits for the
    previous one, and so raises its error.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def submit(self, job: Callable[[], object]) -> None:
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="write-behind")
        self._pending = self._pool.submit(job)

    def wait(self) -> None:
        """Until the job in flight is done; raises its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self, abandon: bool = False) -> None:
        """Wait for the job in flight (raising its error unless ``abandon``) and stop the thread.

        A signal waits too: files must not be closed under a write in flight.
        """
        with critical_section():
            try:
                self.wait()
            except Exception:
                if not abandon:
                    raise
            finally:
                if self._pool is not None:
                    self._pool.shutdown()
                    self._pool = None
