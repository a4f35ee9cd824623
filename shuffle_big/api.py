"""The library's entry point: ``shuffle()`` checks what it is given, picks the mode and runs it.

A whole shuffle runs through ``run.engine``; ``-n`` and ``-r`` are the
modes in ``modes``. Everything a user can fix surfaces as ``ShuffleError``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import cast

from .core.plan import MIN_MEMORY, make_plan
from .core.records import swap_table
from .errors import ShuffleError
from .inputs.sources import Source, probe_all
from .modes.head import write_head
from .modes.repeat import write_draws
from .outputs.shards import ShardedOutput
from .outputs.sinks import Output
from .run.engine import run_shuffle
from .run.job import Job, Options, ShuffleResult
from .run.pool import peak_rss
from .run.pool_local import local_executor
from .sizes import default_memory
from .storage import fs
from .storage.tempspace import TempSpace, raise_fd_limit

REMOTE_MIN_MEMORY = 2 * fs.REMOTE_BLOCK  # a worker's budget with temp space on an object store: a buffer, and data
MIN_WORKER_MEMORY = 4 * MIN_MEMORY  # below this a worker is all overhead


def shuffle(
    inputs: Sequence[Source] | Source = ("-",),
    output: str | None = None,
    *,
    memory: int | None = None,
    seed: int | None = None,
    temp_dir: str | None = None,
    progress: bool = False,
    jobs: int = 1,
    head: int | None = None,
    sep: bytes = b"\n",
    header: int = 0,
    verify: bool = False,
    shards: int | None = None,
    repeat: bool = False,
    cluster=None,
) -> ShuffleResult:
    """Shuffle the lines of ``inputs`` into ``output`` (path; None is stdout).

    An input is a path (``-`` is stdin; gzip and zstd files are decompressed),
    ``Lines`` or a ``NumberRange``. ``memory`` is the budget in bytes for all
    processes together (default: 1 GiB or a quarter of RAM); ``jobs`` worker
    processes share it. The same ``seed`` always gives the same output.
    ``head``: write only the first ``head`` records of the permutation, found
    in one pass. ``sep``: the byte that ends a record (``b"\\0"`` for ``-z``).
    ``header``: keep the first ``header`` records of the first input at the
    top, unshuffled. ``verify``: fail, leaving no output file, unless the
    records written are exactly the records read (an order-independent
    fingerprint of each side). ``shards``: split the output into that many
    files of near-equal record count, named by ``output``: a pattern with
    ``{i}`` or a directory. ``repeat``: instead of a permutation, draw lines
    with replacement: ``head`` of them, or without end when ``head`` is None.
    ``cluster``: a connected ``DaskCluster`` to run the tasks on
    instead of local processes; ``memory`` is then the budget of each worker.
    Raises ShuffleError for problems a user can fix.
    """
    paths = cast(list[Source], list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]) or ["-"]
    options = Options(sep, header, verify)
    budget = memory or default_memory()
    fds = raise_fd_limit()
    plan = make_plan(budget, fds)
    if seed is None:
        seed = secrets.randbits(63)
    if temp_dir and fs.is_url(temp_dir):
        if cluster is None:
            raise ShuffleError(
                f"-T '{temp_dir}': temporary space on an object store is for --engine dask; "
                "the local engine needs a directory"
            )
        if budget < REMOTE_MIN_MEMORY:
            raise ShuffleError(
                f"-T '{temp_dir}': each worker needs --memory {REMOTE_MIN_MEMORY >> 20}M or more "
                f"(uploads to an object store are buffered in {fs.REMOTE_BLOCK >> 20} MiB parts)"
            )
    infos = probe_all(paths, sep)
    executor = cluster.executor() if cluster is not None else local_executor(max(1, min(jobs, budget // MIN_WORKER_MEMORY)))
    result = ShuffleResult(seed=seed, jobs=executor.workers)
    if verify and (repeat or head is not None):
        raise ValueError("verify checks a whole shuffle; it cannot be combined with head or repeat")
    if repeat:
        with TempSpace(temp_dir) as temp, _output(output, sep, False, shards if head is not None else None) as out:
            with result.timed("repeat"):
                result.records = write_draws(infos, plan, seed, head, out, temp, sep, header)
    elif head is not None:
        with _output(output, sep, False, shards) as out, result.timed("in memory"):
            result.records, result.bytes = write_head(infos, plan, seed, head, out, progress, sep, header)
    else:
        with TempSpace(temp_dir) as temp, _output(output, sep, verify, shards) as out:
            run_shuffle(Job(plan, seed, temp, out, executor, result, options, progress, fds), infos)
    result.peak_rss = peak_rss()
    return result


def _output(path: str | None, sep: bytes, verify: bool, shards: int | None) -> Output | ShardedOutput:
    if shards is None:
        return Output(path, swap_table(sep), verify)
    if path in (None, "-"):
        raise ShuffleError("--shards needs -o: a directory, or a name with {i} in it")
    return ShardedOutput(path, shards, swap_table(sep), verify)
