"""``-n N``: the first N records of the permutation, in one pass.

The permutation orders records by key, so its first N records are the N
smallest keys. One pass keeps candidates below the current N-th smallest key
and prunes whenever it holds 2N, so memory is bounded by about 2N records and
the result is byte-identical to the full shuffle's first N lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..core.gather import gather
from ..core.keys import derive_keys, key_of, keys_of
from ..core.order import order_records
from ..core.plan import HELD_PER_RECORD, Plan
from ..core.records import Block, LongRecord, Records, ends_of, keyed, lengths_of, write_lines
from ..errors import ShuffleError
from ..inputs.reader import RecordReader
from ..inputs.sources import InputInfo, NumberRange, check_unchanged, input_size, only_numbers, snapshot
from ..progress import Meter
from ..sizes import format_size


def head_of_permutation(
    items: Iterable[Block | LongRecord], mix: tuple[int, int], n: int, plan: Plan,
) -> tuple[memoryview, int, int]:
    """The ``n`` records with the smallest keys, in key order, as one buffer; and records, bytes read.

    Candidates are held as ``Records`` chunks (a block's buffer, or what a
    gather kept of it), never as a Python object per record.
    """
    held: list[Records] = []
    held_bytes = held_records = 0
    limit = np.uint64(np.iinfo(np.uint64).max)  # accept keys below this (once n are held)
    seen = nbytes = 0
    for item in items:
        if isinstance(item, Block):
            ends, keys = keyed(item, mix)
            seen += len(ends)
            nbytes += len(item.data)
            if n == 0:
                continue
            chunk = Records(item.data, keys, lengths_of(ends))
            if held_records >= n:
                chunk = _select(chunk, keys < limit)
        else:
            seen += 1
            key = np.uint64(key_of(item.start, mix))
            data = b"".join(item.pieces)
            nbytes += len(data)
            if n == 0 or (held_records >= n and key >= limit):
                continue
            chunk = Records(data, np.array([key], dtype=np.uint64), np.array([len(data)], dtype=np.uint32))
        if not len(chunk.keys):
            continue
        held.append(chunk)
        held_bytes += len(chunk.data)
        held_records += len(chunk.keys)
        if held_records >= 2 * n:
            held, limit = _prune(held, n)
            held_bytes, held_records = len(held[0].data), len(held[0].keys)
        if plan.cost(held_bytes, held_records) > plan.capacity:
            # up to 2n records are held between prunes
            need = 2 * n * (held_bytes / held_records + HELD_PER_RECORD) * plan.budget / plan.capacity
            raise ShuffleError(
                f"-n {n}: the {n} lines do not fit in --memory {format_size(plan.budget)} "
                f"(about {format_size(need)} needed)"
            )
    if held_records > n:
        held, _ = _prune(held, n)
    return (order_records(held)[0] if held else memoryview(b"")), seen, nbytes


def _select(chunk: Records, keep: np.ndarray) -> Records:
    """The records of ``chunk`` where ``keep`` (a mask) is true, in the same order."""
    picked = np.flatnonzero(keep)
    if len(picked) == len(chunk.keys):
        return chunk
    data, offsets = gather(chunk.data, ends_of(chunk.lengths), picked)
    return Records(data, chunk.keys[picked], lengths_of(offsets[1:]))


def _prune(held: list[Records], n: int) -> tuple[list[Records], np.uint64]:
    """Keep the ``n`` smallest keys (they are distinct) and their records, as one chunk; and the n-th key."""
    keys = np.concatenate([c.keys for c in held])
    kth = np.partition(keys, n - 1)[n - 1]
    kept = [_select(c, c.keys <= kth) for c in held]
    joined = Records(
        b"".join(c.data for c in kept), np.concatenate([c.keys for c in kept]),
        np.concatenate([c.lengths for c in kept]),
    )
    return [joined], kth


def write_head(
    infos: list[InputInfo], plan: Plan, seed: int, n: int, out, progress: bool, sep: bytes = b"\n", header: int = 0,
) -> tuple[int, int]:
    """``-n``: the first ``n`` records of the permutation to ``out``; return the records and bytes read."""
    paths = [info.source for info in infos]
    numbers = only_numbers(infos, header)
    if numbers is not None and numbers.hi < 1 << 62 and n * 48 <= plan.capacity:
        picked = head_of_range(numbers, derive_keys(seed), n)
        out.write_header(b"")
        out.expect(len(picked))
        write_lines([b"%d" % k for k in picked], out.write)
        return numbers.hi - numbers.lo + 1, numbers.size(len(sep))
    snap = snapshot(infos)
    reader = RecordReader(paths, **plan.reader_sizes, sep=sep, header=header)
    with Meter(progress, "reading", input_size(infos)) as meter:

        def ticking() -> Iterator[Block | LongRecord]:
            for item in reader:
                yield item
                meter.to(reader.bytes_read)

        first, records, nbytes = head_of_permutation(ticking(), derive_keys(seed), n, plan)
    check_unchanged(snap)
    out.write_header(reader.header)
    out.expect(min(n, records))
    out.write(first)
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
