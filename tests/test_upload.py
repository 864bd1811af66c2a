"""examples/upload.py: uploads streamed to disk, and nothing left behind when one fails."""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.example_loader import load_example
from trinado.httpserver import HTTPServer

GUARD = 10


upload = load_example("upload")
LIMIT = 1_000_000


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return upload.make_app(str(tmp_path), max_size=LIMIT)


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    received = b""
    while chunk := await stream.receive_some():
        received += chunk
    return received


async def wait_for_no_files(directory: Path) -> None:
    with trio.fail_after(2):
        while os.listdir(directory):  # noqa: ASYNC110 (the clean-up runs server-side)
            await trio.sleep(0.01)


async def test_a_chunked_upload_is_written_as_it_arrives(
    http_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pieces = [bytes([i]) * 10_000 for i in range(50)]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    response = await http_client.put("/files/data.bin", content=body())
    assert response.status_code == 201
    whole = b"".join(pieces)
    assert response.json() == {
        "name": "data.bin",
        "size": len(whole),
        "sha256": hashlib.sha256(whole).hexdigest(),
    }
    assert os.listdir(tmp_path) == ["data.bin"]  # no partial file left
    assert (tmp_path / "data.bin").read_bytes() == whole


async def test_an_empty_upload_makes_an_empty_file(
    http_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    response = await http_client.put("/files/empty", content=b"")
    assert response.json()["size"] == 0
    assert (tmp_path / "empty").read_bytes() == b""


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "%2e%2e"])
async def test_only_plain_names(http_client: httpx.AsyncClient, name: str) -> None:
    response = await http_client.put(f"/files/{name}", content=b"x")
    assert response.status_code == 404


async def test_a_declared_size_over_the_limit_gets_413(
    http_server: HTTPServer, tmp_path: Path
) -> None:
    with trio.fail_after(GUARD):
        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            await stream.send_all(
                b"PUT /files/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1)
            )
            received = await read_until_closed(stream)
    assert received.startswith(b"HTTP/1.1 413 ")
    assert os.listdir(tmp_path) == []


async def test_a_chunked_body_over_the_limit_leaves_nothing(
    http_server: HTTPServer, tmp_path: Path
) -> None:
    piece = b"%x\r\n%s\r\n" % (100_000, b"x" * 100_000)
    with trio.fail_after(GUARD):
        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            await stream.send_all(
                b"PUT /files/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            try:
                for _ in range(LIMIT // 100_000 + 2):
                    await stream.send_all(piece)
            except trio.BrokenResourceError:
                pass  # the server closed the connection at the limit
            received = await read_until_closed(stream)
    assert received == b""  # no answer: the connection was closed
    try:
        await wait_for_no_files(tmp_path)
    finally:
        gc.collect()  # the open partial file's ResourceWarning belongs to this test


async def test_a_client_leaving_mid_upload_leaves_nothing(
    http_server: HTTPServer, tmp_path: Path
) -> None:
    with trio.fail_after(GUARD):
        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            await stream.send_all(
                b"PUT /files/big HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n"
                + b"x" * 100_000
            )
            while not os.listdir(tmp_path):  # noqa: ASYNC110 (the upload started)
                await trio.sleep(0.01)
    await wait_for_no_files(tmp_path)
