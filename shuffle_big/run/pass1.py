"""Pass 1: read the input once; hold it if it fits, else scatter every record into key-range bucket files.

``read_here`` reads in this process (any input: a pipe, data that fits):
records are held while they fit, and spilled into bucket files once they
do not. ``scatter_parallel`` gives each worker a run of the input files:
plain ones cut into byte ranges of whole records, compressed ones whole,
decompressed by the worker that scatters them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..core.plan import make_plan
from ..core.records import Block, Records, ends_of, keyed, lengths_of
from ..inputs.ranges import file_runs
from ..inputs.reader import RecordReader, read_header
from ..inputs.sources import InputInfo, input_size, planned_size, records_per_byte
from ..progress import Meter
from ..storage.buckets import FileBuckets
from ..storage.frames import HEADER, PartRef, upload
from .buckets import Buckets, feed
from .job import Job
from .pool import Pool, each_done
from .pool_local import Reporter
from .tasks import Remote, ScatterTask, merge_scatters, placement, run_scatter

REMOTE_TASK_BYTES = 4 << 30  # input per scatter task when temp space is on an object store


@dataclass
class Held:
    """All the input's records, held: a ``Records`` per block, in input order."""

    blocks: list[Records]
    nbytes: int
    nrecords: int

    def drain(self) -> Iterator[Records]:
        """The blocks front to back, each forgotten as it goes, so memory is released as they are used."""
        self.blocks.reverse()
        while self.blocks:
            yield self.blocks.pop()


@dataclass(frozen=True)
class Read:
    """What reading in this process found: the records held, or the buckets they were scattered into."""

    records: Held | Buckets
    header: bytes


def read_here(job: Job, infos: list[InputInfo]) -> Read:
    """Read the input in this process: held if it fits, else scattered into bucket files."""
    plan, options = job.plan, job.options
    paths = [info.source for info in infos]
    size, planned = input_size(infos), planned_size(infos)  # exact; with compressed sizes guessed
    seen = job.verifier.read if job.verifier else None
    reader = RecordReader(paths, **plan.reader_sizes, sep=options.sep, header=options.header, fingerprint=seen)
    held = Held([], 0, 0)
    label = "reading" if size is None or size <= plan.capacity else "pass 1"
    with Meter(job.progress, label, size) as meter:

        def tick() -> None:
            meter.to(reader.bytes_read)

        items = iter(reader)
        for item in items:
            if isinstance(item, Block):
                ends, keys = keyed(item, job.mix)
                held.blocks.append(Records(item.data, keys, lengths_of(ends)))
                held.nbytes += len(item.data)
                held.nrecords += len(ends)
                tick()
                if plan.fits(held.nbytes, held.nrecords) and not _too_big(job, size, held):
                    continue
                rest: Iterator = items
            else:
                rest = itertools.chain([item], items)  # a record too long to hold: scattered first
            return Read(_spill(job, held, planned, size is not None, rest, tick), reader.header)
    return Read(held, reader.header)


def _too_big(job: Job, size: int | None, held: Held) -> bool:
    """Known input size projected (with keys) beyond what memory can hold?"""
    plan = job.plan
    return size is not None and plan.cost(size, int(size * held.nrecords / held.nbytes)) > plan.capacity


def _estimate(job: Job, size: int | None, per_record: float, check_space: bool) -> tuple[float, float]:
    """Bytes and records of the whole input (``size``: exact or guessed); with ``check_space`` (an exact
    size, buckets on local disk), fails now if local temp space cannot hold them."""
    if size is None:
        return float(1 << 62), float(1 << 58)  # unknown input: as many buckets as the limits allow
    nrecords = size * per_record
    if check_space:
        job.temp.require(job.plan.cost(size, int(nrecords)) + HEADER.size * (size // job.plan.block_size + 1))
    return float(size), nrecords


def _spill(job: Job, held: Held, size: int | None, exact: bool, rest: Iterator, tick: Callable[[], None]) -> Buckets:
    """Pass 1 proper: create bucket files, move the held records into them, then scatter the rest.
    ``size``: the input's bytes, ``exact`` or guessed (compressed input), None if unknown (a pipe)."""
    per_record = held.nrecords / held.nbytes if held.nbytes else 0.0
    bits = job.plan.bucket_bits(*_estimate(job, size, per_record, exact), 0)
    with FileBuckets(job.temp.local_dir(), job.temp.new_name(), 0, bits, job.plan) as sink:
        for block in held.drain():
            sink.add_block(block.data, ends_of(block.lengths), block.keys)
        feed(rest, sink, job.mix, tick)
    parts: list[PartRef] = list(sink.paths)
    if job.temp.is_remote:  # workers elsewhere order the buckets
        parts = list(upload(sink.paths, f"{job.temp.remote_dir()}/pass1"))
    return Buckets([[p] for p in parts], sink.nbytes.tolist(), sink.nrecords.tolist(), sink.bits, sink.count)


def scatter_parallel(job: Job, infos: list[InputInfo], size: int, pool: Pool) -> Buckets:
    """Scatter files (``size`` bytes as read, guessed for compressed ones) in runs of whole records, a task
    per worker: plain files cut into byte ranges, compressed ones whole. The header is written here first."""
    options, sep = job.options, job.options.sep
    start = 0
    if options.header:
        header, start = read_header(infos[0].source, options.header, sep, infos[0].size)
        job.out.write_header(header)
        if job.verifier is not None:
            job.verifier.read.update(header)
    per_record = records_per_byte(infos[0].source, sep)
    worker_plan = make_plan(job.worker_budget, job.max_open_files)
    where = placement(job.temp, job.executor.retries)
    remote = isinstance(where, Remote)
    exact = not any(info.compressed for info in infos)
    bits = worker_plan.bucket_bits(*_estimate(job, size, per_record, check_space=exact and not remote), 0)
    # Through an object store, a task keeps its buckets on its worker's disk until it ends: ranges of at
    # most REMOTE_TASK_BYTES bound that disk, and what a lost worker's retry redoes.
    workers = job.executor.workers
    runs = max(workers, -(-size // REMOTE_TASK_BYTES)) if remote else workers
    tasks = [
        ScatterTask(
            tuple(segs), where, f"s{i}", bits, job.worker_budget, job.seed, job.max_open_files, sep,
            job.verifier is not None,
        )
        for i, segs in enumerate(file_runs(infos, runs, sep, start))
    ]
    futures = [pool.submit(run_scatter, t, Reporter(i)) for i, t in enumerate(tasks)]
    results = {}
    finished = 0  # bytes of the tasks done: progress where workers cannot report as they go (Dask)

    def progress() -> int:
        return max(pool.done_bytes, finished)

    with Meter(job.progress, "pass 1", size) as meter:
        for f, result in each_done(pool, futures, meter, progress):
            results[f] = result
            finished += sum(result.nbytes)
    if job.verifier is not None:
        for f in futures:
            job.verifier.read.merge(results[f].fingerprint)
    return merge_scatters([results[f] for f in futures], bits)

