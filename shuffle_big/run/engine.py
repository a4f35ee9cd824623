"""The engine: input -> records -> plan -> scatter -> order buckets -> output.

Input that fits the budget is ordered in memory. Otherwise pass 1 scatters
every record into key-range bucket files and pass 2 orders the buckets, in
key order; a bucket too big for memory is scattered again by the next key
bits. All paths order records by the same key, so a seed gives the same
output whatever the budget or the number of jobs.

With jobs > 1, pass 1 over regular files is cut into one run of whole records
per worker, and pass 2 orders buckets in parallel, each written at its final
offset (file output) or through a temporary file copied in order (a pipe).
Each worker gets an equal share of the budget.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..core.fingerprint import Fingerprint
from ..core.keys import derive_keys
from ..core.order import order_frames
from ..core.plan import Plan, make_plan
from ..core.records import Block, keyed, record_ends, swap_table
from ..errors import ShuffleError
from ..inputs.ranges import split_ranges
from ..inputs.reader import RecordReader
from ..inputs.sources import InputInfo, check_unchanged, input_size, snapshot
from ..outputs.sinks import Output
from ..progress import Meter
from ..storage import fs
from ..storage.buckets import FileBuckets
from ..storage.frames import HEADER, remove_parts, upload
from ..storage.tempspace import TempSpace
from .pool_local import Reporter, Workers
from .tasks import (
    BucketRef,
    Buckets,
    OrderResult,
    OrderTask,
    ScatterTask,
    feed,
    group_buckets,
    merge_scatters,
    order_bucket,
    run_order,
    run_scatter,
)

REMOTE_TASK_BYTES = 4 << 30  # input per scatter task when temp space is on an object store


@dataclass
class ShuffleResult:
    seed: int
    records: int = 0
    bytes: int = 0
    buckets: int = 0  # bucket files created by pass 1
    passes: int = 1  # 1: in memory; 2: two-pass; more: buckets split again
    in_memory: bool = True
    jobs: int = 1
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each pass, by name
    peak_rss: int = 0  # bytes, this process
    peak_worker_rss: int = 0  # bytes, the largest worker process

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _drain(items: list) -> Iterator:
    """Yield and forget items front to back, so memory is released as we go."""
    items.reverse()
    while items:
        yield items.pop()


@dataclass(frozen=True)
class Options:
    """How records look and what to do with them besides shuffling."""

    sep: bytes = b"\n"  # record separator: b"\n", or b"\0" for -z
    header: int = 0  # records at the top of the first input kept in place
    verify: bool = False  # compare fingerprints of the records read and written


class _Run:
    def __init__(
        self, plan: Plan, seed: int, temp: TempSpace, out: Output, progress: bool, result: ShuffleResult, fds: int,
        options: Options, cluster=None,
    ) -> None:
        self.options = options
        self.cluster = cluster  # None: local worker processes
        self.plan = plan
        self.seed = seed
        self.mix = derive_keys(seed)
        self.temp = temp
        self.out = out
        self.progress = progress
        self.result = result
        self.fds = fds
        self.jobs = result.jobs
        # a Dask worker has the whole budget to itself; local workers share it
        self.worker_budget = plan.budget if cluster is not None else plan.budget // self.jobs
        self.parallel = self.jobs > 1 or cluster is not None
        self.workers: Workers | None = None
        self.read_fingerprint = Fingerprint() if options.verify else None

    def run(self, infos: list[InputInfo]) -> None:
        self.snapshot = snapshot(infos)
        size = input_size(infos)
        paths = [info.source for info in infos]
        timed = self.result.timed
        if self.parallel and size is not None and size > self.plan.capacity and all(i.splittable for i in infos):
            with self._pool():
                with timed("pass 1"):
                    buckets = self._scatter_parallel(infos, size)
                    check_unchanged(self.snapshot)
                with timed("pass 2"):
                    self._order_all(buckets)
            return
        # Stdin cannot be cut into byte ranges: one process scatters it. Copying it
        # to a temp file to scatter in parallel measured slower (1 GB of ~157-byte
        # lines, -j 2: 9.2 s with the copy, 7.3 s without; -j 1: 10.3 s).
        start = time.perf_counter()
        buckets = self._read_serial(paths, size)
        self.result.seconds["in memory" if buckets is None else "pass 1"] = time.perf_counter() - start
        if buckets is None:
            return
        with timed("pass 2"):
            if self.parallel:
                _release_free_memory()  # the parent idles while workers use the budget
                with self._pool():
                    self._order_all(buckets)
            else:
                self._order_all(buckets)

    @contextmanager
    def _pool(self) -> Iterator[Workers]:
        with self.cluster.pool() if self.cluster is not None else Workers(self.jobs) as self.workers:
            yield self.workers
        self.result.peak_worker_rss = self.workers.peak_rss

    # ---- pass 1 -----------------------------------------------------------

    def _read_serial(self, paths: list[str], size: int | None) -> Buckets | None:
        """Read the input in this process: in memory if it fits, else scatter it.

        Returns None when the output is already written (it fit in memory).
        """
        plan = self.plan
        reader = RecordReader(
            paths, **plan.reader_sizes, sep=self.options.sep, header=self.options.header, verify=self.options.verify,
        )
        self.read_fingerprint = reader.fingerprint
        held: list = []
        held_bytes = held_records = 0
        label = "reading" if size is None or size <= plan.capacity else "pass 1"
        with Meter(self.progress, label, size) as meter:
            items = iter(reader)
            sink = None
            for item in items:
                if not isinstance(item, Block):
                    sink = self._spill(held, held_bytes, held_records, size)
                    feed([item], sink, self.mix)
                    break
                ends, keys = keyed(item, self.mix)
                held.append((item.data, keys))
                held_bytes += len(item.data)
                held_records += len(ends)
                meter.to(reader.bytes_read)
                if not plan.fits(held_bytes, held_records) or self._too_big(size, held_bytes, held_records):
                    sink = self._spill(held, held_bytes, held_records, size)
                    break
            if sink is None:
                check_unchanged(self.snapshot)
                self.out.write_header(reader.header)
                self.out.expect(held_records)
                self.result.records, self.result.bytes = held_records, held_bytes
                order_frames(_drain(held), 0, plan.piece_bits(held_bytes, held_records, 0), plan.block_records, self.out.write)
                self._check_fingerprints()
                return None
            try:
                feed(items, sink, self.mix, lambda: meter.to(reader.bytes_read))
            except BaseException:
                sink.close(flush=False)
                raise
            sink.close()
        check_unchanged(self.snapshot)
        self.out.write_header(reader.header)
        self.result.buckets = sink.count
        parts = sink.paths
        if self.temp.remote is not None:  # workers elsewhere order the buckets
            parts = upload(parts, f"{self.temp.remote}/pass1")
        return Buckets([[p] for p in parts], sink.nbytes.tolist(), sink.nrecords.tolist(), sink.bits, sink.count)

    def _too_big(self, size: int | None, nbytes: int, nrecords: int) -> bool:
        """Known input size projected (with keys) beyond what memory can hold?"""
        return size is not None and self.plan.cost(size, int(size * nrecords / nbytes)) > self.plan.capacity

    def _estimate(self, size: int | None, per_record: float, local: bool = True) -> tuple[float, float]:
        """Bytes and records of the whole input; checks local temp space for a known size if it goes there."""
        if size is None:
            return float(1 << 62), float(1 << 58)  # unknown input: as many buckets as the limits allow
        nrecords = size * per_record
        if local:
            self.temp.require(self.plan.cost(size, int(nrecords)) + HEADER.size * (size // self.plan.block_size + 1))
        return float(size), nrecords

    def _spill(self, held: list, nbytes: int, nrecords: int, size: int | None) -> FileBuckets:
        """Start pass 1 proper: create bucket files and move held records into them."""
        est_bytes, est_records = self._estimate(size, nrecords / nbytes if nbytes else 0.0)
        bits = self.plan.bucket_bits(est_bytes, est_records, 0)
        buckets = FileBuckets(self.temp.path, self.temp.new_name(), 0, bits, self.plan)
        for data, keys in _drain(held):
            buckets.add_block(data, record_ends(data), keys)
        return buckets

    def _scatter_parallel(self, infos: list[InputInfo], size: int) -> Buckets:
        sep = self.options.sep
        paths = [info.source for info in infos]
        start = 0
        if self.options.header:
            reader = RecordReader(paths[:1], 1 << 16, 1 << 16, sep, self.options.header)
            next(iter(reader), None)
            start = min(len(reader.header), infos[0].size)
            self.out.write_header(reader.header)
            if self.read_fingerprint is not None:
                self.read_fingerprint.update(reader.header)
        with fs.open_read(paths[0]) as f:
            head = f.read(1 << 20)
        per_record = (head.count(sep) + 1) / (len(head) + 1)
        worker_plan = make_plan(self.worker_budget, self.fds)
        remote = self.temp.remote
        bits = worker_plan.bucket_bits(*self._estimate(size, per_record, local=remote is None), 0)
        # Through an object store, a task keeps its buckets on its worker's disk until it ends: ranges of at
        # most REMOTE_TASK_BYTES bound that disk, and what a lost worker's retry redoes.
        runs = self.jobs if remote is None else max(self.jobs, -(-size // REMOTE_TASK_BYTES))
        directory = None if remote is not None else self.temp.path
        tasks = [
            ScatterTask(
                tuple(segs), directory, f"s{i}", bits, self.worker_budget, self.seed, self.fds, sep,
                self.options.verify, private=self.cluster is not None, remote=remote,
            )
            for i, segs in enumerate(split_ranges(paths, [i.size for i in infos], runs, sep, start))
        ]
        futures = [self.workers.submit(run_scatter, t, Reporter(i)) for i, t in enumerate(tasks)]
        results = {}
        finished = [0]  # bytes of the tasks done: progress where workers cannot report as they go (Dask)
        with Meter(self.progress, "pass 1", size) as meter:
            for f, result in self._each_done(futures, meter, lambda: max(self.workers.done_bytes, finished[0])):
                results[f] = result
                finished[0] += sum(result.nbytes)
        buckets = merge_scatters([results[f] for f in futures], bits)
        if self.read_fingerprint is not None:
            for f in futures:
                self.read_fingerprint.merge(results[f].fingerprint)
        self.result.buckets = buckets.files
        return buckets

    # ---- pass 2 -----------------------------------------------------------

    def _order_all(self, buckets: Buckets) -> None:
        self.result.in_memory = False
        self.result.records = sum(buckets.nrecords)
        self.result.bytes = sum(buckets.nbytes)
        self.out.expect(self.result.records)
        if self.workers is None:
            with Meter(self.progress, "pass 2", self.result.bytes) as meter:
                for b, parts in enumerate(buckets.parts):
                    passes = order_bucket(
                        parts, buckets.nbytes[b], buckets.nrecords[b], buckets.consumed, self.plan,
                        self.temp.path, f"r{b}", self.out.write,
                    )
                    self.result.passes = max(self.result.passes, passes + 1)
                    meter.to(self.out.bytes_written)
        elif self.out.seekable and self.temp.remote is None:
            self._order_parallel_to_file(buckets)
        else:
            self._order_parallel_to_stream(buckets)
        self._check_fingerprints()

    def _tasks(self, buckets: Buckets) -> list[tuple[list[int], OrderTask]]:
        """Pass-2 tasks over runs of consecutive buckets; each writes at the run's output offset."""
        offsets = [self.out.bytes_written]  # after the header
        for n in buckets.nbytes:
            offsets.append(offsets[-1] + n)
        remote = self.temp.remote  # workers may share no disk with this process: runs come back as objects
        stream = not self.out.seekable or remote is not None
        directory = None if remote is not None else self.temp.path
        tasks = []
        for i, run in enumerate(group_buckets(buckets.nbytes, buckets.nrecords, 8 * self.jobs)):
            refs = tuple(
                BucketRef(tuple(buckets.parts[b]), buckets.nbytes[b], buckets.nrecords[b], f"r{b}") for b in run
            )
            out_path = os.path.join(directory or "", f"o{i}") if stream else self.out.temp_path
            task = OrderTask(
                refs, buckets.consumed, self.worker_budget, directory, out_path,
                None if stream else offsets[run[0]],
                "cannot write to temporary directory" if stream else f"error writing '{self.out.name}'", self.fds,
                # a run written to a temp file stays internal: the parent's output translates and checks it
                None if stream else swap_table(self.options.sep), self.options.verify and not stream,
                private=self.cluster is not None, remote=remote,
            )
            tasks.append((run, task))
        return tasks

    def _order_parallel_to_file(self, buckets: Buckets) -> None:
        """Each run of buckets is written by its worker straight at its final offset."""
        self.out.truncate(self.out.bytes_written + sum(buckets.nbytes))
        futures = {self.workers.submit(run_order, task): task for _, task in self._tasks(buckets)}
        done = [0]  # bytes of the runs finished so far
        with Meter(self.progress, "pass 2", self.result.bytes) as meter:
            for f, value in self._each_done(futures, meter, lambda: done[0]):
                self._order_done(futures[f], value)
                done[0] += sum(b.nbytes for b in futures[f].buckets)

    def _order_parallel_to_stream(self, buckets: Buckets) -> None:
        """Workers order runs of buckets into temp files; they are copied out in key order."""
        order = [(task, self.workers.submit(run_order, task)) for _, task in self._tasks(buckets)]
        with Meter(self.progress, "pass 2", self.result.bytes) as meter:
            for task, future in order:
                done = self.workers.result(future)
                self._order_done(task, done)
                self.out.copy_from(done.out_path)
                fs.remove(done.out_path)
                meter.to(self.out.bytes_written)

    def _order_done(self, task: OrderTask, value: OrderResult) -> None:
        """Take in what a pass-2 task reports: passes it took and the fingerprint of what it wrote."""
        if task.private:  # it left its inputs for a retry; none is needed now
            for bucket in task.buckets:
                remove_parts(bucket.parts)
        passes, fingerprint, _ = value
        self.result.passes = max(self.result.passes, passes + 1)
        if fingerprint is not None:
            self.out.fingerprint.merge(fingerprint)

    def _check_fingerprints(self) -> None:
        """--verify: the records written must be the records read (before the output is committed)."""
        read, written = self.read_fingerprint, self.out.fingerprint
        if read is not None and read.value != written.value:
            raise ShuffleError(
                f"--verify failed: the output's fingerprint {written.describe()} does not match the input's "
                f"{read.describe()}; the output was not written"
            )

    def _each_done(self, futures, meter: Meter, progress: Callable[[], int]) -> Iterator:
        """(future, result) as workers finish, in any order; a worker's error is raised at once.

        The meter moves to ``progress()`` at least every 0.2 s meanwhile.
        """
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in finished:
                yield f, self.workers.result(f)
            meter.to(progress())


def _release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc), so an idle parent does not hold them."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
