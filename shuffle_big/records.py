"""Reading the input as blocks of whole records, without decoding a byte.

A record is a line including its ``\\n``. A last line without a newline gets
one. Offsets count bytes in the raw concatenation of the inputs, so the record
at offset ``o`` has the same key whatever the block size.

A record longer than ``long_threshold`` is not gathered in memory: it comes
out as a ``LongRecord`` whose pieces stream from the file.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy as np

from .errors import ShuffleError, describe_os_error


@dataclass(slots=True)
class Block:
    """Whole records ``data`` (each ends in ``\\n``) starting at input offset ``start``."""

    start: int
    data: bytes


@dataclass(slots=True)
class LongRecord:
    """One record too long to hold; ``pieces`` must be consumed before the next item."""

    start: int
    pieces: Iterator[bytes]


def record_ends(data: bytes) -> np.ndarray:
    """Offsets just past each ``\\n`` in ``data`` (int64); ``data`` ends in ``\\n``."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    ends += 1
    return ends


def record_starts(start: int, ends: np.ndarray) -> np.ndarray:
    """Absolute input offsets of the records whose ends are ``ends``."""
    starts = np.empty(len(ends), dtype=np.uint64)
    starts[0] = 0
    starts[1:] = ends[:-1]
    starts += np.uint64(start)
    return starts


def display_name(path: str) -> str:
    return "standard input" if path == "-" else path


def input_size(paths: list[str]) -> int | None:
    """Total size when every input is a regular file, else None (pipes, stdin)."""
    total = 0
    for path in paths:
        if path == "-":
            return None
        try:
            st = os.stat(path)
        except OSError as err:
            raise describe_os_error(f"cannot open '{path}'", err) from None
        if not stat.S_ISREG(st.st_mode):
            return None
        total += st.st_size
    return total


def check_inputs(paths: list[str]) -> None:
    """Fail before any work if an input cannot be opened for reading."""
    for path in paths:
        if path != "-":
            try:
                with open(path, "rb"):
                    pass
            except OSError as err:
                raise describe_os_error(f"cannot open '{path}'", err) from None


class RecordReader:
    """Iterate ``Block``s and ``LongRecord``s over the concatenation of ``paths``."""

    def __init__(self, paths: list[str], block_size: int, long_threshold: int) -> None:
        self.paths = paths
        self.block_size = block_size
        self.long_threshold = max(long_threshold, block_size)
        self.bytes_read = 0  # raw input bytes consumed so far (for progress)

    def __iter__(self) -> Iterator[Block | LongRecord]:
        base = 0
        for path in self.paths:
            name = display_name(path)
            try:
                f: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")
            except OSError as err:
                raise describe_os_error(f"cannot open '{path}'", err) from None
            try:
                before = self.bytes_read
                yield from self._blocks(f, base, name)
                base += self.bytes_read - before
            finally:
                if f is not sys.stdin.buffer:
                    f.close()

    def _read(self, f: BinaryIO, name: str) -> bytes:
        try:
            chunk = f.read(self.block_size)
        except OSError as err:
            raise describe_os_error(f"error reading '{name}'", err) from None
        self.bytes_read += len(chunk)
        return chunk

    def _blocks(self, f: BinaryIO, pos: int, name: str) -> Iterator[Block | LongRecord]:
        carry = bytearray()  # bytes after the last newline seen, not yet emitted
        while True:
            chunk = self._read(f, name)
            if not chunk:
                break
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                carry += chunk
                if len(carry) > self.long_threshold:
                    rest: list[bytes] = []
                    record = LongRecord(pos, self._long_pieces(f, name, bytes(carry), rest))
                    carry = bytearray()
                    yield record
                    for _ in record.pieces:  # drain if the consumer stopped early
                        pass
                    pos += rest[0]
                    carry += rest[1]
                continue
            if carry:
                carry += memoryview(chunk)[:cut]
                data = bytes(carry)
                carry = bytearray(memoryview(chunk)[cut:])
            else:
                data = chunk if cut == len(chunk) else chunk[:cut]
                carry = bytearray(memoryview(chunk)[cut:])
            yield Block(pos, data)
            pos += len(data)
        if carry:
            carry += b"\n"
            yield Block(pos, bytes(carry))

    def _long_pieces(self, f: BinaryIO, name: str, head: bytes, rest: list) -> Iterator[bytes]:
        """Pieces of one long record; leaves [record length, leftover bytes] in ``rest``."""
        length = len(head)
        yield head
        while True:
            chunk = self._read(f, name)
            if not chunk:
                rest[:] = [length, b""]
                yield b"\n"
                return
            cut = chunk.find(b"\n") + 1
            if cut:
                rest[:] = [length + cut, chunk[cut:]]
                yield chunk[:cut]
                return
            length += len(chunk)
            yield chunk
