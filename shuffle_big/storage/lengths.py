"""The length of each record of a run, in order: what ``--shard-size`` cuts a worker's run by.

A file of little-endian u64 lengths (a record streamed through may pass 4
GiB), 8 bytes a record beside the run's own bytes. Records may be handed
over cut anywhere (a record longer than a block comes in pieces): a length
is written once the record's newline is seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core.records import Buffer, record_ends
from ..errors import describe_os_error

READ_RECORDS = 1 << 17  # lengths read back at a time: 1 MB


class RecordLengths:
    """Writes the lengths of the records it is shown to a new file ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._carry = 0  # bytes of a record whose newline has not come yet
        try:
            self._f = open(path, "wb")
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    def add(self, data: Buffer, ends: np.ndarray | None = None) -> None:
        """Records in internal form, cut anywhere (``ends``: theirs, when whole and known)."""
        found = record_ends(data) if ends is None else ends
        lengths = np.diff(found, prepend=0).astype(np.uint64)
        if len(lengths):
            lengths[0] += np.uint64(self._carry)
            self._carry = 0
        self._carry += len(data) - (int(found[-1]) if len(found) else 0)
        try:
            self._f.write(lengths.tobytes())
        except OSError as err:
            raise describe_os_error("cannot write to temporary directory", err) from None

    def close(self) -> None:
        assert self._carry == 0, "a record without its end"
        self._f.close()


def read_lengths(path: str) -> Iterator[np.ndarray]:
    """The lengths in ``path``, a chunk at a time, in order."""
    try:
        with open(path, "rb") as f:
            while chunk := f.read(8 * READ_RECORDS):
                yield np.frombuffer(chunk, dtype=np.uint64)
    except OSError as err:
        raise describe_os_error(f"cannot read temporary file '{path}'", err) from None

