"""Pass 1: read the input once; hold it if it fits, else scatter every record into key-range bucket files.

``read_here`` reads in this process (any input: a pipe, data that fits):
records are held while they fit, and spilled into bucket files once they
do not. ``scatter_parallel`` gives each worker a run of the input files:
plain ones cut into byte ranges of whole records, compressed ones whole,
decompressed by the worker that scatters them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..core import weights
from ..core.fingerprint import Fingerprint
from ..core.plan import make_plan
from ..core.records import Block, Records, ends_of
from ..inputs.ranges import file_runs
from ..inputs.reader import RecordReader, read_header
from ..inputs.sources import InputInfo, input_size, planned_size, records_per_byte
from ..progress import Meter
from ..storage.buckets import FileBuckets
from ..storage.frames import HEADER, PartRef, upload
from ..storage.sample_keys import sample_keys_at
from .buckets import Buckets
from .intake import Intake, feed
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
    """What reading found: the records held, or the buckets they were scattered into; each input's count
    of records and their bytes, and where the keys of ``--weights``' sampled copies were put aside."""

    records: Held | Buckets
    header: bytes
    lines: list[int]
    nbytes: list[int]
    aside: list[PartRef]


def _aside_path(job: Job) -> str | None:
    """A file in temp space for the keys of sampled copies, when the weights sample (none is made else)."""
    if job.weighting is None or not job.weighting.samples:
        return None
    return os.path.join(job.temp.local_dir(), job.temp.new_name())


def read_here(job: Job, infos: list[InputInfo]) -> Read:
    """Read the input in this process: held if it fits, else scattered into bucket files."""
    plan, options = job.plan, job.options
    paths = [info.source for info in infos]
    size, planned = _weighed(job, infos, input_size(infos)), _weighed(job, infos, planned_size(infos))
    seen = job.verifier.read if job.verifier else None
    weighed = job.weighting is not None  # then what goes in is not what is read: the intake fingerprints it
    reader = RecordReader(
        paths, **plan.reader_sizes, sep=options.sep, header=options.header, fingerprint=None if weighed else seen,
    )
    held = Held([], 0, 0)
    label = "reading" if size is None or size <= plan.capacity else "pass 1"
    with Meter(job.progress, label, size) as meter, sample_keys_at(_aside_path(job)) as aside:
        intake = Intake(len(infos), job.seed, job.weighting, aside, seen if weighed else None)
        put_aside: list[PartRef] = [aside.path] if aside else []

        def tick() -> None:
            meter.to(reader.bytes_read)

        items = iter(reader)
        for item in items:
            if isinstance(item, Block):
                for copy in intake.block(item):
                    held.blocks.append(copy)
                    held.nbytes += len(copy.data)
                    held.nrecords += len(copy.keys)
                tick()
                if plan.fits(held.nbytes, held.nrecords) and not _too_big(job, size, held):
                    continue
                rest: Iterator = items
            else:
                rest = itertools.chain([item], items)  # a record too long to hold: scattered first
            buckets = _spill(job, held, planned, size is not None, rest, intake, tick)
            return _found(buckets, reader.header, intake, put_aside, seen if weighed else None)
    return _found(held, reader.header, intake, put_aside, seen if weighed else None)


def _found(records: Held | Buckets, header: bytes, intake: Intake, aside: list[PartRef], seen: Fingerprint | None) -> Read:
    if seen is not None:  # the header goes in as read, once
        seen.update(header)
    return Read(records, header, intake.lines, intake.nbytes, aside)


def _weighed(job: Job, infos: list[InputInfo], size: int | None) -> int | None:
    """Bytes the shuffle takes in from inputs of ``size`` bytes (exact, or with compressed sizes guessed):
    with --weights, each input's times its copies."""
    if job.weighting is None or size is None:
        return size
    sizes = [info.planned_size or 0 for info in infos]
    copied = sum(n * job.weighting.copies_of(i) for i, n in enumerate(sizes))
    return int(size * copied / sum(sizes)) if sum(sizes) else size


def _too_big(job: Job, size: int | None, held: Held) -> bool:
    """Known input size projected (with keys) beyond what memory can hold?"""
    plan = job.plan
    if size is None or not held.nbytes:  # nothing held yet (a weight of 0 holds none)
        return False
    return plan.cost(size, int(size * held.nrecords / held.nbytes)) > plan.capacity


def _estimate(job: Job, size: int | None, per_record: float, check_space: bool) -> tuple[float, float]:
    """Bytes and records of the whole input (``size``: exact or guessed); with ``check_space`` (an exact
    size, buckets on local disk), fails now if local temp space cannot hold them."""
    if size is None:
        return float(1 << 62), float(1 << 58)  # unknown input: as many buckets as the limits allow
    nrecords = size * per_record
    if check_space:
        job.temp.require(job.plan.cost(size, int(nrecords)) + HEADER.size * (size // job.plan.block_size + 1))
    return float(size), nrecords


def _spill(
    job: Job, held: Held, size: int | None, exact: bool, rest: Iterator, intake: Intake, tick: Callable[[], None],
) -> Buckets:
    """Pass 1 proper: create bucket files, move the held records into them, then scatter the rest.
    ``size``: the input's bytes, ``exact`` or guessed (compressed input), None if unknown (a pipe)."""
    per_record = held.nrecords / held.nbytes if held.nbytes else 0.0
    bits = job.plan.bucket_bits(*_estimate(job, size, per_record, exact), 0)
    with FileBuckets(job.temp.local_dir(), job.temp.new_name(), 0, bits, job.plan) as sink:
        for block in held.drain():
            sink.add_block(block.data, ends_of(block.lengths), block.keys)
        feed(rest, sink, intake, tick)
    parts: list[PartRef] = list(sink.paths)
    if job.temp.is_remote:  # workers elsewhere order the buckets
        parts = list(upload(sink.paths, f"{job.temp.remote_dir()}/pass1"))
    return Buckets([[p] for p in parts], sink.nbytes.tolist(), sink.nrecords.tolist(), sink.bits, sink.count)


def scatter_parallel(job: Job, infos: list[InputInfo], size: int, pool: Pool, leave_out: bool = True) -> Read:
    """Scatter files (``size`` bytes as read, guessed for compressed ones) in runs of whole records, a task
    per worker: plain files cut into byte ranges, compressed ones whole; the header is read here.
    ``leave_out``: a sampled copy's lines far above where its threshold can fall are not stored (files can
    be read again if that was wrong: ``sampling.LeftOut``)."""
    options, sep = job.options, job.options.sep
    start, header = 0, b""
    if options.header:
        header, start = read_header(infos[0].source, options.header, sep, infos[0].size)
        if job.verifier is not None:
            job.verifier.read.update(header)
    per_record = records_per_byte(infos[0].source, sep)
    worker_plan = make_plan(job.worker_budget, job.max_open_files)
    where = placement(job.temp, job.executor.retries)
    remote = isinstance(where, Remote)
    exact = not any(info.compressed for info in infos)
    weighed = _weighed(job, infos, size)
    bits = worker_plan.bucket_bits(*_estimate(job, weighed, per_record, check_space=exact and not remote), 0)
    # Through an object store, a task keeps its buckets on its worker's disk until it ends: ranges of at
    # most REMOTE_TASK_BYTES bound that disk, and what a lost worker's retry redoes.
    workers = job.executor.workers
    runs = max(workers, -(-size // REMOTE_TASK_BYTES)) if remote else workers
    tasks = [
        ScatterTask(
            tuple(segs), where, f"s{i}", bits, job.worker_budget, job.seed, job.max_open_files, sep,
            job.verifier is not None, len(infos), job.weighting, weights.BAND_SIGMAS if leave_out else None,
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
    done = [results[f] for f in futures]
    lines = [sum(r.lines[i] for r in done) for i in range(len(infos))]
    nbytes = [sum(r.nbytes_read[i] for r in done) for i in range(len(infos))]
    aside = [r.aside for r in done if r.aside is not None]
    return Read(merge_scatters(done, bits), header, lines, nbytes, aside)

