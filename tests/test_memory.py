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

BUDGET = 16 << 20  # small enough for many buckets, large enough that the ~3 MB of code pages a run touches beyond the idle baseline do not dominate


def peak_rss(args: list, stdin=subprocess.DEVNULL) -> int:
    """Run the command and return its peak RSS in bytes (kernel rusage, via scripts/peak_rss.py)."""
    proc = subprocess.run(
        [sys.executable, ROOT / "scripts" / "peak_rss.py", sys.executable, "-m", "shuffle_big", *map(str, args)],
        stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.rsplit(b"peak_rss_kib=", 1)[1]) * 1024


@pytest.fixture(scope="module")
def baseline() -> int:
    """The interpreter with every module imported, doing no work."""
    return peak_rss(["-m", "16M"])


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
    rss = peak_rss(["-m", BUDGET, "--seed", 1, src])
    print(f"{shape}: baseline {baseline >> 20} MB, peak {rss >> 20} MB, over baseline {(rss - baseline) / 2**20:.1f} MB")
    assert rss - baseline <= BUDGET


def test_peak_rss_within_budget_from_a_pipe(tmp_path_factory, baseline):
    src = corpus(tmp_path_factory, "text", 20 * BUDGET)
    with open(src, "rb") as f:
        rss = peak_rss(["-m", BUDGET], stdin=f)
    assert rss - baseline <= BUDGET


def test_peak_rss_in_memory_path(tmp_path_factory, baseline):
    budget = 64 << 20
    src = corpus(tmp_path_factory, "text", 24 << 20)  # fits: ordered in memory
    rss = peak_rss(["-m", budget, src])
    assert rss - baseline <= budget
