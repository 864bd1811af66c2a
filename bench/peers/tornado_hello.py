"""Tornado's own hello world, the baseline of the HTTP benchmark.

This is the application from Tornado's documentation (a ``tornado.web.Application`` with one
``RequestHandler`` that writes ``Hello, world``) on the asyncio event loop, with the port and
host taken from the command line so the benchmark can choose them.

Run: ``python bench/peers/tornado_hello.py --port 8888``
"""

from __future__ import annotations

import argparse
import asyncio

import tornado.web


class MainHandler(tornado.web.RequestHandler):
    """Answers every GET with ``Hello, world``."""

    def get(self) -> None:
        """Write the greeting; Tornado finishes the response itself."""
        self.write("Hello, world")


def make_app() -> tornado.web.Application:
    """Build the one-route application.

    Returns:
        The Tornado application serving ``/``.
    """
    return tornado.web.Application([(r"/", MainHandler)])


async def main(port: int, host: str) -> None:
    """Listen on ``host:port`` and serve until the process is stopped.

    Args:
        port: TCP port to listen on.
        host: Address to bind.
    """
    app = make_app()
    app.listen(port, host)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.host))
