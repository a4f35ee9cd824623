"""The frames of a zstd file, found from their headers without decompressing a byte.

A zstd file is a sequence of frames, each decodable on its own; every
standard reader reads them as one stream. When every frame states its
decompressed size (zstd's frame content size, which the ``zstd`` command and
shuffle-big's own output write), the file can be cut at frame starts and its
parts read by different workers, each knowing the decompressed offset it
starts at, which is all a record's key needs.

A frame's end is found by walking its block headers (3 bytes each, one per
128 KiB or less of output): about 8,000 small reads per GB of content.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE = range(0x184D2A50, 0x184D2A60)  # magic numbers of skippable frames (metadata, no content)
ZSTD_HEADER_MAX = 18  # magic, descriptor, window, dictionary id, content size: the most a frame header takes
_RLE, _RESERVED = 1, 3  # block types: an RLE block's payload is 1 byte; a reserved one is corrupt


@dataclass(frozen=True)
class Frame:
    """A zstd frame: its first byte is at ``at`` of the file; its content is bytes ``[start, start + size)``
    of the decompressed stream."""

    at: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


def zstd_frames(path: str) -> list[Frame] | None:
    """The data frames of the local zstd file ``path``, or None when a frame does not state its content
    size or the headers do not add up (the decoder then reads the file whole, and says what is wrong)."""
    import zstandard

    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        frames: list[Frame] = []
        at = start = 0
        while at < size:
            head = os.pread(fd, ZSTD_HEADER_MAX, at)
            magic = int.from_bytes(head[:4], "little")
            if magic in _SKIPPABLE and len(head) >= 8:
                at += 8 + int.from_bytes(head[4:8], "little")
                continue
            if not head.startswith(ZSTD_MAGIC):
                return None
            try:
                params = zstandard.get_frame_parameters(head)
                header = zstandard.frame_header_size(head)
            except zstandard.ZstdError:
                return None
            if params.content_size == zstandard.CONTENTSIZE_UNKNOWN:
                return None
            end = _blocks_end(fd, at + header, size)
            if end is None:
                return None
            frames.append(Frame(at, start, params.content_size))
            at = end + (4 if params.has_checksum else 0)
            start += params.content_size
        return frames if at == size else None
    finally:
        os.close(fd)


def _blocks_end(fd: int, at: int, size: int) -> int | None:
    """Where the blocks starting at ``at`` end (after the last block), or None if they run past ``size``."""
    while True:
        head = os.pread(fd, 3, at)
        if len(head) < 3:
            return None
        word = int.from_bytes(head, "little")
        last, kind, length = word & 1, (word >> 1) & 3, word >> 3
        if kind == _RESERVED:
            return None
        at += 3 + (1 if kind == _RLE else length)
        if at > size:
            return None
        if last:
            return at
