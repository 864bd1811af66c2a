"""WebSocketHandler against an independent peer: the ``websockets`` package's sync client.

Each test serves an Application on a loopback port and runs a ``websockets`` client in a
worker thread (``trio.to_thread.run_sync``), so the server is checked against another
implementation of RFC 6455 and RFC 7692, not against itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import pytest
import trio
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response
from websockets.sync.client import ClientConnection, connect

from trinado import web
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server
from trinado.websocket import WebSocketClosedError, WebSocketHandler

GUARD = 20  # seconds before a stuck test fails instead of hanging

T = TypeVar("T")


class Recorder:
    """What the handlers of one test saw."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.closed = trio.Event()
        self.handlers: list[WebSocketHandler] = []


class EchoHandler(WebSocketHandler):
    """Echoes messages; commands (text starting with '!') exercise the server side."""

    def initialize(self, rec: Recorder, compression: dict[str, Any] | None = None) -> None:
        self.rec = rec
        self.compression = compression

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.compression

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        self.rec.events.append(("subprotocols", subprotocols))
        return subprotocols[-1] if subprotocols else None

    async def open(self, *args: Any) -> None:
        self.set_nodelay(True)
        self.rec.handlers.append(self)
        self.rec.events.append(("open", args, self.selected_subprotocol))

    async def on_message(self, message: str | bytes) -> None:
        self.rec.events.append(("message", message))
        if message == "!close":
            self.close(4000, "server says bye")
        elif message == "!ping":
            await self.ping(b"server-ping")
        elif message == "!json":
            await self.write_message({"a": [1, 2]})
        elif message == "!fail":
            raise RuntimeError("boom")
        else:
            await self.write_message(message, binary=isinstance(message, bytes))

    def on_ping(self, data: bytes) -> None:
        self.rec.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.rec.events.append(("pong", data))

    def on_close(self) -> None:
        self.rec.events.append(("close", self.close_code, self.close_reason))
        self.rec.closed.set()


@asynccontextmanager
async def serving(
    rec: Recorder, compression: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[tuple[HTTPServer, str]]:
    app = web.Application(
        [(r"/ws/?(.*)", EchoHandler, {"rec": rec, "compression": compression})], **settings
    )
    async with open_test_server(app) as server:
        yield server, f"ws://127.0.0.1:{server.port}/ws"


async def in_thread(fn: Callable[[], T]) -> T:
    with trio.fail_after(GUARD):
        return await trio.to_thread.run_sync(fn)


def ws_connect(url: str, **kwargs: Any) -> ClientConnection:
    kwargs.setdefault("compression", None)
    kwargs.setdefault("open_timeout", GUARD)
    conn: ClientConnection = connect(url, **kwargs)
    return conn


def response(ws: ClientConnection) -> Response:
    assert ws.response is not None
    return ws.response


async def closed(rec: Recorder, server: HTTPServer) -> None:
    with trio.fail_after(GUARD):
        await rec.closed.wait()
        while server.connection_count:  # noqa: ASYNC110 (there is no event to wait on)
            await trio.sleep(0.01)


# ------------------------------------------------------------------------------- messages


@pytest.mark.parametrize("compression", [None, {}])
async def test_messages_of_every_kind_echo_back(compression: dict[str, Any] | None) -> None:
    rec = Recorder()
    messages: list[str | bytes] = [
        "hello",
        "",
        b"",
        b"\x00\xff binary",
        "unicode: é ü ✓ 😀 中文",
        "x" * 200_000,
        bytes(range(256)) * 1000,
    ]

    def client(url: str) -> tuple[list[str | bytes], str | None]:
        with ws_connect(url, compression="deflate") as ws:
            got = []
            for message in messages:
                ws.send(message)
                got.append(ws.recv())
            return got, response(ws).headers.get("Sec-WebSocket-Extensions")

    async with serving(rec, compression) as (server, url):
        got, extensions = await in_thread(lambda: client(url))
        await closed(rec, server)
    assert got == messages
    assert [type(m) for m in got] == [type(m) for m in messages]
    if compression is None:
        assert extensions is None
    else:
        assert extensions is not None
        assert extensions.startswith("permessage-deflate")
    assert ("close", 1000, None) in rec.events


async def test_fragmented_messages_are_joined() -> None:
    rec = Recorder()

    def client(url: str) -> list[str | bytes]:
        with ws_connect(url) as ws:
            ws.send(["frag", "mented ", "text ✓"])
            ws.send([b"\x01", b"", b"\x02\x03"])
            return [ws.recv(), ws.recv()]

    async with serving(rec) as (server, url):
        got = await in_thread(lambda: client(url))
        await closed(rec, server)
    assert got == ["fragmented text ✓", b"\x01\x02\x03"]
    assert ("message", "fragmented text ✓") in rec.events


async def test_dict_is_sent_as_json_and_path_args_reach_open() -> None:
    rec = Recorder()

    def client(url: str) -> str | bytes:
        with ws_connect(url + "/room42") as ws:
            ws.send("!json")
            return ws.recv()

    async with serving(rec) as (server, url):
        got = await in_thread(lambda: client(url))
        await closed(rec, server)
    assert got == '{"a": [1, 2]}'
    assert ("open", ("room42",), None) in rec.events


@pytest.mark.parametrize(
    "options",
    [
        {"compression_level": 9, "mem_level": 5},
        {"server_max_window_bits": 10},
        {"server_no_context_takeover": True, "client_no_context_takeover": True},
    ],
)
async def test_compression_options_are_negotiated(options: dict[str, Any]) -> None:
    rec = Recorder()
    text = "compressible " * 5000

    def client(url: str) -> tuple[str | bytes, str | bytes, str]:
        with ws_connect(url, compression="deflate") as ws:
            ws.send(text)
            first = ws.recv()
            ws.send(text)
            return first, ws.recv(), response(ws).headers["Sec-WebSocket-Extensions"]

    async with serving(rec, options) as (server, url):
        first, second, extensions = await in_thread(lambda: client(url))
        await closed(rec, server)
    assert first == second == text
    if "server_max_window_bits" in options:
        assert "server_max_window_bits=10" in extensions
    if options.get("server_no_context_takeover"):
        assert "server_no_context_takeover" in extensions
        assert "client_no_context_takeover" in extensions


# -------------------------------------------------------------------- ping, pong, closing


async def test_pings_are_answered_and_server_pings_reach_on_pong() -> None:
    rec = Recorder()

    def client(url: str) -> bool:
        with ws_connect(url) as ws:
            pong = ws.ping(b"client-ping")
            answered = pong.wait(GUARD)
            ws.send("!ping")  # the server pings; the client answers by itself
            ws.send("sync")
            ws.recv()
            return answered

    async with serving(rec) as (server, url):
        assert await in_thread(lambda: client(url))
        await closed(rec, server)
    assert ("ping", b"client-ping") in rec.events
    assert ("pong", b"server-ping") in rec.events


async def test_server_close_code_and_reason_reach_the_client() -> None:
    rec = Recorder()

    def client(url: str) -> tuple[int | None, str | None]:
        with ws_connect(url) as ws:
            ws.send("!close")
            with pytest.raises(ConnectionClosed) as info:
                ws.recv()
            rcvd = info.value.rcvd
            return (None, None) if rcvd is None else (rcvd.code, rcvd.reason)

    async with serving(rec) as (server, url):
        assert await in_thread(lambda: client(url)) == (4000, "server says bye")
        await closed(rec, server)
    # The client echoed the code: that is what the handler sees as the peer's.
    assert rec.events[-1] == ("close", 4000, "server says bye")


async def test_client_close_code_and_reason_reach_the_handler() -> None:
    rec = Recorder()

    def client(url: str) -> None:
        with ws_connect(url) as ws:
            ws.send("hello")
            ws.recv()
            ws.close(4321, "client leaving ✓")

    async with serving(rec) as (server, url):
        await in_thread(lambda: client(url))
        await closed(rec, server)
    assert rec.events[-1] == ("close", 4321, "client leaving ✓")


async def test_error_in_on_message_closes_with_1011() -> None:
    rec = Recorder()

    def client(url: str) -> int | None:
        with ws_connect(url) as ws:
            ws.send("!fail")
            try:
                ws.recv()
            except ConnectionClosed as exc:
                return None if exc.rcvd is None else exc.rcvd.code
            raise AssertionError("not closed")

    async with serving(rec) as (server, url):
        assert await in_thread(lambda: client(url)) == 1011
        await closed(rec, server)


async def test_write_after_close_raises() -> None:
    rec = Recorder()

    def client(url: str) -> None:
        with ws_connect(url) as ws:
            ws.send("hello")
            ws.recv()

    async with serving(rec) as (server, url):
        await in_thread(lambda: client(url))
        await closed(rec, server)
    handler = rec.handlers[0]
    assert handler.ws_connection is None
    with pytest.raises(WebSocketClosedError):
        await handler.write_message("late")
    with pytest.raises(WebSocketClosedError):
        await handler.ping()


# ----------------------------------------------------------------------------- handshake


async def test_subprotocol_is_selected() -> None:
    rec = Recorder()

    def client(url: str) -> str | None:
        with ws_connect(url, subprotocols=["chat.v1", "chat.v2"]) as ws:
            return ws.subprotocol

    async with serving(rec) as (server, url):
        assert await in_thread(lambda: client(url)) == "chat.v2"
        await closed(rec, server)
    assert ("subprotocols", ["chat.v1", "chat.v2"]) in rec.events
    assert ("open", ("",), "chat.v2") in rec.events


@pytest.mark.parametrize(
    ("origin", "trusted", "status"),
    [
        ("http://evil.example", [], 403),
        ("http://good.example", ["http://good.example"], 101),
        (None, [], 101),
    ],
)
async def test_origin_check(origin: str | None, trusted: list[str], status: int) -> None:
    rec = Recorder()

    def client(url: str) -> int:
        try:
            with ws_connect(url, origin=origin) as ws:
                return response(ws).status_code
        except InvalidStatus as exc:
            return exc.response.status_code

    async with serving(rec, trusted_origins=trusted) as (server, url):
        assert await in_thread(lambda: client(url)) == status
        if status == 101:
            await closed(rec, server)
    if status == 403:
        assert not rec.handlers


async def test_same_host_origin_is_accepted() -> None:
    rec = Recorder()
    async with serving(rec) as (server, url):
        origin = f"http://127.0.0.1:{server.port}"

        def client() -> int:
            with ws_connect(url, origin=origin) as ws:
                return response(ws).status_code

        assert await in_thread(client) == 101
        await closed(rec, server)


# ------------------------------------------------------------------------------ limits


@pytest.mark.parametrize("compression", [None, {}])
async def test_oversize_message_closes_with_1009(compression: dict[str, Any] | None) -> None:
    rec = Recorder()
    # Zeros compress about a thousand times: with compression, the frame is small and only
    # the inflated size is over the limit.
    big = b"\x00" * 300_000

    def client(url: str) -> tuple[int | None, bytes | str]:
        with ws_connect(url, compression="deflate" if compression is not None else None) as ws:
            ws.send(b"\x00" * 100_000)
            small = ws.recv()
            ws.send(big)
            try:
                ws.recv()
            except ConnectionClosed as exc:
                return (None if exc.rcvd is None else exc.rcvd.code), small
            raise AssertionError("not closed")

    async with serving(rec, compression, websocket_max_message_size=200_000) as (server, url):
        code, small = await in_thread(lambda: client(url))
        await closed(rec, server)
    assert code == 1009
    assert small == b"\x00" * 100_000
    assert ("message", big) not in rec.events


# ---------------------------------------------------------------------------- shutdown


async def test_shutdown_closes_open_websockets_with_1001() -> None:
    rec = Recorder()
    app = web.Application([(r"/ws/?(.*)", EchoHandler, {"rec": rec})])
    codes: list[int | None] = []

    def client(url: str, ready: trio.Event, token: trio.lowlevel.TrioToken) -> None:
        with ws_connect(url) as ws:
            ws.send("hello")
            ws.recv()
            trio.from_thread.run_sync(ready.set, trio_token=token)
            try:
                ws.recv(timeout=GUARD)
            except ConnectionClosed as exc:
                codes.append(None if exc.rcvd is None else exc.rcvd.code)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            server: HTTPServer = await nursery.start(app.serve, 0, "127.0.0.1")
            url = f"ws://127.0.0.1:{server.port}/ws"
            token = trio.lowlevel.current_trio_token()
            readies = [trio.Event(), trio.Event()]
            async with trio.open_nursery() as clients:
                for ready in readies:
                    clients.start_soon(in_thread, partial(client, url, ready, token))
                for ready in readies:
                    await ready.wait()
                server.shutdown()
            # (the server nursery ends only once serve() has returned)
    assert codes == [1001, 1001]
    # (websockets echoes the reason too)
    closes = [e for e in rec.events if e[0] == "close"]
    assert closes == [("close", 1001, "server shutting down")] * 2
