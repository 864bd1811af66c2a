"""Response heads: the path where h11 takes a pre-framed head as it is, and h11's own path.

`trinado._http1_write.ServerConnection` lets h11 skip rebuilding a head that has a valid
Content-Length and no Transfer-Encoding while the connection stays open; every other head
(a client closing, a streamed body, HTTP/1.0) goes through h11's own framing.
"""

from __future__ import annotations

from typing import Any

import pytest

from trinado._wire import encode_headers
from trinado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

from .conftest import header, read_until_closed, respond

OK = ResponseStartLine("HTTP/1.1", 200, "OK")


def raw_head(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


async def test_prefiltered_head_is_sent_as_built_and_kept_alive(memory_server: Any) -> None:
    async def app(request: HTTPServerRequest) -> None:
        headers = HTTPHeaders({"Content-Type": "text/plain", "X-Mixed-CASE": "v1"})
        await request.connection.send_response(OK, headers, b"hi")

    server = await memory_server(app)
    stream = server.connect()
    for _ in range(2):  # kept alive: the same connection answers again
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n\r\nhi"):
            data += await stream.receive_some(65536)
        lines = raw_head(data)
        assert lines[0] == b"HTTP/1.1 200 OK"
        names = [line.split(b":", 1)[0] for line in lines[1:]]
        assert names == [b"Content-Type", b"X-Mixed-Case", b"Date", b"Content-Length"]
        assert b"Content-Length: 2" in lines
        assert not any(line.lower().startswith(b"connection:") for line in lines)


async def test_client_asking_to_close_gets_connection_close(memory_server: Any) -> None:
    server = await memory_server(lambda request: respond(request, b"bye"))
    stream = server.connect()
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await read_until_closed(stream)
    assert b"Connection: close" in raw_head(data)
    assert data.endswith(b"\r\n\r\nbye")


async def test_streamed_body_is_chunked_by_h11(memory_server: Any) -> None:
    async def app(request: HTTPServerRequest) -> None:
        conn = request.connection
        await conn.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}), b"ab")
        await conn.write(b"cd")
        await conn.finish()

    server = await memory_server(app)
    client = server.client()
    for _ in range(2):
        await client.request()
        response, body = await client.response()
        assert header(response, "Transfer-Encoding") == "chunked"
        assert header(response, "Content-Length") is None
        assert body == b"abcd"


async def test_app_connection_close_header_ends_the_connection(memory_server: Any) -> None:
    server = await memory_server(lambda request: respond(request, b"x", Connection="close"))
    stream = server.connect()
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = await read_until_closed(stream)
    assert b"Connection: close" in raw_head(data)


async def test_content_length_h11_would_refuse_is_a_500(memory_server: Any) -> None:
    errors: list[BaseException] = []

    async def app(request: HTTPServerRequest) -> None:
        try:
            headers = HTTPHeaders({"Content-Length": "1" * 21})
            await request.connection.send_response(OK, headers, b"")
        except ValueError as exc:
            errors.append(exc)
            raise

    server = await memory_server(app)
    client = server.client()
    await client.request()
    response, _ = await client.response()
    assert response.status_code == 500
    assert len(errors) == 1


def test_encode_headers_gives_h11_items() -> None:
    headers = HTTPHeaders({"Content-Type": "text/plain"})
    headers.add("Set-Cookie", "a=1")
    headers.add("Set-Cookie", "b=2")
    items, has_length, has_te = encode_headers(headers, 200, 5)
    assert items[:3] == [
        (b"Content-Type", b"content-type", b"text/plain"),
        (b"Set-Cookie", b"set-cookie", b"a=1"),
        (b"Set-Cookie", b"set-cookie", b"b=2"),
    ]
    assert items[3][:2] == (b"Date", b"date")
    assert items[4] == (b"Content-Length", b"content-length", b"5")
    assert (has_length, has_te) == (True, False)
    _, has_length, has_te = encode_headers(HTTPHeaders({"Transfer-Encoding": "chunked"}), 200, None)
    assert (has_length, has_te) == (False, True)


@pytest.mark.parametrize("value", ["", "1,2", " 1", "1" * 21, "-1"])
def test_encode_headers_refuses_bad_content_length(value: str) -> None:
    with pytest.raises(ValueError, match="Content-Length"):
        encode_headers(HTTPHeaders({"Content-Length": value}), 200, None)
