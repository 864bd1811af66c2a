"""Serve a directory with Tornado's StaticFileHandler, the baseline of ``bench/static_files.py``.

The application is the one Tornado's ``static_path`` setting builds: ``/static/<file>`` served
from ``--root``, nothing else, on the asyncio event loop.

Run: ``python bench/peers/tornado_static.py --port 8888 --root /some/dir``
"""

from __future__ import annotations

import argparse
import asyncio

import tornado.web


async def main(port: int, host: str, root: str) -> None:
    """Listen on ``host:port`` and serve ``root`` under ``/static/`` until stopped.

    Args:
        port: TCP port to listen on.
        host: Address to bind.
        root: The directory to serve.
    """
    app = tornado.web.Application(static_path=root)
    app.listen(port, host)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--root", required=True, help="the directory to serve")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.host, args.root))
