"""Where the shuffled records go: standard output, or a file that appears atomically.

A named output is written under a temporary name in its own directory and
renamed over the target only after every record is written, so a failed run
leaves the previous file intact and no partial file behind. That also makes
``-o`` safe when it names one of the inputs. A symbolic link is written
through (its target is replaced, not the link). An output that exists and is
not a regular file (``/dev/null``, a FIFO) is opened and written directly, as
shuf does: renaming a file over it would destroy it; and ``/dev/stdout`` or
``/dev/fd/N`` is written through that very descriptor.

A URL output (``s3://...``, through fsspec) is written as a temporary object
next to the target and moved over it at the end.

An output named ``*.gz`` or ``*.zst`` is compressed (gzip level 6, as gzip(1)
does by default; zstd level 3, zstd's default).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zlib

from ..core.fingerprint import Fingerprint
from ..errors import ShuffleError, describe_os_error
from ..signals import held
from ..storage import fs
from ..storage.rawio import writev_all


def _new_file_mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class CommitOnSuccess:
    """As a context manager: ``commit()`` if the block succeeds, ``abort()`` if it raises."""

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class Output(CommitOnSuccess):
    """A sink of bytes; use as a context manager, which commits only on success."""

    def __init__(self, path: str | None = None, swap: bytes | None = None, verify: bool = False) -> None:
        self.path = None if path in (None, "-") else fs.local(path)
        self.swap = swap  # byte translation from internal records to the output's (-z)
        self.fingerprint = Fingerprint() if verify else None  # of the records given to ``write``
        self.name = self.path or "standard output"
        self.bytes_written = 0  # uncompressed
        self._compressor = compressor_for(self.path) if self.path else None
        self._tmp: str | None = None
        self._fd = 1
        self._remote = None  # the fsspec file of a URL output
        self._direct = False  # written in place: not a regular file
        self._target = self.path  # what the temporary file is renamed over
        if self.path is not None and fs.is_url(self.path):
            self._tmp = f"{self.path}.shuffle-big-{os.getpid()}.tmp"
            self._remote = fs.open_write(self._tmp)
            self._fd = -2  # not a descriptor: writes go to _remote
        elif self.path is not None:
            if _is_special(self.path):
                self._open_direct(self.path)
            else:
                self._open_temp(self.path)

    def _open_direct(self, path: str) -> None:
        # A descriptor's name is used as that descriptor: opening /dev/stdout anew
        # would write from offset 0 of a `> log` file, over what came before.
        fd = _descriptor_named(path)
        try:
            self._fd = os.open(path, os.O_WRONLY) if fd is None else os.dup(fd)
        except OSError as err:
            raise describe_os_error(f"cannot open '{self.name}'", err) from None
        self._direct = True

    def _open_temp(self, path: str) -> None:
        if os.path.isdir(path):
            raise ShuffleError(f"cannot create '{path}': Is a directory")
        self._target = os.path.realpath(path)  # through a symlink, to replace its target
        directory = os.path.dirname(self._target)
        try:
            mode = _new_file_mode(path)
            with held():  # made and recorded, or neither: a leaked one would sit beside the output
                self._fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.shuffle-big-", dir=directory)
            os.fchmod(self._fd, mode)
        except OSError as err:
            if self._tmp:
                self.abort()
            raise describe_os_error(f"cannot create '{path}'", err) from None

    def write_header(self, header: bytes) -> None:
        """The --header records, written before the shuffled ones."""
        self.write(header)

    def expect(self, records: int) -> None:
        """Told how many records will follow (a sharded output needs to know)."""

    @property
    def seekable(self) -> bool:
        """Can workers write parts of it at their offsets (a named, uncompressed file)?"""
        return self.path is not None and self._compressor is None and self._remote is None and not self._direct

    def write(self, data: bytes) -> None:
        """Write internal-form records (translated here); see ``copy_from`` for bytes already in output form."""
        self._write_out(outgoing(data, self.fingerprint, self.swap))

    def _write_out(self, data: bytes) -> None:
        self.bytes_written += len(data)
        if self._compressor is not None:
            data = self._compressor.compress(data)
        self._write_raw(data)

    def _write_raw(self, data: bytes) -> None:
        try:
            if self._remote is not None:
                self._remote.write(data)
                return
            writev_all(self._fd, [data])
        except BrokenPipeError:
            raise
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    @property
    def temp_path(self) -> str | None:
        """The file being written (a named output's temporary name), for workers to write into."""
        return self._tmp

    def truncate(self, size: int) -> None:
        """Give the file its final size up front, so workers can write at any offset."""
        try:
            os.ftruncate(self._fd, size)
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def copy_from(self, path: str) -> None:
        """Append the records of file ``path`` (internal form), in the kernel with sendfile when nothing is to change."""
        # sendfile needs two local descriptors and bytes that pass unchanged
        plain = self._compressor is None and not self.swap and self.fingerprint is None and self._remote is None
        if not plain or fs.is_url(path):
            copy_through(path, self.write)
            return
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(self._fd, f.fileno(), offset, size - offset)
                    if not sent:
                        break
                    offset += sent
            except BrokenPipeError:
                raise
            except OSError as err:
                raise describe_os_error(f"error writing '{self.name}'", err) from None
        self.bytes_written += offset

    def finish(self) -> None:
        """Complete the file (compressor trailer) and close it; ``publish`` makes it appear."""
        if self._direct:
            self._close_direct(flush=True)
            return
        if self._fd == -1 or self._tmp is None:  # finished already
            return
        if self._compressor is not None:
            self._write_raw(self._compressor.flush())
        try:
            if self._remote is not None:
                self._remote.close()  # an upload completes here
            else:
                os.close(self._fd)
        except OSError as err:
            self._fd = -1
            self.abort()
            raise describe_os_error(f"error writing '{self.path}'", err) from None
        self._fd = -1

    def publish(self) -> None:
        """Rename the finished temporary file over the target."""
        if self._direct:
            return  # written in place
        assert self._tmp is not None and self.path is not None and self._target is not None  # a named output
        try:
            if self._remote is not None:
                fs.move(self._tmp, self.path)
            else:
                os.replace(self._tmp, self._target)
        except OSError as err:
            self.abort()
            raise describe_os_error(f"cannot create '{self.path}'", err) from None
        self._tmp = None

    def commit(self) -> None:
        if self._tmp is None and not self._direct:
            return
        self.finish()
        self.publish()

    def _close_direct(self, flush: bool) -> None:
        if self._fd < 0:
            return
        try:
            if flush and self._compressor is not None:
                self._write_raw(self._compressor.flush())
        finally:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def abort(self) -> None:
        """Remove the temporary file; the target is untouched."""
        if self._direct:
            self._close_direct(flush=False)  # what went down a pipe cannot be taken back
            return
        if self._tmp is None:
            return
        if self._remote is not None:
            if self._fd != -1:
                getattr(self._remote, "discard", lambda: None)()  # an unfinished upload is dropped
            fs.remove(self._tmp)
            self._tmp = None
            return
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass
        self._tmp = None


def _descriptor_named(path: str) -> int | None:
    """The descriptor that ``/dev/stdout``, ``/dev/fd/N`` or ``/proc/self/fd/N`` names, if ``path`` is one."""
    path = os.path.abspath(path)
    named = {"/dev/stdout": 1, "/dev/stderr": 2}.get(path)
    if named is not None:
        return named
    match = re.fullmatch(rf"/(?:dev|proc/self|proc/{os.getpid()})/fd/(\d+)", path)
    return int(match.group(1)) if match else None


def _is_special(path: str) -> bool:
    """Is ``path`` to be written in place: a descriptor's name, or there and not a regular file?

    A directory is not special: opening it fails with a clear message.
    """
    if _descriptor_named(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def outgoing(data: bytes, fingerprint: Fingerprint | None, swap: bytes | None) -> bytes:
    """Internal-form records as the output holds them, seen by --verify on the way (whoever writes them)."""
    if fingerprint is not None:
        fingerprint.update(data)
    return data.translate(swap) if swap else data


def copy_through(path: str, write) -> None:
    """Feed file (or URL) ``path`` to ``write`` in 1 MB chunks."""
    with fs.open_read(path) as f:
        while chunk := f.read(1 << 20):
            write(chunk)


def compressor_for(path: str):
    """A compressor (``compress``, ``flush``) chosen by the file name, or None."""
    if path.endswith(".gz"):
        return zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    if path.endswith(".zst"):
        try:
            import zstandard
        except ImportError:
            raise ShuffleError(
                f"cannot write '{path}': zstd output needs the extra: pip install 'shuffle-big[zstd]'"
            ) from None
        # No zstd threads: their buffers would be memory outside the budget.
        return zstandard.ZstdCompressor(level=3).compressobj()
    return None
