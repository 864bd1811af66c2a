"""Testing examples/helloworld.py with trinado's pytest plugin, as docs/testing.md shows.

Run it with ``pytest examples/test_helloworld.py``: it needs pytest-trio with
``trio_mode = true`` in the pytest configuration, and httpx.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing
from helloworld import make_app

from trinado import web
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server


@pytest.fixture
def app() -> web.Application:
    return make_app()


async def test_home(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/")
    assert response.text == "Hello, world"


async def test_unknown_path(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/nowhere")
    assert response.status_code == 404


async def test_server_url(server_url: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(server_url + "/")
    assert response.status_code == 200


async def test_raw_http(http_server: HTTPServer) -> None:
    received = b""
    async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
        await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")
        with trio.fail_after(5):
            while chunk := await stream.receive_some():
                received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b"\r\n\r\nHello, world")


class TestSmallLimits:
    @pytest.fixture
    def http_server_options(self) -> dict[str, Any]:
        return {"max_header_size": 1024, "max_body_size": 16}

    async def test_large_head(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/", headers={"X-Large": "x" * 2000})
        assert response.status_code == 431

    async def test_large_body(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.post("/", content=b"x" * 17)
        assert response.status_code == 413


async def test_without_fixtures() -> None:
    async with (
        open_test_server(make_app()) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        response = await client.get("/")
    assert response.text == "Hello, world"


async def test_slow_client_gets_408(nursery: trio.Nursery, autojump_clock: Any) -> None:
    # No socket: the server reads a memory stream, and the clock jumps over the 30 s wait.
    server = HTTPServer(make_app(), header_timeout=30)
    await nursery.start(server.serve, [])  # no listeners
    client, server_end = trio.testing.memory_stream_pair()
    server.start_connection(server_end)
    await client.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n")  # ...and nothing more
    start = trio.current_time()
    received = b""
    while chunk := await client.receive_some():
        received += chunk
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert trio.current_time() - start == pytest.approx(30)
