"""The command's behaviour at its edges: bytes, errors, signals, -o, pipes, progress."""

from __future__ import annotations

import os
import select
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
from helpers import cli, cli_popen, numbered_lines, parse, records, reference_order


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"\n\n\n",
        b"only line",
        b"a\r\nb\r\nc\r\n",
        b"mixed\r\nends\nhere\r\n",
        b"nul\x00byte\n\x00\n\x00\x00\x00",
        b"\xff\xfe invalid utf-8 \xc3\x28\n\x80\x81\n",
        b"no final newline\nlast",
        b"same\n" * 50,
    ],
    ids=["empty", "one-empty-line", "empty-lines", "no-newline", "crlf", "mixed-crlf", "nul", "invalid-utf8", "no-final-newline", "duplicates"],
)
@pytest.mark.parametrize("memory", ["1M", "64M"])
def test_bytes_pass_through_unchanged(tmp_path, data, memory):
    src = tmp_path / "in"
    src.write_bytes(data)
    proc = cli("--seed", 1, "-m", memory, src, check=True)
    assert sorted(records(proc.stdout)) == sorted(records(data))
    assert proc.stdout == reference_order(data, 1)
    if data:
        assert proc.stdout.endswith(b"\n")
    else:
        assert proc.stdout == b""


def test_stdin_dash_and_no_file_are_the_same():
    data = numbered_lines(500)
    a = cli("--seed", 4, input=data, check=True).stdout
    b = cli("--seed", 4, "-", input=data, check=True).stdout
    assert a == b == reference_order(data, 4)


def test_seed_is_repeatable_and_matters(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(2000))
    one = cli("--seed", 7, src, check=True).stdout
    assert cli("--seed", 7, src, check=True).stdout == one
    assert cli("--seed", 8, src, check=True).stdout != one


def test_without_seed_each_run_differs_and_verbose_prints_the_seed(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(2000))
    first = cli("-v", src, check=True)
    second = cli("-v", src, check=True)
    assert first.stdout != second.stdout
    seed = int(first.stderr.split(b"seed ")[1].split(b":")[0])
    assert cli("--seed", seed, src, check=True).stdout == first.stdout


def test_output_file_and_in_place(tmp_path):
    src = tmp_path / "data.txt"
    data = numbered_lines(30_000)
    src.write_bytes(data)
    os.chmod(src, 0o640)
    out = tmp_path / "out.txt"
    cli("--seed", 2, "-m", "1M", src, "-o", out, check=True)
    assert out.read_bytes() == reference_order(data, 2)
    # in place, through the two-pass path: the input is fully read before the rename
    proc = cli("--seed", 2, "-m", "1M", "-o", src, src)
    assert proc.returncode == 0 and proc.stdout == b""
    assert src.read_bytes() == reference_order(data, 2)
    assert oct(src.stat().st_mode & 0o777) == oct(0o640)  # mode of the file it replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt", "out.txt"]


def test_new_output_file_gets_umask_mode(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(b"a\nb\n")
    out = tmp_path / "new.txt"
    proc = subprocess.run(f"umask 027; {sys.executable} -m shuffle_big -o {out} {src}", shell=True)
    assert proc.returncode == 0
    assert out.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.txt"], b"shuffle-big: cannot open 'missing.txt': No such file or directory\n"),
        (["IN/x"], b"shuffle-big: cannot open 'IN/x': Not a directory\n"),
        (["-o", "no/such/dir/out.txt", "IN"], b"shuffle-big: cannot create 'no/such/dir/out.txt': No such file or directory\n"),
        (["-o", ".", "IN"], b"shuffle-big: cannot create '.': Is a directory\n"),
    ],
)
def test_errors_are_one_line_and_exit_1(tmp_path, args, message):
    (tmp_path / "IN").write_bytes(b"x\n")
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == message
    assert proc.stdout == b""


def test_unreadable_input(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    src = tmp_path / "secret"
    src.write_bytes(b"x\n")
    src.chmod(0)
    proc = cli(src)
    assert proc.returncode == 1 and b"Permission denied" in proc.stderr


def test_a_usage_error_from_the_real_command():
    """The checks run in-process below (``parse``); the console entry point reports them the same way."""
    try_help = b"Try 'shuffle-big --help' for more information.\n"
    proc = cli("-m", "1K", "--verify", "-n", 1, input=b"x\n")
    assert proc.returncode == 1 and proc.stdout == b""  # GNU's usage errors exit 1, in two lines
    assert proc.stderr == b"shuffle-big: Invalid value for '-m' / '--memory': '1K' is too small; the minimum is 1.0M\n" + try_help
    proc = cli("--verify", "-n", 1, input=b"x\n")
    assert (proc.returncode, proc.stderr) == (1, b"shuffle-big: --verify checks a whole shuffle; it cannot be combined with -n\n" + try_help)


@pytest.mark.parametrize("memory, why", [("0", b"too small"), ("1K", b"minimum is 1.0M"), ("12Q", b"invalid size"), ("-3G", b"invalid size")])
def test_bad_memory_is_a_usage_error(memory, why):
    proc = parse("-m", memory, input=b"x\n")
    assert proc.returncode == 1
    assert why in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_failure_keeps_previous_output_and_leaves_nothing(tmp_path, temp_dir):
    good = tmp_path / "good"
    good.write_bytes(numbered_lines(1000))
    out = tmp_path / "out.txt"
    out.write_bytes(b"previous contents\n")
    proc = cli("-o", out, "-T", temp_dir, good, tmp_path / "missing")
    assert proc.returncode == 1
    assert out.read_bytes() == b"previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good", "out.txt", "tmp"]
    assert list(temp_dir.iterdir()) == []


def test_temp_dir_that_cannot_be_created(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(200_000))
    proc = cli("-m", "1M", "-T", tmp_path / "nope", src)
    assert proc.returncode == 1
    assert proc.stderr.startswith(b"shuffle-big: cannot create temporary directory in ")
    assert b"No such file or directory" in proc.stderr


def _slow_writer(proc: subprocess.Popen, chunks: int, chunk: bytes) -> None:
    for _ in range(chunks):
        proc.stdin.write(chunk)
        proc.stdin.flush()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_run_cleans_up(tmp_path, temp_dir, sig):
    """Interrupted while pass 1 waits on a pipe: temp dir and partial output removed."""
    out = tmp_path / "out.txt"
    out.write_bytes(b"old\n")
    proc = cli_popen("-m", "1M", "-T", temp_dir, "-o", out, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _slow_writer(proc, 8, numbered_lines(100_000))  # ~6 MB: spills to buckets
    deadline = time.time() + 10
    while not any(temp_dir.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    assert any(temp_dir.iterdir()), "the run should have spilled to temp files by now"
    proc.send_signal(sig)
    proc.wait(timeout=20)
    assert proc.returncode == -sig  # dies by the signal, as C tools do
    assert proc.stderr.read() == b""
    assert list(temp_dir.iterdir()) == []
    assert out.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "tmp"]


def test_signal_during_pass_two_cleans_up(tmp_path, temp_dir):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(300_000))
    # stdout is a pipe nobody reads: pass 2 blocks on a full pipe with buckets on disk. Only pass 2
    # writes output, so output to read means pass 2 has begun.
    proc = cli_popen("-m", "1M", "-T", temp_dir, src, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    readable, _, _ = select.select([proc.stdout], [], [], 30)
    assert readable and proc.poll() is None, "pass 2 never began writing"
    assert [p for d in temp_dir.iterdir() for p in d.iterdir()], "no buckets on disk"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGTERM
    assert list(temp_dir.iterdir()) == []


def test_broken_pipe_is_quiet(tmp_path, temp_dir):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(300_000))
    proc = subprocess.run(
        f"{sys.executable} -m shuffle_big -m 1M -T {temp_dir} {src} | head -n 1; echo \"status ${{PIPESTATUS[0]}}\"",
        shell=True, capture_output=True, executable="/bin/bash",
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == b"status 141"  # killed by SIGPIPE, like GNU tools
    assert proc.stderr == b""
    assert list(temp_dir.iterdir()) == []


def test_progress_bars_on_request_and_quiet(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(100_000))
    shown = cli("-m", "1M", "--progress", src, check=True)
    assert b"pass 1" in shown.stderr and b"pass 2" in shown.stderr
    assert cli("-m", "1M", src, check=True).stderr == b""  # stderr is not a terminal
    assert cli("-m", "1M", "--progress", "-q", "-v", src, check=True).stderr == b""


def test_help_and_version():
    proc = cli("--help", check=True)
    for word in (b"--memory", b"--seed", b"--output", b"--temp-dir", b"Examples"):
        assert word in proc.stdout
    assert cli("--version", check=True).stdout.startswith(b"shuffle-big")


def test_help_has_an_example_of_every_feature_option():
    text = cli("--help", check=True).stdout.decode()
    examples = text[text.index("Examples:"):text.index("How it works")]
    for option in ["-o", "--shards", "-n", "-r", "-e", "-i", "-z", "--header", "--seed", "--random-source", "--verify", "--stats", "-m"]:
        assert f" {option} " in examples or f" {option}=" in examples, option


@pytest.mark.parametrize("jobs", [1, 2])
def test_output_to_a_fifo_is_written_in_place(tmp_path, temp_dir, jobs):
    """A FIFO (like /dev/null, a device) is opened and written, never replaced by a renamed file."""
    data = numbered_lines(1_000_000)  # ~24 MB: spills at 4M
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    for target in (fifo, link):
        got = []
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
        reader.start()
        cli("-j", jobs, "-m", "4M", "--seed", 2, "-T", temp_dir, "-o", target, input=data, check=True)
        reader.join(timeout=60)
        assert got == [reference_order(data, 2)]
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "out.fifo", "tmp"]


def test_output_to_dev_stdout_writes_where_the_caller_is(tmp_path):
    """-o /dev/stdout is our stdout itself: after what the script wrote before, not over it."""
    log = tmp_path / "log"
    exe = f"{sys.executable} -m shuffle_big"
    subprocess.run(
        f"{{ echo before; {exe} -i 1-3 --seed 1 -o /dev/stdout; {exe} -i 4-5 --seed 1 -o /dev/fd/3 3>&1; echo after; }} > {log}",
        shell=True, check=True,
    )
    lines = log.read_bytes().split(b"\n")
    assert lines[0] == b"before" and lines[-2:] == [b"after", b""]
    assert sorted(lines[1:4]) == [b"1", b"2", b"3"] and sorted(lines[4:6]) == [b"4", b"5"]
    proc = cli("-i", "1-3", "-o", "/dev/fd/9")
    assert (proc.returncode, proc.stderr) == (1, b"shuffle-big: cannot open '/dev/fd/9': Bad file descriptor\n")


def test_output_through_a_symlink_replaces_its_target(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    cli("-i", "1-100", "--seed", 3, "-o", link, check=True)
    assert link.is_symlink() and sorted(real.read_bytes().split()) == sorted(b"%d" % i for i in range(1, 101))
