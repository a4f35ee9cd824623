#!/usr/bin/env python3
"""Own time per source line from a py-spy raw profile, as the README's profile table.

    py-spy record --subprocesses --native -r 200 -f raw -o prof.txt -- \\
        python -m shuffle_big -j 2 -m 256M --seed 1 bench-data/short-1G.txt -o out.txt
    python scripts/profile_table.py prof.txt

A sample's time goes to the innermost shuffle-big line on its stack (native
frames below it -- numpy, Arrow, the kernel's read and write -- count for the
line that called them), and the C function it was in is named beside it.
"""

from __future__ import annotations

import re
import sys
from collections import Counter


def main(path: str, rows: int = 14) -> None:
    lines: Counter[str] = Counter()
    native: dict[str, Counter[str]] = {}
    total = 0
    for row in open(path):
        stack, _, count = row.rstrip("\n").rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        ours = next((f for f in reversed(frames) if "shuffle_big/" in f), None)
        if ours is None:
            continue
        m = re.search(r"shuffle_big/(\S+?):(\d+)\)", ours)
        if not m:
            continue
        where = f"{m.group(1)}:{m.group(2)}"
        lines[where] += n
        leaf = frames[-1].split(" (")[0]
        native.setdefault(where, Counter())[leaf if leaf != ours.split(" (")[0] else "(Python)"] += n
    print("| share | where | spent in |")
    print("|---:|---|---|")
    for where, n in lines.most_common(rows):
        top = ", ".join(f"`{name[:40]}`" for name, _ in native[where].most_common(2))
        print(f"| {100 * n / total:.1f}% | `{where}` | {top} |")


if __name__ == "__main__":
    main(sys.argv[1])
