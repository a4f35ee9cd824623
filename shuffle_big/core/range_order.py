"""The permutation of an ``-i LO-HI`` range: which number stands at each output position.

A range's records need no text and no keys sorted: output position ``j``
holds ``LO + order(j)``, where ``order`` is a keyed bijection of
``[0, count)`` computed for any ``j`` on its own. So ``-n N`` costs O(N)
whatever the range (``-i 1-18446744073709551615 -n 2`` answers at once), and
a whole range streams out in constant memory, with no temporary files.

- Up to ``SMALL_RANGE`` numbers, the order is the one every other input
  gets: by the keyed hash (``keys.key_of``) of each number's index, sorted.
- Above it, ``order`` is a ``ROUNDS``-round Feistel network over the
  ``w = bit_length(count - 1)`` bit words (halves of ``w // 2`` and
  ``w - w // 2`` bits; round function: ``fmix64`` of the half xor a round
  key), walked along its cycles until it lands below ``count``, then one
  swap-or-not round (Hoang, Morris and Rogaway, 2012): ``x`` and
  ``(K - x) mod count`` trade places when a keyed bit of the pair says so.
  Feistel rounds are even permutations, so without that last round the
  parity of a power-of-two range's order would be fixed (tests/test_range_order.py
  checks it is not); with it, each pair is an independent coin and the
  parity is a fair one.

The keys come from the seed and the range's bounds: two ranges of the same
length are not shifted copies of each other's order.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import xxhash

from .keys import fmix64_array, keys_of

SMALL_RANGE = 1 << 16  # sorting this many keys takes ~2 ms and 1 MB; above it no width is below 17 bits
# 12 rounds: a Feistel network's generic distinguishers need more work with each round (Patarin:
# O(2^((r-4)n)) for r >= 6 rounds of n-bit halves). Measured by scripts/bench_range.py over 1-10^8:
# the order costs 43 ns a number at 12 rounds, 34 at 8, 28 at 6; its text 28 more whatever the rounds.
ROUNDS = 12


class RangeOrder:
    """The seeded order of the ``count`` numbers ``lo .. lo + count - 1`` (``count`` <= 2**64 - 1)."""

    def __init__(self, lo: int, count: int, seed: int) -> None:
        self.lo, self.count = lo, count
        material = f"shuffle-big/1/range/{lo}+{count}:{seed}".encode()
        self.keys = [xxhash.xxh64_intdigest(material, seed=i) for i in range(ROUNDS + 3)]
        self.width = max(1, (count - 1).bit_length())

    def offsets(self, first: int, stop: int) -> np.ndarray:
        """``number - lo`` of output positions ``first .. stop - 1`` (uint64; ``stop`` <= ``count``)."""
        if self.count <= SMALL_RANGE:
            return self._small_order[first:stop]
        j = np.arange(first, stop, dtype=np.uint64)
        return self._swap_or_not(self._walked(j))

    @cached_property
    def _small_order(self) -> np.ndarray:
        keys = keys_of(np.arange(self.count, dtype=np.uint64), (self.keys[0], self.keys[1]))
        return np.argsort(keys, kind="stable").astype(np.uint64)

    def _walked(self, x: np.ndarray) -> np.ndarray:
        """The Feistel permutation of ``[0, 2**width)``, applied until it lands in ``[0, count)`` (cycle walking)."""
        y = self._feistel(x)
        outside = np.flatnonzero(y >= np.uint64(self.count))
        while len(outside):
            y[outside] = self._feistel(y[outside])
            outside = outside[y[outside] >= np.uint64(self.count)]
        return y

    def _feistel(self, x: np.ndarray) -> np.ndarray:
        a = self.width // 2  # bits of the left half (the high bits); the right half has the rest
        b = self.width - a
        left, right = x >> np.uint64(b), x & np.uint64((1 << b) - 1)
        for key in self.keys[2 : 2 + ROUNDS]:
            f = fmix64_array(right ^ np.uint64(key)) >> np.uint64(64 - a)
            left, right = right, left ^ f
            a, b = b, a
        return (left << np.uint64(b)) | right  # ROUNDS is even: the halves are back at their widths

    def _swap_or_not(self, x: np.ndarray) -> np.ndarray:
        count = np.uint64(self.count)
        pivot = np.uint64(self.keys[-1] % self.count)
        partner = np.where(x <= pivot, pivot - x, pivot + (count - x))  # (pivot - x) mod count, without overflow
        coin = fmix64_array(np.maximum(x, partner) ^ np.uint64(self.keys[-2])) >> np.uint64(63)
        return np.where(coin.astype(bool), partner, x)
