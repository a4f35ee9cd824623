"""The reader and the bucket-frame format on their own (the engine tests cover them only end to end)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import read_records, records
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shuffle_big.core.fingerprint import Fingerprint
from shuffle_big.core.records import Block, Records
from shuffle_big.inputs.reader import RecordReader, read_header
from shuffle_big.inputs.sources import MAGIC_BYTES, is_compressed
from shuffle_big.storage.frames import LongFrame, frame_buffers, read_frames, write_long
from shuffle_big.storage.rawio import writev_all


def read_all(path, **kw) -> list[tuple[int, bytes]]:
    """(offset, record) for every record the reader yields, long ones joined."""
    return read_records(RecordReader([str(path)], **kw))


@settings(max_examples=200, deadline=None)
@given(
    recs=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    terminated=st.booleans(), block=st.integers(1, 64), long=st.integers(1, 64), most=st.integers(1, 8),
)
def test_the_reader_yields_every_record_at_its_offset(tmp_path_factory, recs, terminated, block, long, most):
    data = b"\n".join(recs) + (b"\n" if terminated and recs else b"")
    assume(not is_compressed(data[:MAGIC_BYTES]))  # a gzip, zstd, bzip2 or xz magic number means compressed input
    path = tmp_path_factory.mktemp("r") / "in"
    path.write_bytes(data)
    got = read_all(path, block_size=block, long_threshold=long, max_records=most)
    expected, offset = [], 0
    for rec in records(data):
        expected.append((offset, rec))
        offset += len(rec)
    assert got == expected


def test_header_and_fingerprint_and_zero_terminated(tmp_path):
    path = tmp_path / "in"
    path.write_bytes(b"h1\0h2\0a\0" + b"L" * 300 + b"\0b")
    reader = RecordReader([str(path)], 16, 64, sep=b"\0", header=2, fingerprint=Fingerprint())
    # a long record's pieces stream from the file: they are read before the next item
    body = b"".join(i.data if isinstance(i, Block) else b"".join(i.pieces) for i in reader)
    assert reader.header == b"h1\nh2\n"  # internal form: NUL and newline swapped
    assert body == b"a\n" + b"L" * 300 + b"\nb\n"
    whole = Fingerprint()
    whole.update(b"h1\nh2\na\n" + b"L" * 300 + b"\nb\n")
    assert reader.fingerprint is not None and reader.fingerprint.value == whole.value  # long record included
    assert read_header(str(path), 2, b"\0", path.stat().st_size) == (b"h1\nh2\n", 6)


def test_a_header_only_file_without_its_newline():
    """The rest starts at the end of the file, not one byte past it."""
    import tempfile

    with tempfile.NamedTemporaryFile() as f:
        f.write(b"only")
        f.flush()
        assert read_header(f.name, 3, b"\n", 4) == (b"only\n", 4)


def test_frames_round_trip_with_a_long_record(tmp_path):
    path = tmp_path / "bucket"
    u32 = np.uint32
    pieces = [
        Records(b"a\nbb\n", np.array([5, 3], dtype=np.uint64), np.array([2, 3], dtype=u32)),
        Records(b"ccc\n", np.array([9], dtype=np.uint64), np.array([4], dtype=u32)),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    writev_all(fd, frame_buffers(pieces))
    writev_all(fd, frame_buffers(pieces[1:]))  # one record: its length is the frame's
    length = write_long(fd, 7, [b"L" * 100, b"L" * 50 + b"\n"])
    os.close(fd)
    assert length == 151
    frames = list(read_frames([str(path)]))
    assert frames[0].data == b"a\nbb\nccc\n" and frames[0].keys.tolist() == [5, 3, 9]
    assert frames[0].lengths.tolist() == [2, 3, 4]
    assert frames[1].data == b"ccc\n" and frames[1].lengths.tolist() == [4]
    assert frames[2].data == b"L" * 150 + b"\n" and frames[2].keys.tolist() == [7] and frames[2].lengths.tolist() == [151]
    streamed = read_frames([str(path)], max_frame=100)
    assert isinstance(next(streamed), Records) and isinstance(next(streamed), Records)
    long = next(streamed)
    assert isinstance(long, LongFrame) and long.key == 7 and long.length == 151
    assert b"".join(long.pieces) == b"L" * 150 + b"\n"  # read before the next frame: it streams
    assert list(streamed) == []


def test_a_compressed_input_is_read_ahead_on_a_thread_that_stops_when_closed(tmp_path):
    import gzip
    import threading

    from shuffle_big.inputs.sources import open_source

    data = b"".join(b"%d\n" % i for i in range(200_000))
    path = tmp_path / "in.gz"
    path.write_bytes(gzip.compress(data))
    stream, owned = open_source(str(path), prefetch=4096)
    assert stream.read(4096) == data[:4096]
    assert any(t.name == "shuffle-big-prefetch" for t in threading.enumerate())
    for f in owned:
        f.close()  # with chunks still to come: the thread must not hang on its full queue
    assert not any(t.name == "shuffle-big-prefetch" for t in threading.enumerate())
    stream, owned = open_source(str(path), prefetch=1 << 16)
    assert b"".join(iter(lambda: stream.read(1 << 16), b"")) == data
    path.write_bytes(gzip.compress(data)[:-100])
    stream, owned = open_source(str(path), prefetch=1 << 16)
    with pytest.raises(Exception, match="end-of-stream"):
        while stream.read(1 << 16):
            pass
    for f in owned:
        f.close()
