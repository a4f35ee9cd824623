"""Self-describing units of work: scatter a run of input, order one bucket.

The engine runs these inline or in worker processes; each takes only plain
data (paths, offsets, sizes, the seed) and writes only to files it is told
about, so any scheduler can run them, retry them, and get the same bytes: a
record's key depends on nothing but the seed and its input offset.

With ``private`` set (a scheduler that may retry a task, or run it twice), a
task writes only under a fresh directory of its own and names its outputs in
its result, and pass 2 leaves its inputs in place: an attempt that died
leaves garbage for the final clean-up, never a half-written file that a
later attempt or the engine would read.

With ``remote`` set (temp space on an object store), a task keeps its files
in its own machine's temp directory and uploads what it hands on, under a
name of its own: a scatter task, all its buckets as one object; a pass-2
task writing a stream, its run of output.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, cast

from ..core.fingerprint import Fingerprint
from ..core.keys import derive_keys, key_of
from ..core.order import order_frames
from ..core.plan import Plan, make_plan
from ..core.records import Block, LongRecord, keyed, record_ends
from ..errors import describe_os_error
from ..inputs.reader import RecordReader, Segment
from ..outputs.sinks import outgoing
from ..storage import fs
from ..storage.buckets import FileBuckets
from ..storage.frames import LongFrame, PartRef, read_frames, remove_parts, upload
from ..storage.rawio import pwrite_all
from ..storage.tempspace import TempSpace


@dataclass(frozen=True)
class Buckets:
    """Where pass 1 left the records of each key range: part files, bytes and record counts."""

    parts: list[list[PartRef]]  # parts[b]: where bucket b is (a part per scatter run)
    nbytes: list[int]
    nrecords: list[int]
    consumed: int  # key bits that select a bucket: the next ones cut it further
    files: int  # bucket files created, for reporting


def feed(items: Iterable[Block | LongRecord], sink: FileBuckets, mix: tuple[int, int], tick: Callable[[], None] = lambda: None) -> None:
    """Scatter records read from the input into ``sink``."""
    for item in items:
        if isinstance(item, Block):
            ends, keys = keyed(item, mix)
            sink.add_block(item.data, ends, keys)
        else:
            sink.add_long(key_of(item.start, mix), item.pieces)
        tick()


@dataclass(frozen=True)
class ScatterTask:
    """Pass 1 for one run of the input: append each record to the bucket file of its key."""

    segments: tuple[Segment, ...]
    directory: str | None  # None: this machine's temp directory (with ``remote``)
    name: str  # prefix for this task's bucket files
    bits: int  # 2**bits buckets, by the top key bits
    budget: int  # memory for this task
    seed: int
    max_open_files: int = 1024
    sep: bytes = b"\n"
    verify: bool = False
    private: bool = False  # write under a fresh directory (safe to retry)
    remote: str | None = None  # temp space URL to upload the buckets to


class ScatterResult(NamedTuple):
    parts: list[PartRef]  # one per bucket
    nbytes: list[int]
    nrecords: list[int]
    fingerprint: tuple[int, int] | None  # of the records read, with --verify


def run_scatter(task: ScatterTask, progress: Callable[[int], None] | None = None) -> ScatterResult:
    """Run ``task``; return where its buckets are, with their byte and record counts."""
    if task.remote is None:
        assert task.directory is not None  # only a task of remote temp space works in its machine's own
        return _scatter(task, _private_dir(task.directory, task.name) if task.private else task.directory, progress)
    with TempSpace() as local:
        result = _scatter(task, local.path, progress)
        parts: list[PartRef] = list(upload(cast(list[str], result.parts), _unique(task.remote, task.name)))
        return result._replace(parts=parts)


def _task_plan(task: ScatterTask | OrderTask) -> Plan:
    # Through an object store, a buffer of fs.REMOTE_BLOCK uploads or fetches at a time, outside the data.
    return make_plan(task.budget - (fs.REMOTE_BLOCK if task.remote else 0), task.max_open_files)


def _unique(directory: str, name: str) -> str:
    """A name no other attempt of the same task uses."""
    return f"{directory}/{name}.{secrets.token_hex(6)}"


def _scatter(task: ScatterTask, directory: str, progress: Callable[[int], None] | None) -> ScatterResult:
    plan = _task_plan(task)
    reader = RecordReader(list(task.segments), **plan.reader_sizes, sep=task.sep, verify=task.verify)
    done = 0

    def tick() -> None:
        nonlocal done
        if progress is not None:
            progress(reader.bytes_read - done)
            done = reader.bytes_read

    with FileBuckets(directory, task.name, 0, task.bits, plan) as sink:
        feed(reader, sink, derive_keys(task.seed), tick)
    fingerprint = reader.fingerprint.value if reader.fingerprint else None
    return ScatterResult(list(sink.paths), sink.nbytes.tolist(), sink.nrecords.tolist(), fingerprint)


def merge_scatters(results: list[ScatterResult], bits: int) -> Buckets:
    """Buckets from the results of scatter tasks that used the same ``bits``."""
    count = 1 << bits
    return Buckets(
        parts=[[r.parts[b] for r in results] for b in range(count)],
        nbytes=[sum(r.nbytes[b] for r in results) for b in range(count)],
        nrecords=[sum(r.nrecords[b] for r in results) for b in range(count)],
        consumed=bits,
        files=count * len(results),
    )


def order_bucket(
    parts: list[PartRef], nbytes: int, nrecords: int, consumed: int, plan: Plan,
    directory: str, name: str, write: Callable[[bytes], None], keep: bool = False,
) -> int:
    """Write one bucket's records in key order; return the passes it took (1 if it fit).

    A bucket that fits is ordered in memory; a single record streams through;
    anything else is scattered again by the next key bits, recursively. The
    bucket's files are removed as soon as they are consumed, unless ``keep``
    (only the files of further splits are then removed).
    """
    try:
        if nrecords == 0:
            return 1
        if plan.fits(nbytes, nrecords):
            frames = read_frames(parts)  # no max_frame: no LongFrame
            pieces = plan.piece_bits(nbytes, nrecords, consumed)
            order_frames(frames, consumed, pieces, plan.block_records, write)  # type: ignore[arg-type]
            return 1
        if nrecords == 1:
            for frame in read_frames(parts, max_frame=0):
                assert isinstance(frame, LongFrame)  # max_frame 0: every record streams
                for piece in frame.pieces:
                    write(piece)
            return 1
        bits = plan.bucket_bits(nbytes, nrecords, consumed)
        with FileBuckets(directory, name, consumed, bits, plan) as sub:
            for frame in read_frames(parts, max_frame=plan.block_size):
                if isinstance(frame, LongFrame):
                    sub.add_long(frame.key, frame.pieces)
                else:
                    data, keys = frame
                    sub.add_block(data, record_ends(data), keys)
        if not keep:
            remove_parts(parts)  # now, not only at the end: its disk is free for the splits below
        depth = 0
        for b, path in enumerate(sub.paths):
            depth = max(depth, order_bucket(
                [path], int(sub.nbytes[b]), int(sub.nrecords[b]), consumed + bits, plan, directory, f"{name}.{b}", write,
            ))
        return depth + 1
    finally:
        if not keep:
            remove_parts(parts)


@dataclass(frozen=True)
class BucketRef:
    """One bucket of pass 1: its part files, bytes, records, and a name prefix for splitting it."""

    parts: tuple[PartRef, ...]
    nbytes: int
    nrecords: int
    name: str


@dataclass(frozen=True)
class OrderTask:
    """Pass 2 for consecutive buckets: order each, write them one after another to ``out_path`` at ``out_offset``."""

    buckets: tuple[BucketRef, ...]
    consumed: int
    budget: int
    directory: str | None  # None: this machine's temp directory (with ``remote``)
    out_path: str
    out_offset: int | None = None  # None: create out_path and write it from the start
    out_error: str = ""  # what a write error says it was doing (default: writing out_path)
    max_open_files: int = 1024
    swap: bytes | None = None  # translation from internal to external records (-z)
    verify: bool = False
    private: bool = False  # work under a fresh directory, keep the inputs, name the output in the result
    remote: str | None = None  # temp space URL to upload a stream run (out_offset None) to


class OrderResult(NamedTuple):
    passes: int  # the most passes a bucket took
    fingerprint: tuple[int, int] | None  # of what was written, with --verify
    out_path: str  # where it was written (a URL if uploaded)


def run_order(task: OrderTask) -> OrderResult:
    """Run ``task``."""
    if task.remote is None:
        assert task.directory is not None  # only a task of remote temp space works in its machine's own
        directory, out_path = task.directory, task.out_path
        if task.private:
            directory = _private_dir(task.directory, "order")
            if task.out_offset is None:
                out_path = os.path.join(directory, os.path.basename(task.out_path))
        return _order(task, directory, out_path)
    with TempSpace() as local:
        name = os.path.basename(task.out_path)
        result = _order(task, local.path, os.path.join(local.path, name) if task.out_offset is None else task.out_path)
        if task.out_offset is None:
            result = result._replace(out_path=upload([result.out_path], _unique(task.remote, name))[0].url)
        return result


def _order(task: OrderTask, directory: str, out_path: str) -> OrderResult:
    plan = _task_plan(task)
    flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if task.out_offset is None else 0)
    try:
        fd = os.open(out_path, flags, 0o600)
    except OSError as err:
        raise describe_os_error(f"cannot open '{out_path}'", err) from None
    offset = task.out_offset or 0
    fingerprint = Fingerprint() if task.verify else None

    def write(data: bytes) -> None:
        nonlocal offset
        data = outgoing(data, fingerprint, task.swap)
        try:
            offset = pwrite_all(fd, data, offset)
        except OSError as err:
            raise describe_os_error(task.out_error or f"error writing '{out_path}'", err) from None

    try:
        passes = max(
            order_bucket(list(b.parts), b.nbytes, b.nrecords, task.consumed, plan, directory, b.name, write, task.private)
            for b in task.buckets
        )
        return OrderResult(passes, fingerprint.value if fingerprint else None, out_path)
    finally:
        os.close(fd)


def _private_dir(parent: str, name: str) -> str:
    try:
        return tempfile.mkdtemp(prefix=f"{name}.", dir=parent)
    except OSError as err:
        raise describe_os_error("cannot write to temporary directory", err) from None


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
