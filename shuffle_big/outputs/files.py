"""Where output bytes land: one small class per kind of target, all with one life cycle.

``write`` bytes; ``finish()`` completes them (a compressor's trailer, the
close that ends an upload); ``publish()`` makes them appear under the
target's name; ``discard()`` undoes whatever can be undone. A named file is
written under a temporary name in its own directory and renamed over the
target only when published, so a failed run leaves the previous file intact
and no partial file behind (which also makes ``-o`` one of the inputs
safe); a symbolic link is written through (its target is replaced, not the
link). A target that exists and is not a regular file (``/dev/null``, a
FIFO) is written in place, as shuf does: renaming a file over it would
destroy it; ``/dev/stdout`` or ``/dev/fd/N`` is written through that very
descriptor. A URL (``s3://...``, through fsspec) is written as a temporary
object beside the target and moved over it.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from typing import Any

from ..core.records import Buffer
from ..errors import ShuffleError, describe_os_error
from ..signals import critical_section
from ..storage import fs
from ..storage.rawio import writev_all
from .compression import Compression, compression_for


class Target:
    """Standard output: written in place, nothing to finish or take back. The base of the other kinds."""

    name = "standard output"
    fd: int | None = 1  # a local descriptor (for sendfile), if there is one
    positional: str | None = None  # a plain file that workers may write at their offsets

    def write(self, data: Buffer) -> None:
        assert self.fd is not None
        try:
            writev_all(self.fd, [data])
        except BrokenPipeError:
            raise
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def append_file(self, path: str) -> None:
        """Append the bytes of file (or URL) ``path`` as they are: in the kernel where both are local."""
        if self.fd is not None and not fs.is_url(path):
            sendfile_all(self.fd, path, self.name)
        else:
            copy_through(path, self.write)

    def finish(self) -> None:
        """Complete what was written (close it); ``publish`` then makes it appear."""

    def publish(self) -> None:
        """Make the finished bytes appear under the target's name."""

    def discard(self) -> None:
        """Take back what can be: a temporary file or object is removed; the target is untouched."""


class InPlace(Target):
    """A device, a FIFO or a descriptor's name (``/dev/stdout``), opened and written where it is."""

    def __init__(self, path: str) -> None:
        self.name = path
        self.fd = None
        # A descriptor's name is used as that descriptor: opening /dev/stdout anew
        # would write from offset 0 of a `> log` file, over what came before.
        named = descriptor_named(path)
        try:
            self.fd = os.open(path, os.O_WRONLY) if named is None else os.dup(named)
        except OSError as err:
            raise describe_os_error(f"cannot open '{path}'", err) from None

    def finish(self) -> None:
        self.discard()  # closing is all there is to it

    def discard(self) -> None:
        if self.fd is not None:  # what went down a pipe cannot be taken back
            fd, self.fd = self.fd, None
            os.close(fd)


class _Staged(Target):
    """Written under a temporary name, which ``publish`` moves over the target; ``discard`` removes it."""

    temp: str | None = None
    _writing = False  # the temporary is open for writing

    def _close(self) -> None:
        raise NotImplementedError

    def _drop(self) -> None:
        """Close without completing (an upload is abandoned) and remove the temporary."""
        raise NotImplementedError

    def _move(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        if not self._writing:
            return
        self._writing = False
        try:
            self._close()
        except OSError as err:
            self.discard()
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def publish(self) -> None:
        if self.temp is None:
            return
        try:
            self._move()
        except OSError as err:
            self.discard()
            raise describe_os_error(f"cannot create '{self.name}'", err) from None
        self.temp = None

    def discard(self) -> None:
        self._drop()
        self._writing = False
        self.temp = None


class AtomicFile(_Staged):
    """A regular file: written under a temporary name beside it and renamed over it when published."""

    def __init__(self, path: str) -> None:
        if not path:  # not the current directory, which realpath would make of it
            raise ShuffleError("cannot create '': No such file or directory")
        if os.path.isdir(path):
            raise ShuffleError(f"cannot create '{path}': Is a directory")
        self.name = path
        self.target = os.path.realpath(path)  # through a symlink, to replace its target
        self.fd = None
        try:
            mode = _new_file_mode(path)
            with critical_section():  # made and recorded, or neither: a leaked one would sit beside the output
                self.fd, self.temp = tempfile.mkstemp(
                    prefix=f".{os.path.basename(path)}.shuffle-big-", dir=os.path.dirname(self.target),
                )
            self._writing = True
            os.fchmod(self.fd, mode)
        except OSError as err:
            self.discard()
            raise describe_os_error(f"cannot create '{path}'", err) from None
        self.positional = self.temp

    def truncate(self, size: int) -> None:
        """Give the file its final size up front, so workers can write at any offset."""
        assert self.fd is not None
        try:
            os.ftruncate(self.fd, size)
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def _close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def _drop(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except FileNotFoundError:
                pass

    def _move(self) -> None:
        assert self.temp is not None
        os.replace(self.temp, self.target)


class RemoteFile(_Staged):
    """A URL: written as a temporary object beside the target (the upload completes at ``finish``), then moved."""

    fd = None

    def __init__(self, url: str) -> None:
        self.name = url
        self.temp = f"{url}.shuffle-big-{os.getpid()}.tmp"
        self._file: Any = fs.open_write(self.temp)  # an fsspec file
        self._writing = True

    def write(self, data: Buffer) -> None:
        try:
            self._file.write(data)
        except OSError as err:
            raise describe_os_error(f"error writing '{self.name}'", err) from None

    def _close(self) -> None:
        self._file.close()  # an upload completes here

    def _drop(self) -> None:
        if self._writing:
            getattr(self._file, "discard", lambda: None)()  # an unfinished upload is dropped
        if self.temp is not None:
            fs.remove(self.temp)

    def _move(self) -> None:
        assert self.temp is not None
        fs.move(self.temp, self.name)


class Compressed(Target):
    """Another target's bytes compressed on the way (a member's trailer written at ``finish``).

    Runs that workers compressed (whole gzip members, zstd frames) are appended as they are.
    """

    def __init__(self, inner: Target, compression: Compression) -> None:
        self.inner = inner
        self.name = inner.name
        self.fd = None  # the bytes change: no sendfile, no writes at offsets
        self.compression = compression
        self._compressor: Any = None  # the member being written here, if one is open
        self._empty = True  # nothing written: finish still writes one empty member, a valid file

    def write(self, data: Buffer) -> None:
        if self._compressor is None:
            self._compressor = self.compression.compressor()
        self._empty = False
        self.inner.write(self._compressor.compress(data))

    def append_file(self, path: str) -> None:
        """Append a file (or object) of whole members or frames of this compression, after what is here."""
        self._end_member()
        self._empty = False
        self.inner.append_file(path)

    def _end_member(self) -> None:
        if self._compressor is not None:
            trailer, self._compressor = self._compressor.flush(), None
            self.inner.write(trailer)

    def finish(self) -> None:
        try:
            if self._empty:
                self.write(b"")
            self._end_member()
        except BaseException:
            self.inner.discard()
            raise
        self.inner.finish()

    def publish(self) -> None:
        self.inner.publish()

    def discard(self) -> None:
        self.inner.discard()


def copy_through(path: str, write) -> None:
    """Feed file (or URL) ``path`` to ``write`` in 1 MB chunks."""
    with fs.open_read(path) as f:
        while chunk := f.read(1 << 20):
            write(chunk)


def sendfile_all(fd: int, path: str, name: str, start: int = 0, length: int | None = None) -> int:
    """Append file ``path`` (``length`` bytes of it from ``start``; None: to its end) to descriptor ``fd``
    in the kernel; the bytes sent. ``name``: the target's."""
    with open(path, "rb") as f:
        end = os.fstat(f.fileno()).st_size if length is None else start + length
        offset = start
        try:
            while offset < end:
                sent = os.sendfile(fd, f.fileno(), offset, end - offset)
                if not sent:
                    break
                offset += sent
        except BrokenPipeError:
            raise
        except OSError as err:
            raise describe_os_error(f"error writing '{name}'", err) from None
    return offset - start


def open_target(path: str | None, level: int | None = None) -> Target:
    """The target ``-o`` names (None or ``-``: standard output), compressed by its name at ``level``."""
    if path in (None, "-"):
        compression_for("standard output", level)  # a level with no name to call for it is an error
        return Target()
    path = fs.local(path)
    compression = compression_for(path, level)  # before any file exists: a missing extra is a clean error
    if fs.is_url(path):
        target: Target = RemoteFile(path)
    elif _is_special(path):
        target = InPlace(path)
    else:
        target = AtomicFile(path)
    return target if compression is None else Compressed(target, compression)


def descriptor_named(path: str) -> int | None:
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
    if descriptor_named(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _new_file_mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
