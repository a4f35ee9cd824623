"""Cutting the inputs into runs of whole records, one per worker of a parallel pass 1.

A plain file can be cut anywhere a record starts; a zstd file whose frames
state their sizes, at any frame (``zstd_frames``); any other compressed file
is read whole by one worker (a gzip stream cannot be entered in the middle).
Any worker can read any input, since a record's position names its input
(``keys.input_base``): runs need not be contiguous, only balanced.
"""

from __future__ import annotations

import functools
import heapq
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from ..core.keys import input_base, input_span
from ..storage import fs
from .reader import Segment
from .sources import InputInfo
from .zstd_frames import Frame, zstd_frames


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


@dataclass(frozen=True)
class _Cuttable:
    """Input ``index`` (``path``, ``size`` bytes as read), cut where records start (``frames`` None: a plain
    file) or at its zstd ``frames``."""

    index: int
    path: str
    size: int
    frames: list[Frame] | None = None

    @functools.cached_property
    def _starts(self) -> list[int]:
        return [f.start for f in self.frames or []]

    def cut_at(self, pos: int, sep: bytes) -> int:
        """The first place at or after ``pos`` where it may be cut (``size`` if none)."""
        if self.frames is None:
            return _next_record_start(self.path, pos, self.size, sep)
        i = bisect_left(self._starts, pos)
        return self._starts[i] if i < len(self._starts) else self.size

    def segment(self, lo: int, hi: int, inputs: int) -> Segment:
        base = input_base(self.index, inputs)
        limit = base + input_span(inputs)
        if self.frames is None:
            return Segment(self.path, lo, hi, base + lo, limit)
        held = self.frames[bisect_right(self._starts, lo - 1) - 1] if lo else Frame(0, 0, 0)
        return Segment(self.path, lo, hi, base + lo, limit, (held.at, held.start))


def split_ranges(
    paths: list[str], sizes: list[int], parts: int, sep: bytes = b"\n", start: int = 0,
) -> list[list[Segment]]:
    """Cut plain files ``paths`` of ``sizes`` bytes (the run's inputs, from byte ``start`` of the first)
    into ``parts`` runs of whole records and about equal size."""
    total = sum(sizes) - start
    files = [_Cuttable(i, p, n) for i, (p, n) in enumerate(zip(paths, sizes))]
    return _cut(files, len(paths), [total / parts] * parts, sep, start)


def _cut(files: list[_Cuttable], inputs: int, shares: list[float], sep: bytes, start: int) -> list[list[Segment]]:
    """Cut ``files`` (of ``inputs`` in all; input 0 from byte ``start``) into runs of about ``shares``
    bytes each, one run per share."""
    if not files:
        return [[] for _ in shares]
    first = start if files[0].index == 0 else 0
    # cut points as (file, offset in file), each where that file may be cut
    cuts = [(0, first)]
    want = float(first)
    for share in shares[:-1]:
        want += share
        target, k = int(want), 0
        while k < len(files) - 1 and target >= files[k].size:
            target -= files[k].size
            k += 1
        cuts.append(max((k, files[k].cut_at(target, sep)), cuts[-1]))
    cuts.append((len(files) - 1, files[-1].size))
    runs = []
    for (k0, o0), (k1, o1) in zip(cuts, cuts[1:]):
        segs = []
        for k in range(k0, k1 + 1):
            lo = o0 if k == k0 else 0
            hi = o1 if k == k1 else files[k].size
            if hi > lo or (k == k0 and k0 == k1):
                segs.append(files[k].segment(lo, hi, inputs))
        runs.append(segs)
    return runs


def file_runs(infos: list[InputInfo], parts: int, sep: bytes = b"\n", start: int = 0) -> list[list[Segment]]:
    """The input files (``infos``) as ``parts`` balanced runs, from byte ``start`` of the first (after a header).

    A compressed file big enough to unbalance the runs is cut at its zstd frames, if it can be.
    """
    paths = [str(info.source) for info in infos]
    sizes = [info.planned_size or 0 for info in infos]
    share = sum(sizes) / max(parts, 1)
    frames = [frames_to_cut(info) if parts > 1 and 2 * sizes[i] > share else None for i, info in enumerate(infos)]
    for i, found in enumerate(frames):
        if found is not None:
            sizes[i] = found[-1].end  # exact now
    return balanced_runs(paths, sizes, [info.compressed for info in infos], parts, sep, start, frames)


@functools.lru_cache(maxsize=64)
def frames_to_cut(info: InputInfo) -> list[Frame] | None:
    """The zstd frames (two or more) at which the local compressed file ``info`` can be cut, if it can.

    Cached: the engine asks once to choose a path, pass 1 again to cut (the
    walk costs ~5 us per 128 KiB block, 40 ms per GB, measured here).
    """
    if not info.compressed or not isinstance(info.source, str) or fs.is_url(info.source):
        return None
    found = zstd_frames(fs.local(info.source))
    return found if found is not None and len(found) > 1 else None


def balanced_runs(
    paths: list[str], sizes: list[int], compressed: list[bool], parts: int, sep: bytes = b"\n", start: int = 0,
    frames: list[list[Frame] | None] | None = None,
) -> list[list[Segment]]:
    """The inputs (``sizes``: bytes as read, guessed for compressed ones) as ``parts`` runs of about equal
    bytes: compressed files whole, largest first to the lightest run, unless they have ``frames`` to be cut
    at; plain files and those cut to fill the rest."""
    n = len(paths)
    frames = frames or [None] * n
    whole = [i for i in range(n) if compressed[i] and frames[i] is None]
    cuttable = [_Cuttable(i, paths[i], sizes[i], frames[i]) for i in range(n) if not (compressed[i] and frames[i] is None)]
    if not whole:
        return _cut(cuttable, n, [(sum(sizes) - start) / parts] * parts, sep, start)
    runs: list[list[Segment]] = [[] for _ in range(parts)]
    loads = [(0, b) for b in range(parts)]  # a heap of (bytes, run)
    for i in sorted(whole, key=lambda i: -sizes[i]):
        load, b = heapq.heappop(loads)
        skip = start if i == 0 else 0  # a compressed first input skips its --header records as it reads
        runs[b].append(Segment(paths[i], skip, None, input_base(i, n) + skip, input_base(i, n) + input_span(n)))
        heapq.heappush(loads, (load + sizes[i], b))
    have = sorted(loads, key=lambda lb: lb[1])
    rest = sum(f.size for f in cuttable) - (start if cuttable and cuttable[0].index == 0 else 0)
    level = (sum(load for load, _ in have) + rest) / parts
    deficits = [max(0.0, level - load) for load, _ in have]
    scale = rest / sum(deficits) if sum(deficits) else 0.0
    cut = _cut(cuttable, n, [d * scale for d in deficits], sep, start)
    return [run + more for run, more in zip(runs, cut)]
