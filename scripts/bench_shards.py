#!/usr/bin/env python3
"""Benchmark compressed shards (issue #13): shuffle-big against the shell pipelines people build, in one run.

    python scripts/bench_shards.py                       # 1 GB of JSONL in 16 shards, -j 2 -m 1G
    python scripts/bench_shards.py --size 4G --shards 32 --terashuf ~/terashuf/terashuf --repeat 2

Builds the corpus once under --data-dir (plain, zstd -3 and gzip -6 copies of
the same shards, made by the zstd and gzip commands), then times each job
with shuffle-big and with its peers, taking turns, and checks every output
decompresses to exactly the input's bytes in total. Prints wall time, peak
RSS of all processes together, the ratio to the peer pipeline, and the
output's size against the peer's. Not a test: nothing here asserts a speed.
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

from bench import find_terashuf, timed  # noqa: E402
from make_corpus import jsonl_chunks, parse_size  # noqa: E402


def build_corpus(root: Path, size: int, shards: int) -> list[Path]:
    """``shards`` plain JSONL files of ~size/shards bytes, and their .zst and .gz copies beside them."""
    plain = root / "plain"
    done = root / "complete"
    if done.exists():
        return sorted(plain.iterdir())
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("plain", "zst", "gz"):
        (root / sub).mkdir(parents=True)
    print(f"generating {size / 1e9:.1f} GB of JSONL in {shards} shards under {root} ...", file=sys.stderr)
    paths = [plain / f"part-{i:03d}.jsonl" for i in range(shards)]
    per = size // shards
    for i, path in enumerate(paths):
        with open(path, "wb") as f:
            for block in jsonl_chunks(per, seed=i):
                f.write(block)
    names = " ".join(p.name for p in paths)
    subprocess.run(
        f"cd '{plain}' && printf '%s\\n' {names} | xargs -P {os.cpu_count()} -I@ sh -c "
        f"'zstd -3 -q -c @ > ../zst/@.zst && gzip -6 -c @ > ../gz/@.gz'",
        shell=True, check=True,
    )
    done.touch()
    return paths


def build_single_files(root: Path, paths: list[Path]) -> dict[str, Path]:
    """The corpus as one file three ways: the gzip shards concatenated (one stream of members), one zstd
    frame (``zstd -3 -T2``), and shuffle-big's own ``.zst`` output (a frame per run, each stating its size)."""
    one = {"gz": root / "one.jsonl.gz", "zst": root / "one.jsonl.zst", "framed": root / "framed.jsonl.zst"}
    if not one["gz"].exists():
        with open(one["gz"], "wb") as f:
            for p in paths:
                f.write((root / "gz" / f"{p.name}.gz").read_bytes())
    if not one["zst"].exists():
        names = " ".join(f"'{p}'" for p in paths)
        subprocess.run(f"cat {names} | zstd -3 -T2 -q > '{one['zst']}'", shell=True, check=True)
    if not one["framed"].exists():
        subprocess.run([sys.executable, "-m", "shuffle_big", "-j", "2", "-m", "1G", "-q", *map(str, paths),
                        "-o", str(one["framed"])], check=True)
    return one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G", help="corpus size, uncompressed [1G]")
    ap.add_argument("--shards", type=int, default=16, help="files in the corpus [16]")
    ap.add_argument("--data-dir", default="bench-data", help="where the corpus and outputs go [bench-data]")
    ap.add_argument("--memory", default="1G", help="budget for shuffle-big and terashuf [1G]")
    ap.add_argument("--jobs", default="2", help="shuffle-big's -j [2]")
    ap.add_argument("--terashuf", help="path to a terashuf binary (else $TERASHUF or PATH)")
    ap.add_argument("--only", default="", help="comma-separated job names to run (plain,zst-plain,zst,gz,one,head)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per command; the best is reported [1]")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds of quiet before each run [3]")
    args = ap.parse_args()

    size = parse_size(args.size)
    data = Path(args.data_dir).resolve()
    root = data / f"shards-{args.size}-{args.shards}"
    paths = build_corpus(root, size, args.shards)
    total = sum(p.stat().st_size for p in paths)
    plain = " ".join(f"'{p}'" for p in paths)
    zst = " ".join(f"'{root}/zst/{p.name}.zst'" for p in paths)
    gz = " ".join(f"'{root}/gz/{p.name}.gz'" for p in paths)
    only = set(filter(None, args.only.split(",")))
    one = build_single_files(root, paths) if not only or "one" in only else {}
    for p in (root / "zst").iterdir():  # warm the page cache with every copy
        p.read_bytes()
    for p in [*(root / "gz").iterdir(), *paths, *one.values()]:
        p.read_bytes()

    out = data / "shards-out"
    ours = f"'{sys.executable}' -m shuffle_big -j {args.jobs} -m {args.memory} --seed 1"
    terashuf = find_terashuf(args.terashuf)
    tera = f"env MEMORY={parse_size(args.memory) / 2**30:.3f} TMPDIR='{data}' '{terashuf}'" if terashuf else None
    mem = args.memory
    # job -> [(row name, shell command, output suffix, is the peer the ratio is taken against)]
    jobs: dict[str, list[tuple[str, str | None, str, bool]]] = {
        "plain": [
            (f"shuffle-big -j {args.jobs} -m {mem}", f"{ours} {plain} -o '{out}.jsonl'", ".jsonl", False),
            ("cat parts | terashuf", tera and f"cat {plain} | {tera} > '{out}.jsonl'", ".jsonl", True),
            ("cat parts", f"cat {plain} > '{out}.jsonl'", ".jsonl", False),
        ],
        "zst-plain": [
            (f"shuffle-big -j {args.jobs} -m {mem}", f"{ours} {zst} -o '{out}.jsonl'", ".jsonl", False),
            ("zstdcat parts", f"zstdcat {zst} > '{out}.jsonl'", ".jsonl", True),
        ],
        "zst": [
            (f"shuffle-big -j {args.jobs} -m {mem}", f"{ours} {zst} -o '{out}.jsonl.zst'", ".jsonl.zst", False),
            ("zstdcat | shuf | zstd -3 -T2", f"zstdcat {zst} | shuf | zstd -3 -T2 -q > '{out}.jsonl.zst'", ".jsonl.zst", True),
            ("zstdcat | terashuf | zstd -3 -T2",
             tera and f"zstdcat {zst} | {tera} | zstd -3 -T2 -q > '{out}.jsonl.zst'", ".jsonl.zst", False),
        ],
        "gz": [
            (f"shuffle-big -j {args.jobs} -m {mem}", f"{ours} {gz} -o '{out}.jsonl.gz'", ".jsonl.gz", False),
            ("zcat | terashuf | gzip -6", tera and f"zcat {gz} | {tera} | gzip -6 > '{out}.jsonl.gz'", ".jsonl.gz", True),
        ],
        "one": [  # the corpus as one compressed file: can the workers share it?
            ("shuffle-big on the 16 zst shards", f"{ours} {zst} -o '{out}.jsonl'", ".jsonl", True),
            *(
                (f"shuffle-big on {what}", f"{ours} '{one[key]}' -o '{out}.jsonl'" if one else None, ".jsonl", False)
                for key, what in [("gz", "one .gz of 16 members"), ("zst", "one .zst frame (zstd -T2)"),
                                  ("framed", "one .zst of sized frames (its own output)")]
            ),
        ],
        "head": [
            (f"shuffle-big -j {args.jobs} -m {mem} -n 1000", f"{ours} -n 1000 {zst} -o '{out}.jsonl'", "", False),
            ("zstdcat parts > /dev/null", f"zstdcat {zst} > /dev/null", "", True),
        ],
    }
    only = only or set(jobs)
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"# corpus: {total / 1e9:.2f} GB of JSONL in {len(paths)} shards ({root}), page cache warm, best of {args.repeat}")
    best: dict[tuple[str, str], tuple[float, int, int]] = {}
    for round_ in range(args.repeat):
        for job, rows in jobs.items():
            if job not in only:
                continue
            for name, cmd, suffix, _ in rows:
                if cmd is None:
                    continue
                target = Path(f"{out}{suffix}")
                target.unlink(missing_ok=True)
                time.sleep(args.settle)
                t, rss = timed(cmd)
                written = target.stat().st_size if suffix else 0
                if suffix and (got := _decompressed_size(target)) != total:
                    raise SystemExit(f"{job}: {name}: output holds {got} bytes, input {total}")
                if (job, name) not in best or t < best[job, name][0]:
                    best[job, name] = (t, rss, written)
                print(f"  round {round_ + 1}: {job}: {name}: {t:.2f} s", file=sys.stderr)
                target.unlink(missing_ok=True)
    print("| job | command | seconds | peak RSS (all processes) | output MB | time / peer | size / peer's |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for job, rows in jobs.items():
        peer = next((best.get((job, n)) for n, c, _, is_peer in rows if is_peer and c), None)
        for name, _cmd, suffix, _ in rows:
            if (job, name) not in best:
                continue
            t, rss, written = best[job, name]
            ratio = f"{t / peer[0]:.2f}" if peer else "-"
            size_ratio = f"{written / peer[2]:.3f}" if peer and peer[2] and suffix.endswith(("gz", "zst")) else "-"
            mb = f"{written / 1e6:.0f}" if suffix else "-"
            print(f"| {job} | {name} | {t:.2f} | {rss / 2**20:.0f} MB | {mb} | {ratio} | {size_ratio} |")


def _decompressed_size(path: Path) -> int:
    """Bytes in ``path`` once decompressed by the standard tool its name calls for."""
    tool = {".gz": ["gzip", "-dc"], ".zst": ["zstd", "-dcq"]}.get(path.suffix)
    if tool is None:
        return path.stat().st_size
    proc = subprocess.Popen([*tool, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    n = sum(len(chunk) for chunk in iter(lambda: proc.stdout.read(1 << 20), b""))  # type: ignore[union-attr]
    if proc.wait() != 0:
        raise SystemExit(f"{path}: not a valid {path.suffix} file")
    return n


if __name__ == "__main__":
    main()
