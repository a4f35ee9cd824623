#!/usr/bin/env python3
"""Write a synthetic corpus of random text lines, fast (vectorised with numpy).

    python scripts/make_corpus.py --size 1G --shape text corpus.txt   # ~157-byte lines
    python scripts/make_corpus.py --size 1G --shape short corpus.txt  # ~20-byte lines
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

SHAPES = {"text": (20, 295), "short": (10, 31), "long": (1000, 9001)}  # line length range incl. newline


def parse_size(text: str) -> int:
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().rstrip("B")
    unit = text[-1] if text and text[-1] in units else ""
    return int(float(text[: len(text) - len(unit)]) * units[unit])


def chunks(size: int, shape: str, seed: int, chunk: int = 8 << 20):
    lo, hi = SHAPES[shape]
    rng = np.random.default_rng(seed)
    written = 0
    while written < size:
        lengths = rng.integers(lo, hi, chunk // ((lo + hi) // 2) + 1)
        ends = np.cumsum(lengths)
        ends = ends[ends <= min(chunk, size - written)]
        if len(ends) == 0:
            ends = np.array([min(hi, size - written)])
        buf = rng.integers(97, 123, int(ends[-1]), dtype=np.uint8)  # a-z
        buf[rng.random(len(buf)) < 0.15] = 32  # spaces, to look like words
        buf[ends - 1] = 10
        written += len(buf)
        yield buf.tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("output", help="file to write, or - for stdout")
    ap.add_argument("--size", default="100M", help="approximate size, e.g. 50M, 1G")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="text")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")
    with out:
        for data in chunks(parse_size(args.size), args.shape, args.seed):
            out.write(data)


if __name__ == "__main__":
    main()
