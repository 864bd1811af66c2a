"""trinado.httpclient against servers we did not write.

``python -m http.server`` (HTTP/1.0, one request per connection) and a small Tornado
application (HTTP/1.1 with keep-alive, chunked bodies, gzip, 100-continue), each in a
subprocess on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import trio

from trinado.httpclient import (
    HTTPClientError,
    HTTPTimeoutError,
    fetch,
    open_http_client,
)

TORNADO_APP = textwrap.dedent(
    """
    import asyncio, base64, hashlib, json, sys
    import tornado.netutil, tornado.web, tornado.httpserver

    class Peer(tornado.web.RequestHandler):
        def get(self):
            self.write({"port": self.request.connection.stream.socket.getpeername()[1]})

    class Chunked(tornado.web.RequestHandler):
        async def get(self):
            for i in range(3):
                self.write("tornado %d;" % i)
                await self.flush()

    class Text(tornado.web.RequestHandler):
        def get(self):
            self.set_header("Content-Type", "text/plain")
            self.write("compress me " * 1000)

    class Redirect(tornado.web.RequestHandler):
        def get(self):
            self.redirect(self.get_argument("to"), status=int(self.get_argument("status", "302")))
        post = get

    class Echo(tornado.web.RequestHandler):
        def get(self):
            self.write({"method": self.request.method, "headers": dict(self.request.headers),
                        "body": self.request.body.decode()})
        post = put = get

    class Slow(tornado.web.RequestHandler):
        async def get(self):
            await asyncio.sleep(10)

    @tornado.web.stream_request_body
    class Upload(tornado.web.RequestHandler):
        def prepare(self):
            self.size = 0
            self.sha = hashlib.sha256()
        def data_received(self, chunk):
            self.size += len(chunk)
            self.sha.update(chunk)
        def put(self):
            self.write({"size": self.size, "sha256": self.sha.hexdigest()})
        post = put

    async def main():
        app = tornado.web.Application(
            [("/peer", Peer), ("/chunked", Chunked), ("/text", Text), ("/redirect", Redirect),
             ("/echo", Echo), ("/slow", Slow), ("/upload", Upload)],
            compress_response=True,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        print(sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _start(args: list[str], **kwargs: object) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, **kwargs)  # type: ignore[call-overload]
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("www")
    (root / "hello.txt").write_text("Hello from http.server\n")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text("<p>sub index</p>")
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return root


@pytest.fixture(scope="module")
def stdlib_url(files: Path) -> Iterator[str]:
    process, line = _start(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=files,
        stderr=subprocess.DEVNULL,
    )
    try:
        # "Serving HTTP on 127.0.0.1 port 12345 (http://127.0.0.1:12345/) ..."
        port = int(line.split(" port ")[1].split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def tornado_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("tornado")
    script = tmp_path_factory.mktemp("tornado") / "app.py"
    script.write_text(TORNADO_APP)
    process, line = _start([sys.executable, str(script)], stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        _stop(process)


# --------------------------------------------------------------------------- http.server


async def test_stdlib_get_and_head(stdlib_url: str) -> None:
    lines: list[str] = []
    async with open_http_client() as client:
        response = await client.fetch(f"{stdlib_url}/hello.txt", header_callback=lines.append)
        assert response.body == b"Hello from http.server\n"
        assert response.headers["Content-Type"] == "text/plain"
        assert lines[0] == "HTTP/1.0 200 OK\r\n"
        response = await client.fetch(f"{stdlib_url}/hello.txt", method="HEAD")
        assert response.body == b""
        assert response.headers["Content-Length"] == "23"
        await client.fetch(f"{stdlib_url}/hello.txt")
        # HTTP/1.0 without keep-alive: every request had a connection of its own.
        assert client.connections_opened == 3
        assert client.idle_connections == 0


async def test_stdlib_errors(stdlib_url: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await fetch(f"{stdlib_url}/missing.txt")
    assert info.value.code == 404
    assert info.value.response is not None
    assert b"File not found" in info.value.response.body
    response = await fetch(f"{stdlib_url}/hello.txt", method="POST", body=b"", raise_error=False)
    assert response.code == 501


async def test_stdlib_directory_redirect(stdlib_url: str) -> None:
    response = await fetch(f"{stdlib_url}/sub")
    assert response.effective_url == f"{stdlib_url}/sub/"
    assert response.body == b"<p>sub index</p>"
    with pytest.raises(HTTPClientError) as info:
        await fetch(f"{stdlib_url}/sub", follow_redirects=False)
    assert info.value.code == 301
    assert info.value.response is not None
    assert info.value.response.headers["Location"] == "/sub/"


async def test_stdlib_streamed_download(stdlib_url: str, files: Path) -> None:
    digest = hashlib.sha256()
    pieces = 0
    async with open_http_client() as client, client.stream(f"{stdlib_url}/big.bin") as response:
        assert response.headers["Content-Length"] == str(1024 * 1024)
        async for piece in response.aiter_bytes():
            digest.update(piece)
            pieces += 1
    assert digest.hexdigest() == hashlib.sha256((files / "big.bin").read_bytes()).hexdigest()
    assert pieces > 1


async def test_stdlib_concurrent_requests(stdlib_url: str) -> None:
    bodies: list[bytes] = []
    async with open_http_client(max_connections_per_host=3) as client:

        async def one() -> None:
            bodies.append((await client.fetch(f"{stdlib_url}/hello.txt")).body)

        async with trio.open_nursery() as nursery:
            for _ in range(9):
                nursery.start_soon(one)
    assert bodies == [b"Hello from http.server\n"] * 9


# --------------------------------------------------------------------------- Tornado


async def test_tornado_keep_alive(tornado_url: str) -> None:
    async with open_http_client() as client:
        ports = [
            json.loads((await client.fetch(f"{tornado_url}/peer")).body)["port"] for _ in range(10)
        ]
        assert len(set(ports)) == 1
        assert client.connections_opened == 1


async def test_tornado_chunked_and_gzip(tornado_url: str) -> None:
    async with open_http_client() as client:
        response = await client.fetch(f"{tornado_url}/chunked")
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.body == b"tornado 0;tornado 1;tornado 2;"
        response = await client.fetch(f"{tornado_url}/text")
        assert response.headers["X-Consumed-Content-Encoding"] == "gzip"
        assert response.body == b"compress me " * 1000
        response = await client.fetch(f"{tornado_url}/text", decompress_response=False)
        assert "Content-Encoding" not in response.headers  # we did not ask for gzip
        assert response.body == b"compress me " * 1000
        assert client.connections_opened == 1


async def test_tornado_redirects_and_auth(tornado_url: str) -> None:
    async with open_http_client() as client:
        response = await client.fetch(
            f"{tornado_url}/redirect?to=/echo&status=303",
            method="POST",
            body="x=1",
            auth_username="user",
            auth_password="pass",
        )
        sent = json.loads(response.body)
        assert sent["method"] == "GET"
        assert (
            sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"user:pass").decode()
        )
        assert response.effective_url == f"{tornado_url}/echo"


async def test_tornado_uploads(tornado_url: str) -> None:
    payload = b"0123456789" * 50_000

    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        for i in range(0, len(payload), 8192):
            await write(payload[i : i + 8192])

    expected = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    async with open_http_client() as client:
        response = await client.fetch(f"{tornado_url}/upload", method="PUT", body_producer=producer)
        assert json.loads(response.body) == expected
        response = await client.fetch(
            f"{tornado_url}/upload", method="POST", body=payload, expect_100_continue=True
        )
        assert json.loads(response.body) == expected
        assert response.request_time is not None
        assert response.request_time < 1.0  # Tornado sent "100 Continue": no waiting


async def test_tornado_request_timeout(tornado_url: str) -> None:
    with pytest.raises(HTTPTimeoutError, match="Timeout during request"):
        await fetch(f"{tornado_url}/slow", request_timeout=0.2)
