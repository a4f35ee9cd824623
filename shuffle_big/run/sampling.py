"""After pass 1 of a run with ``--weights``: which records the fractional weights take, and the counts.

Pass 1 counted each input's records and put aside the keys of every sampled
copy. Reads of those (two, or more for a large sample in little memory:
``SampleDraw``) find each operand's threshold and
what dropping the records above it takes from each bucket, so pass 2 knows
every bucket's final size (and so every offset) before it writes a byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..core.gather import gather
from ..core.records import Records, ends_of
from ..core.weights import SampleDraw, Weighting
from ..storage.frames import PartRef, remove_parts
from ..storage.sample_keys import read_sample_keys
from .buckets import Buckets
from .job import InputCount, Job
from .pass1 import Held, Read


class LeftOut(Exception):
    """Pass 1 left out a line the sample keeps (odds far below 1e-30, or a test's narrow band): scatter again,
    storing every line."""


def settle(job: Job, found: Read, names: Sequence[str]) -> Held | Buckets:
    """The records pass 1 found, less those the fractional weights do not take; each input's counts
    (``names``: the inputs') go to ``job.result``."""
    weighting, records = job.weighting, found.records
    draw = None
    if weighting is not None and weighting.samples:
        bits = records.consumed if isinstance(records, Buckets) else 0
        draw = draw_sample(weighting, job.seed, found.lines, found.aside, bits, job.plan.capacity)
        remove_parts(found.aside)
        if draw.short:
            raise LeftOut
        if job.verifier is not None:  # the records the sample keeps go in, as read
            job.verifier.read.add(draw.kept_hashes, int(draw.kept_per_input.sum()))
    written = written_per_input(weighting, found.lines, draw)
    weights = weighting.weights if weighting is not None else [Fraction(1)] * len(names)
    job.result.inputs = [InputCount(*counts) for counts in zip(names, found.lines, found.nbytes, weights, written)]
    if draw is None:
        return records
    if isinstance(records, Buckets):  # pass 2 drops them as it orders each bucket
        return dataclasses.replace(
            records,
            nbytes=[int(n) for n in np.array(records.nbytes) - draw.dropped_bytes],
            nrecords=[int(n) for n in np.array(records.nrecords) - draw.dropped_records],
            sample=draw.sample,
            stored=(records.nbytes, records.nrecords),
        )
    kept = Held([], 0, 0)  # blocks of a MB or so: dropped from each now
    for block in records.drain():
        keep = draw.sample.kept(block.keys)
        if not keep.all():
            block = subset(block, np.flatnonzero(keep))
        kept.blocks.append(block)
        kept.nbytes += len(block.data)
        kept.nrecords += len(block.keys)
    return kept


def draw_sample(
    weighting: Weighting, seed: int, lines: Sequence[int], aside: Sequence[PartRef], bits: int, memory: int,
) -> SampleDraw:
    """The sample of each operand with a fractional weight, from the keys put aside in ``aside``; ``bits``:
    the key bits of pass 1's buckets, to say what each loses; ``memory``: about what it may hold."""
    draw = SampleDraw(weighting, seed, lines, bits, memory)
    while draw.narrowing:
        for keys, _, _, _ in read_sample_keys(aside):
            draw.count(keys)
        draw.narrow()
    for keys, lengths, hashes, stored in read_sample_keys(aside):
        draw.classify(keys, lengths, hashes, stored)
    draw.finish()
    return draw


def written_per_input(weighting: Weighting | None, lines: Sequence[int], draw: SampleDraw | None) -> list[int]:
    """Records each input puts into the output: its whole copies, and what its sampled copy keeps."""
    if weighting is None:
        return list(lines)
    kept = draw.kept_per_input if draw is not None else np.zeros(len(lines), dtype=np.int64)
    return [weighting.whole(i) * n + int(k) for i, (n, k) in enumerate(zip(lines, kept))]


def subset(records: Records, which: np.ndarray) -> Records:
    """The records at indices ``which`` (ascending) of ``records``, as new ``Records``."""
    data, _ = gather(records.data, ends_of(records.lengths), which)
    return Records(data, records.keys[which], records.lengths[which])
