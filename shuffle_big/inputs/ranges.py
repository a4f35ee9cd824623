"""Cutting plain input files into runs of whole records, one per worker of a parallel pass 1."""

from __future__ import annotations

from ..core.keys import input_base, input_span
from ..storage import fs
from .reader import Segment


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
    """Cut plain files ``paths`` of ``sizes`` bytes (one input, from byte ``start`` of the first) into ``parts`` runs of whole records."""
    total = sum(sizes)
    # cut points as (file index, offset in file), each on a record boundary
    cuts = [(0, start)]
    for k in range(1, parts):
        target = start + (total - start) * k // parts
        i = 0
        while i < len(paths) - 1 and target >= sizes[i]:
            target -= sizes[i]
            i += 1
        cut = (i, _next_record_start(paths[i], target, sizes[i], sep))
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append((len(paths) - 1, sizes[-1]))
    n = len(paths)
    ranges = []
    for (i0, o0), (i1, o1) in zip(cuts, cuts[1:]):
        segs = []
        for i in range(i0, i1 + 1):
            start = o0 if i == i0 else 0
            end = o1 if i == i1 else sizes[i]
            if end > start or (i == i0 and i0 == i1):
                segs.append(Segment(paths[i], start, end, input_base(i, n) + start, input_base(i, n) + input_span(n)))
        ranges.append(segs)
    return ranges
