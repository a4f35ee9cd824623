"""The output's life cycle, unit by unit: commit makes it appear, abort leaves what was there.

The command-level tests (test_cli, test_disk_space, test_compression) check
the same promises end to end; these point at the sink when one breaks.
"""

from __future__ import annotations

import gzip
import os
import threading

import pytest

from shuffle_big.core.fingerprint import Fingerprint
from shuffle_big.core.records import NEWLINE, Codec
from shuffle_big.errors import ShuffleError
from shuffle_big.outputs.files import AtomicFile, Compressed, InPlace, RemoteFile, Target, open_target
from shuffle_big.outputs.sinks import Output


def leftovers(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".shuffle-big-" in p.name)


@pytest.mark.parametrize("name, kind", [("out.txt", AtomicFile), ("out.txt.gz", Compressed), ("-", Target)])
def test_each_name_opens_its_kind_of_target(tmp_path, name, kind):
    target = open_target(name if name == "-" else str(tmp_path / name))
    assert type(target) is kind
    target.discard()


def test_a_file_appears_only_at_commit(tmp_path):
    path = tmp_path / "out.txt"
    path.write_bytes(b"previous\n")
    with Output(str(path)) as out:
        out.write(b"a\nb\n")
        assert path.read_bytes() == b"previous\n"  # written under a temporary name meanwhile
        assert len(leftovers(tmp_path)) == 1
    assert path.read_bytes() == b"a\nb\n"
    assert leftovers(tmp_path) == []
    assert out.bytes_written == 4


def test_a_failed_block_leaves_the_previous_file(tmp_path):
    path = tmp_path / "out.txt.gz"
    path.write_bytes(b"previous\n")
    with pytest.raises(RuntimeError), Output(str(path)) as out:
        out.write(b"a\n")
        raise RuntimeError("the run failed")
    assert path.read_bytes() == b"previous\n"
    assert leftovers(tmp_path) == []


def test_compressed_translated_and_fingerprinted(tmp_path):
    path = tmp_path / "out.gz"
    with Output(str(path), Codec(b"\0"), Fingerprint()) as out:
        out.write_header(b"h\n")
        out.write(b"a\nb\n")
    assert gzip.decompress(path.read_bytes()) == b"h\0a\0b\0"
    expected = Fingerprint()
    expected.update(b"h\na\nb\n")  # what --verify sees is the internal form, header included
    assert out.fingerprint is not None and out.fingerprint.value == expected.value


def test_positional_writes_land_at_their_offsets(tmp_path):
    path = tmp_path / "out.txt"
    with Output(str(path)) as out:
        out.write(b"header\n")
        target = out.positional_target()
        assert isinstance(target, AtomicFile) and target.positional is not None
        target.truncate(7 + 4)
        fd = os.open(target.positional, os.O_WRONLY)
        os.pwrite(fd, b"x\ny\n", 7)
        os.close(fd)
    assert path.read_bytes() == b"header\nx\ny\n"
    assert Output(str(tmp_path / "o.gz")).positional_target() is None  # compressed: the bytes move
    assert Output(None).positional_target() is None


def test_a_fifo_is_written_in_place_and_kept(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    with Output(str(fifo)) as out:
        assert isinstance(out.target, InPlace)
        out.write(b"a\n")
    reader.join(timeout=10)
    assert got == [b"a\n"] and fifo.is_fifo()


def test_copy_from_uses_the_kernel_or_the_translation(tmp_path):
    run = tmp_path / "run"
    run.write_bytes(b"a\nb\n")
    for codec, want in [(NEWLINE, b"a\nb\n"), (Codec(b"\0"), b"a\0b\0")]:
        path = tmp_path / "out"
        with Output(str(path), codec) as out:
            out.copy_from(str(run))
        assert path.read_bytes() == want and out.bytes_written == 4


def test_a_url_output_appears_when_committed():
    fsspec = pytest.importorskip("fsspec")
    store = fsspec.filesystem("memory")
    store.store.clear()
    with Output("memory://bucket/out.txt") as out:
        assert isinstance(out.target, RemoteFile)
        out.write(b"a\n")
    assert store.cat("memory://bucket/out.txt") == b"a\n"
    with pytest.raises(RuntimeError), Output("memory://bucket/out.txt") as out:
        out.write(b"b\n")
        raise RuntimeError
    assert store.cat("memory://bucket/out.txt") == b"a\n"
    assert store.find("memory://bucket") == ["/bucket/out.txt"]


def test_errors_name_the_output(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ShuffleError, match=r"^cannot create '.*d': Is a directory$"):
        Output(str(tmp_path / "d"))
    with pytest.raises(ShuffleError, match=r"^cannot create '.*/no/such/out': No such file or directory$"):
        Output(str(tmp_path / "no" / "such" / "out"))
