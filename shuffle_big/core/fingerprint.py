"""``--verify``: an order-independent fingerprint of a multiset of records.

The fingerprint is the sum, modulo 2**64, of a 64-bit hash of every record
(with its newline), with the number of records. Order does not change it,
so it is computed on the way in (as records are read) and on the way out
(as they are written, by whichever process writes them), and the two must
agree. Fed any cut of the byte stream, it gives the same value: a record
cut across writes is held until its end arrives.

The hash of a whole buffer of records is one vectorised call when polars is
installed (``pip install 'shuffle-big[verify]'``): on 4 MB of 20-byte lines
10 ns/record, against 117 for ``xxh64`` over ``bytes.split`` (the fallback).
The two hashes differ, and polars' is stable only within one polars
version, so a value names its hasher and values of different hashers are
never added up (a cluster whose workers differ fails loudly, not wrongly).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xxhash

from ..errors import ShuffleError
from .gather import arrow_binary
from .keys import MASK64
from .records import Buffer

_SEED = 0x5EED
_pl: Any = False  # polars, None without it; imported on first use: only --verify pays its ~25 MB


def _polars() -> Any:
    global _pl
    if _pl is False:
        # One thread: a process hashes what it reads or writes, and -j N processes already use the cores.
        os.environ.setdefault("POLARS_MAX_THREADS", "1")
        try:
            import polars

            _pl = polars
        except ImportError:  # the fallback: xxh64 of each record
            _pl = None
    return _pl


def hasher() -> str:
    """The name of the record hash this process uses (values of different ones do not add up)."""
    pl = _polars()
    return f"polars-{pl.__version__}" if pl is not None else f"xxh64-{xxhash.VERSION}"


def record_hashes(data: Buffer, ends: np.ndarray) -> np.ndarray:
    """The hash of each record of ``data`` (whole records ending at ``ends``), uint64."""
    if not len(ends):
        return np.zeros(0, dtype=np.uint64)
    pl = _polars()
    if pl is not None:
        return pl.Series(arrow_binary(data, ends)).hash(seed=_SEED).to_numpy()
    return np.fromiter(map(xxhash.xxh64_intdigest, bytes(data).split(b"\n")[:-1]), dtype=np.uint64, count=len(ends))


def hash_sum(data: Buffer, ends: np.ndarray) -> int:
    """Sum mod 2**64 of the hashes of the records of ``data`` (whole records ending at ``ends``)."""
    return int(record_hashes(data, ends).sum(dtype=np.uint64))


class Fingerprint:
    """The running fingerprint of the records fed to ``update`` (and of values merged from workers)."""

    def __init__(self) -> None:
        self.total = 0
        self.records = 0
        self._partial = bytearray()  # the start of a record whose end is not seen yet

    def update(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        """Add internal-form bytes (records end in ``\\n``), cut anywhere.

        ``ends``: where the records of ``data`` end, when the caller knows
        (whole records only); saves looking for the newlines.
        """
        if ends is None or self._partial or not len(ends):  # no end given: a piece of a record, perhaps
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            if not len(ends):
                self._partial += data
                return
            ends += 1
        view = memoryview(data)
        first = int(ends[0])
        if self._partial:  # the record cut at the last update ends here
            self._partial += view[:first]
            self._add(hash_sum(bytes(self._partial), np.array([len(self._partial)])), 1)
            self._partial = bytearray()
            view, ends = view[first:], ends[1:] - first
        whole = int(ends[-1]) if len(ends) else 0
        self._add(hash_sum(view[:whole], ends), len(ends))
        self._partial += view[whole:]

    def _add(self, total: int, records: int) -> None:
        self.total = (self.total + total) & MASK64
        self.records += records

    def add(self, total: int, records: int, times: int = 1) -> None:
        """Count ``times`` over records whose hashes (by this process's hasher) sum to ``total``."""
        self._add(total * times, records * times)

    def merge(self, other: tuple[int, int, str]) -> None:
        """Add a ``value`` computed elsewhere (a worker's)."""
        total, records, theirs = other
        if theirs != (mine := hasher()):
            raise ShuffleError(
                f"--verify: a worker hashed records with {theirs}, this process with {mine}: "
                "install the same polars (or none) everywhere"
            )
        self._add(total, records)

    @property
    def value(self) -> tuple[int, int, str]:
        """(sum of record hashes mod 2**64, record count, the hasher); picklable, for merging."""
        if self._partial:
            raise ValueError("a record is incomplete")
        return self.total, self.records, hasher()

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
        if self.read.value[:2] != self.written.value[:2]:
            raise ShuffleError(
                f"--verify failed: the output's fingerprint {self.written.describe()} does not match the input's "
                f"{self.read.describe()}; the output was not written"
            )
