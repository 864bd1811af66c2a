"""trinado's WebSocket client: against trinado's server, and against ``websockets``' server.

Both forms are covered: ``async with websocket_connect(...)`` (reader and pinger tasks in
the block's nursery) and ``conn = await websocket_connect(...)`` (no task: the protocol
runs inside ``read_message``).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trustme
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

from trinado import web
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server
from trinado.websocket import (
    WebSocketClosedError,
    WebSocketHandler,
    WebSocketHandshakeError,
    websocket_connect,
)

GUARD = 20


class Server(WebSocketHandler):
    """Echoes; text commands starting with '!' make the server act."""

    def initialize(self, log: list[Any]) -> None:
        self.log = log

    def get_compression_options(self) -> dict[str, Any] | None:
        return {} if self.get_argument("deflate", None) else None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "v2" if "v2" in subprotocols else None

    def on_ping(self, data: bytes) -> None:
        self.log.append(("ping", data))

    async def on_message(self, message: str | bytes) -> None:
        self.log.append(("message", message))
        if message == "!close":
            self.close(4001, "done here")
        elif message == "!big":
            await self.write_message("y" * 5000)
        elif message == "!many":
            for i in range(3):
                await self.write_message(str(i))
            self.close(1000)
        else:
            await self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        self.log.append(("close", self.close_code, self.close_reason))


class Plain(web.RequestHandler):
    def get(self) -> None:
        self.write("not a websocket")


@asynccontextmanager
async def serving(
    settings: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[tuple[HTTPServer, str, list[Any]]]:
    log: list[Any] = []
    app = web.Application([(r"/ws", Server, {"log": log}), (r"/plain", Plain)], **(settings or {}))
    async with open_test_server(app, **options) as server:
        scheme = "wss" if options.get("ssl_context") else "ws"
        yield server, f"{scheme}://127.0.0.1:{server.port}", log


async def wait_closed(server: HTTPServer, log: list[Any]) -> None:
    with trio.fail_after(GUARD):
        while server.connection_count or not any(e[0] == "close" for e in log):  # noqa: ASYNC110
            await trio.sleep(0.01)


MESSAGES: list[str | bytes] = ["text", "", b"", b"\x00\x01\xfe\xff", "ünïcödé ✓ 😀", "z" * 100_000]


# ------------------------------------------------------------------------------- forms


@pytest.mark.parametrize("deflate", [False, True])
async def test_async_with_form_echoes_every_kind_of_message(deflate: bool) -> None:
    async with serving() as (server, base, log):
        url = f"{base}/ws" + ("?deflate=1" if deflate else "")
        with trio.fail_after(GUARD):
            async with websocket_connect(url, compression_options={} if deflate else None) as conn:
                for message in MESSAGES:
                    await conn.write_message(message, binary=isinstance(message, bytes))
                    assert await conn.read_message() == message
                await conn.write_message({"json": True})
                assert await conn.read_message() == '{"json": true}'
                extensions = conn.headers.get("Sec-WebSocket-Extensions")
            await wait_closed(server, log)
    assert (extensions == "permessage-deflate") is deflate
    assert log[-1] == ("close", 1000, None)  # leaving the block closes with 1000


async def test_await_form_echoes_and_closes_with_a_code() -> None:
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            conn = await websocket_connect(f"{base}/ws")
            for message in MESSAGES:
                await conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            await conn.close(4002, "client done")
            assert conn.close_code == 4002  # the server echoed it
            assert await conn.read_message() is None
            with pytest.raises(WebSocketClosedError):
                await conn.write_message("late")
            await wait_closed(server, log)
    assert log[-1] == ("close", 4002, "client done")


async def test_await_form_close_not_awaited_is_finished_by_read_message() -> None:
    async with serving() as (server, _base, log):
        with trio.fail_after(GUARD):
            conn = await websocket_connect(f"{_base}/ws")
            conn.close(4003)  # Tornado style: not awaited
            assert await conn.read_message() is None
            await wait_closed(server, log)
    assert log[-1] == ("close", 4003, None)


async def test_server_close_code_and_iteration_end() -> None:
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            async with websocket_connect(f"{base}/ws") as conn:
                await conn.write_message("!many")
                got = [message async for message in conn]
                assert got == ["0", "1", "2"]
                assert conn.close_code == 1000
            conn2 = await websocket_connect(f"{base}/ws")
            await conn2.write_message("!close")
            assert [message async for message in conn2] == []
            assert (conn2.close_code, conn2.close_reason) == (4001, "done here")
            await wait_closed(server, log)


async def test_subprotocol_and_extra_headers() -> None:
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            async with websocket_connect(
                f"{base}/ws", subprotocols=["v1", "v2"], headers={"Origin": base}
            ) as conn:
                assert conn.selected_subprotocol == "v2"
            async with websocket_connect(f"{base}/ws") as conn:
                assert conn.selected_subprotocol is None
            await wait_closed(server, log)


async def test_ping_reaches_the_server() -> None:
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            async with websocket_connect(f"{base}/ws") as conn:
                await conn.ping("hello")
                await conn.write_message("sync")
                assert await conn.read_message() == "sync"
            await wait_closed(server, log)
    assert ("ping", b"hello") in log


# ---------------------------------------------------------------------------- failures


async def test_refused_handshakes_raise_with_the_status() -> None:
    async with serving() as (_server, base, _log):
        with trio.fail_after(GUARD):
            with pytest.raises(WebSocketHandshakeError) as info:
                await websocket_connect(f"{base}/ws", headers={"Origin": "http://evil.example"})
            assert info.value.code == 403
            assert info.value.body == b"Cross origin websockets not allowed"
            with pytest.raises(WebSocketHandshakeError) as info:
                await websocket_connect(f"{base}/plain")
            assert info.value.code == 200
            assert info.value.body == b"not a websocket"
            with pytest.raises(WebSocketHandshakeError) as info:
                async with websocket_connect(f"{base}/missing"):
                    pass
            assert info.value.code == 404


def test_bad_urls_are_refused() -> None:
    for url in ["http://example.com/", "ws://", "example.com"]:
        with pytest.raises(ValueError, match="ws://"):
            websocket_connect(url)
    with pytest.raises(ValueError, match="Unknown compression"):
        websocket_connect("ws://example.com/", compression_options={"level": 1})


async def test_connect_timeout() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]

        async def silent(stream: trio.SocketStream) -> None:
            await trio.sleep_forever()

        nursery.start_soon(trio.serve_listeners, silent, listeners)
        with trio.fail_after(GUARD), pytest.raises(WebSocketHandshakeError) as info:
            await websocket_connect(f"ws://127.0.0.1:{port}/", connect_timeout=0.2)
        assert info.value.code == 599
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("deflate", [False, True])
async def test_oversize_messages_close_with_1009_both_ways(deflate: bool) -> None:
    query = "?deflate=1" if deflate else ""
    options = {} if deflate else None
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            # The client's own limit.
            async with websocket_connect(
                f"{base}/ws{query}", max_message_size=1000, compression_options=options
            ) as conn:
                await conn.write_message("!big")
                assert await conn.read_message() is None
            await wait_closed(server, log)
            assert log[-1] == ("close", 1009, "message too big")
    async with serving({"websocket_max_message_size": 1000}) as (server, base, log):
        with trio.fail_after(GUARD):
            async with websocket_connect(f"{base}/ws{query}", compression_options=options) as conn:
                await conn.write_message("x" * 5000)
                assert await conn.read_message() is None
                assert conn.close_code == 1009
            await wait_closed(server, log)


async def test_client_that_vanishes_gives_on_close() -> None:
    async with serving() as (server, base, log):
        with trio.fail_after(GUARD):
            conn = await websocket_connect(f"{base}/ws")
            await conn.write_message("hi")
            assert await conn.read_message() == "hi"
            await conn.protocol.stream.aclose()
            await wait_closed(server, log)
    assert log[-1] == ("close", None, None)


@pytest.mark.parametrize("form", ["async with", "await"])
async def test_client_ping_timeout_with_a_server_that_stopped_reading(form: str) -> None:
    # A raw server that completes the handshake and then never reads again.
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request

    async def handler(stream: trio.SocketStream) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        while True:
            ws.receive_data(await stream.receive_some(65536))
            events = list(ws.events())
            if any(isinstance(event, Request) for event in events):
                break
        await stream.send_all(ws.send(AcceptConnection()))
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        url = f"ws://127.0.0.1:{port}/"
        start = trio.current_time()
        with trio.fail_after(GUARD):
            if form == "await":
                conn = await websocket_connect(url, ping_interval=0.2, ping_timeout=0.1)
                assert await conn.read_message() is None
            else:
                async with websocket_connect(url, ping_interval=0.2, ping_timeout=0.1) as conn:
                    assert await conn.read_message() is None
        elapsed = trio.current_time() - start
        nursery.cancel_scope.cancel()
    # Ping at 0.2, no pong by 0.3: the client sends a close frame and drops the connection
    # (no close handshake with a peer that does not answer).
    assert 0.25 < elapsed < 2


# ----------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def test_wss(ca: trustme.CA) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with serving(ssl_context=server_context) as (server, base, log):
        assert base.startswith("wss://")
        with trio.fail_after(GUARD):
            async with websocket_connect(f"{base}/ws", ssl_context=client_context) as conn:
                await conn.write_message("secure")
                assert await conn.read_message() == "secure"
            with pytest.raises(ssl.SSLError):
                await websocket_connect(f"{base}/ws")  # the test CA is not trusted by default
            await wait_closed(server, log)


# ------------------------------------------------------------------- websockets' server


@pytest.fixture
def websockets_server() -> Iterator[str]:
    def handler(ws: ServerConnection) -> None:
        for message in ws:
            if message == "fragments":
                ws.send(["frag", "men", "ted"])
            else:
                ws.send(message)

    with ws_serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()
            thread.join()


@pytest.mark.parametrize("options", [None, {}, {"client_max_window_bits": 10}])
async def test_client_against_websockets_server(
    websockets_server: str, options: dict[str, Any] | None
) -> None:
    with trio.fail_after(GUARD):
        async with websocket_connect(websockets_server, compression_options=options) as conn:
            for message in MESSAGES:
                await conn.write_message(message, binary=isinstance(message, bytes))
                assert await conn.read_message() == message
            await conn.write_message("fragments")
            assert await conn.read_message() == "fragmented"
            extensions = conn.headers.get("Sec-WebSocket-Extensions")
    if options is None:
        assert extensions is None
    else:
        assert extensions is not None
        assert extensions.startswith("permessage-deflate")
        if "client_max_window_bits" in options:
            assert "client_max_window_bits=10" in extensions
