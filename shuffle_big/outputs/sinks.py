"""Where the shuffled records go: the one interface every output offers, and the plain output.

Records arrive in internal form (each ends in ``\\n``); a sink turns them
into the output's form (``-z``), shows them to ``--verify`` and counts
them, then hands the bytes to its target (``files``). Used as a context
manager, a sink commits only if the block succeeds, and otherwise aborts:
nothing half-written appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.records import NEWLINE, Buffer, Codec
from ..signals import critical_section
from ..storage import fs
from .compression import Compression
from .files import AtomicFile, Compressed, Target, copy_through, open_target, sendfile_all


class Sink(Protocol):
    """What the engine and the modes write to (``Output``, ``ShardedOutput``)."""

    name: str
    bytes_written: int  # in output form, before compression

    def write_header(self, header: bytes) -> None:
        """The --header records, written before the shuffled ones."""

    def expect(self, records: int) -> None:
        """Told how many records will follow (a sharded output needs to know)."""

    def write(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        """Internal-form records, whole, in output order (ending at ``ends``, if the caller knows)."""

    def copy_from(self, path: str) -> None:
        """Append the internal-form records of a file or object (a run a worker ordered)."""

    def positional_target(self) -> AtomicFile | None:
        """A plain file that workers may write at their final offsets, if this output is one."""

    def run_form(self) -> RunForm | None:
        """The form in which workers may write runs that ``append_run`` then appends as they are, if any."""

    def append_run(self, path: str, nbytes: int) -> None:
        """Append a run written in ``run_form()``; ``nbytes``: its records' bytes in output form, uncompressed."""

    def cuts(self, first: int, records: int) -> list[Cut] | None:
        """For records ``first .. first + records - 1`` of the permutation, the pieces a worker may write
        for ``append_piece``: one for each file of a laid-out output they fall in. None: not laid out."""

    def append_piece(self, file: int, path: str, nbytes: int, start: int | None = None) -> None:
        """Append a piece written as ``cuts`` said to file ``file``; pieces arrive in output order.
        ``start``: the piece is ``nbytes`` of ``path`` from there, in the file's form (a plain file's)."""

    def measures_runs(self) -> bool:
        """Does it cut workers' runs by their records' lengths (``cut_lengths``), not by counts (``cuts``)?"""

    def cut_lengths(self, lengths: np.ndarray) -> list[Cut]:
        """The pieces of the next run, whose records have ``lengths``, for ``append_piece``."""

    def commit(self) -> None: ...

    def published(self) -> list[tuple[str, str | None]]:
        """The files written, each with its split (None: no --split), in output order."""

    def abort(self) -> None: ...


@dataclass(frozen=True)
class RunForm:
    """How a worker writes a run for a sink to append as it is: records in the output's form (``codec``),
    fingerprinted for --verify (``verify``), compressed as one member or frame (``compression``, if any)."""

    codec: Codec
    verify: bool
    compression: Compression | None


@dataclass(frozen=True)
class Cut:
    """A piece of a worker's run: its next ``records`` records, written in ``form``, for file ``file``."""

    file: int
    records: int
    form: RunForm
    nbytes: int | None = None  # their bytes, when the cut was made by lengths (``cut_lengths``)

    @property
    def as_is(self) -> bool:
        """Are the records in the run already as its file holds them (plain, no -z, not fingerprinted)?"""
        return self.form.compression is None and self.form.codec.identity and not self.form.verify


class CommitOnSuccess:
    """As a context manager: ``commit()`` if the block succeeds, ``abort()`` if it raises."""

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A signal cutting a commit or an abort short would leave a temporary file
        # beside the output: it waits until the step is done.
        with critical_section():
            if exc_type is None:
                self.commit()
            else:
                self.abort()


class Output(CommitOnSuccess):
    """The records to one target: standard output (``path`` None or ``-``), a file, a device, a URL."""

    def __init__(
        self, path: str | None = None, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None,
        level: int | None = None,
    ) -> None:
        self.target: Target = open_target(path, level)
        self.path = path or "-"
        self.name = self.target.name
        self.codec = codec  # internal records to the output's (-z)
        self.fingerprint = fingerprint  # sees every record given to ``write`` (--verify's written side)
        self.bytes_written = 0

    def write_header(self, header: bytes) -> None:
        self.write(header)

    def expect(self, records: int) -> None:
        pass

    def write(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        data = outgoing(data, self.fingerprint, self.codec, ends)
        self.bytes_written += len(data)
        self.target.write(data)

    def positional_target(self) -> AtomicFile | None:
        return self.target if isinstance(self.target, AtomicFile) else None

    def copy_from(self, path: str) -> None:
        """Append a file's records, in the kernel with sendfile when no byte is to change."""
        fd = self.target.fd
        if fd is None or not self.codec.identity or self.fingerprint is not None or fs.is_url(path):
            copy_through(path, self.write)
            return
        self.bytes_written += sendfile_all(fd, path, self.name)

    def run_form(self) -> RunForm | None:
        """Compressed output: workers write runs as whole members or frames, appended as they are."""
        if not isinstance(self.target, Compressed):
            return None
        return RunForm(self.codec, self.fingerprint is not None, self.target.compression)

    def append_run(self, path: str, nbytes: int) -> None:
        """Append a run a worker wrote in this output's form and compression, as it is (``nbytes``: its
        records' bytes, uncompressed): in the kernel where it can be."""
        self.target.append_file(path)
        self.bytes_written += nbytes

    def cuts(self, first: int, records: int) -> None:
        return None

    def append_piece(self, file: int, path: str, nbytes: int, start: int | None = None) -> None:
        raise AssertionError("a single output takes no pieces")

    def append_range(self, path: str, start: int, nbytes: int) -> None:
        """Append ``nbytes`` of a local file from ``start``: records already in this output's form, which
        is plain (no compression): in the kernel where it can be."""
        fd = self.target.fd
        if fd is None:
            with open(path, "rb") as f:
                f.seek(start)
                self.target.write(f.read(nbytes))
        else:
            sendfile_all(fd, path, self.name, start, nbytes)
        self.bytes_written += nbytes

    def measures_runs(self) -> bool:
        return False

    def cut_lengths(self, lengths: np.ndarray) -> list[Cut]:
        raise AssertionError("a single output is not cut")

    def finish(self) -> None:
        """Complete the output (a compressor's trailer, the close); ``publish`` makes it appear."""
        self.target.finish()

    def publish(self) -> None:
        self.target.publish()

    def published(self) -> list[tuple[str, str | None]]:
        return [(self.path, None)]

    def commit(self) -> None:
        self.finish()
        self.publish()

    def abort(self) -> None:
        self.target.discard()


def outgoing(data: Buffer, fingerprint: Fingerprint | None, codec: Codec, ends: np.ndarray | None = None) -> Buffer:
    """Internal-form records as the output holds them, seen by --verify on the way (whoever writes them)."""
    if fingerprint is not None:
        fingerprint.update(data, ends)
    return data if codec.identity else codec.encode(bytes(data))  # no copy of a buffer the ordering filled

