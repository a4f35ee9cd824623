"""--verify: fingerprints of the records read and written must agree, or nothing is written."""

from __future__ import annotations

import random

import pytest
from helpers import cli, numbered_lines, parse, reference_order

from shuffle_big.core import fingerprint
from shuffle_big.core.fingerprint import Fingerprint, Verifier
from shuffle_big.core.plan import make_plan
from shuffle_big.core.records import NEWLINE
from shuffle_big.errors import ShuffleError
from shuffle_big.inputs.sources import InputInfo
from shuffle_big.outputs.sinks import Output
from shuffle_big.run.engine import run_shuffle
from shuffle_big.run.job import Job, ShuffleResult
from shuffle_big.run.pool_local import local_executor
from shuffle_big.storage.tempspace import TempSpace


@pytest.fixture(params=["polars", "xxh64"])
def hasher(request, monkeypatch):
    """Each fingerprint test runs with both hashers: polars' vectorised one and the xxh64 fallback."""
    if request.param == "xxh64":
        monkeypatch.setattr(fingerprint, "_pl", None)  # as if polars were not installed
    elif fingerprint._polars() is None:
        pytest.skip("polars is not installed")
    return request.param


def fingerprint_of(*chunks: bytes) -> tuple[int, int, str]:
    fp = Fingerprint()
    for chunk in chunks:
        fp.update(chunk)
    return fp.value


def test_fingerprint_ignores_order_and_where_the_stream_is_cut(hasher):
    recs = [b"%d %s\n" % (i, b"x" * (i * 7 % 300)) for i in range(2000)] + [b"\n", b"\n"]
    data = b"".join(recs)
    rng = random.Random(1)
    cuts = sorted(rng.sample(range(1, len(data)), 500))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    shuffled = recs[:]
    rng.shuffle(shuffled)
    assert fingerprint_of(data) == fingerprint_of(*pieces) == fingerprint_of(b"".join(shuffled))
    assert fingerprint_of(data)[1] == len(recs)


@pytest.mark.parametrize("change", [
    lambda d: d.replace(b"17 ", b"18 ", 1),  # a changed byte
    lambda d: d + b"1 x\n",  # a duplicated... extra record
    lambda d: d[: d.rindex(b"\n", 0, len(d) - 1) + 1],  # a lost record
    lambda d: d.replace(b"\n", b"\n\n", 1),  # an invented empty record
])
def test_fingerprint_notices_a_changed_multiset(change, hasher):
    data = numbered_lines(1000)
    assert fingerprint_of(change(data)) != fingerprint_of(data)


def test_fingerprint_refuses_an_incomplete_record(hasher):
    fp = Fingerprint()
    fp.update(b"a\nb")
    with pytest.raises(ValueError):
        fp.value


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "in.txt"
    path.write_bytes(numbered_lines(300_000) + b"L" * 3_000_000 + b"\n" + numbered_lines(1000))
    return path


@pytest.mark.parametrize("memory, jobs, to_file", [("64M", 1, False), ("1M", 1, False), ("16M", 2, True), ("16M", 2, False)])
def test_verify_passes_on_every_path(corpus, tmp_path, memory, jobs, to_file):
    args = ["--verify", "--header", 1, "-m", memory, "-j", jobs, "--seed", 7, corpus]
    if to_file:
        cli(*args, "-o", tmp_path / "out", check=True)
        out = (tmp_path / "out").read_bytes()
    else:
        out = cli(*args, check=True).stdout
    assert out == reference_order(corpus.read_bytes(), 7, header=1)


class LosingOutput(Output):
    """An output path that loses the last record of one write: the kind of bug --verify exists for."""

    lost = False

    def write(self, data: bytes | memoryview, ends=None) -> None:
        data = bytes(data)  # the ordering hands over a buffer (and its ends, no longer true once cut)
        if not self.lost and data.count(b"\n") > 1:
            data = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
            self.lost = True
        super().write(data)


@pytest.mark.parametrize("budget", [64 << 20, 1 << 20])
def test_verify_catches_a_lost_record_and_writes_nothing(tmp_path, budget):
    src, out = tmp_path / "in", tmp_path / "out"
    src.write_bytes(numbered_lines(100_000))
    out.write_bytes(b"previous\n")
    plan = make_plan(budget)
    with pytest.raises(ShuffleError, match=r"--verify failed: the output's fingerprint [0-9a-f]{16} \(99999 lines\) "
                       r"does not match the input's [0-9a-f]{16} \(100000 lines\)"):
        verifier = Verifier()
        with TempSpace(str(tmp_path)) as temp, LosingOutput(str(out), NEWLINE, verifier.written) as sink:
            job = Job(plan, 1, temp, sink, local_executor(1), ShuffleResult(seed=1), verifier=verifier)
            run_shuffle(job, [InputInfo(str(src), "stream")])
    assert out.read_bytes() == b"previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_verify_with_head_is_a_usage_error():
    proc = parse("--verify", "-n", 1, input=b"a\n")
    assert proc.returncode == 1 and b"cannot be combined with -n" in proc.stderr


def test_values_of_different_hashers_are_never_added():
    fp = Fingerprint()
    with pytest.raises(ShuffleError, match="a worker hashed records with xxh64-0, this process with"):
        fp.merge((1, 1, "xxh64-0"))


def test_a_piece_without_a_record_end_waits_for_its_end():
    """A worker cutting a run in chunks hands over a piece of a long record with no end in it (and an empty
    ``ends``): it is held until its end comes, as if given whole."""
    import numpy as np

    whole, pieces = Fingerprint(), Fingerprint()
    whole.update(b"a\n" + b"x" * 100 + b"\nb\n")
    pieces.update(b"a\n", np.array([2]))
    pieces.update(b"x" * 60, np.empty(0, dtype=np.int64))
    pieces.update(b"x" * 40 + b"\nb\n")
    assert pieces.value == whole.value
