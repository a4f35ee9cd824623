"""The engine: input -> records -> plan -> scatter -> order buckets -> output.

Input that fits the budget is ordered in memory. Otherwise pass 1 scatters
every record into key-range bucket files and pass 2 orders the buckets one at
a time, in key order; a bucket too big for memory is scattered again by the
next key bits. All paths order records by the same key, so a seed gives the
same output whatever the budget.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Iterable, Iterator

from .bucketfile import LongFrame, read_frames
from .keys import derive_keys, key_of, keys_of
from .order import order_frames
from .output import Output
from .plan import Plan, make_plan
from .progress import Meter
from .records import Block, RecordReader, check_inputs, input_size, record_ends, record_starts
from .scatter import FileBuckets
from .sizes import default_memory
from .tempspace import TempSpace, raise_fd_limit

FRAME_OVERHEAD = 16


@dataclass
class ShuffleResult:
    seed: int
    records: int = 0
    bytes: int = 0
    buckets: int = 0  # bucket files created, all levels together
    passes: int = 1  # 1: in memory; 2: two-pass; more: buckets split again
    in_memory: bool = True


def _drain(items: list) -> Iterator:
    """Yield and forget items front to back, so memory is released as we go."""
    items.reverse()
    while items:
        yield items.pop()


def shuffle(
    inputs: Iterable[str] | str = ("-",),
    output: str | None = None,
    *,
    memory: int | None = None,
    seed: int | None = None,
    temp_dir: str | None = None,
    progress: bool = False,
) -> ShuffleResult:
    """Shuffle the lines of ``inputs`` (paths; ``-`` is stdin) into ``output`` (path; None is stdout).

    ``memory`` is the budget in bytes for the whole process (default: 1 GiB or
    a quarter of RAM). The same ``seed`` always gives the same output.
    Raises ShuffleError for problems a user can fix.
    """
    paths = [inputs] if isinstance(inputs, str) else list(inputs) or ["-"]
    plan = make_plan(memory or default_memory(), raise_fd_limit())
    if seed is None:
        seed = secrets.randbits(63)
    check_inputs(paths)
    size = input_size(paths)
    result = ShuffleResult(seed=seed)
    with TempSpace(temp_dir) as temp, Output(output) as out:
        _Run(plan, derive_keys(seed), temp, out, progress, result).run(paths, size)
    return result


class _Run:
    def __init__(self, plan: Plan, mix: tuple[int, int], temp: TempSpace, out: Output, progress: bool, result: ShuffleResult) -> None:
        self.plan = plan
        self.mix = mix
        self.temp = temp
        self.out = out
        self.progress = progress
        self.result = result

    def run(self, paths: list[str], size: int | None) -> None:
        plan = self.plan
        reader = RecordReader(paths, plan.block_size, plan.long_threshold)
        held: list = []
        held_bytes = held_records = 0
        buckets: FileBuckets | None = None
        with Meter(self.progress, "reading" if size is None or size <= plan.capacity else "pass 1", size) as meter:
            try:
                for item in reader:
                    if isinstance(item, Block):
                        ends = record_ends(item.data)
                        keys = keys_of(record_starts(item.start, ends), self.mix)
                        self.result.records += len(ends)
                        if buckets is not None:
                            buckets.add_block(item.data, ends, keys)
                        else:
                            held.append((item.data, keys))
                            held_bytes += len(item.data)
                            held_records += len(ends)
                            if not plan.fits(held_bytes, held_records) or self._too_big(size, held_bytes, held_records):
                                buckets = self._spill(held, held_bytes, held_records, size)
                    else:
                        if buckets is None:
                            buckets = self._spill(held, held_bytes, held_records, size)
                        self.result.records += 1
                        buckets.add_long(key_of(item.start, self.mix), item.pieces)
                    meter.to(reader.bytes_read)
            except BaseException:
                if buckets is not None:
                    buckets.close(flush=False)
                raise
        if buckets is None:
            self.result.bytes = held_bytes
            order_frames(_drain(held), 0, plan.piece_bits(held_bytes, held_records, 0), self.out.write)
            return
        buckets.close()
        self.result.in_memory = False
        self.result.bytes = int(buckets.nbytes.sum())
        with Meter(self.progress, "pass 2", self.result.bytes) as meter:
            self._emit(buckets, 2, meter)

    def _too_big(self, size: int | None, nbytes: int, nrecords: int) -> bool:
        """Known input size projected (with keys) beyond what memory can hold?"""
        return size is not None and self.plan.cost(size, int(size * nrecords / nbytes)) > self.plan.capacity

    def _spill(self, held: list, nbytes: int, nrecords: int, size: int | None) -> FileBuckets:
        """Start pass 1 proper: create bucket files and move held records into them."""
        per_record = nrecords / nbytes if nbytes else 0.0
        if size is not None:
            est = self.plan.cost(size, int(size * per_record))
            self.temp.require(est + FRAME_OVERHEAD * (size // self.plan.block_size + 1))
        else:
            est = float(1 << 62)  # unknown input: as many buckets as the limits allow
        buckets = self._new_buckets(0, self.plan.bucket_bits(est, 0))
        for data, keys in _drain(held):
            buckets.add_block(data, record_ends(data), keys)
        return buckets

    def _new_buckets(self, consumed: int, bits: int) -> FileBuckets:
        self.result.buckets += 1 << bits
        return FileBuckets(self.temp.path, self.temp.new_name(), consumed, bits, self.plan)

    def _emit(self, buckets: FileBuckets, depth: int, meter: Meter) -> None:
        """Write buckets in key order: in memory when they fit, else split again."""
        plan = self.plan
        self.result.passes = max(self.result.passes, depth)
        consumed = buckets.consumed + buckets.bits
        for b, path in enumerate(buckets.paths):
            nbytes, nrecords = int(buckets.nbytes[b]), int(buckets.nrecords[b])
            try:
                if nrecords == 0:
                    continue
                if plan.fits(nbytes, nrecords):
                    order_frames(read_frames(path), consumed, plan.piece_bits(nbytes, nrecords, consumed), self.out.write)
                elif nrecords == 1:
                    for frame in read_frames(path, max_frame=0):
                        for piece in frame.pieces:
                            self.out.write(piece)
                else:
                    sub = self._split(path, consumed, plan.cost(nbytes, nrecords))
                    os.unlink(path)
                    self._emit(sub, depth + 1, meter)
            finally:
                if os.path.exists(path):
                    os.unlink(path)
            meter.to(self.out.bytes_written)

    def _split(self, path: str, consumed: int, cost: int) -> FileBuckets:
        sub = self._new_buckets(consumed, self.plan.bucket_bits(cost, consumed))
        try:
            for frame in read_frames(path, max_frame=self.plan.block_size):
                if isinstance(frame, LongFrame):
                    sub.add_long(frame.key, frame.pieces)
                else:
                    data, keys = frame
                    sub.add_block(data, record_ends(data), keys)
        except BaseException:
            sub.close(flush=False)
            raise
        sub.close()
        return sub
