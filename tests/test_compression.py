"""Compressed input (gzip, zstd; by magic number, mixed in one stream) and output (by -o name)."""

from __future__ import annotations

import gzip

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
@pytest.mark.parametrize("suffix, decompress", [(".gz", gzip.decompress), (".zst", lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b))])
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
