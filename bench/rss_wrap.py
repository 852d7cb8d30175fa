"""Run a command as the child of this small process and write its wall time and own peak RSS as JSON.

Why a wrapper: Linux keeps ru_maxrss across fork+exec, so a child forked straight from the (large) harness
reports the harness's RSS. Forked from this ~10 MB process, the figure is the command's own.
    python -m bench.rss_wrap OUT.json cat file
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time


def main() -> None:
    out, cmd = sys.argv[1], sys.argv[2:]
    exe = shutil.which(cmd[0]) or cmd[0]
    t0 = time.perf_counter()
    pid = os.posix_spawn(exe, cmd, os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(out, "w") as f:
        rc = os.waitstatus_to_exitcode(status)
        json.dump({"wall_s": wall, "rc": rc, "peak_rss_mb": ru.ru_maxrss / 1024}, f)


if __name__ == "__main__":
    main()
