"""--engine dask against a real S3 protocol: s3fs talking to a moto server on loopback.

Inputs, temp space (-T s3://...) and output all in a bucket, worker processes
started by the command line. Skipped unless s3fs, moto and the dask extra are
installed (all are in the [test] extra).
"""

from __future__ import annotations

import gzip

import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'shuffle-big[dask]')")
s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

from helpers import cli, numbered_lines, reference_order  # noqa: E402


@pytest.fixture(scope="module")
def s3():
    """A bucket ``bkt`` on a local S3 server; the environment that points boto at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    fs = s3fs.S3FileSystem(key="test", secret="test", client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]})
    fs.mkdir("bkt")
    yield fs, env
    server.stop()


def _objects(fs) -> list[str]:
    fs.invalidate_cache()
    return sorted(fs.find("bkt"))


def test_everything_in_a_bucket(s3, tmp_path):
    fs, env = s3
    data = numbered_lines(300_000) + b"L" * 3_000_000 + b"\n" + numbered_lines(20_000, 3)
    fs.pipe("bkt/in.txt", data)
    proc = cli("--engine", "dask", "-j", 2, "-m", "16M", "--seed", 3, "-T", "s3://bkt/tmp", "s3://bkt/in.txt",
               "-o", "s3://bkt/out.txt", env=env)
    assert proc.returncode == 0, proc.stderr
    assert fs.cat("bkt/out.txt") == reference_order(data, 3)
    assert _objects(fs) == ["bkt/in.txt", "bkt/out.txt"], "temp objects are removed"


def test_piped_compressed_input_and_shards_in_a_bucket(s3, tmp_path):
    fs, env = s3
    data = numbered_lines(500_000)
    proc = cli("--engine", "dask", "-j", 2, "-m", "16M", "--seed", 4, "-T", "s3://bkt/tmp2/", "--shards", 2,
               "-o", "s3://bkt/part-{i}.txt", input=gzip.compress(data, 1), env=env)
    assert proc.returncode == 0, proc.stderr
    assert fs.cat("bkt/part-0.txt") + fs.cat("bkt/part-1.txt") == reference_order(data, 4)
    assert not [p for p in _objects(fs) if "tmp" in p]


def test_a_missing_bucket_is_a_clear_error_and_is_not_created(s3, tmp_path):
    fs, env = s3
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(300_000))
    proc = cli("--engine", "dask", "-j", 2, "-m", "16M", "-T", "s3://nobucket/tmp", src, "-o", tmp_path / "out.txt", env=env)
    assert proc.returncode == 1 and proc.stderr.count(b"\n") == 1, proc.stderr
    assert proc.stderr == b"shuffle-big: cannot create temporary directory in 's3://nobucket/tmp': " \
        b"The specified bucket does not exist\n"
    assert not fs.exists("nobucket")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_weights_splits_sized_shards_and_a_manifest_in_a_bucket(s3, tmp_path):
    """#14's options with everything on the store: the sample's keys go through it, the parent cuts the
    sized shards, the files are read back from it for the manifest (kept there too), and checked again."""
    fs, env = s3
    fs.pipe("bkt/w/a.txt", numbered_lines(200_000))
    fs.pipe("bkt/w/b.txt", numbered_lines(50_000, 2))
    proc = cli("--engine", "dask", "-j", 2, "-m", "16M", "--seed", 5, "-T", "s3://bkt/tmp3", "--weights", "1.5,0.2",
               "--split", "v=100,t=rest", "--shard-size", "1M", "-o", "s3://bkt/w/out/{split}-{i}.gz",
               "--manifest", "s3://bkt/w/out/manifest.json", "s3://bkt/w/a.txt", "s3://bkt/w/b.txt", env=env)
    assert proc.returncode == 0, proc.stderr
    local = tmp_path / "out"
    local.mkdir()
    cli("--seed", 5, "--weights", "1.5,0.2", "--split", "v=100,t=rest", "--shard-size", "1M",
        "-o", local / "{split}-{i}.gz", _local(fs, "bkt/w/a.txt", tmp_path), _local(fs, "bkt/w/b.txt", tmp_path), check=True)
    names = sorted(p.name for p in local.iterdir())
    stored = sorted(p.rsplit("/", 1)[1] for p in _objects(fs) if p.startswith("bkt/w/out/"))
    assert stored == sorted([*names, "manifest.json"])
    assert all(gzip.decompress(fs.cat(f"bkt/w/out/{n}")) == gzip.decompress((local / n).read_bytes()) for n in names)
    checked = cli("--check-manifest", "s3://bkt/w/out/manifest.json", env=env)
    assert checked.returncode == 0 and f"all {len(names)} files match".encode() in checked.stderr
    assert not [p for p in _objects(fs) if "tmp3" in p]


def _local(fs, key: str, tmp_path):
    path = tmp_path / key.rsplit("/", 1)[1]
    path.write_bytes(fs.cat(key))
    return path
