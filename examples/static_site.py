"""Static files: versioned URLs, a directory with an index page, downloads, gzip.

Run it with ``python examples/static_site.py`` and try::

    curl -i localhost:8888/                                 # links /static/site.css?v=...
    curl -i 'localhost:8888/static/site.css?v=x'            # cached for ten years
    curl -i localhost:8888/static/guide                     # 301 to /static/guide/
    curl -i -H 'Range: bytes=0-41' localhost:8888/downloads/notes.txt
    curl -i --compressed localhost:8888/downloads/notes.txt # gzip

docs/static.md explains it.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import trio

from trinado import web

HERE = Path(__file__).resolve().parent / "static_site"

PAGE = """<!doctype html>
<html>
<head><title>trinado static files</title>
<link rel="stylesheet" href="{css}"></head>
<body><h1>Static files</h1>
<p>The stylesheet's URL carries its version: <code>{css}</code>.</p>
<p>See the <a href="/static/guide/">guide</a> or download the
<a href="/downloads/notes.txt">release notes</a>.</p></body>
</html>
"""


class PageHandler(web.RequestHandler):
    def get(self) -> None:
        # static_url adds ?v=<hash of the file>: browsers may cache it for ten years,
        # and a changed file gets a new URL.
        self.write(PAGE.format(css=self.static_url("site.css")))


class DownloadHandler(web.StaticFileHandler):
    """Serves files as attachments, cacheable for an hour."""

    def set_extra_headers(self, path: str) -> None:
        name = os.path.basename(path)
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')

    def get_cache_time(self, path: str, modified: datetime.datetime | None, mime_type: str) -> int:
        return 3600


def make_app(root: Path = HERE) -> web.Application:
    return web.Application(
        [
            (r"/", PageHandler),
            (r"/downloads/(.*)", DownloadHandler, {"path": str(root / "downloads")}),
        ],
        # /static/..., /favicon.ico and /robots.txt are served from here.
        static_path=str(root / "static"),
        static_handler_args={"default_filename": "index.html"},
        compress_response=True,
    )


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
