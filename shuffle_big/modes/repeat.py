"""``-r``: records drawn uniformly with replacement, out of core.

Draw ``d`` is record ``key(d) mod M`` of the M input records (``key``: the
seed's keyed bijection, with keys of their own; the bias of the modulus is
below M/2**64). The draws are a function of (seed, d, M) only, so they come
out the same whether the records are held in memory or not.

Input that fits is held and drawn from at memory speed. Otherwise one pass
counts the records (copying standard input to temp space, since it cannot
be read again), then each batch of draws, as many as the budget holds, is one
pass that picks its records as they go by. A drawn record too long to hold
is streamed from the input again when its turn comes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ..core.gather import arrow_binary, decimal_lines, gather, take
from ..core.keys import derive_keys, keys_of
from ..core.plan import HELD_PER_RECORD, Plan
from ..core.records import Block, Buffer, LongRecord, Records, ends_of, lengths_of, record_ends, tapped
from ..errors import ShuffleError, describe_os_error
from ..inputs.reader import RecordReader
from ..inputs.sources import InputInfo, check_unchanged, only_numbers, snapshot
from ..sizes import format_size
from ..storage.rawio import writev_all

# Per draw in a batch, beyond its record's bytes held twice (picked, then joined): its
# record number, sorted order, rank and place (4 x 8), length and end (12), Arrow offset
# (4), and slack for the batch written out (~1 MB at a time).
DRAW_STATE = 56
MEMORY_BATCH = 1 << 16  # draws made at once when the records are in memory

Items = Iterable[Block | LongRecord]


def draw_indices(first: int, count: int, records: int, mix: tuple[int, int]) -> np.ndarray:
    """Record numbers (0-based, uint64) of draws ``first .. first + count - 1``, of ``records`` (< 2**64).

    A draw is its keyed hash modulo ``records``, but only once the hash is below the
    largest multiple of ``records``: a hash above it is hashed again until it is not.
    Without that, ``-r -i 1-18446744073709551615`` would draw the numbers below
    2**63 twice as often as the others. Hashing draw numbers below the multiple
    (``first`` is far below it) again along the same bijection lands every draw on a
    distinct value below it (cycle walking), so each value is equally likely.
    """
    keys = keys_of(np.arange(first, first + count, dtype=np.uint64), mix)
    limit = (1 << 64) - (1 << 64) % records
    if limit < 1 << 64:  # records is not a power of two: some hashes are redrawn
        over = np.flatnonzero(keys >= np.uint64(limit))
        while len(over):
            keys[over] = keys_of(keys[over], mix)
            over = over[keys[over] >= np.uint64(limit)]
    return keys % np.uint64(records)


def batches(count: int | None, size: int) -> Iterator[tuple[int, int]]:
    """(first draw, draws) for batches of at most ``size`` covering ``count`` draws (None: without end)."""
    done = 0
    while count is None or done < count:
        n = size if count is None else min(size, count - done)
        yield done, n
        done += n


def draw_numbers(lo: int, hi: int, count: int | None, mix: tuple[int, int], write: Callable[[Buffer], None]) -> None:
    """``-r -i LO-HI``: record d is the number ``lo + d`` itself, so no pass over the text is needed."""
    if hi < lo and count != 0:
        raise ShuffleError("no lines to repeat")
    for first, n in batches(count, MEMORY_BATCH):
        write(decimal_lines(draw_indices(first, n, hi - lo + 1, mix) + np.uint64(lo))[0])


class Repeater:
    """Writes ``count`` draws (None: without end) of the records ``read()`` yields.

    ``read()`` gives the input's items and is called again for each pass; if
    ``copy`` is set (the input cannot be read twice, like a pipe), the first
    pass also writes the records to the file ``copy()`` names, and later
    passes read that with ``read_copy``. ``write`` takes records joined with
    their newlines.
    """

    def __init__(
        self, read: Callable[[], Items], mix: tuple[int, int], capacity: int, budget: int,
        copy: Callable[[], str] | None = None, read_copy: Callable[[str], Items] | None = None,
    ) -> None:
        self.read = read
        self.mix = mix
        self.capacity = capacity
        self.budget = budget
        self.copy = copy
        self.read_copy = read_copy
        self.records = 0
        self.passes = 0  # over the input (or its copy)

    def run(self, count: int | None, write: Callable[[Buffer], None]) -> None:
        self.passes = 1
        items = iter(self.read())
        held, nbytes, nrecords, rest = self._hold(items)
        if rest is None:
            self._count(nrecords, count)
            data, ends = _joined(held)
            held.clear()  # joined: the blocks go
            records = arrow_binary(data, ends)
            # Batches of ~1 MB of output: larger ones, freed in turn, fragment the C heap
            # (10 M draws of ~157-byte lines at -m 256M: 256 MB peak in batches of 10 MB);
            # and a batch's bytes stay addressable by 32-bit offsets, however long its lines.
            longest = int(np.diff(ends, prepend=0).max()) if len(ends) else 1
            per_batch = min(MEMORY_BATCH, max(1, (1 << 20) * len(ends) // max(1, len(data))), (1 << 30) // max(1, longest))
            for first, n in batches(count, max(1, per_batch)):
                write(take(records, draw_indices(first, n, nrecords, self.mix))[0])
            return
        # Too big to hold: count the records (keeping a copy if the input cannot be
        # read again), then one pass per batch of draws.
        mean = nbytes / max(1, nrecords)
        copy = self.copy() if self.copy is not None else None
        if copy is not None:
            rest = tee_to_file(rest, copy, held)
        else:
            del held
        self._count(nrecords + sum(_record_count(item) for item in rest), count)
        # a quarter spare: the lines drawn may be longer than the ones seen so far
        per_batch = max(1, int(self.capacity * 3 // 4 // (2 * mean + DRAW_STATE)))
        read_copy = self.read_copy

        def reread() -> Iterator:
            self.passes += 1
            return iter(self.read() if copy is None or read_copy is None else read_copy(copy))

        for first, n in batches(count, per_batch):
            self._write_picked(reread, draw_indices(first, n, self.records, self.mix), write)

    def _hold(self, items: Iterator) -> tuple[list[Records], int, int, Iterator | None]:
        """Read records while they fit; return them, their bytes and count, and the rest (None: all read)."""
        held: list[Records] = []
        nbytes = nrecords = 0
        for item in items:
            if isinstance(item, LongRecord):
                return held, nbytes, nrecords, _prepend(item, items)
            ends = record_ends(item.data) if item.ends is None else item.ends
            held.append(Records(item.data, np.empty(0, dtype=np.uint64), lengths_of(ends)))
            nbytes += len(item.data)
            nrecords += len(ends)
            if nbytes + nrecords * HELD_PER_RECORD > self.capacity:
                return held, nbytes, nrecords, items
        return held, nbytes, nrecords, None

    def _count(self, records: int, count: int | None) -> None:
        self.records = records
        if records == 0 and count != 0:
            raise ShuffleError("no lines to repeat")

    def _write_picked(self, reread: Callable[[], Iterator], wanted: np.ndarray, write: Callable[[Buffer], None]) -> None:
        """Write the records numbered ``wanted``, in that order, picked in one pass; long ones stream again."""
        order = np.argsort(wanted, kind="stable")
        ranked = wanted[order]
        picked: list[Records] = []  # in ranked order; a long record is an empty placeholder
        longs = np.zeros(len(wanted), dtype=bool)  # in ranked order
        held = 0
        seen = 0
        for item in reread():
            n = _record_count(item) if isinstance(item, Block) else 1
            lo, hi = np.searchsorted(ranked, [seen, seen + n])
            if hi > lo and isinstance(item, LongRecord):
                longs[lo:hi] = True
                picked.append(Records(b"", np.empty(0, dtype=np.uint64), np.zeros(hi - lo, dtype=np.uint32)))
            elif hi > lo:
                ends = record_ends(item.data) if item.ends is None else item.ends
                got, offsets = gather(item.data, ends, ranked[lo:hi] - seen)
                picked.append(Records(got, np.empty(0, dtype=np.uint64), lengths_of(offsets[1:])))
                held += len(got)
                if 2 * held + len(wanted) * DRAW_STATE > self.capacity:
                    raise ShuffleError(
                        f"-r: the {len(wanted)} lines drawn at a time do not fit in --memory "
                        f"{format_size(self.budget)} (the lines drawn are longer than most): use a larger --memory"
                    )
            seen += n
        if seen != self.records:  # records numbered past the end would be left unpicked
            raise ShuffleError(f"the input changed between passes ({self.records} lines, then {seen})")
        data, ends = _joined(picked)
        picked.clear()
        records = arrow_binary(data, ends)
        step = max(1, (1 << 20) * len(ends) // max(1, len(data)))  # ~1 MB written at a time
        places = np.argsort(order)  # draw i is the record ranked places[i]
        start = 0
        for i in [*np.flatnonzero(longs[places]).tolist(), len(places)]:  # draws of records too long to hold
            for lo in range(start, i, step):
                write(take(records, places[lo : min(i, lo + step)])[0])
            if i < len(places):
                _stream_record(reread(), int(wanted[i]), write)
            start = i + 1


def _joined(chunks: list[Records]) -> tuple[Buffer, np.ndarray]:
    """The records of ``chunks`` as one buffer and their ends."""
    if len(chunks) == 1:
        return chunks[0].data, ends_of(chunks[0].lengths)
    if not chunks:
        return b"", np.empty(0, dtype=np.int64)
    return b"".join(c.data for c in chunks), ends_of(np.concatenate([c.lengths for c in chunks]))


def _stream_record(items: Iterator, number: int, write: Callable[[bytes], None]) -> None:
    """Write record ``number`` (a long one) piece by piece from a new pass over the input."""
    seen = 0
    try:
        for item in items:
            if seen == number and isinstance(item, LongRecord):
                for piece in item.pieces:
                    write(piece)
                return
            seen += _record_count(item)
    finally:
        close = getattr(items, "close", None)  # the reader's generator holds the input's files
        if close is not None:
            close()
    raise ShuffleError("the input changed between passes")


def _record_count(item: Block | LongRecord) -> int:
    return item.data.count(b"\n") if isinstance(item, Block) else 1


def _prepend(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest




def tee_to_file(items: Iterable[Block | LongRecord], path: str, first: list[Records]) -> Iterator[Block | LongRecord]:
    """Write the records ``first`` (emptying the list), then pass items through while appending their records
    (internal form) to ``path``, for the next passes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def write(data: Buffer) -> None:
        try:
            writev_all(fd, [data])
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    try:
        for chunk in first:
            write(chunk.data)
        first.clear()
        for item in items:
            if isinstance(item, Block):
                write(item.data)
            else:
                item.pieces = tapped(item.pieces, write)
            yield item
    finally:
        os.close(fd)


def write_draws(
    infos: list[InputInfo], plan: Plan, seed: int, count: int | None, out, temp, sep: bytes = b"\n", header: int = 0,
) -> tuple[int, int, int]:
    """``-r``: ``count`` records drawn with replacement (None: until the reader goes away).

    Returns the input's records and bytes (header aside), and the passes over it.
    """
    mix = derive_keys(seed, "repeat")
    paths = [info.source for info in infos]
    numbers = only_numbers(infos, header)
    if numbers is not None:
        if count is not None:
            out.expect(count)
        draw_numbers(numbers.lo, numbers.hi, count, mix, out.write)
        return numbers.hi - numbers.lo + 1, numbers.size(len(sep)), 1
    first = RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)
    snap = snapshot(infos)
    reads = 0

    def read() -> RecordReader:
        nonlocal reads
        reads += 1
        if reads == 1:
            return first
        check_unchanged(snap)
        return RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)

    started = False

    def write(data: Buffer) -> None:
        nonlocal started
        if not started:
            started = True
            out.write_header(first.header)
            if count is not None:
                out.expect(count)
        out.write(data)

    repeater = Repeater(
        read, mix, plan.capacity, plan.budget,
        # a pipe or FIFO cannot be read again: the first pass keeps a copy for the others
        copy=None if all(info.replayable for info in infos) else (lambda: os.path.join(temp.local_dir(), "input")),
        read_copy=lambda path: RecordReader([path], **plan.reader_sizes),
    )
    repeater.run(count, write)
    write(b"")  # the header, when no line was drawn
    return repeater.records, first.bytes_read - len(first.header), repeater.passes
