"""Splitting blocks of records into key-range buckets with C-level operations.

This is the single primitive behind both scattering to bucket files and
cutting a bucket into cache-sized pieces in memory: per block, one radix
argsort of small bucket ids and one gather (``gather``, Arrow's ``take``).
No Python loop runs per record, and no record becomes a Python object.
Partitioned blocks are held whole (one buffer and two small bound arrays
each) rather than as per-bucket slices: a slice object costs ~200 bytes,
more than the data it points at when blocks are small.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .gather import gather
from .keys import buckets_of
from .records import Buffer, Records, lengths_of

PART_OVERHEAD = 400  # bytes of Python objects per held partition, besides its arrays


@dataclass(slots=True)
class Partition:
    blob: memoryview  # the block's records regrouped by bucket, bucket 0 first
    keys: np.ndarray  # their keys, in the same order
    lengths: np.ndarray  # and lengths (uint32)
    byte_cum: np.ndarray  # bucket b is blob[byte_cum[b]:byte_cum[b+1]]
    rec_cum: np.ndarray  # and keys[rec_cum[b]:rec_cum[b+1]]

    @property
    def cost(self) -> int:
        # bound arrays count twice: ``Partitioned.take`` stacks copies of them
        return len(self.blob) + self.keys.nbytes + self.lengths.nbytes + 2 * (self.byte_cum.nbytes + self.rec_cum.nbytes) + PART_OVERHEAD


def partition(data: Buffer, ends: np.ndarray, keys: np.ndarray, consumed: int, bits: int) -> Partition:
    """Regroup the records of ``data`` (ending at ``ends``, keyed ``keys``) by key bucket."""
    nb = 1 << bits
    ids = buckets_of(keys, consumed, bits)
    bound = np.int32 if len(data) < 1 << 31 else np.int64  # held per block: keep them small
    rec_cum = np.zeros(nb + 1, dtype=bound)
    np.cumsum(np.bincount(ids, minlength=nb), out=rec_cum[1:])
    # Bucket ids are small integers: the stable sort is a radix sort, ~10 ns/record.
    order = np.argsort(ids, kind="stable")
    blob, offsets = gather(data, ends, order)
    return Partition(blob, keys[order], lengths_of(offsets[1:]), byte_cum=offsets[rec_cum].astype(bound), rec_cum=rec_cum)


class Partitioned:
    """Blocks partitioned by the same key bits, held until taken out bucket by bucket.

    Blocks of more than ``max_records`` records are cut first, which bounds the
    working memory of a block full of empty lines.
    """

    def __init__(self, consumed: int, bits: int, max_records: int) -> None:
        self.consumed = consumed
        self.bits = bits
        self.count = 1 << bits
        self.max_records = max_records
        self.cost = 0  # memory held, bytes
        self.nbytes = np.zeros(self.count, dtype=np.int64)  # everything ever added, per bucket
        self.nrecords = np.zeros(self.count, dtype=np.int64)
        self._parts: list[Partition] = []

    def add(self, data: Buffer, ends: np.ndarray, keys: np.ndarray) -> None:
        n = len(ends)
        if n <= self.max_records:
            self._add(data, ends, keys)
            return
        lo = 0
        for i in range(0, n, self.max_records):
            j = min(i + self.max_records, n)
            hi = int(ends[j - 1])
            self._add(data[lo:hi], ends[i:j] - lo, keys[i:j])
            lo = hi

    def _add(self, data: Buffer, ends: np.ndarray, keys: np.ndarray) -> None:
        part = partition(data, ends, keys, self.consumed, self.bits)
        self._parts.append(part)
        self.cost += part.cost
        self.nbytes += np.diff(part.byte_cum)
        self.nrecords += np.diff(part.rec_cum)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def take(self) -> Iterator[tuple[int, list[Records]]]:
        """(bucket, its records in a slice of each block that has some) for each non-empty bucket, ascending.

        The held blocks are released once the iteration ends.
        """
        parts, self._parts, self.cost = self._parts, [], 0
        if not parts:
            return
        byte_cum = np.stack([p.byte_cum for p in parts], axis=1)  # row b: bounds of bucket b in each part
        rec_cum = np.stack([p.rec_cum for p in parts], axis=1)
        blobs = [memoryview(p.blob) for p in parts]
        keys = [p.keys for p in parts]
        lengths = [p.lengths for p in parts]
        del parts
        for b in range(self.count):
            rlo, rhi = rec_cum[b], rec_cum[b + 1]
            present = np.flatnonzero(rhi > rlo).tolist()
            if not present:
                continue
            blo, bhi = byte_cum[b].tolist(), byte_cum[b + 1].tolist()
            rlo, rhi = rlo.tolist(), rhi.tolist()
            yield b, [
                Records(blobs[i][blo[i] : bhi[i]], keys[i][rlo[i] : rhi[i]], lengths[i][rlo[i] : rhi[i]])
                for i in present
            ]
