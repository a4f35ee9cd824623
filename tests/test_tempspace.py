"""Leftovers of killed runs: recognisable, and removed once their owner is gone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from helpers import cli, cli_popen, numbered_lines


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftover(parent, pid: int, host: str | None = None):
    d = parent / f"shuffle-big.{pid}.abcd1234"
    d.mkdir()
    (d / "b1.0").write_bytes(b"x" * 1000)
    (d / "owner").write_text((host or socket.gethostname()) + "\n")
    return d


def test_sigkill_leaves_a_named_dir_that_the_next_run_removes(tmp_path, temp_dir):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(400_000))
    proc = cli_popen("-j", 1, "-m", "1M", "-T", temp_dir, src, stdout=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not any(temp_dir.iterdir()) and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list(temp_dir.iterdir())
    assert [p.name.startswith(f"shuffle-big.{proc.pid}.") for p in left] == [True]
    cli("-j", 1, "-m", "1M", "-T", temp_dir, src, check=True)  # spills: cleans up on the way
    assert list(temp_dir.iterdir()) == []


def test_clean_temp_removes_only_dead_owners_of_this_host(temp_dir):
    dead = _leftover(temp_dir, _dead_pid())
    alive = _leftover(temp_dir, os.getpid())
    other_host = _leftover(temp_dir, _dead_pid() + 1_000_000, host="another-host")
    unrelated = temp_dir / "something-else"
    unrelated.mkdir()
    proc = cli("--clean-temp", "-T", temp_dir, check=True)
    assert proc.stderr == b"shuffle-big: removed 1 stale temporary directory\n"
    assert not dead.exists()
    assert alive.exists() and other_host.exists() and unrelated.exists()


def test_the_sweep_touches_only_this_users_real_directories(tmp_path, temp_dir):
    """On a shared /tmp anyone can plant ``shuffle-big.<dead pid>.x``: a symlink to a directory of the
    victim's is neither followed nor removed, and another user's directory is left alone (issue #16)."""
    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "owner").write_text(socket.gethostname() + "\n")
    (victim / "data").write_bytes(b"keep me")
    planted = temp_dir / f"shuffle-big.{_dead_pid()}.sym"
    planted.symlink_to(victim)
    theirs = _leftover(temp_dir, _dead_pid())
    mine = _leftover(temp_dir, _dead_pid())
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(theirs, 65534, 65534)  # nobody's
    proc = cli("--clean-temp", "-T", temp_dir, check=True)
    assert proc.stderr == f"shuffle-big: removed {1 if as_root else 2} stale temporary director{'y' if as_root else 'ies'}\n".encode()
    assert planted.is_symlink() and (victim / "data").read_bytes() == b"keep me"
    assert not mine.exists()
    assert theirs.exists() == as_root


def test_remove_tree_outlasts_a_task_still_writing(tmp_path):
    """A task of a shared cluster may still add a few files while the run removes its temp dir."""
    from shuffle_big.storage.tempspace import remove_tree

    for round in range(5):
        tree = tmp_path / f"run{round}"
        sub = tree / "s0.task"
        sub.mkdir(parents=True)
        for i in range(1000):
            (sub / f"old{i}").write_bytes(b"x")
        started = threading.Event()

        def straggler() -> None:
            started.set()
            for i in range(300):  # like a task: a file now and then, in its own directory, until that is gone
                try:
                    (sub / f"b{i}").write_bytes(b"x")
                except FileNotFoundError:
                    return
                time.sleep(0.0002)

        t = threading.Thread(target=straggler)
        t.start()
        started.wait()
        remove_tree(str(tree))
        t.join()
        assert not tree.exists(), round


def test_a_killed_process_not_yet_reaped_is_dead(temp_dir):
    """A zombie (killed, its parent not having waited for it yet) owns nothing: its directory is stale."""
    from shuffle_big.storage.tempspace import stale_dirs

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        proc.kill()
        deadline = time.time() + 10
        while time.time() < deadline and not open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
            time.sleep(0.01)
        assert open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", "never became a zombie"
        zombie = _leftover(temp_dir, proc.pid)
        living = _leftover(temp_dir, os.getpid())
        assert stale_dirs(str(temp_dir)) == [str(zombie)] and living.exists()
    finally:
        proc.wait()
