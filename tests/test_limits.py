"""Open-file limits: the soft limit is raised when allowed; a tiny limit means more passes, not failure."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from helpers import numbered_lines, reference_order


def _with_nofile(soft: int, hard: int):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_soft_limit_is_raised_to_the_hard_one():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    code = "from shuffle_big.storage.tempspace import raise_fd_limit; print(raise_fd_limit())"
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=_with_nofile(64, hard), capture_output=True, check=True)
    assert int(out.stdout) == min(hard, 1 << 16) > 64


def test_tiny_open_file_limit_still_shuffles(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(120_000))
    proc = subprocess.run(
        [sys.executable, "-m", "shuffle_big", "-m", "1M", "--seed", "6", "--stats=json", str(src)],
        preexec_fn=_with_nofile(40, 40), capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == reference_order(src.read_bytes(), 6)
    passes = json.loads(proc.stderr)["passes"]
    assert passes >= 4  # two buckets at a time: the plan splits again instead of failing


def test_ulimit_n_64_through_the_shell_with_workers(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(1_500_000))  # ~33 MB: parallel scatter and order at 16M
    cmd = f"ulimit -n 64 && exec '{sys.executable}' -m shuffle_big -j 2 -m 16M --seed 4 --stats=json '{src}'"
    proc = subprocess.run(["sh", "-c", cmd], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == reference_order(src.read_bytes(), 4)
    assert b'"jobs": 2' in proc.stderr
