"""examples/sse.py: Server-Sent Events, resumed after Last-Event-ID, ended by the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from tests.example_loader import load_example
from trinado.httpserver import HTTPServer

GUARD = 10


sse = load_example("sse")


@pytest.fixture
def feed() -> Any:
    return sse.Feed()


@pytest.fixture
def app(feed: Any) -> Any:
    return sse.make_app(feed, keepalive=0.2)


class RawClient:
    """Reads a response off a plain socket, so the test decides when to stop reading."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.received = b""

    async def request(self, head: bytes) -> None:
        await self.stream.send_all(head + b"\r\n")

    async def wait_for(self, text: bytes) -> None:
        """Reads until ``text`` has arrived (each flush is one chunk, so events stay whole)."""
        while text not in self.received:
            chunk = await self.stream.receive_some()
            assert chunk, f"closed before {text!r}; got {self.received!r}"
            self.received += chunk


@pytest.fixture
async def raw(http_server: HTTPServer) -> AsyncIterator[RawClient]:
    async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
        yield RawClient(stream)


async def test_events_arrive_as_they_are_posted(
    raw: RawClient, http_client: httpx.AsyncClient, feed: Any
) -> None:
    feed.post("before")
    with trio.fail_after(GUARD):
        await raw.request(b"GET /events HTTP/1.1\r\nHost: x\r\n")
        await raw.wait_for(b'retry: 2000\n\nid: 1\ndata: {"text": "before"}\n\n')
        assert b"\r\nContent-Type: text/event-stream\r\n" in raw.received
        assert b"\r\nCache-Control: no-cache\r\n" in raw.received
        answer = await http_client.post("/messages", data={"text": "hello"})
        assert answer.json() == {"id": 2}
        await raw.wait_for(b'id: 2\ndata: {"text": "hello"}\n\n')
        # Nothing to send for a while: a comment keeps the connection busy.
        await raw.wait_for(b": keepalive\n\n")


async def test_a_reconnecting_client_resumes_after_last_event_id(
    raw: RawClient, http_client: httpx.AsyncClient, feed: Any
) -> None:
    for text in ["a", "b", "c"]:
        feed.post(text)
    with trio.fail_after(GUARD):
        await raw.request(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 2\r\n")
        await raw.wait_for(b"id: 3\n")
    assert b"id: 1\n" not in raw.received
    assert b"id: 2\n" not in raw.received
    response = await http_client.get("/events", headers={"Last-Event-ID": "x"})
    assert response.status_code == 400


async def test_the_stream_ends_when_the_client_leaves(http_server: HTTPServer, feed: Any) -> None:
    with trio.fail_after(GUARD):
        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            await stream.send_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            while feed.streams == 0:  # noqa: ASYNC110 (the handler runs server-side)
                await trio.sleep(0.01)
        while feed.streams or http_server.connection_count:  # noqa: ASYNC110
            await trio.sleep(0.01)


async def test_the_page_uses_event_source(http_client: httpx.AsyncClient) -> None:
    page = await http_client.get("/")
    assert 'new EventSource("/events")' in page.text
