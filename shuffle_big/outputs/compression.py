"""Compressed output: which codec a name calls for, at which level, and a compressor for it.

A gzip file may hold several members and a zstd file several frames, and
every reader (``zcat``, ``zstdcat``, Python's ``gzip``, ``zstandard``) reads
them as one stream. So each worker compresses the run of output it orders
as a member or frame of its own, and the runs are appended as they are:
compression runs on every core, and the output stays standard.

Levels, measured on ``bench_shards.py``'s JSONL (one core, MB/s of input,
compressed/plain size):

- gzip 1-3 are ISA-L's levels 1-3: 298, 302, 134 MB/s to 0.370, 0.365,
  0.360. The default, 2, is 1.08x the size of ``gzip -6``'s (0.337) at 10x
  its speed (zlib -6: 30 MB/s).
- gzip 4-9 are zlib's own (30-50 MB/s), for the smallest output.
- zstd 1-22 are zstd's; the default 3 (172 MB/s to 0.300) is ``zstd``'s.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError, ShuffleError

GZIP_DEFAULT = 2
ZSTD_DEFAULT = 3
ISAL_LEVELS = 3  # ISA-L has levels 0-3; above, zlib


@dataclass(frozen=True)
class Compression:
    """How an output is compressed: ``gzip`` or ``zstd`` at ``level``."""

    kind: Literal["gzip", "zstd"]
    level: int

    def compressor(self, size: int | None = None) -> Any:
        """A new compressor (``compress``, ``flush``) whose output is one whole gzip member or zstd frame.

        ``size``: the bytes it will be given, if known; a zstd frame then states
        it, so a reader can cut the file at its frames (``inputs/zstd_frames.py``).
        """
        if self.kind == "gzip":
            if self.level <= ISAL_LEVELS:
                from isal import isal_zlib

                return isal_zlib.compressobj(self.level, isal_zlib.DEFLATED, 31)  # wbits 31: gzip header, trailer
            return zlib.compressobj(self.level, zlib.DEFLATED, 31)
        zstandard = _zstandard(self)
        # No zstd threads: their buffers would be memory outside the budget; workers use the cores.
        return zstandard.ZstdCompressor(level=self.level).compressobj(size=-1 if size is None else size)


# output name ending -> (codec, default level, highest level)
KINDS: dict[str, tuple[Literal["gzip", "zstd"], int, int]] = {".gz": ("gzip", GZIP_DEFAULT, 9), ".zst": ("zstd", ZSTD_DEFAULT, 22)}


def compression_for(path: str, level: int | None = None) -> Compression | None:
    """The compression an output named ``path`` calls for (by its ending), or None (then ``level`` must be None)."""
    ending = next((e for e in KINDS if path.endswith(e)), None)
    if ending is None:
        if level is not None:
            raise ConfigError(f"--compress-level needs an output named .gz or .zst, not '{path}'")
        return None
    kind, default, highest = KINDS[ending]
    found = Compression(kind, default if level is None else level)
    if not 1 <= found.level <= highest:
        raise ConfigError(f"--compress-level for {kind} output is 1 to {highest}, not {found.level}")
    if kind == "zstd":
        _zstandard(found, path)  # a missing extra is a clean error before any file exists
    return found


def _zstandard(compression: Compression, path: str = "") -> Any:
    try:
        import zstandard
    except ImportError:
        where = f"cannot write '{path}': " if path else ""
        raise ShuffleError(f"{where}zstd output needs the extra: pip install 'shuffle-big[zstd]'") from None
    return zstandard
