#!/usr/bin/env python3
"""Run a command and report its peak memory on the last lines of stderr:

    peak_rss_kib=N    largest single process (kernel rusage, exact)
    peak_tree_kib=N   all its processes together (sampled every 10 ms, at least N above)

Why a wrapper: Linux keeps a process's ru_maxrss across fork+exec, so a child
of a big process (pytest, a benchmark driver) reports at least its parent's
size. This bare interpreter forks the command while it is still tiny, which
keeps that inherited floor (~10 MB) below any Python command's own peak.
The exit status is the command's.
"""

import os
import sys
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def tree_rss_kib(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total


def main() -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    tree = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        tree = max(tree, tree_rss_kib(pid))
        time.sleep(0.01)
    print(f"peak_rss_kib={usage.ru_maxrss}", file=sys.stderr)
    print(f"peak_tree_kib={max(tree, usage.ru_maxrss)}", file=sys.stderr)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
