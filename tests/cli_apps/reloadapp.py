"""Edited by the reload tests (on a copy): VERSION is what ``/`` answers.

With HANG_AT_START set, the application's lifespan never finishes starting (a version that
hangs at startup); ``/block?s=N`` blocks the whole process (a version that cannot stop).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator

import trio

from trinado.web import Application, RequestHandler

VERSION = "v1"
HANG_AT_START = False


class Version(RequestHandler):
    async def get(self) -> None:
        self.write(f"{VERSION} {os.getpid()}")


class Page(RequestHandler):
    async def get(self) -> None:
        self.render("page.html")


class Block(RequestHandler):
    def get(self) -> None:
        print(f"blocking in {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(float(self.get_argument("s")))
        self.write(str(os.getpid()))


@contextlib.asynccontextmanager
async def lifespan(app: Application) -> AsyncIterator[None]:
    if HANG_AT_START:
        os.write(2, f"hanging at start in {os.getpid()}\n".encode())
        await trio.sleep_forever()
    yield


app = Application(
    [(r"/", Version), (r"/page", Page), (r"/block", Block)],
    template_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
    lifespan=lifespan,
)
