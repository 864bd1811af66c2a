"""Regression tests for bugs found in review of the HTTP/1.1 connection (trinado/_http1*.py).

Each test pins down the fixed behaviour; the comment above it says what used to happen.
Tests that need the os.read/os.write fast path (used only for real sockets) run a server on
127.0.0.1 and use fail_after only as a guard; the others use memory streams, with
autojump_clock wherever a timeout is involved.
"""

from __future__ import annotations

import collections
import functools
import re
import socket
import struct
from typing import Any

import h11
import pytest
import trio
import trio.lowlevel
import trio.testing

from trinado._http1 import RequestBodyError
from trinado.httpserver import serve
from trinado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from trinado.iostream import StreamClosedError
from trinado.testing import open_test_server

from .conftest import header, read_until_closed, respond

OK = ResponseStartLine("HTTP/1.1", 200, "OK")
# A guard against hangs on real sockets (never a timing assertion).
GUARD = 30


def parse_response(data: bytes) -> tuple[int | None, list[bytes], bool]:
    """Parse everything a client received as one response to a GET.

    Returns:
        The status (None if no head arrived), the body's chunks as framed on the wire, and
        whether the response was complete (h11 saw its end).
    """
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    conn.receive_data(b"")  # the connection closed after ``data``
    status = None
    chunks: list[bytes] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return status, chunks, False
        if type(event) is h11.Response:
            status = event.status_code
        elif type(event) is h11.Data:
            if event.chunk_start or not chunks:
                chunks.append(b"")
            chunks[-1] += event.data
        elif type(event) is h11.EndOfMessage:
            return status, chunks, True
        else:
            return status, chunks, False


async def read_head(stream: trio.abc.ReceiveStream) -> tuple[bytes, bytes]:
    """Read up to the end of a response head; returns the head and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def statuses(data: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


# 1. A write cancelled part way by the handler's own timeout left h11 believing the whole
#    chunk went out: the next write framed more chunks after the truncated one and the
#    connection was kept alive, so the client saw garbage framed as a valid response.
async def test_write_cancelled_part_way_breaks_the_connection() -> None:
    outcome: list[object] = []
    cancelled_write = trio.Event()

    async def app(request: HTTPServerRequest) -> None:
        conn = request.connection
        await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}))
        with trio.move_on_after(0.3) as scope:
            await conn.write(b"A" * 32_000_000)  # far more than the socket buffers hold
        outcome.append(scope.cancelled_caught)
        cancelled_write.set()
        try:
            await conn.write(b"tail")
        except StreamClosedError:
            outcome.append("stream closed")
            raise
        outcome.append("tail written")
        await conn.finish()

    with trio.fail_after(GUARD):
        async with open_test_server(app) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await cancelled_write.wait()  # (not reading until then)
            data = await read_until_closed(stream)
            await stream.aclose()
    assert outcome == [True, "stream closed"]
    status, chunks, complete = parse_response(data)
    assert status == 200
    assert not complete
    assert sum(map(len, chunks)) < 32_000_000


# 2. Two tasks writing to one response at once interleaved their bytes on the socket (one
#    on the os.write fast path while the other waited in send_all), or failed with
#    BusyResourceError: the chunked body was corrupt.
async def test_concurrent_writers_produce_a_well_formed_chunked_body() -> None:
    errors: list[BaseException] = []
    size, count = 100_000, 64

    async def app(request: HTTPServerRequest) -> None:
        conn = request.connection
        await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}))

        async def writer(byte: bytes) -> None:
            try:
                for _ in range(count):
                    await conn.write(byte * size)
            except BaseException as exc:
                errors.append(exc)
                raise

        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer, b"A")
            nursery.start_soon(writer, b"B")
        await conn.finish()

    with trio.fail_after(GUARD):
        async with open_test_server(app) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            # A slow reader: read nothing until both writers are stuck on the full socket.
            await trio.testing.wait_all_tasks_blocked()
            data = await read_until_closed(stream)
            await stream.aclose()
    assert errors == []
    status, chunks, complete = parse_response(data)
    assert status == 200
    assert complete
    assert collections.Counter(chunks) == {b"A" * size: count, b"B" * size: count}


# 3. upgrade() after the disconnect watcher had started left the watcher reading the stream:
#    the new protocol's first read failed with BusyResourceError.
async def test_upgrade_after_the_disconnect_watcher_started(
    memory_server: Any, autojump_clock: Any
) -> None:
    result: dict[str, Any] = {}

    async def app(request: HTTPServerRequest) -> None:
        await trio.sleep(1)  # long enough for the disconnect watcher to start
        stream, trailing = await request.connection.upgrade(
            [(b"Upgrade", b"x"), (b"Connection", b"upgrade")]
        )
        try:
            with trio.fail_after(10):
                got = trailing
                while b"hello world" not in got:
                    got += await stream.receive_some(100)
                await stream.send_all(b"echo:" + got)
        except BaseException as exc:
            result["error"] = exc
            raise
        result["got"] = got

    server = await memory_server(app)
    stream = server.connect()
    await stream.send_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
    )
    await trio.sleep(0.5)
    await stream.send_all(b"hello")  # sent while the handler still waits: the watcher reads it
    head, rest = await read_head(stream)
    assert head.startswith(b"HTTP/1.1 101 ")
    await stream.send_all(b" world")  # sent after the 101: read from the stream
    rest += await read_until_closed(stream)
    assert "error" not in result, result
    assert result["got"] == b"hello world"
    assert rest == b"echo:hello world"


# 4. Writes that never filled the socket never yielded: a handler streaming many small
#    writes starved every other task of the event loop until it was done.
async def test_fast_path_writes_let_other_tasks_run() -> None:
    writes = 4000
    side_runs = 0
    during_handler: list[int] = []

    async def side_task() -> None:
        nonlocal side_runs
        while True:
            side_runs += 1
            await trio.lowlevel.checkpoint()

    async def app(request: HTTPServerRequest) -> None:
        start = side_runs
        conn = request.connection
        await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}))
        for _ in range(writes):
            await conn.write(b"x" * 10)
        await conn.finish()
        during_handler.append(side_runs - start)

    def fast_client(port: int) -> bytes:
        # Reads in a thread, so it keeps up whatever the event loop is doing.
        with socket.create_connection(("127.0.0.1", port), timeout=GUARD) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(1 << 20):
                data += chunk
            return data

    with trio.fail_after(GUARD):
        async with open_test_server(app) as server, trio.open_nursery() as nursery:
            nursery.start_soon(side_task)
            data = await trio.to_thread.run_sync(fast_client, server.port)
            nursery.cancel_scope.cancel()
    status, chunks, complete = parse_response(data)
    assert (status, complete, len(chunks)) == (200, True, writes)
    # The side task got a turn many times while the handler was writing.
    assert len(during_handler) == 1
    assert during_handler[0] >= writes // 100


# 5. A closed connection kept its socket's file descriptor (and, when the server closed it,
#    did not count as gone): a later write from code still holding the connection went with
#    os.write to whatever socket had reused the number.
@pytest.mark.parametrize("how", ["shutdown", "client left"])
async def test_write_after_the_connection_closed_raises_and_writes_nothing(how: str) -> None:
    kept: list[Any] = []

    async def app(request: HTTPServerRequest) -> None:
        conn: Any = request.connection
        kept.append((conn, conn.stream.socket.fileno()))
        if how == "shutdown":
            # A streaming response (server-sent events) that shutdown cuts off.
            await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/event-stream"}))
            await trio.sleep_forever()
        # A whole response; something in the background keeps the connection.
        await respond(request, b"done")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                functools.partial(
                    serve, app, 0, "127.0.0.1", handle_signals=False, shutdown_timeout=0.2
                )
            )
            client = await trio.open_tcp_stream("127.0.0.1", server.port)
            await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await read_head(client)
            if how == "client left":
                await client.aclose()
                # (returns once the server has seen the end of the stream and closed)
                await trio.testing.wait_all_tasks_blocked()
                assert server.connection_count == 0
            server.shutdown()  # serve() returns once its connections are closed
    conn, old_fd = kept[0]
    # Something else opens sockets now (a database connection, another client...) and
    # gets the descriptor number back.
    pairs: list[tuple[socket.socket, socket.socket]] = []
    try:
        while not any(old_fd in (a.fileno(), b.fileno()) for a, b in pairs):
            assert len(pairs) < 500, "the old descriptor number was not reused"
            pairs.append(socket.socketpair())
        with pytest.raises(StreamClosedError):
            await conn.write(b"data for the old client")
        for a, b in pairs:
            for sock in (a, b):
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1000)
    finally:
        for a, b in pairs:
            a.close()
            b.close()
        await client.aclose()


# 6. max_header_size was only checked on heads read from the socket, not on one found whole
#    in the buffer behind a pipelined request: the big head was served.
async def test_max_header_size_applies_to_a_pipelined_head(memory_server: Any) -> None:
    server = await memory_server(max_header_size=1024)
    stream = server.connect()
    await stream.send_all(
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 30_000 + b"\r\n\r\n"
    )
    data = await read_until_closed(stream)
    assert statuses(data) == [200, 431]
    assert b"GET /b" not in data


# 7. The start of the next request, sent along with the previous one, waited under
#    idle_connection_timeout instead of header_timeout, and was then dropped without a 408.
async def test_partial_pipelined_head_gets_408_after_header_timeout(
    memory_server: Any, autojump_clock: Any
) -> None:
    server = await memory_server(header_timeout=5, idle_connection_timeout=3600)
    stream = server.connect()
    start = trio.current_time()
    await stream.send_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHo")
    data = await read_until_closed(stream)
    assert 4.9 < trio.current_time() - start < 6
    assert statuses(data) == [200, 408]


# 8. A handler with its own nursery, cut off by shutdown, raised its Cancelled inside an
#    exception group, which was not recognised: no 503, no close callback.
async def test_shutdown_cut_off_through_a_handler_nursery_gets_503(
    memory_server: Any, autojump_clock: Any
) -> None:
    events: list[str] = []

    async def stuck(request: HTTPServerRequest) -> None:
        request.connection.set_close_callback(lambda: events.append("closed"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await trio.sleep_forever()

    server = await memory_server(stuck, shutdown_timeout=5)
    client = server.client()
    await client.request()
    await trio.sleep(1)
    server.server.shutdown()
    response, _ = await client.response()
    assert response.status_code == 503
    assert header(response, "connection") == "close"
    assert events == ["closed"]


# 9. A response sent while the request body was still unread did not say Connection: close,
#    yet the connection closed after it.
async def test_response_with_the_body_unread_says_connection_close(memory_server: Any) -> None:
    seen: list[str] = []

    class NoReader:
        # Like an Application: gets the request before its body is read.
        async def handle_request(self, request: HTTPServerRequest) -> None:
            seen.append(f"{request.method} {request.uri}")
            await respond(request, b"not interested")

    server = await memory_server(NoReader())
    stream = server.connect()
    await stream.send_all(
        b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    data = await read_until_closed(stream)
    assert statuses(data) == [200]
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in head + b"\r\n"
    assert body == b"not interested"
    assert seen == ["POST /up"]


# 10. An invalid framing header from the app marked the response as started before h11
#     refused it: the caller got its ValueError, but then no 500 could be sent and the
#     connection closed without any answer.
@pytest.mark.parametrize("method", ["send_response", "write_headers"])
@pytest.mark.parametrize(
    ("name", "value"), [("Content-Length", "abc"), ("Transfer-Encoding", "gzip")]
)
async def test_invalid_framing_header_raises_value_error_then_500(
    memory_server: Any, method: str, name: str, value: str
) -> None:
    errors: list[BaseException] = []

    async def app(request: HTTPServerRequest) -> None:
        conn = request.connection
        headers = HTTPHeaders({"Content-Type": "text/plain", name: value})
        try:
            if method == "send_response":
                await conn.send_response(OK, headers, b"body")
            else:
                await conn.write_headers(OK, headers)
        except Exception as exc:
            errors.append(exc)
            raise

    server = await memory_server(app)
    client = server.client()
    await client.request()
    response, _ = await client.response()
    assert response.status_code == 500
    assert [type(exc) for exc in errors] == [ValueError]
    assert await read_until_closed(client.stream) == b""


# 11. With decompress_request, only decoded bytes counted toward max_body_size: a body of
#     empty deflate blocks (megabytes in, nothing out) was read to its end and answered.
async def test_compressed_bytes_count_toward_max_body_size(memory_server: Any) -> None:
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    empty_block = b"\x00\x00\x00\xff\xff"  # a non-final stored block of length 0
    last_block = b"\x01\x00\x00\xff\xff"
    blocks = empty_block * 2000
    trailer = struct.pack("<II", 0, 0)  # CRC32 and size of nothing
    server = await memory_server(decompress_request=True, max_body_size=1000)
    client = server.client()
    await client.send(
        h11.Request(
            method="POST",
            target="/",
            headers=[
                ("Host", "x"),
                ("Content-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
                ("Connection", "close"),
            ],
        ),
        h11.Data(data=gzip_header),
        *(h11.Data(data=blocks[i : i + 500]) for i in range(0, len(blocks), 500)),
        h11.Data(data=last_block + trailer),
        h11.EndOfMessage(),
    )
    data = await read_until_closed(client.stream)
    assert b"200 OK" not in data
    assert not data.startswith(b"HTTP/1.1 2")


# 12. HTTP/1.0 with Connection: keep-alive was kept alive for a POST without Content-Length
#     (whose body has no known end): the bytes after its head were served as a new request.
async def test_http10_keep_alive_post_without_length_is_not_kept_alive(
    memory_server: Any,
) -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def app(request: HTTPServerRequest) -> None:
        seen.append((request.method, request.uri, request.body))
        await respond(request, b"ok")

    server = await memory_server(app)
    stream = server.connect()
    await stream.send_all(
        b"POST /form HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        b"GET /admin/delete?id=1 HTTP/1.0\r\n\r\n"
    )
    await stream.send_eof()
    data = await read_until_closed(stream)
    assert [uri for _, uri, _ in seen] == ["/form"]
    assert statuses(data) == [200]
    assert b"\r\nConnection: close\r\n" in data


# 13. The interim responses went out with an empty reason phrase ("HTTP/1.1 100 \r\n").
async def test_100_continue_carries_its_reason_phrase(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    await stream.send_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    head, _ = await read_head(stream)
    assert head == b"HTTP/1.1 100 Continue\r\n\r\n"


async def test_101_carries_its_reason_phrase(memory_server: Any) -> None:
    async def app(request: HTTPServerRequest) -> None:
        await request.connection.upgrade([(b"Upgrade", b"x"), (b"Connection", b"upgrade")])

    server = await memory_server(app)
    stream = server.connect()
    await stream.send_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
    )
    data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")


# 14. The request body had only body_timeout (300 s by default) in total: a body that stalled
#     held the connection that long, and with body_timeout=None it was never cut off. Now
#     each read of the body waits at most header_timeout, and a slow but steady body still
#     gets through whole.
async def test_stalled_body_is_cut_off_but_a_slow_steady_body_gets_through(
    memory_server: Any, autojump_clock: Any
) -> None:
    events: list[str] = []

    class Upload:
        # Like an Application: reads the body itself.
        async def handle_request(self, request: HTTPServerRequest) -> None:
            try:
                body = await request.connection.read_body()
            except RequestBodyError as exc:
                events.append(f"body error {exc.status_code}")
                raise
            await respond(request, b"got " + body)

    server = await memory_server(Upload(), header_timeout=5, body_timeout=None)

    # A body that stops: cut off header_timeout after its last byte, with no answer.
    stalled = server.connect()
    with trio.fail_after(100):
        await stalled.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        start = trio.current_time()
        data = await read_until_closed(stalled)
    assert 4.9 < trio.current_time() - start < 6
    assert data == b""
    assert events == ["body error None"]

    # A body that keeps coming, a byte every 3 s: received whole, however long it takes.
    client = server.client()
    body = b"0123456789" * 4
    await client.send(
        h11.Request(
            method="POST",
            target="/slow",
            headers=[("Host", "x"), ("Content-Length", str(len(body)))],
        )
    )
    start = trio.current_time()
    for byte in body:
        await trio.sleep(3)
        await client.send(h11.Data(data=bytes([byte])))
    await client.send(h11.EndOfMessage())
    response, received = await client.response()
    assert trio.current_time() - start > 100
    assert response.status_code == 200
    assert received == b"got " + body
    assert events == ["body error None"]


def test_parse_response_tells_complete_from_truncated() -> None:
    whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
    assert parse_response(whole) == (200, [b"ab", b"c"], True)
    assert parse_response(whole[:-7]) == (200, [b"ab", b"c"], False)
    assert parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")[2] is False


# Found while writing the tests above: an error answer (400, 431, 505, 408) for the second
# request on a connection must be sent like the one for the first request.
async def test_malformed_request_after_a_kept_alive_one_gets_400(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    await stream.send_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    await read_head(stream)
    await stream.send_all(b"NONSENSE\r\n\r\n")
    data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
