"""The record model: blocks of whole records, records too long to hold, and their keys.

A record is a line including its ``\\n`` (internal form: with ``-z`` the
reader swaps NUL and newline, and ``swap_table`` swaps them back on the way
out). A block's records are found by their newlines; a record's key is the
keyed hash of its position (its input and its offset there: ``keys.py``), so
it is the same whatever the block size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .keys import keys_of

Buffer = bytes | memoryview  # records as they move: bytes read, or a buffer a gather filled


@dataclass(slots=True)
class Block:
    """Whole records ``data`` (each ends in ``\\n``) starting at input position ``start``."""

    start: int
    data: bytes
    ends: np.ndarray | None = None  # record_ends(data), when the reader found them already


@dataclass(slots=True)
class LongRecord:
    """One record too long to hold; ``pieces`` must be consumed before the next item."""

    start: int
    pieces: Iterator[bytes]


def swap_table(sep: bytes) -> bytes | None:
    """The byte translation between external records ending in ``sep`` and internal ones ending in ``\\n``."""
    if sep == b"\n":
        return None
    return bytes.maketrans(sep + b"\n", b"\n" + sep)


@dataclass(frozen=True)
class Codec:
    """Records as the files hold them (each ends in ``sep``) and as everything inside does (in a newline).

    With ``-z`` the reader decodes and the outputs encode, NUL and newline
    swapping places; nothing between needs to know. The swap is its own inverse.
    """

    sep: bytes = b"\n"
    table: bytes | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", swap_table(self.sep))

    @property
    def identity(self) -> bool:
        return self.table is None

    def decode(self, data: bytes) -> bytes:
        """External records to internal ones."""
        return data if self.table is None else data.translate(self.table)

    encode = decode  # internal records to external ones: the same swap


NEWLINE = Codec()  # records that end in a newline outside too: nothing to translate


def record_ends(data: Buffer) -> np.ndarray:
    """Offsets just past each ``\\n`` in ``data`` (int64); ``data`` ends in ``\\n``."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    ends += 1
    return ends


class Records(NamedTuple):
    """Records held as one buffer: their bytes, with each one's key and length, in the same order.

    What a bucket file's frames hold and what pass 2 orders. Lengths, not
    ends, because a slice of them needs no shifting, and because the writer
    knows them already, the reader never looks for a newline.
    """

    data: Buffer
    keys: np.ndarray  # uint64
    lengths: np.ndarray  # uint32 (a longer record than plan.LONGEST_HELD streams instead of being held)


def first_records(data: Buffer, n: int, ends: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """The bytes at the front of ``data`` that hold its first ``n`` records (all of it, a record cut short
    included, when it holds fewer whole ones), and those records' ends (``ends``: all of them, if known)."""
    found = record_ends(data) if ends is None else ends
    if len(found) < n:
        return len(data), found
    return int(found[n - 1]), found[:n]


def joined(chunks: list[Records]) -> Records:
    """``chunks`` as one ``Records`` in order, its data bytes (no records at all for none)."""
    return Records(
        b"".join(c.data for c in chunks),
        np.concatenate([c.keys for c in chunks]) if chunks else np.empty(0, dtype=np.uint64),
        np.concatenate([c.lengths for c in chunks]) if chunks else np.empty(0, dtype=np.uint32),
    )


def lengths_of(ends: np.ndarray) -> np.ndarray:
    """Record lengths from record ends."""
    return np.diff(ends, prepend=0).astype(np.uint32)


def ends_of(lengths: np.ndarray) -> np.ndarray:
    """Record ends (int64) from record lengths."""
    return np.cumsum(lengths, dtype=np.int64)


def record_starts(start: int, ends: np.ndarray) -> np.ndarray:
    """Input positions of the records whose ends are ``ends``, in a block at position ``start``."""
    starts = np.empty(len(ends), dtype=np.uint64)
    starts[0] = 0
    starts[1:] = ends[:-1]
    starts += np.uint64(start)
    return starts


def keyed(block: Block, mix: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Record ends and keys of a block."""
    ends = record_ends(block.data) if block.ends is None else block.ends
    return ends, keys_of(record_starts(block.start, ends), mix)


def tapped(pieces: Iterator[bytes], see) -> Iterator[bytes]:
    """``pieces``, each shown to ``see`` on the way."""
    for piece in pieces:
        see(piece)
        yield piece
