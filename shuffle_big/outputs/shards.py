"""The output as several files: ``--split``, ``--shards``, ``--shard-lines`` (which file gets which
records: ``layout.py``).

Records arrive in output order and are cut into the files in turn, so the
files concatenated are the single output; or pass-2 workers cut their runs
into pieces, one for each file a run reaches (``PieceWriter``), which are
appended as they are. Each file is written to a
temporary name and all are renamed only when every record is written; each
starts with the --header records and is compressed by its own name.
"""

from __future__ import annotations

import os
from typing import Any, cast

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.records import NEWLINE, Buffer, Codec, first_records
from ..errors import ShuffleError, describe_os_error
from ..storage import fs
from ..storage.rawio import pwrite_all
from .compression import compression_for
from .files import copy_through
from .layout import Layout, OutputFile
from .sinks import CommitOnSuccess, Cut, Output, RunForm, outgoing


class ShardedOutput(CommitOnSuccess):
    """A ``Sink`` that cuts the record stream into the files of a ``Layout``, one ``Output`` each."""

    def __init__(
        self, layout: Layout, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None, level: int | None = None,
    ) -> None:
        self.layout = layout
        self.level = level  # of each file compressed by its name
        first_names = [layout.name(s.name, 0) for s in layout.splits] if layout.splits else [layout.name(None, 0)]
        for path in [] if fs.is_url(layout.pattern) else first_names:  # fail early on a missing directory
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                raise ShuffleError(f"cannot create '{path}': No such file or directory")
        self.name = layout.pattern
        self.codec = codec
        self.fingerprint = fingerprint  # sees every record written, header included (--verify)
        self.bytes_written = 0
        self.header = b""
        self.files: list[OutputFile] | None = None  # known once the record count is
        self._done: list[Output] = []  # finished shards, renamed at commit
        self.opened: list[tuple[str, str | None]] = []  # each file's name and split, in output order
        self._current: Output | None = None
        self._left = 0  # records still due in the current shard

    def write_header(self, header: bytes) -> None:
        if self.fingerprint is not None:
            self.fingerprint.update(header)  # read once, so counted once
        self.header = header

    def expect(self, records: int) -> None:
        self.files = self.layout.files(records)

    def write(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        if self.fingerprint is not None:
            self.fingerprint.update(data, ends)
        self.bytes_written += len(data)
        while data:
            shard = self._current
            while self._left == 0 or shard is None:
                shard = self._next_shard()
            cut, found = first_records(data, self._left)
            shard.write(data[:cut])
            self._left -= len(found)
            data = data[cut:]

    def copy_from(self, path: str) -> None:
        copy_through(path, self.write)

    def positional_target(self) -> None:
        return None  # where a record lands depends on the records before it

    def run_form(self) -> None:
        return None  # a run may straddle two files: workers write pieces instead (``cuts``)

    def cuts(self, first: int, records: int) -> list[Cut] | None:
        """The files records ``first .. first + records - 1`` fall in, and how many in each."""
        assert self.files is not None, "expect() must be called before the cuts are asked for"
        found, start = [], 0
        for i, file in enumerate(self.files):
            lo, hi = max(start, first), min(start + file.records, first + records)
            if lo < hi:
                form = RunForm(self.codec, self.fingerprint is not None, compression_for(file.path, self.level))
                found.append(Cut(i, hi - lo, form))
            start += file.records
        return found

    def append_piece(self, file: int, path: str, nbytes: int, start: int | None = None) -> None:
        """Append a piece (records already in the file's form, compressed by its name) to file ``file``:
        all of ``path``, or (``start``) ``nbytes`` of it from there."""
        while self._current is None or len(self._done) < file:
            self._next_shard()
        assert self._current is not None
        if start is None:
            self._current.append_run(path, nbytes)
        else:
            self._current.append_range(path, start, nbytes)
        self.bytes_written += nbytes

    def append_run(self, path: str, nbytes: int) -> None:
        raise AssertionError("a sharded output takes runs by copy_from")

    def measures_runs(self) -> bool:
        return False  # its files hold counts of records: ``cuts``

    def cut_lengths(self, lengths: np.ndarray) -> list[Cut]:
        raise AssertionError("cut by counts: cuts()")

    def _next_shard(self) -> Output:
        if self.files is None:
            raise AssertionError("expect() must be called before records are written")
        self._close()
        file = self.files[len(self._done)]
        self._left = file.records
        return self._open(file.path, file.split)

    def _open(self, path: str, split: str | None) -> Output:
        """Begin the next file (the one open is finished first), with the header."""
        self._close()
        self.opened.append((path, split))
        self._current = Output(path, self.codec, None, self.level)  # the fingerprint is this object's
        self._current.write(self.header)
        return self._current

    def _close(self) -> None:
        """Finish the open file, if any: it is renamed into place at commit, with the others."""
        if self._current is not None:
            self._current.finish()
            self._done.append(self._current)
            self._current = None

    def commit(self) -> None:
        if self.files is None:
            self.expect(0)
        assert self.files is not None
        while len(self._done) + (self._current is not None) < len(self.files):
            self._next_shard()  # the rest are empty (fewer records than files)
        self._close()
        self._publish()

    def _publish(self) -> None:
        for shard in self._done:
            shard.publish()

    def published(self) -> list[tuple[str, str | None]]:
        """The files written, with their splits, in output order (once committed)."""
        return list(self.opened)

    def abort(self) -> None:
        for shard in [*self._done, self._current]:
            if shard is not None:
                shard.abort()
        self._done, self._current = [], None


class PieceWriter:
    """Records in output order, cut into one file for each ``Cut``: its count of records, in its form."""

    def __init__(self, prefix: str, cuts: tuple[Cut, ...], fingerprint: Fingerprint | None) -> None:
        self.prefix, self.cuts, self.fingerprint = prefix, cuts, fingerprint
        self.written: list[tuple[str, int]] = []  # finished pieces: path, bytes before compression
        self.fd: int | None = None
        self.left = 0  # records still due in the open piece
        self.nbytes = self.at = 0
        self.compressor: Any = None

    def write(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        while data:
            if self.fd is None or self.left == 0:
                self._next()
            cut, found = first_records(data, self.left, ends)
            self._put(data[:cut], found)
            self.left -= len(found)
            data, ends = data[cut:], None

    def _put(self, data: Buffer, ends: np.ndarray) -> None:
        cut = self.cuts[len(self.written)]
        data = outgoing(data, self.fingerprint, cut.form.codec, ends)
        self.nbytes += len(data)
        self.at = pwrite_all(cast(int, self.fd), data if self.compressor is None else self.compressor.compress(data), self.at)

    def _next(self) -> None:
        if self.fd is not None:
            self._finish()
        if len(self.written) == len(self.cuts):
            raise AssertionError("more records than the cuts hold")
        cut = self.cuts[len(self.written)]
        path = f"{self.prefix}.{len(self.written)}"
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None
        self.path, self.left, self.nbytes, self.at = path, cut.records, 0, 0
        compression = cut.form.compression
        self.compressor = compression.compressor() if compression is not None else None

    def _finish(self) -> None:
        if self.compressor is not None:
            self.at = pwrite_all(cast(int, self.fd), self.compressor.flush(), self.at)  # one whole member or frame
        os.close(cast(int, self.fd))
        self.fd = None
        self.written.append((self.path, self.nbytes))

    def close(self) -> None:
        if self.fd is not None:
            self._finish()
        assert len(self.written) == len(self.cuts), "fewer records than the cuts hold"

    def abandon(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
