"""-r/--repeat: lines drawn uniformly with replacement, a number of them or without end, out of core."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections import Counter

import numpy as np
import pytest
from helpers import cli, cli_popen, numbered_lines, parse
from stats import chi2_table, chi2_uniform

from shuffle_big.core.keys import derive_keys, keys_of
from shuffle_big.core.records import Block
from shuffle_big.errors import ShuffleError
from shuffle_big.modes.repeat import Repeater, draw_indices

P_MIN = 1e-4


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "in.txt"
    path.write_bytes(numbered_lines(200_000) + b"LONG" * 200_000 + b"\n" + b"last")
    return path


def test_draws_are_the_same_in_memory_streamed_and_from_a_pipe(corpus, tmp_path):
    args = ["-r", "-n", 50_000, "--seed", 3]
    held = cli(*args, "-m", "256M", corpus, check=True).stdout
    assert cli(*args, "-m", "2M", corpus, check=True).stdout == held  # a pass per batch of draws
    assert cli(*args, "-m", "2M", "-T", tmp_path, input=corpus.read_bytes(), check=True).stdout == held
    assert list(tmp_path.iterdir()) == []  # the copy of stdin is gone
    lines = held.splitlines()
    assert len(lines) == 50_000 and set(lines) <= set(corpus.read_bytes().splitlines())


@pytest.mark.parametrize("how", ["fifo", "dev-fd"])
def test_draws_out_of_core_from_a_named_pipe_are_the_same(corpus, tmp_path, how):
    """A FIFO or a pipe named /dev/fd/N (bash's <(...)) can be read only once: it is copied as stdin is.

    Reading it again used to hang (a FIFO waits for a writer that is gone) or end in a traceback.
    """
    args = ["-r", "-n", 50_000, "--seed", 3, "-m", "2M"]
    expected = cli(*args, corpus, check=True).stdout
    temp = tmp_path / "tmp"
    temp.mkdir()
    data = corpus.read_bytes()
    if how == "fifo":
        name = tmp_path / "fifo"
        os.mkfifo(name)
        writer = threading.Thread(target=lambda: name.write_bytes(data))
        pass_fds: tuple[int, ...] = ()
    else:
        read_end, write_end = os.pipe()
        name = f"/dev/fd/{read_end}"

        def write() -> None:
            with open(write_end, "wb") as f:
                f.write(data)

        writer = threading.Thread(target=write)
        pass_fds = (read_end,)
    writer.start()
    proc = cli(*args, "-T", temp, name, pass_fds=pass_fds, timeout=60)
    if how == "dev-fd":
        os.close(read_end)
    writer.join(timeout=10)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout == expected
    assert list(temp.iterdir()) == []  # the copy is gone


def test_a_pass_that_finds_fewer_records_fails_cleanly():
    """Later passes must see the records the first one counted; a missing one is an error, not a None."""
    mix = derive_keys(1, "repeat")
    repeater = Repeater(lambda: iter(()), mix, capacity=1 << 20, budget=1 << 20)
    repeater.records = 10
    with pytest.raises(ShuffleError, match=r"the input changed between passes \(10 lines, then 4\)"):
        repeater._write_picked(lambda: iter([Block(0, b"a\nb\nc\nd\n")]), np.array([1, 9]), lambda data: None)


def test_lines_longer_than_memory_are_drawn_too(tmp_path):
    """A drawn line too long to hold is streamed from the input again (here from the copy of stdin too)."""
    src = tmp_path / "in"
    src.write_bytes(b"short 1\n" + b"L" * (3 << 20) + b"\nshort 2\nshort 3")
    held = cli("-r", "-n", 40, "--seed", 2, "-m", "64M", src, check=True).stdout
    assert held.count(b"L" * (3 << 20) + b"\n") > 3
    assert cli("-r", "-n", 40, "--seed", 2, "-m", "1M", "-T", tmp_path, src, check=True).stdout == held
    assert cli("-r", "-n", 40, "--seed", 2, "-m", "1M", "-T", tmp_path, input=src.read_bytes(), check=True).stdout == held


def test_input_range_draws_without_reading_are_the_same_draws():
    direct = cli("-r", "-n", 100_000, "-i", "5-1000000", "--seed", 3, check=True).stdout
    text = b"".join(b"%d\n" % i for i in range(5, 1_000_001))
    assert cli("-r", "-n", 100_000, "-m", "2M", "--seed", 3, input=text, check=True).stdout == direct
    top = [int(v) for v in cli("-r", "-n", 3, "-i", f"{2**64 - 10}-{2**64 - 1}", check=True).stdout.split()]
    assert len(top) == 3 and all(2**64 - 10 <= v < 2**64 for v in top)  # shuf's largest numbers, whole


def test_draws_over_the_largest_range_stay_in_it_and_are_uniform():
    """Issue #17, item 2: over more than 2^63 numbers half the draws came out negative."""
    out = cli("-r", "-n", 30_000, "-i", f"1-{2**64 - 1}", "--seed", 4, check=True).stdout
    values = [int(v) for v in out.split()]
    assert len(values) == 30_000 and all(1 <= v < 2**64 for v in values)
    assert chi2_uniform([sum(1 for v in values if v * 4 // 2**64 == q) for q in range(4)]) > P_MIN


def thirds_p(draws: np.ndarray, records: int) -> float:
    """Draws of ``records`` numbers as often in each third of them."""
    return chi2_uniform(np.bincount((draws // np.uint64(records // 3)).astype(np.int64), minlength=3).tolist())


def test_draws_are_not_biased_by_the_modulo():
    """3 x 2^62 records: a hash modulo them lands in the first third twice as often, unless redrawn."""
    records, mix = 3 << 62, derive_keys(6, "repeat")
    assert thirds_p(draw_indices(0, 30_000, records, mix), records) > P_MIN
    plain_modulo = keys_of(np.arange(30_000, dtype=np.uint64), mix) % np.uint64(records)
    assert thirds_p(plain_modulo, records) < P_MIN


def test_draws_follow_the_documented_rule(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(1000))
    recs = src.read_bytes().splitlines(keepends=True)
    out = cli("-r", "-n", 500, "--seed", 11, src, check=True).stdout
    picked = draw_indices(0, 500, len(recs), derive_keys(11, "repeat"))
    assert out == b"".join(recs[i] for i in picked)


def test_draws_are_uniform_and_independent():
    out = cli("-r", "-n", 200_000, "-i", "0-99", "--seed", 5, check=True).stdout
    values = [int(v) for v in out.split()]
    assert chi2_uniform(list(Counter(values).values()) + [0] * (100 - len(set(values)))) > P_MIN
    # consecutive draws independent: a 10x10 table of (draw i, draw i+1) by tens
    table = np.zeros((10, 10))
    for a, b in zip(values, values[1:]):
        table[a // 10, b // 10] += 1
    assert chi2_table(table.tolist()) > P_MIN


def test_the_uniformity_check_rejects_a_biased_sampler():
    rng = np.random.default_rng(1)
    biased = np.minimum(rng.integers(0, 100, 200_000), rng.integers(0, 101, 200_000)) % 100  # leans low
    assert chi2_uniform(np.bincount(biased, minlength=100).tolist()) < P_MIN
    sticky = np.repeat(rng.integers(0, 100, 100_000), 2)  # each draw repeated: not independent
    table = np.zeros((10, 10))
    for a, b in zip(sticky, sticky[1:]):
        table[a // 10, b // 10] += 1
    assert chi2_table(table.tolist()) < P_MIN


def test_endless_draws_stop_quietly_at_the_end_of_a_pipe(corpus, tmp_path):
    for memory in ("256M", "2M"):
        reader = cli_popen("-r", "-m", memory, "-T", tmp_path, "-", stdin=open(corpus, "rb"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = subprocess.run(["head", "-n", "30000"], stdin=reader.stdout, capture_output=True, check=True)
        reader.stdout.close()
        status = reader.wait(timeout=60)
        assert status == -13, (memory, status)  # killed by SIGPIPE, as `| head` does to a C tool
        assert reader.stderr.read() == b""
        assert len(head.stdout.splitlines()) == 30000
    assert list(tmp_path.iterdir()) == []


def test_header_zero_terminated_and_shards(tmp_path):
    out = cli("-r", "-n", 6, "--header", 1, input=b"h\na\nb\n", check=True).stdout.splitlines()
    assert out[0] == b"h" and len(out) == 7 and set(out[1:]) <= {b"a", b"b"}
    z = cli("-r", "-z", "-n", 4, "-e", "x", "y", check=True).stdout
    assert z.count(b"\0") == 4 and set(z.split(b"\0")[:-1]) <= {b"x", b"y"}
    cli("-r", "-n", 5, "-i", "1-3", "--shards", 2, "-o", tmp_path / "s{i}", "--seed", 1, check=True)
    whole = cli("-r", "-n", 5, "-i", "1-3", "--seed", 1, check=True).stdout
    assert (tmp_path / "s0").read_bytes() + (tmp_path / "s1").read_bytes() == whole


def test_nothing_to_repeat_and_bad_combinations():
    proc = cli("-r", input=b"")
    assert (proc.returncode, proc.stderr) == (1, b"shuffle-big: no lines to repeat\n")
    assert cli("-r", "-n", 0, input=b"", check=True).stdout == b""
    assert b"cannot be combined with -r" in parse("-r", "--verify", "-n", 1, input=b"a\n").stderr
    assert b"--shards with -r needs -n" in parse("-r", "--shards", 2, "-o", "x{i}", input=b"a\n").stderr


@pytest.mark.skipif(not shutil.which("shuf"), reason="GNU shuf not installed")
def test_counts_and_values_like_gnu_shuf():
    cases = [(["-n", "1000", "-i", "1-10"], {b"%d" % i for i in range(1, 11)}), (["-n", "7", "-e", "a", "b"], {b"a", b"b"})]
    for args, values in cases:
        ours = cli("-r", *args, check=True).stdout.splitlines()
        theirs = subprocess.run(["shuf", "-r", *args], capture_output=True, check=True).stdout.splitlines()
        assert len(ours) == len(theirs) and set(ours) <= values and set(theirs) <= values
