#!/usr/bin/env python3
"""Benchmark shuffle-big against cat, GNU shuf, sort -R and terashuf on the same file, in one run.

    python scripts/bench.py --size 1G --shape text --memory 256M
    python scripts/bench.py --file corpus.txt --memory 256M --terashuf ~/terashuf/terashuf
    python scripts/bench.py --file bench-data/text-4G.txt --variants verify,head --skip shuf,sort,terashuf
    python scripts/bench.py --file bench-data/short-1G.txt --baseline ../old --repeat 3 --skip shuf,sort,terashuf

Prints, per tool: wall seconds, MB/s, peak RSS (kernel rusage) and the ratio
of its time to shuffle-big's. The file is read once beforehand so every run
starts with it in the page cache. With --repeat, the tools take turns (each
round runs every tool once), so a drift of the machine's speed hits them
alike; ``--baseline DIR`` adds the same shuffle-big runs from another
checkout (an A/B of two commits). Not a test: nothing here asserts a speed.

Every run starts from the same state: no output file, and --settle seconds
of quiet first. On a VM that hands freed memory back to its host (this
machine kind: free page reporting of virtio-balloon, ~1 s after a free),
touching memory the host took back costs 1-2.5 s of system time per GB, so
a tool writing into the pages that the previous run's output just freed
(``cat > out`` truncating it, shuf -o) would otherwise look up to 2x faster
than one writing a new file. The "cat via a temp file" row copies the input
to a temporary file and that file to the output: the bytes a tool moves that
spills every record once, with no ordering. On cold data it is close to a
floor; on warm data it is not one on this VM, since it frees its temporary
file only at the end (shuffle-big frees each bucket as it is consumed, and
writes the output into those pages).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_corpus import chunks, parse_size  # noqa: E402

COMPRESSED = -1  # expected lines of an output not checked here (compressed files)
CGROUP_TASKS: str | None = None  # with --cgroup: the tasks file every measured command joins first


def memory_cgroup(limit: int) -> str:
    """A memory cgroup capped at ``limit`` bytes, page cache included (root); the file that adds a process to it."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    base = Path("/sys/fs/cgroup") if v2.exists() else Path("/sys/fs/cgroup/memory")
    group = base / "shuffle-big-bench"
    group.mkdir(exist_ok=True)
    (group / ("memory.max" if v2.exists() else "memory.limit_in_bytes")).write_text(f"{limit}\n")
    return str(group / ("cgroup.procs" if v2.exists() else "tasks"))


def timed(cmd: list[str] | str, env: dict | None = None, stdin=None, stdout=None, cwd=None) -> tuple[float, int]:
    """Wall seconds and peak RSS of all its processes together (bytes) of ``cmd`` (a list, or a shell string)."""
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else cmd
    if CGROUP_TASKS:  # the command (not the RSS sampler) and all it starts run in the cgroup
        argv = ["/bin/sh", "-c", f'echo $$ > {CGROUP_TASKS} && exec "$@"', "sh", *argv]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / "peak_rss.py"), *argv],
        env=dict(os.environ, **(env or {})), stdin=stdin, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE,
        cwd=cwd,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {cmd}\n{proc.stderr.decode(errors='replace')}")
    return elapsed, int(proc.stderr.rsplit(b"peak_tree_kib=", 1)[1]) * 1024


def drop_caches() -> None:
    """Flush dirty pages and empty the page cache (needs root)."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def dd_floor(src: Path, out: Path, size: int) -> float:
    """Seconds to read ``src`` twice and write ``size`` bytes twice with dd, cache dropped: the disk's floor."""
    total = 0.0
    for _ in range(2):
        drop_caches()
        total += timed(["dd", f"if={src}", "of=/dev/null", "bs=1M"])[0]
        total += timed(["dd", "if=/dev/zero", f"of={out}", "bs=1M", f"count={size >> 20}", "conv=fdatasync"])[0]
    drop_caches()
    out.unlink()
    return total


def find_terashuf(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("TERASHUF"), shutil.which("terashuf")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", help="benchmark this file instead of a generated one")
    ap.add_argument("--size", default="1G", help="size of the generated corpus [1G]")
    ap.add_argument("--shape", default="text", help="text (~157-byte lines) or short (~20-byte lines)")
    ap.add_argument("--data-dir", default="bench-data", help="where corpora and outputs go [bench-data]")
    ap.add_argument("--memory", default="256M", help="budget for shuffle-big and terashuf [256M]")
    ap.add_argument("--terashuf", help="path to a terashuf binary (else $TERASHUF or PATH)")
    ap.add_argument("--jobs", default="1,2", help="comma-separated -j values to run shuffle-big with [1,2]")
    ap.add_argument("--skip", default="", help="comma-separated tools to skip: shuf,sort,terashuf")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; the best is reported [1]")
    ap.add_argument(
        "--variants", default="",
        help="extra shuffle-big runs (with the largest -j): verify (--verify), head (-n 1000 and -n 100000, "
        "with shuf -n 1000 unless skipped), dask (--engine dask on a local cluster of -j workers, each with "
        "--memory/j, so that the total is the same), dask-store (the same with -T local://DATA-DIR/store: "
        "the object-store path, buckets uploaded and read back through fsspec), split (--split valid=1%%,train=rest "
        "with --shard-size 64M, and with --shard-lines N, N lines being ~64 MB, into DATA-DIR/split/, against "
        "shuf | split -C 64M unless skipped), split-zst (the same two into .zst files), manifest (the --shard-size "
        "split with --manifest), weights (--weights 1.5: the output is 1.5x the input; compare MB/s of output)",
    )
    ap.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each run [3]")
    ap.add_argument(
        "--cgroup", metavar="SIZE",
        help="run every command (and the dd floor) in a memory cgroup of SIZE, page cache included (root): "
        "data far larger than RAM, imitated; implies --cold",
    )
    ap.add_argument("--cold", action="store_true", help="drop the page cache before each run (root) and add the dd floor")
    ap.add_argument(
        "--baseline", metavar="DIR",
        help="also run shuffle-big from the checkout in DIR (python -m shuffle_big with DIR as the working "
        "directory), for each -j, taking turns with this checkout's runs",
    )
    args = ap.parse_args()
    if args.cgroup:
        global CGROUP_TASKS
        CGROUP_TASKS = memory_cgroup(parse_size(args.cgroup))
        args.cold = True

    data_dir = Path(args.data_dir).resolve()  # runs from a --baseline checkout have another working directory
    data_dir.mkdir(exist_ok=True)
    if args.file:
        src = Path(args.file).resolve()
    else:
        src = data_dir / f"{args.shape}-{args.size}.txt"
        if not src.exists():
            print(f"generating {src} ...", file=sys.stderr)
            with open(src, "wb") as f:
                for block in chunks(parse_size(args.size), args.shape, seed=0):
                    f.write(block)
    out = data_dir / "bench-out.txt"
    size = src.stat().st_size
    if not args.cold:
        with open(src, "rb") as f:  # warm the page cache
            while f.read(1 << 24):
                pass
    budget = parse_size(args.memory)
    skip = set(filter(None, args.skip.split(",")))
    terashuf = find_terashuf(args.terashuf)

    # (name, command, environment, lines of output expected: None for all of them, working directory)
    tools: list[tuple[str, object, dict | None, int | None, str | None]] = [
        ("cat", f"cat '{src}' > '{out}'", None, None, None),
        ("cat via a temp file", f"cat '{src}' > '{out}.spill' && cat '{out}.spill' > '{out}' && rm '{out}.spill'", None, None, None),
    ]

    def ours(j: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "shuffle_big", "-j", j, "-m", args.memory, "--seed", "1", *extra, str(src), "-o", str(out)]

    jobs = args.jobs.split(",")
    for j in jobs:
        tools.append((f"shuffle-big -j {j} -m {args.memory}", ours(j), None, None, str(HERE.parent)))
        if args.baseline:
            tools.append((f"baseline -j {j} -m {args.memory}", ours(j), None, None, args.baseline))
    variants = set(filter(None, args.variants.split(",")))
    if "verify" in variants:
        tools.append((f"shuffle-big -j {jobs[-1]} -m {args.memory} --verify", ours(jobs[-1], "--verify"), None, None, None))
    for variant, temp in (("dask", str(data_dir)), ("dask-store", f"local://{data_dir.resolve()}/store")):
        if variant not in variants:
            continue
        j = jobs[-1]
        per_worker = f"{parse_size(args.memory) // int(j) >> 20}M"
        (data_dir / "store").mkdir(exist_ok=True)
        tools.append((
            f"shuffle-big --engine dask -j {j} -m {per_worker} (per worker) -T {temp}",
            [sys.executable, "-m", "shuffle_big", "--engine", "dask", "-j", j, "-m", per_worker, "--seed", "1",
             "-T", temp, str(src), "-o", str(out)],
            None, None, None,
        ))
    if "head" in variants:
        for n in (1000, 100000):
            tools.append((f"shuffle-big -m {args.memory} -n {n}", ours(jobs[-1], "-n", str(n)), None, n, None))
        if "shuf" not in skip and shutil.which("shuf"):
            tools.append(("GNU shuf -n 1000", ["shuf", "-n", "1000", str(src), "-o", str(out)], None, 1000, None))
    split_dir = data_dir / "split"
    if "split" in variants:
        lines_per_shard = max(1, (64 << 20) * _count_lines(src) // size)  # ~64 MB of lines each
        for laid_out in (["--split", "valid=1%,train=rest", "--shard-size", "64M"],
                         ["--split", "valid=1%,train=rest", "--shard-lines", str(lines_per_shard)]):
            split_cmd = [*ours(jobs[-1], *laid_out)[:-1], str(split_dir / "{split}-{i:03d}")]
            tools.append((f"shuffle-big -j {jobs[-1]} {' '.join(laid_out)}", split_cmd, None, None, None))
        if "shuf" not in skip and shutil.which("shuf"):
            tools.append(("shuf | split -C 64M", f"shuf '{src}' | split -C 64M - '{split_dir}/x'", None, None, None))
    if "split-zst" in variants:
        lines_per_shard = max(1, (64 << 20) * _count_lines(src) // size)
        for laid_out in (["--split", "valid=1%,train=rest", "--shard-size", "64M"],
                         ["--split", "valid=1%,train=rest", "--shard-lines", str(lines_per_shard)]):
            split_cmd = [*ours(jobs[-1], *laid_out)[:-1], str(split_dir / "{split}-{i:03d}.zst")]
            tools.append((f"shuffle-big -j {jobs[-1]} {' '.join(laid_out)} (.zst)", split_cmd, None, COMPRESSED, None))
        if "shuf" not in skip and shutil.which("shuf") and shutil.which("zstd"):
            tools.append(("shuf | split -C 64M --filter zstd", f"shuf '{src}' | split -C 64M --filter 'zstd -q -3 > $FILE.zst' - '{split_dir}/x'", None, COMPRESSED, None))
    if "manifest" in variants:
        laid_out = ["--split", "valid=1%,train=rest", "--shard-size", "64M", "--manifest", str(data_dir / "manifest.json")]
        split_cmd = [*ours(jobs[-1], *laid_out)[:-1], str(split_dir / "{split}-{i:03d}")]
        tools.append((f"shuffle-big -j {jobs[-1]} --split valid=1%,train=rest --shard-size 64M --manifest", split_cmd, None, None, None))
    if "weights" in variants:
        n = _count_lines(src)
        tools.append((f"shuffle-big -j {jobs[-1]} --weights 1.5", ours(jobs[-1], "--weights", "1.5"), None, n + (n + 1) // 2, None))
    if "shuf" not in skip and shutil.which("shuf"):
        tools.append(("GNU shuf", ["shuf", str(src), "-o", str(out)], None, None, None))
    if "sort" not in skip and shutil.which("sort"):
        tools.append((f"sort -R -S {args.memory}", ["sort", "-R", "-S", args.memory, str(src), "-o", str(out)], None, None, None))
    if "terashuf" not in skip and terashuf:
        env = {"MEMORY": f"{budget / 2**30:.4f}", "TMPDIR": str(data_dir)}
        tools.append((f"terashuf MEMORY={budget / 2**30:.2f}", f"'{terashuf}' < '{src}' > '{out}'", env, None, None))

    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    cache = "page cache dropped before each run" if args.cold else "page cache warm"
    if args.cgroup:
        cache += f", every command in a {args.cgroup} memory cgroup"
    print(f"# file: {src} ({size / 1e9:.2f} GB), {cache}, best of {args.repeat}")
    results = []
    if args.cold:
        results.append(("dd floor (read twice, write twice)", dd_floor(src, out, size), 0))
        print(f"  dd floor: {results[-1][1]:.2f} s", file=sys.stderr)
    best: dict[str, tuple[float, int]] = {}
    for round_ in range(args.repeat):
        for name, cmd, env, lines, cwd in tools:
            out.unlink(missing_ok=True)
            shutil.rmtree(split_dir, ignore_errors=True)
            split_dir.mkdir()
            if args.cold:
                drop_caches()
            time.sleep(args.settle)
            t, rss = timed(cmd, env, cwd=cwd)
            produced = out.stat().st_size if out.exists() else sum(p.stat().st_size for p in split_dir.iterdir())
            if lines is None and produced != size:  # generated corpora end with a newline
                raise SystemExit(f"{name}: output has {produced} bytes, input {size}")
            if lines is not None and lines != COMPRESSED and (got := _count_lines(out)) != lines:
                raise SystemExit(f"{name}: output has {got} lines, expected {lines}")
            if name not in best or t < best[name][0]:
                best[name] = (t, rss)
            print(f"  round {round_ + 1}: {name}: {t:.2f} s", file=sys.stderr)
    results += [(name, *best[name]) for name, *_ in tools]
    fastest = min(t for name, t, _ in results if name.startswith("shuffle-big -j"))
    cat = next(t for name, t, _ in results if name == "cat")
    print("| tool | seconds | MB/s | peak RSS (all processes) | time / fastest shuffle-big | time / cat |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, t, rss in results:
        print(f"| {name} | {t:.2f} | {size / t / 1e6:.0f} | {rss / 2**20:.0f} MB | {t / fastest:.2f} | {t / cat:.1f} |")
    out.unlink(missing_ok=True)
    shutil.rmtree(split_dir, ignore_errors=True)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))


if __name__ == "__main__":
    main()
