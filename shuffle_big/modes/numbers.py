"""``-i LO-HI`` alone: the range's numbers in their seeded order, computed, never sorted.

Output position ``j`` holds ``lo + RangeOrder.offsets(j)`` (``core/range_order.py``),
so the numbers stream out a batch at a time: ``-n N`` costs O(N) and a whole
range costs constant memory and no temporary files, whatever its size.
With ``--verify`` the range is also counted out in order, as if read, and the
two fingerprints must agree.
"""

from __future__ import annotations

import numpy as np

from ..core.fingerprint import Verifier
from ..core.gather import decimal_lines
from ..core.plan import Plan
from ..core.range_order import RangeOrder
from ..inputs.sources import NumberRange
from ..outputs.sinks import Sink
from ..progress import Meter

# Numbers computed at once: ~11 uint64 arrays of this length are alive while they are
# (the Feistel halves and their temporaries, the text), so a batch holds ~90 bytes a number.
BATCH_BYTES_PER_NUMBER = 96
MAX_BATCH = 1 << 16  # beyond this, batches leave the cache and run no faster
MIN_BATCH = 1 << 12  # below this, the ~100 numpy calls a batch costs outweigh its numbers


def write_numbers(
    numbers: NumberRange, plan: Plan, seed: int, head: int | None, out: Sink, progress: bool = False,
    verifier: Verifier | None = None,
) -> tuple[int, int]:
    """The first ``head`` (None: all) numbers of the range's permutation to ``out``; return its records and bytes."""
    count = numbers.count
    order = RangeOrder(numbers.lo, count, seed)
    n = count if head is None else min(head, count)
    batch = batch_size(plan)
    out.write_header(b"")
    out.expect(n)
    with Meter(progress, "writing", numbers.size() if head is None else None) as meter:
        written = 0
        for first in range(0, n, batch):
            data, ends = decimal_lines(order.offsets(first, min(n, first + batch)) + np.uint64(numbers.lo))
            out.write(data, ends)
            written += len(data)
            meter.to(written)
    if verifier is not None:
        for first in range(0, count, batch):
            data, ends = decimal_lines(np.arange(first, min(count, first + batch), dtype=np.uint64) + np.uint64(numbers.lo))
            verifier.read.update(data, ends)
        verifier.check()
    return count, numbers.size()


def batch_size(plan: Plan) -> int:
    """Numbers computed at once: a sixteenth of the budget's capacity, at most ``MAX_BATCH``."""
    return max(MIN_BATCH, min(MAX_BATCH, plan.capacity // BATCH_BYTES_PER_NUMBER))
