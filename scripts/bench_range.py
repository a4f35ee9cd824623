#!/usr/bin/env python3
"""Benchmark ``-i LO-HI`` (issue #17): shuffle-big against GNU shuf on the same ranges, in one run.

    python scripts/bench_range.py                 # -i 1-100000000 whole, -n 1000 of it, -n 2 of 1-(2^64-1)
    python scripts/bench_range.py --count 10000000 --rounds 6 12

Prints wall time and peak RSS of each command (output to /dev/null) and the
ratio to shuf's, then the cost of the order alone per number at each Feistel
round count asked for (``--rounds``), and of formatting the numbers. Not a
test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import timed  # noqa: E402

from shuffle_big.core import range_order  # noqa: E402
from shuffle_big.core.gather import decimal_lines  # noqa: E402

TOP = 2**64 - 1


def per_number(count: int, sample: int, rounds: int) -> tuple[float, float]:
    """Nanoseconds a number for the order of ``sample`` positions of a ``count`` range, and for their text."""
    saved = range_order.ROUNDS
    range_order.ROUNDS = rounds
    try:
        order = range_order.RangeOrder(1, count, 1)
        start = time.perf_counter()
        values = [order.offsets(first, min(sample, first + 65536)) for first in range(0, sample, 65536)]
        ordering = time.perf_counter() - start
    finally:
        range_order.ROUNDS = saved
    start = time.perf_counter()
    for v in values:
        decimal_lines(v)
    return ordering / sample * 1e9, (time.perf_counter() - start) / sample * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100_000_000, help="numbers in the range shuffled whole")
    ap.add_argument("--rounds", type=int, nargs="*", default=[6, 8, 12], help="Feistel round counts to time (even)")
    args = ap.parse_args()
    ours = [sys.executable, "-m", "shuffle_big", "--seed", "1"]
    shuf = shutil.which("shuf")
    jobs = [
        (f"-i 1-{args.count}", ["-i", f"1-{args.count}"]),
        (f"-i 1-{args.count} -n 1000", ["-i", f"1-{args.count}", "-n", "1000"]),
        (f"-i 1-{TOP} -n 2", ["-i", f"1-{TOP}", "-n", "2"]),
    ]
    print("| job | shuffle-big s | RSS | GNU shuf s | RSS | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, argv in jobs:
        t, rss = timed(ours + argv)
        if shuf:
            ts, rss_s = timed([shuf, *argv])
            print(f"| {name} | {t:.2f} | {rss >> 20} MB | {ts:.2f} | {rss_s >> 20} MB | {t / ts:.2f}x |")
        else:
            print(f"| {name} | {t:.2f} | {rss >> 20} MB | - | - | - |")
    print()
    per_number(args.count, 1 << 20, 12)  # warm-up: the first batches pay for page faults and caches
    print("| Feistel rounds | order ns/number | text ns/number |")
    print("|---:|---:|---:|")
    for rounds in args.rounds:
        order_ns, text_ns = per_number(args.count, 1 << 22, rounds)
        print(f"| {rounds} | {order_ns:.1f} | {text_ns:.1f} |")


if __name__ == "__main__":
    main()
