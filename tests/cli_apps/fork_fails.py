"""``python -m trinado`` in a process where every os.fork() fails (no more processes).

Usage: python fork_fails.py ARGS...
"""

from __future__ import annotations

import errno
import os
import sys

from trinado._cli import main


def failing_fork() -> int:
    raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))


if __name__ == "__main__":
    os.fork = failing_fork
    sys.exit(main(sys.argv[1:]))
