#!/usr/bin/env python3
"""Measure the working memory behind plan.py's constants: peak RSS over what is held, per byte and per record.

    python scripts/memory_model.py

For each line shape, a fresh interpreter holds a bucket's frames (as pass 2
reads them) and orders it whole; another partitions blocks (as pass 1 does).
The peak RSS above the frames held, divided over bytes and records of the
two shapes, gives the per-byte and per-record costs (two equations, two
unknowns).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, resource, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
from make_corpus import chunks
from shuffle_big.core.keys import derive_keys
from shuffle_big.core.order import order_frames
from shuffle_big.core.partition import partition
from shuffle_big.core.records import Block, Records, keyed, lengths_of
from shuffle_big.core.gather import gather

what, shape, size = sys.argv[1], sys.argv[2], int(sys.argv[4])
mix = derive_keys(1)
frames, pos = [], 0
for chunk in chunks(size, shape, seed=0, chunk=1 << 20):
    block = Block(pos, chunk)
    pos += len(chunk)
    ends, keys = keyed(block, mix)
    frames.append(Records(block.data, keys, lengths_of(ends)))
if what == "partition":  # one block as large as the bucket: the per-record work shows above the setup's
    whole = Records(b"".join(f.data for f in frames), np.concatenate([f.keys for f in frames]),
                    np.concatenate([f.lengths for f in frames]))
    frames = [whole]
nbytes = sum(len(f.data) for f in frames)
nrecords = sum(len(f.keys) for f in frames)
gather(b"a\n", np.array([2]), np.array([0]))  # the kernel's code loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
import gc; gc.collect()
if what == "order":
    frames.reverse()
    def drain():
        while frames:
            yield frames.pop()
    order_frames(drain(), 0, 0, 1 << 62, lambda data, ends=None: None)
else:
    f = frames[0]
    part = partition(f.data, np.cumsum(f.lengths, dtype=np.int64), f.keys, 0, 8)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"bytes": nbytes, "records": nrecords, "over": peak - before}))
"""


def measure(what: str, shape: str, size: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, what, shape, str(HERE), str(size)], capture_output=True, check=True, text=True,
        cwd=HERE.parent,
    )
    return json.loads(out.stdout)


def main() -> None:
    import numpy as np

    size = 32 << 20
    for what in ("order", "partition"):
        rows = [measure(what, shape, size) for shape in ("short", "text")]
        a = np.array([[r["bytes"], r["records"]] for r in rows], dtype=float)
        b = np.array([r["over"] for r in rows], dtype=float)
        per_byte, per_record = np.linalg.solve(a, b)
        for shape, r in zip(("short", "text"), rows):
            print(f"{what} {shape}: {r['bytes'] >> 20} MB in {r['records']} records, peak {r['over'] / 2**20:.1f} MB over what is held")
        print(f"{what}: {per_byte:.2f} bytes per byte + {per_record:.1f} bytes per record")


if __name__ == "__main__":
    main()
