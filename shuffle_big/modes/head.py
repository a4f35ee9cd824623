"""``-n N``: the first N records of the permutation, in one pass.

The permutation orders records by key, so its first N records are the N
smallest keys. One pass keeps candidates below the current N-th smallest key
and prunes whenever it holds 2N, so memory is bounded by about 2N records and
the result is byte-identical to the full shuffle's first N lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.gather import gather
from ..core.keys import derive_keys, key_of
from ..core.order import order_records
from ..core.plan import HELD_PER_RECORD, Plan, make_plan
from ..core.records import Block, LongRecord, Records, ends_of, joined, keyed, lengths_of
from ..errors import ShuffleError
from ..inputs.ranges import file_runs
from ..inputs.reader import RecordReader, Segment, read_header
from ..inputs.sources import (
    InputInfo,
    check_unchanged,
    input_size,
    planned_size,
    records_per_byte,
    snapshot,
)
from ..progress import Meter
from ..sizes import format_size


def head_of_permutation(
    items: Iterable[Block | LongRecord], mix: tuple[int, int], n: int, plan: Plan,
) -> tuple[memoryview, int, int]:
    """The ``n`` records with the smallest keys, in key order, as one buffer; and records, bytes read."""
    held, seen, nbytes = candidates(items, mix, n, plan)
    return (order_records(held)[0] if held else memoryview(b"")), seen, nbytes


def candidates(
    items: Iterable[Block | LongRecord], mix: tuple[int, int], n: int, plan: Plan,
) -> tuple[list[Records], int, int]:
    """The ``n`` records with the smallest keys (fewer if fewer are read), in no order; and records, bytes read.

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
    return held, seen, nbytes


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
    return [joined([_select(c, c.keys <= kth) for c in held])], kth


def write_head(
    infos: list[InputInfo], plan: Plan, seed: int, n: int, out, progress: bool, sep: bytes = b"\n", header: int = 0,
    workers: int = 1, map_tasks: MapTasks | None = None,
) -> tuple[int, int]:
    """``-n``: the first ``n`` records of the permutation to ``out``; return the records and bytes read.

    With ``map_tasks`` (runs ``HeadTask``s on ``workers`` workers sharing ``plan``'s budget), files
    are read in parallel, each worker keeping the ``n`` smallest keys of its run of them.
    """
    paths = [info.source for info in infos]
    snap = snapshot(infos)
    if map_tasks is not None and _worth_workers(infos, plan, n, workers, sep):
        first, records, nbytes, top = _head_by_workers(infos, plan, seed, n, sep, header, workers, map_tasks)
        check_unchanged(snap)
        out.write_header(top)
        out.expect(min(n, records))
        out.write(first)
        return records, nbytes
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


@dataclass(frozen=True)
class HeadTask:
    """``-n`` for one run of the input files: their ``n`` records of smallest key."""

    segments: tuple[Segment, ...]
    n: int
    budget: int  # memory for this task
    seed: int
    sep: bytes = b"\n"


class HeadResult(NamedTuple):
    records: Records  # the n of smallest key, in no order
    seen: int  # records read
    nbytes: int  # bytes read


MapTasks = Callable[[Callable[[HeadTask], HeadResult], list[HeadTask]], list[HeadResult]]

# Below this much input, starting workers (~0.3 s each, spawned) costs more than reading here saves.
WORKERS_FROM_BYTES = 256 << 20


def _worth_workers(infos: list[InputInfo], plan: Plan, n: int, workers: int, sep: bytes) -> bool:
    """Files worth reading in parallel, and each worker's budget holding its 2n candidates (at the
    first file's record length)?"""
    size = planned_size(infos)
    if not infos or workers < 2 or size is None or size < WORKERS_FROM_BYTES or not all(i.kind == "file" for i in infos):
        return False
    per_byte = records_per_byte(infos[0].source, sep)
    record = 1 / per_byte if per_byte else size
    worker = make_plan(plan.budget // workers)
    return worker.cost(int(2 * n * record), 2 * n) <= worker.capacity // 2


def _head_by_workers(
    infos: list[InputInfo], plan: Plan, seed: int, n: int, sep: bytes, header: int, workers: int, map_tasks: MapTasks,
) -> tuple[memoryview, int, int, bytes]:
    """The first ``n`` records from workers' candidates: (buffer, records read, bytes read, header)."""
    top, start = read_header(infos[0].source, header, sep, infos[0].size) if header else (b"", 0)
    tasks = [HeadTask(tuple(run), n, plan.budget // workers, seed, sep) for run in file_runs(infos, workers, sep, start)]
    results = map_tasks(run_head, tasks)
    held = [r.records for r in results if len(r.records.keys)]
    if sum(len(c.keys) for c in held) > n:
        held, _ = _prune(held, n)
    first = order_records(held)[0] if held else memoryview(b"")
    return first, sum(r.seen for r in results), sum(r.nbytes for r in results), top  # as read here: header aside


def run_head(task: HeadTask) -> HeadResult:
    """Run ``task`` (in a worker): its run's ``n`` smallest keys and their records."""
    plan = make_plan(task.budget)
    reader = RecordReader(list(task.segments), **plan.reader_sizes, sep=task.sep)
    held, seen, nbytes = candidates(reader, derive_keys(task.seed), task.n, plan)
    return HeadResult(joined(held), seen, nbytes)
