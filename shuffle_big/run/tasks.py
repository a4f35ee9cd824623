"""Self-describing units of work: scatter a run of input, order runs of buckets.

The engine runs these inline or in worker processes; each takes only plain
data (paths, offsets, sizes, the seed) and writes only to files it is told
about, so any scheduler can run them, retry them, and get the same bytes: a
record's key depends on nothing but the seed and its input offset.

Where a task works is its ``Placement``: ``Shared`` (the run's temp
directory, as the local pool has it); ``Private`` (a scheduler that may
retry a task or run it twice: the task writes only under a fresh directory
of its own, names its outputs in its result, and pass 2 leaves its inputs in
place, so an attempt that died leaves garbage for the final clean-up, never
a half-written file that a later attempt or the engine would read); or
``Remote`` (temp space on an object store: the task keeps its files in its
own machine's temp directory and uploads what it hands on under a name of
its own, with Private's rules besides). Where a pass-2 task writes is its
``Destination``: ``AtOffset`` of the output file, or a ``NewRun`` of its own
(compressed by the task when the output is: see ``outputs/compression.py``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple, cast

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.plan import Plan, make_plan
from ..core.records import NEWLINE, Buffer, Codec
from ..core.weights import Sample, Weighting
from ..errors import describe_os_error
from ..inputs.reader import RecordReader, Segment
from ..outputs.files import copy_through
from ..outputs.shards import PieceWriter
from ..outputs.sinks import Cut, RunForm, outgoing
from ..storage import fs
from ..storage.buckets import FileBuckets
from ..storage.frames import PartRef, upload
from ..storage.lengths import RecordLengths
from ..storage.rawio import pwrite_all
from ..storage.sample_keys import sample_keys_at
from ..storage.tempspace import TempSpace
from .buckets import Buckets, order_bucket
from .intake import Intake, feed


@dataclass(frozen=True)
class Shared:
    """Work in the run's temp directory, which the engine's process sees too."""

    directory: str


@dataclass(frozen=True)
class Private:
    """Work under a fresh directory of one's own in ``directory``, keeping the inputs (may be retried)."""

    directory: str


@dataclass(frozen=True)
class Remote:
    """Work in this machine's temp directory; hand files on as objects under ``url`` (may be retried)."""

    url: str


Placement = Shared | Private | Remote


def placement(temp: TempSpace, retries: bool) -> Placement:
    """Where tasks of a run with this temp space work (``retries``: the executor may run a task twice)."""
    if temp.is_remote:
        return Remote(temp.remote_dir())
    return Private(temp.local_dir()) if retries else Shared(temp.local_dir())


@contextmanager
def _workspace(where: Placement, prefix: str) -> Iterator[str]:
    """The directory a task works in; a Remote task's is removed when it ends (what it hands on is uploaded)."""
    if isinstance(where, Remote):
        with TempSpace() as local:
            yield local.local_dir()
    elif isinstance(where, Private):
        try:
            directory = tempfile.mkdtemp(prefix=f"{prefix}.", dir=where.directory)
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None
        yield directory
    else:
        yield where.directory


@dataclass(frozen=True)
class ScatterTask:
    """Pass 1 for one run of the input: append each record to the bucket file of its key."""

    segments: tuple[Segment, ...]
    where: Placement
    name: str  # prefix for this task's bucket files
    bits: int  # 2**bits buckets, by the top key bits
    budget: int  # memory for this task
    seed: int
    max_open_files: int = 1024
    sep: bytes = b"\n"
    verify: bool = False
    inputs: int = 1  # the run's inputs (the segments' positions say which of them each is)
    weighting: Weighting | None = None  # --weights
    leave_out: float | None = None  # store a sampled copy's lines only below weights.band of these sigmas


class ScatterResult(NamedTuple):
    parts: list[PartRef]  # one per bucket
    nbytes: list[int]
    nrecords: list[int]
    fingerprint: tuple[int, int, str] | None  # of the records read, with --verify (Fingerprint.value)
    lines: list[int]  # records read of each of the run's inputs
    nbytes_read: list[int]  # and their bytes
    aside: PartRef | None  # the keys of sampled copies (--weights with a fraction)


def run_scatter(task: ScatterTask, progress: Callable[[int], None] | None = None) -> ScatterResult:
    """Run ``task``; return where its buckets are, with their byte and record counts."""
    with _workspace(task.where, task.name) as directory:
        result = _scatter(task, directory, progress)
        if isinstance(task.where, Remote):  # all its buckets (and keys put aside) as one object
            local = cast(list[str], result.parts) + ([cast(str, result.aside)] if result.aside else [])
            parts: list[PartRef] = list(upload(local, _unique(task.where.url, task.name)))
            result = result._replace(parts=parts[: len(result.parts)], aside=parts[-1] if result.aside else None)
        return result


def _task_plan(task: ScatterTask | OrderTask) -> Plan:
    # Through an object store, a buffer of fs.REMOTE_BLOCK uploads or fetches at a time, outside the data.
    return make_plan(task.budget - (fs.REMOTE_BLOCK if isinstance(task.where, Remote) else 0), task.max_open_files)


def _unique(directory: str, name: str) -> str:
    """A name no other attempt of the same task uses."""
    return f"{directory}/{name}.{secrets.token_hex(6)}"


def _scatter(task: ScatterTask, directory: str, progress: Callable[[int], None] | None) -> ScatterResult:
    plan = _task_plan(task)
    seen = Fingerprint() if task.verify else None
    weighed = task.weighting is not None  # then the intake fingerprints what goes in (see intake.py)
    reader = RecordReader(list(task.segments), **plan.reader_sizes, sep=task.sep, fingerprint=None if weighed else seen)
    done = 0

    def tick() -> None:
        nonlocal done
        if progress is not None:
            progress(reader.bytes_read - done)
            done = reader.bytes_read

    samples = task.weighting is not None and task.weighting.samples
    aside_path = os.path.join(directory, f"{task.name}.sampled") if samples else None
    with FileBuckets(directory, task.name, 0, task.bits, plan) as sink, sample_keys_at(aside_path) as aside:
        intake = Intake(task.inputs, task.seed, task.weighting, aside, seen if weighed else None, task.leave_out)
        feed(reader, sink, intake, tick)
    return ScatterResult(
        list(sink.paths), sink.nbytes.tolist(), sink.nrecords.tolist(), seen.value if seen else None,
        intake.lines, intake.nbytes, aside_path,
    )


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


@dataclass(frozen=True)
class BucketRef:
    """One bucket of pass 1: its part files, bytes and records out, a name prefix for splitting it, and
    its bytes and records as stored (more than out when --weights' sample drops some)."""

    parts: tuple[PartRef, ...]
    nbytes: int
    nrecords: int
    name: str
    stored: tuple[int, int]


@dataclass(frozen=True)
class AtOffset:
    """Write at ``offset`` of the output file ``path`` (whose name is ``output``), in the output's form."""

    path: str
    offset: int
    output: str  # what a write error names
    codec: Codec = NEWLINE  # internal records to the output's (-z)
    verify: bool = False  # fingerprint what is written


@dataclass(frozen=True)
class NewRun:
    """Write a run file of one's own, named ``name``: in internal form for the engine to copy out in order,
    or in ``form`` (the output's, compressed) for it to append as it is."""

    name: str
    form: RunForm | None = None
    measured: bool = False  # also each record's length, in ``name.lengths`` (to cut the run by: --shard-size)


@dataclass(frozen=True)
class Pieces:
    """Write the run as consecutive pieces, named ``name.0``, ``name.1``...: one for each ``Cut``, holding
    its count of records in its form (a laid-out output's file each: ``--split``, ``--shards``)."""

    name: str
    cuts: tuple[Cut, ...]


Destination = AtOffset | NewRun | Pieces


@dataclass(frozen=True)
class OrderTask:
    """Pass 2 for consecutive buckets: order each, and write them one after another to ``dest``."""

    buckets: tuple[BucketRef, ...]
    consumed: int
    budget: int
    where: Placement
    dest: Destination
    max_open_files: int = 1024
    sample: Sample | None = None  # --weights: which records of sampled copies stay


class OrderResult(NamedTuple):
    passes: int  # the most passes a bucket took
    fingerprint: tuple[int, int, str] | None  # of what was written, with --verify
    out_path: str  # where it was written (a URL if uploaded); "" for Pieces
    pieces: tuple[tuple[str, int], ...] = ()  # Pieces: each piece's path and bytes (in output form, uncompressed)


def run_order(task: OrderTask) -> OrderResult:
    """Order the task's buckets into its destination; a Remote task's new run is uploaded."""
    with _workspace(task.where, "order") as directory:
        dest = task.dest
        if isinstance(dest, AtOffset):
            return _order(task, directory, dest.path, dest.offset, f"error writing '{dest.output}'")
        if isinstance(dest, Pieces):
            return _order_pieces(task, directory, dest)
        result = _order(task, directory, os.path.join(directory, dest.name), None, "cannot write to temporary directory")
        if isinstance(task.where, Remote):
            result = result._replace(out_path=upload([result.out_path], _unique(task.where.url, dest.name))[0].url)
        return result


def _order(task: OrderTask, directory: str, out_path: str, offset: int | None, error: str) -> OrderResult:
    """Write the buckets in order to ``out_path`` from ``offset`` (None: a new file)."""
    flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if offset is None else 0)
    try:
        fd = os.open(out_path, flags, 0o600)
    except OSError as err:
        raise describe_os_error(f"cannot open '{out_path}'", err) from None
    at = offset or 0
    dest = task.dest
    assert not isinstance(dest, Pieces)  # _order_pieces writes those
    form = dest if isinstance(dest, AtOffset) else dest.form
    codec = form.codec if form is not None else NEWLINE
    fingerprint = Fingerprint() if form is not None and form.verify else None
    compression = form.compression if isinstance(form, RunForm) else None
    size = sum(b.nbytes for b in task.buckets)  # in output form too: -z's swap keeps lengths
    compressor = compression.compressor(size) if compression is not None else None
    lengths = RecordLengths(out_path + ".lengths") if isinstance(dest, NewRun) and dest.measured else None

    def put(data: Buffer) -> None:
        nonlocal at
        try:
            at = pwrite_all(fd, data, at)
        except OSError as err:
            raise describe_os_error(error, err) from None

    def write(data: Buffer, ends: np.ndarray | None = None) -> None:
        if lengths is not None:
            lengths.add(data, ends)
        data = outgoing(data, fingerprint, codec, ends)
        put(data if compressor is None else compressor.compress(data))

    try:
        passes = _order_buckets(task, directory, write)
        if compressor is not None:
            put(compressor.flush())  # the run is one whole member or frame
        return OrderResult(passes, fingerprint.value if fingerprint else None, out_path)
    finally:
        os.close(fd)
        if lengths is not None:
            lengths.close()


def _order_buckets(task: OrderTask, directory: str, write: Callable[[Buffer, np.ndarray | None], None]) -> int:
    """Each of the task's buckets in key order to ``write``; the most passes one took."""
    plan, keep = _task_plan(task), keeps_inputs(task.where)
    return max(
        order_bucket(list(b.parts), *b.stored, task.consumed, plan, directory, b.name, write, keep, task.sample)
        for b in task.buckets
    )


def _order_pieces(task: OrderTask, directory: str, dest: Pieces) -> OrderResult:
    """Write the buckets in order as ``dest``'s pieces, each a new file in ``directory``."""
    return _pieces(os.path.join(directory, dest.name), dest.cuts, lambda write: _order_buckets(task, directory, write))


def _pieces(prefix: str, cuts: tuple[Cut, ...], feed: Callable[[Callable[[Buffer, np.ndarray | None], None]], int]) -> OrderResult:
    """The records ``feed`` writes (returning the passes it took), cut into a new file ``prefix.N`` per cut."""
    verify = any(cut.form.verify for cut in cuts)
    pieces = PieceWriter(prefix, cuts, Fingerprint() if verify else None)
    try:
        passes = feed(pieces.write)
        pieces.close()
    finally:
        pieces.abandon()
    fingerprint = pieces.fingerprint.value if pieces.fingerprint else None
    return OrderResult(passes, fingerprint, "", tuple(pieces.written))


@dataclass(frozen=True)
class CutTask:
    """Cut a run a pass-2 task wrote (internal form, measured) into a piece for each ``Cut``, in its form:
    the parent says where the cuts fall (from the run's lengths: --shard-size), a worker writes them."""

    run: str
    cuts: tuple[Cut, ...]
    name: str
    where: Placement


def run_cut(task: CutTask) -> OrderResult:
    """Write ``task``'s pieces, each a new file; the run is left for the engine to remove."""

    def feed(write: Callable[[Buffer, np.ndarray | None], None]) -> int:
        copy_through(task.run, write)
        return 1

    with _workspace(task.where, "cut") as directory:
        return _pieces(os.path.join(directory, task.name), task.cuts, feed)


def keeps_inputs(where: Placement) -> bool:
    """Does a task placed so leave its input files for a retry (the engine removes them once it has the result)?"""
    return not isinstance(where, Shared)


