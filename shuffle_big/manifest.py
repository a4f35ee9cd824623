"""``--manifest``: what a run read and wrote, as JSON, and ``--check-manifest``, which reads it all back.

The manifest is written once every output file is published, atomically (a
temporary file renamed over it), so a manifest that exists describes files
that exist. Each output file is described by reading it back, which is what
``--check-manifest`` does again later: its bytes as written (SHA-256, what
``sha256sum`` prints), and decompressed, its lines, bytes and ``--verify``
fingerprint. Re-reading costs a pass over the output, in parallel over the
files; it is what makes the manifest a statement about the files on disk
rather than about what the run meant to write.

Output paths are stored relative to the manifest's directory (URLs as they
are), so a directory of shards and its manifest can be moved together.
The format is in README.md ("Manifest"); ``FORMAT`` changes when it does.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

from . import __version__
from .config import ShuffleConfig
from .core.fingerprint import Fingerprint, hasher
from .core.gather import release_free_memory
from .core.records import Codec
from .core.weights import as_number
from .errors import ShuffleError, describe_os_error
from .inputs.sources import CorruptInput, decoded
from .run.job import ShuffleResult
from .storage import fs

FORMAT = 1
# Describing a 320 MB .zst file of 20-byte lines in 1 MB reads held 6.7 MB over an idle process,
# in 256 KB reads 4.3 MB, in 64 KB 3.5 MB (at the same speed within noise). The files are
# described once the run has let its memory go, a thread per DESCRIBE_MEMORY of the budget.
READ_CHUNK = 256 << 10
DESCRIBE_MEMORY = 8 << 20


class _Hashed:
    """A stream, every byte read from it also fed to ``digest``."""

    def __init__(self, raw, digest) -> None:
        self.raw, self.digest = raw, digest

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        return data


def describe_file(path: str, sep: bytes = b"\n") -> dict[str, Any]:
    """An output file's lines, bytes and fingerprint (decompressed), and the SHA-256 of its bytes."""
    digest = hashlib.sha256()
    seen = Fingerprint()
    codec = Codec(sep)
    nbytes = 0
    last = b""
    try:
        with fs.open_read(path) as raw:
            stream = decoded(_Hashed(raw, digest), path)  # type: ignore[arg-type]
            while chunk := stream.read(READ_CHUNK):
                nbytes += len(chunk)
                seen.update(codec.decode(chunk))
                last = chunk[-1:]
    except CorruptInput as err:
        raise ShuffleError(f"'{path}': cannot be decompressed: {err}") from None
    except OSError as err:
        raise describe_os_error(f"cannot read '{path}'", err) from None
    if last not in (b"", sep):
        raise ShuffleError(f"'{path}': the last line does not end in a separator")
    total, lines, _ = seen.value  # the fingerprint counts the lines it hashes
    return {
        "lines": lines, "bytes": nbytes,
        "fingerprint": {"hasher": hasher(), "value": f"{total:016x}"},
        "sha256": digest.hexdigest(),
    }


def _relative(path: str, manifest: str) -> str:
    if fs.is_url(path) or fs.is_url(manifest):
        return path
    return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(manifest)))


def _located(path: str, manifest: str) -> str:
    """An output's path as the manifest at ``manifest`` names it, made usable from here."""
    if fs.is_url(path) or os.path.isabs(path) or fs.is_url(manifest):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(manifest)), path)


def options_of(config: ShuffleConfig, output: str | None) -> dict[str, Any]:
    """The options that made the output, as the command line spells them."""
    splits = config.splits
    return {
        "output": output,
        "weights": None if config.weights is None else [as_number(Fraction(w)) for w in config.weights],
        "split": None if not splits else ",".join(str(s) for s in splits),
        "shards": config.shards, "shard_lines": config.shard_lines, "shard_size": config.shard_size,
        "zero_terminated": config.sep == b"\0", "header": config.header,
        "compress_level": config.compress_level, "memory": config.budget, "jobs": config.jobs,
    }


def check_writable(manifest: str) -> None:
    """Fail now, before any input is read, if the manifest could not be written where asked."""
    if fs.is_url(manifest):
        return
    directory = os.path.dirname(os.path.abspath(manifest))
    if not os.path.isdir(directory):
        raise ShuffleError(f"--manifest '{manifest}': no such directory '{directory}'")
    if not os.access(directory, os.W_OK):
        raise ShuffleError(f"--manifest '{manifest}': cannot write to directory '{directory}'")


def threads(workers: int, budget: int) -> int:
    """Threads to describe files with: ``workers``, as far as ``budget`` bytes of memory go."""
    return max(1, min(workers, budget // DESCRIBE_MEMORY))


def write_manifest(
    manifest: str, config: ShuffleConfig, output: str | None, result: ShuffleResult,
    files: list[tuple[str, str | None]],
) -> dict[str, Any]:
    """Describe the run and each of its published ``files`` (path, split) in ``manifest``, atomically."""
    release_free_memory()  # what the run freed, back to the system before the files are read
    with ThreadPoolExecutor(threads(config.jobs, config.budget)) as pool:  # hashing and decompressing release the GIL
        described = list(pool.map(lambda f: describe_file(f[0], config.sep), files))
    outputs = [{"path": _relative(path, manifest), "split": split, **d} for (path, split), d in zip(files, described)]
    document = {
        "format": FORMAT,
        "shuffle_big": __version__,
        "seed": result.seed,
        "options": options_of(config, output),
        "inputs": [
            {"path": i.name, "lines": i.read, "bytes": i.nbytes, "weight": as_number(i.weight), "lines_taken": i.written}
            for i in result.inputs
        ],
        "outputs": outputs,
        "totals": {
            "lines_read": sum(i.read for i in result.inputs),
            "records_written": result.records,
            "lines_written": sum(o["lines"] for o in outputs),
            "bytes_written": sum(o["bytes"] for o in outputs),
            "files": len(outputs),
        },
    }
    text = json.dumps(document, indent=2) + "\n"
    try:
        if fs.is_url(manifest):
            with fs.open_write(manifest) as f:
                f.write(text.encode())
        else:
            partial = f"{manifest}.{os.getpid()}.partial"
            try:
                with open(partial, "wb") as local:
                    local.write(text.encode())
                os.replace(partial, manifest)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
    except OSError as err:
        raise describe_os_error(f"cannot write manifest '{manifest}'", err) from None
    return document


def check_manifest(manifest: str, workers: int = 1, budget: int = 1 << 30) -> tuple[list[str], int]:
    """Read back every output ``manifest`` lists: what differs from it, one line per file that does (none:
    all match), and how many files it lists."""
    try:
        with fs.open_read(manifest) as f:
            document = json.loads(f.read())
        outputs = document["outputs"]
        sep = b"\0" if document["options"]["zero_terminated"] else b"\n"
    except OSError as err:
        raise describe_os_error(f"cannot read manifest '{manifest}'", err) from None
    except (ValueError, KeyError, TypeError) as err:
        raise ShuffleError(f"'{manifest}' is not a shuffle-big manifest: {err}") from None

    def check(entry: dict[str, Any]) -> str | None:
        path = entry["path"]
        try:
            found = describe_file(_located(path, manifest), sep)
        except ShuffleError as err:
            return str(err).removeprefix("shuffle-big: ")
        for field, what in (("lines", "lines"), ("bytes", "bytes")):
            if found[field] != entry[field]:
                return f"'{path}': {found[field]} {what}, the manifest says {entry[field]}"
        if found["sha256"] != entry["sha256"]:
            return f"'{path}': its SHA-256 is {found['sha256']}, the manifest says {entry['sha256']}"
        said = entry["fingerprint"]
        if said["hasher"] == found["fingerprint"]["hasher"] and said["value"] != found["fingerprint"]["value"]:
            return f"'{path}': its records' fingerprint is {found['fingerprint']['value']}, the manifest says {said['value']}"
        return None

    with ThreadPoolExecutor(threads(workers, budget)) as pool:
        return [problem for problem in pool.map(check, outputs) if problem is not None], len(outputs)
