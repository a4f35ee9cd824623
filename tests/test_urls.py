"""Inputs and outputs as URLs through fsspec (here its in-process memory:// filesystem, and file://)."""

from __future__ import annotations

import gzip

import pytest

fsspec = pytest.importorskip("fsspec", reason="fsspec is not installed (pip install 'shuffle-big[remote]')")

from helpers import cli, numbered_lines, reference_order  # noqa: E402

from shuffle_big import shuffle  # noqa: E402
from shuffle_big.errors import ShuffleError  # noqa: E402


@pytest.fixture
def mem():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    yield fs
    fs.store.clear()


@pytest.mark.parametrize("memory", [1 << 20, 64 << 20])
def test_url_inputs_and_outputs_give_the_reference_permutation(mem, memory):
    data = numbered_lines(200_000)
    cut = data.index(b"\n", 1_000_000) + 1
    mem.pipe("/a.txt", data[:cut])
    mem.pipe("/b.txt.gz", gzip.compress(data[cut:]))
    shuffle(["memory://a.txt", "memory://b.txt.gz"], "memory://out.txt", memory=memory, seed=3, verify=True)
    assert mem.cat("/out.txt") == reference_order([data[:cut], data[cut:]], 3)
    shuffle(["memory://a.txt"], "memory://out.txt.gz", memory=memory, seed=3)
    assert gzip.decompress(mem.cat("/out.txt.gz")) == reference_order(data[:cut], 3)
    assert sorted(mem.ls("/", detail=False)) == ["/a.txt", "/b.txt.gz", "/out.txt", "/out.txt.gz"]


def test_url_shards_and_a_failed_run_keep_the_old_output(mem):
    data = numbered_lines(10_000)
    mem.pipe("/in.txt", data)
    shuffle(["memory://in.txt"], "memory://part-{i}.txt", memory=1 << 20, seed=4, shards=3)
    assert b"".join(mem.cat(f"/part-{i}.txt") for i in range(3)) == reference_order(data, 4)
    mem.pipe("/out.txt", b"old\n")
    mem.pipe("/bad.gz", gzip.compress(data)[:2000])
    with pytest.raises(ShuffleError, match="corrupt compressed data"):
        shuffle(["memory://in.txt", "memory://bad.gz"], "memory://out.txt", memory=1 << 20, seed=4)
    assert mem.cat("/out.txt") == b"old\n"
    assert not [p for p in mem.ls("/", detail=False) if "shuffle-big" in p]


def test_missing_url_is_a_clear_error(mem):
    with pytest.raises(ShuffleError, match=r"^cannot open 'memory://nothing.txt': No such file or directory$"):
        shuffle(["memory://nothing.txt"], None)


def test_file_urls_from_the_command_line_with_workers(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(600_000))
    out = tmp_path / "out.txt"
    cli("-j", 2, "-m", "16M", "--seed", 5, f"file://{src}", "-o", f"file://{out}", check=True)
    assert out.read_bytes() == reference_order(src.read_bytes(), 5)


def test_temp_space_on_an_object_store_needs_the_dask_engine(tmp_path):
    proc = cli("-m", "1M", "-T", "memory://tmp", input=numbered_lines(100_000))
    assert (proc.returncode, proc.stderr) == (
        1, b"shuffle-big: -T 'memory://tmp': temporary space on an object store is for --engine dask; "
           b"the local engine needs a directory\n",
    )


def test_a_url_prefix_is_the_objects_under_it(mem, tmp_path):
    texts = {"/corpus/a.txt.gz": b"a1\na2\n", "/corpus/b/x.txt": b"x1\nx2\nx3\n"}
    mem.pipe("/corpus/a.txt.gz", gzip.compress(texts["/corpus/a.txt.gz"]))
    mem.pipe("/corpus/b/x.txt", texts["/corpus/b/x.txt"])
    mem.pipe("/corpus/_SUCCESS", b"")
    mem.pipe("/corpus/.part.crc", b"junk\n")
    shuffle(["memory://corpus"], str(tmp_path / "out.txt"), seed=6, recursive=True)
    assert (tmp_path / "out.txt").read_bytes() == reference_order(list(texts.values()), 6)
