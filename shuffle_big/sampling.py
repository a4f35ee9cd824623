"""The modes that write a sample instead of a permutation: ``-n`` and ``-r``.

``-n N`` writes the first N records of the permutation (one pass, N records
held); ``-r`` writes records drawn with replacement. Both write to an output
given by the engine and report what they read.
"""

from __future__ import annotations

import os
from typing import Iterator

from .inputs import NumberRange, Source, check_unchanged, snapshot
from .keys import derive_keys
from .plan import Plan
from .progress import Meter
from .records import Block, LongRecord, RecordReader
from .repeat import Repeater, draw_numbers, write_lines
from .sample import head_of_permutation


def write_head(
    paths: list[Source], size: int | None, plan: Plan, seed: int, n: int, out, progress: bool,
    sep: bytes = b"\n", header: int = 0,
) -> tuple[int, int]:
    """``-n``: the first ``n`` records of the permutation to ``out``; return the records and bytes read."""
    snap = snapshot(paths)
    reader = RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)
    with Meter(progress, "reading", size) as meter:

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


def write_draws(
    paths: list[Source], plan: Plan, seed: int, count: int | None, out, temp, sep: bytes = b"\n", header: int = 0,
) -> int:
    """``-r``: ``count`` records drawn with replacement (None: until the reader goes away); return the input's records."""
    mix = derive_keys(seed, "repeat")
    if len(paths) == 1 and isinstance(paths[0], NumberRange) and not header:
        if count is not None:
            out.expect(count)
        draw_numbers(paths[0].lo, paths[0].hi, count, mix, out.write)
        return paths[0].hi - paths[0].lo + 1
    first = RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)
    snap = snapshot(paths)
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
        copy=(lambda: os.path.join(temp.path, "input")) if "-" in paths else None,
        read_copy=lambda path: RecordReader([path], **plan.reader_sizes),
    )
    repeater.run(count, write)
    write(b"")  # the header, when no line was drawn
    return repeater.records
