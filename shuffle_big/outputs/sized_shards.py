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
from .compression import compression_for
from .layout import Layout, OutputFile
from .shards import ShardedOutput
from .sinks import Cut, Output, RunForm


class SizeCuts:
    """Where ``--shard-size`` cuts the output, from its records' lengths alone: each split into files of at
    most ``size`` bytes of records, each filled before the next is begun, as ``split -C`` fills them; a
    record longer than ``size`` has a file of its own. ``files``: those begun so far, in output order."""

    def __init__(self, layout: Layout, total: int) -> None:
        assert layout.shard_size is not None
        self.layout, self.size = layout, layout.shard_size
        self.parts = layout.parts(total)  # each split's name and records
        self.files: list[OutputFile] = []
        self._split = -1  # index in ``parts`` of the split being cut
        self._split_left = 0  # its records still to come
        self._shard = 0  # files begun in this split
        self._filled = 0  # bytes of records in its last file (0: none begun, or a new one due)

    def room(self) -> tuple[int, int]:
        """Bytes and records the file being filled can still take (0, 0 if the next record begins another)."""
        if self._shard == 0 or self._split_left == 0:
            return 0, 0
        return self.size - self._filled, self._split_left

    def take(self, lengths: np.ndarray) -> list[tuple[int, int, int]]:
        """The next records, of ``lengths``, as pieces: (file, records, bytes), in order."""
        pieces: list[tuple[int, int, int]] = []
        ends = np.cumsum(lengths, dtype=np.int64)
        taken = done = 0
        while taken < len(ends):
            while self._split_left == 0:
                self._next_split()
            if self._shard == 0:
                self._new_file()
            ends_here = ends[taken : taken + self._split_left] - done
            fits = int(np.searchsorted(ends_here, self.size - self._filled, side="right"))
            if not fits:
                if self._filled:
                    self._new_file()  # the next record begins the next file
                    continue
                fits = 1  # longer than a file may be: a file of its own
            nbytes = int(ends_here[fits - 1])
            self._put(fits, nbytes)
            pieces.append((len(self.files) - 1, fits, nbytes))
            taken, done = taken + fits, done + nbytes
        return pieces

    def advance(self, records: int, nbytes: int) -> None:
        """Records known to fit the file being filled (``room``) go into it."""
        self._put(records, nbytes)

    def _put(self, records: int, nbytes: int) -> None:
        self._filled += nbytes
        self._split_left -= records
        last = self.files[-1]
        self.files[-1] = OutputFile(last.path, last.split, last.records + records)

    def _new_file(self) -> None:
        split = self.parts[self._split][0]
        self.files.append(OutputFile(self.layout.name(split, self._shard), split, 0))
        self._shard += 1
        self._filled = 0

    def _next_split(self) -> None:
        """End the split being cut (an empty one still gets its file) and begin the next."""
        if self._split >= 0 and self._shard == 0:
            self._new_file()
        if self._split + 1 == len(self.parts):
            raise AssertionError("more records than expected")
        self._split += 1
        self._split_left, self._shard, self._filled = self.parts[self._split][1], 0, 0

    def finish(self) -> None:
        """Begin the files of the splits that have none yet (no records are left for them)."""
        while self._split + 1 < len(self.parts):
            self._next_split()
        if self._shard == 0:
            self._new_file()


class SizedShards(ShardedOutput):
    """``--shard-size``: the output cut into files where ``SizeCuts`` says, from the records' lengths.

    Records written here (``write``) may arrive cut anywhere (a run copied in chunks, a record longer
    than a block in pieces): the start of a record waits (``_Partial``) until its end tells its length,
    then goes where that length puts it. Workers' runs are cut by their lengths (``cut_lengths``) into
    pieces the workers write, each appended to its file (``append_piece``).
    """

    def __init__(self, layout: Layout, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None,
                 level: int | None = None) -> None:
        super().__init__(layout, codec, fingerprint, level)
        self.sizes: SizeCuts | None = None
        self._partial: _Partial | None = None  # the start of a record not yet whole

    def expect(self, records: int) -> None:
        self.sizes = SizeCuts(self.layout, records)
        self.files = self.sizes.files  # grows as the cuts are found

    def cuts(self, first: int, records: int) -> list[Cut] | None:
        return None  # where a file ends depends on the lengths of the records before: ``cut_lengths``

    def measures_runs(self) -> bool:
        return True

    def cut_lengths(self, lengths: np.ndarray) -> list[Cut]:
        """Cuts of the next run of records, of ``lengths``: a piece for each file it reaches."""
        sizes = self._sizes()
        verify = self.fingerprint is not None
        return [
            Cut(file, records, RunForm(self.codec, verify, compression_for(sizes.files[file].path, self.level)), nbytes)
            for file, records, nbytes in sizes.take(lengths)
        ]

    def _sizes(self) -> SizeCuts:
        assert self.sizes is not None, "expect() must be called before records are written"
        return self.sizes

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
        done = 0
        for file, _, nbytes in self._sizes().take(np.diff(found, prepend=0)):
            self._to(file).write(data[done : done + nbytes])
            done += nbytes
        if done < len(data):
            self._partial = _Partial()
            self._partial.add(data[done:])

    def _all_in_the_open_file(self, data: bytes, start: int) -> bool:
        """Write the whole records of ``data[start:]`` (holding back the start of one) if they all go to
        the open file: the usual case, told by two scans in C rather than by every record's end."""
        room, records_left = self._sizes().room()
        if self._current is None or not records_left:
            return False
        whole = max(data.rfind(b"\n", start) + 1, start)  # no newline after ``start``: nothing whole
        if whole - start > room or (records := data.count(b"\n", start)) > records_left:
            return False
        self._sizes().advance(records, whole - start)
        self._current.write(memoryview(data)[start:whole])
        if whole < len(data):
            self._partial = _Partial()
            self._partial.add(memoryview(data)[whole:])
        return True

    def _to(self, file: int) -> Output:
        """The open file, after opening those up to ``file``."""
        while self._current is None or len(self._done) < file:
            self._next_shard()
        assert self._current is not None
        return self._current

    def _place_partial(self) -> None:
        """The record held in ``_partial``, now whole, to the file its length puts it in."""
        partial, self._partial = self._partial, None
        assert partial is not None
        [(file, _, _)] = self._sizes().take(np.array([partial.length]))
        out = self._to(file)
        for piece in partial.pieces():
            out.write(piece)

    def commit(self) -> None:
        if self.sizes is None:
            self.expect(0)
        self._sizes().finish()
        super().commit()

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
