"""Where the shuffled records go: standard output, or a file that appears atomically.

A named output is written under a temporary name in its own directory and
renamed over the target only after every record is written, so a failed run
leaves the previous file intact and no partial file behind. That also makes
``-o`` safe when it names one of the inputs.
"""

from __future__ import annotations

import os
import stat
import tempfile

from .errors import ShuffleError, describe_os_error
from .rawio import writev_all


def _new_file_mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class Output:
    """A sink of bytes; use as a context manager, which commits only on success."""

    def __init__(self, path: str | None = None) -> None:
        self.path = None if path in (None, "-") else path
        self.name = self.path or "standard output"
        self.bytes_written = 0
        self._tmp: str | None = None
        self._fd = 1
        if self.path is not None:
            self._open_temp(self.path)

    def _open_temp(self, path: str) -> None:
        if os.path.isdir(path):
            raise ShuffleError(f"cannot create '{path}': Is a directory")
        directory = os.path.dirname(os.path.abspath(path))
        try:
            mode = _new_file_mode(path)
            self._fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.shuffle-big-", dir=directory)
            os.fchmod(self._fd, mode)
        except OSError as err:
            if self._tmp:
                self.abort()
            raise describe_os_error(f"cannot create '{path}'", err) from None

    def write(self, data: bytes) -> None:
        try:
            self.bytes_written += writev_all(self._fd, [data])
        except BrokenPipeError:
            raise
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def commit(self) -> None:
        if self._tmp is None:
            return
        try:
            os.close(self._fd)
            self._fd = -1
            os.replace(self._tmp, self.path)
        except OSError as err:
            self.abort()
            raise describe_os_error(f"cannot create '{self.path}'", err) from None
        self._tmp = None

    def abort(self) -> None:
        """Remove the temporary file; the target is untouched."""
        if self._tmp is None:
            return
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass
        self._tmp = None

    def __enter__(self) -> "Output":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
