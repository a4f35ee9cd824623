"""--manifest and --check-manifest (issue #14): what a run read and wrote, and reading it all back."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil

import pytest
from helpers import cli, numbered_lines, parse

from shuffle_big import check_manifest, shuffle
from shuffle_big.core.fingerprint import Fingerprint, hasher

try:
    import zstandard
except ImportError:  # pragma: no cover - the test extra installs it
    zstandard = None


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("manifest")
    a, b = d / "a.csv", d / "b.csv"
    a.write_bytes(b"id\n" + numbered_lines(50_000))
    b.write_bytes(b"".join(b"b%d\n" % i for i in range(20_000)))
    return a, b


def decompressed(path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    return data


def run(inputs, out, *more):
    a, b = inputs
    return cli("--seed", 5, "--header", 1, "--weights", "1.5,1", "--split", "valid=1000,train=rest", "--shard-lines", 30_000,
               "-o", out / "{split}-{i}.csv.gz", "--manifest", out / "manifest.json", a, b, *more, check=True)


def test_the_manifest_says_what_was_read_and_written(inputs, tmp_path):
    a, b = inputs
    run(inputs, tmp_path, "-m", "2M", "-j", 2)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["seed"] == 5
    assert manifest["options"]["weights"] == [1.5, 1] and manifest["options"]["split"] == "valid=1000,train=rest"
    assert manifest["inputs"] == [
        {"path": str(a), "lines": 50_000, "bytes": len(a.read_bytes()) - 3, "weight": 1.5, "lines_taken": 75_000},
        {"path": str(b), "lines": 20_000, "bytes": len(b.read_bytes()), "weight": 1, "lines_taken": 20_000},
    ]
    files = manifest["outputs"]
    assert [(f["path"], f["split"]) for f in files] == [
        ("valid-0.csv.gz", "valid"), *((f"train-{i}.csv.gz", "train") for i in range(4)),
    ]
    for f in files:
        path = tmp_path / f["path"]
        data = decompressed(path)
        seen = Fingerprint()
        seen.update(data)
        assert f["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (f["lines"], f["bytes"]) == (data.count(b"\n"), len(data)) and data.startswith(b"id\n")
        assert f["fingerprint"] == {"hasher": hasher(), "value": f"{seen.total:016x}"}
    assert [f["lines"] for f in files] == [1001, 30_001, 30_001, 30_001, 4001]  # each with the header
    assert manifest["totals"] == {
        "lines_read": 70_000, "records_written": 95_000, "lines_written": 95_005,
        "bytes_written": sum(f["bytes"] for f in files), "files": 5,
    }


def test_the_files_are_described_the_same_at_any_budget(inputs, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    run(inputs, tmp_path / "x", "-m", "64M", "-j", 1)
    run(inputs, tmp_path / "y", "-m", "1M", "-j", 2)
    x, y = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in "xy")
    # the records are the same; their compressed bytes are not (workers compress their pieces as gzip members)
    for f in x["outputs"] + y["outputs"]:
        del f["sha256"]
    assert x["outputs"] == y["outputs"] and x["inputs"] == y["inputs"]


def test_check_manifest_finds_each_file_that_differs(inputs, tmp_path):
    run(inputs, tmp_path)
    manifest = tmp_path / "manifest.json"
    ok = cli("--check-manifest", manifest)
    assert ok.returncode == 0 and b"all 5 files match" in ok.stderr
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path, moved, ignore=shutil.ignore_patterns("moved"))  # paths are the manifest's own
    assert cli("--check-manifest", moved / "manifest.json").returncode == 0
    train1 = tmp_path / "train-1.csv.gz"
    data = decompressed(train1)
    train1.write_bytes(gzip.compress(data.replace(b"\n", b"\r\n", 1)))  # one byte more
    (tmp_path / "valid-0.csv.gz").unlink()
    train2 = tmp_path / "train-2.csv.gz"
    train2.write_bytes(gzip.compress(decompressed(train2), 9))  # the same records, other bytes
    bad = cli("--check-manifest", manifest)
    assert bad.returncode == 1
    said = bad.stderr.decode().splitlines()
    assert said[0].startswith("shuffle-big: cannot open '") and "valid-0.csv.gz': No such file or directory" in said[0]
    assert said[1] == f"shuffle-big: 'train-1.csv.gz': {len(data) + 1} bytes, the manifest says {len(data)}"
    assert said[2].startswith("shuffle-big: 'train-2.csv.gz': its SHA-256 is ")
    assert len(said) == 3
    assert check_manifest(str(moved / "manifest.json")) == ([], 5)


def test_a_run_that_fails_leaves_no_manifest(inputs, tmp_path):
    a, _ = inputs
    failed = cli("--split", "x=60000,y=rest", "-o", tmp_path / "{split}.txt", "--manifest", tmp_path / "m.json", a)
    assert failed.returncode == 1 and b"more than the 50001 there are" in failed.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--manifest", "m.json", "a"], "--manifest needs -o"),
    (["--manifest", "m.json", "-n", "3", "-o", "x", "a"], "--manifest describes a whole shuffle"),
    (["--check-manifest", "m.json", "a"], "--check-manifest reads the files the manifest lists"),
])
def test_misuse_is_a_usage_error(args, message):
    result = parse(*args)
    assert result.returncode == 1 and message in result.stderr.decode()


def test_a_missing_directory_fails_before_any_input_is_read(tmp_path):
    result = cli("--manifest", tmp_path / "no" / "m.json", "-o", tmp_path / "out", tmp_path / "missing-input")
    assert result.returncode == 1
    assert "--manifest" in result.stderr.decode() and "no such directory" in result.stderr.decode()


def test_the_library_writes_and_checks_one_too(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(1000).replace(b"\n", b"\0"))
    out = tmp_path / "out.txt.zst"
    shuffle([str(src)], str(out), sep=b"\0", seed=1, manifest=str(tmp_path / "m.json"))
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert manifest["options"]["zero_terminated"] and manifest["outputs"][0]["lines"] == 1000
    assert check_manifest(str(tmp_path / "m.json")) == ([], 1)
    out.write_bytes(zstandard.ZstdCompressor().compress(decompressed(out)[:-2] + b"\0"))
    problems, _ = check_manifest(str(tmp_path / "m.json"))
    assert problems and "lines" not in problems[0] or "bytes" in problems[0]
