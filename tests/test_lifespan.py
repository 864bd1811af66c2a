"""Application.serve's nursery tree: the lifespan context, app.nursery, given listeners."""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio

from tests.example_loader import load_example
from trinado import web
from trinado.httpserver import HTTPServer, open_tcp_listeners


class Background(web.RequestHandler):
    async def post(self) -> None:
        events: list[str] = self.settings["events"]

        async def later() -> None:
            try:
                await trio.sleep_forever()
            finally:
                events.append("background cancelled")

        self.application.nursery.start_soon(later)
        self.write("started")


class Resource(web.RequestHandler):
    async def get(self) -> None:
        self.write(self.settings["resource"]["state"])


def make_app(events: list[str]) -> web.Application:
    @asynccontextmanager
    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        app.settings["resource"] = {"state": "open"}
        events.append("lifespan entered")
        try:
            yield
        finally:
            app.settings["resource"]["state"] = "closed"
            events.append("lifespan exited")

    return web.Application(
        [(r"/bg", Background), (r"/resource", Resource)], lifespan=lifespan, events=events
    )


async def test_lifespan_wraps_serving_and_background_tasks_stop_before_it_exits() -> None:
    events: list[str] = []
    app = make_app(events)
    async with trio.open_nursery() as nursery:
        server: HTTPServer = await nursery.start(app.serve, 0, "127.0.0.1")
        assert events == ["lifespan entered"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/resource")).text == "open"
            assert (await client.post("/bg", content=b"")).text == "started"
        await trio.sleep(0.01)
        assert events == ["lifespan entered"]  # the background task outlived its request
        server.shutdown()
    assert events == ["lifespan entered", "background cancelled", "lifespan exited"]
    with pytest.raises(RuntimeError, match=r"only while app\.serve"):
        app.nursery  # noqa: B018


async def test_a_failing_lifespan_fails_serve_before_it_listens() -> None:
    @asynccontextmanager
    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        raise ConnectionError("database unreachable")
        yield

    app = web.Application([], lifespan=lifespan)
    with trio.fail_after(5), pytest.raises(ConnectionError, match="database unreachable"):
        await app.serve(0, "127.0.0.1")


async def test_a_port_in_use_is_a_plain_oserror() -> None:
    listeners = await open_tcp_listeners(0, "127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    app = web.Application([])
    with trio.fail_after(5), pytest.raises(OSError, match=f"Port {port} .* already in use"):
        await app.serve(port, "127.0.0.1")
    await listeners[0].aclose()


async def test_serves_on_listeners_it_is_given() -> None:
    listeners = await open_tcp_listeners(0, "127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    class Hello(web.RequestHandler):
        def get(self) -> None:
            self.write("hello")

    app = web.Application([(r"/", Hello)])
    async with trio.open_nursery() as nursery:
        serve = functools.partial(app.serve, 0, "127.0.0.1", listeners=listeners)
        server: HTTPServer = await nursery.start(serve)
        assert server.port == port
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).text == "hello"
        server.shutdown()
    # serve() closes the listeners it was given when it stops.
    assert listeners[0].socket.fileno() == -1


async def test_listeners_and_unix_socket_are_exclusive(tmp_path: Any) -> None:
    listeners = await open_tcp_listeners(0, "127.0.0.1")
    app = web.Application([])
    with pytest.raises(ValueError, match="one of listeners, sockets and unix_socket"):
        await app.serve(listeners=listeners, unix_socket=str(tmp_path / "s"))
    await listeners[0].aclose()


async def test_the_lifespan_example_mails_after_answering_and_stops_cleanly() -> None:
    app = load_example("lifespan").make_app()
    async with trio.open_nursery() as nursery:
        server: HTTPServer = await nursery.start(app.serve, 0, "127.0.0.1")
        mailer = app.settings["mailer"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            for name in ("ada", "grace", "edsger"):
                response = await client.post("/signup", data={"name": name})
                assert response.status_code == 202
                assert response.json() == {"welcome": name}
        with trio.fail_after(5):
            while len(mailer.sent) < 3:  # noqa: ASYNC110 (the mailer has no event to wait on)
                await trio.sleep(0.01)
        assert mailer.sent == ["ada@example.com", "grace@example.com", "edsger@example.com"]
        assert app.settings["signups"] == ["ada", "grace", "edsger"]
        server.shutdown()
    # Serving stopped: the mailer's task is gone with the lifespan's nursery.
    with pytest.raises(trio.BrokenResourceError):
        await mailer.enqueue("late@example.com")


async def test_bound_sockets_listen_only_once_the_lifespan_has_started() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    refused: list[bool] = []

    @asynccontextmanager
    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        # The socket is bound but not listening yet: a client is refused, not queued.
        with pytest.raises(OSError, match=r"[Cc]onnect"):
            await trio.open_tcp_stream("127.0.0.1", port)
        refused.append(True)
        yield

    class Hello(web.RequestHandler):
        def get(self) -> None:
            self.write("hello")

    app = web.Application([(r"/", Hello)], lifespan=lifespan)
    async with trio.open_nursery() as nursery:
        serve = functools.partial(app.serve, sockets=[sock])
        server: HTTPServer = await nursery.start(serve)
        assert refused == [True]
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).text == "hello"
        server.shutdown()
