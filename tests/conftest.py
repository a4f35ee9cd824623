from pathlib import Path

import pytest


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    """A private -T directory, to check that nothing is left in it."""
    d = tmp_path / "tmp"
    d.mkdir()
    return d
