"""Where bytes live: local paths, or URLs read and written through fsspec.

A name with ``scheme://`` (``s3://``, ``gs://``, ``memory://``...) goes
through fsspec and the backend installed for its scheme; ``file://`` is a
local path. fsspec is imported only when a URL is used.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO, NamedTuple

from ..errors import ShuffleError, describe_os_error


class Stat(NamedTuple):
    regular: bool  # a file whose size is known (not a pipe, a device, a directory)
    size: int
    version: tuple  # changes when the file is written to
    fifo: bool = False  # a named pipe: opening it meets its writer


def local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _filesystem(url: str):
    try:
        import fsspec
    except ImportError:
        raise ShuffleError(f"'{url}': URLs need fsspec: pip install 'shuffle-big[remote]'") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as err:
        raise ShuffleError(f"'{url}': {err}") from None


def stat_of(path: str) -> Stat:
    """Raises ShuffleError (cannot open) if there is nothing there."""
    if is_url(path):
        store, inner = _filesystem(path)
        try:
            info = store.info(inner)
        except FileNotFoundError:
            raise ShuffleError(f"cannot open '{path}': No such file or directory") from None
        except OSError as err:
            raise describe_os_error(f"cannot open '{path}'", err) from None
        if info.get("type") != "file":
            raise ShuffleError(f"cannot open '{path}': Is a directory")
        version = tuple(str(info.get(k)) for k in ("mtime", "LastModified", "ETag", "generation", "created"))
        return Stat(True, int(info["size"]), version)
    try:
        st = os.stat(local(path))
    except OSError as err:
        raise describe_os_error(f"cannot open '{path}'", err) from None
    return Stat(stat.S_ISREG(st.st_mode), st.st_size, (st.st_mtime_ns,), stat.S_ISFIFO(st.st_mode))


# fsspec backends buffer a whole block per open file (s3fs: 50 MiB by default);
# that memory is outside the plan, so it is kept small. 8 MiB is also above S3's
# 5 MiB minimum for the parts of an upload.
REMOTE_BLOCK = 8 << 20


def is_directory(path: str) -> bool:
    """Is ``path`` a directory (a URL: a prefix with objects under it)? False if nothing is there."""
    if is_url(path):
        store, inner = _filesystem(path)
        try:
            return bool(store.isdir(inner))
        except OSError:
            return False
    return os.path.isdir(local(path))


def skipped(name: str) -> bool:
    """Left out of a directory's files: hidden files and markers such as Spark's ``_SUCCESS`` (as pyarrow
    datasets and Hadoop leave out names starting with ``.`` or ``_``)."""
    return name.startswith((".", "_"))


def files_under(path: str) -> list[str]:
    """The regular files under directory ``path``, recursively, sorted by their path; none in a
    directory (or file) whose name ``skipped`` leaves out. Links to files count; links to directories
    are not followed."""
    if is_url(path):
        store, inner = _filesystem(path)
        scheme = path.split("://", 1)[0]
        found = []
        for name in store.find(inner):
            rel = name[len(inner.rstrip("/")) + 1 :] if name.startswith(inner.rstrip("/") + "/") else name
            if not any(skipped(part) for part in rel.split("/")):
                found.append(f"{scheme}://{name}" if not name.startswith(f"{scheme}://") else name)
        return sorted(found)
    found = []
    for root, dirs, files in os.walk(local(path), onerror=_raise):
        dirs[:] = [d for d in dirs if not skipped(d)]
        found.extend(os.path.join(root, f) for f in files if not skipped(f) and os.path.isfile(os.path.join(root, f)))
    return sorted(found)


def _raise(err: OSError) -> None:
    raise describe_os_error(f"cannot read directory '{err.filename}'", err)


def open_read(path: str, end: int | None = None) -> BinaryIO:
    """Open for reading (seekable for files and object stores).

    ``end``: the caller reads nothing at or past this offset of an object, so
    the backend need not ask for its size nor read ahead beyond it.
    """
    try:
        if is_url(path):
            store, inner = _filesystem(path)
            if end is not None:
                return store.open(inner, "rb", block_size=REMOTE_BLOCK, size=end)
            if store.isdir(inner):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            return store.open(inner, "rb", block_size=REMOTE_BLOCK)
        return open(local(path), "rb")
    except FileNotFoundError as err:
        if err.strerror is None:  # fsspec's carry only the path
            raise ShuffleError(f"cannot open '{path}': No such file or directory") from None
        raise describe_os_error(f"cannot open '{path}'", err) from None
    except OSError as err:
        raise describe_os_error(f"cannot open '{path}'", err) from None


def open_write(path: str) -> BinaryIO:
    """A remote file to write; the object appears when it is closed (an S3 upload completes then)."""
    store, inner = _filesystem(path)
    try:
        return store.open(inner, "wb", block_size=REMOTE_BLOCK)
    except OSError as err:
        raise describe_os_error(f"cannot create '{path}'", err) from None


def fetch_ranges(urls: list[str], starts: list[int], ends: list[int]) -> list[bytes]:
    """Bytes [start, end) of each object, fetched concurrently where the backend can (s3fs, gcsfs)."""
    store, _ = _filesystem(urls[0])
    return store.cat_ranges([_filesystem(url)[1] for url in urls], starts, ends)


def mkdir(url: str) -> None:
    """Make the directory ``url`` where the backend has directories (object stores have none); OSError if not.

    Its parent must exist: on S3, ``makedirs`` would create a missing bucket.
    """
    store, inner = _filesystem(url)
    try:
        store.mkdir(inner, create_parents=False)
    except FileExistsError:
        pass


def move(source: str, target: str) -> None:
    store, inner = _filesystem(source)
    store.mv(inner, _filesystem(target)[1])


def remove(path: str, recursive: bool = False) -> None:
    """Remove the file or object at ``path`` (everything under a URL, if ``recursive``), if anything."""
    if not is_url(path):
        try:
            os.unlink(local(path))
        except FileNotFoundError:
            pass
        return
    store, inner = _filesystem(path)
    try:
        store.rm(inner, recursive=recursive)
    except OSError:  # removal is clean-up: a store that refuses now leaves garbage, not a failed run
        pass
