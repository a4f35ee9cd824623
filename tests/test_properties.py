"""Property-based tests: on any input, with any plan down to absurdly small sizes,
the output is the reference permutation (so: a permutation of the input, and the
same bytes for the same seed whatever the plan).

The engine runs with hand-made tiny plans (capacity of a few hundred bytes,
blocks of a few dozen) so that Hypothesis' small inputs reach every path:
two-pass, recursive splits, long records streamed on their own.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections import Counter
from fractions import Fraction
from pathlib import Path

from helpers import records, reference_order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuffle_big.core.plan import make_plan
from shuffle_big.core.records import Codec
from shuffle_big.core.weights import Weighting, sample_size
from shuffle_big.inputs.sources import MAGIC_BYTES, InputInfo, is_compressed, probe
from shuffle_big.modes.head import write_head
from shuffle_big.outputs.layout import Layout
from shuffle_big.outputs.shards import ShardedOutput
from shuffle_big.outputs.sinks import Output
from shuffle_big.run.engine import run_shuffle
from shuffle_big.run.job import Job, Options, ShuffleResult
from shuffle_big.run.pool_local import local_executor
from shuffle_big.storage.tempspace import TempSpace

lines = st.lists(st.binary(max_size=40), max_size=300)
seps = st.sampled_from([b"\n", b"\0"])
# any records, with either separator, with or without a last one, and any seed
INPUTS = {"recs": lines, "terminated": st.booleans(), "sep": seps, "seed": st.integers(0, 2**63 - 1)}


def join(recs: list[bytes], sep: bytes, terminated: bool) -> bytes:
    data = sep.join(recs) + (sep if terminated and recs else b"")
    return b"x" + data if is_compressed(data[:MAGIC_BYTES]) else data  # that would be read as gzip, zstd, bzip2, xz


def tiny_plan(capacity: int, block: int, piece: int, buckets: int):
    return dataclasses.replace(
        make_plan(1 << 20),
        block_size=block,
        block_records=max(2, block // 8),
        long_threshold=max(block, capacity // 3),
        capacity=capacity,
        write_buffer=capacity,
        records_per_piece=piece,
        bytes_per_piece=piece * 8,
        max_buckets=buckets,
    )


def run_engine(data: bytes, seed: int, plan, known_size: bool = True, options: Options = Options()) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in", Path(d) / "out"
        src.write_bytes(data)
        result = ShuffleResult(seed=seed)
        with TempSpace(d) as temp, Output(str(out), Codec(options.sep)) as sink:
            job = Job(plan, seed, temp, sink, local_executor(1), result, options, max_open_files=plan.max_buckets + 64)
            run_shuffle(job, [probe(str(src))] if known_size else [InputInfo(str(src), "stream")])
        assert not [p for p in Path(d).iterdir() if p.name.startswith("shuffle-big.")]
        return out.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    **INPUTS,
    header=st.integers(0, 3),
    capacity=st.integers(16, 4096),
    block=st.integers(1, 600),
    piece=st.integers(1, 64),
    buckets=st.integers(2, 32),
    known_size=st.booleans(),
)
def test_any_plan_gives_the_reference_permutation(recs, terminated, sep, header, seed, capacity, block, piece, buckets, known_size):
    """``known_size`` False takes the path of a pipe: collect in memory, spill on overflow."""
    plan = tiny_plan(capacity, block, piece, buckets)
    data = join(recs, sep, terminated)
    got = run_engine(data, seed, plan, known_size, Options(sep, header))
    assert got == reference_order(data, seed, sep, header)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    **INPUTS,
    header=st.integers(0, 2),
    jobs=st.integers(2, 3),
    to_file=st.booleans(),
)
def test_worker_processes_give_the_reference_permutation(recs, terminated, sep, header, seed, jobs, to_file):
    """Real worker processes (-j 2 or 3) on tiny inputs: the parent's tiny capacity sends even a few
    bytes down the parallel path, so the cuts between workers land anywhere, near headers and ends."""
    plan = dataclasses.replace(tiny_plan(64, 32, 4, 4), budget=jobs << 20)
    data = join(recs, sep, terminated)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in", Path(d) / "out"
        src.write_bytes(data)
        result = ShuffleResult(seed=seed, jobs=jobs)
        # one shard: the same bytes, through the path of a stream (runs copied in order)
        sink = Output(str(out), Codec(sep)) if to_file else ShardedOutput(Layout(f"{out}{{i}}", shards=1), Codec(sep))
        with TempSpace(d) as temp, sink:
            run_shuffle(Job(plan, seed, temp, sink, local_executor(jobs), result, Options(sep, header)), [probe(str(src))])
        got = out.read_bytes() if to_file else Path(f"{out}0").read_bytes()
        assert got == reference_order(data, seed, sep, header)
        assert result.peak_worker_rss > 0 or len(data) <= 64  # the workers did run


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    **INPUTS,
    header=st.integers(0, 2),
    n=st.integers(0, 40),
    block=st.integers(1, 200),
)
def test_head_is_the_start_of_the_permutation(recs, terminated, sep, header, seed, n, block):
    """-n N on any input, with blocks down to a byte (so records of a few bytes are already 'long')."""
    plan = dataclasses.replace(make_plan(1 << 20), block_size=block, long_threshold=block, block_records=max(2, block // 8))
    data = join(recs, sep, terminated)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in", Path(d) / "out"
        src.write_bytes(data)
        with Output(str(out), Codec(sep)) as sink:
            write_head([probe(str(src))], plan, seed, n, sink, False, sep, header)
        full = reference_order(data, seed, sep, header)
        top = len(records(data, sep)[:header])
        assert out.read_bytes() == b"".join(records(full, sep)[: top + n])


def run_weighted(texts: list[bytes], weights: tuple[Fraction, ...], seed: int, plan) -> bytes:
    """The engine over ``texts`` (one input each) with ``weights``, as shuffle() runs it."""
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, text in enumerate(texts):
            paths.append(Path(d) / f"in{i}")
            paths[-1].write_bytes(text)
        out = Path(d) / "out"
        weighting = Weighting(weights, tuple(range(len(texts))))
        with TempSpace(d) as temp, Output(str(out)) as sink:
            job = Job(plan, seed, temp, sink, local_executor(1), ShuffleResult(seed=seed), Options(),
                      max_open_files=plan.max_buckets + 64, weighting=weighting)
            run_shuffle(job, [probe(str(p)) for p in paths])
        assert not [p for p in Path(d).iterdir() if p.name.startswith("shuffle-big.")]
        return out.read_bytes()


WEIGHTS = st.sampled_from([Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(9, 4)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 120), min_size=1, max_size=3),
    weights=st.lists(WEIGHTS, min_size=3, max_size=3),
    seed=st.integers(0, 2**63 - 1),
    capacity=st.integers(16, 4096),
    block=st.integers(1, 600),
    piece=st.integers(1, 64),
    buckets=st.integers(2, 32),
)
def test_weights_give_the_same_bytes_on_any_plan(sizes, weights, seed, capacity, block, piece, buckets):
    """Copies and samples through two-pass, recursive splits and pieces, as in memory; each line there
    floor(w) or ceil(w) times, exactly round(frac(w) n) of them the extra time."""
    texts = [b"".join(b"%d:%d:%s\n" % (i, j, b"y" * (j % 50)) for j in range(n)) for i, n in enumerate(sizes)]
    chosen = tuple(weights[: len(texts)])
    whole = run_weighted(texts, chosen, seed, make_plan(64 << 20))
    assert run_weighted(texts, chosen, seed, tiny_plan(capacity, block, piece, buckets)) == whole
    counts = Counter(whole.splitlines())
    for i, (n, w) in enumerate(zip(sizes, chosen)):
        seen = [counts[b"%d:%d:%s" % (i, j, b"y" * (j % 50))] for j in range(n)]
        assert set(seen) <= {math.floor(w), math.ceil(w)}
        assert sum(seen) == math.floor(w) * n + sample_size(w, n)
