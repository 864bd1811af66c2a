"""Work that lives as long as the server: the ``lifespan`` setting and ``app.nursery``.

A sign-up answers at once; the welcome mail goes out later, from a mailer that the
application's lifespan starts before the server listens and stops after it has drained.
Each sign-up also starts a short background task in ``app.nursery``. docs/server.md walks
through this file.

Run: ``python examples/lifespan.py``, then ``curl -d name=ada localhost:8888/signup``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from trinado import web


class Mailer:
    """Sends mail one at a time from a bounded queue (here: records it in ``sent``)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._send, self._receive = trio.open_memory_channel[str](100)

    async def enqueue(self, address: str) -> None:
        # Waits when 100 mails are queued: back-pressure instead of unbounded memory.
        await self._send.send(address)

    async def run(self) -> None:
        async with self._receive:  # once it stops, enqueue() raises BrokenResourceError
            async for address in self._receive:
                await trio.sleep(0.01)  # talking to the mail server
                self.sent.append(address)


@asynccontextmanager
async def lifespan(app: web.Application) -> AsyncIterator[None]:
    mailer = Mailer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailer.run)
        app.settings["mailer"] = mailer
        yield  # the application serves here
        nursery.cancel_scope.cancel()


class SignupHandler(web.RequestHandler):
    async def post(self) -> None:
        name = self.get_argument("name")
        await self.settings["mailer"].enqueue(f"{name}@example.com")
        self.application.nursery.start_soon(self.count_signup)
        self.set_status(202)
        self.write({"welcome": name})

    async def count_signup(self) -> None:
        # Runs after the response has gone; cancelled if the server stops first.
        self.settings["signups"].append(self.get_argument("name"))


def make_app() -> web.Application:
    return web.Application([(r"/signup", SignupHandler)], lifespan=lifespan, signups=[])


if __name__ == "__main__":
    trio.run(make_app().serve)
