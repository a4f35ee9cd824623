"""Private temporary space for bucket files, and the limits that shape it.

The directory is created only when data must spill to disk, is private
(mode 0700), named ``shuffle-big.<pid>.*`` so leftovers of a killed run are
recognisable, and removed on success, error and interruption. A run that was
killed with SIGKILL cannot clean up: the next run that spills to the same
parent removes directories whose owner process is gone (same host only, and
only real directories of the same user: not a symlink, not another user's
directory on a shared ``/tmp``), and ``shuffle-big --clean-temp`` does it on
demand.

``-T`` may also be a URL (``s3://bucket/tmp``) for a cluster whose workers
share no filesystem: each run then has a directory there too (``remote``),
holding what workers hand to each other, while each process keeps its own
files in its local temp directory. A killed run's objects are not found
again; an expiry rule on the prefix removes them.
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import shutil
import socket
import stat
import tempfile
import time

from ..errors import ShuffleError, describe_os_error
from ..signals import critical_section
from ..sizes import format_size
from . import fs

PREFIX = "shuffle-big."
_NAME = re.compile(r"^shuffle-big\.(\d+)\.")
OWNER_FILE = "owner"  # holds the host name, so a shared temp dir is only cleaned by its own host


def _alive(pid: int) -> bool:
    """Is process ``pid`` running? A zombie is not: killed, it is only waiting for its parent to reap it
    (a Dask nanny may take a moment: test_dask's killed worker was seen so)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # the state follows the name in parentheses
    except (OSError, IndexError):
        return True  # no /proc: take its word


def _ours(path: str) -> bool:
    """Is ``path`` a real directory (not a symlink to one) of this user's? On a shared ``/tmp`` anyone can
    make ``shuffle-big.<pid>.x`` or a symlink by that name: only our own directories are looked into."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def _owner_host(path: str) -> str | None:
    """The host named in a temp dir's owner file (not followed if it is a symlink), None if unreadable."""
    try:
        fd = os.open(os.path.join(path, OWNER_FILE), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        return f.read(256).strip()


def stale_dirs(parent: str) -> list[str]:
    """This user's temp dirs of earlier runs on this host whose process is gone (killed by SIGKILL, a crash,
    a reboot)."""
    host = socket.gethostname()
    found = []
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    for name in names:
        m = _NAME.match(name)
        path = os.path.join(parent, name)
        if not m or int(m.group(1)) == os.getpid() or not _ours(path) or _alive(int(m.group(1))):
            continue
        if _owner_host(path) == host:
            found.append(path)
    return found


def remove_tree(path: str, attempts: int = 20) -> None:
    """Remove a directory tree, even while a straggler still adds files to it.

    A task of a shared Dask cluster keeps running after this run gave up on
    it; a file it makes between rmtree's listing and its rmdir would leave the
    tree behind. Once its directory is gone the task fails and stops adding.
    """
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        time.sleep(0.05)


def clean_stale(parent: str | None = None) -> list[str]:
    """Remove stale temp dirs in ``parent`` (default: the system temp dir); return what was removed."""
    removed = []
    for path in stale_dirs(parent or tempfile.gettempdir()):
        remove_tree(path, attempts=1)
        if not os.path.exists(path):
            removed.append(path)
    return removed


class TempSpace:
    """One run's temp space: a private local directory, and with a URL ``-T`` one there too.

    Each is made only when first asked for (``local_dir()``, ``remote_dir()``:
    explicit calls, since making one is I/O, and the local one sweeps killed
    runs' leftovers); both are removed when the context ends, however it ends.
    """

    def __init__(self, parent: str | None = None) -> None:
        self.remote_parent = parent.rstrip("/") if parent and fs.is_url(parent) else None
        self.parent = fs.local(parent) if parent and not self.remote_parent else tempfile.gettempdir()
        self._dir: str | None = None
        self._remote: str | None = None
        self._serial = 0

    @property
    def is_remote(self) -> bool:
        """Is ``-T`` a URL (this run's shared temp space on an object store)?"""
        return self.remote_parent is not None

    def remote_dir(self) -> str:
        """This run's directory under the URL ``-T``, made on first use."""
        assert self.remote_parent is not None
        if self._remote is None:
            url = f"{self.remote_parent}/{PREFIX}{os.getpid()}.{secrets.token_hex(6)}"
            try:
                with critical_section():  # made and recorded, or neither: a signal in between would leak it
                    fs.mkdir(url)
                    self._remote = url
            except OSError as err:
                raise describe_os_error(f"cannot create temporary directory in '{self.remote_parent}'", err) from None
        return self._remote

    def local_dir(self) -> str:
        """This run's private directory on this machine, made on first use (which sweeps killed runs' leftovers)."""
        if self._dir is None:
            try:
                with critical_section():  # made and recorded, or neither
                    self._dir = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", dir=self.parent)
                with open(os.path.join(self._dir, OWNER_FILE), "w") as f:
                    f.write(socket.gethostname() + "\n")
            except OSError as err:
                raise describe_os_error(f"cannot create temporary directory in '{self.parent}'", err) from None
            clean_stale(self.parent)  # leftovers of killed runs would fill the disk over time
        return self._dir

    def new_name(self) -> str:
        """A fresh name for a set of bucket files."""
        self._serial += 1
        return f"b{self._serial}"

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.local_dir()).free

    def require(self, need: int) -> None:
        """Fail early, before writing, if ``need`` bytes cannot fit in the local temp directory."""
        free = self.free_bytes()
        if need > free:
            raise ShuffleError(
                f"not enough space in temporary directory '{self.parent}': "
                f"need about {format_size(need)}, {format_size(free)} free (use -T DIR elsewhere)"
            )

    def cleanup(self) -> None:
        """Remove everything; a signal meanwhile waits until it is done (else the tree would stay)."""
        with critical_section():
            if self._dir is not None:
                remove_tree(self._dir)
                self._dir = None
            if self._remote is not None:
                fs.remove(self._remote, recursive=True)
                self._remote = None

    def __enter__(self) -> TempSpace:
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def raise_fd_limit(want: int = 1 << 16) -> int:
    """Raise the soft open-file limit toward the hard one; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return want if soft == resource.RLIM_INFINITY else soft
