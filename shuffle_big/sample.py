"""``-n N``: the first N records of the permutation, in one pass.

The permutation orders records by key, so its first N records are the N
smallest keys. One pass keeps candidates below the current N-th smallest key
and prunes whenever it holds 2N, so memory is bounded by about 2N records and
the result is byte-identical to the full shuffle's first N lines.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Iterable

import numpy as np

from .errors import ShuffleError
from .keys import key_of
from .plan import Plan
from .records import Block, LongRecord, keyed
from .sizes import format_size

OBJECT_OVERHEAD = 57  # a held bytes object plus its list slot


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
        if held_bytes + len(lines) * (OBJECT_OVERHEAD + 8) > plan.capacity:
            # up to 2n lines are held between prunes
            need = 2 * n * (held_bytes / len(lines) + OBJECT_OVERHEAD + 8) * plan.budget / plan.capacity
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
