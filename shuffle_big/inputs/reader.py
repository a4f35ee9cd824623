"""Reading the input as blocks of whole records, without decoding a byte.

A record is a line including its ``\\n``. A last line without a newline gets
one. A record's position is its input's base (``keys.input_base``) plus the
bytes before it in that input as read (decompressed, before ``-z``'s swap),
so it has the same key whatever the block size and whoever reads it.

A record longer than ``long_threshold`` is not gathered in memory: it comes
out as a ``LongRecord`` whose pieces stream from the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..core.fingerprint import Fingerprint
from ..core.keys import input_base, input_span
from ..core.records import Block, Codec, LongRecord, record_ends, tapped
from ..errors import ShuffleError, describe_os_error
from .sources import CorruptInput, Source, display_name, open_source


@dataclass(frozen=True)
class Segment:
    """Bytes ``[start, end)`` of ``path`` (``end`` None: to its end), whose byte ``start`` is at position ``base``.

    A segment starts at a record boundary; unless it runs to the end of its
    file, it ends on one. Only a plain file, or a zstd file cut at frames,
    can start after 0 or end early.
    ``limit``: the position its records must stay below (the next input's base).
    ``frame``: for a zstd file cut at frames, where to start decoding (the
    file offset and decompressed offset of the frame holding byte
    ``start - 1``). Then ``start`` and ``end`` are frame boundaries, which
    need not be record boundaries: the segment holds the records that start
    in ``[start, end)``, reading a byte before it and past its end to find them.
    """

    path: Source
    start: int = 0
    end: int | None = None
    base: int = 0
    limit: int = 1 << 64
    frame: tuple[int, int] | None = None


def whole_inputs(sources: Sequence[Source]) -> list[Segment]:
    """Each of ``sources`` whole, as input ``i`` of them all."""
    n = len(sources)
    return [Segment(s, 0, None, input_base(i, n), input_base(i, n) + input_span(n)) for i, s in enumerate(sources)]


class RecordReader:
    """Iterate ``Block``s and ``LongRecord``s over ``sources`` (the run's inputs in order, or segments of them).

    ``sep`` is the record separator; records come out in internal form, where
    the separator is ``\\n`` (with ``-z``, NUL and newline bytes swap places on
    the way in and back on the way out, so nothing else needs to know).
    ``header``: the first ``header`` records of the first source are kept in
    ``self.header`` instead of being yielded.
    """

    def __init__(
        self, sources: Sequence[Source | Segment], block_size: int, long_threshold: int,
        sep: bytes = b"\n", header: int = 0, fingerprint: Fingerprint | None = None, max_records: int = 1 << 62,
    ) -> None:
        if all(isinstance(s, Segment) for s in sources):
            self.sources: list[Segment] = list(sources)  # type: ignore[arg-type]
        else:
            self.sources = whole_inputs(sources)  # type: ignore[arg-type]
        self.block_size = block_size
        self.max_records = max_records  # a block with more records is cut (bounds per-record arrays)
        self.long_threshold = max(long_threshold, block_size)
        self.sep = sep
        self.codec = Codec(sep)
        self.header_records = header
        self.header = b""
        self.fingerprint = fingerprint  # sees every record read, header included (--verify's read side)
        self.bytes_read = 0  # raw input bytes consumed so far (for progress)
        self._left: int | None = None  # bytes left in the current segment
        self._open_end = False  # may its last record run past its end (a frame-cut segment)?
        self._offset = 0  # bytes of the current source read so far (where a corrupt one broke)

    def __iter__(self) -> Iterator[Block | LongRecord]:
        for i, seg in enumerate(self.sources):
            name = display_name(seg.path)
            # a segment cut at a frame starts with the byte before: the record it ends (if any) is not this one's
            peek = seg.frame is not None and seg.start > 0
            first = seg.start - peek
            f, owned = open_source(seg.path, self.sep, first, self.block_size, seg.frame or (0, 0))
            self._left = None if seg.end is None else seg.end - first
            self._open_end = seg.frame is not None and bool(self._left)  # [start, start): nothing to finish
            self._offset = first
            try:
                leftover = b""
                if peek:
                    found = self._past_record_end(f, name)
                    if found is None:  # no record starts in the segment
                        continue
                    leftover = found
                if i == 0 and self.header_records:
                    self.header, leftover = self._take_header(f, name)
                    if self.fingerprint is not None:
                        self.fingerprint.update(self.header)
                items = self._blocks(f, seg.base + self._offset - len(leftover) - seg.start, name, leftover)
                items = _within(items, seg.limit, name)
                yield from items if self.fingerprint is None else fingerprinted(items, self.fingerprint)
            finally:
                for stream in owned:
                    stream.close()

    def _read(self, f, name: str) -> bytes:
        """The next chunk of the segment, in internal form; past a frame-cut segment's end, the rest of its
        last record."""
        if self._left == 0 and self._open_end:
            chunk = self._pull(f, name, self.block_size)
            cut = chunk.find(b"\n") + 1
            if cut:
                self._open_end = False
                return chunk[:cut]
            return chunk
        want = self.block_size if self._left is None else min(self.block_size, self._left)
        if not want:
            return b""
        chunk = self._pull(f, name, want)
        if self._left is not None:
            self._left -= len(chunk)
            if self._left == 0 and chunk.endswith(b"\n"):
                self._open_end = False  # the segment ends on a record boundary after all
        return chunk

    def _past_record_end(self, f, name: str) -> bytes | None:
        """Read through the first newline before the segment's end; what was read after it (None: no newline)."""
        while self._left != 0:
            chunk = self._read(f, name)
            if not chunk:
                return None
            cut = chunk.find(b"\n")
            if cut >= 0:
                return chunk[cut + 1 :]
        return None

    def _pull(self, f, name: str, want: int) -> bytes:
        try:
            chunk = f.read(want)
        except OSError as err:
            raise describe_os_error(f"error reading '{name}'", err) from None
        except CorruptInput as err:
            where = f"after byte {self._offset} of its decompressed data"
            raise ShuffleError(f"error reading '{name}': corrupt compressed data {where} ({err})") from None
        self.bytes_read += len(chunk)
        self._offset += len(chunk)
        return self.codec.decode(chunk)

    def _take_header(self, f, name: str) -> tuple[bytes, bytes]:
        """The first ``header_records`` records, and the bytes read after them."""
        data = b""
        while True:
            start = 0
            for _ in range(self.header_records):
                start = data.find(b"\n", start) + 1
                if not start:
                    break
            else:
                return data[:start], data[start:]
            chunk = self._read(f, name)
            if not chunk:  # fewer records than asked for: the whole source is the header
                return (data if data.endswith(b"\n") or not data else data + b"\n"), b""
            data += chunk

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
                    tail = _LongTail(lambda: self._read(f, name), bytes(carry))
                    carry = bytearray()
                    record = LongRecord(pos, iter(tail))
                    yield record
                    for _ in record.pieces:  # drain (through any tap on the way) if the consumer stopped early
                        pass
                    pos += tail.length
                    leftover = tail.leftover
                continue
            if carry:
                carry += memoryview(chunk)[:cut]
                data = bytes(carry)
            else:
                data = chunk if cut == len(chunk) else chunk[:cut]
            carry = bytearray(memoryview(chunk)[cut:])
            yield from cut_block(pos, data, self.max_records)
            pos += len(data)
        if carry:
            carry += b"\n"
            yield Block(pos, bytes(carry))


def _within(items: Iterator[Block | LongRecord], limit: int, name: str) -> Iterator[Block | LongRecord]:
    """``items``, failing if one starts at or past ``limit``: so many inputs leave each fewer offset bits."""
    for item in items:
        if item.start >= limit:
            raise ShuffleError(f"error reading '{name}': too long for one of this many inputs (split it, or join inputs)")
        yield item


def cut_block(pos: int, data: bytes, max_records: int) -> Iterator[Block]:
    """``data`` (whole records from input offset ``pos``) as blocks of at most ``max_records`` records.

    Each record costs ~60 bytes of numpy arrays downstream (ends, offsets,
    keys, bucket ids, sort order); a block of empty lines would otherwise
    cost 60x its size (measured: 10 M empty lines at -m 16M peaked 17 MB
    over the idle interpreter before the cut). The record ends found here
    (8 bytes per record) go with the blocks, so they are found once (pass 1
    on 1 GB of 20-byte lines, -j 2: 5.1-5.5 s against 5.8-6.0 s counting
    newlines first; 5 MB more peak RSS per worker).
    """
    ends = record_ends(data)
    if len(ends) <= max_records:
        yield Block(pos, data, ends)
        return
    start = 0
    for i in range(0, len(ends), max_records):
        part = ends[i : i + max_records]
        end = int(part[-1])
        yield Block(pos + start, data[start:end], part - start)
        start = end


class _LongTail:
    """The pieces of one record too long to hold, read as they are consumed.

    Once drained: ``length``, the record's bytes in the input, and
    ``leftover``, what was read past its end.
    """

    def __init__(self, read: Callable[[], bytes], head: bytes) -> None:
        self._read = read
        self._head = head
        self.length = 0
        self.leftover = b""
        self._pieces = self._stream()

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces

    def _stream(self) -> Iterator[bytes]:
        length = len(self._head)
        yield self._head
        while True:
            chunk = self._read()
            if not chunk:
                self.length = length
                yield b"\n"
                return
            cut = chunk.find(b"\n") + 1
            if cut:
                self.length, self.leftover = length + cut, chunk[cut:]
                yield chunk[:cut]
                return
            length += len(chunk)
            yield chunk


def fingerprinted(items: Iterator[Block | LongRecord], fp: Fingerprint) -> Iterator[Block | LongRecord]:
    """``items``, each record shown to ``fp`` on the way (--verify's read side)."""
    for item in items:
        if isinstance(item, Block):
            fp.update(item.data, item.ends)
        else:
            item.pieces = tapped(item.pieces, fp.update)
        yield item


def read_header(path: Source, header: int, sep: bytes, size: int | None) -> tuple[bytes, int]:
    """The first ``header`` records of file ``path`` (of ``size`` bytes as read; None: not known, as for
    compressed data) and where the rest starts, as bytes of it read.

    A file that is all header and lacks its last newline gets one, so the
    rest starts at the file's end, not past it.
    """
    reader = RecordReader([path], 1 << 16, 1 << 16, sep, header)
    next(iter(reader), None)  # the header is read on the way to the first block
    return reader.header, len(reader.header) if size is None else min(len(reader.header), size)
