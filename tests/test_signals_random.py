"""Signals at random moments of every phase: prompt exit, nothing left behind (slow: many runs)."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import pytest
from helpers import cli_popen, numbered_lines

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_random_signals_leave_nothing(tmp_path, jobs):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(1_500_000))  # ~35 MB: a second or two at 8M
    out = tmp_path / "out.txt"
    expected = sorted(src.read_bytes().splitlines())
    rng = random.Random(1234 + jobs)
    # the moments are drawn from within a run, whatever this machine's speed
    started = time.time()
    cli_popen("-j", jobs, "-m", "8M", "-T", tmp_path, src, "-o", out, stderr=subprocess.PIPE).wait(timeout=60)
    duration = time.time() - started
    interrupted = 0
    for run in range(12):
        out.write_bytes(b"previous\n")
        temp = tmp_path / f"t{run}"
        temp.mkdir()
        sig = rng.choice(SIGNALS)
        proc = cli_popen("-j", jobs, "-m", "8M", "-T", temp, src, "-o", out, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.15, max(0.3, duration)))  # earlier, Python itself is still starting
        proc.send_signal(sig)
        start = time.time()
        code = proc.wait(timeout=30)
        assert time.time() - start < 5, "exit should be prompt"
        assert code in (0, -sig), (run, sig, code, proc.stderr.read())
        interrupted += code == -sig
        assert proc.stderr.read() == b""
        assert list(temp.iterdir()) == []
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("t")) == ["in.txt", "out.txt"]
        got = out.read_bytes()
        if code != 0 and got != b"previous\n":
            # the signal came after the rename, during the last clean-up: the output is whole
            assert sorted(got.splitlines()) == expected
    # the moments must land mostly mid-run, or the test would pass without testing a signal
    assert interrupted >= 6, f"only {interrupted} of 12 runs were interrupted: the runs end too soon"
