"""``--shard-size SIZE``: each split cut into files of at most SIZE bytes of records, filled in turn.

Which file a record goes to depends on the lengths of the records before
it, so the cut is made here, in output order, as ``split -C`` makes it; the
files concatenated are still the single output.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.records import NEWLINE, Buffer, Codec, record_ends
from .layout import Layout
from .shards import ShardedOutput
from .sinks import Cut


class SizedShards(ShardedOutput):
    """``--shard-size``: each split cut into files of at most ``size`` bytes of records, each file filled
    before the next is begun, as ``split -C`` fills them; a record longer than ``size`` has a file of its
    own (the ``--header`` lines come on top). Cut here, as the records come, in output order.

    Records may arrive cut anywhere (a run copied in chunks, a record longer than a block in pieces):
    the start of a record waits (``_Partial``) until its end tells its length, then goes where that
    length puts it.
    """

    def __init__(self, layout: Layout, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None,
                 level: int | None = None) -> None:
        super().__init__(layout, codec, fingerprint, level)
        assert layout.shard_size is not None
        self.size = layout.shard_size
        self._parts: list[tuple[str | None, int]] | None = None
        self._split = -1  # index in ``_parts`` of the split being written
        self._split_left = 0  # its records still to come
        self._shard = 0  # files begun in this split
        self._filled = 0  # bytes of records in the open file
        self._partial: _Partial | None = None  # the start of a record not yet whole

    def expect(self, records: int) -> None:
        self._parts = self.layout.parts(records)

    def cuts(self, first: int, records: int) -> list[Cut] | None:
        return None  # where a file ends depends on the lengths of the records before: cut here

    def write(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        if self.fingerprint is not None:
            self.fingerprint.update(data, ends)
        self.bytes_written += len(data)
        if self._partial is not None:  # the rest of a record begun in an earlier write
            end = _first_end(data)
            if end is None:
                self._partial.add(data)
                return
            self._partial.add(memoryview(data)[:end])
            self._place_partial()
        else:
            end = 0
        if isinstance(data, bytes) and self._all_in_the_open_file(data, end):
            return
        data = memoryview(data)[end:]
        found = record_ends(data)
        done = taken = 0  # bytes and records of ``data`` written
        while taken < len(found):
            while self._split_left == 0:
                self._next_split()
            ends_here = found[taken : taken + self._split_left] - done
            fits = int(np.searchsorted(ends_here, self.size - self._filled, side="right"))
            if not fits:
                if self._filled:
                    self._new_file()  # the next record begins the next file
                    continue
                fits = 1  # longer than a file may be: a file of its own
            cut = int(ends_here[fits - 1])
            self._put(data[done : done + cut], fits)
            done, taken = done + cut, taken + fits
        if done < len(data):
            self._partial = _Partial()
            self._partial.add(data[done:])

    def _all_in_the_open_file(self, data: bytes, start: int) -> bool:
        """Write the whole records of ``data[start:]`` (holding back the start of one) if they all go to
        the open file: the usual case, told by two scans in C rather than by every record's end."""
        if self._current is None or self._split_left == 0:
            return False
        whole = data.rfind(b"\n", start) + 1
        if whole - start > self.size - self._filled or (records := data.count(b"\n", start)) > self._split_left:
            return False
        self._put(memoryview(data)[start:whole], records)
        if whole < len(data):
            self._partial = _Partial()
            self._partial.add(memoryview(data)[max(whole, start):])
        return True

    def _put(self, data: Buffer, records: int) -> None:
        if self._current is None:
            self._new_file()
        assert self._current is not None
        self._current.write(data)
        self._filled += len(data)
        self._split_left -= records

    def _place_partial(self) -> None:
        """The record held in ``_partial``, now whole, to the file its length puts it in."""
        partial, self._partial = self._partial, None
        assert partial is not None
        while self._split_left == 0:
            self._next_split()
        if self._filled and self._filled + partial.length > self.size:
            self._new_file()
        for piece in partial.pieces():
            self._put(piece, 0)
        self._split_left -= 1

    def _close_file(self) -> None:
        self._close()
        self._filled = 0

    def _new_file(self) -> None:
        assert self._parts is not None, "expect() must be called before records are written"
        self._close_file()
        split = self._parts[self._split][0]
        self._open(self.layout.name(split, self._shard), split)
        self._shard += 1

    def _next_split(self) -> None:
        """End the split being written (an empty one still gets its file) and begin the next."""
        assert self._parts is not None, "expect() must be called before records are written"
        if self._split >= 0 and self._shard == 0:
            self._new_file()
        self._close_file()
        if self._split + 1 == len(self._parts):
            raise AssertionError("more records than expected")
        self._split += 1
        self._split_left, self._shard = self._parts[self._split][1], 0

    def commit(self) -> None:
        if self._parts is None:
            self.expect(0)
        assert self._parts is not None
        while self._split + 1 < len(self._parts):
            self._next_split()
        if self._shard == 0:
            self._new_file()
        self._close_file()
        self._publish()

    def abort(self) -> None:
        if self._partial is not None:
            self._partial.close()
            self._partial = None
        super().abort()


# A record's start is held in memory up to this; beyond (a record longer than a block), in a file.
PARTIAL_IN_MEMORY = 1 << 20


class _Partial:
    """The start of a record, held until its end comes: in memory, or in an unnamed temporary file."""

    def __init__(self) -> None:
        self.held: list[bytes] = []
        self.length = 0
        self.spool: Any = None

    def add(self, data: Buffer) -> None:
        self.length += len(data)
        if self.spool is None and self.length > PARTIAL_IN_MEMORY:
            self.spool = tempfile.TemporaryFile()
            for piece in self.held:
                self.spool.write(piece)
            self.held = []
        if self.spool is not None:
            self.spool.write(data)
        else:
            self.held.append(bytes(data))

    def pieces(self) -> Iterator[bytes]:
        if self.spool is None:
            yield from self.held
            return
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 20):
            yield chunk
        self.close()

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


def _first_end(data: Buffer) -> int | None:
    """Where the first record of ``data`` ends (after its newline), or None if none does."""
    if isinstance(data, bytes):
        return data.find(b"\n") + 1 or None
    view = memoryview(data)
    for at in range(0, len(view), 1 << 16):  # a window at a time: the end is usually near
        i = bytes(view[at : at + (1 << 16)]).find(b"\n")
        if i >= 0:
            return at + i + 1
    return None
