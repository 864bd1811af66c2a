"""Tornado itself as a peer in tests: an application on its own asyncio loop, in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio


@asynccontextmanager
async def serve_tornado(make_app: Callable[[], Any]) -> AsyncIterator[int]:
    """Serves ``make_app()`` (a ``tornado.web.Application``) with Tornado; yields its port.

    The application is built in the loop's thread, served on 127.0.0.1 on a free port, and
    stopped (its connections closed) when the block exits.
    """
    import tornado.httpserver
    import tornado.testing

    started = trio.Event()
    box: dict[str, Any] = {}

    def run_loop() -> None:
        async def main() -> None:
            sock, port = tornado.testing.bind_unused_port()
            server = tornado.httpserver.HTTPServer(make_app())
            server.add_sockets([sock])
            box.update(port=port, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            trio.from_thread.run_sync(started.set)
            await box["stop"].wait()
            server.stop()
            await server.close_all_connections()

        asyncio.run(main())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, run_loop)
        with trio.fail_after(10):
            await started.wait()
        try:
            yield box["port"]
        finally:
            box["loop"].call_soon_threadsafe(box["stop"].set)
