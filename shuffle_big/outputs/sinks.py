"""Where the shuffled records go: the one interface every output offers, and the plain output.

Records arrive in internal form (each ends in ``\\n``); a sink turns them
into the output's form (``-z``), shows them to ``--verify`` and counts
them, then hands the bytes to its target (``files``). Used as a context
manager, a sink commits only if the block succeeds, and otherwise aborts:
nothing half-written appears.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.records import NEWLINE, Buffer, Codec
from ..errors import describe_os_error
from ..signals import critical_section
from ..storage import fs
from .files import AtomicFile, Target, open_target


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

    def commit(self) -> None: ...

    def abort(self) -> None: ...


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

    def __init__(self, path: str | None = None, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None) -> None:
        self.target: Target = open_target(path)
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
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(fd, f.fileno(), offset, size - offset)
                    if not sent:
                        break
                    offset += sent
            except BrokenPipeError:
                raise
            except OSError as err:
                raise describe_os_error(f"error writing '{self.name}'", err) from None
        self.bytes_written += offset

    def finish(self) -> None:
        """Complete the output (a compressor's trailer, the close); ``publish`` makes it appear."""
        self.target.finish()

    def publish(self) -> None:
        self.target.publish()

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


def copy_through(path: str, write) -> None:
    """Feed file (or URL) ``path`` to ``write`` in 1 MB chunks."""
    with fs.open_read(path) as f:
        while chunk := f.read(1 << 20):
            write(chunk)
