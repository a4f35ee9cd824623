"""Private temporary space for bucket files, and the limits that shape it.

The directory is created only when data must spill to disk, is private
(mode 0700), named ``shuffle-big.<pid>.*`` so leftovers of a killed run are
recognisable, and removed on success, error and interruption.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile

from .errors import ShuffleError, describe_os_error
from .sizes import format_size


class TempSpace:
    def __init__(self, parent: str | None = None) -> None:
        self.parent = parent or tempfile.gettempdir()
        self._dir: str | None = None
        self._serial = 0

    @property
    def path(self) -> str:
        if self._dir is None:
            try:
                self._dir = tempfile.mkdtemp(prefix=f"shuffle-big.{os.getpid()}.", dir=self.parent)
            except OSError as err:
                raise describe_os_error(f"cannot create temporary directory in '{self.parent}'", err) from None
        return self._dir

    def new_name(self) -> str:
        """A fresh name for a set of bucket files."""
        self._serial += 1
        return f"b{self._serial}"

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path).free

    def require(self, need: int) -> None:
        """Fail early, before writing, if ``need`` bytes cannot fit."""
        free = self.free_bytes()
        if need > free:
            raise ShuffleError(
                f"not enough space in temporary directory '{self.parent}': "
                f"need about {format_size(need)}, {format_size(free)} free (use -T DIR elsewhere)"
            )

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> "TempSpace":
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
