"""The HTTP/1.1 connection over in-memory streams, with a real h11 client on the other end."""

from __future__ import annotations

import gzip
from http import HTTPStatus
from typing import Any

import h11
import trio
import trio.testing

from trinado._http1 import RequestBodyError
from trinado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine
from trinado.iostream import StreamClosedError

from .conftest import header, read_until_closed, respond

OK = ResponseStartLine("HTTP/1.1", 200, "OK")


async def test_keep_alive_serves_several_requests_on_one_connection(memory_server: Any) -> None:
    server = await memory_server()
    client = server.client()
    for i in range(3):
        await client.request("GET", f"/n/{i}")
        response, body = await client.response()
        assert response.status_code == 200
        assert body == f"GET /n/{i} ".encode()
    assert server.server.connection_count == 1


async def test_pipelined_requests_are_answered_in_order(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    raw = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    await stream.send_all(raw + b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await read_until_closed(stream)
    bodies = [part.split(b"\r\n\r\n", 1)[1][:20] for part in data.split(b"HTTP/1.1 200 OK")[1:]]
    assert [b.split(b" ")[1] for b in bodies] == [b"/0", b"/1", b"/2", b"/3", b"/4", b"/last"]


async def test_http10_without_keep_alive_closes_after_the_response(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    await stream.send_all(b"GET /a HTTP/1.0\r\n\r\n")
    data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in data
    assert data.endswith(b"GET /a ")


async def test_http10_keep_alive_keeps_the_connection(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    for path in (b"/a", b"/b"):
        await stream.send_all(b"GET " + path + b" HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = b""
        while not data.endswith(b"GET " + path + b" "):
            data += await stream.receive_some(65536)
        assert b"\r\nConnection: keep-alive\r\n" in data
        assert b"Content-Length: " in data
    assert server.server.connection_count == 1


async def test_chunked_request_body_is_reassembled(memory_server: Any) -> None:
    server = await memory_server()
    client = server.client()
    await client.send(
        h11.Request(
            method="POST", target="/up", headers=[("Host", "x"), ("Transfer-Encoding", "chunked")]
        ),
        h11.Data(data=b"hello "),
        h11.Data(data=b"world"),
        h11.EndOfMessage(),
    )
    _response, body = await client.response()
    assert body == b"POST /up hello world"


async def stream_three_chunks(request: HTTPServerRequest) -> None:
    conn = request.connection
    await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}), b"one ")
    await conn.write(b"two ")
    await conn.write(b"three")
    await conn.finish()


async def test_response_without_length_is_chunked(memory_server: Any) -> None:
    server = await memory_server(stream_three_chunks)
    client = server.client()
    await client.request()
    response, body = await client.response()
    assert header(response, "transfer-encoding") == "chunked"
    assert header(response, "content-length") is None
    assert body == b"one two three"


async def test_expect_100_continue_is_answered_before_the_body(memory_server: Any) -> None:
    server = await memory_server()
    client = server.client()
    await client.send(
        h11.Request(
            method="POST",
            target="/",
            headers=[("Host", "x"), ("Content-Length", "4"), ("Expect", "100-continue")],
        )
    )
    informational = await client.next_event()
    assert type(informational) is h11.InformationalResponse
    assert informational.status_code == 100
    await client.send(h11.Data(data=b"body"), h11.EndOfMessage())
    _response, body = await client.response()
    assert body == b"POST / body"


async def test_oversized_content_length_gets_413_without_100_continue(memory_server: Any) -> None:
    server = await memory_server(max_body_size=10)
    stream = server.connect()
    await stream.send_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n"
    )
    data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 413 %s\r\n" % HTTPStatus(413).phrase.encode())
    assert b"100 Continue" not in data


async def test_body_over_the_limit_while_streaming_closes(memory_server: Any) -> None:
    server = await memory_server(max_body_size=10)
    client = server.client()
    await client.send(
        h11.Request(
            method="POST", target="/", headers=[("Host", "x"), ("Transfer-Encoding", "chunked")]
        ),
        h11.Data(data=b"x" * 8),
        h11.Data(data=b"x" * 8),
    )
    data = await read_until_closed(client.stream)
    assert b"200 OK" not in data


async def test_head_sends_no_body_but_the_get_length(memory_server: Any) -> None:
    server = await memory_server()
    stream = server.connect()
    await stream.send_all(b"HEAD /abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await read_until_closed(stream)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: 10\r\n" in head  # what GET would send: b"HEAD /abc "
    assert body == b""


async def test_status_lines_carry_the_standard_reason(memory_server: Any) -> None:
    async def teapot(request: HTTPServerRequest) -> None:
        await respond(request, b"", status=int(request.path.strip("/")))

    server = await memory_server(teapot)
    client = server.client()
    for code, reason in [(404, b"Not Found"), (201, b"Created"), (503, b"Service Unavailable")]:
        await client.request("GET", f"/{code}")
        response, _ = await client.response()
        assert response.reason == reason


async def test_header_block_over_the_limit_gets_431(memory_server: Any) -> None:
    server = await memory_server(max_header_size=1024)
    stream = server.connect()
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n")
    data = await read_until_closed(stream)
    assert data.startswith(b"HTTP/1.1 431 ")


async def test_malformed_requests_get_400_and_a_closed_connection(memory_server: Any) -> None:
    server = await memory_server()
    bad_requests = [
        b"NONSENSE\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    ]
    for raw in bad_requests:
        stream = server.connect()
        await stream.send_all(raw)
        data = await read_until_closed(stream)
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), (raw, data)
    await trio.testing.wait_all_tasks_blocked()
    assert server.server.connection_count == 0


async def test_slowloris_head_is_cut_off(memory_server: Any, autojump_clock: Any) -> None:
    server = await memory_server(header_timeout=5)
    stream = server.connect()
    await stream.send_all(b"GET / HTTP/1.1\r\n")
    start = trio.current_time()
    for _ in range(3):
        await trio.sleep(1)
        await stream.send_all(b"X-A: b\r\n")
    data = await read_until_closed(stream)
    assert 4.9 < trio.current_time() - start < 6
    assert data.startswith(b"HTTP/1.1 408 ")


async def test_silent_new_connection_is_closed_after_header_timeout(
    memory_server: Any, autojump_clock: Any
) -> None:
    server = await memory_server(header_timeout=7)
    stream = server.connect()
    start = trio.current_time()
    assert await read_until_closed(stream) == b""
    assert 6.9 < trio.current_time() - start < 7.5


async def test_idle_keep_alive_connection_is_closed(
    memory_server: Any, autojump_clock: Any
) -> None:
    server = await memory_server(idle_connection_timeout=60, header_timeout=5)
    client = server.client()
    await client.request()
    await client.response()
    start = trio.current_time()
    assert await read_until_closed(client.stream) == b""
    assert 59.9 < trio.current_time() - start < 61
    await trio.testing.wait_all_tasks_blocked()
    assert server.server.connection_count == 0


async def test_stalled_body_times_out(memory_server: Any, autojump_clock: Any) -> None:
    server = await memory_server(body_timeout=20)
    stream = server.connect()
    await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    start = trio.current_time()
    data = await read_until_closed(stream)
    assert b"200 OK" not in data
    assert 19.9 < trio.current_time() - start < 21


async def test_client_that_stops_reading_hits_write_timeout(
    memory_server: Any, autojump_clock: Any
) -> None:
    async def big(request: HTTPServerRequest) -> None:
        await respond(request, b"x" * 1_000_000)

    server = await memory_server(big, write_timeout=15)
    stream = server.connect(lockstep=True)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    # Read nothing; the server's write must give up after write_timeout.
    await trio.sleep(16)
    await trio.testing.wait_all_tasks_blocked()
    assert server.server.connection_count == 0


async def test_client_leaving_cancels_a_waiting_handler(
    memory_server: Any, autojump_clock: Any
) -> None:
    events: list[str] = []
    never = trio.Event()

    async def long_poll(request: HTTPServerRequest) -> None:
        request.connection.set_close_callback(lambda: events.append("closed"))
        try:
            await never.wait()
        except trio.Cancelled:
            events.append("cancelled")
            raise

    server = await memory_server(long_poll)
    client = server.client()
    await client.request("GET", "/poll")
    await trio.sleep(0.5)  # long enough for the disconnect watcher to start
    await client.stream.aclose()
    await trio.testing.wait_all_tasks_blocked()
    assert server.server.connection_count == 0
    assert events == ["cancelled", "closed"]


async def test_quick_requests_start_no_watcher(memory_server: Any) -> None:
    server = await memory_server()
    client = server.client()
    await client.request()
    await client.response()
    conn = next(iter(server.server.connections))
    assert conn._watcher_done is None
    assert not server.server._in_flight


async def test_shutdown_closes_idle_connections_and_finishes_requests(
    memory_server: Any, autojump_clock: Any
) -> None:
    release = trio.Event()

    async def slow(request: HTTPServerRequest) -> None:
        if request.path == "/slow":
            await release.wait()
        await respond(request, b"done")

    server = await memory_server(slow, shutdown_timeout=30)
    idle = server.client()
    await idle.request()
    await idle.response()
    busy = server.client()
    await busy.request("GET", "/slow")
    await trio.sleep(1)
    server.server.shutdown()
    # The idle keep-alive connection closes at once ...
    assert await read_until_closed(idle.stream) == b""
    # ... the busy one finishes its response, marked Connection: close.
    await trio.sleep(5)
    release.set()
    response, body = await busy.response()
    assert body == b"done"
    assert header(response, "connection") == "close"


async def test_shutdown_cancels_requests_at_the_deadline(
    memory_server: Any, autojump_clock: Any
) -> None:
    cancelled = []

    async def forever(request: HTTPServerRequest) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.append(trio.current_time())

    server = await memory_server(forever, shutdown_timeout=10)
    client = server.client()
    await client.request()
    await trio.sleep(1)
    start = trio.current_time()
    server.server.shutdown()
    assert (await read_until_closed(client.stream)).startswith(b"HTTP/1.1 503 ")
    assert cancelled
    assert 9.9 < cancelled[0] - start < 10.5


async def test_gzip_request_body_is_decompressed(memory_server: Any) -> None:
    server = await memory_server(decompress_request=True)
    client = server.client()
    await client.request(
        "POST", "/", body=gzip.compress(b"squeezed"), headers=[("Content-Encoding", "gzip")]
    )
    _, body = await client.response()
    assert body == b"POST / squeezed"


async def test_gzip_bomb_is_stopped_at_max_body_size(memory_server: Any) -> None:
    server = await memory_server(decompress_request=True, max_body_size=1000)
    client = server.client()
    await client.request(
        "POST", "/", body=gzip.compress(b"\0" * 100_000), headers=[("Content-Encoding", "gzip")]
    )
    data = await read_until_closed(client.stream)
    assert b"200 OK" not in data


async def test_xheaders_give_the_real_client(memory_server: Any) -> None:
    async def whoami(request: HTTPServerRequest) -> None:
        await respond(request, f"{request.remote_ip} {request.protocol}".encode())

    server = await memory_server(whoami, xheaders=True, trusted_downstream=["10.0.0.9"])
    client = server.client()
    await client.request(
        headers=[("X-Forwarded-For", "203.0.113.7, 10.0.0.9"), ("X-Forwarded-Proto", "https")]
    )
    _, body = await client.response()
    assert body == b"203.0.113.7 https"
    await client.request(headers=[("X-Real-Ip", "not an ip")])
    _, body = await client.response()
    assert body == b"0.0.0.0 http"


async def test_handler_that_raises_gets_500_and_the_server_goes_on(
    memory_server: Any, caplog: Any
) -> None:
    async def broken(request: HTTPServerRequest) -> None:
        if request.path == "/boom":
            raise RuntimeError("boom")
        await respond(request, b"fine")

    server = await memory_server(broken)
    client = server.client()
    await client.request("GET", "/boom")
    response, _ = await client.response()
    assert response.status_code == 500
    other = server.client()
    await other.request("GET", "/")
    _, body = await other.response()
    assert body == b"fine"
    assert any("boom" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_client_leaving_mid_body_is_not_a_bad_request(
    memory_server: Any, caplog: Any
) -> None:
    events: list[str] = []

    class Upload:
        # Like an Application: handle_request is called before the body is read.
        async def handle_request(self, request: HTTPServerRequest) -> None:
            request.connection.set_close_callback(lambda: events.append("closed"))
            try:
                await request.connection.read_body()
            except RequestBodyError as exc:
                events.append(f"body error {exc.status_code}")
                raise

    server = await memory_server(Upload())
    stream = server.connect()
    await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
    await trio.testing.wait_all_tasks_blocked()
    await stream.send_eof()
    assert await read_until_closed(stream) == b""
    await trio.testing.wait_all_tasks_blocked()
    assert events == ["body error None", "closed"]
    assert server.server.connection_count == 0
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]


async def test_write_timeout_raises_stream_closed_in_the_handler(
    memory_server: Any, autojump_clock: Any
) -> None:
    outcome: list[str] = []

    async def big(request: HTTPServerRequest) -> None:
        conn = request.connection
        try:
            await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}))
            while True:
                await conn.write(b"x" * 65536)
        except StreamClosedError:
            outcome.append("stream closed")
            raise

    server = await memory_server(big, write_timeout=15)
    stream = server.connect(lockstep=True)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await trio.sleep(16)
    await trio.testing.wait_all_tasks_blocked()
    assert outcome == ["stream closed"]
    assert server.server.connection_count == 0


async def test_requests_cut_off_by_shutdown_get_503_and_the_close_callback(
    memory_server: Any, autojump_clock: Any
) -> None:
    events: list[str] = []

    async def stuck(request: HTTPServerRequest) -> None:
        request.connection.set_close_callback(lambda: events.append("closed"))
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
