"""Tornado's own hello world, the baseline of the HTTP benchmark.

This is the application from Tornado's documentation (a ``tornado.web.Application`` with one
``RequestHandler`` that writes ``Hello, world``) on the asyncio event loop, with the port and
host taken from the command line so the benchmark can choose them.

With ``--workers N`` it runs the way Tornado's documentation shows for several processes:
bind the sockets, ``tornado.process.fork_processes(N)``, then serve the inherited sockets
on a new event loop in each child.

Run: ``python bench/peers/tornado_hello.py --port 8888 [--workers 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import tornado.httpserver
import tornado.netutil
import tornado.process
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


async def serve_sockets(sockets: list[socket.socket]) -> None:
    """Serve the application on sockets bound before the fork, until stopped.

    Args:
        sockets: The listening sockets from ``tornado.netutil.bind_sockets``.
    """
    server = tornado.httpserver.HTTPServer(make_app())
    server.add_sockets(sockets)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1, help="processes (fork_processes)")
    args = parser.parse_args()
    if args.workers > 1:
        bound = tornado.netutil.bind_sockets(args.port, args.host)
        tornado.process.fork_processes(args.workers)
        asyncio.run(serve_sockets(bound))
    else:
        asyncio.run(main(args.port, args.host))
