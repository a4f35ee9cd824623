"""The modes that write a sample instead of a permutation: ``-n`` and ``-r``.

``-n N`` writes the first N records of the permutation (one pass, N records
held); ``-r`` writes records drawn with replacement. Both write to an output
given by the engine and report what they read.
"""

from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from .inputs import InputInfo, NumberRange, check_unchanged, input_size, snapshot
from .keys import derive_keys, keys_of
from .plan import Plan
from .progress import Meter
from .records import Block, LongRecord, RecordReader
from .repeat import Repeater, draw_numbers, write_lines
from .sample import head_of_permutation


def write_head(
    infos: list[InputInfo], plan: Plan, seed: int, n: int, out, progress: bool, sep: bytes = b"\n", header: int = 0,
) -> tuple[int, int]:
    """``-n``: the first ``n`` records of the permutation to ``out``; return the records and bytes read."""
    paths = [info.source for info in infos]
    if len(paths) == 1 and isinstance(paths[0], NumberRange) and not header and paths[0].hi < 1 << 62 \
            and n * 48 <= plan.capacity:
        numbers = head_of_range(paths[0], derive_keys(seed), n)
        out.write_header(b"")
        out.expect(len(numbers))
        write_lines([b"%d" % k for k in numbers], out.write)
        return paths[0].hi - paths[0].lo + 1, paths[0].size(len(sep))
    snap = snapshot(infos)
    reader = RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)
    with Meter(progress, "reading", input_size(infos)) as meter:

        def ticking() -> Iterator[Block | LongRecord]:
            for item in reader:
                yield item
                meter.to(reader.bytes_read)

        lines, records, nbytes = head_of_permutation(ticking(), derive_keys(seed), n, plan)
    check_unchanged(snap)
    out.write_header(reader.header)
    out.expect(len(lines))
    write_lines(lines, out.write)
    return records, nbytes


def head_of_range(numbers: NumberRange, mix: tuple[int, int], n: int, chunk: int = 1 << 22) -> list[int]:
    """``-i LO-HI -n N`` without generating the text: each number's offset is arithmetic.

    The number k of d digits starts where the numbers before it end, so the keys
    of a run of same-width numbers are keyed hashes of an arithmetic sequence;
    the N smallest are kept chunk by chunk. Same keys, same order, as reading the text.
    """
    best_keys = np.empty(0, dtype=np.uint64)
    best = np.empty(0, dtype=np.int64)
    if n == 0:
        return []
    offset = 0
    for digits, a, b in numbers.widths():
        for start in range(a, b + 1, chunk):
            stop = min(b + 1, start + chunk)
            k = np.arange(start, stop, dtype=np.int64)
            keys = keys_of(np.uint64(offset) + (k - a).astype(np.uint64) * np.uint64(digits + 1), mix)
            best_keys, best = np.concatenate([best_keys, keys]), np.concatenate([best, k])
            if len(best) > n:
                keep = np.argpartition(best_keys, n - 1)[:n]
                best_keys, best = best_keys[keep], best[keep]
        offset += (b - a + 1) * (digits + 1)
    return best[np.argsort(best_keys)].tolist()


def write_draws(
    infos: list[InputInfo], plan: Plan, seed: int, count: int | None, out, temp, sep: bytes = b"\n", header: int = 0,
) -> int:
    """``-r``: ``count`` records drawn with replacement (None: until the reader goes away); return the input's records."""
    mix = derive_keys(seed, "repeat")
    paths = [info.source for info in infos]
    if len(paths) == 1 and isinstance(paths[0], NumberRange) and not header:
        if count is not None:
            out.expect(count)
        draw_numbers(paths[0].lo, paths[0].hi, count, mix, out.write)
        return paths[0].hi - paths[0].lo + 1
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
        copy=None if all(info.replayable for info in infos) else (lambda: os.path.join(temp.path, "input")),
        read_copy=lambda path: RecordReader([path], **plan.reader_sizes),
    )
    repeater.run(count, write)
    write(b"")  # the header, when no line was drawn
    return repeater.records
