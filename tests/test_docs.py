"""The README cannot drift from the code: every test, file and line it cites still exists."""

from __future__ import annotations

import ast
import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

# `test_x.py::test_name`; a bare `::test_other` belongs to the test file named last on its line
CITED_TEST = re.compile(r"(test_\w+\.py)|::(test_\w+)")
CITED_FILE = re.compile(r"`((?:tests|scripts)/[\w/]+\.py|test_\w+\.py)`")
CITED_LINE = re.compile(r"`((?:\w+/)*\w+\.py):(\d+)`")


def functions_of(name: str) -> set[str]:
    tree = ast.parse((ROOT / "tests" / name).read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def cited_tests(text: str) -> list[tuple[str, str]]:
    cited = []
    for line in text.splitlines():
        current = None
        for match in CITED_TEST.finditer(line):
            if match.group(1):
                current = match.group(1)
                continue
            assert current, f"'::{match.group(2)}' follows no test file: {line[:120]}"
            cited.append((current, match.group(2)))
    return cited


def test_every_cited_test_exists():
    cited = cited_tests(README)
    assert len(cited) > 30  # the guarantees table
    missing = [f"{f}::{t}" for f, t in cited if t not in functions_of(f)]
    assert not missing, missing


def test_every_cited_file_exists():
    names = CITED_FILE.findall(README)
    assert names
    missing = [n for n in names if not ((ROOT / n).exists() or (ROOT / "tests" / n).exists())]
    assert not missing, missing


def test_every_cited_line_is_code():
    """``core/order.py:28`` names a line of code of shuffle_big (a blank or comment line means it moved)."""
    cited = CITED_LINE.findall(README)
    assert cited
    wrong = []
    for path, number in cited:
        lines = (ROOT / "shuffle_big" / path).read_text().splitlines()
        line = lines[int(number) - 1].strip() if int(number) <= len(lines) else ""
        if not line or line.startswith("#"):
            wrong.append(f"{path}:{number}")
    assert not wrong, wrong


def test_the_checks_catch_a_stale_citation():
    assert cited_tests("`test_cli.py::test_a`, `::test_b`, `test_x.py` (`::test_c`)") == [
        ("test_cli.py", "test_a"), ("test_cli.py", "test_b"), ("test_x.py", "test_c"),
    ]
    assert "test_input_growing_while_read_is_an_error" not in functions_of("test_bad_input.py")


def test_the_python_example_runs(tmp_path):
    """The README's Python block, as written, on small inputs (it imports only from shuffle_big)."""
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    assert re.findall(r"^(?:from|import) (\S+)", block, re.M) == ["shuffle_big"]
    (tmp_path / "a.txt").write_bytes(b"a\nb\nc\n")
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(b"d\ne\n"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, whatever is installed
    subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert sorted((tmp_path / "out.txt").read_bytes().splitlines()) == [b"a", b"b", b"c", b"d", b"e"]
    assert len((tmp_path / "ids.txt").read_bytes().splitlines()) == 5
