"""--stats: what was done and what it cost, on stderr, as text or JSON."""

from __future__ import annotations

import json

from helpers import cli, numbered_lines, parse


def test_stats_json_reports_the_run(tmp_path):
    src = tmp_path / "in"
    data = numbered_lines(100_000)
    src.write_bytes(data)
    proc = cli("--stats=json", "-m", "1M", "-j", 1, "--seed", 3, src, check=True)
    stats = json.loads(proc.stderr)
    assert stats["records"] == 100_000 and stats["bytes"] == len(data) and stats["seed"] == 3
    assert stats["passes"] >= 2 and stats["buckets"] > 1
    assert set(stats["seconds"]) == {"pass 1", "pass 2", "total"}
    assert 10 << 20 < stats["peak_rss"]["parent"] < 200 << 20
    assert sorted(proc.stdout.splitlines()) == sorted(data.splitlines())


def test_stats_json_with_workers_reports_the_largest_worker(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(numbered_lines(300_000))
    stats = json.loads(cli("--stats=json", "-m", "16M", "-j", 2, "-o", tmp_path / "out", src, check=True).stderr)
    assert stats["jobs"] == 2 and stats["peak_rss"]["largest_worker"] > 10 << 20


def test_stats_report_what_was_done_not_what_was_allowed(tmp_path):
    """jobs counts workers that ran (none for input that fits); -r out of core reports its bytes and passes."""
    src = tmp_path / "in"
    data = numbered_lines(200_000)  # ~4.8 MB
    src.write_bytes(data)
    held = json.loads(cli("--stats=json", "-m", "64M", "-j", 2, src, check=True).stderr)
    assert (held["jobs"], held["passes"], held["peak_rss"]["largest_worker"]) == (1, 1, 0)
    draws = json.loads(cli("--stats=json", "-r", "-n", 5, "-m", "1M", src, check=True).stderr)
    assert (draws["records"], draws["bytes"], draws["jobs"]) == (200_000, len(data), 1)
    assert draws["passes"] >= 2  # a count pass, then a pass per batch of draws
    small = json.loads(cli("--stats=json", "-r", "-n", 5, "-m", "64M", src, check=True).stderr)
    assert (small["bytes"], small["passes"]) == (len(data), 1)


def test_stats_text_is_a_few_prefixed_lines_and_does_not_take_the_next_argument(tmp_path):
    src = tmp_path / "in"
    src.write_bytes(b"a\nb\nc\n")
    proc = cli("--stats", src, check=True)  # FILE after --stats is still a FILE
    assert sorted(proc.stdout.splitlines()) == [b"a", b"b", b"c"]
    lines = proc.stderr.decode().splitlines()
    assert all(line.startswith("shuffle-big: stats: ") for line in lines)
    assert "3 lines, 6 bytes" in lines[0] and "in memory" in lines[-1]


def test_stats_rejects_an_unknown_format():
    proc = parse("--stats=xml", input=b"a\n")
    assert proc.returncode == 1 and b"invalid argument 'xml' for '--stats'" in proc.stderr
