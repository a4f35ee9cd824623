"""Opening the inputs: files, standard input, compressed files, and lines given on the command line.

A source is a path (``-`` is standard input), ``Lines`` (``-e``) or a
``NumberRange`` (``-i``); with -R a directory stands for the files under it. Gzip,
zstd, bzip2 and xz input is recognised by its magic number, not its name,
so ``zcat``-free pipelines and misnamed files work; files of mixed kinds
are shuffled together.
"""

from __future__ import annotations

import errno
import os
import queue
import sys
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, cast

from ..errors import ShuffleError, describe_os_error
from ..storage import fs
from .zstd_frames import ZSTD_HEADER_MAX, ZSTD_MAGIC

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Lines:
    """Records given as arguments (``-e``), in external form (each ends with the separator)."""

    data: bytes


@dataclass(frozen=True)
class NumberRange:
    """The numbers ``lo`` to ``hi`` (inclusive), one per record (``-i LO-HI``)."""

    lo: int
    hi: int

    @property
    def count(self) -> int:
        return max(0, self.hi - self.lo + 1)

    def widths(self) -> Iterator[tuple[int, int, int]]:
        """(digits, first, last): the runs of numbers of equal width, in order."""
        digits, low = 1, 0
        while low <= self.hi:
            high = 10**digits - 1
            a, b = max(low, self.lo), min(high, self.hi)
            if a <= b:
                yield digits, a, b
            low, digits = high + 1, digits + 1

    def size(self, sep_len: int = 1) -> int:
        return sum((b - a + 1) * (digits + sep_len) for digits, a, b in self.widths())


Source = str | Lines | NumberRange
Operand = Source | tuple[Source, ...] | list[Source]  # what a weight applies to: an input, or several as one


def display_name(source: Source) -> str:
    if isinstance(source, Lines):
        return "the command line"
    if isinstance(source, NumberRange):
        return f"the range {source.lo}-{source.hi}"
    return "standard input" if source == "-" else source


BZIP2_BLOCKS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")  # a block, or the end of an empty stream
XZ_MAGIC = b"\xfd7zXZ\x00"
MAGIC_BYTES = 10  # what the longest check below looks at


def is_compressed(magic: bytes) -> bool:
    """Does a stream starting with these (``MAGIC_BYTES``) bytes hold gzip, zstd, bzip2 or xz data?

    Text never starts so (0x8b is not a valid first UTF-8 byte after 0x1f...), but
    binary records could; the whole header is checked to make that unlikely.
    """
    return _kind(magic) is not None


def _kind(magic: bytes) -> str | None:
    if len(magic) >= 4 and magic.startswith(GZIP_MAGIC + b"\x08") and not magic[3] & 0xE0:
        return "gzip"
    if magic.startswith(ZSTD_MAGIC):
        return "zstd"
    if magic[:3] == b"BZh" and magic[3:4].isdigit() and magic[3:4] != b"0" and magic[4:10] in BZIP2_BLOCKS:
        return "bzip2"
    if magic.startswith(XZ_MAGIC):
        return "xz"
    return None


def _is_gzip(magic: bytes) -> bool:
    return _kind(magic) == "gzip"


@dataclass(frozen=True)
class InputInfo:
    """What the one look at an input before the run found; everything later reads this, not the input.

    ``kind``: ``file`` (a regular file or an object), ``stream`` (standard
    input, a pipe, a FIFO, a device: read once, front to back), ``lines``
    (``-e``) or ``range`` (``-i``).
    """

    source: Source
    kind: Literal["file", "stream", "lines", "range"]
    size: int | None = None  # bytes, when known up front: a plain file's, -e's, -i's
    compressed: bool = False
    stat: fs.Stat | None = None  # a file's size and version, to notice it change while read
    expected: int | None = None  # a compressed file's decompressed bytes, guessed: plans need a size, keys never do

    @property
    def replayable(self) -> bool:
        """Can it be read a second time (``-r`` out of core reads it once per batch)?"""
        return self.kind != "stream"

    @property
    def splittable(self) -> bool:
        """Can it be cut into byte ranges and read in parallel (a plain, uncompressed file)?"""
        return self.kind == "file" and not self.compressed

    @property
    def planned_size(self) -> int | None:
        """Its bytes as read, exact or (compressed) guessed; None for a stream."""
        return self.expected if self.compressed else self.size


def probe(source: Source, sep: bytes = b"\n") -> InputInfo:
    """Look at ``source`` once: fail now if it cannot be read, else say what it is.

    A file costs one stat and one 4-byte read (on ``s3://``, two round trips).
    A FIFO is only checked for permission: opening it meets its writer, and
    closing it again would leave that writer with no reader (SIGPIPE).
    """
    if isinstance(source, Lines):
        return InputInfo(source, "lines", len(source.data))
    if isinstance(source, NumberRange):
        return InputInfo(source, "range", source.size(len(sep)))
    if source == "-":
        try:
            standard_input()
        except OSError as err:
            raise describe_os_error("error reading 'standard input'", err) from None
        return InputInfo(source, "stream")
    if fs.is_directory(source):
        raise _not_a_file(source)
    st = fs.stat_of(source)
    if st.fifo:
        if not os.access(fs.local(source), os.R_OK):
            raise describe_os_error(f"cannot open '{source}'", PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
        return InputInfo(source, "stream")
    with fs.open_read(source) as f:
        if not st.regular:  # a device: opened (as a directory fails to be), never read twice
            return InputInfo(source, "stream")
        try:
            head = f.read(max(ZSTD_HEADER_MAX, MAGIC_BYTES))
            if not is_compressed(head[:MAGIC_BYTES]):
                return InputInfo(source, "file", st.size, False, st)
            return InputInfo(source, "file", None, True, st, _expected_size(f, head, st.size))
        except OSError as err:
            raise describe_os_error(f"error reading '{source}'", err) from None


def standard_input() -> BinaryIO:
    """The process's standard input, binary; if it was closed when the process started, the
    error a read of it gets (``shuf - <&-``: Bad file descriptor)."""
    if sys.stdin is None:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
    if sys.stdin.isatty():
        return cast(BinaryIO, _UntilEnd(cast(Any, sys.stdin.buffer).raw))
    return sys.stdin.buffer


class _Reads:
    """A stream made of its ``read``: ``readinto`` (what ISA-L's gzip reader calls) reads through it, and
    closing it leaves whatever it reads from open (its owner closes that)."""

    def read(self, n: int = -1) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        pass


class _UntilEnd(_Reads):
    """A terminal, read until it first says end of file and never again.

    A terminal's end of file (Ctrl-D) is not sticky: a buffered reader that
    got one mid-read returns what it has, and its next read waits for another
    (coreutils' tests/misc/tty-eof.pl: one Ctrl-D must do).
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.ended = False

    def read(self, n: int = -1) -> bytes:
        chunks: list[bytes] = []
        got = 0
        while not self.ended and (n < 0 or got < n):
            chunk = self.raw.read(1 << 16 if n < 0 else n - got)
            if not chunk:
                self.ended = True
            else:
                chunks.append(chunk)
                got += len(chunk)
        return b"".join(chunks)


def _not_a_file(path: str) -> ShuffleError:
    """The error for a directory given as an input without -R: what reading it says, as shuf reports
    (Is a directory; under a fault injector, its error), with what -R would do."""
    err: OSError = IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not fs.is_url(path):
        try:
            fd = os.open(fs.local(path), os.O_RDONLY)
            try:
                os.read(fd, 1)
            finally:
                os.close(fd)
        except OSError as read_error:
            err = read_error
    hint = "; -R shuffles the files under it" if err.errno == errno.EISDIR else ""
    return ShuffleError(f"error reading '{path}': {err.strerror}{hint}")


# Decompressed/compressed size of text and JSONL at gzip -6 or zstd -3 (measured 2.7-3.3 on
# bench_shards.py's corpus): the guess when the file does not say.
TYPICAL_RATIO = 3


def _expected_size(f: BinaryIO, head: bytes, size: int) -> int:
    """A compressed file's decompressed size, as it says (a single gzip member's ISIZE, a zstd frame's
    content size) when that is plausible, else ``TYPICAL_RATIO`` times its size.

    A hint smaller than the file is not believed: a multi-member gzip file's ISIZE is its last
    member's, a multi-frame zstd file's header its first frame's, and ISIZE counts modulo 4 GiB.
    """
    hint = -1
    if _is_gzip(head[:4]) and size >= 18:
        f.seek(size - 4)
        hint = int.from_bytes(f.read(4), "little")
    elif head.startswith(ZSTD_MAGIC):
        try:
            import zstandard

            hint = zstandard.frame_content_size(head)
        except (ImportError, Exception):
            hint = -1
    return hint if hint >= size else size * TYPICAL_RATIO


def operand_sources(operands: Sequence[Operand], recursive: bool = False) -> list[tuple[int, Source]]:
    """The inputs ``operands`` name, each with the index of its operand: a tuple of sources (a
    ``--files-from`` list) is one operand, and with ``recursive`` so is a directory (the files under it)."""
    out = []
    for i, operand in enumerate(operands):
        for source in operand if isinstance(operand, (tuple, list)) else [operand]:
            out += [(i, s) for s in (expand([source]) if recursive else [source])]
    return out


def expand(sources: list[Source]) -> list[Source]:
    """``sources`` with each directory replaced by the files under it (``fs.files_under``)."""
    out: list[Source] = []
    for source in sources:
        if isinstance(source, str) and source != "-" and fs.is_directory(source):
            out.extend(fs.files_under(source))
        else:
            out.append(source)
    return out


def listed_in(path: str, sep: bytes = b"\n") -> list[str]:
    """The paths or URLs named in file ``path`` (``-``: standard input), one per ``sep``-ended record
    (``--files-from``); empty records are skipped."""
    try:
        if path == "-":
            data = standard_input().read()
        else:
            with fs.open_read(path) as f:
                data = f.read()
    except OSError as err:
        raise describe_os_error(f"cannot read '{display_name(path)}'", err) from None
    return [os.fsdecode(name) for name in data.split(sep) if name]


def only_numbers(infos: list[InputInfo], header: int) -> NumberRange | None:
    """The range, when the whole input is one ``-i`` range and no header: its records need no text."""
    if len(infos) == 1 and isinstance(infos[0].source, NumberRange) and not header:
        return infos[0].source
    return None


def input_size(infos: list[InputInfo]) -> int | None:
    """Total bytes when known up front (plain files, -e, -i), else None (pipes, compressed data)."""
    sizes = [info.size for info in infos]
    return None if None in sizes else sum(sizes)  # type: ignore[arg-type]


def planned_size(infos: list[InputInfo]) -> int | None:
    """Total bytes, with compressed files' guessed; None if a stream is among them."""
    sizes = [info.planned_size for info in infos]
    return None if None in sizes else sum(sizes)  # type: ignore[arg-type]


def snapshot(infos: list[InputInfo]) -> dict[str, fs.Stat]:
    """Size and version (modification time...) of each regular-file input, to notice changes later."""
    return {info.source: info.stat for info in infos if info.stat is not None and info.stat.regular}  # type: ignore[misc]


def check_unchanged(snap: dict[str, fs.Stat]) -> None:
    """Fail if an input file was written to while it was read: its permutation would be wrong."""
    for path, before in snap.items():
        try:
            now = fs.stat_of(path)
        except ShuffleError:
            now = fs.Stat(False, -1, ())
        if now != before:
            size = before.size
            change = f"size {size} -> {now.size}" if now.size != size else "modified"
            raise ShuffleError(f"input '{path}' changed while being read ({change}): shuffle a copy that is not being written to")


class _Prefixed(_Reads):
    """A stream whose first bytes were already read (to sniff the format)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head = head
        self.rest = rest

    def read(self, n: int = -1) -> bytes:
        if not self.head:
            return self.rest.read(n)
        if 0 <= n < len(self.head):
            head, self.head = self.head[:n], self.head[n:]
            return head
        head, self.head = self.head, b""
        return head + self.rest.read(-1 if n < 0 else n - len(head))


class _Numbers:
    """The text of a NumberRange, generated as it is read."""

    BATCH = 1 << 16

    def __init__(self, numbers: NumberRange, sep: bytes) -> None:
        self.next = numbers.lo
        self.hi = numbers.hi
        self.sep = sep.decode()
        self.pending = b""

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self.pending) < n) and self.next <= self.hi:
            stop = min(self.hi + 1, self.next + self.BATCH)
            self.pending += (self.sep.join(map(str, range(self.next, stop))) + self.sep).encode()
            self.next = stop
        if n < 0:
            n = len(self.pending)
        chunk, self.pending = self.pending[:n], self.pending[n:]
        return chunk

    def close(self) -> None:
        pass


class CorruptInput(Exception):
    """Compressed input that cannot be decoded (the decoder's own error said why)."""


class _Decoded:
    """A decompressing stream whose decoding errors, whatever the codec, come out as CorruptInput."""

    def __init__(self, stream: Any, errors: tuple[type[Exception], ...]) -> None:
        self.stream = stream
        self.errors = errors  # not OSError at large: a read error stays an I/O error

    def read(self, n: int = -1) -> bytes:
        try:
            return self.stream.read(n)
        except self.errors as err:
            raise CorruptInput(str(err)) from None

    def close(self) -> None:
        self.stream.close()


def decoded(raw: BinaryIO, name: str) -> Any:
    """The bytes of the open stream ``raw``, decompressed if they are compressed (read errors of the
    data as CorruptInput); closing the result leaves ``raw`` open."""
    magic = raw.read(MAGIC_BYTES)
    prefixed = _Prefixed(magic, raw)
    return _decompressing(prefixed, magic, name) if is_compressed(magic) else prefixed


def _decompressing(f, magic: bytes, name: str):
    if _is_gzip(magic):
        import gzip

        # ISA-L inflates at 2.1x zlib's speed (545 against 254 MB/s of output, bench_shards.py's JSONL)
        from isal import igzip, isal_zlib

        broken = cast(type[Exception], isal_zlib.error)  # the stub calls the class an instance
        # BadGzipFile (an OSError) is a bad CRC, length or member header: the data, not the disk
        return _Decoded(igzip.IGzipFile(fileobj=f, mode="rb"), (EOFError, broken, zlib.error, gzip.BadGzipFile))
    if _kind(magic) == "bzip2":
        import bz2

        return _Decoded(bz2.BZ2File(f, "rb"), (EOFError, OSError))  # bz2 says "Invalid data stream" as an OSError
    if _kind(magic) == "xz":
        import lzma

        return _Decoded(lzma.LZMAFile(f, "rb"), (EOFError, lzma.LZMAError))
    if magic.startswith(ZSTD_MAGIC):
        try:
            import zstandard
        except ImportError:
            raise ShuffleError(
                f"'{name}' is zstd-compressed: install the extra with pip install 'shuffle-big[zstd]'"
            ) from None
        stream = zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True, closefd=False)
        return _Decoded(stream, (EOFError, zstandard.ZstdError))
    return f


class _Prefetched:
    """A stream read ahead by a thread of its own, ``depth`` chunks of ``size`` bytes at most.

    Decompressors (zlib, ISA-L, zstd, bz2, lzma) let go of the GIL while they
    work, so a compressed input is decoded on one core while this process
    scatters on another. A read error is raised by the ``read`` that meets it.
    """

    def __init__(self, stream: Any, size: int, depth: int = 2) -> None:
        self.stream = stream
        self.size = size
        self.chunks: queue.Queue = queue.Queue(depth)
        self.stopping = threading.Event()
        self.pending = b""
        self.ended = False
        self.thread = threading.Thread(target=self._run, name="shuffle-big-prefetch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                chunk = self.stream.read(self.size)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as err:  # handed to the reader, raised there
            self._put(err)

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, n: int = -1) -> bytes:
        if not self.pending and not self.ended:
            item = self.chunks.get()
            if isinstance(item, BaseException):
                self.ended = True
                raise item
            self.ended = not item
            self.pending = item
        if n < 0 or n >= len(self.pending):  # the reader asks for whole chunks: no copy
            out, self.pending = self.pending, b""
        else:
            out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.stream.close()


def open_source(
    source: Source, sep: bytes = b"\n", start: int = 0, prefetch: int = 0, frame: tuple[int, int] = (0, 0),
):
    """A readable binary stream of ``source``'s bytes, decompressed, from byte ``start`` of them.

    A plain file is read from ``start`` on; a compressed one is decoded from
    byte ``frame[0]`` of the file, where a zstd frame holding decompressed byte
    ``frame[1]`` begins (else the file's beginning: a gzip stream cannot be
    entered in the middle), and the bytes up to ``start`` skipped.
    ``prefetch``: read a compressed input ahead, on a thread, in chunks of this size.
    Returns (stream, the files to close afterwards).
    """
    if isinstance(source, Lines):
        import io

        return io.BytesIO(source.data), []
    if isinstance(source, NumberRange):
        return _Numbers(source, sep), []
    name = display_name(source)
    try:
        raw = standard_input() if source == "-" else fs.open_read(source)
    except OSError as err:
        raise describe_os_error(f"error reading '{name}'", err) from None
    owned: list[Any] = [] if source == "-" else [raw]
    try:
        if frame[0]:
            raw.seek(frame[0])
            start -= frame[1]
        magic = raw.read(MAGIC_BYTES)
        if not is_compressed(magic):
            if start:
                raw.seek(start)
                return raw, owned
            return _Prefixed(magic, raw), owned
        stream = _decompressing(_Prefixed(magic, raw), magic, name)
        owned = [stream, *owned]
        while start > 0:
            skipped = stream.read(min(start, 1 << 20))
            if not skipped:
                break
            start -= len(skipped)
        if prefetch:
            stream = _Prefetched(stream, prefetch)
            owned = [stream, *owned[1:]]  # it closes the decoder, after its thread has stopped
        return stream, owned
    except CorruptInput as err:
        for f in owned:
            f.close()
        raise ShuffleError(f"error reading '{name}': corrupt compressed data ({err})") from None
    except OSError as err:
        for f in owned:
            f.close()
        raise describe_os_error(f"error reading '{name}'", err) from None


def records_per_byte(source: Source, sep: bytes = b"\n") -> float:
    """Records per byte in the first MiB of ``source`` as read (decompressed), to size a plan."""
    stream, owned = open_source(source, sep)
    try:
        head = stream.read(1 << 20)
    finally:
        for f in owned:
            f.close()
    return (head.count(sep) + 1) / (len(head) + 1)
