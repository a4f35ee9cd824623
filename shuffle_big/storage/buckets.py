"""Pass 1 (and every recursive split): appending records to bucket files.

Partitioned blocks are held until ``write_buffer`` bytes are pending, then
written with one ``writev`` per bucket (no copies), so bucket files receive
large writes however many buckets there are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np

from ..core.keys import bucket_of
from ..core.partition import Partitioned
from ..core.plan import Plan
from ..core.records import Buffer
from ..errors import describe_os_error
from .frames import COPY_CHUNK, frame_buffers, write_long
from .frames import HEADER as FRAME_HEADER
from .rawio import writev_all


class FileBuckets:
    """``2**bits`` bucket files for the key range below the first ``consumed`` bits."""

    def __init__(self, directory: str, name: str, consumed: int, bits: int, plan: Plan) -> None:
        self.consumed = consumed
        self.bits = bits
        self.count = 1 << bits
        self.plan = plan
        self.paths = [os.path.join(directory, f"{name}.{i}") for i in range(self.count)]
        self._held = Partitioned(consumed, bits, plan.block_records)
        self.nbytes = self._held.nbytes  # per bucket, everything added so far
        self.nrecords = self._held.nrecords
        self._fds: list[int] = []
        try:
            for path in self.paths:
                self._fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as err:
            self.close(flush=False)
            raise describe_os_error(f"cannot create bucket file in '{directory}'", err) from None

    def add_block(self, data: Buffer, ends: np.ndarray, keys: np.ndarray) -> None:
        self._held.add(data, ends, keys)
        if self._held.cost >= self.plan.write_buffer:
            self.flush()

    def add_long(self, keys: list[int], pieces: Iterable[bytes]) -> int:
        """Stream one record in, as a record of each of ``keys`` (``--weights``' copies); return its length.

        The pieces come once: the copies after the first are read back from
        the first one's bucket file.
        """
        self.flush()
        first = bucket_of(keys[0], self.consumed, self.bits)
        at = os.lseek(self._fds[first], 0, os.SEEK_CUR) + FRAME_HEADER.size
        length = self._write(write_long, self._fds[first], keys[0], pieces)
        self.nbytes[first] += length
        self.nrecords[first] += 1
        for key in keys[1:]:
            b = bucket_of(key, self.consumed, self.bits)
            self._write(write_long, self._fds[b], key, _read_back(self.paths[first], at, length))
            self.nbytes[b] += length
            self.nrecords[b] += 1
        return length

    def flush(self) -> None:
        """Write what is held, one ``writev`` per bucket, in frames of at most a block."""
        limit = self.plan.block_size
        for b, pieces in self._held.take():
            bufs: list = []
            start = size = 0
            for i, piece in enumerate(pieces):
                if i > start and size + len(piece.data) > limit:
                    bufs += frame_buffers(pieces[start:i])
                    start, size = i, 0
                size += len(piece.data)
            bufs += frame_buffers(pieces[start:])
            self._write(writev_all, self._fds[b], bufs)

    def _write(self, fn, *args):
        try:
            return fn(*args)
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    def close(self, flush: bool = True) -> None:
        """Flush what is held (unless abandoning) and close every file (idempotent)."""
        try:
            if flush and self._fds and len(self._fds) == self.count:
                self.flush()
        finally:
            for fd in self._fds:
                os.close(fd)
            self._fds = []

    def __enter__(self) -> FileBuckets:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(flush=exc_type is None)  # a failed scatter is abandoned, not flushed


def _read_back(path: str, at: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``at``, in chunks."""
    with open(path, "rb") as f:
        f.seek(at)
        while length:
            chunk = f.read(min(length, COPY_CHUNK))
            if not chunk:
                raise OSError(0, f"bucket file '{path}' ended early")
            length -= len(chunk)
            yield chunk
