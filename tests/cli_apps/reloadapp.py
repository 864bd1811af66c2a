"""Edited by the reload tests (on a copy): VERSION is what ``/`` answers."""

from __future__ import annotations

import os

from trinado.web import Application, RequestHandler

VERSION = "v1"


class Version(RequestHandler):
    async def get(self) -> None:
        self.write(f"{VERSION} {os.getpid()}")


class Page(RequestHandler):
    async def get(self) -> None:
        self.render("page.html")


app = Application(
    [(r"/", Version), (r"/page", Page)],
    template_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
)
