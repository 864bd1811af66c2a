"""Streaming with trinado.httpclient against trinado's own server, both ways.

Responses as an async iterator (``client.stream``) and through Tornado's callbacks; request
bodies from a ``body_producer``, with and without ``Expect: 100-continue``. The application
and its handlers are those of tests/test_httpclient.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import trio
import trio.lowlevel

from tests import test_httpclient
from tests.test_httpclient import Recorder, echoed
from trinado.httpclient import HTTPClient, HTTPClientError

# The same server, recorder and client as tests/test_httpclient.py.
recorder = test_httpclient.recorder
server = test_httpclient.server
url = test_httpclient.url
client = test_httpclient.client


async def test_stream_gives_pieces_as_they_arrive(
    client: HTTPClient, url: str, recorder: Recorder
) -> None:
    async with client.stream(f"{url}/chunked?wait=1") as response:
        assert response.code == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        pieces = response.aiter_bytes()
        # The server is holding the rest until we say so: the first piece came alone.
        assert await pieces.__anext__() == b"piece 0;"
        recorder.release.set()
        rest = [piece async for piece in pieces]
    assert b"".join(rest) == b"piece 1;piece 2;"
    assert client.idle_connections == 1


async def test_stream_read_and_early_exit(client: HTTPClient, url: str) -> None:
    async with client.stream(f"{url}/big?n=300000") as response:
        assert len(await response.read()) == 300000
    assert client.idle_connections == 1
    async with client.stream(f"{url}/big?n=300000&chunked=1") as response:
        first = await response.aiter_bytes().__anext__()
        assert first
    # Left half-read: the connection was closed, not put back mid-body.
    assert client.idle_connections == 0
    assert (await client.fetch(f"{url}/big?n=10")).body == b"x" * 10
    assert client.connections_opened == 2


async def test_stream_raises_status_errors_with_the_body(client: HTTPClient, url: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        async with client.stream(f"{url}/status/503"):
            raise AssertionError("not reached")
    assert info.value.response is not None
    assert info.value.response.body == b"status 503"
    async with client.stream(f"{url}/status/503", raise_error=False) as response:
        assert response.code == 503
        assert isinstance(response.error, HTTPClientError)
        assert await response.read() == b"status 503"
    with pytest.raises(ValueError, match="streaming_callback"):
        async with client.stream(f"{url}/echo", streaming_callback=print):
            pass


async def test_streaming_and_header_callbacks(client: HTTPClient, url: str) -> None:
    pieces: list[bytes] = []
    lines: list[str] = []
    response = await client.fetch(
        f"{url}/chunked", streaming_callback=pieces.append, header_callback=lines.append
    )
    assert response.body == b""
    assert b"".join(pieces) == b"piece 0;piece 1;piece 2;"
    assert lines[0] == "HTTP/1.1 200 OK\r\n"
    assert "Transfer-Encoding: chunked\r\n" in lines
    assert lines[-1] == "\r\n"

    async def slow_consumer(piece: bytes) -> None:
        await trio.lowlevel.checkpoint()
        pieces.append(piece)

    pieces.clear()
    await client.fetch(f"{url}/encoded/gzip?n=200000", streaming_callback=slow_consumer)
    assert b"".join(pieces) == b"trinado " * 25000
    assert max(len(piece) for piece in pieces) <= 65536


async def test_body_producer(client: HTTPClient, url: str) -> None:
    data = [b"a" * 1000, b"b" * 2000, b"", b"c"]

    async def producer(write: Any) -> None:
        for piece in data:
            await write(piece)
            await trio.lowlevel.checkpoint()

    response = await client.fetch(f"{url}/upload", method="PUT", body_producer=producer)
    result = echoed(response)
    assert result["size"] == 3001
    assert result["sha256"] == hashlib.sha256(b"".join(data)).hexdigest()
    assert result["chunked"] is True

    response = await client.fetch(
        f"{url}/upload",
        method="POST",
        body_producer=producer,
        headers={"Content-Length": "3001"},
    )
    assert echoed(response)["size"] == 3001
    assert echoed(response)["chunked"] is False

    with pytest.raises(ValueError, match="Content-Length"):
        await client.fetch(
            f"{url}/upload", method="POST", body_producer=producer, headers={"Content-Length": "5"}
        )
    with pytest.raises(ValueError, match="Invalid request"):
        await client.fetch(
            f"{url}/upload",
            method="POST",
            body_producer=producer,
            headers={"Content-Length": "5000"},
        )


async def test_expect_100_continue(client: HTTPClient, url: str) -> None:
    produced: list[str] = []

    async def producer(write: Any) -> None:
        produced.append("called")
        await write(b"x" * 100_000)

    response = await client.fetch(
        f"{url}/upload",
        method="PUT",
        body_producer=producer,
        expect_100_continue=True,
        headers={"Content-Length": "100000"},
    )
    assert echoed(response)["size"] == 100_000
    assert echoed(response)["expect"] == "100-continue"
    assert produced == ["called"]
    # Refused before the body: the producer never runs and the connection is not reused.
    produced.clear()
    opened = client.connections_opened
    response = await client.fetch(
        f"{url}/reject",
        method="POST",
        body_producer=producer,
        expect_100_continue=True,
        headers={"Content-Length": "100000"},
        raise_error=False,
    )
    assert response.code == 403
    assert produced == []
    await client.fetch(f"{url}/echo")
    assert client.connections_opened == opened + 1
