"""What every pool of workers shares: a task's value comes back with the peak memory of the process that ran it."""

from __future__ import annotations

from collections.abc import Callable


def peak_rss() -> int:
    """This process's peak resident memory in bytes.

    VmHWM, not getrusage: ru_maxrss survives exec, so a process started by a
    big parent would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measured(fn: Callable, *args):
    """``fn(*args)`` and this process's peak RSS after it (what a pool runs in its workers)."""
    return fn(*args), peak_rss()
