"""The library's entry point: ``shuffle()`` checks what it is given, picks the mode and runs it.

A whole shuffle runs through ``run.engine``; ``-n`` and ``-r`` are the
modes in ``modes``. Everything a user can fix surfaces as ``ShuffleError``.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, cast

from .config import ShuffleConfig, weights_count_error
from .core.fingerprint import Fingerprint, Verifier
from .core.plan import MIN_MEMORY, make_plan
from .core.records import Codec
from .core.weights import Weighting
from .errors import ConfigError, ShuffleError
from .inputs.sources import Operand, Source, only_numbers, operand_sources, probe
from .manifest import check_writable, write_manifest
from .modes.head import write_head
from .modes.numbers import write_numbers
from .modes.repeat import write_draws
from .outputs.shards import ShardedOutput
from .outputs.sinks import Output
from .outputs.sized_shards import SizedShards
from .run.engine import run_shuffle
from .run.job import Job, Options, ShuffleResult
from .run.pool import Executor, peak_rss
from .run.pool_local import local_executor
from .storage import fs
from .storage.tempspace import TempSpace, raise_fd_limit

REMOTE_MIN_MEMORY = 2 * fs.REMOTE_BLOCK  # a worker's budget with temp space on an object store: a buffer, and data
MIN_WORKER_MEMORY = 4 * MIN_MEMORY  # below this a worker is all overhead


def shuffle(
    inputs: Sequence[Operand] | Source = ("-",),
    output: str | None = None,
    config: ShuffleConfig | None = None,
    *,
    cluster: Any = None,
    **options: Any,
) -> ShuffleResult:
    """Shuffle the lines of ``inputs`` into ``output`` (a path or URL; None is stdout).

    An input is a path (``-`` is stdin; gzip and zstd files are decompressed),
    ``Lines`` or a ``NumberRange``; a tuple or list of them is one operand (as
    the command's ``--files-from`` list), which ``weights`` weighs as one. How
    to shuffle is a ``ShuffleConfig``, or its fields as keywords (``memory``,
    ``seed``, ``jobs``, ``head``, ``repeat``, ``sep``, ``header``,
    ``recursive``, ``verify``, ``shards``, ``shard_lines``, ``shard_size``,
    ``splits``, ``weights``, ``manifest``, ``temp_dir``, ``compress_level``,
    ``progress``), which override ``config``'s. With ``shards``, ``output``
    names the files: a pattern with ``{i}``, or a directory; with ``splits``
    (``"valid=1000,train=rest"``), a pattern with ``{split}``. ``weights``
    (``"2,0.5"``): one per operand. ``manifest``: a JSON file describing the
    run and its files, written once they are published. ``cluster``: a
    connected ``DaskCluster`` to run the tasks on instead of local processes;
    ``memory`` is then the budget of each worker. Raises ShuffleError for
    problems a user can fix (ConfigError, also a ValueError, for options
    that cannot go together).
    """
    config = ShuffleConfig(**options) if config is None else dataclasses.replace(config, **options)
    operands = cast(list[Operand], list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]) or ["-"]
    if config.weights is not None and len(config.weights) != len(operands):
        raise ConfigError(weights_count_error(len(config.weights), len(operands)))
    fds = raise_fd_limit()
    plan = config.plan or make_plan(config.budget, fds)
    seed = secrets.randbits(63) if config.seed is None else config.seed
    _check_temp_dir(config.temp_dir, cluster, plan.budget)
    config.check_output(output)  # a bad name fails before any input is read
    if config.manifest is not None:
        check_writable(config.manifest)
    # -n 0 asks for nothing: no input is opened, as with shuf (`yes | shuf -n 0` ends; a missing file is no error)
    grouped = operand_sources(operands, config.recursive)
    infos = [] if config.head == 0 and not config.header else [probe(source, config.sep) for _, source in grouped]
    executor = _executor(cluster, config.jobs, plan.budget)
    result = ShuffleResult(seed=seed)  # jobs: 1 until workers start
    sep, header, head = config.sep, config.header, config.head
    numbers = None if config.repeat else only_numbers(infos, header)
    if numbers is not None:
        verifier = Verifier() if config.verify else None
        with _output(config, output, verifier.written if verifier else None) as out, result.timed("in memory"):
            result.records, result.bytes = write_numbers(numbers, plan, seed, head, out, config.progress, verifier)
    elif config.repeat:
        with TempSpace(config.temp_dir) as temp, _output(config, output, None) as out:
            with result.timed("repeat"):
                result.records, result.bytes, result.passes = write_draws(infos, plan, seed, head, out, temp, sep, header)
            result.in_memory = result.passes == 1
    elif head is not None:
        with _output(config, output, None) as out, result.timed("in memory"):
            parallel = None if executor.inline else executor.map
            result.records, result.bytes = write_head(
                infos, plan, seed, head, out, config.progress, sep, header, executor.workers, parallel,
            )
    else:
        verifier = Verifier() if config.verify else None
        written = verifier.written if verifier else None
        with TempSpace(config.temp_dir) as temp, _output(config, output, written) as out:
            weighting = None
            if config.weights is not None:
                weights = cast(tuple[Fraction, ...], config.weights)
                weighting = Weighting(tuple(weights[g] for g, _ in grouped), tuple(g for g, _ in grouped))
            job = Job(plan, seed, temp, out, executor, result, Options(sep, header), config.progress, fds, verifier, weighting)
            run_shuffle(job, infos)
        if config.manifest is not None:  # everything is published now
            write_manifest(config.manifest, config, output, result, out.published())
    result.peak_rss = peak_rss()
    return result


def _executor(cluster: Any, jobs: int, budget: int) -> Executor:
    if cluster is not None:
        return cluster.executor()
    return local_executor(max(1, min(jobs, budget // MIN_WORKER_MEMORY)))


def _check_temp_dir(temp_dir: str | None, cluster: Any, budget: int) -> None:
    """Temp space on an object store is for a cluster, whose tasks each buffer their transfers."""
    if not temp_dir or not fs.is_url(temp_dir):
        return
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


def _output(config: ShuffleConfig, path: str | None, seen: Fingerprint | None) -> Output | ShardedOutput:
    """The output ``-o`` names, one file or several (``seen``: --verify's written side, fed every record)."""
    codec, level = Codec(config.sep), config.compress_level
    if not config.layout_options:
        return Output(path, codec, seen, level)
    layout = config.layout(path)
    return (SizedShards if layout.shard_size is not None else ShardedOutput)(layout, codec, seen, level)
