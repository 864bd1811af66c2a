"""Shared helpers: serve a request callable over an in-memory stream and talk h11 to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import h11
import pytest
import trio
import trio.testing

from trinado.httpserver import HTTPServer
from trinado.httputil import HTTPHeaders, HTTPServerRequest, ResponseStartLine

RequestCallback = Callable[[HTTPServerRequest], Awaitable[None]]


async def respond(
    request: HTTPServerRequest, body: bytes, status: int = 200, **headers: str
) -> None:
    """Answer ``request`` with one ``send_response`` (what the web layer does)."""
    head = HTTPHeaders({"Content-Type": "text/plain", **headers})
    await request.connection.send_response(ResponseStartLine("HTTP/1.1", status, ""), head, body)


async def echo(request: HTTPServerRequest) -> None:
    """Answer with the method, target and body of the request."""
    await respond(request, f"{request.method} {request.uri} ".encode() + request.body)


class H11Client:
    """A real h11 client on one end of a stream; the server is on the other."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    async def send(self, *events: Any) -> None:
        data = b"".join(self.conn.send(event) or b"" for event in events)
        await self.stream.send_all(data)

    async def request(
        self,
        method: str = "GET",
        target: str = "/",
        body: bytes | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        hdrs = [("Host", "example.com"), *(headers or [])]
        if body is not None and not any(k.lower() == "transfer-encoding" for k, _ in hdrs):
            hdrs.append(("Content-Length", str(len(body))))
        events: list[Any] = [h11.Request(method=method, target=target, headers=hdrs)]
        if body:
            events.append(h11.Data(data=body))
        events.append(h11.EndOfMessage())
        await self.send(*events)

    async def next_event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(bytes(await self.stream.receive_some(65536)))
                continue
            return event

    async def response(self) -> tuple[h11.Response, bytes]:
        """Read one whole response; returns it and its body."""
        response = await self.next_event()
        while type(response) is h11.InformationalResponse:
            response = await self.next_event()
        assert type(response) is h11.Response, response
        body = b""
        while True:
            event = await self.next_event()
            if type(event) is h11.EndOfMessage:
                break
            body += event.data
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        return response, body


async def read_until_closed(stream: trio.abc.ReceiveStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        chunk = await stream.receive_some(65536)
        if not chunk:
            return data
        data += chunk


class MemoryServer:
    """An HTTPServer serving in-memory connections inside a test's nursery."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server

    def connect(self, *, lockstep: bool = False) -> trio.abc.Stream:
        make_pair = (
            trio.testing.lockstep_stream_pair if lockstep else trio.testing.memory_stream_pair
        )
        server_end, client_end = make_pair()
        self.server.start_connection(server_end)
        return client_end

    def client(self) -> H11Client:
        return H11Client(self.connect())


@pytest.fixture
def memory_server(nursery: trio.Nursery) -> Callable[..., Awaitable[MemoryServer]]:
    """Start an HTTPServer with no listeners; connect to it over memory streams."""

    async def start(callback: Any = echo, **options: Any) -> MemoryServer:
        server = HTTPServer(callback, **options)
        await nursery.start(server.serve, [])
        return MemoryServer(server)

    return start


def header(response: h11.Response, name: str) -> str | None:
    """One header of an h11 response, as str (None when missing)."""
    wanted = name.lower().encode()
    for key, value in response.headers:
        if key == wanted:
            return value.decode("latin-1")
    return None
