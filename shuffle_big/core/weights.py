"""``--weights``: how many times each input's records go into the shuffle, and which a fraction takes.

A weight ``w`` puts ``floor(w)`` copies of each of an input's records into
the shuffle, and, for a fractional part, one more copy of exactly
``round(frac(w) * n)`` of the ``n`` records of its operand (halves round up).
Each copy is a record with a position of its own (``keys.input_base``), so
its key, and so its place, is independent of the other copies'.

The sampled copy keeps the records with the smallest *sample hashes*, a
second keyed bijection of their keys: which records are kept is then
independent of where they go, and of where they were. ``n`` is known only
once everything is read, so the threshold is found after pass 1 (from the
sampled copy's keys, which pass 1 puts aside: ``SampleDraw``), and pass 2
drops the records above it as it reads the buckets (``Sample.kept``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from .keys import derive_keys, input_base, input_span, keys_of, positions_of, slot_of
from .plan import floor_log2


def parse_weights(text: str) -> tuple[Fraction, ...]:
    """``"2,0.5,1"`` as exact fractions (ValueError saying what is wrong)."""
    weights = []
    for item in text.split(","):
        try:
            w = Fraction(item.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"'{item}' is not a number") from None
        if w < 0:
            raise ValueError(f"'{item}' is negative")
        weights.append(w)
    return tuple(weights)


def as_number(weight: Fraction) -> int | float:
    """A weight as people (and JSON) write it: 2, 0.5."""
    return int(weight) if weight.denominator == 1 else float(weight)


def sample_size(weight: Fraction, n: int) -> int:
    """Records the fractional part of ``weight`` takes of ``n``: ``round(frac(weight) * n)``, halves up."""
    return math.floor((weight - math.floor(weight)) * n + Fraction(1, 2))


@dataclass(frozen=True)
class Weighting:
    """Each input's weight, and the operand it came from (a sample is drawn over an operand's records)."""

    weights: tuple[Fraction, ...]
    groups: tuple[int, ...]

    @property
    def inputs(self) -> int:
        return len(self.weights)

    @property
    def copies(self) -> int:
        """Copy slots per input: the most copies any input makes (at least one, as without weights)."""
        return max([1, *(math.ceil(w) for w in self.weights)])

    def whole(self, index: int) -> int:
        """Whole copies of input ``index``'s records."""
        return math.floor(self.weights[index])

    def copies_of(self, index: int) -> int:
        return math.ceil(self.weights[index])

    def sampled_copy(self, index: int) -> int:
        """The copy of input ``index`` that is sampled, -1 if none is (a whole weight)."""
        w = self.weights[index]
        return math.floor(w) if w != math.floor(w) else -1

    @property
    def samples(self) -> bool:
        return any(w != math.floor(w) for w in self.weights)

    def base(self, index: int, copy: int) -> int:
        return input_base(index, self.inputs, self.copies, copy)

    @property
    def span(self) -> int:
        return input_span(self.inputs, self.copies)

    @cached_property
    def slots(self) -> tuple[np.ndarray, np.ndarray]:
        """For each copy slot (``index * copies + copy``): is it a sampled copy, and its input's operand."""
        sampled = np.zeros(self.inputs * self.copies, dtype=bool)
        for i in range(self.inputs):
            if self.sampled_copy(i) >= 0:
                sampled[i * self.copies + self.sampled_copy(i)] = True
        return sampled, np.repeat(np.array(self.groups, dtype=np.int64), self.copies)

    def group_sizes(self, lines: Sequence[int]) -> dict[int, int]:
        """Records of each operand with a sampled copy, from each input's ``lines``."""
        sizes: dict[int, int] = {}
        for i, n in enumerate(lines):
            if self.sampled_copy(i) >= 0:
                sizes[self.groups[i]] = sizes.get(self.groups[i], 0) + n
        return sizes


@dataclass(frozen=True)
class Sample:
    """Which records of the sampled copies are kept: those whose sample hash is at most their operand's
    threshold. Plain data, so pass-2 tasks carry it."""

    weighting: Weighting
    seed: int
    thresholds: tuple[int | None, ...]  # per operand: the largest sample hash kept (None: none is)

    @cached_property
    def _limits(self) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
        """The run's keys, and per operand the largest hash kept and whether any is (asked once per piece)."""
        limits = np.array([t if t is not None else 0 for t in self.thresholds], dtype=np.uint64)
        return derive_keys(self.seed), limits, np.array([t is not None for t in self.thresholds], dtype=bool)

    def kept(self, keys: np.ndarray) -> np.ndarray:
        """A mask of the records (by key) that stay."""
        mix, limits, takes = self._limits
        sampled, groups = _sampled(self.weighting, mix, keys)
        keep = ~sampled
        if sampled.any():
            hashes = sample_hashes(keys[sampled], self.seed)
            g = groups[sampled]
            keep[sampled] = takes[g] & (hashes <= limits[g])
        return keep


# Pass 1 may leave out a sampled copy's line whose sample hash is far above where the threshold can
# fall: for the i-th such line it has seen of an input, the fraction plus BAND_SIGMAS standard
# deviations of the fraction of i lines, plus 2/i for the rounding (the threshold of n >= i lines has
# one of n/i times that spread). The threshold is found on every line's hash all the same; a run whose
# threshold lands above a line left out (odds far below 1e-30) scatters again, leaving none out.
BAND_SIGMAS = 12.0


def band(weight: Fraction, seen: np.ndarray, sigmas: float = BAND_SIGMAS) -> np.ndarray:
    """For the ``seen``-th lines (1-based) of an input's sampled copy: the sample hash below which each is
    stored (uint64; 2**64 - 1 and above: all)."""
    f = float(weight - math.floor(weight))
    i = seen.astype(np.float64)
    bound = f + sigmas * np.sqrt(f * (1 - f) / i) + 2 * (sigmas > 0) / i
    below_one = np.minimum(bound, 1 - 2.0**-53)  # so that the product fits 64 bits
    return np.where(bound >= 1, np.uint64(2**64 - 1), (below_one * 2.0**64).astype(np.uint64))


def sample_hashes(keys: np.ndarray, seed: int) -> np.ndarray:
    """The sample hash of each record by key: a bijection of the key, keyed independently of it."""
    return keys_of(keys, derive_keys(seed, "sample"))


def _sampled(weighting: Weighting, mix: tuple[int, int], keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which records (by key) are in a sampled copy, and each one's operand."""
    slots = slot_of(positions_of(keys, mix), weighting.inputs, weighting.copies)
    sampled, groups = weighting.slots
    return sampled[slots], groups[slots]


class SampleDraw:
    """Finds each operand's threshold from its sampled copy's keys (put aside by pass 1), and what dropping
    the records above it takes from each pass-1 bucket (``bits`` key bits), in ``memory`` bytes or so.

    Sample hashes are counted in bins by their top bits to find the bin that
    holds each threshold, then that bin in bins by the next bits, and so on
    (one read of the keys each: ``count``, then ``narrow``) until the bin is
    small enough to hold; a last read (``classify``) keeps the records below
    it, drops those above, and holds those in it to find the threshold exactly.
    """

    def __init__(self, weighting: Weighting, seed: int, lines: Sequence[int], bits: int, memory: int = 64 << 20) -> None:
        self.weighting, self.seed, self.bits = weighting, seed, bits
        self.mix = derive_keys(seed)
        sizes = weighting.group_sizes(lines)
        groups = max(weighting.groups) + 1
        self.need = [0] * groups  # per operand: records still to keep in its bin
        for g, n in sizes.items():
            first = next(i for i in range(weighting.inputs) if weighting.groups[i] == g)
            self.need[g] = sample_size(weighting.weights[first], n)
        self.in_bin = [sizes.get(g, 0) for g in range(groups)]  # records in each operand's bin
        self.prefix_bits = [0] * groups  # the bin: sample hashes whose top prefix_bits bits are prefix
        self.prefix = [0] * groups
        # a held record of the last bin costs 32 bytes, a bin count 8: each gets a 64th of the memory
        self.most_held = max(64, memory // 64 // 32)
        self.step = min(16, max(8, floor_log2(max(1, memory // 64 // 8))))
        self.counts: list[np.ndarray | None] = [None] * groups
        self.close: list[list[np.ndarray]] = [[] for _ in range(groups)]  # what the last bin holds
        self.dropped_bytes = np.zeros(1 << bits, dtype=np.int64)
        self.dropped_records = np.zeros(1 << bits, dtype=np.int64)
        self.kept_per_input = np.zeros(weighting.inputs, dtype=np.int64)
        self.kept_hashes = 0  # sum mod 2**64 of the hashes of the records kept (--verify), when given
        self.least_left_out = [2**64] * groups  # per operand: the smallest sample hash pass 1 did not store

    @property
    def narrowing(self) -> bool:
        """Is some operand's bin still too big to hold (so another ``count`` read is needed)?"""
        return any(n > self.most_held for n in self.in_bin)

    def _located(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each record's operand, sample hash, and the top bits of its hash that say its operand's bin."""
        _, groups = _sampled(self.weighting, self.mix, keys)
        hashes = sample_hashes(keys, self.seed)
        bits = np.array(self.prefix_bits, dtype=np.uint64)[groups]
        top = (hashes >> np.uint64(1)) >> (np.uint64(63) - bits)  # a shift by 64 is undefined: two steps (bits < 64)
        return groups, hashes, top.astype(np.int64)

    def count(self, keys: np.ndarray) -> None:
        """A read while narrowing: count the hashes in each operand's bin by their next bits."""
        groups, hashes, top = self._located(keys)
        for g in np.unique(groups):
            if self.in_bin[g] <= self.most_held:
                continue
            bits = self.prefix_bits[g]
            step = min(self.step, 63 - bits)
            mine = hashes[(groups == g) & (top == self.prefix[g])]
            sub = ((mine << np.uint64(bits)) >> np.uint64(64 - step)).astype(np.int64)
            found = np.bincount(sub, minlength=1 << step)
            counts = self.counts[g]
            self.counts[g] = found if counts is None else counts + found

    def narrow(self) -> None:
        """After a ``count`` read: each operand's bin becomes the sub-bin where its threshold falls."""
        for g, counts in enumerate(self.counts):
            if counts is None:
                continue
            step = floor_log2(len(counts))
            below = np.cumsum(counts)
            b = int(np.searchsorted(below, self.need[g]))  # the first sub-bin reaching it
            self.need[g] -= int(below[b - 1]) if b else 0
            self.in_bin[g] = int(counts[b])
            self.prefix[g] = self.prefix[g] << step | b
            self.prefix_bits[g] += step
            self.counts[g] = None

    def classify(
        self, keys: np.ndarray, lengths: np.ndarray, hashes: np.ndarray | None = None, stored: np.ndarray | None = None,
    ) -> None:
        """The last read: records below their operand's bin stay, above it go; in it, are held to decide.
        ``hashes``: the records' (``--verify``), summed over those kept; ``stored``: which pass 1 stored
        (all if None): only those are dropped from a bucket."""
        if hashes is None:
            hashes = np.zeros(len(keys), dtype=np.uint64)
        kept_by_pass1 = np.ones(len(keys), dtype=bool) if stored is None else stored.astype(bool)
        groups, sample, top = self._located(keys)
        out = ~kept_by_pass1
        for g in np.unique(groups[out]):
            self.least_left_out[g] = min(self.least_left_out[g], int(sample[out & (groups == g)].min()))
        prefix = np.array(self.prefix, dtype=np.int64)[groups]
        below, at, gone = top < prefix, top == prefix, (top > prefix) & kept_by_pass1  # what is not stored goes unseen
        self._keep(keys[below], hashes[below])
        self._drop(keys[gone], lengths[gone])
        for g in np.unique(groups[at]):
            mine = at & (groups == g)
            self.close[g].append(np.stack([
                sample[mine], keys[mine], lengths[mine].astype(np.uint64), hashes[mine], kept_by_pass1[mine].astype(np.uint64),
            ]))

    def _keep(self, keys: np.ndarray, hashes: np.ndarray) -> None:
        slots = slot_of(positions_of(keys, self.mix), self.weighting.inputs, self.weighting.copies)
        index = (slots // np.uint64(self.weighting.copies)).astype(np.int64)
        self.kept_per_input += np.bincount(index, minlength=self.weighting.inputs)
        self.kept_hashes = (self.kept_hashes + int(hashes.sum(dtype=np.uint64))) & ((1 << 64) - 1)

    def _drop(self, keys: np.ndarray, lengths: np.ndarray) -> None:
        if self.bits:
            buckets = (keys >> np.uint64(64 - self.bits)).astype(np.int64)
        else:
            buckets = np.zeros(len(keys), dtype=np.int64)
        self.dropped_bytes += np.bincount(buckets, weights=lengths, minlength=len(self.dropped_bytes)).astype(np.int64)
        self.dropped_records += np.bincount(buckets, minlength=len(self.dropped_records))

    def finish(self) -> Sample:
        """Each operand's threshold: the largest sample hash it keeps (None: it keeps none)."""
        thresholds: list[int | None] = []
        for g, need in enumerate(self.need):
            close = np.concatenate(self.close[g], axis=1) if self.close[g] else np.empty((5, 0), dtype=np.uint64)
            order = np.argsort(close[0])
            keep, gone = order[:need], order[need:]
            gone = gone[close[4][gone] == 1]  # only what pass 1 stored is in a bucket to lose
            if need:
                thresholds.append(int(close[0][keep[-1]]))
            else:  # all below the bin, none in it: just below its first hash
                start = self.prefix[g] << (64 - self.prefix_bits[g])
                thresholds.append(start - 1 if start else None)
            self._keep(close[1][keep], close[3][keep])
            self._drop(close[1][gone], close[2][gone])
        self.sample = Sample(self.weighting, self.seed, tuple(thresholds))
        return self.sample

    @property
    def short(self) -> bool:
        """Did pass 1 leave out a line the sample keeps (its hash at most its operand's threshold)?"""
        return any(t is not None and left <= t for t, left in zip(self.sample.thresholds, self.least_left_out))
