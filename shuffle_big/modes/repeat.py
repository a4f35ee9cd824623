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
from dataclasses import dataclass
from operator import itemgetter

import numpy as np

from ..core.keys import derive_keys, keys_of
from ..core.plan import HELD_LINE, Plan
from ..core.records import Block, LongRecord, tapped, write_lines
from ..errors import ShuffleError, describe_os_error
from ..inputs.reader import RecordReader
from ..inputs.sources import InputInfo, check_unchanged, only_numbers, snapshot
from ..sizes import format_size
from ..storage.rawio import writev_all

DRAW_STATE = 3 * 8  # per draw in a batch: its record number, its place in sorted order, a list slot
MEMORY_BATCH = 1 << 16  # draws made at once when the records are in memory

Items = Iterable[Block | LongRecord]


def draw_indices(first: int, count: int, records: int, mix: tuple[int, int]) -> np.ndarray:
    """Record numbers (0-based) of draws ``first .. first + count - 1``."""
    keys = keys_of(np.arange(first, first + count, dtype=np.uint64), mix)
    return (keys % np.uint64(records)).astype(np.int64)


def batches(count: int | None, size: int) -> Iterator[tuple[int, int]]:
    """(first draw, draws) for batches of at most ``size`` covering ``count`` draws (None: without end)."""
    done = 0
    while count is None or done < count:
        n = size if count is None else min(size, count - done)
        yield done, n
        done += n


def draw_numbers(lo: int, hi: int, count: int | None, mix: tuple[int, int], write: Callable[[bytes], None]) -> None:
    """``-r -i LO-HI``: record d is the number ``lo + d`` itself, so no pass over the text is needed."""
    if hi < lo and count != 0:
        raise ShuffleError("no lines to repeat")
    for first, n in batches(count, MEMORY_BATCH):
        picked = [lo + i for i in draw_indices(first, n, hi - lo + 1, mix).tolist()]  # Python ints: no overflow
        write(("\n".join(map(str, picked)) + "\n").encode())


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

    def run(self, count: int | None, write: Callable[[bytes], None]) -> None:
        self.passes = 1
        items = iter(self.read())
        lines, nbytes, rest = self._hold(items)
        if rest is None:
            self._count(len(lines), count)
            for first, n in batches(count, MEMORY_BATCH):
                picked = itemgetter(*draw_indices(first, n, len(lines), self.mix).tolist())(lines)
                write_lines([picked] if n == 1 else list(picked), write)
            return
        # Too big to hold: count the records (keeping a copy if the input cannot be
        # read again), then one pass per batch of draws.
        mean = nbytes / max(1, len(lines))
        copy = self.copy() if self.copy is not None else None
        held = len(lines)
        if copy is not None:
            rest = tee_to_file(rest, copy, lines)
        else:
            del lines
        self._count(held + sum(_record_count(item) for item in rest), count)
        # a quarter spare: the lines drawn may be longer than the ones seen so far
        per_batch = max(1, int(self.capacity * 3 // 4 // (mean + HELD_LINE + DRAW_STATE)))
        read_copy = self.read_copy

        def reread() -> Iterator:
            self.passes += 1
            return iter(self.read() if copy is None or read_copy is None else read_copy(copy))

        for first, n in batches(count, per_batch):
            chosen = self._pick(reread(), draw_indices(first, n, self.records, self.mix))
            for run in _runs(chosen):
                if isinstance(run, _Long):
                    _stream_record(reread(), run.number, write)
                else:
                    write_lines(run, write)

    def _hold(self, items: Iterator) -> tuple[list[bytes], int, Iterator | None]:
        """Read records while they fit; return them, their bytes, and the rest of the items (None: all read)."""
        lines: list[bytes] = []
        nbytes = 0
        for item in items:
            if isinstance(item, LongRecord):
                return lines, nbytes, _prepend(item, items)
            lines += item.data.split(b"\n")[:-1]
            nbytes += len(item.data)
            if nbytes + len(lines) * HELD_LINE > self.capacity:
                return lines, nbytes, items
        return lines, nbytes, None

    def _count(self, records: int, count: int | None) -> None:
        self.records = records
        if records == 0 and count != 0:
            raise ShuffleError("no lines to repeat")

    def _pick(self, items: Iterator, wanted: np.ndarray) -> list[bytes | _Long]:
        """The records numbered ``wanted``, in that order, picked in one pass over ``items``."""
        order = np.argsort(wanted, kind="stable")
        ranked = wanted[order]
        chosen: list[bytes | _Long | None] = [None] * len(wanted)
        held = 0
        seen = 0
        for item in items:
            n = _record_count(item) if isinstance(item, Block) else 1
            lo, hi = np.searchsorted(ranked, [seen, seen + n])
            if hi > lo and isinstance(item, LongRecord):
                for place in order[lo:hi].tolist():
                    chosen[place] = _Long(seen)  # streamed again when written
            elif hi > lo:
                lines = item.data.split(b"\n")
                for place, number in zip(order[lo:hi].tolist(), ranked[lo:hi].tolist()):
                    chosen[place] = lines[number - seen]
                    held += len(lines[number - seen])
                if held + len(chosen) * (HELD_LINE + DRAW_STATE) > self.capacity:
                    raise ShuffleError(
                        f"-r: the {len(chosen)} lines drawn at a time do not fit in --memory "
                        f"{format_size(self.budget)} (the lines drawn are longer than most): use a larger --memory"
                    )
            seen += n
        if seen != self.records:  # records numbered past the end would be left unpicked
            raise ShuffleError(f"the input changed between passes ({self.records} lines, then {seen})")
        return chosen  # type: ignore[return-value]  # every wanted number is below self.records


@dataclass(frozen=True)
class _Long:
    """A drawn record too long to hold: its number in the input."""

    number: int


def _runs(chosen: list) -> Iterator[list[bytes] | _Long]:
    """Runs of held lines, and the long records between them, in order."""
    run: list[bytes] = []
    for line in chosen:
        if isinstance(line, _Long):
            if run:
                yield run
                run = []
            yield line
        else:
            run.append(line)
    if run:
        yield run


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




def tee_to_file(items: Iterable[Block | LongRecord], path: str, first: list[bytes]) -> Iterator[Block | LongRecord]:
    """Write lines ``first`` (emptying the list), then pass items through while appending their records
    (internal form) to ``path``, for the next passes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def write(data: bytes) -> None:
        try:
            writev_all(fd, [data])
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    try:
        write_lines(first, write)
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

    def write(data: bytes) -> None:
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
