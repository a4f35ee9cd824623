#!/usr/bin/env python3
"""Throughput of shuffle-big as the input grows at a fixed budget (the scaling curve).

    python scripts/scaling.py --sizes 1G,2G,4G,8G,16G --memory 256M --jobs 2 [--png scaling.png]

Generates each corpus (reusing earlier ones in --data-dir), runs shuffle-big
once per size with the page cache as it is, and prints size, seconds, MB/s,
passes and peak RSS of all processes. ``--png`` draws the curve (needs matplotlib).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import chunks, parse_size  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1G,2G,4G,8G,16G")
    ap.add_argument("--shape", default="text")
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--data-dir", default="bench-data")
    ap.add_argument("--png", help="write the curve to this PNG file")
    args = ap.parse_args()
    data_dir = Path(args.data_dir)
    data_dir.mkdir(exist_ok=True)
    out = data_dir / "scaling-out.txt"
    rows = []
    print("| size | seconds | MB/s | passes | peak RSS (all processes) |")
    print("|---:|---:|---:|---:|---:|")
    for size_text in args.sizes.split(","):
        src = data_dir / f"{args.shape}-{size_text}.txt"
        if not src.exists():
            with open(src, "wb") as f:
                for block in chunks(parse_size(size_text), args.shape, seed=0):
                    f.write(block)
        size = src.stat().st_size
        cmd = [sys.executable, str(HERE / "peak_rss.py"), sys.executable, "-m", "shuffle_big", "-v",
               "-j", args.jobs, "-m", args.memory, "--seed", "1", str(src), "-o", str(out)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, stderr=subprocess.PIPE, check=True)
        seconds = time.perf_counter() - start
        err = proc.stderr.decode()
        passes = err.split(" passes")[0].rsplit(" ", 1)[1] if " passes" in err else "1"
        rss = int(err.rsplit("peak_tree_kib=", 1)[1].split()[0]) / 1024
        rows.append((size, seconds))
        print(f"| {size / 1e9:.1f} GB | {seconds:.1f} | {size / seconds / 1e6:.0f} | {passes} | {rss:.0f} MB |", flush=True)
        out.unlink(missing_ok=True)
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        xs = [s / 1e9 for s, _ in rows]
        ys = [s / t / 1e6 for s, t in rows]
        plt.figure(figsize=(6, 3.5))
        plt.plot(xs, ys, marker="o")
        plt.xscale("log", base=2)
        plt.ylim(0, max(ys) * 1.2)
        plt.xlabel("input size (GB)")
        plt.ylabel("MB/s")
        plt.title(f"shuffle-big -j {args.jobs} -m {args.memory}, {args.shape} lines")
        plt.grid(True, alpha=0.3)
        plt.tight_layout()
        plt.savefig(args.png, dpi=100)


if __name__ == "__main__":
    main()
