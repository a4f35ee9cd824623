"""What goes into the shuffle from each record read: its copies, keyed, and each input's count.

Without ``--weights`` a record goes in once, at its own position (the keys
of every run before weights). With them, copy ``c`` of the record at offset
``o`` of input ``i`` is a record at ``weighting.base(i, c) + o``; the keys
and lengths of a sampled copy are also put aside (``SampleKeys``) to find
after pass 1 which of them stay (``core/weights.py``).

With weights, ``--verify``'s read side is fed here, not by the reader: what
goes into the shuffle is each record times its whole copies, and the
sampled copy's records that stay (their hashes are put aside with their keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..core.fingerprint import Fingerprint, record_hashes
from ..core.gather import gather
from ..core.keys import derive_keys, input_base, input_bits, key_of, keys_of
from ..core.records import Block, LongRecord, Records, ends_of, lengths_of, record_ends, record_starts, tapped
from ..core.weights import Weighting, band, sample_hashes
from ..errors import ShuffleError
from ..storage.buckets import FileBuckets
from ..storage.sample_keys import SampleKeys


class Intake:
    """Keys the copies of each record of ``inputs`` inputs; counts the records read of each (``lines``)."""

    def __init__(
        self, inputs: int, seed: int, weighting: Weighting | None = None, aside: SampleKeys | None = None,
        fingerprint: Fingerprint | None = None, leave_out: float | None = None,
    ) -> None:
        self.inputs = inputs
        self.seed = seed
        self.mix = derive_keys(seed)
        self.leave_out = leave_out  # store a sampled copy's lines only below weights.band of these sigmas
        self._sampled_seen = [0] * inputs  # lines of each input's sampled copy seen so far
        self.weighting = weighting
        self.aside = aside  # where a sampled copy's keys go (required when the weighting samples)
        self.fingerprint = fingerprint  # --verify's read side, with weights
        self.lines = [0] * inputs
        self.nbytes = [0] * inputs  # bytes of records read of each input (as read: decompressed)
        self._shift = 64 - input_bits(inputs)

    def _copies(self, start: int, length: int) -> tuple[int, list[tuple[int, bool]]]:
        """The input a record (or block) at ``start`` is in, and where each copy of it goes (sampled or not)."""
        index = start >> self._shift if self._shift < 64 else 0
        w = self.weighting
        if w is None:
            return index, [(start, False)]
        offset = start - input_base(index, self.inputs)
        if offset + length > w.span:
            raise ShuffleError(f"input {index + 1} is too large for {w.copies} copies of each record (--weights)")
        sampled = w.sampled_copy(index)
        return index, [(w.base(index, c) + offset, c == sampled) for c in range(w.copies_of(index))]

    def block(self, block: Block) -> list[Records]:
        """Each of the block's copies as records to store (none for a weight of 0; a sampled copy's
        left-out lines not among them)."""
        ends = record_ends(block.data) if block.ends is None else block.ends
        index, copies = self._copies(block.start, len(block.data))
        self.lines[index] += len(ends)
        self.nbytes[index] += len(block.data)
        hashes = None
        if self.fingerprint is not None:
            hashes = record_hashes(block.data, ends)
            self.fingerprint.add(int(hashes.sum(dtype=np.uint64)), len(ends), self._whole(index))
        lengths = lengths_of(ends)
        out = []
        for start, sampled in copies:
            keys = keys_of(record_starts(start, ends), self.mix)
            if not sampled:
                out.append(Records(block.data, keys, lengths))
                continue
            assert self.aside is not None
            stored = self._stored(index, keys)
            self.aside.add(keys, lengths, hashes, stored)
            if stored is None or stored.all():
                out.append(Records(block.data, keys, lengths))
            elif stored.any():
                which = np.flatnonzero(stored)
                data, _ = gather(block.data, ends, which)
                out.append(Records(data, keys[which], lengths[which]))
        return out

    def _stored(self, index: int, keys: np.ndarray) -> np.ndarray | None:
        """Which lines of input ``index``'s sampled copy (keyed ``keys``) to store; None: all."""
        if self.leave_out is None:
            return None
        assert self.weighting is not None
        seen = self._sampled_seen[index] + np.arange(1, len(keys) + 1)
        self._sampled_seen[index] += len(keys)
        return sample_hashes(keys, self.seed) < band(self.weighting.weights[index], seen, self.leave_out)

    def _whole(self, index: int) -> int:
        return self.weighting.whole(index) if self.weighting is not None else 1

    def long(self, record: LongRecord) -> list[int]:
        """The keys of the copies of a record too long to hold; ``record.pieces`` is tapped to see it."""
        index, copies = self._copies(record.start, 0)
        self.lines[index] += 1
        if self.fingerprint is not None:
            self._long_seen = Fingerprint()
            record.pieces = tapped(record.pieces, self._long_seen.update)
        return [key_of(start, self.mix) for start, _ in copies]

    def long_done(self, record: LongRecord, keys: list[int], length: int) -> None:
        """Once a long record has streamed through (``length`` bytes): its fingerprint and sampled copy."""
        index, copies = self._copies(record.start, length)
        self.nbytes[index] += length
        hashes = None
        if self.fingerprint is not None:
            total, _, _ = self._long_seen.value
            self.fingerprint.add(total, 1, self._whole(index))
            hashes = np.array([total], dtype=np.uint64)
        for key, (_, sampled) in zip(keys, copies):
            if sampled:
                assert self.aside is not None
                self.aside.add(np.array([key], dtype=np.uint64), np.array([length], dtype=np.uint64), hashes)


def feed(items: Iterable[Block | LongRecord], sink: FileBuckets, intake: Intake, tick: Callable[[], None] = lambda: None) -> None:
    """Scatter the copies of the records read from the input into ``sink``."""
    for item in items:
        if isinstance(item, Block):
            for data, keys, lengths in intake.block(item):
                sink.add_block(data, ends_of(lengths), keys)
        else:
            long_keys = intake.long(item)
            if long_keys:
                length = sink.add_long(long_keys, item.pieces)
            else:  # a weight of 0: read past it
                length = sum(len(piece) for piece in item.pieces)
            intake.long_done(item, long_keys, length)
        tick()
