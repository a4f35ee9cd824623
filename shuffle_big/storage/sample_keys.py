"""The keys and lengths of ``--weights``' sampled copies, put aside by pass 1 to find the sample after it.

A file of chunks: a count (little-endian u64), that many 64-bit keys, then
their 64-bit lengths (a record streamed through may pass 4 GiB). 16 bytes a record, beside the records' own bytes in
the buckets, and only for inputs with a fractional weight.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ..errors import describe_os_error
from . import fs
from .frames import Part, PartRef
from .rawio import writev_all

COUNT = struct.Struct("<QQ")


class SampleKeys:
    """Appends keys and lengths to a new file ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    def add(self, keys: np.ndarray, lengths: np.ndarray, hashes: np.ndarray | None = None, stored: np.ndarray | None = None) -> None:
        columns = [keys.astype(np.uint64, copy=False), lengths.astype(np.uint64, copy=False)]
        if hashes is not None:
            columns.append(hashes.astype(np.uint64, copy=False))
        if stored is not None:
            columns.append(stored.astype(np.uint8, copy=False))
        flags = (hashes is not None) | (stored is not None) << 1
        try:
            writev_all(self._fd, [COUNT.pack(len(keys), flags), *columns])
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SampleKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def sample_keys_at(path: str | None) -> Iterator[SampleKeys | None]:
    """A ``SampleKeys`` writing to ``path``, closed at the end; nothing for None (no weight samples)."""
    if path is None:
        yield None
        return
    with SampleKeys(path) as aside:
        yield aside


Chunk = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]  # keys, lengths, hashes, stored


def read_sample_keys(parts: Sequence[PartRef]) -> Iterator[Chunk]:
    """The chunks of keys, lengths and hashes in ``parts`` (local files, or ranges of objects), in order."""
    for part in parts:
        name = part if isinstance(part, str) else part.url
        try:
            if isinstance(part, Part):
                with fs.open_read(part.url, part.offset + part.length) as f:
                    f.seek(part.offset)
                    yield from _chunks(f, part.length)
            else:
                with open(part, "rb") as f:
                    yield from _chunks(f, os.fstat(f.fileno()).st_size)
        except OSError as err:
            raise describe_os_error(f"cannot read temporary file '{name}'", err) from None


def _chunks(f, size: int) -> Iterator[Chunk]:
    while size > 0:
        n, flags = COUNT.unpack(_exact(f, COUNT.size))
        keys = np.frombuffer(_exact(f, 8 * n), dtype=np.uint64)
        lengths = np.frombuffer(_exact(f, 8 * n), dtype=np.uint64)
        hashes = np.frombuffer(_exact(f, 8 * n), dtype=np.uint64) if flags & 1 else None
        stored = np.frombuffer(_exact(f, n), dtype=np.uint8) if flags & 2 else None
        size -= COUNT.size + (16 + 8 * (flags & 1) + (flags >> 1)) * n
        yield keys, lengths, hashes, stored


def _exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise OSError(0, f"sample keys truncated (wanted {n} bytes, got {len(data)})")
    return data
