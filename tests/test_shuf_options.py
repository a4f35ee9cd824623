"""GNU shuf's options: -z, -e, -i, --random-source; and --header. Every path gives the same bytes."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import xxhash
from helpers import cli, numbered_lines, parse, reference_order

from shuffle_big.core.range_order import RangeOrder

# (memory, jobs, to a file?): in memory; two passes in one process; parallel scatter and
# order written at offsets (file) or copied in order (pipe)
PATHS = [("64M", 1, False), ("1M", 1, False), ("16M", 2, True), ("16M", 2, False)]


def _run(src, out_dir, memory, jobs, to_file, *args, stdin=None):
    if to_file:
        out = out_dir / f"out-{memory}-{jobs}"
        cli("-m", memory, "-j", jobs, *args, "-o", out, src, input=stdin, check=True)
        return out.read_bytes()
    return cli("-m", memory, "-j", jobs, *args, src, input=stdin, check=True).stdout


@pytest.fixture(scope="module")
def nul_corpus(tmp_path_factory):
    # NUL-terminated records with newlines, CRs inside; big enough for every path at 16M/1M
    recs = [b"rec %d\nline two\r\n%s" % (i, b"y" * (i % 50)) for i in range(400_000)]
    path = tmp_path_factory.mktemp("z") / "in.bin"
    path.write_bytes(b"\0".join(recs) + b"\0tail without terminator")
    return path


@pytest.mark.parametrize("memory, jobs, to_file", PATHS)
def test_zero_terminated_matches_the_reference_on_every_path(nul_corpus, tmp_path, memory, jobs, to_file):
    out = _run(nul_corpus, tmp_path, memory, jobs, to_file, "-z", "--seed", 4)
    assert out == reference_order(nul_corpus.read_bytes(), 4, sep=b"\0")


def test_zero_terminated_head_and_stdin(nul_corpus):
    data = nul_corpus.read_bytes()
    full = reference_order(data, 6, sep=b"\0")
    assert cli("-z", "-m", "1M", "--seed", 6, "-", input=data, check=True).stdout == full
    head = cli("-z", "-n", 3, "--seed", 6, nul_corpus, check=True).stdout
    assert head == b"".join(r + b"\0" for r in full.split(b"\0")[:3])


@pytest.mark.skipif(not shutil.which("shuf"), reason="GNU shuf not installed")
def test_zero_terminated_gives_the_same_multiset_as_gnu_shuf(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(b"a\nb\0c\0\0d")
    ours = cli("-z", src, check=True).stdout
    theirs = subprocess.run(["shuf", "-z", str(src)], capture_output=True, check=True).stdout
    assert sorted(ours.split(b"\0")) == sorted(theirs.split(b"\0"))


@pytest.mark.parametrize("args", [["-e", "a", "b b", "c"], ["-e"], ["-e", "x", "-n", "1"], ["-i", "1-10"], ["-i", "7-6"], ["-i", "0-0", "-n", "5"]])
@pytest.mark.skipif(not shutil.which("shuf"), reason="GNU shuf not installed")
def test_echo_and_input_range_give_the_same_lines_as_gnu_shuf(args):
    ours = cli(*args, check=True).stdout
    theirs = subprocess.run(["shuf", *args], capture_output=True, check=True).stdout
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())


def test_echo_is_a_seeded_permutation_of_its_arguments():
    words = [f"w{i}" for i in range(50)]
    out = cli("-e", "--seed", 2, *words, check=True).stdout
    assert out == reference_order("".join(w + "\n" for w in words).encode(), 2)
    z = cli("-e", "-z", "--seed", 2, "a", "b", check=True).stdout
    assert sorted(z.split(b"\0")) == [b"", b"a", b"b"]


@pytest.mark.parametrize("memory, jobs", [("64M", 1), ("1M", 1), ("2M", 2)])
def test_input_range_is_one_permutation_on_every_budget(memory, jobs):
    """-i is computed (core/range_order.py), not read: every budget and job count gives the library's order."""
    out = cli("-i", "5-300000", "-m", memory, "-j", jobs, "--seed", 8, check=True).stdout
    assert out == b"".join(b"%d\n" % (5 + k) for k in RangeOrder(5, 299_996, 8).offsets(0, 299_996).tolist())


@pytest.mark.parametrize("bad", ["5-3", "3", "a-3", "-3", "1-2-3", "", "1-", "1-A", "1-\u00b2", "0-18446744073709551615"])
def test_bad_input_range_is_a_usage_error(bad):
    """coreutils tests/shuf/shuf.sh: "Test invalid range" (1, A, 1-, 1-A); 1-² is a superscript, not a digit;
    0-(2^64 - 1) is 2^64 numbers, one more than shuf counts."""
    proc = parse("-i", bad)
    assert proc.returncode == 1 and f"shuffle-big: invalid input range: '{bad}'\n".encode() in proc.stderr


def test_echo_and_range_do_not_mix_and_range_takes_no_files():
    assert b"cannot combine -e and -i" in cli("-e", "-i", "1-2", "a").stderr
    assert b"extra operand 'x'" in cli("-i", "1-2", "x").stderr


def test_random_source_derives_the_seed_from_the_file(tmp_path):
    src = tmp_path / "random"
    src.write_bytes(bytes(range(256)) * 10)
    other = tmp_path / "other"
    other.write_bytes(bytes(range(256)) * 9 + b"x")
    seed = xxhash.xxh64_intdigest(src.read_bytes()) >> 1
    a = cli("--random-source", src, "-i", "1-1000", check=True).stdout
    assert a == cli("--seed", seed, "-i", "1-1000", check=True).stdout
    assert a != cli("--random-source", other, "-i", "1-1000", check=True).stdout


def test_random_source_errors(tmp_path):
    short = tmp_path / "short"
    short.write_bytes(b"1234567")
    proc = cli("--random-source", short, "-i", "1-3")
    assert (proc.returncode, proc.stderr) == (1, f"shuffle-big: '{short}': end of file (--random-source needs at least 8 bytes)\n".encode())
    proc = cli("--random-source", tmp_path / "none", "-i", "1-3")
    assert proc.returncode == 1 and proc.stderr.endswith(b"No such file or directory\n")
    assert b"cannot combine --seed and --random-source" in cli("--seed", 1, "--random-source", short, "-i", "1-3").stderr


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(b"id,name\r\n# units\n" + numbered_lines(400_000))
    return path


@pytest.mark.parametrize("memory, jobs, to_file", PATHS)
def test_header_stays_on_top_on_every_path(csv, tmp_path, memory, jobs, to_file):
    out = _run(csv, tmp_path, memory, jobs, to_file, "--header", 2, "--seed", 3)
    assert out.startswith(b"id,name\r\n# units\n")
    assert out == reference_order(csv.read_bytes(), 3, header=2)


def test_header_from_stdin_with_head_and_zero_terminated(csv):
    data = csv.read_bytes()
    full = reference_order(data, 3, header=2)
    assert cli("--header", 2, "-m", "1M", "--seed", 3, input=data, check=True).stdout == full
    head = cli("--header", 2, "-n", 5, "--seed", 3, csv, check=True).stdout
    assert head == b"".join(full.splitlines(keepends=True)[:7])
    z = cli("-z", "--header", 1, "--seed", 1, input=b"h\0a\0b\0c\0", check=True).stdout
    assert z.startswith(b"h\0") and sorted(z.split(b"\0")) == [b"", b"a", b"b", b"c", b"h"]


def test_header_longer_than_the_first_file_keeps_all_of_it_and_only_it(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"h1\nh2")
    b.write_bytes(b"x\ny\n")
    out = cli("--header", 5, "--seed", 1, a, b, check=True).stdout
    assert out.startswith(b"h1\nh2\n") and sorted(out.splitlines()[2:]) == [b"x", b"y"]


@pytest.mark.parametrize("lo, hi, n", [(1, 1000, 50), (0, 0, 5), (0, 99_999, 7), (5, 123_456, 1000), (7, 7, 3), (995, 1005, 20), (8, 12, 0)])
def test_head_of_an_input_range_is_the_head_of_its_permutation(lo, hi, n):
    """-i -n computes only the first n numbers: they must be the whole permutation's first n lines."""
    direct = cli("-i", f"{lo}-{hi}", "-n", n, "--seed", 3, check=True).stdout
    whole = cli("-i", f"{lo}-{hi}", "--seed", 3, check=True).stdout
    assert direct == b"".join(whole.splitlines(keepends=True)[:n])
    assert sorted(map(int, whole.split())) == list(range(lo, hi + 1))
    z = cli("-z", "-i", f"{lo}-{hi}", "-n", n, "--seed", 3, check=True).stdout
    assert z == direct.replace(b"\n", b"\0")
