from pathlib import Path

import pytest
from helpers import header_lines_and_a_long_one


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    """A private -T directory, to check that nothing is left in it."""
    d = tmp_path / "tmp"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def long_line_corpus(tmp_path_factory) -> Path:
    """A file with a header line and a 3 MB line among ~13 MB of lines, for the cluster tests."""
    path = tmp_path_factory.mktemp("corpus") / "in.txt"
    path.write_bytes(header_lines_and_a_long_one(400_000))
    return path
