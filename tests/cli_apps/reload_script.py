"""The ``--reload`` supervisor with short deadlines, so that tests need not wait 30 seconds.

Usage: python reload_script.py START_TIMEOUT STOP_MARGIN OVERLAP(0|1) ARGS...

ARGS are those of ``python -m trinado`` (``--shutdown-timeout`` is read from them).
"""

from __future__ import annotations

import sys

from trinado._cli import build_parser
from trinado._reloader import Supervisor
from trinado.log import enable_pretty_logging

if __name__ == "__main__":
    enable_pretty_logging()
    start_timeout, stop_margin, overlap = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    argv = sys.argv[4:]
    supervisor = Supervisor(
        argv,
        shutdown_timeout=build_parser().parse_args(argv).shutdown_timeout,
        overlap=overlap == "1",
        pin_port=True,
        start_timeout=start_timeout,
        stop_margin=stop_margin,
    )
    sys.exit(supervisor.run())
