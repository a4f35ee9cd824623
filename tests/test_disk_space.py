"""Running out of disk: checked up front for files, clean failure when it happens anyway.

Uses a real 4 MB tmpfs, which needs root (as in CI here); skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from helpers import cli, numbered_lines


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("needs permission to mount a small tmpfs")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def big_input(tmp_path):
    src = tmp_path / "big.txt"
    src.write_bytes(numbered_lines(200_000, width=40))  # ~9 MB
    return src


def test_free_space_checked_before_pass_one(small_fs, big_input):
    proc = cli("-m", "1M", "-T", small_fs, big_input)
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"shuffle-big: not enough space in temporary directory ")
    assert b"use -T DIR" in proc.stderr and proc.stderr.count(b"\n") == 1
    assert proc.stdout == b""
    assert list(small_fs.iterdir()) == []


def test_temp_disk_full_from_a_pipe(small_fs, big_input):
    proc = cli("-m", "1M", "-T", small_fs, input=big_input.read_bytes())
    assert proc.returncode == 1
    assert proc.stderr == b"shuffle-big: cannot write to temporary directory: No space left on device\n"
    assert list(small_fs.iterdir()) == []


def test_output_disk_full_keeps_old_file(small_fs, big_input, tmp_path):
    out = small_fs / "out.txt"
    out.write_bytes(b"old\n")
    proc = cli("-m", "64M", "-T", tmp_path, big_input, "-o", out)
    assert proc.returncode == 1
    assert proc.stderr == f"shuffle-big: error writing '{out}': No space left on device\n".encode()
    assert out.read_bytes() == b"old\n"
    assert [p.name for p in small_fs.iterdir()] == ["out.txt"]
