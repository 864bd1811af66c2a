"""WebSocketHandler at the wire level: a wsproto client over memory streams and raw sockets.

Memory streams with ``autojump_clock`` make the timers (pings, close handshake, write
timeout, shutdown) run in no time; lockstep streams stand for a peer that does not read.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from trinado import web
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server
from trinado.websocket import WebSocketClosedError, WebSocketHandler, broadcast

from .conftest import MemoryServer, header

Start = Callable[..., Awaitable[MemoryServer]]


class WsClient:
    """A real wsproto client on one end of a stream; the server is on the other."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()

    async def handshake(self, target: str = "/ws", *, extra: bytes = b"") -> Event:
        data = self.ws.send(Request(host="example.com", target=target))
        await self.stream.send_all(data + extra)
        return await self.next_event()

    async def next_event(self) -> Event:
        while not self.pending:
            self.pending.extend(self.ws.events())
            if self.pending:
                break
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(bytes(data) if data else None)
        return self.pending.popleft()

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def message(self) -> Any:
        """The next whole data message, answering pings on the way (or another event)."""
        parts: list[Any] = []
        while True:
            event = await self.next_event()
            if isinstance(event, Ping):
                await self.send(event.response())
            elif isinstance(event, Message):
                parts.append(event.data)
                if event.message_finished:
                    return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
            else:
                return event


class Handler(WebSocketHandler):
    """Records what happens; behaviour is set per test through class attributes."""

    def initialize(self, log: list[Any], opened: list[WebSocketHandler]) -> None:
        self.log = log
        self.opened = opened

    async def open(self) -> None:
        self.opened.append(self)

    async def on_message(self, message: str | bytes) -> None:
        self.log.append(("message", message))
        await self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        self.log.append(("close", self.close_code, self.close_reason, trio.current_time()))


def make_app(
    handler: type[WebSocketHandler] = Handler, **settings: Any
) -> tuple[web.Application, list[Any], list[WebSocketHandler]]:
    log: list[Any] = []
    opened: list[WebSocketHandler] = []
    app = web.Application([(r"/ws", handler, {"log": log, "opened": opened})], **settings)
    return app, log, opened


async def wait_for(predicate: Callable[[], bool], timeout: float = 1000) -> None:
    with trio.fail_after(timeout):
        while not predicate():  # noqa: ASYNC110 (there is no event to wait on)
            await trio.sleep(0.001)


async def connected(ms: MemoryServer, *, lockstep: bool = False) -> WsClient:
    client = WsClient(ms.connect(lockstep=lockstep))
    assert isinstance(await client.handshake(), AcceptConnection)
    return client


# ---------------------------------------------------------------------------- handshakes


@pytest.mark.parametrize(
    ("method", "headers", "status", "body"),
    [
        ("GET", [], 400, b'Can "Upgrade" only to "WebSocket".'),
        (
            "GET",
            [("Upgrade", "websocket"), ("Connection", "keep-alive")],
            400,
            b'"Connection" must be "Upgrade".',
        ),
        (
            "GET",
            [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Origin", "http://evil")],
            403,
            b"Cross origin websockets not allowed",
        ),
        (
            "GET",
            [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
            ],
            400,
            b"Missing/Invalid WebSocket headers",
        ),
        ("POST", [("Upgrade", "websocket"), ("Connection", "Upgrade")], 405, None),
    ],
)
async def test_bad_handshakes_are_refused(
    memory_server: Start,
    method: str,
    headers: list[tuple[str, str]],
    status: int,
    body: bytes | None,
) -> None:
    app, _, opened = make_app()
    ms = await memory_server(app)
    client = ms.client()
    await client.request(method, "/ws", headers=headers)
    response, got = await client.response()
    assert response.status_code == status
    if body is not None:
        assert got == body
    else:
        assert b"405: Method Not Allowed" in got
    assert not opened
    # The connection stays usable for the next request.
    await client.request("GET", "/ws", headers=[])
    response, _ = await client.response()
    assert response.status_code == 400


async def test_an_http_1_0_upgrade_is_refused(memory_server: Start) -> None:
    app, _, opened = make_app()
    ms = await memory_server(app)
    client = ms.client()
    await client.stream.send_all(
        b"GET /ws HTTP/1.0\r\nHost: example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    received = b""
    with trio.fail_after(5):
        while chunk := await client.stream.receive_some(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert received.endswith(b"WebSocket needs HTTP/1.1")
    assert not opened


async def test_wrong_version_gets_426_with_the_supported_version(memory_server: Start) -> None:
    app, _, opened = make_app()
    ms = await memory_server(app)
    client = ms.client()
    await client.request(
        "GET",
        "/ws",
        headers=[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "8"),
        ],
    )
    response, body = await client.response()
    assert response.status_code == 426
    assert response.reason == b"Upgrade Required"
    assert header(response, "Sec-WebSocket-Version") == "13"
    assert body == b""
    assert not opened


class GuardedHandler(Handler):
    def prepare(self) -> None:
        if self.get_argument("token", None) != "secret":
            raise web.HTTPError(403)

    def check_origin(self, origin: str) -> bool:
        return origin.endswith(".trusted.example")


async def test_prepare_and_check_origin_decide(memory_server: Start) -> None:
    app, _, opened = make_app(GuardedHandler)
    ms = await memory_server(app)
    client = WsClient(ms.connect())
    event = await client.handshake("/ws")
    assert isinstance(event, RejectConnection)
    assert event.status_code == 403
    client = WsClient(ms.connect())
    request = Request(
        host="example.com",
        target="/ws?token=secret",
        extra_headers=[(b"Origin", b"https://app.trusted.example")],
    )
    await client.stream.send_all(client.ws.send(request))
    assert isinstance(await client.next_event(), AcceptConnection)
    assert len(opened) == 1


async def test_access_log_records_the_upgrade(
    memory_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="trinado.access")
    app, _, _ = make_app()
    ms = await memory_server(app)
    await connected(ms)
    assert any(r.getMessage().startswith("101 GET /ws") for r in caplog.records)


async def test_frames_sent_with_the_handshake_are_read(memory_server: Start) -> None:
    app, log, _ = make_app()
    ms = await memory_server(app)
    client = WsClient(ms.connect())
    # A masked text frame "early" leaves in the same write as the request head: the
    # server finds it in h11's trailing data.
    frame = b"\x81\x85\x00\x00\x00\x00early"
    assert isinstance(await client.handshake(extra=frame), AcceptConnection)
    assert await client.message() == "early"
    assert ("message", "early") in log


# ------------------------------------------------------------------------- peer behaviour


async def test_peer_that_vanishes_gets_on_close_and_frees_the_connection(
    memory_server: Start,
) -> None:
    app, log, _ = make_app()
    ms = await memory_server(app)
    client = await connected(ms)
    await client.send(TextMessage(data="hi"))
    assert await client.message() == "hi"
    await client.send(TextMessage(data="part of a message", message_finished=False))
    await client.stream.aclose()  # EOF without a close frame
    await wait_for(lambda: ms.server.connection_count == 0)
    assert log[-1][:3] == ("close", None, None)


async def test_peer_that_resets_a_tcp_connection_gets_on_close() -> None:
    app, log, _ = make_app()
    async with open_test_server(app) as server:
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            client = WsClient(stream)
            assert isinstance(await client.handshake(), AcceptConnection)
            await client.send(TextMessage(data="hi"))
            assert await client.message() == "hi"
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()  # RST
            await wait_for(lambda: server.connection_count == 0)
    assert log[-1][:3] == ("close", None, None)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x81\x02\xff\xfe", 1002),  # unmasked frame from a client
        (b"\x81\x82\x00\x00\x00\x00\xff\xfe", 1007),  # text that is not UTF-8
        (b"\x83\x80\x00\x00\x00\x00", 1002),  # reserved opcode
    ],
)
async def test_protocol_errors_close_with_their_code(
    memory_server: Start, payload: bytes, code: int
) -> None:
    app, log, _ = make_app()
    ms = await memory_server(app)
    client = await connected(ms)
    await client.stream.send_all(payload)
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == code
    await wait_for(lambda: ms.server.connection_count == 0)
    assert log[-1][0] == "close"


async def test_fragmented_oversize_message_closes_with_1009(memory_server: Start) -> None:
    app, log, _ = make_app(websocket_max_message_size=1000)
    ms = await memory_server(app)
    client = await connected(ms)
    await client.send(BytesMessage(data=b"a" * 1000))
    assert await client.message() == b"a" * 1000  # exactly at the limit: fine
    for _ in range(2):
        await client.send(TextMessage(data="b" * 400, message_finished=False))
    await client.send(TextMessage(data="b" * 400))
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1009
    await wait_for(lambda: ms.server.connection_count == 0)
    assert [entry for entry in log if entry[0] == "message"] == [("message", b"a" * 1000)]


async def test_multibyte_text_is_measured_in_bytes(memory_server: Start) -> None:
    app, _, _ = make_app(websocket_max_message_size=10)
    ms = await memory_server(app)
    client = await connected(ms)
    await client.send(TextMessage(data="ééééé"))  # 10 bytes
    assert await client.message() == "ééééé"
    await client.send(TextMessage(data="éééééé"))  # 12 bytes
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1009


# ------------------------------------------------------------------------------ timers


async def test_ping_timeout_closes_a_silent_peer(
    memory_server: Start, autojump_clock: trio.testing.MockClock
) -> None:
    app, log, _ = make_app(websocket_ping_interval=10, websocket_ping_timeout=5)
    ms = await memory_server(app)
    client = await connected(ms)
    start = trio.current_time()
    await trio.sleep(100)  # not reading: no pong
    # Ping at 10, no pong by 15: a close frame, and the connection is dropped.
    assert log[-1][:3] == ("close", None, None)
    assert log[-1][3] - start == pytest.approx(15)
    assert ms.server.connection_count == 0
    assert isinstance(await client.next_event(), Ping)
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert (event.code, event.reason) == (1000, "ping timed out")


async def test_a_peer_that_answers_pings_stays(
    memory_server: Start, autojump_clock: trio.testing.MockClock
) -> None:
    app, log, opened = make_app(websocket_ping_interval=10, websocket_ping_timeout=5)
    ms = await memory_server(app)
    client = await connected(ms)
    pongs = []
    with trio.move_on_after(105):
        while True:
            event = await client.next_event()
            assert isinstance(event, Ping)
            pongs.append(trio.current_time())
            await client.send(event.response())
    assert len(pongs) == 10
    assert not [entry for entry in log if entry[0] == "close"]
    await opened[0].write_message("still here")
    assert await client.message() == "still here"


async def test_close_handshake_has_a_deadline(
    memory_server: Start, autojump_clock: trio.testing.MockClock
) -> None:
    class Closer(Handler):
        async def on_message(self, message: str | bytes) -> None:
            self.close(4000, "go away")
            with pytest.raises(WebSocketClosedError):
                await self.write_message("after close")

    app, log, _ = make_app(Closer, websocket_close_timeout=7)
    ms = await memory_server(app)
    client = await connected(ms)
    start = trio.current_time()
    await client.send(TextMessage(data="x"))
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert (event.code, event.reason) == (4000, "go away")
    await wait_for(lambda: ms.server.connection_count == 0)  # we never answer
    assert trio.current_time() - start == pytest.approx(7)
    assert log[-1][:3] == ("close", None, None)


async def test_peer_answering_the_close_gets_its_code_recorded(memory_server: Start) -> None:
    class Closer(Handler):
        def open(self) -> None:  # type: ignore[override]
            self.close()

    app, log, _ = make_app(Closer)
    ms = await memory_server(app)
    client = await connected(ms)
    event = await client.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1005  # no status code sent
    await client.send(CloseConnection(code=1000, reason="ok"))
    await wait_for(lambda: ms.server.connection_count == 0)
    assert log[-1][:3] == ("close", 1000, "ok")


# ------------------------------------------------------------------------- back-pressure


async def test_write_message_waits_for_a_peer_that_does_not_read(
    memory_server: Start, autojump_clock: trio.testing.MockClock
) -> None:
    written: list[int] = []
    failures: list[BaseException] = []

    class Flooder(Handler):
        async def open(self) -> None:
            try:
                for i in range(1000):
                    await self.write_message("x" * 1000)
                    written.append(i)
            except WebSocketClosedError as exc:
                failures.append(exc)

    app, log, _ = make_app(Flooder)
    ms = await memory_server(app, write_timeout=60)
    await connected(ms, lockstep=True)  # then never reads
    await trio.sleep(59)
    assert written == []  # the first write is still waiting: nothing queued up
    await trio.sleep(2)
    assert len(failures) == 1  # write_timeout passed: the socket was given up
    await wait_for(lambda: ms.server.connection_count == 0)
    assert log[-1][0] == "close"


async def test_slow_on_message_stops_reading(memory_server: Start) -> None:
    release = trio.Event()

    class Slow(Handler):
        async def on_message(self, message: str | bytes) -> None:
            self.log.append(("message", message))
            await release.wait()

    app, log, _ = make_app(Slow)
    ms = await memory_server(app)
    client = await connected(ms, lockstep=True)
    await client.send(TextMessage(data="first"))
    await wait_for(lambda: ("message", "first") in log)
    with trio.move_on_after(0.2) as scope:
        await client.send(TextMessage(data="second"))  # nobody reads the socket
    assert scope.cancelled_caught
    release.set()
    await wait_for(lambda: len(log) == 2)


# --------------------------------------------------------------------------- broadcast


async def test_broadcast_does_not_wait_for_a_stalled_socket(
    memory_server: Start, autojump_clock: trio.testing.MockClock
) -> None:
    app, log, opened = make_app()
    ms = await memory_server(app)
    readers = [await connected(ms) for _ in range(3)]
    stalled = await connected(ms, lockstep=True)  # never reads again
    await wait_for(lambda: len(opened) == 4)
    received: list[float] = []

    async def read(client: WsClient) -> None:
        for _ in range(2):
            assert await client.message() == "news"
            received.append(trio.current_time())

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for client in readers:
            nursery.start_soon(read, client)
        assert await broadcast(opened, "news", timeout=3) == 3
        assert trio.current_time() - start == pytest.approx(3)
        assert await broadcast(opened, "news", timeout=3) == 3  # the stalled one is gone
    assert received
    assert max(received) - start == pytest.approx(3)  # the second broadcast, at once
    assert min(received) == start  # the first did not wait for the stalled socket
    await wait_for(lambda: ms.server.connection_count == 3)
    assert [entry[:3] for entry in log if entry[0] == "close"] == [("close", None, None)]
    del stalled


async def test_broadcast_over_sockets_and_a_full_socket_buffer() -> None:
    app, log, opened = make_app()
    big = b"z" * (32 * 1024 * 1024)  # more than loopback socket buffers hold

    async def drain(stream: trio.abc.Stream) -> None:
        received = 0
        while received < len(big):
            received += len(await stream.receive_some(1 << 20))

    async with open_test_server(app) as server:
        with trio.fail_after(20):
            clients = []
            for _ in range(3):
                stream = await trio.open_tcp_stream("127.0.0.1", server.port)
                client = WsClient(stream)
                assert isinstance(await client.handshake(), AcceptConnection)
                clients.append(client)
            await wait_for(lambda: len(opened) == 3)
            assert await broadcast(opened, {"n": 1}) == 3
            for client in clients:
                assert await client.message() == '{"n": 1}'
            # The last client stops reading: the big message fills its socket buffers.
            async with trio.open_nursery() as nursery:
                for client in clients[:2]:
                    nursery.start_soon(drain, client.stream)
                sent = await broadcast(opened, big, binary=True, timeout=2)
            assert sent == 2
            await wait_for(lambda: server.connection_count == 2)
            for client in clients:
                await client.stream.aclose()
            await wait_for(lambda: server.connection_count == 0)
    assert [entry[0] for entry in log].count("close") == 3


async def test_broadcast_skips_closed_handlers(memory_server: Start) -> None:
    app, _, opened = make_app()
    ms = await memory_server(app)
    client = await connected(ms)
    other = await connected(ms)
    await other.send(CloseConnection(code=1000))
    await wait_for(lambda: ms.server.connection_count == 1)
    assert await broadcast(opened, b"bin", binary=True) == 1
    assert await client.message() == b"bin"


# ---------------------------------------------------------------------------- shutdown


async def test_shutdown_waits_for_the_close_handshake_then_serve_returns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, log, _ = make_app()
    server = HTTPServer(app, shutdown_timeout=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, [])
        polite_end, server_end = trio.testing.memory_stream_pair()
        server.start_connection(server_end)
        silent_end, server_end = trio.testing.memory_stream_pair()
        server.start_connection(server_end)
        polite = WsClient(polite_end)
        silent = WsClient(silent_end)
        assert isinstance(await polite.handshake(), AcceptConnection)
        assert isinstance(await silent.handshake(), AcceptConnection)
        start = trio.current_time()
        server.shutdown()
        event = await polite.next_event()
        assert isinstance(event, CloseConnection)
        assert event.code == 1001
        await polite.send(event.response())
    # serve() returned: the silent peer was dropped after the close timeout, well before
    # the shutdown deadline.
    assert trio.current_time() - start == pytest.approx(5)
    codes = [entry[1] for entry in log if entry[0] == "close"]
    assert sorted(codes, key=str) == [1001, None]
    event = await silent.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1001


async def test_concurrent_writers_do_not_interleave_frames(memory_server: Start) -> None:
    app, _, opened = make_app()
    ms = await memory_server(app)
    client = await connected(ms, lockstep=True)  # every write waits for the reader
    await wait_for(lambda: len(opened) == 1)
    handler = opened[0]
    messages = [bytes([i]) * 100_000 for i in range(5)]
    received: list[Any] = []
    async with trio.open_nursery() as nursery:
        for message in messages:
            nursery.start_soon(partial(handler.write_message, message, binary=True))
        for _ in messages:
            received.append(await client.message())
    assert sorted(received) == messages
