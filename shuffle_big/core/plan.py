"""Turning a memory budget into sizes: blocks, buffers, bucket counts.

All functions here are pure arithmetic so that tests can check them directly.

Where the memory goes (``scripts/memory_model.py`` measures the working sets:
peak RSS over what is held, solved over 32 MB of 20-byte and ~157-byte lines):
- a held record costs its bytes plus an 8-byte key and a 4-byte length;
- keying and partitioning a block costs 0.94 bytes per byte (the regrouped
  copy) and ~37 per record (measured; 0.1's Python objects cost 130, the
  figure kept below), so blocks are cut to at most ``block_records`` records;
- ordering a bucket whole costs 2.83 bytes per byte (the frames, which stay
  in the C heap once joined, the join, the ordered copy) and 28.4 per record.
  The constants below (4 per byte, 110 per record, from 0.1) stay: with the
  measured ones, buckets ordered whole at -m 16M peaked 6 MB higher than the
  model says (fixed costs of small buckets), past the budget on ~157-byte
  lines. Re-deriving them for small budgets is open work (issue #12).
The budget is split so that held data plus working sets stay inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

MIN_MEMORY = 1 << 20
HELD_PER_RECORD = 12  # a held record's key and length, beyond its data
WORK_PER_RECORD = 130  # bytes of working memory per record while a block is partitioned
CODE_RESERVE = 3 << 20  # memory a run uses beyond an idle interpreter that is not data
LONGEST_HELD = 1 << 30  # a longer record streams at any budget: held lengths are 32-bit
MIN_WRITE = 16 << 10  # smallest average write per bucket worth a syscall
# Buckets per scatter. Buckets small enough to order whole make pass 2 faster
# (on 4 GB of ~157-byte lines, -j 2 -m 256M: 1024 buckets per worker 7.6-8.6 s
# against 11.2-12.0 s with 256 cut into pieces), and cost pass 1 more files and
# smaller writes; the write-size floor below binds about here anyway.
MAX_BUCKET_BITS = 11
# Ordering n bytes in r records as one piece holds the frames, their join, the
# gathered output, the offsets, keys and argsort at once. scripts/memory_model.py
# measured 1.83 bytes per byte + 28 per record over what is held (2026-12-02,
# columnar core); the margin covers allocator slack. 110 per record dated from
# a bytes object per record and cut buckets into pieces that fit whole.
WHOLE_PER_BYTE = 4
WHOLE_PER_RECORD = 40


class ReaderSizes(TypedDict):
    """A RecordReader's sizes (see ``Plan.reader_sizes``)."""

    block_size: int
    long_threshold: int
    max_records: int


def clamp(x: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, x))


def ceil_log2(x: float) -> int:
    """Smallest b >= 0 with 2**b >= x (x finite)."""
    if x <= 1:
        return 0
    b = math.frexp(x)[1]  # 2**(b-1) <= x < 2**b
    return b - 1 if x == 2 ** (b - 1) else b


def floor_log2(x: int) -> int:
    """Largest b >= 0 with 2**b <= x (x >= 1)."""
    return max(x, 1).bit_length() - 1


@dataclass(frozen=True)
class Plan:
    budget: int
    block_size: int  # bytes read per block
    block_records: int  # most records partitioned at once (longer blocks are cut)
    long_threshold: int  # a record longer than this streams instead of being held
    capacity: int  # held data + HELD_PER_RECORD bytes/record allowed in memory at once
    write_buffer: int  # bytes of scattered records buffered before writing bucket files
    records_per_piece: int  # records ordered together in one cache-sized piece
    bytes_per_piece: int
    max_buckets: int  # file buckets open at once (open-file limit)

    @property
    def reader_sizes(self) -> ReaderSizes:
        """Keyword arguments for a RecordReader that works within this plan."""
        return {"block_size": self.block_size, "long_threshold": self.long_threshold, "max_records": self.block_records}

    def cost(self, nbytes: int, nrecords: int) -> int:
        """Memory needed to hold this many records in memory (data, keys, lengths)."""
        return nbytes + HELD_PER_RECORD * nrecords

    def whole_cost(self, nbytes: float, nrecords: float) -> float:
        """Memory to order this many records as one piece."""
        return WHOLE_PER_BYTE * nbytes + WHOLE_PER_RECORD * nrecords

    def fits(self, nbytes: int, nrecords: int) -> bool:
        return self.cost(nbytes, nrecords) <= self.capacity

    def piece_bits(self, nbytes: int, nrecords: int, consumed: int) -> int:
        """Key bits that cut an in-memory bucket into pieces ordered one at a time.

        0 when ordering it whole fits in memory, else pieces of cache size. A
        cut is one more split and join of every record, which the cache-sized
        pieces do not win back: on 1 GB with -j 2 -m 256M (4 MB buckets),
        pass 2 took 1.22-1.27 s whole against 1.80-1.86 s in 1 MB pieces on
        ~157-byte lines, 5.8-6.6 s against 7.0-7.2 s on 20-byte lines, for 26
        MB more peak RSS per worker on the latter (136 against 110 MB).
        """
        if self.whole_cost(nbytes, nrecords) <= self.capacity:
            return 0
        bits = max(ceil_log2(nrecords / self.records_per_piece), ceil_log2(nbytes / self.bytes_per_piece))
        return min(bits, 16, 64 - consumed)

    def bucket_bits(self, nbytes: float, nrecords: float, consumed: int) -> int:
        """Key bits for file buckets holding ``nbytes`` in ``nrecords`` records.

        Aims each bucket at 60% of what pass 2 can order whole, so it orders
        it without cutting it first (each cut costs another split and join per
        record; on 1 GB of 20-byte lines, -j 2 -m 256M, 512 buckets per worker
        took pass 2 4.1-4.3 s against 6.0 s for 256), and random variation in
        bucket sizes rarely forces another pass. Never fewer than 2 buckets (this is
        only called when the data does not fit), never more than the open-file
        limit, than makes bucket writes tiny, or than makes a block's bucket
        bounds (8 bytes per bucket) weigh more than a quarter of the block.
        Buckets still too big are split again by the next key bits, or cut
        into pieces in memory.
        """
        want = ceil_log2(self.whole_cost(nbytes, nrecords) / (0.6 * self.capacity))
        most = floor_log2(min(self.max_buckets, self.write_buffer // MIN_WRITE, self.block_size // 32))
        return max(1, min(want, most, MAX_BUCKET_BITS, 64 - consumed))


def make_plan(budget: int, max_open_files: int = 1024) -> Plan:
    """Sizes for a total memory budget of ``budget`` bytes (>= MIN_MEMORY)."""
    if budget < MIN_MEMORY:
        raise ValueError(f"memory budget {budget} is below the minimum of {MIN_MEMORY}")
    # Blocks of 1 MB once the budget allows: per-block overheads fall ~13% from 100 KB blocks.
    block = clamp(budget // 128, 2 << 10, 1 << 20)
    # A real run touches code and interpreter state an idle interpreter does not
    # (measured: a 1.2 MB input at -m 1M peaks 1.9 MB above the idle baseline); data
    # gets the rest.
    usable = budget - min(CODE_RESERVE, budget // 4)
    return Plan(
        budget=budget,
        block_size=block,
        block_records=max(256, budget // (10 * WORK_PER_RECORD)),
        long_threshold=min(max(block, budget // 16), LONGEST_HELD),
        capacity=usable * 2 // 5,
        write_buffer=usable * 2 // 5,
        records_per_piece=clamp(budget // 2000, 256, 16384),
        bytes_per_piece=clamp(budget // 20, 64 << 10, 1 << 20),
        max_buckets=max(2, max_open_files - 64),
    )
