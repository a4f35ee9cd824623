"""The ``shuffle-big`` command: parse, validate, report. The work is in ``shuffle``.

``command`` is the click command: it only parses and checks the command
line into an ``Invocation`` (and so runs in-process under click's
CliRunner). ``main``, the console entry point, is the process around it:
signal handling before the slow imports, the run, and the exit status
(dying by the signal that stopped the run).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import NoReturn

import click

from . import __version__
from .config import ShuffleConfig, weights_count_error
from .core.plan import MIN_MEMORY
from .core.weights import as_number
from .errors import ConfigError, ShuffleError
from .gnu_syntax import Command, number_range, once, prog, smallest_count
from .outputs.compression import compression_for
from .outputs.layout import Split, parse_splits
from .signals import Terminated, catchable, die_by, install
from .sizes import format_size, parse_size, total_ram
from .storage.tempspace import clean_stale

EPILOG = """\b
Examples:
  shuffle-big corpus.txt > shuffled.txt
  shuffle-big -m 4G --seed 42 a.jsonl b.jsonl.gz -o train.jsonl.zst
  shuffle-big -o data.txt data.txt             # in place, atomically
  shuffle-big -n 1000 --seed 1 big.jsonl       # a sample: the first 1000 of that permutation
  shuffle-big -r -n 10 -e heads tails          # 10 draws with replacement
  shuffle-big -i 1-1000000000 -o ids           # a permutation of 1..10^9, computed: constant memory
  find . -print0 | shuffle-big -z              # NUL-terminated records
  shuffle-big --header 1 --shards 8 -o 'part-{i}.csv' data.csv
  shuffle-big -R --split valid=10000,train=rest --shard-size 1G -o 'data/{split}-{i:03d}.jsonl.zst' corpus/
  shuffle-big -R spark-output/ -o out.jsonl    # a directory: the files under it
  shuffle-big --verify --stats=json corpus.txt -o out.txt
  shuffle-big --random-source key.bin data.txt # the seed comes from a file

\b
How it works: input that fits in --memory is shuffled in memory. Larger
input is scattered into temporary bucket files by a random key (pass 1),
then each bucket is ordered in memory and appended to the output (pass 2).
Every permutation is equally likely; with --seed the output is identical
whatever --memory and --jobs are. Temporary space needed: about the input size (plus
12 bytes per line: a key and a length), in -T DIR.
"""


class SizeType(click.ParamType):
    """A size as ``parse_size`` reads it (for --memory, ``%`` of RAM too), of at least ``minimum`` bytes."""

    name = "SIZE"

    def __init__(self, minimum: int = MIN_MEMORY) -> None:
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            n = parse_size(value, percent=self.minimum == MIN_MEMORY)
        except ValueError as err:
            self.fail(str(err), param, ctx)
        if n < self.minimum:
            self.fail(f"'{value}' is too small; the minimum is {format_size(self.minimum)}", param, ctx)
        return n


@click.command("shuffle-big", cls=Command, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, metavar="[FILE|ARG]...")
@click.option("-o", "--output", metavar="FILE", multiple=True, help="Write to FILE instead of stdout (atomically; may be an input; a FIFO or device is written in place). FILE.gz and FILE.zst are compressed.")
@click.option(
    "-R", "--recursive", is_flag=True,
    help="A directory FILE stands for the regular files under it, sorted by path (hidden and _-prefixed ones left out).",
)
@click.option(
    "--files-from", metavar="FILE", default=None,
    help="Also read the inputs named in FILE, one path or URL a line (NUL-separated with -z); - is stdin.",
)
@click.option(
    "--compress-level", type=click.IntRange(min=1, max=22), default=None, metavar="N",
    help="Level of a .gz (1-9: 1-3 ISA-L's, fast; 4-9 zlib's) or .zst (1-22) output. [default: gzip 2, zstd 3]",
)
@click.option(
    "--split", "splits", metavar="NAME=AMOUNT,...", default=None, callback=lambda ctx, param, value: _splits(value),
    help="Cut the permutation into consecutive parts, each a file (or shards) that -o names with {split}: "
    "AMOUNT is a line count, a percentage (0.5%) or rest. --split valid=10000,train=rest -o 'data/{split}.jsonl'",
)
@click.option(
    "--weights", metavar="W1,W2,...", default=None,
    help="One weight per FILE (a directory with -R, and the --files-from list, count as one): W copies of each of its "
    "lines, a fraction of a copy being a uniform sample (2.5: two copies and half of a third; 0.1: a 10% sample; 0: none).",
)
@click.option(
    "--shards", type=click.IntRange(min=1), default=None, metavar="N",
    help="Split the output (each split) into N files of near-equal line count; -o names them: 'out-{i:05d}.txt' or a directory.",
)
@click.option(
    "--shard-lines", type=click.IntRange(min=1), default=None, metavar="N",
    help="Split the output (each split) into files of N lines, the last with what is left; -o names them with {i}.",
)
@click.option(
    "--shard-size", type=SizeType(minimum=1), default=None, metavar="SIZE",
    help="Split the output (each split) into files of at most SIZE bytes of lines (64M, 1G), each filled before the next "
    "as split -C fills them; a longer line has a file of its own. -o names them with {i}.",
)
@click.option(
    "-m", "--memory", type=SizeType(), default=None, metavar="SIZE",
    help="Memory budget for all processes together: 512M, 4G, 10% of RAM. [default: 1G or 25% of RAM, whichever is less]",
)
@click.option(
    "-n", "--head-count", multiple=True, metavar="N",
    help="Output only the first N lines of the permutation, as `| head -n N` would (one pass; memory for ~2N lines).",
)
@click.option(
    "-r", "--repeat", is_flag=True,
    help="Draw lines with replacement: -n of them, or without end (stop it with | head).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, metavar="N", help="Seed for a repeatable permutation (same seed, same output).")
@click.option(
    "--random-source", metavar="FILE", multiple=True,
    help="Derive the seed from the first 1 MiB of FILE (at least 8 bytes), instead of --seed.",
)
@click.option("-e", "--echo", is_flag=True, help="Treat each ARG as an input line (the arguments are lines, not files).")
@click.option(
    "-i", "--input-range", metavar="LO-HI", multiple=True,
    help="Treat each number LO through HI as an input line (no FILE); works out of core, e.g. -i 1-5000000000.",
)
@click.option("-z", "--zero-terminated", is_flag=True, help="Records end with NUL, not newline, in and out (as with find -print0).")
@click.option(
    "--header", type=click.IntRange(min=0), default=0, metavar="N",
    help="Keep the first N lines of the first input at the top of the output, unshuffled (CSV/TSV headers).",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
    help="Worker processes for large inputs; they share --memory. [default: number of CPUs]",
)
@click.option(
    "--engine", type=click.Choice(["local", "dask"]), default="local",
    help="Where the work runs: local processes, or a Dask cluster (pip install 'shuffle-big[dask]'). [default: local]",
)
@click.option(
    "--scheduler", metavar="ADDRESS", default=None,
    help="With --engine dask: the scheduler to use (tcp://host:8786); without it, a local cluster of -j workers. "
    "Inputs, -o and -T must be paths every worker sees, or URLs.",
)
@click.option(
    "-T", "--temp-dir", metavar="DIR", default=None,
    help="Directory for temporary buckets. With --engine dask it may be a URL (s3://bucket/tmp): workers then "
    "hand buckets to each other through it, each using its own local temp directory. [default: $TMPDIR or /tmp]",
)
@click.option(
    "--clean-temp", is_flag=True,
    help="Remove temporary directories left by killed runs (in -T DIR) and exit.",
)
@click.option("--progress/--no-progress", default=None, help="Show progress bars on stderr. [default: when stderr is a terminal]")
@click.option(
    "--verify", is_flag=True,
    help="Check that the output holds exactly the input's lines (an order-independent fingerprint of each side); if not, fail and write nothing.",
)
@click.option(
    "--manifest", metavar="FILE.json", default=None,
    help="Once the output is written, describe the run in FILE.json: seed, options, each input's lines, and each file "
    "written with its split, lines, bytes, fingerprint and SHA-256 (the files are read back to describe them).",
)
@click.option(
    "--check-manifest", metavar="FILE.json", default=None,
    help="Read back every file FILE.json lists and check its lines, bytes, SHA-256 and fingerprint; exit 1 naming each "
    "file that differs.",
)
@click.option(
    "--stats", is_flag=True,
    help="After the run, report lines, bytes, buckets, passes, peak RSS and seconds per pass on stderr; --stats=json: as one JSON object.",
)
@click.option("--stats-format", type=click.Choice(["text", "json"]), default="text", hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Report the seed and what was done on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.version_option(__version__, "-V", "--version", prog_name="shuffle-big")
def command(
    files, output, recursive, files_from, compress_level, splits, weights, shards, shard_lines, shard_size, memory, jobs, head_count, repeat, seed, random_source, echo, input_range, zero_terminated, header,
    engine, scheduler, temp_dir, clean_temp, progress, verify, manifest, check_manifest, stats, stats_format, verbose, quiet,
) -> Invocation | None:
    """Shuffle the lines of FILEs (or stdin) uniformly at random, using at most
    --memory of RAM however large the input.

    With no FILE, or when FILE is -, read standard input. Several FILEs are
    shuffled together as one input; gzip and zstd files are decompressed.
    Lines are bytes: any encoding, CRLF and NUL pass through unchanged; a last
    line without a newline gets one.
    """
    if clean_temp:
        removed = clean_stale(temp_dir)
        if not quiet:
            click.echo(f"shuffle-big: removed {len(removed)} stale temporary director{'y' if len(removed) == 1 else 'ies'}", err=True)
        return None
    if check_manifest is not None:
        if files or output or manifest:
            raise click.UsageError("--check-manifest reads the files the manifest lists: it takes no FILE, -o or --manifest")
        config = ShuffleConfig(memory=memory, jobs=jobs or len(os.sched_getaffinity(0)))
        return Invocation([], None, config, engine, None, None, verbose and not quiet, quiet, check_manifest)
    # given twice: GNU shuf takes the smallest -n, and rejects two different -o or --random-source, or two -i
    head_count = smallest_count(head_count)
    output = once(output, "multiple output files specified")
    random_source = once(random_source, "multiple random sources specified")
    if len(input_range) > 1:
        raise click.UsageError("multiple -i options specified")
    sep = b"\0" if zero_terminated else b"\n"
    if weights is not None and (echo or input_range):
        raise click.UsageError(f"--weights weighs FILE operands; {'-e' if echo else '-i'} gives none")
    sources = _sources(files, echo, input_range[0] if input_range else None, sep, files_from, weights is not None)
    if random_source is not None:
        if seed is not None:
            raise click.UsageError("cannot combine --seed and --random-source")
        seed = _seed_from(random_source)
    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        config = ShuffleConfig(
            memory=memory, jobs=jobs or len(os.sched_getaffinity(0)), seed=seed, head=head_count, repeat=repeat,
            sep=sep, header=header, recursive=recursive, verify=verify, shards=shards, shard_lines=shard_lines, shard_size=shard_size, splits=splits, weights=weights, manifest=manifest, temp_dir=temp_dir, progress=progress and not quiet,
            compress_level=compress_level,
        )
        if compress_level is not None:  # the output's name must call for compression
            compression_for(output or "standard output", compress_level)
        config.check_output(output)
        if config.weights is not None and len(config.weights) != len(sources):
            raise ConfigError(weights_count_error(len(config.weights), len(sources)))
    except (ConfigError, ShuffleError) as err:
        raise click.UsageError(str(err)) from None
    return Invocation(sources, output, config, engine, scheduler, stats_format if stats else None, verbose and not quiet, quiet)


@dataclass(frozen=True)
class Invocation:
    """What the command line asked for, parsed and checked: what ``main`` runs."""

    sources: list
    output: str | None
    config: ShuffleConfig
    engine: str
    scheduler: str | None
    stats: str | None  # "text" or "json": report figures after the run
    verbose: bool
    quiet: bool
    check_manifest: str | None = None  # instead of a run: read back what this manifest lists


def main(args: list[str] | None = None) -> None:
    """The console entry point: the command line parsed, the run, and the process's exit status."""
    caught = catchable()
    if signal.SIGINT in caught:
        # Until the work starts, Ctrl-C just ends the process (nothing to clean up
        # yet); without this, an interrupt during the imports below prints a traceback.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.stdout is None:  # closed before we started (>&-): what --help or --version print must fail
        sys.stdout = _ClosedOutput()
    # Nothing here multiplies matrices: OpenBLAS's threads (one per core, in every worker) are waste.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # The work's modules are imported before anything else, --version included, so that every run of
    # the command has the same code loaded: coreutils' write-errors.sh gives a run the address space
    # `--version` needs plus 12 MB, as for a C program, whose libraries are all mapped from the start.
    # And before the handlers that raise are installed: a Terminated raised while an import makes a
    # class comes out as a RuntimeError ("Error calling __set_name__"), a traceback instead of an exit
    # by the signal (test_signals_random caught it).
    from . import api  # noqa: F401

    try:
        invocation = command.main(args, standalone_mode=False)
    except click.ClickException as err:  # a usage error, already in GNU's form (``Usage``)
        err.show()
        sys.exit(1)
    except BrokenPipeError:  # --help | head
        die_by(signal.SIGPIPE)
    except OSError as err:  # --help or --version to a full disk, or to a closed standard output
        click.echo(f"{prog()}: write error: {err.strerror}", err=True)
        os._exit(1)  # not sys.exit: the exit would flush the unwritten text again and fail again, loudly
    if not isinstance(invocation, Invocation):  # --help, --version, --clean-temp: done
        sys.exit(invocation or 0)
    install(caught)
    try:
        _run(invocation)
    except ShuffleError as err:
        _fail(str(err))
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, like a C tool killed by SIGPIPE.
        die_by(signal.SIGPIPE)
    except KeyboardInterrupt:
        die_by(signal.SIGINT)
    except Terminated as t:
        die_by(t.signum)
    except MemoryError:
        _fail("out of memory: try a smaller --memory")
    except OSError as err:
        where = f"'{err.filename}'" if err.filename else "I/O"
        _fail(f"{where}: {err.strerror or err}")


def _run(invocation: Invocation) -> None:
    """Shuffle as asked, then report."""
    from .api import shuffle

    if invocation.check_manifest is not None:
        _check(invocation.check_manifest, invocation.config, invocation.quiet)
        return

    config = invocation.config
    if config.clamped and not invocation.quiet:
        click.echo(
            f"shuffle-big: warning: --memory {format_size(config.memory or 0)} is more than this machine's RAM "
            f"({format_size(total_ram())}); using {format_size(config.budget)} (80% of RAM)",
            err=True,
        )
    started = time.perf_counter()
    with _cluster(invocation.engine, invocation.scheduler, config.jobs) as cluster:
        result = shuffle(invocation.sources, invocation.output, config, cluster=cluster)
    if invocation.stats:
        click.echo(_format_stats(result, time.perf_counter() - started, invocation.stats), err=True)
    if invocation.verbose:
        how = "in memory" if result.in_memory else f"{result.passes} passes, {result.buckets} bucket files, {result.jobs} jobs"
        click.echo(
            f"shuffle-big: seed {result.seed}: {result.records} lines, {format_size(result.bytes)}, {how}",
            err=True,
        )


MAX_INPUTS_LISTED = 20  # the text report's inputs; a corpus of thousands of shards lists them with --stats=json


def _check(manifest: str, config: ShuffleConfig, quiet: bool) -> None:
    """--check-manifest: each file that differs from what the manifest says, then exit 1; or a summary."""
    from .manifest import check_manifest

    problems, files = check_manifest(manifest, config.jobs, config.budget)
    for problem in problems:
        click.echo(f"shuffle-big: {problem}", err=True)
    if problems:
        sys.exit(1)
    if not quiet:
        click.echo(f"shuffle-big: {manifest}: all {files} files match", err=True)


def _format_stats(result, seconds: float, style: str) -> str:
    """The --stats report: what was done, peak memory, and where the time went."""
    parent, worker = result.peak_rss, result.peak_worker_rss
    stats = {
        "seed": result.seed, "records": result.records, "bytes": result.bytes, "buckets": result.buckets,
        "passes": result.passes, "jobs": result.jobs,
        "peak_rss": {"parent": parent, "largest_worker": worker},
        "seconds": {**{k: round(v, 3) for k, v in result.seconds.items()}, "total": round(seconds, 3)},
        "inputs": [
            {"path": i.name, "lines": i.read, "weight": as_number(i.weight), "lines_written": i.written} for i in result.inputs
        ],
    }
    if style == "json":
        return json.dumps(stats)
    times = ", ".join(f"{name} {secs:.2f} s" for name, secs in stats["seconds"].items())
    inputs = [
        f"shuffle-big: stats: input '{i.name}': {i.read} lines read, {i.written} written"
        + (f" (weight {as_number(i.weight)})" if i.weight != 1 else "")
        for i in result.inputs[:MAX_INPUTS_LISTED]
    ]
    if len(result.inputs) > MAX_INPUTS_LISTED:
        inputs.append(f"shuffle-big: stats: ... and {len(result.inputs) - MAX_INPUTS_LISTED} more inputs (--stats=json lists them all)")
    return "\n".join([
        f"shuffle-big: stats: {result.records} lines, {result.bytes} bytes ({format_size(result.bytes)}), seed {result.seed}",
        *inputs,
        f"shuffle-big: stats: {result.buckets} bucket files, {result.passes} passes, {result.jobs} jobs",
        f"shuffle-big: stats: peak RSS {format_size(parent)} (this process), {format_size(worker)} (largest worker)",
        f"shuffle-big: stats: {times}",
    ])



def _cluster(engine: str, scheduler: str | None, jobs: int):
    """A Dask cluster to run on (connected on entry), or a context of None for the local engine."""
    if engine != "dask":
        return contextlib.nullcontext()
    from .run.pool_dask import DaskCluster

    return DaskCluster(scheduler, jobs)


def _sources(
    files: tuple[str, ...], echo: bool, input_range: str | None, sep: bytes, files_from: str | None, grouped: bool = False,
) -> list:
    """What to read: the FILEs (and those --files-from names; ``grouped``: as one operand, which --weights
    weighs as one), or (-e) the ARGs as lines, or (-i) a range of numbers."""
    from .inputs.sources import Lines, listed_in

    if echo and input_range is not None:
        raise click.UsageError("cannot combine -e and -i options")
    if files_from is not None:
        if echo or input_range is not None:
            raise click.UsageError(f"cannot combine --files-from and {'-e' if echo else '-i'}")
        if files_from == "-" and "-" in files:
            raise click.UsageError("standard input cannot be both an input and the list of inputs (--files-from -)")
        try:
            listed = listed_in(files_from, sep)
        except ShuffleError as err:
            _fail(str(err).removeprefix("shuffle-big: "))
        if grouped:
            return [*files, tuple(listed)]
        named = [*files, *listed]
        return named or [Lines(b"")]  # an empty list names no input: nothing to shuffle, not standard input
    if echo:
        return [Lines(b"".join(os.fsencode(arg) + sep for arg in files))]
    if input_range is not None:
        if files:
            raise click.UsageError(f"extra operand '{files[0]}'")
        return [number_range(input_range)]
    return list(files) or ["-"]


def _splits(value: str | None) -> tuple[Split, ...] | None:
    if value is None:
        return None
    try:
        return parse_splits(value)
    except ValueError as err:
        raise click.UsageError(f"invalid --split '{value}': {err}") from None


def _seed_from(path: str) -> int:
    """A seed from the first 1 MiB of a file (--random-source)."""
    import xxhash

    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as err:
        _fail(f"cannot open '{path}': {err.strerror}")
    if len(data) < 8:
        _fail(f"'{path}': end of file (--random-source needs at least 8 bytes)")
    return xxhash.xxh64_intdigest(data) >> 1


class _ClosedOutput(io.TextIOBase):
    """Standard output that was closed when the process started: a write fails as one to fd 1 would."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def _fail(message: str) -> NoReturn:
    click.echo(f"{prog()}: {message}", err=True)
    sys.exit(1)
