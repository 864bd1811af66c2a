"""Serve a directory with trinado's StaticFileHandler, for ``bench/static_files.py``.

The application is the one the ``static_path`` setting builds: ``/static/<file>`` served from
``--root``, nothing else.

Run: ``python bench/peers/trinado_static.py --port 8888 --root /some/dir``
"""

from __future__ import annotations

import argparse
import functools

import trio

from trinado.web import Application

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--root", required=True, help="the directory to serve")
    args = parser.parse_args()
    app = Application(static_path=args.root)
    trio.run(functools.partial(app.serve, args.port, args.host))
