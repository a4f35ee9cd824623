"""The memory budget is a promise: peak RSS of the real command <= budget + interpreter baseline.

Peak RSS comes from the kernel (``wait4`` rusage of each child), on inputs
20x the budget, for long and for 20-byte lines (where Python's per-object
overhead is worst), from a file and from a pipe.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT

from shuffle_big.core.range_order import SMALL_RANGE

TRACKER = 12 << 20
BUDGET = 16 << 20  # small enough for many buckets, large enough that the ~3 MB of code pages a run touches beyond the idle baseline do not dominate


def peak_rss(args: list, stdin=subprocess.DEVNULL, tree: bool = False) -> int:
    """Run the command; return its peak RSS in bytes (kernel rusage, via scripts/peak_rss.py).

    ``tree``: the sampled peak of all its processes together instead.
    """
    proc = subprocess.run(
        [sys.executable, ROOT / "scripts" / "peak_rss.py", sys.executable, "-m", "shuffle_big", *map(str, args)],
        stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert proc.returncode == 0, proc.stderr
    key = b"peak_tree_kib=" if tree else b"peak_rss_kib="
    return int(proc.stderr.rsplit(key, 1)[1].split()[0]) * 1024


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> int:
    """The interpreter with every module imported and its kernels' code loaded, holding no data.

    That is a run on a one-line input: Arrow maps the code pages of its
    kernels on first use (~12 MB of shared library, counted in RSS), the
    same in a run of one line as in one of a billion.
    """
    one = tmp_path_factory.mktemp("baseline") / "one.txt"
    one.write_bytes(b"a\n")
    return peak_rss(["-m", "16M", one])


_corpora: dict = {}


def corpus(tmp_path_factory, shape: str, size: int):
    if (shape, size) in _corpora:
        return _corpora[shape, size]
    path = tmp_path_factory.mktemp("rss") / f"{shape}.txt"
    _corpora[shape, size] = path
    subprocess.run([sys.executable, ROOT / "scripts" / "make_corpus.py", "--size", str(size), "--shape", shape, path], check=True)
    return path


@pytest.mark.parametrize("shape", ["short", "text"])
def test_peak_rss_within_budget_on_20x_input(tmp_path_factory, baseline, shape):
    src = corpus(tmp_path_factory, shape, 20 * BUDGET)
    rss = peak_rss(["-j", 1, "-m", BUDGET, "--seed", 1, src])
    print(f"{shape}: baseline {baseline >> 20} MB, peak {rss >> 20} MB, over baseline {(rss - baseline) / 2**20:.1f} MB")
    assert rss - baseline <= BUDGET


def test_peak_rss_within_budget_from_a_pipe(tmp_path_factory, baseline):
    src = corpus(tmp_path_factory, "text", 20 * BUDGET)
    with open(src, "rb") as f:
        rss = peak_rss(["-j", 1, "-m", BUDGET], stdin=f)
    assert rss - baseline <= BUDGET


def test_peak_rss_in_memory_path(tmp_path_factory, baseline):
    budget = 64 << 20
    src = corpus(tmp_path_factory, "text", 24 << 20)  # fits: ordered in memory
    rss = peak_rss(["-j", 1, "-m", budget, src])
    assert rss - baseline <= budget


@pytest.mark.parametrize("stdin", [False, True])
def test_workers_share_the_budget(tmp_path_factory, baseline, stdin):
    """-j 2: all processes together stay within the budget plus one baseline per process.

    The processes: the parent, two workers, and multiprocessing's resource
    tracker (a bare interpreter, counted as TRACKER).
    """
    src = corpus(tmp_path_factory, "short", 20 * BUDGET)
    with open(src, "rb") as f:
        args = ["-j", 2, "-m", BUDGET] + ([] if stdin else [src])
        rss = peak_rss(args, stdin=f if stdin else subprocess.DEVNULL, tree=True)
    print(f"-j 2 {'stdin' if stdin else 'file'}: all processes {rss >> 20} MB, 3 baselines + tracker {(3 * baseline + TRACKER) >> 20} MB")
    assert rss - 3 * baseline - TRACKER <= BUDGET


@pytest.mark.slow
@pytest.mark.parametrize("case", ["one-100MB-line", "10M-empty-lines"])
def test_extreme_line_mixes_within_budget(tmp_path, baseline, case):
    """The issue's extremes: a single 100 MB line, and 10 million empty lines, at a 16M budget."""
    src = tmp_path / "in.txt"
    src.write_bytes(b"x" * (100 << 20) + b"\n" if case == "one-100MB-line" else b"\n" * 10_000_000)
    out = tmp_path / "out.txt"
    for jobs in (1, 2):
        rss = peak_rss(["-m", "16M", "-j", jobs, "-T", tmp_path, src, "-o", out], tree=jobs > 1)
        assert out.read_bytes() == src.read_bytes()  # the only permutation there is
        # -j 2: the parent, two workers and the resource tracker
        assert rss <= BUDGET + (baseline if jobs == 1 else 3 * baseline + TRACKER), (jobs, rss >> 20)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, output, gzip_input",
    [
        (["-r", "-n", "200000"], "out", False),
        (["--shards", "3"], "out{i}", False),
        ([], "out.gz", False),
        (["--verify"], "out", False),
        (["--header", "1"], "out", False),
        ([], "out", True),
        (["--split", "a=1%,b=rest", "--shard-lines", "2000000"], "{split}-{i}.gz", False),
        (["--split", "a=1%,b=rest", "--shard-size", "64M"], "{split}-{i}", False),
        (["--weights", "2.5"], "out", False),
        (["--weights", "0.3", "--verify", "--manifest", "m.json"], "out.zst", False),
    ],
    ids=["repeat", "shards", "gz-output", "verify", "header", "gz-input", "split-lines-gz", "split-size", "weights",
         "sample-verify-manifest"],
)
def test_features_keep_the_budget(tmp_path_factory, tmp_path, baseline, args, output, gzip_input):
    """Each option of issue #4 on a 20x input of 20-byte lines, at 16M, one process."""
    src = corpus(tmp_path_factory, "short", 20 * BUDGET)
    if gzip_input:
        packed = tmp_path / "in.gz"
        subprocess.run(f"gzip -1 -c '{src}' > '{packed}'", shell=True, check=True)
        src = packed
    args = [tmp_path / a if a == "m.json" else a for a in args]
    if "--verify" in args:  # its hasher, polars, is loaded only then: ~35 MB of code in the baseline
        one = tmp_path / "one.txt"
        one.write_bytes(b"a\n")
        baseline = peak_rss(["-m", "16M", "--verify", one])
    rss = peak_rss(["-j", 1, "-m", BUDGET, "-T", tmp_path, *args, src, "-o", tmp_path / output])
    print(f"{args} -o {output}: over baseline {(rss - baseline) / 2**20:.1f} MB")
    assert rss - baseline <= BUDGET


def test_an_input_range_streams_in_constant_memory(tmp_path):
    """-i computes its order (core/range_order.py): 5 M numbers (39 MB of text) at -m 1M, to a file and to shards.

    Its baseline is a range just big enough for the Feistel network: Arrow's cast and
    join kernels, which format the numbers, map ~6 MB of code pages a file's run never touches.
    """
    for args in (["-o", tmp_path / "out"], ["--shards", 2, "-o", tmp_path / "s{i}"]):
        baseline = peak_rss(["-m", "1M", "-i", f"1-{SMALL_RANGE + 1}", *args])
        rss = peak_rss(["-m", "1M", "-i", "1-5000000", *args])
        assert rss <= baseline + (1 << 20), (args, (rss - baseline) >> 10)
