"""A whole shuffle: input -> records -> plan -> scatter -> order buckets -> output.

Input that fits the budget is ordered in memory. Otherwise pass 1 scatters
every record into key-range bucket files and pass 2 orders the buckets, in
key order; a bucket too big for memory is scattered again by the next key
bits. All paths order records by the same key, so a seed gives the same
output whatever the budget or the number of jobs.

With workers, pass 1 over files is cut into one run of whole records per
worker (plain files by byte ranges, zstd files at frames that state their
size, other compressed files whole), and pass 2 orders buckets in parallel,
each written at its final offset (file output) or through a temporary file
copied in order (a pipe, a compressed output).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..core.fingerprint import Fingerprint
from ..core.gather import release_free_memory
from ..core.order import order_frames
from ..inputs.ranges import frames_to_cut
from ..inputs.sources import InputInfo, check_unchanged, display_name, planned_size, snapshot
from ..storage.frames import remove_parts
from .buckets import Buckets
from .job import Job
from .pass1 import Held, read_here, scatter_parallel
from .pass2 import order_buckets
from .pool import Pool
from .sampling import LeftOut, settle


def run_shuffle(job: Job, infos: list[InputInfo]) -> None:
    """Shuffle the records of ``infos`` into ``job.out``; what was done goes to ``job.result``."""
    plan, result = job.plan, job.result
    snap = snapshot(infos)
    planned = None if job.executor.inline else _for_workers(infos)
    if planned is not None and planned > plan.capacity:
        with _started(job) as pool:
            with result.timed("pass 1"):
                buckets, header = _scatter(job, infos, planned, pool)
                check_unchanged(snap)
            job.out.write_header(header)
            with result.timed("pass 2"):
                _pass2(job, buckets, pool)
                _verify(job)
        return
    # Stdin cannot be cut into byte ranges: one process scatters it. Copying it
    # to a temp file to scatter in parallel measured slower (1 GB of ~157-byte
    # lines, -j 2: 9.2 s with the copy, 7.3 s without; -j 1: 10.3 s).
    start = time.perf_counter()
    found = read_here(job, infos)
    check_unchanged(snap)
    job.out.write_header(found.header)
    records = settle(job, found, _names(infos))
    if isinstance(records, Held):
        _order_held(job, records)
        _verify(job)
        result.seconds["in memory"] = time.perf_counter() - start
        return
    result.seconds["pass 1"] = time.perf_counter() - start
    with result.timed("pass 2"):
        # Pass 1's buffers, freed, stay in the C heap in pieces pass 2 cannot use
        # (measured: 9 MB more peak at -m 16M without this); and with workers the
        # parent idles while they use the budget.
        release_free_memory()
        if job.executor.inline:
            _pass2(job, records, None)
        else:
            with _started(job) as pool:
                _pass2(job, records, pool)
        _verify(job)


def _scatter(job: Job, infos: list[InputInfo], planned: int, pool: Pool) -> tuple[Buckets, bytes]:
    """Pass 1 by the workers, and what the weights take of it, and the header; a sample that needs a line
    pass 1 left out (it never does but by odds far below 1e-30) scatters again, storing every line."""
    try:
        found = scatter_parallel(job, infos, planned, pool)
        buckets = settle(job, found, _names(infos))
    except LeftOut:
        for parts in found.records.parts:  # type: ignore[union-attr]
            remove_parts(parts)
        if job.verifier is not None:
            job.verifier.read = Fingerprint()
        found = scatter_parallel(job, infos, planned, pool, leave_out=False)
        buckets = settle(job, found, _names(infos))
    assert isinstance(buckets, Buckets)
    return buckets, found.header


def _names(infos: list[InputInfo]) -> list[str]:
    return [display_name(info.source) for info in infos]


def _for_workers(infos: list[InputInfo]) -> int | None:
    """The bytes workers would read from the inputs (compressed files' guessed, a lone zstd file's
    exact from its frames), or None if workers cannot read them: a stream among them, or a lone
    compressed file that cannot be cut at frames (a worker would read it no faster than this process)."""
    if not all(i.kind == "file" for i in infos):
        return None
    if len(infos) == 1 and infos[0].compressed:
        frames = frames_to_cut(infos[0])
        return None if frames is None else frames[-1].end
    return planned_size(infos)


def _order_held(job: Job, held: Held) -> None:
    plan = job.plan
    job.out.expect(held.nrecords)
    job.result.records, job.result.bytes = held.nrecords, held.nbytes
    pieces = plan.piece_bits(held.nbytes, held.nrecords, 0)
    order_frames(held.drain(), 0, pieces, plan.block_records, job.out.write)


def _verify(job: Job) -> None:
    """--verify: the records written must be the records read, before the output is committed."""
    if job.verifier is not None:
        job.verifier.check()


def _pass2(job: Job, buckets: Buckets, pool: Pool | None) -> None:
    result = job.result
    result.in_memory = False
    result.buckets = buckets.files
    result.records, result.bytes = sum(buckets.nrecords), sum(buckets.nbytes)
    result.passes = max(result.passes, order_buckets(job, buckets, pool))


@contextmanager
def _started(job: Job) -> Iterator[Pool]:
    job.result.jobs = job.executor.workers
    with job.executor.start() as pool:
        yield pool
    job.result.peak_worker_rss = pool.peak_rss

