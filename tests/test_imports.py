"""The core stays light: a local run imports neither dask nor fsspec (they are extras, loaded on demand)."""

from __future__ import annotations

import subprocess
import sys

from helpers import numbered_lines


def test_a_local_run_imports_no_extra(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(numbered_lines(200_000))
    code = (
        "import sys; from shuffle_big.cli import main\n"
        f"sys.argv = ['shuffle-big', '-m', '1M', '-j', '2', {str(src)!r}, '-o', {str(tmp_path / 'out.txt')!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'fsspec', 's3fs'})\n"
        "print(loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert proc.stdout == b"[]\n", proc.stdout
    assert (tmp_path / "out.txt").stat().st_size == src.stat().st_size
