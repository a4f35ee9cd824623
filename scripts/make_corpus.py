#!/usr/bin/env python3
"""Write a synthetic corpus of random text lines, fast (vectorised with numpy).

    python scripts/make_corpus.py --size 1G --shape text corpus.txt   # ~157-byte lines
    python scripts/make_corpus.py --size 1G --shape short corpus.txt  # ~20-byte lines
    python scripts/make_corpus.py --size 1G --shape jsonl corpus.jsonl  # ~2.6 KB JSON documents

The jsonl shape is made of words drawn from a fixed vocabulary by a Zipf law,
so it compresses like real text (zstd -3 to ~0.3 of its size, gzip -6 ~0.37),
not like the letters of the other shapes (~0.6).
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


def _vocabulary(rng: np.random.Generator, n: int = 30000) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pseudo-words (bytes, each followed by a space) and their start offsets."""
    lengths = rng.integers(2, 11, n)
    ends = np.cumsum(lengths + 1)
    buf = rng.integers(97, 123, int(ends[-1]), dtype=np.uint8)
    buf[ends - 1] = 32
    return buf, np.concatenate(([0], ends))


def jsonl_chunks(size: int, seed: int, chunk: int = 8 << 20):
    """JSON-lines documents of ~2.6 KB: ``{"id": N, "url": ..., "text": "words ..."}``."""
    rng = np.random.default_rng(seed)
    vocab, starts = _vocabulary(rng)
    written, doc = 0, 0
    while written < size:
        words = rng.zipf(1.2, chunk // 6) % (len(starts) - 1)
        pieces = np.split(vocab, starts[1:-1])  # cheap views, one per word
        text = b"".join(pieces[w].tobytes() for w in words)  # ~1.4 M words per chunk, once per chunk
        lines, pos = [], 0
        for n in rng.integers(1500, 3600, len(text) // 1500 + 1):
            body = text[pos : pos + n]
            if len(body) < n:
                break
            pos += n
            lines.append(b'{"id": %d, "url": "https://example.com/%d", "text": "%s"}\n' % (doc, doc * 7919 % 100003, body.strip()))
            doc += 1
        data = b"".join(lines)[: max(0, size - written)]
        if not data:
            break
        cut = data.rfind(b"\n") + 1 or len(data)
        data = data[:cut] if cut < len(data) else data
        if not data.endswith(b"\n"):
            data += b"\n"
        written += len(data)
        yield data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("output", help="file to write, or - for stdout")
    ap.add_argument("--size", default="100M", help="approximate size, e.g. 50M, 1G")
    ap.add_argument("--shape", choices=sorted([*SHAPES, "jsonl"]), default="text")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")
    with out:
        blocks = jsonl_chunks(parse_size(args.size), args.seed) if args.shape == "jsonl" else chunks(
            parse_size(args.size), args.shape, args.seed
        )
        for data in blocks:
            out.write(data)


if __name__ == "__main__":
    main()
