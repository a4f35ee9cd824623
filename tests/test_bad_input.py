"""Unusual inputs and options: special files, changing files, budgets beyond RAM."""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time

import pytest
from helpers import cli, cli_popen, numbered_lines, reference_order


def test_dev_null_and_empty_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert cli("/dev/null", check=True).stdout == b""
    assert cli(empty, "/dev/null", check=True).stdout == b""


def test_fifo_input(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = numbered_lines(100_000)

    def feed():
        with open(fifo, "wb") as f:
            f.write(data)

    t = threading.Thread(target=feed)
    t.start()
    proc = cli("-m", "1M", "--seed", 4, fifo, check=True)
    t.join()
    assert proc.stdout == reference_order(data, 4)


def test_a_fifo_is_opened_once(tmp_path):
    """Opening a FIFO meets its writer: closing it again would leave a real producer writing to no reader."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = numbered_lines(100_000)
    went_away = []

    def producer():
        fd = os.open(fifo, os.O_WRONLY)
        watch = select.poll()
        watch.register(fd, 0)  # POLLERR alone: every reader closed its end
        if watch.poll(300):
            went_away.append(True)
            os.close(fd)
            fd = os.open(fifo, os.O_WRONLY)  # only so that the tool does not wait forever
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.close(fd)

    t = threading.Thread(target=producer)
    t.start()
    proc = cli("-m", "1M", "--seed", 4, fifo, check=True)
    t.join()
    assert not went_away, "the FIFO was opened and closed before being read"
    assert proc.stdout == reference_order(data, 4)


def test_binary_input_without_newlines(tmp_path):
    src = tmp_path / "bin"
    src.write_bytes(bytes(range(256)).replace(b"\n", b"") * 8000)  # 2 MB, one line, NULs included
    proc = cli("-m", "1M", src, check=True)
    assert proc.stdout == src.read_bytes() + b"\n"


@pytest.mark.parametrize("change, jobs", [("grow", 1), ("truncate", 1), ("truncate", 2)])
def test_input_changing_while_read_is_an_error(tmp_path, temp_dir, change, jobs):
    src = tmp_path / "growing.txt"
    src.write_bytes(numbered_lines(1_500_000))
    out = tmp_path / "out"
    proc = cli_popen("-j", jobs, "-m", "1M" if jobs == 1 else "8M", "-T", temp_dir, src, "-o", out, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while not any(temp_dir.iterdir()) and time.time() < deadline:
        time.sleep(0.01)
    if change == "grow":
        with open(src, "ab") as f:
            f.write(b"appended while reading\n")
    else:
        os.truncate(src, 1000)
    assert proc.wait(timeout=60) == 1
    err = proc.stderr.read()
    assert err.startswith(f"shuffle-big: input '{src}' changed while being read (size ".encode())
    assert err.count(b"\n") == 1
    assert not out.exists() and list(temp_dir.iterdir()) == []


def test_memory_beyond_ram_is_clamped_with_a_warning():
    proc = cli("-m", "99T", input=b"a\nb\n", check=True)
    assert proc.stderr.startswith(b"shuffle-big: warning: --memory 99.0T is more than this machine's RAM")
    assert b"80% of RAM" in proc.stderr
    assert sorted(proc.stdout.splitlines()) == [b"a", b"b"]
    assert cli("-q", "-m", "99T", input=b"a\n", check=True).stderr == b""
