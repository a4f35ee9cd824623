"""``-i LO-HI``'s permutation (core/range_order.py): a bijection computed per position, uniform, fast at any size.

The statistics are test_uniformity's, run on the range order (fixed seeds,
p < 1e-4), each shown to reject a deliberately wrong order: a rotation of the
range (neighbours stay neighbours) and the Feistel network without its
swap-or-not round (a power-of-two range's order is then always even).
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from stats import chi2_table, chi2_uniform
from test_uniformity import ALPHA, LARGE, deciles_p, neighbours_p, positions_p

from shuffle_big.core.range_order import SMALL_RANGE, RangeOrder

TOP = 2**64 - 1  # shuf's largest count of numbers


def range_shuffler(order=RangeOrder):
    """A shuffler for test_uniformity's statistics: ``lines`` taken as the range 0..n-1, in ``order``'s order."""

    def shuffled(lines: list[bytes], seed: int) -> list[bytes]:
        return [lines[k] for k in order(0, len(lines), seed).offsets(0, len(lines)).tolist()]

    return shuffled


def rotated(lines: list[bytes], seed: int) -> list[bytes]:
    """Wrong: the range from a random start, wrapping around."""
    start = seed * 7919 % len(lines)
    return lines[start:] + lines[:start]


class WithoutSwapOrNot(RangeOrder):
    """Wrong: the Feistel network and its cycle walk alone."""

    def _swap_or_not(self, x: np.ndarray) -> np.ndarray:
        return x


@pytest.mark.parametrize("count", [1, 2, 3, 1000, SMALL_RANGE, SMALL_RANGE + 1, 1 << 17, (1 << 17) + 1, 200_003])
def test_every_number_once_and_any_slice_alike(count):
    order = RangeOrder(10, count, 4)
    whole = order.offsets(0, count)
    assert whole.dtype == np.uint64 and np.array_equal(np.sort(whole), np.arange(count, dtype=np.uint64))
    for first, stop in [(0, 1), (count // 3, count // 2 + 1), (count - 1, count)]:
        assert np.array_equal(order.offsets(first, stop), whole[first:stop])


def test_seed_and_bounds_choose_the_order():
    first = RangeOrder(0, 100_000, 1).offsets(0, 100)
    assert np.array_equal(first, RangeOrder(0, 100_000, 1).offsets(0, 100))
    assert not np.array_equal(first, RangeOrder(0, 100_000, 2).offsets(0, 100))
    assert not np.array_equal(first, RangeOrder(1, 100_000, 1).offsets(0, 100))  # not a shifted copy


def test_the_largest_range_costs_what_is_asked():
    """coreutils tests/shuf/shuf.sh: "shuf -i 0-$UINTMAX_MAX -n2" style draws from the top of the range."""
    start = time.perf_counter()
    picked = RangeOrder(1, TOP, 9).offsets(10**6, 10**6 + 10_000)
    assert time.perf_counter() - start < 5  # O(N): 10,000 of 2^64 - 1, not a scan
    assert len(set(picked.tolist())) == 10_000 and int(picked.max()) < TOP
    assert int(np.count_nonzero(picked >= np.uint64(1 << 63))) in range(4_600, 5_400)  # the top half is reached


@pytest.mark.parametrize("args", [["-i", f"1-{TOP}", "-n", "2"], ["-i", "10000000-99999999", "-n", "1"]])
def test_head_of_a_huge_range_from_the_command_line(args):
    """Issue #17, item 1: these never ended (the first) or took 5 s (the second)."""
    proc = subprocess.run([sys.executable, "-m", "shuffle_big", *args], capture_output=True, timeout=60, check=True)
    lo, hi = map(int, args[1].split("-"))
    numbers = [int(v) for v in proc.stdout.split()]
    assert len(numbers) == int(args[3]) == len(set(numbers)) and all(lo <= v <= hi for v in numbers)


def test_positions_uniform_in_a_small_range():
    assert positions_p(range_shuffler()) > ALPHA


def test_deciles_and_neighbours_in_a_large_range():
    assert len(LARGE) > SMALL_RANGE  # the Feistel network's order
    shuffler = range_shuffler()
    assert deciles_p(shuffler) > ALPHA
    assert neighbours_p(shuffler) > ALPHA
    assert neighbours_p(rotated) < ALPHA


def first_two_p(order, count: int = 1_000_003, runs: int = 3000) -> float:
    """The first two numbers out, each in one of 10 bins of the range: independent of each other."""
    table = [[0] * 10 for _ in range(10)]
    for seed in range(runs):
        a, b = order(0, count, seed).offsets(0, 2).tolist()
        table[a * 10 // count][b * 10 // count] += 1
    return chi2_table(table)


def test_first_two_numbers_independent():
    assert first_two_p(RangeOrder) > ALPHA
    assert first_two_p(lambda lo, count, seed: _Rotation(count, seed)) < ALPHA


class _Rotation:
    def __init__(self, count: int, seed: int) -> None:
        self.count, self.start = count, seed * 7919 % count

    def offsets(self, first: int, stop: int) -> np.ndarray:
        return (np.arange(first, stop, dtype=np.uint64) + np.uint64(self.start)) % np.uint64(self.count)


def parity_p(order, count: int = 1 << 17, runs: int = 40) -> float:
    """Even and odd orders equally likely (a power-of-two range: no cycle walking)."""
    even = 0
    for seed in range(runs):
        perm = order(0, count, seed).offsets(0, count)
        seen = np.zeros(count, dtype=bool)
        cycles = 0
        for start in range(count):
            if not seen[start]:
                cycles += 1
                k = start
                while not seen[k]:
                    seen[k] = True
                    k = int(perm[k])
        even += (count - cycles) % 2 == 0
    return chi2_uniform([even, runs - even])


def test_parity_is_a_fair_coin():
    assert parity_p(RangeOrder) > ALPHA
    assert parity_p(WithoutSwapOrNot) < ALPHA
