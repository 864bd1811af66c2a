"""Serves basic.make_app from 2 workers through the public run_workers (``reuse`` or not).

Usage: python workers_script.py reuse|inherit|broken

``broken``: one worker whose factory always raises, given up after 2 restarts.
"""

from __future__ import annotations

import os
import sys

from basic import make_app

from trinado.log import enable_pretty_logging
from trinado.process import run_workers
from trinado.web import Application


def announce(port: int) -> None:
    print(
        f"trinado serving script on http://127.0.0.1:{port}/ (2 workers, pid {os.getpid()})",
        file=sys.stderr,
        flush=True,
    )


def make_broken() -> Application:
    raise RuntimeError("broken factory")


if __name__ == "__main__":
    enable_pretty_logging()
    if sys.argv[1] == "broken":
        sys.exit(run_workers(make_broken, 1, port=0, host="127.0.0.1", max_restarts=2))
    reuse = sys.argv[1] == "reuse"
    sys.exit(
        run_workers(
            make_app,
            2,
            port=0,
            host="127.0.0.1",
            reuse_port=reuse,
            shutdown_timeout=5,
            on_ready=announce,
        )
    )
