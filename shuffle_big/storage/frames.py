"""The on-disk format of a bucket: a sequence of frames.

A frame is a 16-byte header (data length, record count, little-endian u64),
the records' bytes, their 64-bit keys, then their 32-bit lengths (a frame of
one record has none: its length is the data length). Keys travel with the
records so that later passes never recompute offsets, and lengths so that
they never look for newlines (on 20-byte lines, 4 more bytes a record to
write and read save a newline scan of 21). A long record is a frame of one
record whose header is patched after its bytes have streamed through.

A bucket's frames are in local files, or, with temporary space on an object
store, in byte ranges (``Part``) of objects that each hold every bucket of one
scatter task, so a task uploads one object, not one per bucket.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

import numpy as np

from ..core.records import Records
from ..errors import describe_os_error
from . import fs
from .rawio import writev_all

HEADER = struct.Struct("<QQ")
COPY_CHUNK = 1 << 20
READ_BUFFER = 64 << 10
REMOTE_BATCH = fs.REMOTE_BLOCK


class Part(NamedTuple):
    """Frames of one bucket at bytes [offset, offset + length) of the object at ``url``."""

    url: str
    offset: int
    length: int


PartRef = str | Part  # a whole local file, or a range of a shared object


def remove_parts(parts: Iterable[PartRef]) -> None:
    """Remove local bucket files; ranges of objects go with their temp space, as other buckets share them."""
    for part in parts:
        if isinstance(part, str):
            try:
                os.unlink(part)
            except FileNotFoundError:
                pass


def upload(paths: Sequence[str], url: str) -> list[Part]:
    """Move local files into one object at ``url``, one after another; where each one's bytes are now."""
    parts = []
    offset = 0
    try:
        with fs.open_write(url) as out:
            for path in paths:
                length = 0
                with open(path, "rb") as f:
                    while chunk := f.read(COPY_CHUNK):
                        out.write(chunk)
                        length += len(chunk)
                parts.append(Part(url, offset, length))
                offset += length
    except OSError as err:
        raise describe_os_error(f"cannot write to temporary space '{url}'", err) from None
    remove_parts(paths)
    return parts


def frame_buffers(pieces: list[Records]) -> list:
    """Buffers of one frame holding the records of ``pieces``."""
    nbytes = sum(len(p.data) for p in pieces)
    nrecords = sum(len(p.keys) for p in pieces)
    keys = [p.keys for p in pieces]
    lengths = [p.lengths for p in pieces] if nrecords != 1 else []
    return [HEADER.pack(nbytes, nrecords), *(p.data for p in pieces), *keys, *lengths]


def write_long(fd: int, key: int, pieces: Iterable[bytes]) -> int:
    """Append a one-record frame streamed from ``pieces``; return the record's length."""
    at = os.lseek(fd, 0, os.SEEK_CUR)
    writev_all(fd, [HEADER.pack(0, 1)])
    length = 0
    for piece in pieces:
        length += writev_all(fd, [piece])
    writev_all(fd, [np.array([key], dtype=np.uint64)])
    os.pwrite(fd, HEADER.pack(length, 1), at)
    return length


@dataclass(slots=True)
class LongFrame:
    """A one-record frame too big to load; ``pieces`` streams its bytes."""

    key: int
    length: int
    pieces: Iterator[bytes]


def _read_exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise OSError(0, f"bucket file truncated (wanted {n} bytes, got {len(data)})")
    return data


def _stream(f, n: int) -> Iterator[bytes]:
    while n:
        chunk = _read_exact(f, min(n, COPY_CHUNK))
        n -= len(chunk)
        yield chunk


Frame = Records | LongFrame


def read_frames(parts: Iterable[PartRef], max_frame: float = float("inf")) -> Iterator[Frame]:
    """Frames of a bucket's parts: ``Records``, or ``LongFrame`` above ``max_frame`` bytes.

    Ranges of objects up to REMOTE_BATCH bytes in all are fetched together: an
    object store answers concurrent requests in about the time of one, and a
    bucket has a part from every scatter task.
    """
    batch: list[Part] = []
    held = 0  # bytes of the ranges in batch
    for part in parts:
        if isinstance(part, Part):
            if batch and held + part.length > REMOTE_BATCH:
                yield from _fetched(batch, max_frame)
                batch, held = [], 0
            if part.length:
                batch.append(part)
                held += part.length
            continue
        try:
            with open(part, "rb", buffering=READ_BUFFER) as f:
                yield from _frames(f, None, max_frame)
        except OSError as err:
            raise describe_os_error(f"cannot read temporary file '{part}'", err) from None
    yield from _fetched(batch, max_frame)


def _fetched(parts: list[Part], max_frame: float) -> Iterator[Frame]:
    if not parts:
        return
    try:
        if len(parts) == 1 and parts[0].length > REMOTE_BATCH:  # too big to hold: read as it is used
            part = parts[0]
            with fs.open_read(part.url, part.offset + part.length) as f:
                f.seek(part.offset)
                yield from _frames(f, part.offset + part.length, max_frame)
            return
        blobs = fs.fetch_ranges([p.url for p in parts], [p.offset for p in parts], [p.offset + p.length for p in parts])
        blobs.reverse()
        while blobs:  # each blob is let go once its frames are read
            yield from _frames(io.BytesIO(blobs.pop()), None, max_frame)
    except OSError as err:
        raise describe_os_error(f"cannot read temporary file '{parts[0].url}'", err) from None


def _frames(f: BinaryIO, end: int | None, max_frame: float) -> Iterator[Frame]:
    """Frames from ``f`` up to offset ``end`` (None: its end)."""
    while end is None or f.tell() < end:
        header = f.read(HEADER.size)
        if not header:
            return
        nbytes, nrecords = HEADER.unpack(header)
        if nbytes > max_frame and nrecords == 1:
            keypos = f.tell() + nbytes
            f.seek(keypos)
            key = int(np.frombuffer(_read_exact(f, 8), dtype=np.uint64)[0])
            f.seek(keypos - nbytes)
            frame = LongFrame(key, nbytes, _stream(f, nbytes))
            yield frame
            for _ in frame.pieces:  # skip whatever the consumer left
                pass
            f.seek(8, os.SEEK_CUR)
            continue
        data = _read_exact(f, nbytes)
        keys = np.frombuffer(_read_exact(f, 8 * nrecords), dtype=np.uint64)
        if nrecords == 1:
            lengths = np.array([nbytes], dtype=np.uint32)
        else:
            lengths = np.frombuffer(_read_exact(f, 4 * nrecords), dtype=np.uint32)
        yield Records(data, keys, lengths)
