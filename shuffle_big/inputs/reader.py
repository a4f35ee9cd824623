"""Reading the input as blocks of whole records, without decoding a byte.

A record is a line including its ``\\n``. A last line without a newline gets
one. Offsets count bytes in the raw concatenation of the inputs, so the record
at offset ``o`` has the same key whatever the block size.

A record longer than ``long_threshold`` is not gathered in memory: it comes
out as a ``LongRecord`` whose pieces stream from the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..core.fingerprint import Fingerprint
from ..core.records import Block, LongRecord, record_ends, swap_table, tapped
from ..errors import ShuffleError, describe_os_error
from . import sources
from .sources import Source, display_name, open_source


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start, end)`` of ``path`` (``end`` None: to its end), found at input offset ``base``.

    ``base`` None means: right after the previous segment. A segment starts at
    a record boundary; unless it runs to the end of its file, it ends on one.
    Only a plain file can start after 0 or end early.
    """

    path: Source
    start: int = 0
    end: int | None = None
    base: int | None = None


class RecordReader:
    """Iterate ``Block``s and ``LongRecord``s over the concatenation of ``sources``.

    ``sep`` is the record separator; records come out in internal form, where
    the separator is ``\\n`` (with ``-z``, NUL and newline bytes swap places on
    the way in and back on the way out, so nothing else needs to know).
    ``header``: the first ``header`` records of the first source are kept in
    ``self.header`` instead of being yielded.
    """

    def __init__(
        self, sources: Sequence[Source | Segment], block_size: int, long_threshold: int,
        sep: bytes = b"\n", header: int = 0, verify: bool = False, max_records: int = 1 << 62,
    ) -> None:
        self.sources = [s if isinstance(s, Segment) else Segment(s) for s in sources]
        self.block_size = block_size
        self.max_records = max_records  # a block with more records is cut (bounds per-record arrays)
        self.long_threshold = max(long_threshold, block_size)
        self.sep = sep
        self.swap = swap_table(sep)
        self.header_records = header
        self.header = b""
        self.fingerprint = Fingerprint() if verify else None  # of every record read, header included
        self.bytes_read = 0  # raw input bytes consumed so far (for progress)
        self._left: int | None = None  # bytes left in the current segment

    def __iter__(self) -> Iterator[Block | LongRecord]:
        base = 0
        for i, seg in enumerate(self.sources):
            name = display_name(seg.path)
            base = base if seg.base is None else seg.base
            f, owned = open_source(seg.path, self.sep, seg.start)
            self._left = None if seg.end is None else seg.end - seg.start
            try:
                before = self.bytes_read
                leftover = self._take_header(f, name) if i == 0 and self.header_records else b""
                items = self._blocks(f, base + self.bytes_read - before - len(leftover), name, leftover)
                yield from items if self.fingerprint is None else self._fingerprinted(items)
                base += self.bytes_read - before
            finally:
                for stream in owned:
                    stream.close()

    def _fingerprinted(self, items: Iterator[Block | LongRecord]) -> Iterator[Block | LongRecord]:
        fp = self.fingerprint
        assert fp is not None
        for item in items:
            if isinstance(item, Block):
                fp.update(item.data)
            else:
                item.pieces = tapped(item.pieces, fp.update)
            yield item

    def _read(self, f, name: str) -> bytes:
        want = self.block_size if self._left is None else min(self.block_size, self._left)
        if not want:
            return b""
        try:
            chunk = f.read(want)
        except OSError as err:
            raise describe_os_error(f"error reading '{name}'", err) from None
        except sources.decode_errors as err:
            raise ShuffleError(f"error reading '{name}': corrupt compressed data ({err})") from None
        self.bytes_read += len(chunk)
        if self._left is not None:
            self._left -= len(chunk)
        return chunk.translate(self.swap) if self.swap else chunk

    def _take_header(self, f, name: str) -> bytes:
        """Read the first ``header_records`` records into ``self.header``; return the bytes read after them."""
        data = b""
        while True:
            start = 0
            for _ in range(self.header_records):
                start = data.find(b"\n", start) + 1
                if not start:
                    break
            else:
                self.header = data[:start]
                self._see_header()
                return data[start:]
            chunk = self._read(f, name)
            if not chunk:  # fewer records than asked for: the whole source is the header
                self.header = data if data.endswith(b"\n") or not data else data + b"\n"
                self._see_header()
                return b""
            data += chunk

    def _see_header(self) -> None:
        if self.fingerprint is not None:
            self.fingerprint.update(self.header)

    def _blocks(self, f, pos: int, name: str, leftover: bytes = b"") -> Iterator[Block | LongRecord]:
        carry = bytearray()  # the start of a record whose newline is not read yet
        # leftover: bytes read (after a long record or the header) not yet looked at
        while True:
            chunk, leftover = (leftover, b"") if leftover else (self._read(f, name), b"")
            if not chunk:
                break
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                carry += chunk
                if len(carry) > self.long_threshold:
                    rest: list = []
                    record = LongRecord(pos, self._long_pieces(f, name, bytes(carry), rest))
                    carry = bytearray()
                    yield record
                    for _ in record.pieces:  # drain if the consumer stopped early
                        pass
                    pos += rest[0]
                    leftover = rest[1]
                continue
            if carry:
                carry += memoryview(chunk)[:cut]
                data = bytes(carry)
            else:
                data = chunk if cut == len(chunk) else chunk[:cut]
            carry = bytearray(memoryview(chunk)[cut:])
            yield from self._cut(pos, data)
            pos += len(data)
        if carry:
            carry += b"\n"
            yield Block(pos, bytes(carry))

    def _cut(self, pos: int, data: bytes) -> Iterator[Block]:
        """``data`` as blocks of at most ``max_records`` records.

        Each record costs ~60 bytes of numpy arrays downstream (ends, offsets,
        keys, bucket ids, sort order); a block of empty lines would otherwise
        cost 60x its size (measured: 10 M empty lines at -m 16M peaked 17 MB
        over the idle interpreter before the cut). The record ends found here
        (8 bytes per record) go with the blocks, so they are found once (pass 1
        on 1 GB of 20-byte lines, -j 2: 5.1-5.5 s against 5.8-6.0 s counting
        newlines first; 5 MB more peak RSS per worker).
        """
        ends = record_ends(data)
        if len(ends) <= self.max_records:
            yield Block(pos, data, ends)
            return
        start = 0
        for i in range(0, len(ends), self.max_records):
            part = ends[i : i + self.max_records]
            end = int(part[-1])
            yield Block(pos + start, data[start:end], part - start)
            start = end

    def _long_pieces(self, f, name: str, head: bytes, rest: list) -> Iterator[bytes]:
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
