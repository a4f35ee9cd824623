"""``--verify``: an order-independent fingerprint of a multiset of records.

The fingerprint is the sum, modulo 2**64, of the xxh64 of every record
(without its separator), with the number of records. Order does not change
it, so it is computed on the way in (as records are read) and on the way out
(as they are written, by whichever process writes them), and the two must
agree. Fed any cut of the byte stream, it gives the same value: a record
split across writes is hashed incrementally.
"""

from __future__ import annotations

import xxhash

from ..errors import ShuffleError
from .keys import MASK64
from .records import Buffer


class Fingerprint:
    """The running fingerprint of the records fed to ``update`` (and of values merged from workers)."""

    def __init__(self) -> None:
        self.total = 0
        self.records = 0
        self._partial: xxhash.xxh64 | None = None  # a record whose end is not seen yet

    def update(self, data: Buffer) -> None:
        """Add internal-form bytes (records end in ``\\n``), cut anywhere."""
        data = bytes(data)  # no copy of bytes; a buffer the ordering filled is copied
        start = 0
        if self._partial is not None:
            cut = data.find(b"\n")
            if cut < 0:
                self._partial.update(data)
                return
            self._partial.update(data[:cut])
            self._add(self._partial.intdigest(), 1)
            self._partial = None
            start = cut + 1
        last = data.rfind(b"\n")
        if last >= start:
            lines = data[start:last].split(b"\n")
            self._add(sum(map(xxhash.xxh64_intdigest, lines)), len(lines))
            start = last + 1
        if start < len(data):
            self._partial = xxhash.xxh64(data[start:])

    def _add(self, total: int, records: int) -> None:
        self.total = (self.total + total) & MASK64
        self.records += records

    def merge(self, other: tuple[int, int]) -> None:
        """Add a ``value`` computed elsewhere (a worker's)."""
        self._add(*other)

    @property
    def value(self) -> tuple[int, int]:
        """(sum of record hashes mod 2**64, record count); picklable, for merging."""
        if self._partial is not None:
            raise ValueError("a record is incomplete")
        return self.total, self.records

    def describe(self) -> str:
        return f"{self.total:016x} ({self.records} lines)"


class Verifier:
    """--verify for one run: what every reader feeds ``read``, what every writer feeds ``written``.

    Each side is fed exactly once per record, by whoever handles it: the
    reader or the scatter workers on the way in, the output or the pass-2
    workers on the way out (the header goes through both sides like any
    record). ``check`` runs before the output is committed.
    """

    def __init__(self) -> None:
        self.read = Fingerprint()
        self.written = Fingerprint()

    def check(self) -> None:
        if self.read.value != self.written.value:
            raise ShuffleError(
                f"--verify failed: the output's fingerprint {self.written.describe()} does not match the input's "
                f"{self.read.describe()}; the output was not written"
            )
