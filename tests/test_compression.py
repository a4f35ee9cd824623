"""Compressed input (gzip, zstd; by magic number, mixed in one stream) and output (by -o name)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib

import pytest
import zstandard
from helpers import cli, numbered_lines, reference_order


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("z")
    a, b, c = numbered_lines(150_000), numbered_lines(100_000, 20), numbered_lines(120_000)
    plain = d / "a.txt"
    plain.write_bytes(a)
    gz = d / "b.txt.gz"
    gz.write_bytes(gzip.compress(b[:1000]) + gzip.compress(b[1000:]))  # two members, like cat x.gz y.gz
    zst = d / "c.data"  # misnamed: found by its magic number
    zst.write_bytes(zstandard.ZstdCompressor().compress(c))
    return [plain, gz, zst], [a, b, c]


@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("16M", 2)])
def test_mixed_plain_gzip_zstd_inputs_are_one_input(parts, memory, jobs):
    paths, text = parts
    out = cli("-m", memory, "-j", jobs, "--seed", 2, *paths, check=True).stdout
    assert out == reference_order(text, 2)


def test_compressed_stdin(parts):
    _, text = parts
    for blob in (gzip.compress(b"".join(text)), zstandard.ZstdCompressor().compress(b"".join(text))):
        assert cli("-m", "2M", "--seed", 4, input=blob, check=True).stdout == reference_order(b"".join(text), 4)


@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("16M", 2)])
# A .zst output may hold several frames (one per worker's run): read across them, as zstdcat does.
@pytest.mark.parametrize("suffix, decompress", [(".gz", gzip.decompress), (".zst", lambda b: zstandard.ZstdDecompressor().stream_reader(b).read())])
def test_compressed_output_by_name(parts, tmp_path, memory, jobs, suffix, decompress):
    paths, text = parts
    out = tmp_path / f"out.txt{suffix}"
    cli("-m", memory, "-j", jobs, "--seed", 5, "-o", out, paths[0], check=True)
    assert decompress(out.read_bytes()) == reference_order(paths[0].read_bytes(), 5)


def test_compressed_output_of_a_sample_and_zero_terminated(tmp_path):
    out = tmp_path / "s.gz"
    cli("-i", "1-100", "-n", 10, "-z", "--seed", 1, "-o", out, check=True)
    plain = cli("-i", "1-100", "-n", 10, "-z", "--seed", 1, check=True).stdout
    assert gzip.decompress(out.read_bytes()) == plain  # the same records, compressed
    assert plain.count(b"\0") == 10 and b"\n" not in plain


def test_corrupt_gzip_is_a_clear_error_and_leaves_no_output(parts, tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"".join(parts[1]))[:5000])  # truncated
    out = tmp_path / "out.txt"
    proc = cli("-m", "1M", "-T", tmp_path, bad, "-o", out)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"shuffle-big: error reading '{bad}': corrupt compressed data".encode())
    assert proc.stderr.count(b"\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.gz"]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Six shards of ~6 MB once decompressed (plain, gzip, zstd copies; one empty), and their texts."""
    d = tmp_path_factory.mktemp("shards")
    texts = [numbered_lines(300_000 + 20_000 * i, 8)[:6_000_000] for i in range(5)] + [b""]
    paths: dict[str, list] = {"plain": [], "gz": [], "zst": []}
    for i, text in enumerate(texts):
        (d / f"p{i}.txt").write_bytes(text)
        (d / f"p{i}.txt.gz").write_bytes(gzip.compress(text, 1))
        (d / f"p{i}.txt.zst").write_bytes(zstandard.ZstdCompressor(level=1).compress(text))
        paths["plain"].append(d / f"p{i}.txt")
        paths["gz"].append(d / f"p{i}.txt.gz")
        paths["zst"].append(d / f"p{i}.txt.zst")
    return paths, texts


def _stats(*args) -> tuple[bytes, dict]:
    import json

    proc = cli("--stats=json", *args, check=True)
    return proc.stdout, json.loads(proc.stderr)


@pytest.mark.parametrize("kind", ["gz", "zst"])
def test_compressed_shards_are_scattered_by_the_workers(shards, kind):
    """Each worker decompresses whole shards: this process holds none of the data, the output is the plain copy's."""
    paths, texts = shards
    _, idle = _stats("-m", "64M", "-e", "x")  # this process with nothing held
    out, stats = _stats("-j", 2, "-m", "64M", "--seed", 6, *paths[kind])
    assert out == reference_order(texts, 6)
    assert out == cli("-j", 1, "-m", "64M", "--seed", 6, *paths["plain"], check=True).stdout
    assert stats["passes"] == 2 and stats["jobs"] == 2
    # Read here, the 30 MB would fill this process's budget (64M) before spilling: +50 MB or more.
    assert stats["peak_rss"]["parent"] < idle["peak_rss"]["parent"] + (16 << 20)


def test_compressed_and_plain_shards_mixed_with_a_header(shards):
    """A compressed first input gives its --header from the front of its decompressed data, once."""
    paths, texts = shards
    mixed = [paths["gz"][0], paths["plain"][1], paths["zst"][2], paths["plain"][3], paths["gz"][4], paths["zst"][5]]
    for jobs in (1, 2):
        out, stats = _stats("-j", jobs, "-m", "16M", "--seed", 7, "--header", 2, *mixed)
        assert out == reference_order(texts, 7, header=2), f"-j {jobs}"
        assert stats["passes"] >= 2


def test_a_corrupt_shard_among_many_names_itself_and_where_it_broke(shards, tmp_path):
    paths, texts = shards
    bad = tmp_path / "bad.txt.gz"
    blob = gzip.compress(texts[1], 1)
    bad.write_bytes(blob[: len(blob) // 2] + bytes(64) + blob[len(blob) // 2 + 64 :])  # a run of zeros inside
    out = tmp_path / "out.txt"
    for jobs in (1, 2):
        proc = cli("-j", jobs, "-m", "8M", "-T", tmp_path, *paths["zst"][:3], bad, *paths["gz"][3:], "-o", out)
        assert proc.returncode == 1, proc.stderr
        message = proc.stderr.decode()
        assert message.startswith(f"shuffle-big: error reading '{bad}': corrupt compressed data after byte "), message
        assert message.count("\n") == 1
        broke_at = int(message.split("after byte ")[1].split()[0])
        assert 0 < broke_at < len(texts[1])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt.gz"]


def test_balanced_runs_read_every_byte_once_and_compressed_files_whole(tmp_path):
    from shuffle_big.core.keys import input_base
    from shuffle_big.inputs.ranges import balanced_runs

    plain = {1: numbered_lines(3000), 4: numbered_lines(9000)}
    for i, text in plain.items():
        (tmp_path / str(i)).write_bytes(text)
    sizes = [90_000, len(plain[1]), 500_000, 10_000, len(plain[4]), 0]  # compressed ones: as if decompressed
    compressed = [i not in plain for i in range(6)]
    paths = [str(tmp_path / str(i)) for i in range(6)]
    runs = balanced_runs(paths, sizes, compressed, 3)
    assert len(runs) == 3
    segments = [seg for run in runs for seg in run]
    for i in range(6):
        mine = sorted((seg.start, seg.end, seg.base) for seg in segments if seg.path == paths[i] and seg.end != seg.start)
        if compressed[i]:
            assert mine == [(0, None, input_base(i, 6))]  # whole, at its input's position
            continue
        assert mine[0][0] == 0 and mine[-1][1] == sizes[i]
        for (_, end, _), (start, _, _) in zip(mine, mine[1:]):
            assert end == start and plain[i][start - 1 : start] == b"\n"  # no gap, no overlap, at a record start
        assert all(base == input_base(i, 6) + start for start, _, base in mine)
    loads = [sum((seg.end if seg.end is not None else sizes[paths.index(seg.path)]) - seg.start for seg in run) for run in runs]
    assert max(loads) == 500_000  # the largest compressed file alone; the rest share the other two runs
    assert max(loads[1:] if loads[0] == 500_000 else loads[:1]) < 500_000


def _members(blob: bytes, kind: str) -> list[bytes]:
    """The decompressed contents of each gzip member or zstd frame of ``blob``, in order."""
    out = []
    while blob:
        if kind == "gz":
            d = zlib.decompressobj(31)
            out.append(d.decompress(blob))
            blob = d.unused_data
        else:
            size = zstandard.frame_header_size(blob)
            assert size > 0
            d = zstandard.ZstdDecompressor().decompressobj()
            out.append(d.decompress(blob))
            blob = d.unused_data
    return out


@pytest.mark.parametrize("kind", ["gz", "zst"])
@pytest.mark.parametrize("extra", [[], ["--verify"], ["-z"], ["--header", "3"]], ids=" ".join)
def test_workers_compress_their_runs_and_the_file_is_one_stream(shards, tmp_path, kind, extra):
    """Each pass-2 run is a member (frame) compressed by its worker; zcat/zstdcat read the file whole."""
    paths, texts = shards
    out = tmp_path / f"out.txt.{kind}"
    sep = b"\0" if "-z" in extra else b"\n"
    inputs = [t.replace(b"\n", sep) for t in texts]
    for i, text in enumerate(inputs):
        (tmp_path / f"in{i}").write_bytes(text)
    _, stats = _stats("-j", 2, "-m", "16M", "--seed", 8, *extra, *(tmp_path / f"in{i}" for i in range(6)), "-o", out)
    assert stats["passes"] == 2 and stats["jobs"] == 2
    header = int(extra[1]) if extra[:1] == ["--header"] else 0
    expected = reference_order(inputs, 8, sep, header)
    members = _members(out.read_bytes(), kind)
    assert b"".join(members) == expected
    assert len([m for m in members if m]) > 2  # runs compressed apart, not one stream from this process
    tool = {"gz": ["gzip", "-dc"], "zst": ["zstd", "-dcq"]}[kind]
    if shutil.which(tool[0]):
        assert subprocess.run([*tool, str(out)], capture_output=True, check=True).stdout == expected
    reader = gzip.open if kind == "gz" else zstandard.open
    with reader(out, "rb") as f:
        assert f.read() == expected


def test_compress_level_sets_the_size_and_is_checked(shards, tmp_path):
    paths, texts = shards
    sizes = {}
    for level in (1, 9):  # zlib's level 9 runs at ~10 MB/s: two shards are enough
        out = tmp_path / f"l{level}.gz"
        cli("-j", 2, "-m", "8M", "--seed", 2, "--compress-level", level, *paths["plain"][:2], "-o", out, check=True)
        assert gzip.decompress(out.read_bytes()) == reference_order(texts[:2], 2)
        sizes[level] = out.stat().st_size
    assert sizes[9] < sizes[1] * 0.9
    out = tmp_path / "l19.zst"
    cli("--seed", 2, "--compress-level", 19, paths["plain"][0], "-o", out, check=True)
    assert zstandard.ZstdDecompressor().decompressobj().decompress(out.read_bytes()) == reference_order(texts[:1], 2)
    for args, message in [
        (["--compress-level", 10, "-o", tmp_path / "x.gz"], "for gzip output is 1 to 9, not 10"),
        (["--compress-level", 3, "-o", tmp_path / "x.txt"], "needs an output named .gz or .zst"),
        (["--compress-level", 3], "needs an output named .gz or .zst"),
        (["--compress-level", 23, "-o", tmp_path / "x.zst"], "23 is not in the range 1<=x<=22"),
    ]:
        proc = cli(*args, paths["plain"][0])
        assert proc.returncode == 1 and message in proc.stderr.decode(), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l1.gz", "l19.zst", "l9.gz"]


def test_bzip2_and_xz_inputs_are_decompressed_by_their_magic(shards, tmp_path):
    import bz2
    import lzma

    paths, texts = shards
    (tmp_path / "a.data").write_bytes(bz2.compress(texts[0][:500_000]))  # misnamed on purpose
    (tmp_path / "b.txt.xz").write_bytes(lzma.compress(texts[1][:500_000]))
    (tmp_path / "c.bz2").write_bytes(bz2.compress(b""))
    (tmp_path / "d.txt").write_bytes(b"BZh91 is text: no block follows\n")  # bzip2's first 4 bytes, but text
    for jobs, memory in [(1, "64M"), (2, "1M")]:
        out = cli("-j", jobs, "-m", memory, "--seed", 3, *sorted(tmp_path.iterdir()), check=True).stdout
        expected = [texts[0][:500_000], texts[1][:500_000], b"", b"BZh91 is text: no block follows\n"]
        assert out == reference_order(expected, 3), f"-j {jobs} -m {memory}"
    (tmp_path / "e.xz").write_bytes(lzma.compress(texts[2][:100_000])[:-30])  # truncated
    proc = cli("--seed", 3, tmp_path / "e.xz")
    assert proc.returncode == 1 and b"corrupt compressed data" in proc.stderr and proc.stderr.count(b"\n") == 1
