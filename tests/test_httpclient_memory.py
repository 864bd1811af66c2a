"""trinado.httpclient over in-memory streams, with Trio's autojump clock for every timeout.

The client's ``open_stream`` option hands it one end of a memory stream pair; the other end
is served by trinado's server or by a hand-written fake that misbehaves on purpose. With
``autojump_clock`` a 20-second timeout takes no real time.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from trinado import web
from trinado.httpclient import (
    HTTPClient,
    HTTPStreamClosedError,
    HTTPTimeoutError,
    open_http_client,
)
from trinado.httpserver import HTTPServer
from trinado.httputil import HTTPInputError

Handler = Callable[[trio.abc.Stream], Awaitable[None]]


class FakeNetwork:
    """Opens memory streams; each new one is served by ``handler`` in the test's nursery."""

    def __init__(self, nursery: trio.Nursery, handler: Handler) -> None:
        self.nursery = nursery
        self.handler = handler
        self.opened: list[tuple[str, int]] = []

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        self.opened.append((host, port))
        client_end, server_end = trio.testing.memory_stream_pair()
        self.nursery.start_soon(self.handler, server_end)
        return client_end


async def read_head(stream: trio.abc.ReceiveStream, buffer: bytearray) -> bytes:
    """Reads up to the end of a request head; what came after stays in ``buffer``."""
    while b"\r\n\r\n" not in buffer:
        chunk = await stream.receive_some()
        if not chunk:
            raise EOFError
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    return head


async def read_exactly(stream: trio.abc.ReceiveStream, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        chunk = await stream.receive_some()
        if not chunk:
            raise EOFError
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def answer_ok(stream: trio.abc.Stream) -> None:
    """Answers every request on the connection with OK, until the client closes it."""
    buffer = bytearray()
    with contextlib.suppress(EOFError):
        while True:
            await read_head(stream, buffer)
            await stream.send_all(OK)


# --------------------------------------------------------------------------- trinado server


class SleepHandler(web.RequestHandler):
    async def get(self) -> None:
        await trio.sleep(float(self.get_argument("delay", "0")))
        self.write("done")


class DripHandler(web.RequestHandler):
    async def get(self) -> None:
        for i in range(5):
            self.write(f"{i}")
            await self.flush()
            await trio.sleep(10)


@pytest.fixture
async def server(nursery: trio.Nursery) -> HTTPServer:
    app = web.Application([(r"/sleep", SleepHandler), (r"/drip", DripHandler)])
    server = HTTPServer(app)
    await nursery.start(server.serve, [])
    return server


@pytest.fixture
def network(nursery: trio.Nursery, server: HTTPServer) -> FakeNetwork:
    async def serve(stream: trio.abc.Stream) -> None:
        server.start_connection(stream)

    return FakeNetwork(nursery, serve)


@pytest.fixture
async def client(network: FakeNetwork) -> AsyncIterator[HTTPClient]:
    async with open_http_client(open_stream=network.open_stream) as client:
        yield client
    assert client._pool.open_connections == 0  # every connection was accounted for


async def test_in_memory_round_trip(client: HTTPClient, network: FakeNetwork) -> None:
    response = await client.fetch("http://example.com/sleep")
    assert response.body == b"done"
    # HTTPS to a plain HTTP server: the TLS error comes out as it is.
    with pytest.raises(ssl.SSLError):
        await client.fetch("https://example.com/sleep", validate_cert=False)
    assert network.opened[0] == ("example.com", 80)


async def test_request_timeout(client: HTTPClient, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    with pytest.raises(HTTPTimeoutError, match="Timeout during request") as info:
        await client.fetch("http://example.com/sleep?delay=1000", request_timeout=30)
    assert info.value.code == 599
    assert trio.current_time() - start == pytest.approx(30)
    # The default is 20 seconds.
    start = trio.current_time()
    with pytest.raises(HTTPTimeoutError):
        await client.fetch("http://example.com/sleep?delay=1000")
    assert trio.current_time() - start == pytest.approx(20)


async def test_zero_means_no_timeout(
    client: HTTPClient, autojump_clock: trio.testing.MockClock
) -> None:
    response = await client.fetch(
        "http://example.com/sleep?delay=3600", request_timeout=0, connect_timeout=0
    )
    assert response.body == b"done"
    assert response.request_time == pytest.approx(3600)


async def test_connect_timeout(nursery: trio.Nursery, autojump_clock: Any) -> None:
    async def never(host: str, port: int) -> trio.abc.Stream:
        await trio.sleep_forever()
        raise AssertionError

    async with open_http_client(open_stream=never) as client:
        start = trio.current_time()
        with pytest.raises(HTTPTimeoutError, match=r"connecting to example\.com:8080"):
            await client.fetch("http://example.com:8080/")
        assert trio.current_time() - start == pytest.approx(20)
        start = trio.current_time()
        with pytest.raises(HTTPTimeoutError):
            await client.fetch("http://example.com:8080/", connect_timeout=5)
        assert trio.current_time() - start == pytest.approx(5)
        # connect_timeout is capped by request_timeout, as in Tornado.
        start = trio.current_time()
        with pytest.raises(HTTPTimeoutError):
            await client.fetch("http://example.com:8080/", request_timeout=2)
        assert trio.current_time() - start == pytest.approx(2)


async def test_queue_timeout(network: FakeNetwork, autojump_clock: Any) -> None:
    async with (
        open_http_client(open_stream=network.open_stream, max_connections=1) as client,
        trio.open_nursery() as nursery,
    ):
        slow = functools.partial(client.fetch, request_timeout=200)
        nursery.start_soon(slow, "http://example.com/sleep?delay=100")
        await trio.sleep(1)
        start = trio.current_time()
        with pytest.raises(HTTPTimeoutError, match="request queue"):
            await client.fetch("http://example.com/sleep", connect_timeout=3)
        assert trio.current_time() - start == pytest.approx(3)
        # A request that waits less than its timeout gets the connection when it frees.
        response = await client.fetch(
            "http://example.com/sleep", request_timeout=200, connect_timeout=200
        )
        assert response.time_info["queue"] == pytest.approx(96)
        assert len(network.opened) == 1
        nursery.cancel_scope.cancel()


async def test_idle_connections_expire(
    network: FakeNetwork, server: HTTPServer, autojump_clock: Any
) -> None:
    async with open_http_client(
        open_stream=network.open_stream, idle_connection_timeout=30
    ) as client:
        await client.fetch("http://example.com/sleep")
        assert client.idle_connections == 1
        assert server.connection_count == 1
        await trio.sleep(29)
        assert client.idle_connections == 1
        await client.fetch("http://example.com/sleep")  # reused: its 30 seconds start again
        assert len(network.opened) == 1
        await trio.sleep(29)
        assert client.idle_connections == 1
        await trio.sleep(2)
        assert client.idle_connections == 0
        await trio.sleep(1)
        assert server.connection_count == 0  # the server saw the close
        await client.fetch("http://example.com/sleep")
        assert len(network.opened) == 2


async def test_no_keep_alive_when_idle_timeout_is_zero(network: FakeNetwork) -> None:
    async with open_http_client(open_stream=network.open_stream, idle_connection_timeout=0) as c:
        await c.fetch("http://example.com/sleep")
        await c.fetch("http://example.com/sleep")
        assert c.idle_connections == 0
        assert len(network.opened) == 2


async def test_closing_the_client_closes_idle_connections(
    network: FakeNetwork, server: HTTPServer
) -> None:
    async with open_http_client(open_stream=network.open_stream) as client:
        await client.fetch("http://example.com/sleep")
        await client.fetch("http://example.org/sleep")
        assert server.connection_count == 2
    await trio.testing.wait_all_tasks_blocked()
    assert server.connection_count == 0


async def test_streaming_keeps_the_request_deadline(
    client: HTTPClient, autojump_clock: Any
) -> None:
    received: list[bytes] = []
    start = trio.current_time()

    async def collect() -> None:
        async with client.stream("http://example.com/drip", request_timeout=25) as response:
            async for piece in response.aiter_bytes():
                received.append(piece)

    with pytest.raises(HTTPTimeoutError):
        await collect()
    assert received == [b"0", b"1", b"2"]
    assert trio.current_time() - start == pytest.approx(25)
    # With room to finish, the whole body arrives.
    async with client.stream("http://example.com/drip", request_timeout=60) as response:
        assert await response.read() == b"01234"


# --------------------------------------------------------------------------- fake servers


@pytest.fixture
def fake(nursery: trio.Nursery) -> Callable[[Handler], Any]:
    @asynccontextmanager
    async def open_client(handler: Handler, **options: Any) -> AsyncIterator[Any]:
        # The client gets a .network attribute: the FakeNetwork that counts its connections.
        network = FakeNetwork(nursery, handler)
        async with open_http_client(open_stream=network.open_stream, **options) as client:
            client.network = network  # type: ignore[attr-defined]
            yield client
        assert client._pool.open_connections == 0  # every connection was accounted for

    return open_client


async def test_server_closing_mid_body(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await stream.aclose()

    async with fake(handler) as client:
        with pytest.raises(HTTPStreamClosedError, match=r"received 7 bytes, expected 100"):
            await client.fetch("http://example.com/")


async def test_server_closing_before_the_response(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.aclose()

    async with fake(handler) as client:
        with pytest.raises(HTTPStreamClosedError, match="before the response") as info:
            await client.fetch("http://example.com/")
        assert info.value.code == 599


async def test_malformed_response(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.send_all(b"SPDY/3 what\r\n\r\n")
        await trio.sleep_forever()

    async with fake(handler) as client:
        with pytest.raises(HTTPInputError, match="Malformed HTTP response"):
            await client.fetch("http://example.com/")


async def test_http10_body_ends_at_close(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.send_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ")
        await stream.send_all(b"the end")
        await stream.aclose()

    async with fake(handler) as client:
        response = await client.fetch("http://example.com/")
        assert response.body == b"until the end"
        response = await client.fetch("http://example.com/")
        assert client.network.opened == [("example.com", 80)] * 2  # never reused
        assert client.idle_connections == 0


async def test_stale_keep_alive_connection_is_retried_once(fake: Any) -> None:
    served: list[int] = []

    async def handler(stream: trio.abc.Stream) -> None:
        # Answers one request, then drops the connection when the next one comes, as a
        # server does when its idle timeout races with the client's next request.
        buffer = bytearray()
        await read_head(stream, buffer)
        served.append(1)
        await stream.send_all(OK)
        await read_head(stream, buffer)
        await stream.aclose()

    async with fake(handler) as client:
        assert (await client.fetch("http://example.com/")).body == b"ok"
        assert (await client.fetch("http://example.com/")).body == b"ok"
        assert len(client.network.opened) == 2
        # A POST is not idempotent: it is not sent again.
        with pytest.raises(HTTPStreamClosedError):
            await client.fetch("http://example.com/", method="POST", body=b"x")
        assert len(served) == 2


async def test_early_answer_while_uploading(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.send_all(
            b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
            b"Content-Length: 8\r\n\r\ntoo big!"
        )
        await stream.aclose()

    async def producer(write: Any) -> None:
        for _ in range(1000):
            await write(b"x" * 65536)

    async with fake(handler) as client:
        response = await client.fetch(
            "http://example.com/", method="PUT", body_producer=producer, raise_error=False
        )
        assert response.code == 413
        assert response.body == b"too big!"


async def test_expect_continue_waits_one_second_for_a_silent_server(
    fake: Any, autojump_clock: Any
) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        buffer = bytearray()
        head = await read_head(stream, buffer)
        assert b"expect: 100-continue" in head.lower()
        body = await read_exactly(stream, buffer, content_length(head))
        reply = b"got " + body
        await stream.send_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply)
        )

    async with fake(handler) as client:
        start = trio.current_time()
        response = await client.fetch(
            "http://example.com/", method="POST", body=b"payload", expect_100_continue=True
        )
        assert response.body == b"got payload"
        assert trio.current_time() - start == pytest.approx(1.0)


async def test_expect_continue_skips_other_interim_responses(
    fake: Any, autojump_clock: Any
) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        buffer = bytearray()
        head = await read_head(stream, buffer)
        await stream.send_all(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        await stream.send_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        await read_exactly(stream, buffer, content_length(head))
        await stream.send_all(OK)

    async with fake(handler) as client:
        start = trio.current_time()
        response = await client.fetch(
            "http://example.com/", method="POST", body=b"payload", expect_100_continue=True
        )
        assert response.body == b"ok"
        assert trio.current_time() == start  # no waiting: the 100 came at once


async def test_response_with_trailing_garbage_is_not_reused(fake: Any) -> None:
    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        await stream.send_all(OK + b"HTTP/1.1 200 OK\r\n")
        await trio.sleep_forever()

    async with fake(handler) as client:
        assert (await client.fetch("http://example.com/")).body == b"ok"
        assert client.idle_connections == 0


async def test_gzip_response_over_memory(fake: Any) -> None:
    import gzip

    body = gzip.compress(b"hello " * 10000)

    async def handler(stream: trio.abc.Stream) -> None:
        await read_head(stream, bytearray())
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        await stream.send_all(head)
        for i in range(0, len(body), 7):
            piece = body[i : i + 7]
            await stream.send_all(b"%x\r\n%s\r\n" % (len(piece), piece))
        await stream.send_all(b"0\r\n\r\n")
        await trio.sleep_forever()

    async with fake(handler) as client:
        response = await client.fetch("http://example.com/")
        assert response.body == b"hello " * 10000
        assert client.idle_connections == 1


async def test_failing_header_callback_releases_the_connection(fake: Any) -> None:

    def explode(line: str) -> None:
        raise KeyError(line)

    async with fake(answer_ok, max_connections=1) as client:
        with pytest.raises(KeyError, match=r"HTTP/1\.1 200 OK"):
            await client.fetch("http://example.com/", header_callback=explode)
        # The single connection slot is free again.
        with trio.fail_after(1):
            assert (await client.fetch("http://example.com/")).body == b"ok"


async def test_failing_streaming_callback_closes_the_connection(fake: Any) -> None:

    def explode(piece: bytes) -> None:
        raise KeyError(piece)

    async with fake(answer_ok, max_connections=1) as client:
        with pytest.raises(KeyError):
            await client.fetch("http://example.com/", streaming_callback=explode)
        assert (await client.fetch("http://example.com/")).body == b"ok"
