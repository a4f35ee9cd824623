"""Golden outputs: the permutation of each seed is pinned, byte for byte, across releases.

The README promises that ``--seed`` output does not change between releases.
These tests hold that promise against any change to ``keys.py``, the record
model or an execution path: the expected outputs below were written by
shuffle-big 0.1.0 (commit a4d5c3d, before the columnar core) and must never be
regenerated to make a test pass. A change that alters them changes the
permutation, which is a breaking change to announce, not a fix.

Two kinds of pins: ``tests/golden/*`` holds a small input with odd bytes and
its expected outputs in full (readable, diffable); larger inputs, made here by
a generator that depends on nothing but hashlib, are pinned by the SHA-256 of
the output on every path that must agree (in memory, two and three passes,
-j 1/2/3, the Dask engine, stdin, -n, -r, --shards, -z, --header). Several
inputs at once are pinned from 0.2.0, plain and compressed alike.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

import pytest
import zstandard
from helpers import cli

GOLDEN = Path(__file__).resolve().parent / "golden"


def generated(n: int, salt: bytes = b"") -> bytes:
    """``n`` records of 0-119 bytes of any value but newline, stable forever (hashlib only).

    One record in 64 is empty and one in 97 carries a CR, a NUL and invalid UTF-8.
    """
    out = []
    for i in range(n):
        h = hashlib.sha256(salt + i.to_bytes(8, "little")).digest() * 4
        length = h[0] % 120 if h[1] % 64 else 0
        body = h[2 : 2 + length].replace(b"\n", b"n")
        if h[1] % 97 == 0:
            body += b"\r\x00\xff\xfe"
        out.append(body + b"\n")
    return b"".join(out)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


SMALL = GOLDEN / "mixed.txt"  # 300 records, odd bytes, no newline at the end

# (expected file, arguments): the small input's outputs in full
SMALL_CASES = [
    ("mixed.seed1.out", ["--seed", "1"]),
    ("mixed.seed1.out", ["--seed", "1", "-m", "1M", "-j", "2"]),
    ("mixed.seed18446744073709551615.out", ["--seed", "18446744073709551615"]),
    ("mixed.header2.seed7.out", ["--seed", "7", "--header", "2"]),
    ("mixed.n10.seed3.out", ["--seed", "3", "-n", "10"]),
    ("mixed.r.n20.seed4.out", ["--seed", "4", "-r", "-n", "20"]),
]


@pytest.mark.parametrize(("expected", "args"), SMALL_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_small_input_outputs_are_pinned(expected, args):
    proc = cli(*args, SMALL, check=True)
    assert proc.stdout == (GOLDEN / expected).read_bytes()


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """~5.7 MB in 100,000 records: in memory at -m 64M, two passes at -m 4M, three at -m 1M."""
    path = tmp_path_factory.mktemp("golden") / "big.txt"
    path.write_bytes(generated(100_000))
    return path


BIG_SEED9 = "1d0edba3ebb04ffd1d0fd5774c00780a"  # the output of --seed 9, whatever the path

# Every path that must write the same bytes for --seed 9.
PATHS = [
    ["-m", "64M"],  # in memory
    ["-m", "4M"],  # two passes
    ["-m", "1M"],  # buckets split again: three passes
    ["-m", "8M", "-j", "2"],  # a worker needs 4M: less runs in one process
    ["-m", "12M", "-j", "3"],
]


@pytest.mark.parametrize("args", PATHS, ids=" ".join)
def test_big_input_output_is_pinned_on_every_path(big, args):
    assert digest(cli("--seed", 9, *args, big, check=True).stdout) == BIG_SEED9


def test_big_input_from_stdin(big):
    proc = cli("--seed", 9, "-m", "1M", input=big.read_bytes(), check=True)
    assert digest(proc.stdout) == BIG_SEED9


@pytest.mark.slow
def test_big_input_on_dask(big):
    pytest.importorskip("distributed")
    assert digest(cli("--seed", 9, "--engine", "dask", "-j", "2", "-m", "8M", big, check=True).stdout) == BIG_SEED9


# (arguments, digest): outputs of other modes on the big input
MODES = [
    (["--seed", "9", "-n", "1000", "-m", "1M"], "75ca0b95fd1d72ad127398e45e758344"),
    (["--seed", "9", "-r", "-n", "50000", "-m", "1M"], "ce70c2624266513056039e4f03c03518"),
    (["--seed", "9", "--header", "3", "-m", "8M", "-j", "2"], "d4a16800d59d531d0e4c28d1190badc4"),
    (["--seed", "11", "-z", "-m", "1M"], "ab863a088961b0b5e5dfc86df3b44169"),  # the same bytes as NUL-separated records
]


@pytest.mark.parametrize(("args", "expected"), MODES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_big_input_modes_are_pinned(big, args, expected):
    assert digest(cli(*args, big, check=True).stdout) == expected


# Several inputs: a record's key is that of its position, (input index, offset in that input), since 0.2.0
# (0.1 keyed the offset in the inputs' concatenation, which a compressed input does not give up front).
SEVERAL_SEED9 = "858cbf4a6d66064c5ec689de3b899c0e"


@pytest.fixture(scope="module")
def several(tmp_path_factory) -> list[Path]:
    """Three inputs (the last without its final newline) and a gzip and a zstd copy of each."""
    d = tmp_path_factory.mktemp("several")
    texts = [generated(40_000, b"a"), generated(30_000, b"b"), generated(20_000, b"c")[:-1]]
    paths = []
    for name, text in zip("abc", texts):
        (d / f"{name}.txt").write_bytes(text)
        (d / f"{name}.txt.gz").write_bytes(gzip.compress(text[:1000]) + gzip.compress(text[1000:]))  # two members
        (d / f"{name}.txt.zst").write_bytes(zstandard.ZstdCompressor(level=1).compress(text))
        paths.append(d / f"{name}.txt")
    return paths


@pytest.mark.parametrize("args", [*PATHS, ["-m", "1M", "-j", "2"]], ids=" ".join)
@pytest.mark.parametrize("kind", ["", ".gz", ".zst", "mixed"])
def test_several_inputs_are_pinned_plain_or_compressed(several, args, kind):
    suffixes = [".gz", "", ".zst"] if kind == "mixed" else [kind] * 3
    paths = [f"{p}{suffix}" for p, suffix in zip(several, suffixes)]
    assert digest(cli("--seed", 9, *args, *paths, check=True).stdout) == SEVERAL_SEED9


@pytest.mark.slow
def test_several_compressed_inputs_on_dask_and_a_compressed_output(several, tmp_path):
    pytest.importorskip("distributed")
    gz = [f"{p}.gz" for p in several]
    assert digest(cli("--seed", 9, "--engine", "dask", "-j", "2", "-m", "8M", *gz, check=True).stdout) == SEVERAL_SEED9
    out = tmp_path / "out.zst"
    cli("--seed", 9, "--engine", "dask", "-j", "2", "-m", "8M", *gz, "-o", out, check=True)
    assert digest(zstandard.ZstdDecompressor().stream_reader(out.read_bytes()).read()) == SEVERAL_SEED9


# --weights (from 0.2.0): copies keyed as more inputs (keys.input_base's copy slots), the sample by a
# second keyed hash of the key (core/weights.py).
WEIGHTED_SEED9 = "9971e8ec9720ea18e88f1458ed47f67c"


@pytest.mark.parametrize("args", [[], ["-m", "1M", "-j", "2"]], ids=" ".join)
def test_weights_are_pinned(several, args):
    assert digest(cli("--seed", 9, "--weights", "2,0.5,1", *args, *several, check=True).stdout) == WEIGHTED_SEED9


# -i alone: since 0.2.0 its permutation is computed per position (core/range_order.py), so that -n N
# costs O(N) at any range; 0.1 shuffled the range's text like a file's. Below 65,537 numbers the
# order sorts keyed hashes of the indices, above it a Feistel network walks the range.
RANGES = [
    (["-i", "1-1000", "--seed", "9"], "ab1c9a632cb9c922f9d567439f5a3092"),
    (["-i", "1-1000", "--seed", "9", "-n", "10"], "f77216b8354626c33841a80dede860ae"),
    (["-i", "7-300006", "--seed", "9"], "0be802c12a1d82385d61952c073fd6b3"),
    (["-i", "7-300006", "--seed", "9", "-m", "1M", "-j", "2"], "0be802c12a1d82385d61952c073fd6b3"),
    (["-i", "7-300006", "--seed", "9", "-n", "1000"], "38aeb51fbed4e5808ec4972331a6f733"),
    (["-i", f"1-{2**64 - 1}", "--seed", "9", "-n", "1000"], "bac6d84fb79ff133fb03838753281c1c"),
    # -r -i: unchanged from 0.1 where the range is below 2^63 numbers (a draw is redrawn with odds range / 2^64)
    (["-i", f"1-{2**64 - 1}", "--seed", "9", "-r", "-n", "1000"], "6f83cbf03a39bc2de666d96d399a273b"),
    (["-i", "0-9", "--seed", "9", "-r", "-n", "1000", "-z"], "31074e2084bdb9f1fdb21402b82ceab1"),
]


@pytest.mark.parametrize(("args", "expected"), RANGES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_input_ranges_are_pinned(args, expected):
    assert digest(cli(*args, check=True).stdout) == expected


SHARDS_SEED5 = ["7d310d1ab633743925387ba3d5babe21", "7bb0e1c58482c7635b8fa1aae14c6205", "acbf5f2a1c8dfda11aa63f2b0fc2eaa8"]


def test_shards_are_pinned(big, tmp_path):
    cli("--seed", 5, "-m", "8M", "-j", "2", "--shards", 3, "-o", tmp_path / "s{i}.txt", big, check=True)
    assert [digest((tmp_path / f"s{i}.txt").read_bytes()) for i in range(3)] == SHARDS_SEED5


if __name__ == "__main__" and sys.argv[1:] == ["--print"]:  # how the pins above were first written
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "big.txt"
        src.write_bytes(generated(100_000))
        for args in [["--seed", "9", *PATHS[0]], *(a for a, _ in MODES)]:
            out = subprocess.run([sys.executable, "-m", "shuffle_big", *args, str(src)], capture_output=True, check=True)
            print(args, digest(out.stdout))
        subprocess.run([sys.executable, "-m", "shuffle_big", "--seed", "5", "-m", "8M", "-j", "2", "--shards", "3",
                        "-o", f"{d}/s{{i}}.txt", str(src)], check=True)
        print("shards", [digest(Path(f"{d}/s{i}.txt").read_bytes()) for i in range(3)])
