"""--weights (issue #14): copies of each input's lines, and a uniform sample of exactly a fraction of them."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from helpers import cli, numbered_lines, parse
from stats import chi2_fit, chi2_table

from shuffle_big import ConfigError, ShuffleConfig, ShuffleError, shuffle
from shuffle_big.core.keys import derive_keys, keys_of, positions_of
from shuffle_big.core.weights import Sample, SampleDraw, Weighting, parse_weights, sample_hashes, sample_size

P_MIN = 1e-4


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two inputs whose lines say which input and line they are: a, then b."""
    d = tmp_path_factory.mktemp("weights")
    a, b = d / "a.txt", d / "b.txt"
    a.write_bytes(b"".join(b"a%d %s\n" % (i, b"x" * (i % 61)) for i in range(120_000)))
    b.write_bytes(b"".join(b"b%d %s\n" % (i, b"y" * (i % 23)) for i in range(60_000)))
    return a, b


def counted(data: bytes) -> Counter:
    return Counter(data.splitlines())


def test_positions_are_recovered_from_keys():
    mix = derive_keys(11)
    positions = np.random.default_rng(0).integers(0, 2**64 - 1, 10_000, dtype=np.uint64, endpoint=True)
    assert (positions_of(keys_of(positions, mix), mix) == positions).all()


@pytest.mark.parametrize("text, weights", [("1", (1,)), ("2.5, 0.1,0", (Fraction(5, 2), Fraction(1, 10), 0)), ("1/3", (Fraction(1, 3),))])
def test_weights_are_read_exactly(text, weights):
    assert parse_weights(text) == weights


@pytest.mark.parametrize("weight, n, taken", [(Fraction(1, 2), 5, 3), (Fraction(5, 2), 5, 3), (Fraction(1, 10), 4, 0), (Fraction(1, 3), 3, 1), (Fraction(99, 100), 1, 1), (Fraction(2), 7, 0)])
def test_a_fraction_takes_its_share_rounded_half_up(weight, n, taken):
    assert sample_size(weight, n) == taken


def test_each_line_is_there_its_weight_of_times_and_the_fraction_exactly(sources, tmp_path):
    a, b = sources
    out = tmp_path / "out.txt"
    result = shuffle([str(a), str(b)], str(out), weights="2.5,0.3", seed=5)
    lines = counted(out.read_bytes())
    a_counts = Counter(n for line, n in lines.items() if line.startswith(b"a"))
    b_counts = Counter(n for line, n in lines.items() if line.startswith(b"b"))
    assert a_counts == {2: 60_000, 3: 60_000}  # every line twice, and half of them a third time
    assert b_counts == {1: 18_000}  # 30% of b, each once
    assert [(i.read, i.weight, i.written) for i in result.inputs] == [(120_000, Fraction(5, 2), 300_000), (60_000, Fraction(3, 10), 18_000)]
    assert result.records == 318_000


@pytest.mark.parametrize("memory, jobs", [(2 << 20, 1), (1 << 20, 1), (12 << 20, 2)])
def test_the_same_bytes_at_any_budget_and_jobs(sources, tmp_path, memory, jobs):
    a, b = sources
    whole = tmp_path / "whole.txt"
    shuffle([str(a), str(b)], str(whole), weights="2.5,0.3", seed=9)
    out = tmp_path / "out.txt"
    result = shuffle([str(a), str(b)], str(out), weights="2.5,0.3", seed=9, memory=memory, jobs=jobs)
    assert not result.in_memory
    assert out.read_bytes() == whole.read_bytes()


def test_the_same_bytes_from_a_pipe_and_compressed(sources, tmp_path):
    a, b = sources
    whole = cli("--seed", 2, "--weights", "1.5,2", a, b, check=True).stdout
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(a.read_bytes(), 1))
    assert cli("--seed", 2, "--weights", "1.5,2", "-m", "2M", gz, "-", input=b.read_bytes(), check=True).stdout == whole


def test_weight_one_is_a_run_without_weights_and_zero_drops_an_input(sources):
    a, b = sources
    plain = cli("--seed", 4, a, b, check=True).stdout
    assert cli("--seed", 4, "--weights", "1,1", a, b, check=True).stdout == plain
    only_a = cli("--seed", 4, "--weights", "1,0", a, b, "--stats", check=True)
    assert counted(only_a.stdout) == counted(a.read_bytes())
    assert f"input '{b}': 60000 lines read, 0 written (weight 0)".encode() in only_a.stderr


def test_a_sample_is_drawn_over_an_operand_not_each_of_its_files(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(3):  # 3 files of 5 lines: a third of each rounds to 2 (6 in all), of all 15 to 5
        (d / f"{i}.txt").write_bytes(b"".join(b"%d-%d\n" % (i, j) for j in range(5)))
    out = cli("--seed", 1, "-R", "--weights", "1/3", d, check=True).stdout
    assert out.count(b"\n") == 5
    listed = tmp_path / "list"
    listed.write_text("".join(f"{d / f'{i}.txt'}\n" for i in range(3)))
    extra = tmp_path / "e.txt"
    extra.write_bytes(b"e\n")
    out = cli("--seed", 1, "--weights", "2,1/3", extra, "--files-from", listed, check=True).stdout
    assert out.count(b"e\n") == 2 and out.count(b"\n") == 7


def test_stats_report_each_input(sources):
    a, b = sources
    report = json.loads(cli("--seed", 1, "--weights", "0.5,2", "--stats=json", a, b, "-o", "/dev/null", check=True).stderr)
    assert report["inputs"] == [
        {"path": str(a), "lines": 120_000, "weight": 0.5, "lines_written": 60_000},
        {"path": str(b), "lines": 60_000, "weight": 2, "lines_written": 120_000},
    ]
    plain = json.loads(cli("--stats=json", a, "-o", "/dev/null", check=True).stderr)
    assert plain["inputs"] == [{"path": str(a), "lines": 120_000, "weight": 1, "lines_written": 120_000}]


def test_with_header_z_split_and_shards(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"id\n" + numbered_lines(30_000))
    whole = cli("--seed", 3, "--header", 1, "--weights", "1.5", src, check=True).stdout
    assert whole.startswith(b"id\n") and whole.count(b"\n") == 1 + 45_000
    cli("--seed", 3, "--header", 1, "--weights", "1.5", "-m", "1M", "-j", 2, "--split", "v=1000,t=rest",
        "--shard-lines", 20_000, "-o", tmp_path / "{split}-{i}.csv.gz", src, "--verify", check=True)
    parts = [gzip.decompress((tmp_path / f"{n}.csv.gz").read_bytes()) for n in ["v-0", "t-0", "t-1", "t-2"]]
    assert all(p.startswith(b"id\n") for p in parts)
    assert b"id\n" + b"".join(p[3:] for p in parts) == whole
    z = src.read_bytes().replace(b"\n", b"\0")
    assert cli("-z", "--seed", 3, "--header", 1, "--weights", "1.5", "-m", "1M", input=z, check=True).stdout == whole.replace(b"\n", b"\0")


@pytest.mark.parametrize("memory", [64 << 20, 1 << 20])
def test_verify_knows_what_the_weights_put_in(sources, tmp_path, monkeypatch, memory):
    a, b = sources
    out = tmp_path / "out.txt"
    shuffle([str(a), str(b)], str(out), weights="1.5,0", seed=1, memory=memory, verify=True)
    monkeypatch.setattr(Sample, "kept", lambda self, keys: np.ones(len(keys), dtype=bool))  # wrong: keeps all
    with pytest.raises(ShuffleError, match="--verify failed"):
        shuffle([str(a), str(b)], str(tmp_path / "bad.txt"), weights="1.5,0", seed=1, memory=memory, verify=True)
    assert not (tmp_path / "bad.txt").exists()


def test_a_long_line_is_copied_too(tmp_path, temp_dir):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(1000) + b"L" * (3 << 20) + b"\n" + numbered_lines(1000))
    whole = cli("--seed", 6, "--weights", "3", src, "-m", "64M", check=True).stdout
    out = cli("--seed", 6, "--weights", "3", src, "-m", "1M", "-T", temp_dir, check=True).stdout
    assert out == whole and out.count(b"L" * (3 << 20) + b"\n") == 3
    assert not any(temp_dir.iterdir())
    sampled = [cli("--seed", s, "--weights", "0.5", src, "-m", "1M", check=True).stdout for s in range(6)]
    assert {s.count(b"\n") for s in sampled} == {1001}
    assert {b"L" * 100 in s for s in sampled} == {True, False}  # the long line is sampled like any other


def test_pass_1_stores_little_more_than_the_sample_and_scatters_again_if_that_was_short(sources, tmp_path, monkeypatch):
    """With workers, a fraction's lines far above where its threshold can fall are not stored (weight
    0.1: ~12% of the lines reach the buckets); a band too narrow (a test's: never by the odds) leaves out
    a line the sample keeps, and pass 1 runs again storing all: the same bytes, verified, header on top."""
    from shuffle_big.core import weights
    from shuffle_big.run import engine

    a, b = sources
    args = {"weights": "0.1,1", "seed": 4, "header": 1, "verify": True}
    whole = tmp_path / "whole.txt"
    shuffle([str(a), str(b)], str(whole), memory=256 << 20, **args)
    stored, scatters = [], []
    settle, scatter = engine.settle, engine.scatter_parallel
    monkeypatch.setattr(engine, "settle", lambda job, found, names: (stored.append(sum(found.records.nbytes)), settle(job, found, names))[1])
    monkeypatch.setattr(engine, "scatter_parallel", lambda *a, **k: (scatters.append(k.get("leave_out", True)), scatter(*a, **k))[1])
    out = tmp_path / "out.txt"
    shuffle([str(a), str(b)], str(out), memory=16 << 20, jobs=2, **args)
    assert out.read_bytes() == whole.read_bytes() and scatters == [True]
    assert stored[0] < 0.15 * a.stat().st_size + b.stat().st_size  # of a, ~12% stored
    monkeypatch.setattr(weights, "BAND_SIGMAS", -3.0)  # below the fraction: short for sure
    stored.clear(), scatters.clear()
    shuffle([str(a), str(b)], str(out), memory=16 << 20, jobs=2, **args)
    assert out.read_bytes() == whole.read_bytes() and scatters == [True, False]


# -- statistics: copies land independently, a fraction's sample is uniform --

def copy_distance_p(positions: list[tuple[int, int]], total: int, bins: int = 20) -> float:
    """Two independent uniform places among ``total`` are ``d`` apart with probability 2(total-d)/(total(total-1))."""
    edges = np.linspace(1, total, bins + 1).astype(int)
    d = np.arange(1, total)
    p = 2 * (total - d) / (total * (total - 1))
    probabilities = [p[(d >= lo) & (d < hi)].sum() for lo, hi in zip(edges, edges[1:])]
    counts = np.histogram([abs(x - y) for x, y in positions], bins=edges)[0]
    return chi2_fit(list(counts), probabilities)


def places_of_copies(out: bytes) -> list[tuple[int, int]]:
    seen: dict[bytes, list[int]] = {}
    for i, line in enumerate(out.splitlines()):
        seen.setdefault(line, []).append(i)
    return [(p[0], p[1]) for p in seen.values()]


def test_copies_of_a_line_land_like_independent_uniform_places(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(20_000))
    out = tmp_path / "out.txt"
    shuffle([str(src)], str(out), weights="2", seed=8, memory=2 << 20)  # out of core
    assert copy_distance_p(places_of_copies(out.read_bytes()), 40_000) > P_MIN
    rng = np.random.default_rng(8)
    first, second = rng.permutation(20_000), rng.permutation(20_000)
    epochs = [(int(a), 20_000 + int(b)) for a, b in zip(np.argsort(first), np.argsort(second))]  # wrong: epoch after epoch
    assert copy_distance_p(epochs, 40_000) < P_MIN
    order = rng.permutation(20_000)
    near = [(2 * int(i), 2 * int(i) + 1) for i in order]  # wrong: a line and its copy side by side
    assert copy_distance_p(near, 40_000) < P_MIN


def sample_p(draw, lines: int = 1000, runs: int = 300) -> tuple[float, float]:
    """Is a sample's membership independent of input position (decile x in/out), and of the next line's?"""
    deciles = [[0, 0] for _ in range(10)]
    pairs = [[0, 0], [0, 0]]
    for seed in range(runs):
        taken = [0] * lines
        for i in draw(lines, seed):
            taken[i] = 1
        for i in range(lines):
            deciles[i * 10 // lines][taken[i]] += 1
        for x, y in zip(taken[:-1], taken[1:]):
            pairs[x][y] += 1
    return chi2_table(deciles), chi2_table(pairs)


def by_shuffle_big(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"%d\n" % i for i in range(1000)))

    def draw(lines, seed):
        out = tmp_path / "out.txt"
        shuffle([str(src)], str(out), weights="0.3", seed=seed)
        taken = [int(v) for v in out.read_bytes().split()]
        assert len(taken) == 300 == len(set(taken))
        return taken
    return draw


def test_a_fraction_samples_uniformly(tmp_path):
    assert min(sample_p(by_shuffle_big(tmp_path))) > P_MIN
    assert sample_p(lambda lines, seed: range(seed % 3, 900, 3))[1] < P_MIN  # wrong: every third line
    assert sample_p(lambda lines, seed: range(seed % 700, seed % 700 + 300))[0] < P_MIN  # wrong: a run of lines


@pytest.mark.parametrize("memory, held, reads", [(1 << 10, 2, 2), (1 << 14, None, 1), (64 << 20, None, 0)])
@pytest.mark.parametrize("weight, want", [(Fraction(1, 3), 1667), (Fraction(1, 100000), 0), (Fraction(9999, 10000), 5000)])
def test_the_threshold_is_exact_however_many_bins_it_takes(memory, held, reads, weight, want):
    """Memory for a few records at a time (many reads), or for them all: the draw keeps exactly its share."""
    weighting = Weighting((weight,), (0,))
    positions = np.arange(0, 5000 * 7, 7, dtype=np.uint64)
    keys = keys_of(positions, derive_keys(3))
    draw = SampleDraw(weighting, 3, [5000], bits=2, memory=memory)
    draw.most_held = held or draw.most_held  # 2: a bin of 256 holds ~20, too many: another read
    done = 0
    while draw.narrowing:
        for chunk in np.array_split(keys, 7):
            draw.count(chunk)
        draw.narrow()
        done += 1
    assert done == reads
    for chunk in np.array_split(keys, 7):
        draw.classify(chunk, np.ones(len(chunk), dtype=np.uint64))
    sample = draw.finish()
    assert isinstance(sample, Sample) and sample.kept(keys).sum() == want == draw.kept_per_input[0]
    assert draw.dropped_records.sum() == 5000 - want == draw.dropped_bytes.sum()
    kept = np.sort(sample_hashes(keys, 3))[:want]  # the smallest sample hashes
    assert set(sample_hashes(keys[sample.kept(keys)], 3).tolist()) == set(kept.tolist())


@pytest.mark.parametrize("args, message", [
    (["--weights", "1,2", "a"], "--weights gives 2 weights for 1 input"),
    (["--weights", "-1", "a"], "'-1' is negative"),
    (["--weights", "x", "a"], "'x' is not a number"),
    (["--weights", "2", "-n", "5", "a"], "cannot be combined with -n"),
    (["--weights", "2", "-r", "a"], "cannot be combined with -r"),
    (["--weights", "2", "-i", "1-5"], "--weights weighs FILE operands"),
    (["--weights", "2", "-e", "a"], "--weights weighs FILE operands"),
])
def test_bad_weights_are_usage_errors_before_any_input_is_read(args, message):
    result = parse(*args)  # "a" does not exist: nothing is read
    assert result.returncode == 1
    assert message in result.stderr.decode()
    assert "Usage:" in result.stderr.decode() or "Try" in result.stderr.decode()


def test_the_library_checks_weights_before_reading(tmp_path):
    with pytest.raises(ConfigError, match="2 weights for 1 input"):
        shuffle([str(tmp_path / "missing")], weights="1,2")
    assert ShuffleConfig(weights="0.5,2").weights == (Fraction(1, 2), 2)
