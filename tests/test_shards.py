"""--shards N: the output cut into N files of near-equal line count, identical to the single output."""

from __future__ import annotations

import gzip
import os
import stat
import threading

import pytest
from helpers import cli, numbered_lines

from shuffle_big.errors import ShuffleError
from shuffle_big.outputs.layout import Layout, shard_sizes
from shuffle_big.outputs.shards import ShardedOutput


def test_shard_sizes_are_near_equal_and_add_up():
    for records in (0, 1, 5, 7, 100, 10**6 + 3):
        for count in (1, 2, 3, 7, 10):
            sizes = shard_sizes(records, count)
            assert sum(sizes) == records and max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes)


def test_shard_paths(tmp_path):
    assert [f.path for f in Layout("out-{i:03d}.txt", shards=2).files(5)] == ["out-000.txt", "out-001.txt"]
    assert [f.path for f in Layout(str(tmp_path), shards=1).files(5)] == [str(tmp_path / "part-00000")]
    for bad in ("out.txt", "out-{j}.txt", "out-{i:x!}.txt"):
        with pytest.raises(ShuffleError):
            Layout(bad, shards=2)
    with pytest.raises(ShuffleError, match="gives the same name twice"):
        Layout("out-{i!s:.1}.txt", shards=11).files(50)  # shards 1 and 10 are both out-1.txt


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("shards") / "in.txt"
    path.write_bytes(b"id,x\n" + numbered_lines(300_001) + b"L" * 2_000_000 + b"\n")
    return path


@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("16M", 2)])
def test_shards_concatenated_are_the_single_output(corpus, tmp_path, memory, jobs):
    single = cli("-m", memory, "-j", jobs, "--seed", 3, corpus, check=True).stdout
    cli("-m", memory, "-j", jobs, "--seed", 3, "--shards", 7, "-o", tmp_path / "s-{i}.txt", "--verify", corpus, check=True)
    shards = [(tmp_path / f"s-{i}.txt").read_bytes() for i in range(7)]
    assert b"".join(shards) == single
    counts = [s.count(b"\n") for s in shards]
    assert sum(counts) == 300_003 and max(counts) - min(counts) <= 1


def test_each_shard_gets_the_header_and_is_compressed_by_its_name(corpus, tmp_path):
    single = cli("--header", 1, "--seed", 4, corpus, check=True).stdout
    cli("--header", 1, "--seed", 4, "--shards", 3, "-o", tmp_path / "p{i}.csv.gz", corpus, check=True)
    shards = [gzip.decompress((tmp_path / f"p{i}.csv.gz").read_bytes()) for i in range(3)]
    assert all(s.startswith(b"id,x\n") for s in shards)
    assert b"id,x\n" + b"".join(s[len(b"id,x\n"):] for s in shards) == single


def test_directory_output_with_more_shards_than_lines_and_a_sample(tmp_path):
    cli("-i", "1-3", "--shards", 5, "-o", tmp_path, check=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"part-{i:05d}" for i in range(5)]
    assert [len((tmp_path / n).read_bytes().splitlines()) for n in names] == [0, 0, 1, 1, 1]
    out = tmp_path / "n"
    out.mkdir()
    cli("-i", "1-1000", "-n", 10, "--seed", 2, "--shards", 2, "-o", out, check=True)
    head = cli("-i", "1-1000", "-n", 10, "--seed", 2, check=True).stdout
    assert (out / "part-00000").read_bytes() + (out / "part-00001").read_bytes() == head


@pytest.mark.parametrize("args, message", [
    (["--shards", 2], b"--shards needs -o"),
    (["--shards", 2, "-o", "plain.txt"], b"with {i} in it"),
    (["--shards", 2, "-o", "missing/out-{i}.txt"], b"cannot create 'missing/out-0.txt': No such file or directory"),
])
def test_bad_shard_outputs_fail_before_any_work(tmp_path, args, message):
    proc = cli(*args, "-i", "1-10", cwd=tmp_path)
    assert proc.returncode == 1 and message in proc.stderr and proc.stderr.count(b"\n") <= 2  # a usage error: and "Try ..."
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_no_shard_behind(tmp_path):
    with pytest.raises(RuntimeError):
        with ShardedOutput(Layout(str(tmp_path / "s{i}"), shards=3)) as out:
            out.expect(6)
            out.write(b"1\n2\n3\n4\n5\n")  # two shards done, the third begun
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


def test_shards_into_fifos_are_written_in_place(tmp_path):
    fifos = [tmp_path / f"f{i}" for i in range(2)]
    got: dict[int, bytes] = {}
    readers = []
    for i, fifo in enumerate(fifos):
        os.mkfifo(fifo)
        readers.append(threading.Thread(target=lambda i=i, fifo=fifo: got.__setitem__(i, fifo.read_bytes())))
        readers[-1].start()
    cli("-i", "1-1000", "--seed", 1, "--shards", 2, "-o", tmp_path / "f{i}", check=True)
    for r in readers:
        r.join(timeout=30)
    assert got[0] + got[1] == cli("-i", "1-1000", "--seed", 1, check=True).stdout
    assert all(stat.S_ISFIFO(os.lstat(f).st_mode) for f in fifos)
