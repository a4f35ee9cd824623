"""A pass's buckets: what pass 1 leaves, and ordering one bucket.

``order_bucket`` is pass 2 for one bucket wherever it runs (in this process
or in a task): ordered in memory if it fits, else scattered again by the
next key bits, recursively.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.order import order_frames
from ..core.plan import Plan
from ..core.records import Buffer, ends_of
from ..core.weights import Sample
from ..storage.buckets import FileBuckets
from ..storage.frames import LongFrame, PartRef, read_frames, remove_parts


@dataclass(frozen=True)
class Buckets:
    """Where pass 1 left the records of each key range: part files, bytes and record counts."""

    parts: list[list[PartRef]]  # parts[b]: where bucket b is (a part per scatter run)
    nbytes: list[int]
    nrecords: list[int]
    consumed: int  # key bits that select a bucket: the next ones cut it further
    files: int  # bucket files created, for reporting
    sample: Sample | None = None  # --weights: which records stay; the counts above are theirs, and
    stored: tuple[list[int], list[int]] | None = None  # the bytes and records of each bucket on disk, dropped ones too

    def on_disk(self, b: int) -> tuple[int, int]:
        """Bucket ``b``'s bytes and records as stored, what ordering it holds in memory."""
        if self.stored is None:
            return self.nbytes[b], self.nrecords[b]
        return self.stored[0][b], self.stored[1][b]


def order_bucket(
    parts: list[PartRef], nbytes: int, nrecords: int, consumed: int, plan: Plan,
    directory: str, name: str, write: Callable[[Buffer, np.ndarray | None], None], keep: bool = False,
    sample: Sample | None = None,
) -> int:
    """Write one bucket's records in key order; return the passes it took (1 if it fit).

    A bucket that fits is ordered in memory; a single record streams through;
    anything else is scattered again by the next key bits, recursively. The
    bucket's files are removed as soon as they are consumed, unless ``keep``
    (only the files of further splits are then removed). ``nbytes`` and
    ``nrecords`` are as stored; ``sample``: drop the records it does not keep,
    as they are ordered.
    """
    try:
        if nrecords == 0:
            return 1
        if plan.fits(nbytes, nrecords):
            frames = read_frames(parts)  # no max_frame: no LongFrame
            pieces = plan.piece_bits(nbytes, nrecords, consumed)
            dropping = sample.kept if sample is not None else None
            order_frames(frames, consumed, pieces, plan.block_records, write, dropping)  # type: ignore[arg-type]
            return 1
        if nrecords == 1:
            for frame in read_frames(parts, max_frame=0):
                assert isinstance(frame, LongFrame)  # max_frame 0: every record streams
                if sample is None or sample.kept(np.array([frame.key], dtype=np.uint64))[0]:
                    for piece in frame.pieces:
                        write(piece, None)
            return 1
        bits = plan.bucket_bits(nbytes, nrecords, consumed)
        with FileBuckets(directory, name, consumed, bits, plan) as sub:
            for frame in read_frames(parts, max_frame=plan.block_size):
                if isinstance(frame, LongFrame):
                    sub.add_long([frame.key], frame.pieces)
                else:
                    sub.add_block(frame.data, ends_of(frame.lengths), frame.keys)
        if not keep:
            remove_parts(parts)  # now, not only at the end: its disk is free for the splits below
        depth = 0
        for b, path in enumerate(sub.paths):
            depth = max(depth, order_bucket(
                [path], int(sub.nbytes[b]), int(sub.nrecords[b]), consumed + bits, plan, directory, f"{name}.{b}", write,
                sample=sample,
            ))
        return depth + 1
    finally:
        if not keep:
            remove_parts(parts)


def group_buckets(nbytes: list[int], nrecords: list[int], groups: int) -> list[list[int]]:
    """Consecutive non-empty buckets in about ``groups`` runs of similar size (one task each).

    Thousands of small buckets as thousands of tasks would cost more in task
    overhead than their ordering; a few runs per worker keep the load balanced.
    """
    total = sum(nbytes)
    target = max(1, total // max(1, groups))
    runs: list[list[int]] = [[]]
    size = 0
    for b, (n, r) in enumerate(zip(nbytes, nrecords)):
        if not r:
            continue
        if runs[-1] and size + n > target:
            runs.append([])
            size = 0
        runs[-1].append(b)
        size += n
    return [run for run in runs if run]

