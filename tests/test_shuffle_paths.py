"""Every execution path yields the reference permutation and loses nothing.

Paths: in memory, two-pass, recursive splits, long lines streamed on their
own, stdin of unknown size. The reference is computed independently, record
by record, from ``key_of`` in helpers.
"""

from __future__ import annotations

import json
import random

import pytest
from helpers import cli, numbered_lines, records, reference_order

from shuffle_big import shuffle


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    # ~6 MB of mixed line lengths, including empty lines and a few long ones
    rng = random.Random(1)
    parts = []
    for i in range(150_000):
        r = rng.random()
        if r < 0.05:
            parts.append(b"\n")
        elif r < 0.0001 + 0.05:
            parts.append(b"L%d" % i + b"y" * 200_000 + b"\n")
        else:
            parts.append(b"%d %s\n" % (i, b"z" * rng.randrange(60)))
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_bytes(b"".join(parts))
    return path


@pytest.mark.parametrize("memory", ["1M", "2M", "3M", "8M", "64M"])
def test_output_is_reference_permutation_at_any_budget(corpus, memory, temp_dir):
    proc = cli("--seed", 42, "-m", memory, "-T", temp_dir, "-v", corpus, check=True)
    data = corpus.read_bytes()
    assert proc.stdout == reference_order(data, 42)
    assert list(temp_dir.iterdir()) == []


def test_small_budget_forces_several_passes(corpus):
    proc = cli("--seed", 1, "-m", "1M", "--stats=json", corpus, check=True)
    passes = json.loads(proc.stderr)["passes"]
    assert passes >= 3  # 6 MB through a 1 MB budget splits buckets again
    assert sorted(records(proc.stdout)) == sorted(records(corpus.read_bytes()))


def test_in_memory_path_uses_no_temp_files(tmp_path, temp_dir):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(1000))
    proc = cli("--seed", 5, "-m", "64M", "-T", temp_dir / "missing", "-v", src, check=True)
    assert b"in memory" in proc.stderr  # the -T directory does not even exist
    assert proc.stdout == reference_order(src.read_bytes(), 5)


def test_stdin_of_unknown_size_spills_to_disk(corpus, temp_dir):
    data = corpus.read_bytes()
    proc = cli("--seed", 9, "-m", "2M", "-T", temp_dir, "-v", input=data, check=True)
    assert b"bucket files" in proc.stderr
    assert proc.stdout == reference_order(data, 9)
    assert list(temp_dir.iterdir()) == []


def test_several_inputs_are_one_input(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(numbered_lines(3000))
    b.write_bytes(b"tail without newline")
    stdin = b"from stdin\n" * 5
    proc = cli("--seed", 3, "-m", "1M", a, "-", b, input=stdin, check=True)
    assert proc.stdout == reference_order([a.read_bytes(), stdin, b.read_bytes()], 3)


def test_line_longer_than_budget_streams_through(tmp_path, temp_dir):
    src = tmp_path / "long.txt"
    huge = b"H" * (5 << 20)  # 5 MB line, budget 1 MB
    src.write_bytes(numbered_lines(20_000) + huge + b"\n" + numbered_lines(20_000) + huge)
    proc = cli("--seed", 11, "-m", "1M", "-T", temp_dir, src, check=True)
    assert proc.stdout == reference_order(src.read_bytes(), 11)
    assert list(temp_dir.iterdir()) == []


def test_library_api_matches_cli(tmp_path, corpus):
    out = tmp_path / "out.txt"
    result = shuffle([str(corpus)], str(out), memory=2 << 20, seed=42)
    assert out.read_bytes() == reference_order(corpus.read_bytes(), 42)
    assert result.records == len(records(corpus.read_bytes()))
    assert result.seed == 42 and not result.in_memory


@pytest.mark.parametrize("tail", [b"a\nb\n", b"a\nb", b"", b"\n"])
def test_records_after_a_long_line_at_end_of_input(tmp_path, tail):
    """Bytes read past a streamed long line are whole records, not the start of one."""
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(1000) + b"L" * 300_000 + b"\n" + tail)
    for memory in ("1M", "64M"):
        proc = cli("--seed", 2, "-m", memory, src, check=True)
        assert proc.stdout == reference_order(src.read_bytes(), 2)


def test_with_r_a_directory_is_the_files_under_it_sorted_by_path_without_hidden_ones(tmp_path):
    root = tmp_path / "corpus"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "_tmp").mkdir()
    (root / ".git").mkdir()
    files = {"a.txt": b"a1\na2\n", "b/deep/x.txt": b"x1\n", "b/c.txt": b"c1\nc2\nc3", "b/d.txt": b""}
    for name, text in files.items():
        (root / name).write_bytes(text)
    for junk in ["_SUCCESS", ".part-0.crc", "_tmp/p.txt", ".git/HEAD"]:
        (root / junk).write_bytes(b"junk\n")
    (root / "link.txt").symlink_to(root / "a.txt")
    order = sorted([*files, "link.txt"])  # by path: a.txt, b/c.txt, b/d.txt, b/deep/x.txt, link.txt
    texts = [(root / name).read_bytes() for name in order]
    for args in (["-m", "64M"], ["-m", "1M", "-j", "2"]):
        proc = cli("--seed", 4, *args, "-R", root, check=True)
        assert proc.stdout == reference_order(texts, 4)
    # the same inputs named one by one, and through --files-from (NUL-separated with -z)
    assert cli("--seed", 4, *(root / n for n in order), check=True).stdout == reference_order(texts, 4)
    listing = tmp_path / "list"
    listing.write_text("\n".join(str(root / n) for n in order) + "\n\n")
    assert cli("--seed", 4, "--files-from", listing, check=True).stdout == reference_order(texts, 4)
    proc = cli("--seed", 4, "--files-from", "-", input=b"".join(b"%s\n" % bytes(root / n) for n in order), check=True)
    assert proc.stdout == reference_order(texts, 4)
    zero = [t.replace(b"\n", b"\0") for t in texts]
    for name, text in zip(order, zero):
        (root / name).write_bytes(text) if name != "link.txt" else None
    proc = cli("-z", "--seed", 4, "--files-from", "-", input=b"".join(b"%s\0" % bytes(root / n) for n in order), check=True)
    assert proc.stdout == reference_order(zero, 4, b"\0")


def test_an_empty_directory_or_list_is_no_input(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "list").write_bytes(b"")
    assert cli("--recursive", tmp_path / "empty", input=b"not read\n", check=True).stdout == b""
    assert cli("--files-from", tmp_path / "list", input=b"not read\n", check=True).stdout == b""
    proc = cli("--files-from", tmp_path / "missing")
    assert proc.returncode == 1 and proc.stderr == f"shuffle-big: cannot open '{tmp_path / 'missing'}': No such file or directory\n".encode()
    proc = cli("--files-from", "-", "-")
    assert proc.returncode == 1 and b"standard input cannot be both" in proc.stderr
