"""An application whose lifespan takes 30 seconds to start (says so on stderr first)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import trio

from trinado.web import Application, RequestHandler


class Hello(RequestHandler):
    async def get(self) -> None:
        self.write("hello")


@contextlib.asynccontextmanager
async def lifespan(app: Application) -> AsyncIterator[None]:
    os.write(2, f"starting slowly in {os.getpid()}\n".encode())  # one write: workers share it
    await trio.sleep(30)
    yield


app = Application([(r"/", Hello)], lifespan=lifespan)
