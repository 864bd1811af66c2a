"""Serving one application from several processes, from your own script.

``python -m trinado examples.workers:make_app --workers 4`` does the same from the command
line; a script of your own is for options that have no flag (limits, timeouts,
``trusted_downstream``...). Each answer names the process that served it.

Run: ``python examples/workers.py --workers 2 --port 8888``; Ctrl-C or SIGTERM stops every
worker gracefully.
"""

from __future__ import annotations

import argparse
import os
import sys

from trinado.process import run_workers
from trinado.web import Application, RequestHandler


class MainHandler(RequestHandler):
    def get(self) -> None:
        self.write({"pid": os.getpid()})


def make_app() -> Application:
    return Application([(r"/", MainHandler)])


def announce(port: int) -> None:
    print(f"serving on http://127.0.0.1:{port}/", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8888)
    args = parser.parse_args()
    return run_workers(
        make_app,
        args.workers,
        port=args.port,
        host="127.0.0.1",
        max_body_size=1024 * 1024,  # no flag for this one
        shutdown_timeout=20,
        on_ready=announce,
    )


if __name__ == "__main__":
    sys.exit(main())
