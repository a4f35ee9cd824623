"""-n N: the first N lines of the permutation, in one pass, identical to `| head -n N`."""

from __future__ import annotations

import shutil

import pytest
from helpers import cli, numbered_lines, parse, records, reference_order


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    parts = [numbered_lines(20_000), b"LONG" + b"z" * 300_000 + b"\n", numbered_lines(20_000), b"no newline"]
    path = tmp_path_factory.mktemp("head") / "in.txt"
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize(
    "n, memory",
    [(0, "2M"), (1, "2M"), (7, "2M"), (1000, "2M"), (1, "64M"), (1000, "64M"), (40_001, "64M"), (40_002, "64M"), (100_000, "64M")],
)
def test_head_is_the_start_of_the_full_permutation(corpus, tmp_path, n, memory):
    full = reference_order(corpus.read_bytes(), 5)
    proc = cli("-n", n, "-m", memory, "--seed", 5, "-T", tmp_path / "missing", corpus, check=True)
    expected = b"".join(full.splitlines(keepends=True)[:n])
    assert proc.stdout == expected  # and no temp dir was needed: one pass in memory


def test_head_from_stdin_and_to_a_file(corpus, tmp_path):
    data = corpus.read_bytes()
    out = tmp_path / "sample.txt"
    cli("-n", 50, "--seed", 9, "-o", out, input=data, check=True)
    assert out.read_bytes() == b"".join(reference_order(data, 9).splitlines(keepends=True)[:50])


def test_head_too_big_for_memory_is_a_clear_error(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(200_000, width=30))
    proc = cli("-n", 150_000, "-m", "1M", src)
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"shuffle-big: -n 150000: the 150000 lines do not fit in --memory 1.0M")
    assert proc.stderr.count(b"\n") == 1


def test_negative_head_is_a_usage_error():
    proc = parse("-n", "-3", input=b"a\n")
    assert proc.returncode == 1 and b"shuffle-big: invalid line count: '-3'\n" in proc.stderr


@pytest.mark.skipif(not shutil.which("shuf"), reason="GNU shuf not installed")
@pytest.mark.parametrize("n", [0, 3, 10, 1000])
def test_head_counts_match_gnu_shuf(tmp_path, n):
    import subprocess

    src = tmp_path / "in"
    src.write_bytes(numbered_lines(500))
    ours = cli("-n", n, src, check=True).stdout
    theirs = subprocess.run(["shuf", "-n", str(n), str(src)], capture_output=True, check=True).stdout
    assert len(ours.splitlines()) == len(theirs.splitlines())
    assert set(ours.splitlines()) <= set(src.read_bytes().splitlines())
    assert len(set(ours.splitlines())) == len(ours.splitlines())  # a sample without replacement: no line twice


@pytest.mark.parametrize("extra", [{}, {"header": 2}, {"sep": b"\0"}], ids=["plain", "header", "-z"])
def test_head_over_many_files_is_read_by_workers(tmp_path, monkeypatch, extra):
    """Each worker keeps the n smallest keys of its files; the first n of their union are the permutation's."""
    import gzip

    import zstandard

    import shuffle_big
    from shuffle_big.modes import head as head_mode

    sep = extra.get("sep", b"\n")
    texts = [numbered_lines(20_000 + 5_000 * i, 3).replace(b"\n", sep) for i in range(5)]
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"in{i}"
        path.write_bytes(gzip.compress(text, 1) if i % 2 else zstandard.ZstdCompressor().compress(text) if i % 3 else text)
        paths.append(str(path))
    monkeypatch.setattr(head_mode, "WORKERS_FROM_BYTES", 0)  # else only inputs over 256 MB go to workers
    used = []
    real = head_mode._head_by_workers
    monkeypatch.setattr(head_mode, "_head_by_workers", lambda *a: used.append(a) or real(*a))
    full = reference_order(texts, 5, sep, extra.get("header", 0))
    for n in (0, 1, 1000, 10**6):
        out = tmp_path / "out"
        result = shuffle_big.shuffle(paths, str(out), jobs=2, memory=64 << 20, seed=5, head=n, **extra)
        top = b"".join(records(full, sep)[: extra.get("header", 0) + n])
        assert out.read_bytes() == top, n
        read_all = n or extra.get("header")  # -n 0 reads nothing (as shuf), unless a header is asked for
        assert result.records == (len(records(full, sep)) - extra.get("header", 0) if read_all else 0)
    # n 1 and 1000 (10**6 candidates do not fit a worker); n 0 too with a header, else it opens no input
    assert len(used) == (3 if extra.get("header") else 2)
