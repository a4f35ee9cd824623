"""A zstd file cut at its frames: found from headers alone, read in parts by workers, the same records."""

from __future__ import annotations

import os

import pytest
import zstandard
from helpers import cli, numbered_lines, read_records, reference_order
from hypothesis import given, settings
from hypothesis import strategies as st

from shuffle_big.inputs.ranges import balanced_runs
from shuffle_big.inputs.reader import RecordReader
from shuffle_big.inputs.zstd_frames import Frame, zstd_frames


def framed(pieces: list[bytes], level: int = 1, checksum: bool = True) -> bytes:
    """``pieces`` as one zstd frame each, every frame stating its content size."""
    compressor = zstandard.ZstdCompressor(level=level, write_checksum=checksum)
    return b"".join(compressor.compress(p) for p in pieces)


def skippable(payload: bytes) -> bytes:
    return (0x184D2A5E).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


def test_frames_are_found_from_their_headers(tmp_path):
    # compressed, raw (random bytes) and RLE (one byte repeated) blocks; an empty frame; metadata between
    pieces = [numbered_lines(40_000), os.urandom(300_000), b"a" * 500_000, b"", numbered_lines(10)]
    blobs = [framed([p], checksum=i % 2 == 0) for i, p in enumerate(pieces)]
    path = tmp_path / "f.zst"
    path.write_bytes(blobs[0] + skippable(b"meta") + b"".join(blobs[1:]) + skippable(b""))
    at, start, expected = 0, 0, []
    for i, (piece, blob) in enumerate(zip(pieces, blobs)):
        expected.append(Frame(at, start, len(piece)))
        at += len(blob) + (12 if i == 0 else 0)
        start += len(piece)
    assert zstd_frames(str(path)) == expected


@pytest.mark.parametrize("case", ["no content size", "truncated", "not zstd", "trailing garbage", "empty file"])
def test_a_file_that_cannot_be_cut_is_said_so(tmp_path, case):
    text = numbered_lines(20_000)
    stream = zstandard.ZstdCompressor().compressobj()  # a streamed frame does not know its size
    blob = {
        "no content size": framed([text]) + stream.compress(text) + stream.flush(),
        "truncated": framed([text, text])[:-10],
        "not zstd": text,
        "trailing garbage": framed([text, text]) + b"\0\0\0\0\0",
        "empty file": b"",
    }[case]
    path = tmp_path / "f"
    path.write_bytes(blob)
    assert zstd_frames(str(path)) == ([] if case == "empty file" else None)


@settings(max_examples=150, deadline=None)
@given(
    recs=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=40),
    terminated=st.booleans(), cuts=st.lists(st.integers(0, 1200), max_size=12), parts=st.integers(2, 5),
    header=st.integers(0, 2), block=st.integers(1, 48), long=st.integers(1, 48),
)
def test_frame_cut_runs_hold_every_record_once_at_its_position(
    tmp_path_factory, recs, terminated, cuts, parts, header, block, long,
):
    """Frames cut anywhere (mid-record, at a newline, empty, inside the header); every run read on its own."""
    data = b"\n".join(recs) + (b"\n" if terminated else b"")
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    path = tmp_path_factory.mktemp("z") / "in.zst"
    path.write_bytes(framed([data[a:b] for a, b in zip(bounds, bounds[1:])]))
    frames = zstd_frames(str(path))
    assert frames is not None
    kw = dict(block_size=block, long_threshold=long)
    whole = RecordReader([str(path)], header=header, **kw)
    expected = read_records(whole)
    runs = balanced_runs([str(path)], [len(data)], [True], parts, start=len(whole.header), frames=[frames])
    got = sorted(rec for run in runs for rec in read_records(RecordReader(run, **kw)))
    assert got == expected


def test_a_run_is_cut_at_frames_and_starts_decoding_at_the_frame_before(tmp_path):
    text = numbered_lines(50_000)
    pieces = [text[i : i + 100_001] for i in range(0, len(text), 100_001)]  # frames end mid-record
    path = tmp_path / "in.zst"
    path.write_bytes(framed(pieces))
    frames = zstd_frames(str(path))
    assert frames is not None
    runs = balanced_runs([str(path)], [len(text)], [True], 2, frames=[frames])
    (first,), (second,) = runs
    assert first.start == 0 and first.frame == (0, 0)
    cut = first.end
    assert cut == second.start and cut in [f.start for f in frames] and 0 < cut < len(text)
    before = next(f for f in frames if f.start < cut <= f.start + f.size)  # holds byte cut - 1
    assert second.frame == (before.at, before.start) and second.base == cut


def test_a_single_multi_frame_zst_is_scattered_by_the_workers(tmp_path):
    """shuffle-big's own .zst output (a frame per run, each stating its size) is cut at frames for -j 2:
    this process holds none of it, and the permutation is the plain copy's."""
    import json

    text = numbered_lines(1_500_000, 12)
    plain = tmp_path / "in.txt"
    plain.write_bytes(text)
    zst = tmp_path / "in.txt.zst"
    cli("-j", 2, "-m", "8M", "--seed", 1, plain, "-o", zst, check=True)
    frames = zstd_frames(str(zst))
    assert frames is not None and len(frames) > 2  # our output states every frame's size
    same = tmp_path / "same.txt"  # the plain copy of the same corpus
    same.write_bytes(zstandard.ZstdDecompressor().stream_reader(zst.read_bytes()).read())
    idle = json.loads(cli("--stats=json", "-m", "64M", "-e", "x", check=True).stderr)
    proc = cli("--stats=json", "-j", 2, "-m", "64M", "--seed", 9, zst, check=True)
    stats = json.loads(proc.stderr)
    assert proc.stdout == reference_order(same.read_bytes(), 9)
    assert proc.stdout == cli("-j", 1, "-m", "64M", "--seed", 9, zst, check=True).stdout
    assert stats["passes"] == 2 and stats["jobs"] == 2
    # read here (as a gzip file is), the ~5 MB held, then scattered here, would take +20 MB or more
    assert stats["peak_rss"]["parent"] < idle["peak_rss"]["parent"] + (12 << 20)
