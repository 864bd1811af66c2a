"""Hostile clients on real sockets: each gets the right status or a closed connection.

Every test checks three things: what the attacker sees, that an honest client (httpx) is
still served, and that the server keeps no connection (no task) for the attacker afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import random
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import httpx
import pytest
import trio

from trinado.httpserver import HTTPServer, serve
from trinado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from trinado.iostream import StreamClosedError

from .conftest import H11Client, read_until_closed, respond

GUARD = 10  # seconds before a stuck test fails instead of hanging
OK = ResponseStartLine("HTTP/1.1", 200, "OK")
CHUNK = b"x" * 65536

# Limits small enough that attacks are quick to mount.
LIMITS: dict[str, Any] = {
    "header_timeout": 1,
    "max_header_size": 4096,
    "max_body_size": 1000,
}


class Target:
    """The server under attack, its app's bookkeeping and an honest client's checks."""

    def __init__(self, server: HTTPServer, app: App) -> None:
        self.server = server
        self.app = app
        self.port = server.port

    async def connect(self) -> trio.SocketStream:
        return await trio.open_tcp_stream("127.0.0.1", self.port)

    async def honest_request(self, client: httpx.AsyncClient | None = None) -> None:
        """An honest client gets a 200 (on a connection of its own)."""
        if client is None:
            async with httpx.AsyncClient() as own:
                await self.honest_request(own)
            return
        got = await client.get(f"http://127.0.0.1:{self.port}/honest")
        assert got.status_code == 200
        assert got.content == b"honest"

    async def no_connections_left(self) -> None:
        with trio.fail_after(5):
            while self.server.connection_count:  # noqa: ASYNC110 (no event to wait on)
                await trio.sleep(0.01)


class App:
    """Answers /honest and /p/... (counted), and streams forever on /stream."""

    def __init__(self) -> None:
        self.pipelined = 0
        self.stream_errors: list[BaseException] = []
        self.stream_ended = trio.Event()

    async def __call__(self, request: HTTPServerRequest) -> None:
        if request.path == "/stream":
            await self.stream_forever(request)
            return
        if request.path.startswith("/p/"):
            self.pipelined += 1
            await respond(request, f"{self.pipelined} {request.path}".encode())
            return
        await respond(request, request.path.strip("/").encode() + request.body)

    async def stream_forever(self, request: HTTPServerRequest) -> None:
        conn = request.connection
        try:
            await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}), CHUNK)
            while True:
                await conn.write(CHUNK)
        except BaseException as exc:  # record what the write raised, then let it go on
            self.stream_errors.append(exc)
            self.stream_ended.set()
            raise


@pytest.fixture
async def target(nursery: trio.Nursery) -> Target:
    app = App()
    server: HTTPServer = await nursery.start(
        functools.partial(serve, app, 0, "127.0.0.1", handle_signals=False, **LIMITS)
    )
    return Target(server, app)


async def read_all(stream: trio.SocketStream) -> bytes:
    """What the server sends until it closes; a reset counts as a close."""
    try:
        return await read_until_closed(stream)
    except trio.BrokenResourceError:
        return b""


async def send_quietly(stream: trio.SocketStream, data: bytes) -> None:
    """Send ``data``; the server hanging up on us part way is expected."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(data)


def status_of(data: bytes) -> int | None:
    """The status code of the first response in ``data`` (None when nothing was sent)."""
    if not data:
        return None
    assert data.startswith(b"HTTP/1.1 "), data[:100]
    return int(data[9:12])


# --------------------------------------------------------------------------- slowloris


async def slowloris(target: Target) -> bytes:
    """Send a request head one header line every 0.2 s; return what the server answered."""
    async with await target.connect() as stream:
        answer = b""
        async with trio.open_nursery() as nursery:

            async def drip() -> None:
                await send_quietly(stream, b"GET / HTTP/1.1\r\nHost: x\r\n")
                for i in range(100):
                    await trio.sleep(0.2)
                    await send_quietly(stream, b"X-Drip-%d: y\r\n" % i)

            nursery.start_soon(drip)
            answer = await read_all(stream)
            nursery.cancel_scope.cancel()
        return answer


async def test_slowloris_is_cut_off_after_header_timeout(target: Target) -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(target.honest_request)
            answer = await slowloris(target)
        assert status_of(answer) in (408, None)
        await target.honest_request()
        await target.no_connections_left()


# -------------------------------------------------------------------------------- limits


async def test_header_block_over_max_header_size_gets_431(target: Target) -> None:
    # "Connection: close": should the head be accepted, the test fails instead of hanging.
    big_head = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + b"X-Pad: "
        + b"a" * 16000
        + b"\r\n\r\n"
    )
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await send_quietly(stream, big_head)
            answer = await read_all(stream)
        assert status_of(answer) == 431
        await target.honest_request()
        await target.no_connections_left()


async def test_header_block_over_the_limit_in_one_small_read_gets_431(target: Target) -> None:
    # 6 KB arrives in one read: more than max_header_size (4 KB), less than one socket read.
    head = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + b"X-Pad: "
        + b"a" * 6000
        + b"\r\n\r\n"
    )
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await send_quietly(stream, head)
            answer = await read_all(stream)
        assert status_of(answer) == 431
        await target.no_connections_left()


async def test_content_length_over_max_body_size_gets_413(target: Target) -> None:
    head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await send_quietly(stream, head + b"z" * 500)
            answer = await read_all(stream)
        assert status_of(answer) == 413
        assert b"Connection: close" in answer.split(b"\r\n\r\n")[0]
        await target.honest_request()
        await target.no_connections_left()


async def test_chunked_body_over_max_body_size_is_closed(target: Target) -> None:
    head = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"320\r\n" + b"z" * 800 + b"\r\n"  # 800 bytes a chunk; the limit is 1000
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await send_quietly(stream, head + chunk + chunk + chunk)
            answer = await read_all(stream)
        # Nothing can be answered once the body is half read: the connection just closes
        # (a 413 is acceptable too); never a success and never a server error.
        assert status_of(answer) in (None, 413)
        await target.honest_request()
        await target.no_connections_left()


# ------------------------------------------------------------------------------ garbage


def tls_client_hello() -> bytes:
    """The first flight of a real TLS client."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="example.com")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello[:1] == b"\x16"  # a TLS handshake record
    return hello


GARBAGE = {
    "random-then-eof": random.Random(1).randbytes(4096),
    "random-with-blank-line": random.Random(2).randbytes(2048) + b"\r\n\r\n",
    "nul-bytes": b"\0" * 3000 + b"\r\n\r\n",
    "tls-client-hello": tls_client_hello(),
    "bad-request-line": b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "http-2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    # The heads below parse as HTTP; "Connection: close" ends the test should one pass.
    "bad-version": b"GET / HTTP/7.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "space-before-colon": b"GET / HTTP/1.1\r\nHost : x\r\nConnection: close\r\n\r\n",
    "duplicate-host": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    "invalid-host": b"GET / HTTP/1.1\r\nHost: a b/c\r\nConnection: close\r\n\r\n",
    "too-many-query-fields": b"GET /?"
    + b"&".join(b"a%d=1" % i for i in range(1001))
    + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "negative-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
async def test_garbage_gets_400_or_a_closed_connection(
    target: Target, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await send_quietly(stream, GARBAGE[name])
            if name == "random-then-eof":
                await stream.send_eof()
            answer = await read_all(stream)
        allowed = {None, 400}
        if name == "tls-client-hello":
            allowed.add(408)  # no line end: it may wait out header_timeout like a silent client
        if name in ("bad-version", "http-2-preface"):
            allowed.add(505)  # HTTP Version Not Supported fits too
        if name == "too-many-query-fields":
            allowed.add(431)  # its head (about 7 KB) is over max_header_size as well
        assert status_of(answer) in allowed, answer[:200]
        await target.honest_request()
        await target.no_connections_left()
    # Bad input is the client's fault: nothing is logged as a server error.
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], [
        r.getMessage() for r in caplog.records
    ]


# ------------------------------------------------------------- client vanishing mid-stream


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_client_vanishing_mid_response_ends_the_handler(target: Target, how: str) -> None:
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient() as honest:
            await target.honest_request(honest)
            stream = await target.connect()
            await stream.send_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            received = 0
            while received < 300_000:
                chunk = await stream.receive_some(65536)
                assert chunk
                received += len(chunk)
            assert target.server.connection_count == 2
            if how == "reset":
                stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()
            await target.app.stream_ended.wait()
            # Still served: on the honest client's existing keep-alive connection ...
            await target.honest_request(honest)
        # ... and on a new one.
        await target.honest_request()
        await target.no_connections_left()
    [error] = target.app.stream_errors
    # The write raises (or, once the disconnect watcher noticed, the handler is cancelled).
    assert isinstance(error, (StreamClosedError, trio.Cancelled)), repr(error)


# ------------------------------------------------------------------------- pipelining


async def test_thousand_pipelined_requests_in_one_write(target: Target) -> None:
    count = 1000
    burst = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(count))
    with trio.fail_after(GUARD):
        async with await target.connect() as stream, trio.open_nursery() as nursery:
            nursery.start_soon(stream.send_all, burst)
            client = H11Client(stream)
            for i in range(count):
                # Move the client's state machine as if it had sent request i.
                client.conn.send(
                    h11.Request(method="GET", target=f"/p/{i}", headers=[("Host", "x")])
                )
                client.conn.send(h11.EndOfMessage())
                response, body = await client.response()
                assert response.status_code == 200
                assert body == f"{i + 1} /p/{i}".encode()
            # The connection is still usable afterwards.
            await client.request("GET", "/after")
            response, body = await client.response()
            assert response.status_code == 200
            assert body == b"after"
            assert target.server.connection_count == 1
        await target.honest_request()
        await target.no_connections_left()
    assert target.app.pipelined == count


async def test_pipelined_requests_over_the_read_ahead_bound_still_work(target: Target) -> None:
    # 20 KB of pipelined heads, five times max_header_size, each head small.
    count = 600
    burst = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(count))
    assert len(burst) > 4 * LIMITS["max_header_size"]
    with trio.fail_after(GUARD):
        async with await target.connect() as stream:
            await stream.send_all(
                burst + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            data = await read_all(stream)
        assert data.count(b"HTTP/1.1 200 OK\r\n") == count + 1
        assert data.endswith(b"last")
        await target.no_connections_left()


# ------------------------------------------------------------------------- all at once


async def test_honest_client_is_served_throughout_an_attack(target: Target) -> None:
    attacks: list[Callable[[], Awaitable[object]]] = [
        functools.partial(slowloris, target),
        *(
            functools.partial(_send_and_read, target, GARBAGE[name])
            for name in sorted(GARBAGE)
            if name != "random-then-eof"
        ),
        functools.partial(
            _send_and_read,
            target,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
        ),
        functools.partial(
            _send_and_read,
            target,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
        ),
        *(functools.partial(_silent, target) for _ in range(20)),
    ]
    served = 0
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as attackers:
            for attack in attacks:
                attackers.start_soon(attack)
            async with httpx.AsyncClient() as honest:
                # The honest client's requests interleave with the whole attack.
                while len(attackers.child_tasks) > 0:
                    await target.honest_request(honest)
                    served += 1
                    await trio.sleep(0.05)
        await target.no_connections_left()
    assert served >= 1


async def _send_and_read(target: Target, data: bytes) -> bytes:
    async with await target.connect() as stream:
        await send_quietly(stream, data)
        return await read_all(stream)


async def _silent(target: Target) -> bytes:
    """Connect and say nothing: closed after header_timeout."""
    async with await target.connect() as stream:
        return await read_all(stream)
