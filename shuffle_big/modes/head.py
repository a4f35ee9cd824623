"""``-n N``: the first N records of the permutation, in one pass.

The permutation orders records by key, so its first N records are the N
smallest keys. One pass keeps candidates below the current N-th smallest key
and prunes whenever it holds 2N, so memory is bounded by about 2N records and
the result is byte-identical to the full shuffle's first N lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import itemgetter

import numpy as np

from ..core.keys import derive_keys, key_of, keys_of
from ..core.plan import HELD_LINE, Plan
from ..core.records import Block, LongRecord, keyed, write_lines
from ..errors import ShuffleError
from ..inputs.reader import RecordReader
from ..inputs.sources import InputInfo, NumberRange, check_unchanged, input_size, only_numbers, snapshot
from ..progress import Meter
from ..sizes import format_size


def head_of_permutation(
    items: Iterable[Block | LongRecord], mix: tuple[int, int], n: int, plan: Plan,
) -> tuple[list[bytes], int, int]:
    """The ``n`` records with the smallest keys, in key order (without newlines); and records, bytes read."""
    keys = np.empty(0, dtype=np.uint64)
    lines: list[bytes] = []
    held_bytes = 0
    limit = np.uint64(np.iinfo(np.uint64).max)  # accept keys below this
    seen = nbytes = 0
    for item in items:
        if isinstance(item, Block):
            ends, block_keys = keyed(item, mix)
            seen += len(ends)
            nbytes += len(item.data)
            if n == 0:
                continue
            picked = np.flatnonzero(block_keys < limit) if len(keys) >= n else np.arange(len(ends))
            if not len(picked):
                continue
            got = itemgetter(*picked.tolist())(item.data.split(b"\n"))
            got = [got] if len(picked) == 1 else list(got)
            lines += got
            held_bytes += sum(map(len, got))
            keys = np.concatenate([keys, block_keys[picked]])
        else:
            seen += 1
            key = np.uint64(key_of(item.start, mix))
            data = b"".join(item.pieces)
            nbytes += len(data)
            if n == 0 or (len(keys) >= n and key >= limit):
                continue
            lines.append(data[:-1])
            held_bytes += len(data)
            keys = np.concatenate([keys, np.array([key], dtype=np.uint64)])
        if len(keys) >= 2 * n:
            keys, lines, held_bytes, limit = _prune(keys, lines, n)
        if held_bytes + len(lines) * (HELD_LINE + 8) > plan.capacity:
            # up to 2n lines are held between prunes
            need = 2 * n * (held_bytes / len(lines) + HELD_LINE + 8) * plan.budget / plan.capacity
            raise ShuffleError(
                f"-n {n}: the {n} lines do not fit in --memory {format_size(plan.budget)} "
                f"(about {format_size(need)} needed)"
            )
    if len(keys) > n:
        keys, lines, held_bytes, limit = _prune(keys, lines, n)
    order = np.argsort(keys).tolist()
    return [lines[i] for i in order], seen, nbytes


def _prune(keys: np.ndarray, lines: list[bytes], n: int):
    """Keep the ``n`` smallest keys (they are distinct) and their lines."""
    kth = np.partition(keys, n - 1)[n - 1]
    keep = np.flatnonzero(keys <= kth)
    kept = [lines[i] for i in keep.tolist()]
    return keys[keep], kept, sum(map(len, kept)), kth


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
