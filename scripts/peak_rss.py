#!/usr/bin/env python3
"""Run a command and print its peak RSS in KiB (from the kernel) on the last line of stderr.

    python scripts/peak_rss.py CMD [ARGS...]   ->  stderr ends with "peak_rss_kib=NNN"

Why a wrapper: Linux keeps a process's ru_maxrss across fork+exec, so a child
of a big process (pytest, a benchmark driver) reports at least its parent's
size. This bare interpreter forks the command while it is still tiny, which
keeps that inherited floor (~10 MB) below any Python command's own peak.
The exit status is the command's.
"""

import os
import sys


def main() -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    print(f"peak_rss_kib={usage.ru_maxrss}", file=sys.stderr)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
