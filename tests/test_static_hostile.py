"""StaticFileHandler under hostile input: traversal in every encoding, NUL bytes, symlinks
and special files, open redirects; and bounded memory for big files and slow clients.

Requests go over raw sockets (h11 on a TCP connection) so that the targets reach the
server exactly as written: HTTP client libraries normalize ``..`` and ``//`` away.
"""

from __future__ import annotations

import os
import resource
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import h11
import pytest
import trio

from tests.tornado_peer import serve_tornado
from trinado.static import StaticFileHandler
from trinado.testing import open_test_server
from trinado.web import Application

from .conftest import H11Client

SECRET = b"top secret\n"
HELLO = b"hello\n"


@pytest.fixture(autouse=True)
def _fresh_versions() -> Iterator[None]:
    StaticFileHandler.reset()
    yield
    StaticFileHandler.reset()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/static (served) next to tmp/outside (not served), with symlinks between them."""
    root = tmp_path / "static"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_bytes(HELLO)
    (root / "sub" / "index.html").write_bytes(b"index")
    (root / "%2e%2e").mkdir()  # a directory literally named "%2e%2e"
    (root / "%2e%2e" / "decoy.txt").write_bytes(b"decoy")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    # A sibling whose name starts with the root's name must not count as inside it.
    (tmp_path / "static2").mkdir()
    (tmp_path / "static2" / "secret.txt").write_bytes(SECRET)
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "leakdir").symlink_to(outside, target_is_directory=True)
    (root / "zero").symlink_to("/dev/zero")
    (root / "rootlink").symlink_to("/", target_is_directory=True)
    os.mkfifo(root / "fifo")
    return root


async def raw_get(port: int, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Sends one request with ``target`` as is; returns status, headers and body."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        client = H11Client(stream)
        client.conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method=method, target=target.encode("latin-1"), headers=[("Host", "127.0.0.1")]
        )
        with trio.fail_after(10):
            await client.send(request, h11.EndOfMessage())
            response, body = await client.response()
    headers = {k.decode().lower(): v.decode("latin-1") for k, v in response.headers}
    return response.status_code, headers, body


@asynccontextmanager
async def serving(app: Application) -> AsyncIterator[int]:
    async with open_test_server(app) as server:
        yield server.port


def static_app(root: Path, **args: Any) -> Application:
    return Application([(r"/static/(.*)", StaticFileHandler, {"path": str(root), **args})])


# Targets, and what trinado answers. 403: leads outside the root (as written, or through a
# symlink), or not a regular file. 404: a name that does not exist under the root (a
# backslash is an ordinary character in a POSIX file name; a double-encoded dot is the
# literal text "%2e"). Tornado answers the same (checked below).
TRAVERSALS = [
    ("/static/../outside/secret.txt", 403),
    ("/static/../../../../../../etc/passwd", 403),
    ("/static/sub/../../outside/secret.txt", 403),
    ("/static/%2e%2e/outside/secret.txt", 403),
    ("/static/%2E%2E/outside/secret.txt", 403),
    ("/static/..%2foutside%2fsecret.txt", 403),
    ("/static/..%2Foutside%2Fsecret.txt", 403),
    ("/static/%2e%2e%2f%2e%2e%2foutside/secret.txt", 403),
    ("/static/.%2e/outside/secret.txt", 403),
    ("/static/../static2/secret.txt", 403),
    ("/static//etc/passwd", 403),
    ("/static/%2fetc%2fpasswd", 403),
    ("/static/leak.txt", 403),
    ("/static/leakdir/secret.txt", 403),
    ("/static/rootlink/etc/passwd", 403),
    ("/static/zero", 403),
    ("/static/fifo", 403),
    ("/static/sub", 403),
    ("/static/%252e%252e/outside/secret.txt", 404),
    ("/static/%252e%252e/decoy.txt", 200),
    ("/static/..%5coutside%5csecret.txt", 404),
    ("/static/..\\outside\\secret.txt", 404),
    ("/static/%5c..%5c..%5coutside%5csecret.txt", 404),
    ("/static/hello.txt/..", 403),
    ("/static/./hello.txt", 200),
    ("/static/sub/../hello.txt", 200),
]


@pytest.mark.parametrize(("target", "status"), TRAVERSALS)
async def test_traversal_attempts(tree: Path, target: str, status: int) -> None:
    async with serving(static_app(tree)) as port:
        code, _, body = await raw_get(port, target)
        head_code, _, head_body = await raw_get(port, target, method="HEAD")
    assert code == status
    assert head_code == status
    assert SECRET not in body
    assert b"root:" not in body
    assert head_body == b""


@pytest.mark.parametrize(
    "target", ["/static/%00", "/static/hello.txt%00.css", "/static/%00/../outside/secret.txt"]
)
async def test_nul_bytes_are_400(tree: Path, target: str) -> None:
    async with serving(static_app(tree)) as port:
        code, _, body = await raw_get(port, target)
    assert code == 400
    assert SECRET not in body


async def test_wider_symlink_directory_never_lets_dot_dot_through(tree: Path) -> None:
    app = static_app(tree, allowed_symlink_directory=str(tree.parent))
    async with serving(app) as port:
        assert (await raw_get(port, "/static/leak.txt"))[0] == 200
        assert (await raw_get(port, "/static/../outside/secret.txt"))[0] == 403
        assert (await raw_get(port, "/static/%2e%2e/outside/secret.txt"))[0] == 403


async def test_devices_are_refused_even_where_symlinks_may_point(tree: Path) -> None:
    app = static_app(tree, allowed_symlink_directory=["/dev"])
    async with serving(app) as port:
        with trio.fail_after(5):
            assert (await raw_get(port, "/static/zero"))[0] == 403


async def test_no_redirect_to_a_protocol_relative_url(tree: Path) -> None:
    # "//sub" reaching the handler as "sub": the redirect to "//sub/" would send the
    # browser to the host "sub".
    app = Application(
        [(r"/+(.*)", StaticFileHandler, {"path": str(tree), "default_filename": "index.html"})]
    )
    async with serving(app) as port:
        code, headers, _ = await raw_get(port, "/sub")
        assert code == 301
        assert headers["location"] == "/sub/"
        for target in ("//sub", "///sub", "/\\sub"):
            code, headers, _ = await raw_get(port, target)
            if target == "/\\sub":
                assert code == 404  # "\\sub" is no directory; nothing is redirected
            else:
                assert code == 403, target
            assert "location" not in headers


async def test_static_url_of_a_traversal_is_403(tree: Path) -> None:
    from trinado.web import RequestHandler

    class Url(RequestHandler):
        def get(self) -> None:
            self.write(self.static_url(self.get_argument("p")))

    app = Application([(r"/url", Url)], static_path=str(tree))
    async with serving(app) as port:
        assert (await raw_get(port, "/url?p=../outside/secret.txt"))[0] == 403
        assert (await raw_get(port, "/url?p=/etc/passwd"))[0] == 403
        assert (await raw_get(port, "/url?p=hello.txt"))[0] == 200


# --------------------------------------------------------------------------- Tornado


def tornado_static_app(root: Path) -> Any:
    """Tornado's StaticFileHandler on the same tree."""
    import tornado.web

    return tornado.web.Application(
        [(r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(root)})]
    )


async def test_same_statuses_as_tornado(tree: Path) -> None:
    import logging

    logging.getLogger("tornado.access").disabled = True
    try:
        async with (
            serving(static_app(tree)) as port,
            serve_tornado(lambda: tornado_static_app(tree)) as tornado_port,
        ):
            for target, status in TRAVERSALS:
                theirs = (await raw_get(tornado_port, target))[0]
                assert theirs == status, (target, theirs)
                assert (await raw_get(port, target))[0] == theirs
    finally:
        logging.getLogger("tornado.access").disabled = False


# --------------------------------------------------------------------------- memory


def make_sparse(path: Path, size: int) -> None:
    """A file of ``size`` zero bytes that takes no disk space."""
    with open(path, "wb") as file:
        file.truncate(size)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


class RecordingHandler(StaticFileHandler):
    """Keeps the handlers it creates, so the test can look at what they read."""

    instances: list[RecordingHandler] = []  # noqa: RUF012

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.instances.append(self)


async def _read_some(stream: trio.SocketStream, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = await stream.receive_some(min(16384, count - len(data)))
        assert chunk, "connection closed early"
        data += chunk
    return data


@asynccontextmanager
async def slow_download(
    port: int, target: str, headers: str = ""
) -> AsyncIterator[tuple[trio.SocketStream, bytes]]:
    """A client with a small receive buffer that has sent its request and read a little."""
    import socket

    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    async with stream:
        request = f"GET {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
        await stream.send_all(request.encode())
        yield stream, await _read_some(stream, 256 * 1024)


async def _wait_until_stalled(read: Any) -> int:
    """Waits until ``read()`` (bytes the server has read) stops growing; returns it."""
    last = -1
    with trio.fail_after(20):
        while True:
            await trio.sleep(0.2)
            now = read()
            if now == last:
                return int(now)
            last = now


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
async def test_big_file_to_a_slow_client_is_not_held_in_memory(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    root = tmp_path / "big"
    root.mkdir()
    make_sparse(root / "sparse.bin", size)
    RecordingHandler.instances = []
    app = Application([(r"/(.*)", RecordingHandler, {"path": str(root)})])
    async with serving(app) as port:
        before = _rss_bytes()
        async with slow_download(port, "/sparse.bin") as (stream, first):
            (handler,) = RecordingHandler.instances

            def read_by_server() -> int:
                return handler._reader.bytes_read if handler._reader else 0

            stalled = await _wait_until_stalled(read_by_server)
            # The server read what the sockets hold (a few MiB of kernel buffers) plus one
            # chunk, then waited for the client: nowhere near the whole file.
            assert stalled - len(first) < 16 * 1024 * 1024
            assert _rss_bytes() - before < 24 * 1024 * 1024
            # The client picks up again and gets every byte.
            received = len(first) - first.index(b"\r\n\r\n") - 4
            while received < size:
                chunk = await stream.receive_some(1 << 20)
                assert chunk
                assert chunk.count(0) == len(chunk)
                received += len(chunk)
            assert received == size
        assert handler._reader is not None
        assert handler._reader.bytes_read == size


async def test_sync_get_content_is_pulled_only_as_fast_as_the_client_reads(
    tmp_path: Path,
) -> None:
    produced = 0

    class Endless(StaticFileHandler):
        @classmethod
        def get_content(
            cls, abspath: str, start: int | None = None, end: int | None = None
        ) -> Iterator[bytes]:
            nonlocal produced
            remaining = (1 << 30 if end is None else end) - (start or 0)
            while remaining > 0:
                chunk = b"x" * min(65536, remaining)
                produced += len(chunk)
                remaining -= len(chunk)
                yield chunk

        @classmethod
        def get_content_version(cls, abspath: str) -> str:
            return "v"

        def get_content_size(self) -> int:
            return 1 << 30  # 1 GiB, never materialized

    (tmp_path / "f").write_bytes(b"")
    app = Application([(r"/(.*)", Endless, {"path": str(tmp_path)})])
    async with serving(app) as port, slow_download(port, "/f"):
        stalled = await _wait_until_stalled(lambda: produced)
        assert stalled < 16 * 1024 * 1024


async def test_client_leaving_mid_download_closes_the_file(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    make_sparse(root / "sparse.bin", 20 * 1024 * 1024)
    RecordingHandler.instances = []
    finished = trio.Event()

    class Watched(RecordingHandler):
        def on_finish(self) -> None:
            finished.set()

    app = Application([(r"/(.*)", Watched, {"path": str(root)})])
    async with serving(app) as port:
        async with slow_download(port, "/sparse.bin"):
            (handler,) = RecordingHandler.instances
        # The client is gone: the next write fails and the handler ends.
        with trio.fail_after(10):
            await finished.wait()
        assert handler._reader is not None
        assert handler._reader._fd == -1
        assert handler._reader.bytes_read < 20 * 1024 * 1024
