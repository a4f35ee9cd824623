"""Test helpers: run the real command, make inputs, compute the reference order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shuffle_big.core.keys import derive_keys, input_base, key_of

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, input: bytes | None = None, env: dict | None = None, check: bool = False, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m shuffle_big ARGS`` in a subprocess and capture bytes."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "shuffle_big", *map(str, args)],
        input=input, capture_output=True, env=full_env, **kw,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr.decode(errors='replace')}")
    return proc


def parse(*args: object, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The command line parsed and checked in this process (click's CliRunner), as ``cli`` reports a run.

    For option errors, which stop before any work: no interpreter to start. The
    command only parses into an ``Invocation`` (``stdout`` then holds nothing).
    """
    from click.testing import CliRunner

    from shuffle_big.cli import command

    result = CliRunner().invoke(command, [str(a) for a in args], input=input)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout_bytes, result.stderr_bytes)


def cli_popen(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "shuffle_big", *map(str, args)], **kw)


def read_records(reader) -> list[tuple[int, bytes]]:
    """(position, record) for every record a RecordReader yields, long ones joined."""
    from shuffle_big.core.records import Block

    out = []
    for item in reader:
        if isinstance(item, Block):
            start = item.start
            for rec in records(item.data):
                out.append((start, rec))
                start += len(rec)
        else:
            out.append((item.start, b"".join(item.pieces)))
    return out


def records(data: bytes, sep: bytes = b"\n") -> list[bytes]:
    """Records of ``data`` as the tool sees them: lines with their separator (one added at the end)."""
    if not data:
        return []
    if not data.endswith(sep):
        data += sep
    return [line + sep for line in data[:-1].split(sep)]


def reference_order(data: bytes | list[bytes], seed: int, sep: bytes = b"\n", header: int = 0) -> bytes:
    """The permutation the tool promises, computed the slow, obvious way.

    ``data``: one input's bytes, or a list of the inputs' bytes (each keyed by its
    index and the offset inside it). ``header``: that many records at the top stay in place.
    """
    mix = derive_keys(seed)
    inputs = [data] if isinstance(data, bytes) else data
    recs = []
    for i, one in enumerate(inputs):
        offset = input_base(i, len(inputs))
        for rec in records(one, sep):
            recs.append((key_of(offset, mix), rec))
            offset += len(rec)
    top = b"".join(rec for _, rec in recs[:header])
    return top + b"".join(rec for _, rec in sorted(recs[header:]))


def numbered_lines(n: int, width: int = 0) -> bytes:
    return b"".join(b"%d %s\n" % (i, b"x" * (width or i % 37)) for i in range(n))


def header_lines_and_a_long_one(n: int) -> bytes:
    """A header line, ``n`` numbered lines, a 3 MB line (split again at small budgets), 50,000 more lines."""
    return b"h1,h2\n" + numbered_lines(n) + b"L" * 3_000_000 + b"\n" + numbered_lines(50_000, 3)
