"""Running out of disk: checked up front for files, clean failure when it happens anyway.

Uses a real 4 MB tmpfs, which needs root (as in CI here), skipped otherwise;
and a per-file size limit (RLIMIT_FSIZE), which needs nothing.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
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


def _file_size_limit(limit: int):
    def setup():
        # A write past the limit then fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


def test_temp_space_full_in_pass_two(tmp_path):
    """Pass 1's bucket files fit under the per-file limit; pass 2's ordered runs do not.

    RLIMIT_FSIZE needs no privileges: EFBIG stands in for ENOSPC, at a moment we choose.
    """
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(2_000_000))  # ~47 MB: runs of ~3 MB, bucket files of ~100 KB
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "shuffle_big", "-j", "2", "-m", "16M", "-T", str(temp), "--stats", str(src)],
        preexec_fn=_file_size_limit(1 << 20), capture_output=True,
    )
    assert proc.returncode == 1
    assert proc.stderr == b"shuffle-big: cannot write to temporary directory: File too large\n"
    assert list(temp.iterdir()) == []


def test_output_disk_full_with_jobs(small_fs, big_input, tmp_path):
    """Workers write at their offsets in the output: one of them hits the full disk."""
    out = small_fs / "out.txt"
    out.write_bytes(b"old\n")
    proc = cli("-j", 2, "-m", "16M", "-T", tmp_path, big_input, "-o", out)
    assert proc.returncode == 1
    assert proc.stderr == f"shuffle-big: error writing '{out}': No space left on device\n".encode()
    assert out.read_bytes() == b"old\n"
    assert [p.name for p in small_fs.iterdir()] == ["out.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("shuffle-big.")]


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory this process cannot write to: mode 0555, or for root (who ignores modes) a read-only mount."""
    path = tmp_path / "locked"
    path.mkdir(mode=0o555)
    if os.geteuid() != 0:
        yield path, "Permission denied"
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1M", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("running as root and cannot mount a read-only tmpfs")
    try:
        yield path, "Read-only file system"
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_temp_dir_not_writable(tmp_path, unwritable_dir):
    locked, why = unwritable_dir
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(100_000))
    proc = cli("-m", "1M", "-T", locked, src)
    assert proc.returncode == 1
    assert proc.stderr == f"shuffle-big: cannot create temporary directory in '{locked}': {why}\n".encode()
    assert proc.stdout == b""
