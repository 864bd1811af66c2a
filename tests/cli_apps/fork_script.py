"""Children from fork_processes(2) that fail in chosen ways.

Usage: python fork_script.py MARKER once|always MAX_RESTARTS

* once: child 0 exits with status 3 the first time (it leaves MARKER), then both succeed.
* always: child 1 exits with status 1 every time; child 0 succeeds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from trinado.log import enable_pretty_logging
from trinado.process import fork_processes, task_id

if __name__ == "__main__":
    enable_pretty_logging()
    marker, mode, max_restarts = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    child = fork_processes(2, max_restarts=max_restarts)
    if task_id() != child:
        os._exit(10)
    if mode == "once" and child == 0 and not marker.exists():
        marker.write_text("failed once")
        os._exit(3)
    if mode == "always" and child == 1:
        os._exit(1)
    print(f"child {child} done in {os.getpid()}", flush=True)
    sys.exit(0)
