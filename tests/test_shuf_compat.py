"""shuffle-big as a drop-in for GNU shuf (issue #17): the command line as getopt reads it, errors as
coreutils words and exits them. Each test names the coreutils test file and assertion it mirrors
(written afresh: coreutils' own code is GPL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli, parse

TRY = b"Try 'shuffle-big --help' for more information.\n"


def usage_error(message: str) -> bytes:
    return f"shuffle-big: {message}\n".encode() + TRY


def test_several_head_counts_take_the_smallest():
    # tests/shuf/shuf.sh: "Multiple -n is accepted, should use the smallest value"
    out = cli("-n10", "-i0-9", "-n3", "-n20", check=True).stdout
    assert len(out.splitlines()) == 3


@pytest.mark.parametrize("args, message", [
    # tests/shuf/shuf.sh: "Test multiple -i", "multiple -o are forbidden", "multiple random-sources are forbidden"
    (["-i0-9", "-n10", "-i8-90"], "multiple -i options specified"),
    (["-i0-9", "-o", "A", "-o", "B"], "multiple output files specified"),
    (["-i0-9", "--random-source", "A", "--random-source", "B"], "multiple random sources specified"),
    # "-i and -e must not be used together", "Test invalid value for -n", a redundant operand with -i
    (["-i0-9", "-e", "A", "B"], "cannot combine -e and -i options"),
    (["-nA"], "invalid line count: 'A'"),
    (["-i0-0", "1"], "extra operand '1'"),
])
def test_option_misuse_is_a_usage_error_exiting_1(args, message):
    proc = parse(*args, input=b"")
    assert (proc.returncode, proc.stderr) == (1, usage_error(message))


def test_the_same_output_or_random_source_twice_is_fine(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"0123456789")
    out = tmp_path / "out"
    cli("-i1-5", "-o", out, "-o", out, "--random-source", key, "--random-source", key, check=True)
    assert sorted(out.read_bytes().split()) == [b"1", b"2", b"3", b"4", b"5"]


@pytest.mark.parametrize("args, expected", [
    # getopt takes any unambiguous prefix of a long option; tests/shuf/shuf.sh itself writes --rep
    (["--rep", "-i0-0", "-n3"], b"0\n0\n0\n"),
    (["--head=2", "-i0-9"], 2),  # --head is ours too (--header): shuf's own option wins, as in shuf
    (["--hea", "2", "-i0-9"], 2),
    (["--zero", "-i", "1-1"], b"1\0"),  # shuf.sh: "--zero-terminated -i 1-1" ends in NUL
    (["--input=3-3"], b"3\n"),
])
def test_long_options_may_be_abbreviated(args, expected):
    out = cli(*args, check=True).stdout
    assert out == expected if isinstance(expected, bytes) else len(out.splitlines()) == expected


def test_abbreviated_output_and_random_source_and_an_ambiguous_one(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"0123456789")
    out = tmp_path / "out"
    cli("--out=" + str(out), "--random=" + str(key), "-i1-9", check=True)
    assert out.read_bytes() == cli("--random-source", key, "-i1-9", check=True).stdout
    proc = parse("--r", "-i1-2")
    assert (proc.returncode, proc.stderr) == (1, usage_error(
        "option '--r' is ambiguous; possibilities: '--recursive' '--repeat' '--random-source'"))


def test_an_option_value_that_looks_like_an_option_is_a_value(tmp_path):
    # getopt gives -o the next argument whatever it looks like
    cli("-i1-2", "-o", "--rep", cwd=tmp_path, check=True)
    assert sorted((tmp_path / "--rep").read_bytes().split()) == [b"1", b"2"]


@pytest.mark.parametrize("args, message", [
    # tests/misc/invalid-opt.pl: an invalid option, in getopt's words
    (["-/"], "invalid option -- '/'"),
    (["--no-such-option"], "unrecognized option '--no-such-option'"),
    (["-n"], "option requires an argument -- 'n'"),
    (["--head-count"], "option '--head-count' requires an argument"),
    (["--echo=x"], "option '--echo' doesn't allow an argument"),
])
def test_getopt_errors_in_getopts_words(args, message):
    proc = parse(*args, input=b"")
    assert (proc.returncode, proc.stderr) == (1, usage_error(message))


def test_messages_are_signed_with_the_name_it_was_run_by(tmp_path):
    # tests/misc/invalid-opt.pl expects "shuf: invalid option -- /" when shuffle-big is installed as shuf
    command = shutil.which("shuffle-big", path=str(Path(sys.executable).parent))
    assert command is not None
    (tmp_path / "shuf").symlink_to(command)
    proc = subprocess.run([str(tmp_path / "shuf"), "-/"], capture_output=True)
    assert (proc.returncode, proc.stderr) == (1, b"shuf: invalid option -- '/'\nTry 'shuf --help' for more information.\n")
    proc = subprocess.run([str(tmp_path / "shuf"), str(tmp_path / "missing")], capture_output=True)
    assert (proc.returncode, proc.stderr) == (1, f"shuf: cannot open '{tmp_path / 'missing'}': No such file or directory\n".encode())


def test_head_count_zero_reads_nothing(tmp_path):
    # tests/shuf/shuf.sh: "Ensure shuf -n0 doesn't read any input or open specified files"
    unreadable = tmp_path / "unreadable"
    unreadable.touch()
    unreadable.chmod(0)
    if os.access(unreadable, os.R_OK):
        pytest.skip("running as root: every file is readable")
    assert cli("-n0", unreadable, check=True).stdout == b""
    assert cli("-n1", unreadable).returncode == 1


def test_head_count_zero_opens_no_file_and_ends_an_endless_input(tmp_path):
    assert cli("-n0", tmp_path / "missing", check=True).stdout == b""
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        proc = cli("-n", "0", stdin=yes.stdout, timeout=30)
    finally:
        yes.kill()
        yes.wait()
    assert (proc.returncode, proc.stdout) == (0, b"")
    # shuf.sh: "Exercise shuf's -r -n 0 options, with no standard input"
    proc = subprocess.run([sys.executable, "-m", "shuffle_big", "-r", "-n", "0", str(tmp_path / "missing")],
                          stdin=subprocess.DEVNULL, capture_output=True, close_fds=True)
    assert (proc.returncode, proc.stdout) == (0, b"")


@pytest.mark.parametrize("text, expected", [
    (" +1- +3", [1, 2, 3]),  # blanks and + before each number, as strtoumax reads them
    ("18446744073709551615-18446744073709551615", [2**64 - 1]),  # shuf.sh: the largest number prints whole
    ("5-4", []),  # HI = LO - 1: no numbers
])
def test_input_range_is_read_as_shuf_reads_it(text, expected):
    out = cli("-i", text, check=True).stdout
    assert sorted(int(n) for n in out.split()) == expected


def test_input_range_beyond_64_bits_says_so():
    proc = parse("-i", "1-18446744073709551616")
    assert (proc.returncode, proc.stderr) == (1, usage_error(
        "invalid input range: '1-18446744073709551616': Value too large for defined data type"))


def test_an_empty_output_name_is_no_such_file():
    proc = cli("-o", "", "-i1-2")
    assert (proc.returncode, proc.stderr) == (1, b"shuffle-big: cannot create '': No such file or directory\n")


RESERVOIR_SIZES = [0, 1, 5, 1023, 1024, 1025, 3071, 3072, 3073]


def test_head_of_every_input_size_has_its_lines_once(tmp_path):
    """tests/shuf/shuf-reservoir.sh: `seq IN | shuf -n OUT -o F` for IN, OUT in 0, 1, 5 and around 1024
    and 3072 (shuf's reservoir grows 1024 lines at a time): F holds min(IN, OUT) distinct numbers.
    (Its valgrind run, which checks shuf's C memory handling, is scripts/coreutils_shuf.sh's to make.)"""
    from shuffle_big import shuffle

    for lines in RESERVOIR_SIZES:
        src = tmp_path / f"seq{lines}"
        src.write_bytes(b"".join(b"%d\n" % i for i in range(1, lines + 1)))
        for n in RESERVOIR_SIZES:
            out = tmp_path / f"out_{lines}_{n}"
            shuffle([str(src)], str(out), head=n)
            got = out.read_bytes().split()
            assert len(got) == len(set(got)) == min(lines, n) and all(v.isdigit() for v in got), (lines, n)
    for lines, n in [(0, 5), (1025, 1024), (3073, 3073)]:  # the command itself, input on a pipe
        proc = cli("-n", n, "-o", tmp_path / "out", input=b"".join(b"%d\n" % i for i in range(1, lines + 1)), check=True)
        got = (tmp_path / "out").read_bytes().split()
        assert proc.stdout == b"" and len(got) == len(set(got)) == min(lines, n)


def test_a_directory_is_a_read_error_unless_r(tmp_path):
    """tests/misc/read-errors.sh: `shuf -r .` and `shuf -n1 .` fail (shuf: read error: Is a directory);
    -R makes a directory the files under it."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x\n")
    for args in (["-r", "d"], ["-n1", "d"], ["d"]):
        proc = cli(*args, cwd=tmp_path)
        assert (proc.returncode, proc.stdout) == (1, b"")
        assert proc.stderr == b"shuffle-big: error reading 'd': Is a directory; -R shuffles the files under it\n"
    assert cli("-R", "-n1", "d", cwd=tmp_path, check=True).stdout == b"x\n"


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace, to fail the reads of '.'")
def test_a_failing_read_of_a_directory_says_its_error(tmp_path):
    """read-errors.sh: under `strace -P . -e fault=all:error=EIO` on read and splice, `shuf -n1 .` says EIO."""
    probe = subprocess.run(["strace", "-o", "/dev/null", "-P", "_", "-e", "/read,splice", "-e", "fault=all:error=EIO", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot inject faults here: {probe.stderr.decode().strip()}")
    for args in (["-n1", "."], ["-r", "."]):
        proc = subprocess.run(
            ["strace", "-f", "-o", "/dev/null", "-P", ".", "-e", "/read,splice", "-e", "fault=all:error=EIO",
             sys.executable, "-m", "shuffle_big", *args], capture_output=True, cwd=tmp_path)
        assert proc.returncode == 1 and proc.stderr.endswith(b"shuffle-big: error reading '.': Input/output error\n")


@pytest.mark.parametrize("args", [["-"], [], ["--files-from", "-"]])
def test_a_closed_standard_input_is_a_bad_file_descriptor(args):
    """tests/misc/close-stdin.sh: `shuf - <&-` fails with "Bad file descriptor"."""
    proc = subprocess.run([sys.executable, "-m", "shuffle_big", *args], stdin=None, capture_output=True,
                          preexec_fn=lambda: os.close(0))
    assert proc.returncode == 1 and proc.stderr.endswith(b"'standard input': Bad file descriptor\n")


@pytest.mark.parametrize("typed", [b"a b\n", b""], ids=["with input", "without input"])
def test_one_ctrl_d_ends_input_from_a_terminal(typed):
    """tests/misc/tty-eof.pl: on a terminal, one Ctrl-D after the input (or instead of it) ends the
    run, exit 0 and nothing on stderr; the line is shuffled out."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "shuffle_big"], stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        os.write(master, typed + b"\x04")
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.returncode == 0, "still reading after one Ctrl-D" if proc.returncode < 0 else proc.returncode
        assert proc.stderr is not None and proc.stderr.read() == b""
        os.close(slave)
        slave = -1
        shown = b""
        while True:  # the terminal's echo of what was typed, then the output
            try:
                chunk = os.read(master, 1024)
            except OSError:  # EIO: the other side is closed and all was read
                break
            if not chunk:
                break
            shown += chunk
        assert shown.replace(b"\r\n", b"\n").count(b"a b\n") == (2 if typed else 0)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def _closed_stdout() -> None:
    os.close(1)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-i", "0-1", "-r"]])
def test_write_errors_are_said_and_exit_1(args):
    """tests/misc/write-errors.sh, `shuf -i 0-1 -r` (and help-version.sh's --version, --help): to /dev/full,
    ENOSPC; to a closed standard output, EBADF; to a pipe whose reader is gone, a quiet end."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "shuffle_big", *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1 and proc.stderr.endswith(b": No space left on device\n") and proc.stderr.count(b"\n") == 1
    proc = subprocess.run([sys.executable, "-m", "shuffle_big", *args], stdout=None, stderr=subprocess.PIPE,
                          preexec_fn=_closed_stdout, timeout=60)
    assert proc.returncode == 1 and proc.stderr.endswith(b": Bad file descriptor\n") and proc.stderr.count(b"\n") == 1
    pipe = subprocess.run(f"{sys.executable} -m shuffle_big {' '.join(args)} | :", shell=True, stderr=subprocess.PIPE, timeout=60)
    assert (pipe.returncode, pipe.stderr) == (0, b"")
