"""The output as several files: ``--split``, ``--shards``, ``--shard-lines`` (which file gets which
records: ``layout.py``).

Records arrive in output order and are cut into the files in turn, so the
files concatenated are the single output. Each file is written to a
temporary name and all are renamed only when every record is written; each
starts with the --header records and is compressed by its own name.
"""

from __future__ import annotations

import os

import numpy as np

from ..core.fingerprint import Fingerprint
from ..core.records import NEWLINE, Buffer, Codec, record_ends
from ..errors import ShuffleError
from ..storage import fs
from .compression import compression_for
from .files import copy_through
from .layout import Layout, OutputFile
from .sinks import CommitOnSuccess, Cut, Output, RunForm


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
            ends = record_ends(data)
            if len(ends) < self._left:  # all of it (a record cut short included) belongs here
                shard.write(data)
                self._left -= len(ends)
                return
            cut = int(ends[self._left - 1])
            shard.write(data[:cut])
            self._left = 0
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

    def append_piece(self, file: int, path: str, nbytes: int) -> None:
        """Append a piece (records already in the file's form, compressed by its name) to file ``file``."""
        while self._current is None or len(self._done) < file:
            self._next_shard()
        assert self._current is not None
        self._current.append_run(path, nbytes)
        self.bytes_written += nbytes

    def append_run(self, path: str, nbytes: int) -> None:
        raise AssertionError("a sharded output takes runs by copy_from")

    def _next_shard(self) -> Output:
        if self.files is None:
            raise AssertionError("expect() must be called before records are written")
        if self._current is not None:
            self._current.finish()
            self._done.append(self._current)
        file = self.files[len(self._done)]
        self._current = Output(file.path, self.codec, None, self.level)  # the fingerprint is this object's
        self._current.write(self.header)
        self._left = file.records
        return self._current

    def commit(self) -> None:
        if self.files is None:
            self.expect(0)
        assert self.files is not None
        last = self._current
        while len(self._done) + (last is not None) < len(self.files):
            last = self._next_shard()  # the rest are empty (fewer records than files)
        assert last is not None  # there is at least one shard
        last.finish()
        self._done.append(last)
        self._current = None
        for shard in self._done:
            shard.publish()

    def abort(self) -> None:
        for shard in [*self._done, self._current]:
            if shard is not None:
                shard.abort()
        self._done, self._current = [], None
