"""--split and --shard-lines (issue #14): the permutation cut into consecutive parts, each a file or shards."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest
import zstandard
from helpers import cli, numbered_lines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stats import chi2_table

from shuffle_big import ConfigError, ShuffleConfig, shuffle
from shuffle_big.errors import ShuffleError
from shuffle_big.outputs.layout import Layout, Split, parse_splits, sharded, split_sizes

P_MIN = 1e-4


def test_splits_are_read_as_written():
    assert parse_splits("valid=10000,test=0.5%,train=rest") == (
        Split("valid", count=10000), Split("test", percent=Fraction(1, 2)), Split("train"))
    assert parse_splits("a=100%") == (Split("a", percent=Fraction(100)),)
    for bad, why in [
        ("a", "not NAME=AMOUNT"), ("=5", "not NAME=AMOUNT"), ("a/b=5", "not NAME=AMOUNT"), ("a=x", "not a line count"),
        ("a=-1", "not a line count"), ("a=101%", "between 0% and 100%"), ("a=x%", "not a percentage"),
        ("a=rest,b=rest", "'rest' may be given once"), ("a=1,a=2", "given twice"), ("a=1²", "not a line count"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_splits(bad)


def test_split_sizes_are_exact():
    splits = parse_splits("valid=10,test=33.3%,train=rest")
    assert split_sizes(splits, 1000) == [10, 333, 657]
    assert split_sizes(splits, 15) == [10, 4, 1]  # 33.3% of 15 is 4.995
    assert split_sizes(parse_splits("a=50%,b=50%"), 7) == [3, 3]  # percentages round down; no rest, one left out
    with pytest.raises(ShuffleError, match="asks for 14 lines in all, more than the 13 there are"):
        split_sizes(splits, 13)


def test_shards_of_a_split():
    assert sharded(10, 3, None) == [3, 3, 4]
    assert sharded(10, None, 4) == [4, 4, 2]
    assert sharded(8, None, 4) == [4, 4]
    assert sharded(0, None, 4) == [0]  # an empty split still has its file
    assert sharded(10, None, None) == [10]
    layout = Layout("d/{split}-{i}.txt", parse_splits("a=3,b=rest"), shard_lines=2)
    assert [(f.path, f.split, f.records) for f in layout.files(8)] == [
        ("d/a-0.txt", "a", 2), ("d/a-1.txt", "a", 1), ("d/b-0.txt", "b", 2), ("d/b-1.txt", "b", 2), ("d/b-2.txt", "b", 1)]


@pytest.mark.parametrize("options, pattern, message", [
    (["--split", "a=1,b=rest"], "out.txt", "--split needs -o to name the files with {split}"),
    (["--split", "a=1,b=rest", "--shard-lines", 5], "{split}.txt", "--shard-lines needs -o to be a directory or a name with {i}"),
    (["--split", "a=1,b=rest", "--shards", 2], "{split}-{i}-{j}.txt", "bad output name pattern"),
])
def test_bad_names_are_said_before_any_input_is_read(tmp_path, options, pattern, message):
    proc = cli(*options, "-o", tmp_path / pattern, tmp_path / "missing-input")
    assert proc.returncode == 1 and message.encode() in proc.stderr and b"missing-input" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--split", "a=5x,b=rest", "-o", "{split}"], b"invalid --split 'a=5x,b=rest': '5x' is not a line count"),
    (["--shards", 2, "--shard-lines", 3, "-o", "{i}"], b"--shards and --shard-lines cannot be combined"),
    (["-r", "--split", "a=1", "-o", "{split}"], b"--split with -r needs -n"),
    (["--split", "a=1"], b"--split needs -o: a name with {split} in it"),
])
def test_option_misuse_is_a_usage_error(tmp_path, args, message):
    proc = cli(*args, "-i", "1-10", cwd=tmp_path)
    assert proc.returncode == 1 and message in proc.stderr and proc.stderr.endswith(b"for more information.\n"), proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_too_many_lines_asked_leaves_nothing(tmp_path):
    proc = cli("--split", "a=60,b=50", "-o", tmp_path / "{split}", "-i", "1-100")
    assert (proc.returncode, proc.stderr) == (1, b"shuffle-big: --split asks for 110 lines in all, more than the 100 there are\n")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("splits") / "in.txt"
    path.write_bytes(b"id,x\n" + numbered_lines(200_000))
    return path


@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("16M", 2)])
def test_splits_and_their_shards_concatenated_are_the_single_output(corpus, tmp_path, memory, jobs):
    single = cli("-m", memory, "-j", jobs, "--seed", 3, corpus, check=True).stdout
    cli("-m", memory, "-j", jobs, "--seed", 3, "--split", "valid=1000,test=2.5%,train=rest", "--shard-lines", 70_000,
        "-o", tmp_path / "{split}-{i}.txt", "--verify", corpus, check=True)
    names = ["valid-0", "test-0", "train-0", "train-1", "train-2"]
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(names)
    parts = [(tmp_path / f"{n}.txt").read_bytes() for n in names]
    assert b"".join(parts) == single
    assert [p.count(b"\n") for p in parts] == [1000, 5000, 70_000, 70_000, 54_001]


def test_each_split_gets_the_header_compressed_by_its_name_and_z(corpus, tmp_path):
    single = cli("--header", 1, "--seed", 4, "-n", 3000, corpus, check=True).stdout
    cli("--header", 1, "--seed", 4, "-n", 3000, "--split", "a=10%,b=rest", "-o", tmp_path / "{split}.csv.gz", corpus, check=True)
    a, b = (gzip.decompress((tmp_path / f"{n}.csv.gz").read_bytes()) for n in "ab")
    assert a.startswith(b"id,x\n") and b.startswith(b"id,x\n") and a.count(b"\n") == 301
    assert a + b[len(b"id,x\n"):] == single
    z = corpus.read_bytes().replace(b"\n", b"\0")
    cli("-z", "--seed", 4, "--split", "a=7,b=rest", "-o", tmp_path / "{split}.z", input=z, check=True)
    assert (tmp_path / "a.z").read_bytes().count(b"\0") == 7
    assert (tmp_path / "a.z").read_bytes() + (tmp_path / "b.z").read_bytes() == cli("-z", "--seed", 4, input=z, check=True).stdout


def membership_p(place, lines: int = 1000, runs: int = 300) -> float:
    """Which split a line lands in is independent of where it was in the input (input decile x split)."""
    table = [[0] * 3 for _ in range(10)]
    for seed in range(runs):
        for split, members in enumerate(place(lines, seed)):
            for line in members:
                table[line * 10 // lines][split] += 1
    return chi2_table(table)


def by_shuffle_big(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"".join(b"%d\n" % i for i in range(1000)))

    def place(lines, seed):
        shuffle([str(src)], str(tmp_path / "{split}"), seed=seed, splits="a=20%,b=30%,c=rest")
        return [[int(v) for v in (tmp_path / n).read_bytes().split()] for n in "abc"]
    return place


def by_input_order(lines, seed):
    """Wrong: the first 20% of the input to a, the next 30% to b (each part shuffled within)."""
    return [list(range(0, 200)), list(range(200, 500)), list(range(500, 1000))]


def test_split_membership_is_independent_of_input_position(tmp_path):
    assert membership_p(by_shuffle_big(tmp_path)) > P_MIN
    assert membership_p(by_input_order) < P_MIN


def test_the_library_takes_splits_as_the_command_writes_them():
    assert ShuffleConfig(splits="a=1,b=rest").splits == (Split("a", count=1), Split("b"))
    with pytest.raises(ConfigError, match="--split 'a': 'a' is not NAME=AMOUNT"):
        ShuffleConfig(splits="a")


def test_workers_write_the_files_in_pieces_the_parent_only_appends(corpus, tmp_path, monkeypatch):
    """With -j 2, pass-2 workers cut their runs at the files' edges and compress each piece by its file's
    name; the parent appends pieces as they are (in the kernel), never cutting or compressing records."""
    from shuffle_big.outputs import shards

    pieces: list[tuple[int, int]] = []
    append_piece = shards.ShardedOutput.append_piece
    monkeypatch.setattr(shards.ShardedOutput, "append_piece", lambda self, f, p, n, start=None: (pieces.append((f, n)), append_piece(self, f, p, n, start)))
    monkeypatch.setattr(shards.ShardedOutput, "write", lambda self, data, ends=None: pytest.fail("the parent cut records"))
    shuffle([str(corpus)], str(tmp_path / "{split}-{i}.gz"), memory=16 << 20, jobs=2, seed=5, splits="a=1000,b=rest",
            shard_lines=60_000, verify=True)
    assert sorted({f for f, _ in pieces}) == list(range(5)) and len(pieces) > 5  # files of several pieces
    got = b"".join(gzip.decompress((tmp_path / name).read_bytes()) for name in ["a-0.gz", "b-0.gz", "b-1.gz", "b-2.gz", "b-3.gz"])
    assert got == cli("--seed", 5, corpus, check=True).stdout


@pytest.mark.parametrize("suffix, more", [("", []), (".gz", []), (".zst", ["--verify"]), ("", ["-z"])])
def test_workers_cut_sized_shards_the_parent_only_appends(corpus, tmp_path, monkeypatch, suffix, more):
    """--shard-size with -j 2: the parent learns each run's lengths and says where its files begin; plain
    files take ranges of the run in the kernel, others pieces a worker writes in their form. The parent
    never handles a record; the files are those cut in one process."""
    from shuffle_big.outputs import shards

    ranges: list[int | None] = []
    append_piece = shards.ShardedOutput.append_piece
    monkeypatch.setattr(shards.ShardedOutput, "append_piece", lambda self, f, p, n, start=None: (ranges.append(start), append_piece(self, f, p, n, start)))
    monkeypatch.setattr(shards.ShardedOutput, "write", lambda self, data, ends=None: pytest.fail("the parent cut records"))
    sep = b"\0" if "-z" in more else b"\n"
    if sep == b"\0":
        corpus = tmp_path / "in.z"
        corpus.write_bytes(numbered_lines(200_000).replace(b"\n", b"\0"))
    options = {"splits": "a=1000,b=rest", "shard_size": 700_000, "verify": "--verify" in more, "sep": sep, "seed": 5}
    shuffle([str(corpus)], str(tmp_path / ("{split}-{i}" + suffix)), memory=16 << 20, jobs=2, **options)
    assert ranges and all((start is None) == bool(suffix or more) for start in ranges)
    monkeypatch.undo()
    alone = tmp_path / "alone"
    alone.mkdir()
    shuffle([str(corpus)], str(alone / ("{split}-{i}" + suffix)), memory=256 << 20, jobs=1, **options)
    names = sorted(p.name for p in alone.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir() if p.is_file() and p != corpus) and len(names) > 3
    read = {"": lambda b: b, ".gz": gzip.decompress, ".zst": lambda b: zstandard.ZstdDecompressor().stream_reader(b, read_across_frames=True).read()}[suffix]
    assert all(read((tmp_path / n).read_bytes()) == read((alone / n).read_bytes()) for n in names)


@pytest.mark.skipif(not shutil.which("split"), reason="needs coreutils' split to compare with")
@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("16M", 2)])
def test_sized_shards_are_what_split_c_makes_of_each_split(corpus, tmp_path, memory, jobs):
    out = tmp_path / "ours"
    out.mkdir()
    cli("-m", memory, "-j", jobs, "--seed", 6, "--split", "a=5000,b=rest", "--shard-size", "100K",
        "-o", out / "{split}-{i:03d}", "--verify", corpus, check=True)
    single = cli("--seed", 6, corpus, check=True).stdout.splitlines(keepends=True)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for name, lines in (("a", single[:5000]), ("b", single[5000:])):
        subprocess.run(["split", "-C", "100K", "-a", "3", "-d", "-", str(theirs / f"{name}-")], input=b"".join(lines), check=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in theirs.iterdir())
    assert all((out / p.name).read_bytes() == p.read_bytes() for p in theirs.iterdir())


def test_a_line_longer_than_a_shard_has_one_of_its_own_on_every_budget(tmp_path):
    """At -m 1M the 3 MB line reaches the output in pieces (held aside until its length is known); at 64M
    whole: the files are the same."""
    src = tmp_path / "in.txt"
    src.write_bytes(b"h\n" + numbered_lines(50_000) + b"L" * (3 << 20) + b"\n" + numbered_lines(50_000))
    got = []
    for memory in ("64M", "1M"):
        out = tmp_path / memory
        out.mkdir()
        cli("-m", memory, "--seed", 2, "--header", 1, "--shard-size", "2M", "-o", out / "{i}.gz", src, check=True)
        files = sorted(out.iterdir(), key=lambda p: int(p.name.split(".")[0]))
        got.append([gzip.decompress(p.read_bytes()) for p in files])
    assert got[0] == got[1]
    assert all(f.startswith(b"h\n") for f in got[0])
    sizes = [len(f) - 2 for f in got[0]]
    assert sizes.count(3 << 20 | 1) == 1 and all(s <= 2 << 20 for s in sizes if s != (3 << 20 | 1))
    assert b"".join(f[2:] for f in got[0]) == cli("--seed", 2, "--header", 1, src, check=True).stdout[2:]


def greedy_files(records: list[bytes], parts: list[int], size: int) -> list[bytes]:
    """The reference: each split's records into files of at most ``size`` bytes, each filled before the next."""
    files: list[bytes] = []
    at = 0
    for count in parts:
        current: list[bytes] = []
        filled = 0
        for record in records[at : at + count]:
            if current and filled + len(record) > size:
                files.append(b"".join(current))
                current, filled = [], 0
            current.append(record)
            filled += len(record)
        files.append(b"".join(current))
        at += count
    return files


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lengths=st.lists(st.integers(0, 90), max_size=60), cuts=st.lists(st.integers(0, 3000), max_size=40),
    first=st.integers(0, 60), size=st.integers(1, 120),
)
@example(lengths=[3, 3], cuts=[7], first=0, size=10)  # a record completed across writes fills a file exactly
def test_sized_shards_cut_the_same_however_the_records_arrive(tmp_path, monkeypatch, lengths, cuts, first, size):
    """Records cut anywhere across writes (a run copied in chunks, a long record in pieces, held in memory
    or, past PARTIAL_IN_MEMORY, in a file) land in the files a greedy fill of whole records makes."""
    from shuffle_big.outputs import sized_shards

    monkeypatch.setattr(sized_shards, "PARTIAL_IN_MEMORY", 40)
    records = [b"%d" % i + b"x" * n + b"\n" for i, n in enumerate(lengths)]
    stream = b"".join(records)
    parts = [min(first, len(records)), len(records) - min(first, len(records))]
    out = tmp_path / f"t{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    sink = sized_shards.SizedShards(Layout(str(out / "{split}-{i:03d}"), parse_splits(f"a={parts[0]},b=rest"), shard_size=size))
    with sink:
        sink.expect(len(records))
        at = 0
        for cut in sorted(c for c in cuts if c < len(stream)) + [len(stream)]:
            sink.write(stream[at:cut])
            at = cut
    got = [p.read_bytes() for p in sorted(out.iterdir(), key=lambda p: (p.name[0], int(p.name[2:])))]
    assert got == greedy_files(records, parts, size)


@settings(max_examples=300, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 90), max_size=60), chunks=st.lists(st.integers(0, 60), max_size=10),
    first=st.integers(0, 60), size=st.integers(1, 120),
)
def test_size_cuts_from_lengths_in_chunks_are_the_greedy_files(lengths, chunks, first, size):
    """What a worker's run is cut by: its records' lengths, read a chunk at a time, give the files the
    greedy fill makes, whatever the chunks."""
    from shuffle_big.outputs.sized_shards import SizeCuts

    records = [b"x" * (n - 1) + b"\n" for n in lengths]
    parts = [min(first, len(records)), len(records) - min(first, len(records))]
    cutter = SizeCuts(Layout("{split}-{i}", parse_splits(f"a={parts[0]},b=rest"), shard_size=size), len(records))
    at, counts, sizes = 0, {}, {}
    for cut in sorted(c for c in chunks if c < len(lengths)) + [len(lengths)]:
        for file, n, nbytes in cutter.take(np.array(lengths[at:cut], dtype=np.uint64)):
            counts[file] = counts.get(file, 0) + n
            sizes[file] = sizes.get(file, 0) + nbytes
        at = cut
    cutter.finish()
    expected = greedy_files(records, parts, size)
    assert [f.records for f in cutter.files] == [f.count(b"\n") for f in expected]
    assert [counts.get(i, 0) for i in range(len(cutter.files))] == [f.records for f in cutter.files]
    assert [sizes.get(i, 0) for i in range(len(cutter.files))] == [len(f) for f in expected]
