"""Options together: a random sample of combinations, each checked against the reference (slow)."""

from __future__ import annotations

import gzip
import random

import pytest
from helpers import cli, numbered_lines, reference_order

COMBOS = 40


def _decoded(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@pytest.mark.slow
def test_random_combinations_of_options(tmp_path):
    rng = random.Random(2026)
    text = b"id\n" + numbered_lines(300_000) + b"X" * 2_500_000 + b"\n" + numbered_lines(1000, 5)
    for run in range(COMBOS):
        sep = rng.choice([b"\n", b"\0"])
        data = text.replace(b"\n", sep) if sep == b"\0" else text
        header = rng.choice([0, 1])
        shards = rng.choice([None, 1, 3])
        suffix = rng.choice(["", ".gz"])
        form = rng.choice(["file", "gz", "stdin"])
        args = ["-j", rng.choice([1, 2]), "-m", rng.choice(["2M", "16M", "64M"]), "--seed", run, "-T", tmp_path]
        args += ["-z"] if sep == b"\0" else []
        args += ["--header", header] if header else []
        args += rng.choice([[], ["--verify"]])
        src = tmp_path / f"in{run}"
        src.write_bytes(gzip.compress(data, 1) if form == "gz" else data)
        inputs = [] if form == "stdin" else [src]
        out_dir = tmp_path / f"out{run}"
        out_dir.mkdir()
        if shards:
            args += ["--shards", shards, "-o", out_dir / f"part-{{i}}{suffix}"]
        elif suffix or rng.random() < 0.5:
            args += ["-o", out_dir / f"out{suffix}"]
        proc = cli(*args, *inputs, input=data if form == "stdin" else None)
        assert proc.returncode == 0, (args, proc.stderr)
        expected = reference_order(data, run, sep, header)
        if shards:
            parts = [_decoded(out_dir / f"part-{i}{suffix}") for i in range(shards)]
            top = b"".join(r + sep for r in expected.split(sep)[:header])
            assert all(p.startswith(top) for p in parts), args
            got = top + b"".join(p[len(top):] for p in parts)
        elif "-o" in args:
            got = _decoded(out_dir / f"out{suffix}")
        else:
            got = proc.stdout
        assert got == expected, args
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("shuffle-big.")) == []
