"""--engine dask: the same tasks on a Dask cluster give byte-identical output to the local engine.

A LocalCluster of 2 worker processes on loopback; skipped when the dask extra is not installed.
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import zstandard

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'shuffle-big[dask]')")

from helpers import cli, cli_popen, numbered_lines, parse, reference_order  # noqa: E402

from shuffle_big import shuffle  # noqa: E402
from shuffle_big.run.pool_dask import DaskCluster  # noqa: E402
from shuffle_big.storage.tempspace import clean_stale  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with DaskCluster(None, 2) as c:
        yield c


@pytest.mark.parametrize("seed, memory, to_file, extra", [
    (1, 16 << 20, True, {}),  # written at offsets by the workers
    (2, 16 << 20, False, {}),  # runs copied out in order (a pipe)
    (3, 1 << 20, True, {}),  # 1M per worker: buckets split again inside the tasks
    (4, 4 << 20, True, {"header": 1, "verify": True}),
    (5, 2 << 20, False, {"sep": b"\0"}),
])
def test_same_bytes_as_the_local_engine(cluster, long_line_corpus, tmp_path, seed, memory, to_file, extra):
    out = tmp_path / "out.txt"
    result = shuffle([str(long_line_corpus)], str(out) if to_file else str(tmp_path / "s{i}"), memory=memory, seed=seed,
                     temp_dir=str(tmp_path), cluster=cluster, shards=None if to_file else 1, **extra)
    got = out.read_bytes() if to_file else (tmp_path / "s0").read_bytes()
    assert got == reference_order(long_line_corpus.read_bytes(), seed, extra.get("sep", b"\n"), extra.get("header", 0))
    assert result.jobs == 2 and not result.in_memory
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.txt"] if to_file else ["s0"])  # temp space cleaned


def test_shards_on_the_cluster(cluster, long_line_corpus, tmp_path):
    shuffle([str(long_line_corpus)], str(tmp_path / "p{i}"), memory=8 << 20, seed=6, temp_dir=str(tmp_path),
            cluster=cluster, shards=3)
    local = tmp_path / "local"
    local.mkdir()
    shuffle([str(long_line_corpus)], str(local / "p{i}"), memory=16 << 20, seed=6, jobs=2, shards=3)
    for i in range(3):
        assert (tmp_path / f"p{i}").read_bytes() == (local / f"p{i}").read_bytes()


@pytest.mark.parametrize("store", [False, True])
def test_weights_splits_and_sized_shards_on_the_cluster(cluster, long_line_corpus, tmp_path, store):
    """Issue #14's options together, on the cluster (a local temp directory, or one through a store, where
    the sample's keys are uploaded and the parent cuts the sized shards): the local engine's files."""
    small = tmp_path / "small.txt"
    small.write_bytes(numbered_lines(30_000))
    options = {"seed": 8, "weights": "1.5,0.3", "header": 1, "splits": "v=500,t=rest", "shard_size": 3 << 20}
    temp = tmp_path / "tmp"
    temp.mkdir()
    (tmp_path / "out").mkdir()
    shuffle([str(long_line_corpus), str(small)], str(tmp_path / "out" / "{split}-{i}.zst"), memory=16 << 20,
            temp_dir=f"local://{temp}" if store else str(temp), cluster=cluster, verify=True, **options)
    local = tmp_path / "local"
    local.mkdir()
    shuffle([str(long_line_corpus), str(small)], str(local / "{split}-{i}.zst"), memory=64 << 20, jobs=1, **options)
    names = sorted(p.name for p in local.iterdir())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == names and len(names) > 3
    unpack = zstandard.ZstdDecompressor()
    for name in names:
        ours, theirs = ((d / name).read_bytes() for d in (tmp_path / "out", local))
        assert unpack.stream_reader(ours, read_across_frames=True).read() == unpack.stream_reader(theirs, read_across_frames=True).read()
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("store", [False, True])
def test_a_killed_worker_is_retried_and_the_output_is_the_same(cluster, tmp_path, store):
    """``store``: temp space is a URL, so the tasks work in each worker's own temp directory and upload."""
    src = tmp_path / "big.txt"
    src.write_bytes(numbered_lines(2_500_000))  # ~60 MB: seconds of work at 4M per worker
    out = tmp_path / "out.txt"
    temp = tmp_path / "tmp"
    temp.mkdir()
    pids = list(cluster.client.run(os.getpid).values())
    errors = []

    def run():
        try:
            shuffle([str(src)], str(out), memory=(16 if store else 4) << 20, seed=7,
                    temp_dir=f"local://{temp}" if store else str(temp),
                    cluster=cluster)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    def scattering() -> bool:
        if not store:
            return any(p.name.startswith(("s0.", "s1.")) for p in temp.rglob("*"))
        return any(glob.glob(f"{tempfile.gettempdir()}/shuffle-big.{pid}.*/s*") for pid in pids)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.time() + 30
    while time.time() < deadline and not scattering():
        time.sleep(0.01)  # until pass 1 is under way
    assert scattering(), "pass 1 never began"
    time.sleep(0.3)
    assert worker.is_alive(), "the run ended before the kill: nothing was retried"
    os.kill(pids[0], signal.SIGKILL)
    worker.join(timeout=180)
    assert not errors, errors
    assert pids[0] not in cluster.client.run(os.getpid).values()  # the killed worker was replaced
    assert out.read_bytes() == reference_order(src.read_bytes(), 7)
    assert list(temp.iterdir()) == []
    if store:  # the killed worker's own temp directory: the next temp directory made on its host removes it
        clean_stale()
        assert not glob.glob(f"{tempfile.gettempdir()}/shuffle-big.{pids[0]}.*")
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the next tests


def _session_members(sid: int) -> list[int]:
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.split("/")[2]))
    return found


@pytest.mark.parametrize("when", ["cluster starting", "pass 1"])
def test_ctrl_c_stops_the_run_and_its_cluster_quietly(tmp_path, when):
    """Ctrl-C reaches the whole process group: only the client may act on it (no worker tracebacks)."""
    src = tmp_path / "big.txt"
    src.write_bytes(numbered_lines(2_500_000))
    out = tmp_path / "out.txt"
    out.write_bytes(b"old\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = cli_popen("--engine", "dask", "-j", 2, "-m", "4M", "-T", temp, src, "-o", out, stderr=subprocess.PIPE,
                     start_new_session=True)
    deadline = time.time() + 60
    if when == "cluster starting":
        while time.time() < deadline and len(_session_members(proc.pid)) < 3:  # the client, a worker and more
            time.sleep(0.01)
        assert len(_session_members(proc.pid)) >= 3, "the cluster never started"
        time.sleep(0.2)
    else:
        while time.time() < deadline and not any(p.name.startswith(("s0.", "s1.")) for p in temp.rglob("*")):
            time.sleep(0.01)
        assert any(p.name.startswith(("s0.", "s1.")) for p in temp.rglob("*")), "pass 1 never began"
    assert proc.poll() is None, "the run ended before the Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)
    assert (proc.wait(timeout=60), proc.stderr.read()) == (-signal.SIGINT, b"")
    assert list(temp.iterdir()) == []
    assert out.read_bytes() == b"old\n"
    time.sleep(1)
    assert _session_members(proc.pid) == []  # the workers are gone too


def test_a_run_prints_nothing_when_the_dashboard_port_is_taken(tmp_path):
    """Another cluster (another run) holds Dask's default HTTP port 8787: no warning on our stderr."""
    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # taken already: all the better
    try:
        proc = cli("--engine", "dask", "-j", 2, "-i", "1-1000", "-o", tmp_path / "out")
    finally:
        holder.close()
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_the_command_line_engine_and_a_bad_scheduler(long_line_corpus, tmp_path):
    out = tmp_path / "out.txt"
    cli("--engine", "dask", "-j", 2, "-m", "16M", "--seed", 8, "-T", tmp_path, long_line_corpus, "-o", out, check=True)
    assert out.read_bytes() == cli("-m", "16M", "--seed", 8, long_line_corpus, check=True).stdout
    proc = cli("--engine", "dask", "--scheduler", "tcp://127.0.0.1:1", "-i", "1-3")
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1
    assert proc.stderr.startswith(b"shuffle-big: cannot connect to the Dask scheduler at 'tcp://127.0.0.1:1': ")
    proc = parse("--scheduler", "tcp://127.0.0.1:1", "-i", "1-3")
    assert proc.returncode == 1 and b"--scheduler needs --engine dask" in proc.stderr
