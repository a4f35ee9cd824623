"""Statistical tests that the shuffle is uniform, with fixed seeds and p < 1e-4 thresholds.

Each statistic is run against shuffle-big (through the library, in memory and
through bucket files at a tiny budget) and against a deliberately wrong
shuffler it must reject, which proves the test can fail:
- ``chunk_local``: shuffle within consecutive chunks, concatenate in order;
- ``chunk_order``: shuffle the order of chunks, keep each chunk's lines;
- ``content_hash``: sort by a seeded hash of the line (``sort -R``): duplicates cluster.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import xxhash
from stats import chi2_table, chi2_uniform, poisson_sf

from shuffle_big import shuffle

ALPHA = 1e-4


def chunk_local(lines: list[bytes], seed: int, chunk: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    chunk = chunk or max(2, len(lines) // 2)
    out = []
    for i in range(0, len(lines), chunk):
        part = lines[i : i + chunk]
        rng.shuffle(part)
        out += part
    return out


def chunk_order(lines: list[bytes], seed: int, chunk: int = 100) -> list[bytes]:
    rng = random.Random(seed)
    chunks = [lines[i : i + chunk] for i in range(0, len(lines), chunk)]
    rng.shuffle(chunks)
    return [line for c in chunks for line in c]


def content_hash(lines: list[bytes], seed: int) -> list[bytes]:
    return sorted(lines, key=lambda line: xxhash.xxh64_intdigest(line, seed=seed))


class Ours:
    """shuffle-big through files, at a given budget (1M forces bucket files for ~1 MB inputs)."""

    def __init__(self, workdir: Path, memory: int) -> None:
        self.workdir = workdir
        self.memory = memory
        self._cache: dict = {}

    def __call__(self, lines: list[bytes], seed: int) -> list[bytes]:
        key = hash(tuple(lines))  # by content: a freed list's id could be another list's
        if key not in self._cache:
            path = self.workdir / f"in{len(self._cache)}"
            path.write_bytes(b"".join(lines))
            self._cache[key] = path
        out = self.workdir / "out"
        result = shuffle([str(self._cache[key])], str(out), memory=self.memory, seed=seed)
        if self.memory <= 1 << 20 and len(lines) > 20_000:
            assert not result.in_memory, "test input should spill to bucket files"
        return out.read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory):
    return Ours(tmp_path_factory.mktemp("mem"), 64 << 20)


@pytest.fixture(scope="module")
def two_pass(tmp_path_factory):
    return Ours(tmp_path_factory.mktemp("disk"), 1 << 20)


def positions_p(shuffler, n: int = 8, runs: int = 4000) -> float:
    """Every line equally likely at every position: n x n table of line vs position."""
    lines = [b"%d\n" % i for i in range(n)]
    table = [[0] * n for _ in range(n)]
    index = {line: i for i, line in enumerate(lines)}
    for seed in range(runs):
        for pos, line in enumerate(shuffler(lines, seed)):
            table[index[line]][pos] += 1
    return chi2_table(table)


LARGE = [b"%06d\n" % i for i in range(150_000)]  # 1.05 MB: spills at a 1M budget


def deciles_p(shuffler, runs: int = 3) -> float:
    """Input decile independent of output decile."""
    n = len(LARGE)
    table = [[0] * 10 for _ in range(10)]
    for seed in range(runs):
        for pos, line in enumerate(shuffler(LARGE, 1000 + seed)):
            table[int(line) * 10 // n][pos * 10 // n] += 1
    return chi2_table(table)


def neighbours_p(shuffler, runs: int = 3) -> float:
    """Input neighbours stay neighbours about once per run (Poisson, mean (n-1)/n)."""
    n = len(LARGE)
    kept = 0
    for seed in range(runs):
        out = [int(line) for line in shuffler(LARGE, 2000 + seed)]
        kept += sum(1 for a, b in zip(out, out[1:]) if b == a + 1)
    return poisson_sf(kept, runs * (n - 1) / n)


def duplicates_p(shuffler, runs: int = 200) -> float:
    """500 copies of one line among 2000: spread evenly over 20 output bins, not clustered."""
    lines = [b"dup\n"] * 500 + [b"u%d\n" % i for i in range(1500)]
    bins = [0] * 20
    for seed in range(runs):
        for pos, line in enumerate(shuffler(lines, seed)):
            if line == b"dup\n":
                bins[pos * 20 // len(lines)] += 1
    return chi2_uniform(bins)


def test_positions_uniform(in_memory):
    assert positions_p(in_memory) > ALPHA
    assert positions_p(chunk_local) < ALPHA


def test_deciles_independent(two_pass):
    assert deciles_p(two_pass) > ALPHA
    assert deciles_p(lambda lines, seed: chunk_local(lines, seed, len(lines) // 20)) < ALPHA


def test_neighbours_not_preserved(two_pass):
    assert neighbours_p(two_pass) > ALPHA
    assert neighbours_p(chunk_order) < ALPHA


def test_duplicates_not_clustered(in_memory):
    assert duplicates_p(in_memory) > ALPHA
    assert duplicates_p(content_hash) < ALPHA
    assert duplicates_p(chunk_local) < ALPHA
