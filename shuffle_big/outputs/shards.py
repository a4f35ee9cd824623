"""``--shards N``: the permutation split into N files of near-equal record count.

The M records of the output go, in order, M//N to a shard, the last M%N
shards one more, so the shards concatenated are the single output. Each shard is written to a
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
from .files import copy_through
from .sinks import CommitOnSuccess, Output


def shard_paths(pattern: str, count: int) -> list[str]:
    """File names from ``-o``: a pattern with ``{i}`` (``out-{i:05d}.txt``) or a directory."""
    pattern = fs.local(pattern)
    if os.path.isdir(pattern) or pattern.endswith("/"):
        pattern = os.path.join(pattern, "part-{i:05d}")
    elif "{i" not in pattern:
        raise ShuffleError(f"--shards needs -o to be a directory or a name with {{i}} in it, like out-{{i:05d}}.txt (got '{pattern}')")
    try:
        paths = [pattern.format(i=i) for i in range(count)]
    except (KeyError, IndexError, ValueError) as err:
        raise ShuffleError(f"bad shard name pattern '{pattern}': {err}") from None
    if len(set(paths)) != count:
        raise ShuffleError(f"the shard name pattern '{pattern}' gives the same name twice")
    return paths


def shard_sizes(records: int, count: int) -> list[int]:
    """Records in each shard: as equal as whole records allow, the larger ones last."""
    base, extra = divmod(records, count)
    return [base + (i >= count - extra) for i in range(count)]


class ShardedOutput(CommitOnSuccess):
    """A ``Sink`` that cuts the record stream into shard files, one ``Output`` each."""

    def __init__(
        self, pattern: str, count: int, codec: Codec = NEWLINE, fingerprint: Fingerprint | None = None,
        level: int | None = None,
    ) -> None:
        self.paths = shard_paths(pattern, count)
        self.level = level  # of each shard compressed by its name
        for path in [] if fs.is_url(pattern) else self.paths:  # fail early on a missing directory
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                raise ShuffleError(f"cannot create '{path}': No such file or directory")
        self.name = pattern
        self.codec = codec
        self.fingerprint = fingerprint  # sees every record written, header included (--verify)
        self.bytes_written = 0
        self.header = b""
        self._sizes: list[int] | None = None
        self._done: list[Output] = []  # finished shards, renamed at commit
        self._current: Output | None = None
        self._left = 0  # records still due in the current shard

    def write_header(self, header: bytes) -> None:
        if self.fingerprint is not None:
            self.fingerprint.update(header)  # read once, so counted once
        self.header = header

    def expect(self, records: int) -> None:
        self._sizes = shard_sizes(records, len(self.paths))

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
        return None  # a run may straddle two shards: this object cuts and compresses

    def append_run(self, path: str, nbytes: int) -> None:
        raise AssertionError("a sharded output takes runs by copy_from")

    def _next_shard(self) -> Output:
        if self._sizes is None:
            raise AssertionError("expect() must be called before records are written")
        if self._current is not None:
            self._current.finish()
            self._done.append(self._current)
        i = len(self._done)
        self._current = Output(self.paths[i], self.codec, None, self.level)  # the fingerprint is this object's
        self._current.write(self.header)
        self._left = self._sizes[i]
        return self._current

    def commit(self) -> None:
        if self._sizes is None:
            self._sizes = shard_sizes(0, len(self.paths))
        last = self._current
        while len(self._done) + (last is not None) < len(self.paths):
            last = self._next_shard()  # the rest are empty (fewer records than shards)
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
