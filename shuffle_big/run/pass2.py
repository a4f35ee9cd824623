"""Pass 2: order every bucket and append it to the output, in key order, which makes the permutation.

Three ways, by who writes and where (``order_buckets`` picks one):
``_order_here`` orders bucket after bucket in this process into the output;
``_order_at_offsets`` has workers write their runs of buckets straight at
their final offsets of a plain output file; ``_order_streamed`` has workers
write runs to temp files (or objects), copied to the output in key order
(for a compressed output, each compressed by its worker and appended as is;
for an output laid out in files, ``--split``/``--shards``, cut by the worker
into a piece for each file it reaches, in that file's form, appended as is;
for ``--shard-size``, whose files end where the lengths before say,
``_order_measured``: each run comes with its records' lengths, the sink
says where its files begin, and each file takes its range or a piece a
worker cuts). Each returns the most passes a bucket took (2: no bucket was split again).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import cast

from ..core.records import Codec
from ..outputs.files import AtomicFile
from ..outputs.sinks import Cut
from ..progress import Meter
from ..storage import fs
from ..storage.frames import remove_parts
from ..storage.lengths import read_lengths
from .buckets import Buckets, group_buckets, order_bucket
from .job import Job
from .pool import Pool, each_done
from .tasks import (
    AtOffset,
    BucketRef,
    CutTask,
    Destination,
    NewRun,
    OrderResult,
    OrderTask,
    Pieces,
    Remote,
    keeps_inputs,
    placement,
    run_cut,
    run_order,
)


def order_buckets(job: Job, buckets: Buckets, pool: Pool | None) -> int:
    """Write the buckets' records in key order to ``job.out``; with a pool, its workers do."""
    job.out.expect(sum(buckets.nrecords))
    if pool is None:
        return _order_here(job, buckets)
    target = job.out.positional_target()
    if target is not None and not job.temp.is_remote:
        return _order_at_offsets(job, buckets, pool, target)
    return _order_streamed(job, buckets, pool)


def _order_here(job: Job, buckets: Buckets) -> int:
    passes = 1
    directory = job.temp.local_dir()  # for buckets too big to order at once
    with Meter(job.progress, "pass 2", sum(buckets.nbytes)) as meter:
        for b, parts in enumerate(buckets.parts):
            taken = order_bucket(
                parts, *buckets.on_disk(b), buckets.consumed, job.plan,
                directory, f"r{b}", job.out.write, sample=buckets.sample,
            )
            passes = max(passes, taken + 1)
            meter.to(job.out.bytes_written)
    return passes


def _order_at_offsets(job: Job, buckets: Buckets, pool: Pool, target: AtomicFile) -> int:
    """Each run of buckets is written by its worker straight at its final offset of ``target``."""
    assert target.positional is not None  # not yet published
    target.truncate(job.out.bytes_written + sum(buckets.nbytes))
    futures = {pool.submit(run_order, task): task for task in _tasks(job, buckets, target.positional)}
    passes, done = 1, 0  # done: bytes of the runs finished so far

    def progress() -> int:
        return done

    with Meter(job.progress, "pass 2", sum(buckets.nbytes)) as meter:
        for f, value in each_done(pool, futures, meter, progress):
            passes = max(passes, _took(job, futures[f], value))
            done += sum(b.nbytes for b in futures[f].buckets)
    return passes


def _order_streamed(job: Job, buckets: Buckets, pool: Pool) -> int:
    """Workers order runs of buckets into temp files; they are copied out in key order."""
    order = [(task, pool.submit(run_order, task)) for task in _tasks(job, buckets, None)]
    if any(isinstance(task.dest, NewRun) and task.dest.measured for task, _ in order):
        return _order_measured(job, buckets, pool, order)
    passes = 1
    with Meter(job.progress, "pass 2", sum(buckets.nbytes)) as meter:
        for task, future in order:
            value = pool.result(future)
            passes = max(passes, _took(job, task, value))
            if isinstance(task.dest, Pieces):
                for cut, (path, nbytes) in zip(task.dest.cuts, value.pieces):
                    job.out.append_piece(cut.file, path, nbytes)
                    fs.remove(path)
                meter.to(job.out.bytes_written)
                continue
            if isinstance(task.dest, NewRun) and task.dest.form is not None:
                job.out.append_run(value.out_path, sum(b.nbytes for b in task.buckets))
            else:
                job.out.copy_from(value.out_path)
            fs.remove(value.out_path)
            meter.to(job.out.bytes_written)
    return passes


def _order_measured(job: Job, buckets: Buckets, pool: Pool, order: list[tuple[OrderTask, Future]]) -> int:
    """Runs cut by their records' lengths (--shard-size): as each run is ordered, in key order, the sink says
    where its files begin in it. Plain files take their ranges of the run as they are, in the kernel;
    others (compressed, -z, --verify) get pieces a worker cuts the run into, in their form. Pieces are
    appended to their files in order."""
    cutting: list[tuple[CutTask, Future]] = []
    passes = 1
    where = placement(job.temp, job.executor.retries)
    with Meter(job.progress, "pass 2", sum(buckets.nbytes)) as meter:
        for i, (task, future) in enumerate(order):
            value = pool.result(future)
            passes = max(passes, _took(job, task, value))
            measured = value.out_path + ".lengths"
            cuts = _merged([cut for chunk in read_lengths(measured) for cut in job.out.cut_lengths(chunk)])
            fs.remove(measured)
            if all(cut.as_is for cut in cuts) and not cutting:  # nothing queued before it: append it now
                start = 0
                for cut in cuts:
                    job.out.append_piece(cut.file, value.out_path, cast(int, cut.nbytes), start)
                    start += cast(int, cut.nbytes)
                fs.remove(value.out_path)
                meter.to(job.out.bytes_written)
                continue
            work = CutTask(value.out_path, tuple(cuts), f"c{i}", where)
            cutting.append((work, pool.submit(run_cut, work)))
        for work, future in cutting:
            value = pool.result(future)
            if value.fingerprint is not None and job.verifier is not None:
                job.verifier.written.merge(value.fingerprint)
            for cut, (path, nbytes) in zip(work.cuts, value.pieces):
                job.out.append_piece(cut.file, path, nbytes)
                fs.remove(path)
            fs.remove(work.run)
            meter.to(job.out.bytes_written)
    return passes


def _merged(cuts: list[Cut]) -> list[Cut]:
    """``cuts`` with consecutive ones for the same file made one (a run's lengths are read in chunks)."""
    out: list[Cut] = []
    for cut in cuts:
        if out and out[-1].file == cut.file:
            last = out[-1]
            out[-1] = Cut(cut.file, last.records + cut.records, cut.form, (last.nbytes or 0) + (cut.nbytes or 0))
        else:
            out.append(cut)
    return out


def _tasks(job: Job, buckets: Buckets, at: str | None) -> list[OrderTask]:
    """Pass-2 tasks over runs of consecutive buckets; each writes at its run's offset of file ``at``, or
    (``at`` None) a run file of its own."""
    offsets = [job.out.bytes_written]  # after the header
    for n in buckets.nbytes:
        offsets.append(offsets[-1] + n)
    firsts = [0]  # the permutation's index of each bucket's first record
    for n in buckets.nrecords:
        firsts.append(firsts[-1] + n)
    # with temp space on an object store, workers may share no disk with this process: runs come back as objects
    where = placement(job.temp, job.executor.retries)
    codec, verify = Codec(job.options.sep), job.verifier is not None
    form = job.out.run_form()  # compressed output: each run compressed by its worker
    tasks = []
    for i, run in enumerate(group_buckets(buckets.nbytes, buckets.nrecords, 8 * job.executor.workers)):
        refs = tuple(
            BucketRef(tuple(buckets.parts[b]), buckets.nbytes[b], buckets.nrecords[b], f"r{b}", buckets.on_disk(b))
            for b in run
        )
        # a new run stays internal: the parent's output translates and checks it as it copies it out
        measured = job.out.measures_runs() and not isinstance(where, Remote)  # through an object store: cut here
        dest: Destination = NewRun(f"o{i}", form, measured) if at is None else AtOffset(at, offsets[run[0]], job.out.name, codec, verify)
        cuts = None if at is not None or isinstance(where, Remote) else job.out.cuts(firsts[run[0]], firsts[run[-1] + 1] - firsts[run[0]])
        if cuts:  # a laid-out output: pieces, uploads aside (an object store's runs come back whole)
            dest = Pieces(f"o{i}", tuple(cuts))
        tasks.append(OrderTask(refs, buckets.consumed, job.worker_budget, where, dest, job.max_open_files, buckets.sample))
    return tasks


def _took(job: Job, task: OrderTask, value: OrderResult) -> int:
    """Take in what a pass-2 task reports; return the passes its buckets took, this one included."""
    if keeps_inputs(task.where):  # it left its inputs for a retry; none is needed now
        for bucket in task.buckets:
            remove_parts(bucket.parts)
    passes, fingerprint = value.passes, value.fingerprint
    if fingerprint is not None and job.verifier is not None:
        job.verifier.written.merge(fingerprint)
    return passes + 1
