"""Writing whole buffers to file descriptors."""

from __future__ import annotations

import os

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
