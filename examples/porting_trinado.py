"""AFTER: examples/porting_tornado.py ported to trinado, as docs/migrating.md describes.

The tests run both applications and check that they answer alike. Run this one with
``python examples/porting_trinado.py``.
"""

from __future__ import annotations

import trio

from trinado import web


class MessageBoard:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.changed = trio.Event()

    def post(self, text: str) -> None:
        self.messages.append(text)
        self.changed.set()
        self.changed = trio.Event()


class WaitHandler(web.RequestHandler):
    def initialize(self, board: MessageBoard, poll_timeout: float) -> None:
        self.board = board
        self.poll_timeout = poll_timeout

    async def get(self) -> None:
        cursor = int(self.get_argument("cursor", "0"))
        if len(self.board.messages) <= cursor:
            with trio.move_on_after(self.poll_timeout):
                await self.board.changed.wait()  # cancelled if the client leaves
        self.write({"messages": self.board.messages[cursor:]})


class PostHandler(web.RequestHandler):
    def initialize(self, board: MessageBoard) -> None:
        self.board = board

    def post(self) -> None:
        self.board.post(self.get_argument("text"))


class CountHandler(web.RequestHandler):
    async def get(self) -> None:
        for i in range(1, int(self.get_argument("n", "3")) + 1):
            self.write(f"{i}\n")
            await self.flush()  # a coroutine: without await nothing is sent
            await trio.sleep(0.01)


class ReportHandler(web.RequestHandler):
    def initialize(self, audit: list[str]) -> None:
        self.audit = audit

    async def post(self) -> None:
        await self.finish({"saved": True})  # awaited: the client has its answer now...
        await trio.sleep(0.01)  # ...while this slow bookkeeping goes on
        self.audit.append(self.get_argument("what"))

    def get(self) -> None:
        self.write({"audit": self.audit})


class JobsHandler(web.RequestHandler):
    def initialize(self, done: list[str], nursery: trio.Nursery) -> None:
        self.done = done
        self.nursery = nursery

    def post(self) -> None:
        name = self.get_argument("name")
        self.nursery.start_soon(self.run_job, name)
        self.set_status(202)

    async def run_job(self, name: str) -> None:
        await trio.sleep(0.01)
        self.done.append(name)

    def get(self) -> None:
        self.write({"done": self.done})


class LegacyHandler(web.RequestHandler):
    def get(self, path: str) -> None:
        self.set_header("Content-Type", "text/plain")
        self.write(f"legacy /legacy/{path}")


legacy_app = web.Application([(r"/legacy/(.*)", LegacyHandler)])  # was a WSGI app


def make_app(nursery: trio.Nursery, poll_timeout: float = 30.0) -> web.Application:
    board = MessageBoard()
    return web.Application(
        [
            (r"/wait", WaitHandler, {"board": board, "poll_timeout": poll_timeout}),
            (r"/post", PostHandler, {"board": board}),
            (r"/count", CountHandler),
            (r"/report", ReportHandler, {"audit": []}),
            (r"/jobs", JobsHandler, {"done": [], "nursery": nursery}),
            (r"/legacy/.*", web.FallbackHandler, {"fallback": legacy_app}),
        ]
    )


async def serve() -> None:
    async with trio.open_nursery() as nursery:  # owns the background jobs
        app = make_app(nursery)
        await app.serve(
            8888,
            xheaders=True,
            max_body_size=10 * 1024 * 1024,
            idle_connection_timeout=60,
            handle_signals=True,  # Ctrl-C: graceful shutdown, then app.serve returns
        )
        nursery.cancel_scope.cancel()  # stop the jobs still running


def main() -> None:
    trio.run(serve)


if __name__ == "__main__":
    main()
