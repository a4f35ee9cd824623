"""Pass 2: putting the records of one in-memory bucket in key order.

A piece of records is ordered with one argsort and one gather. A
bucket is one piece when that fits its memory (``Plan.piece_bits``); a bigger
one is first cut by further key bits into cache-sized pieces (a sort and a
gather of a piece that size stay in cache: see ``Plan.piece_bits``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .gather import gather
from .partition import Partitioned
from .records import Buffer, Records, ends_of

Keep = Callable[[np.ndarray], np.ndarray]  # keys -> a mask of the records that stay (--weights' sample)


def order_piece(data: Buffer, keys: np.ndarray, ends: np.ndarray, keep: Keep | None = None) -> tuple[memoryview, np.ndarray]:
    """The records of ``data`` (ending at ``ends``, keyed ``keys``) sorted by key, and their new ends;
    only those ``keep`` keeps, if given (dropped in the same gather)."""
    if keep is not None:
        mask = keep(keys)
        if not mask.all():
            kept = np.flatnonzero(mask)
            if not len(kept):
                return memoryview(b""), kept
            ordered, offsets = gather(data, ends, kept[np.argsort(keys[kept])])
            return ordered, offsets[1:]
    if len(keys) <= 1:
        return memoryview(data), ends
    order = np.argsort(keys)  # keys are distinct: no tie rule, any sort will do
    ordered, offsets = gather(data, ends, order)
    return ordered, offsets[1:]


def order_frames(
    frames: Iterable[Records],
    consumed: int,
    bits: int,
    max_records: int,
    write: Callable[[Buffer, np.ndarray], None],
    keep: Keep | None = None,
) -> None:
    """Write the records of ``frames`` (a key-range bucket) in key order: ``write(data, ends)``; only
    those ``keep`` keeps, if given.

    ``bits`` key bits after ``consumed`` cut the bucket into pieces ordered one
    at a time; the caller picks ``bits`` so a piece is cache-sized. Frames are
    partitioned at most ``max_records`` records at a time.
    """
    if bits == 0:
        pieces = list(frames)
        if pieces:
            _write_some(write, *order_records(pieces, keep))
        return
    held = Partitioned(consumed, bits, max_records)
    for frame in frames:
        held.add(frame.data, ends_of(frame.lengths), frame.keys)
    for _, pieces in held.take():
        _write_some(write, *order_records(pieces, keep))


def _write_some(write: Callable[[Buffer, np.ndarray], None], data: Buffer, ends: np.ndarray) -> None:
    if len(ends):  # all of a piece may be dropped
        write(data, ends)


def order_records(pieces: list[Records], keep: Keep | None = None) -> tuple[memoryview, np.ndarray]:
    """The records of ``pieces`` (slices of one key range) in key order, as one buffer, and their ends.

    ``pieces`` is emptied once joined. Their memory stays with the C heap for
    the next bucket's frames (handing it back with ``malloc_trim`` for each
    bucket measured 10-20% slower pass 2 on 20-byte lines), so the plan must
    count three copies at the peak.
    """
    if len(pieces) == 1:
        data, keys, lengths = pieces.pop()
        return order_piece(data, keys, ends_of(lengths), keep)
    data = b"".join(p.data for p in pieces)
    keys = np.concatenate([p.keys for p in pieces])
    ends = ends_of(np.concatenate([p.lengths for p in pieces]))
    pieces.clear()
    return order_piece(data, keys, ends, keep)
