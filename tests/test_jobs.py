"""-j N: the same bytes as -j 1 on every path, and clean failure when a worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli, cli_popen, numbered_lines, reference_order


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """~24 MB with a few long lines: spills at 16M and splits again in the workers at 8M."""
    parts = []
    for i in range(12):
        parts.append(numbered_lines(60_000, width=0))
        parts.append(b"LONG%d" % i + b"q" * 900_000 + b"\n")
    path = tmp_path_factory.mktemp("jobs") / "mixed.txt"
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize("memory", ["8M", "16M", "64M"])
def test_jobs_do_not_change_the_output(mixed, memory, tmp_path, temp_dir):
    expected = reference_order(mixed.read_bytes(), 21)
    for jobs in (1, 2, 3):
        proc = cli("-j", jobs, "-m", memory, "--seed", 21, "-T", temp_dir, "-v", mixed, check=True)
        assert proc.stdout == expected, f"-j {jobs} -m {memory}"
        out = tmp_path / f"out{jobs}"
        cli("-j", jobs, "-m", memory, "--seed", 21, "-T", temp_dir, mixed, "-o", out, check=True)
        assert out.read_bytes() == expected, f"-j {jobs} -m {memory} -o"
        assert list(temp_dir.iterdir()) == []
    assert b"2 jobs" in cli("-j", 2, "-m", memory, "-v", mixed, check=True).stderr


def test_jobs_with_stdin_and_several_files(mixed, tmp_path):
    small = tmp_path / "small"
    small.write_bytes(b"no newline at end")
    data = mixed.read_bytes()
    expected = reference_order([data, data, small.read_bytes()], 5)
    got = cli("-j", 2, "-m", "16M", "--seed", 5, "-", mixed, small, input=data, check=True).stdout
    assert got == expected
    got = cli("-j", 2, "-m", "16M", "--seed", 5, mixed, mixed, small, check=True).stdout
    assert got == expected


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _wait_for_workers(proc, temp_dir, n: int) -> list[int]:
    deadline = time.time() + 20
    while time.time() < deadline:
        kids = [c for c in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        if len(kids) >= n and any(temp_dir.iterdir()):
            return kids
        time.sleep(0.02)
    raise AssertionError("workers did not start")


@pytest.fixture
def big(tmp_path) -> Path:
    src = tmp_path / "big.txt"
    src.write_bytes(numbered_lines(2_500_000))  # ~60 MB
    return src


def test_worker_killed_fails_cleanly(big, tmp_path, temp_dir):
    out = tmp_path / "out.txt"
    out.write_bytes(b"old\n")
    proc = cli_popen("-j", 2, "-m", "16M", "-T", temp_dir, big, "-o", out, stderr=subprocess.PIPE)
    kids = _wait_for_workers(proc, temp_dir, 2)
    os.kill(kids[0], signal.SIGKILL)
    status = proc.wait(timeout=30)
    assert (status, proc.stderr.read()) == (1, b"shuffle-big: a worker process died unexpectedly (out of memory, or killed?)\n")
    assert list(temp_dir.iterdir()) == []
    assert out.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt", "out.txt", "tmp"]


def test_sigterm_stops_workers_and_cleans_up(big, temp_dir):
    proc = cli_popen("-j", 2, "-m", "16M", "-T", temp_dir, big, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids = _wait_for_workers(proc, temp_dir, 2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert proc.stderr.read() == b""
    assert list(temp_dir.iterdir()) == []
    time.sleep(0.2)
    assert not [k for k in kids if Path(f"/proc/{k}").exists() and b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]


def _when_spawning(proc, n: int) -> None:
    """Return as soon as the n-th worker exists: the parent is still spawning it."""
    deadline = time.time() + 20
    while len(_children(proc.pid)) < n and time.time() < deadline:
        time.sleep(0.001)
    assert len(_children(proc.pid)) >= n and proc.poll() is None, f"the run never started child {n}"


@pytest.mark.parametrize("sig, group", [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGINT, True)])
def test_signal_while_workers_start(big, temp_dir, sig, group):
    """A signal mid-spawn: no traceback from a half-started worker, and no signal lost.

    Ctrl-C goes to the whole process group, so the workers get it too.
    """
    # later (delay), a worker is importing the package
    for n, delay in [(1, 0.03), (2, 0), (2, 0.02), (2, 0.05), (2, 0.1)]:
        proc = cli_popen("-j", 2, "-m", "16M", "-T", temp_dir, big, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
        _when_spawning(proc, n)
        time.sleep(delay)
        os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
        assert (proc.wait(timeout=30), proc.stderr.read()) == (-sig, b""), (n, delay)
        assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("how", ["nohup", "background job"])
def test_signals_ignored_at_start_stay_ignored(big, tmp_path, temp_dir, how):
    """Like sort: under nohup a hangup, in a script's `cmd &` a Ctrl-C, does not stop the run."""
    out = tmp_path / "out.txt"
    args = ["-j", 2, "-m", "16M", "--seed", 4, "-T", temp_dir, big, "-o", out]
    if how == "nohup":
        sig = signal.SIGHUP
        proc = subprocess.Popen(["nohup", sys.executable, "-m", "shuffle_big", *map(str, args)],
                                stderr=subprocess.PIPE, start_new_session=True)
    else:
        sig = signal.SIGINT  # what a shell without job control does to a command run with &
        proc = cli_popen(*args, stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=lambda: signal.signal(sig, signal.SIG_IGN))
    _wait_for_workers(proc, temp_dir, 2)
    os.killpg(proc.pid, sig)  # the workers get it too, as from a terminal
    assert (proc.wait(timeout=60), proc.stderr.read()) == (0, b"")
    assert out.read_bytes() == reference_order(big.read_bytes(), 4)


def test_small_stdin_with_jobs_stays_in_memory(tmp_path):
    data = numbered_lines(5000)
    proc = cli("-j", 2, "-m", "64M", "--seed", 8, "-T", tmp_path / "missing", "-v", input=data, check=True)
    assert b"in memory" in proc.stderr  # the -T directory does not even exist
    assert proc.stdout == reference_order(data, 8)


def test_big_stdin_with_jobs_is_ordered_in_parallel(mixed, temp_dir):
    data = mixed.read_bytes()
    proc = cli("-j", 2, "-m", "16M", "--seed", 8, "-T", temp_dir, "-v", input=data, check=True)
    assert b"2 jobs" in proc.stderr and b"bucket files" in proc.stderr
    assert proc.stdout == reference_order(data, 8)
    assert list(temp_dir.iterdir()) == []
