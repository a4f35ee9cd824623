"""--engine dask with -T on an object store: workers share no disk, only the store.

Two clusters: in-process worker threads with fsspec's memory:// store (so the
test can see every object written), and worker processes with fsspec's
local:// backend from the command line. Output is byte-identical to the
reference permutation (and so to the local engine) in each case.
"""

from __future__ import annotations

import gzip
import io
import tempfile

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'shuffle-big[dask]')")
fsspec = pytest.importorskip("fsspec")

from helpers import cli, numbered_lines, reference_order  # noqa: E402

from shuffle_big import shuffle  # noqa: E402
from shuffle_big.errors import ShuffleError  # noqa: E402
from shuffle_big.run.pool_dask import DaskCluster  # noqa: E402
from shuffle_big.storage import fs  # noqa: E402


@pytest.fixture(scope="module")
def threads():
    """Workers as threads of this process, so they see the same memory:// store (and monkeypatches)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        with DaskCluster(local.scheduler_address) as c:
            yield c


@pytest.fixture
def store(monkeypatch, tmp_path):
    """The memory:// store, empty; every object written to it; the workers' local temp directory."""
    mem = fsspec.filesystem("memory")
    mem.store.clear()
    written = []
    real = fs.open_write

    def recording(path: str):
        written.append(path)
        return real(path)

    monkeypatch.setattr(fs, "open_write", recording)
    # memory:// hands every reader of an object the same file object (one position for all); a real store
    # gives each open its own reader, so threads reading one object at once must too
    opener = type(mem)._open

    def independent(self, path, mode="rb", **kw):
        f = opener(self, path, mode, **kw)
        return io.BytesIO(f.getvalue()) if mode == "rb" else f

    monkeypatch.setattr(type(mem), "_open", independent)
    local = tmp_path / "worker-tmp"
    local.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(local))
    yield mem, written, local
    mem.store.clear()
    mem.pseudo_dirs[:] = [""]


@pytest.mark.parametrize("seed, output, extra", [
    (1, "out.txt", {}),
    (3, "out.txt.gz", {"header": 1, "verify": True}),
    (4, "out.txt", {"sep": b"\0"}),
    (5, "p{i}", {"shards": 3}),
])
def test_same_bytes_through_an_object_store(threads, long_line_corpus, tmp_path, store, seed, output, extra):
    mem, written, local = store
    result = shuffle([str(long_line_corpus)], str(tmp_path / output), memory=16 << 20, seed=seed,
                     temp_dir="memory://scratch/tmp", cluster=threads, **extra)
    assert result.passes >= 3 or extra.get("sep"), "the bucket of the 3 MB line is split again inside its task"
    if "shards" in extra:
        got = b"".join((tmp_path / f"p{i}").read_bytes() for i in range(3))
    elif output.endswith(".gz"):
        got = gzip.decompress((tmp_path / output).read_bytes())
    else:
        got = (tmp_path / output).read_bytes()
    assert got == reference_order(long_line_corpus.read_bytes(), seed, extra.get("sep", b"\n"), extra.get("header", 0))
    names = [w.rsplit("/", 1)[-1] for w in written]
    scatter = [n for n in names if n.startswith("s")]
    runs = [n for n in names if n.startswith("o")]
    assert len(scatter) >= 2 and runs, written  # buckets and output runs went through the store
    assert all(w.startswith("memory://scratch/tmp/shuffle-big.") for w in written)
    assert not mem.find("/scratch"), "the run's objects are removed"
    assert not list(local.iterdir()), "the workers' local temp files are removed"


def test_piped_and_compressed_input_is_scattered_here_and_uploaded(threads, tmp_path, store):
    mem, written, local = store
    data = numbered_lines(400_000)
    src = tmp_path / "in.txt.gz"
    src.write_bytes(gzip.compress(data, 1))
    out = tmp_path / "out.txt"
    shuffle([str(src)], str(out), memory=16 << 20, seed=8, temp_dir="memory://scratch", cluster=threads)
    assert out.read_bytes() == reference_order(data, 8)
    assert [w.rsplit("/", 1)[-1] for w in written if not w.rsplit("/", 1)[-1].startswith("o")] == ["pass1"]
    assert not mem.find("/scratch") and not list(local.iterdir())


def test_an_unusable_store_or_a_small_budget_is_a_clear_error(threads, long_line_corpus, tmp_path):
    with pytest.raises(ShuffleError, match="^'nosuchproto://x/tmp/shuffle-big.*': Protocol not known"):
        shuffle([str(long_line_corpus)], str(tmp_path / "out.txt"), memory=16 << 20, seed=1,
                temp_dir="nosuchproto://x/tmp", cluster=threads)
    with pytest.raises(ShuffleError, match=r"^-T 'memory://x': each worker needs --memory 16M or more \(uploads"):
        shuffle([str(long_line_corpus)], str(tmp_path / "out.txt"), memory=8 << 20, temp_dir="memory://x",
                cluster=threads)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_worker_processes_through_local_urls(long_line_corpus, tmp_path):
    """Real worker processes, from the command line, with the store a local:// URL."""
    store = tmp_path / "store"
    store.mkdir()
    out = tmp_path / "out.txt"
    proc = cli("--engine", "dask", "-j", 2, "-m", "16M", "--seed", 9, "-T", f"local://{store}", str(long_line_corpus),
               "-o", out, "--stats")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == reference_order(long_line_corpus.read_bytes(), 9)
    assert list(store.iterdir()) == []


def test_ranges_too_big_to_fetch_whole_are_streamed(threads, long_line_corpus, tmp_path, store, monkeypatch):
    """Bucket parts above frames.REMOTE_BATCH (8 MiB; 64 KiB here) are read as they are used, not held."""
    from shuffle_big.storage import frames

    monkeypatch.setattr(frames, "REMOTE_BATCH", 64 << 10)
    out = tmp_path / "out.txt"
    shuffle([str(long_line_corpus)], str(out), memory=16 << 20, seed=6, temp_dir="memory://scratch", cluster=threads)
    assert out.read_bytes() == reference_order(long_line_corpus.read_bytes(), 6)
