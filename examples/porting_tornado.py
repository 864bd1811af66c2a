"""BEFORE: a small Tornado application, as docs/migrating.md starts from.

examples/porting_trinado.py is the same application ported to trinado; the tests run both
and check that they answer alike. Run this one with ``python examples/porting_tornado.py``
(it needs Tornado installed).
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.locks
import tornado.web
import tornado.wsgi


class MessageBoard:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.changed = tornado.locks.Condition()

    def post(self, text: str) -> None:
        self.messages.append(text)
        self.changed.notify_all()


class WaitHandler(tornado.web.RequestHandler):
    def initialize(self, board: MessageBoard, poll_timeout: float) -> None:
        self.board = board
        self.poll_timeout = poll_timeout

    async def get(self) -> None:
        cursor = int(self.get_argument("cursor", "0"))
        if len(self.board.messages) <= cursor:
            self.wait_future = self.board.changed.wait(
                timeout=datetime.timedelta(seconds=self.poll_timeout)
            )
            try:
                await self.wait_future
            except asyncio.CancelledError:
                return  # the client left: on_connection_close cancelled the wait
            if self.request.connection.stream.closed():
                return
        self.write({"messages": self.board.messages[cursor:]})

    def on_connection_close(self) -> None:
        self.wait_future.cancel()  # otherwise get() keeps waiting for nobody


class PostHandler(tornado.web.RequestHandler):
    def initialize(self, board: MessageBoard) -> None:
        self.board = board

    def post(self) -> None:
        self.board.post(self.get_argument("text"))


class CountHandler(tornado.web.RequestHandler):
    async def get(self) -> None:
        for i in range(1, int(self.get_argument("n", "3")) + 1):
            self.write(f"{i}\n")
            self.flush()  # starts sending at once, even without await
            await asyncio.sleep(0.01)


class ReportHandler(tornado.web.RequestHandler):
    def initialize(self, audit: list[str]) -> None:
        self.audit = audit

    async def post(self) -> None:
        self.finish({"saved": True})  # the client has its answer now...
        await asyncio.sleep(0.01)  # ...while this slow bookkeeping goes on
        self.audit.append(self.get_argument("what"))

    def get(self) -> None:
        self.write({"audit": self.audit})


class JobsHandler(tornado.web.RequestHandler):
    def initialize(self, done: list[str]) -> None:
        self.done = done

    def post(self) -> None:
        name = self.get_argument("name")
        tornado.ioloop.IOLoop.current().spawn_callback(self.run_job, name)
        self.set_status(202)

    async def run_job(self, name: str) -> None:
        await asyncio.sleep(0.01)
        self.done.append(name)

    def get(self) -> None:
        self.write({"done": self.done})


def legacy_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"legacy " + environ["PATH_INFO"].encode()]


def make_app(poll_timeout: float = 30.0) -> tornado.web.Application:
    board = MessageBoard()
    return tornado.web.Application(
        [
            (r"/wait", WaitHandler, {"board": board, "poll_timeout": poll_timeout}),
            (r"/post", PostHandler, {"board": board}),
            (r"/count", CountHandler),
            (r"/report", ReportHandler, {"audit": []}),
            (r"/jobs", JobsHandler, {"done": []}),
            (
                r"/legacy/.*",
                tornado.web.FallbackHandler,
                {"fallback": tornado.wsgi.WSGIContainer(legacy_app)},
            ),
        ]
    )


async def main() -> None:
    server = tornado.httpserver.HTTPServer(
        make_app(), xheaders=True, max_body_size=10 * 1024 * 1024, idle_connection_timeout=60
    )
    server.listen(8888)
    await asyncio.Event().wait()  # serve forever


if __name__ == "__main__":
    asyncio.run(main())
