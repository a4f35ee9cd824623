"""Cutting the inputs into runs of whole records, one per worker of a parallel pass 1.

A plain file can be cut anywhere a record starts; a compressed one is read
whole by one worker (a gzip or zstd stream cannot be entered in the middle).
Any worker can read any input, since a record's position names its input
(``keys.input_base``): runs need not be contiguous, only balanced.
"""

from __future__ import annotations

import heapq

from ..core.keys import input_base, input_span
from ..storage import fs
from .reader import Segment
from .sources import InputInfo


def _next_record_start(path: str, pos: int, size: int, sep: bytes) -> int:
    """The first record boundary at or after ``pos`` in ``path`` (``size`` if none)."""
    if pos <= 0:
        return 0
    with fs.open_read(path) as f:
        f.seek(pos - 1)
        while pos - 1 < size:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            cut = chunk.find(sep)
            if cut >= 0:
                return pos + cut
            pos += len(chunk)
    return size


def split_ranges(
    paths: list[str], sizes: list[int], parts: int, sep: bytes = b"\n", start: int = 0,
) -> list[list[Segment]]:
    """Cut plain files ``paths`` of ``sizes`` bytes (the run's inputs, from byte ``start`` of the first)
    into ``parts`` runs of whole records and about equal size."""
    total = sum(sizes) - start
    return _cut(paths, list(range(len(paths))), sizes, len(paths), [total / parts] * parts, sep, start)


def _cut(
    paths: list[str], indices: list[int], sizes: list[int], inputs: int, shares: list[float], sep: bytes, start: int,
) -> list[list[Segment]]:
    """Cut plain files (input ``indices[k]`` of ``inputs`` is ``paths[k]``, of ``sizes[k]`` bytes, the first
    from ``start`` if it is input 0) into runs of about ``shares`` bytes each, one run per share."""
    if not paths:
        return [[] for _ in shares]
    first = start if indices[0] == 0 else 0
    # cut points as (file, offset in file), each on a record boundary
    cuts = [(0, first)]
    want = float(first)
    for share in shares[:-1]:
        want += share
        target, k = int(want), 0
        while k < len(paths) - 1 and target >= sizes[k]:
            target -= sizes[k]
            k += 1
        cut = (k, _next_record_start(paths[k], target, sizes[k], sep))
        cuts.append(max(cut, cuts[-1]))
    cuts.append((len(paths) - 1, sizes[-1]))
    runs = []
    for (k0, o0), (k1, o1) in zip(cuts, cuts[1:]):
        segs = []
        for k in range(k0, k1 + 1):
            lo = o0 if k == k0 else 0
            hi = o1 if k == k1 else sizes[k]
            if hi > lo or (k == k0 and k0 == k1):
                base = input_base(indices[k], inputs)
                segs.append(Segment(paths[k], lo, hi, base + lo, base + input_span(inputs)))
        runs.append(segs)
    return runs


def file_runs(infos: list[InputInfo], parts: int, sep: bytes = b"\n", start: int = 0) -> list[list[Segment]]:
    """The input files (``infos``) as ``parts`` balanced runs, from byte ``start`` of the first (after a header)."""
    paths = [str(info.source) for info in infos]
    sizes = [info.planned_size or 0 for info in infos]
    return balanced_runs(paths, sizes, [info.compressed for info in infos], parts, sep, start)


def balanced_runs(
    paths: list[str], sizes: list[int], compressed: list[bool], parts: int, sep: bytes = b"\n", start: int = 0,
) -> list[list[Segment]]:
    """The inputs (``sizes``: bytes as read, guessed for compressed ones) as ``parts`` runs of about equal
    bytes: compressed files whole, largest first to the lightest run; plain files cut to fill the rest."""
    if not any(compressed):
        return split_ranges(paths, sizes, parts, sep, start)
    n = len(paths)
    runs: list[list[Segment]] = [[] for _ in range(parts)]
    loads = [(0, b) for b in range(parts)]  # a heap of (bytes, run)
    whole = sorted((i for i in range(n) if compressed[i]), key=lambda i: -sizes[i])
    for i in whole:
        load, b = heapq.heappop(loads)
        skip = start if i == 0 else 0  # a compressed first input skips its --header records as it reads
        runs[b].append(Segment(paths[i], skip, None, input_base(i, n) + skip, input_base(i, n) + input_span(n)))
        heapq.heappush(loads, (load + sizes[i], b))
    plain = [i for i in range(n) if not compressed[i]]
    have = sorted(loads, key=lambda lb: lb[1])
    plain_bytes = sum(sizes[i] for i in plain) - (start if plain and plain[0] == 0 else 0)
    level = (sum(load for load, _ in have) + plain_bytes) / parts
    deficits = [max(0.0, level - load) for load, _ in have]
    scale = plain_bytes / sum(deficits) if sum(deficits) else 0.0
    cut = _cut([paths[i] for i in plain], plain, [sizes[i] for i in plain], n, [d * scale for d in deficits], sep, start)
    return [run + more for run, more in zip(runs, cut)]
