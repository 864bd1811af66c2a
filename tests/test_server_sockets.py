"""The server on real sockets: TCP, TLS, Unix sockets, port sharing, shutdown and signals.

An independent client (httpx) talks to servers bound to 127.0.0.1 on port 0. What
tests/test_http1.py covers over memory streams (protocol details, limits, timeouts) is not
repeated here; these tests check what only a real listener shows.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
import trustme

from tests.ports import free_port
from trinado.httpserver import HTTPServer, serve
from trinado.httputil import HTTPServerRequest

from .conftest import H11Client, echo, header, read_until_closed, respond

GUARD = 10  # seconds before a stuck test fails instead of hanging


async def start_server(nursery: trio.Nursery, app: Any = echo, **options: Any) -> HTTPServer:
    """Serve ``app`` on 127.0.0.1, a free port, inside ``nursery``; return the server."""
    server: HTTPServer = await nursery.start(
        functools.partial(serve, app, 0, "127.0.0.1", handle_signals=False, **options)
    )
    return server


async def no_connections_left(server: HTTPServer, timeout: float = 5) -> None:
    """Wait until the server has no connection open (fails after ``timeout``)."""
    with trio.fail_after(timeout):
        while server.connection_count:  # noqa: ASYNC110 (no event to wait on)
            await trio.sleep(0.01)


async def whoami(request: HTTPServerRequest) -> None:
    """Answer with the protocol and remote IP the server saw."""
    await respond(request, f"{request.protocol} {request.remote_ip}".encode())


def url(server: HTTPServer, path: str = "/", scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.port}{path}"


# ------------------------------------------------------------------ plain TCP with httpx


async def test_get_post_and_head_over_tcp(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient() as client:
            got = await client.get(url(server, "/a/b?x=1"))
            assert got.status_code == 200
            assert got.reason_phrase == "OK"
            assert got.content == b"GET /a/b?x=1 "
            assert got.headers["content-type"] == "text/plain"
            assert "date" in got.headers

            posted = await client.post(url(server, "/form"), content=b"a=1&b=\xff" * 1000)
            assert posted.status_code == 200
            assert posted.content == b"POST /form " + b"a=1&b=\xff" * 1000

            head = await client.head(url(server, "/a/b?x=1"))
            assert head.status_code == 200
            assert head.content == b""
            # HEAD announces the length GET would send ("HEAD" is as long as "GET ").
            assert head.headers["content-length"] == str(len(b"HEAD /a/b?x=1 "))


async def test_keep_alive_reuses_one_connection(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient() as client:
            for i in range(5):
                got = await client.get(url(server, f"/n/{i}"))
                assert got.content == f"GET /n/{i} ".encode()
                assert got.headers.get("connection") != "close"
                assert server.connection_count == 1
        await no_connections_left(server)


async def test_remote_ip_is_the_peer_address(nursery: trio.Nursery) -> None:
    server = await start_server(nursery, whoami)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient() as client:
            got = await client.get(url(server))
    assert got.content == b"http 127.0.0.1"


async def test_nursery_start_gives_the_running_server(nursery: trio.Nursery) -> None:
    server = await nursery.start(
        functools.partial(serve, echo, 0, "127.0.0.1", handle_signals=False)
    )
    assert isinstance(server, HTTPServer)
    assert server.port != 0
    assert server.ports == [server.port]
    with trio.fail_after(GUARD):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        client = H11Client(stream)
        await client.request("GET", "/started")
        response, body = await client.response()
    assert response.status_code == 200
    assert body == b"GET /started "
    await stream.aclose()


def _loopback_for(family: int) -> str:
    return "::1" if family == socket.AF_INET6 else "127.0.0.1"


@pytest.mark.parametrize("host", ["", "localhost"])
async def test_port_zero_gives_every_family_the_same_port(nursery: trio.Nursery, host: str) -> None:
    server = await start_server_on(nursery, host)
    families = {sock.family for sock in server.sockets}
    if host == "" and socket.has_ipv6:
        assert families == {socket.AF_INET, socket.AF_INET6}
    assert len(server.ports) == len(server.sockets) >= 1
    assert set(server.ports) == {server.port}
    with trio.fail_after(GUARD):
        for family in families:
            stream = await trio.open_tcp_stream(_loopback_for(family), server.port)
            client = H11Client(stream)
            await client.request("GET", f"/family/{int(family)}")
            _, body = await client.response()
            assert body == f"GET /family/{int(family)} ".encode()
            await stream.aclose()


async def start_server_on(nursery: trio.Nursery, host: str) -> HTTPServer:
    server: HTTPServer = await nursery.start(
        functools.partial(serve, echo, 0, host, handle_signals=False)
    )
    return server


# --------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_request_gets_200_and_protocol_https(
    nursery: trio.Nursery, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    server = await start_server(nursery, whoami, ssl_context=server_ssl_context)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient(verify=client_ssl_context) as client:
            for _ in range(2):
                got = await client.get(url(server, scheme="https"))
                assert got.status_code == 200
                assert got.content == b"https 127.0.0.1"
            assert server.connection_count == 1
        await no_connections_left(server)


async def test_https_accepts_ssl_options_dict(
    nursery: trio.Nursery, ca: trustme.CA, client_ssl_context: ssl.SSLContext, tmp_path: Path
) -> None:
    cert = ca.issue_cert("127.0.0.1")
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    server = await start_server(nursery, whoami, ssl_options={"certfile": str(pem)})
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient(verify=client_ssl_context) as client:
            got = await client.get(url(server, scheme="https"))
    assert got.content == b"https 127.0.0.1"


async def test_client_that_never_handshakes_is_dropped(
    nursery: trio.Nursery, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    server = await start_server(
        nursery, whoami, ssl_context=server_ssl_context, handshake_timeout=0.5
    )
    with trio.fail_after(GUARD):
        silent = await trio.open_tcp_stream("127.0.0.1", server.port)
        # The silent client holds no slot in the accept loop: others are served meanwhile.
        async with httpx.AsyncClient(verify=client_ssl_context) as client:
            got = await client.get(url(server, scheme="https"))
            assert got.status_code == 200
        assert await _read_until_closed_or_reset(silent) == b""
        await silent.aclose()
        await no_connections_left(server)


async def test_plain_http_to_the_https_port_is_dropped(
    nursery: trio.Nursery, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    server = await start_server(nursery, whoami, ssl_context=server_ssl_context)
    with trio.fail_after(GUARD):
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await _read_until_closed_or_reset(stream)
        assert b"200 OK" not in data
        await stream.aclose()
        async with httpx.AsyncClient(verify=client_ssl_context) as client:
            got = await client.get(url(server, scheme="https"))
        assert got.status_code == 200
        await no_connections_left(server)


async def _read_until_closed_or_reset(stream: trio.abc.ReceiveStream) -> bytes:
    try:
        return await read_until_closed(stream)
    except trio.BrokenResourceError:
        return b""


# ------------------------------------------------------------------------- Unix socket


async def test_unix_socket_listener(nursery: trio.Nursery, tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    server: HTTPServer = await nursery.start(
        functools.partial(serve, whoami, unix_socket=path, handle_signals=False)
    )
    assert await trio.Path(path).is_socket()
    with pytest.raises(RuntimeError):
        _ = server.port
    assert server.ports == []
    transport = httpx.AsyncHTTPTransport(uds=path)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(2):
                got = await client.get("http://localhost/")
                assert got.status_code == 200
                # No IP on a Unix socket: Tornado reports 0.0.0.0.
                assert got.content == b"http 0.0.0.0"
            assert server.connection_count == 1
        await no_connections_left(server)


async def test_unix_socket_of_a_running_server_is_not_taken_over(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    path = str(tmp_path / "live.sock")
    first: HTTPServer = await nursery.start(
        functools.partial(serve, whoami, unix_socket=path, handle_signals=False)
    )
    with trio.fail_after(GUARD), pytest.raises(OSError, match="in use by a running server") as info:
        await serve(whoami, unix_socket=path, handle_signals=False)
    assert info.value.errno == errno.EADDRINUSE
    transport = httpx.AsyncHTTPTransport(uds=path)
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient(transport=transport) as client:
            assert (await client.get("http://localhost/")).status_code == 200  # still the first
    first.shutdown()


async def test_unix_socket_replaces_a_stale_socket_file(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays behind, as after a crash
    server: HTTPServer = await nursery.start(
        functools.partial(serve, echo, unix_socket=path, handle_signals=False)
    )
    with trio.fail_after(GUARD):
        async with await trio.open_unix_socket(path) as stream:
            client = H11Client(stream)
            await client.request("GET", "/fresh")
            _, body = await client.response()
        await no_connections_left(server)
    assert body == b"GET /fresh "


async def test_unix_socket_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-a-socket"
    path.write_text("keep me")
    with trio.fail_after(GUARD), pytest.raises(ValueError, match="not a socket"):
        await serve(echo, unix_socket=str(path), handle_signals=False)
    assert path.read_text() == "keep me"


# ----------------------------------------------------------------- port sharing and errors


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
async def test_reuse_port_lets_two_servers_share_a_port(nursery: trio.Nursery) -> None:
    async def first(request: HTTPServerRequest) -> None:
        await respond(request, b"first")

    async def second(request: HTTPServerRequest) -> None:
        await respond(request, b"second")

    one = await start_server(nursery, first, reuse_port=True)
    two: HTTPServer = await nursery.start(
        functools.partial(
            serve, second, one.port, "127.0.0.1", reuse_port=True, handle_signals=False
        )
    )
    assert two.port == one.port
    with trio.fail_after(GUARD):
        seen = set()
        # The kernel spreads connections over both listeners; a fresh connection each time.
        for _ in range(50):
            async with httpx.AsyncClient() as client:
                got = await client.get(url(one), headers={"Connection": "close"})
                assert got.status_code == 200
                seen.add(got.content)
            if len(seen) == 2:
                break
    # Both servers got connections (the odds of 50 landing on one side are 2**-49).
    assert seen == {b"first", b"second"}
    # With one server gone, the other still answers on the shared port.
    one.shutdown()
    with trio.fail_after(GUARD):
        while one.sockets[0].fileno() != -1:  # noqa: ASYNC110 (no event to wait on)
            await trio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            got = await client.get(url(two))
    assert got.content == b"second"


async def test_port_in_use_raises_a_clear_oserror(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    with trio.fail_after(GUARD), pytest.raises(OSError, match="in use") as info:
        await serve(echo, server.port, "127.0.0.1", handle_signals=False)
    assert str(server.port) in str(info.value)
    # The first server is unharmed.
    with trio.fail_after(GUARD):
        async with httpx.AsyncClient() as client:
            got = await client.get(url(server, "/still"))
    assert got.content == b"GET /still "


# -------------------------------------------------------------------- graceful shutdown


async def test_graceful_shutdown_over_real_sockets() -> None:
    started = trio.Event()
    release = trio.Event()

    async def app(request: HTTPServerRequest) -> None:
        if request.path == "/slow":
            started.set()
            await release.wait()
        await respond(request, b"done " + request.path.encode())

    results: dict[str, httpx.Response] = {}

    async def slow_request(client: httpx.AsyncClient, port: int) -> None:
        results["slow"] = await client.get(f"http://127.0.0.1:{port}/slow")

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            server: HTTPServer = await nursery.start(
                functools.partial(
                    serve, app, 0, "127.0.0.1", handle_signals=False, shutdown_timeout=30
                )
            )
            port = server.port
            async with (
                await trio.open_tcp_stream("127.0.0.1", port) as idle_stream,
                httpx.AsyncClient() as client,
            ):
                # An idle keep-alive connection ...
                idle = H11Client(idle_stream)
                await idle.request("GET", "/idle")
                _, body = await idle.response()
                assert body == b"done /idle"
                async with trio.open_nursery() as requests:
                    # ... and one with a request in flight.
                    requests.start_soon(slow_request, client, port)
                    await started.wait()
                    assert server.connection_count == 2
                    server.shutdown()
                    # The idle connection is closed at once.
                    assert await read_until_closed(idle_stream) == b""
                    # New connections are refused.
                    await _until_refused(port)
                    # The request in flight still completes; its connection then closes.
                    release.set()
            slow = results["slow"]
            assert slow.status_code == 200
            assert slow.content == b"done /slow"
            assert slow.headers["connection"] == "close"
        # serve returned by itself: the nursery was never cancelled.
        assert not nursery.cancel_scope.cancel_called
    assert server.connection_count == 0


async def _until_refused(port: int, host: str = "127.0.0.1") -> None:
    while True:
        try:
            stream = await trio.open_tcp_stream(host, port)
        except OSError:
            return
        await stream.aclose()
        await trio.sleep(0.01)


async def test_shutdown_with_nothing_open_returns_promptly() -> None:
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            server: HTTPServer = await nursery.start(
                functools.partial(serve, echo, 0, "127.0.0.1", handle_signals=False)
            )
            port = server.port
            server.shutdown()
        # serve returned by itself (the nursery was not cancelled) and closed its listener.
        assert not nursery.cancel_scope.cancel_called
        with pytest.raises(OSError, match="connect"):
            await trio.open_tcp_stream("127.0.0.1", port)


# ------------------------------------------------------------------------------ signals

SIGNAL_SCRIPT = """
import os, sys
import trio
from trinado.httpserver import serve
from trinado.httputil import HTTPHeaders, ResponseStartLine

port, go_file = int(sys.argv[1]), sys.argv[2]

async def app(request):
    print("in flight", flush=True)
    with trio.fail_after(20):
        while not os.path.exists(go_file):
            await trio.sleep(0.01)
    await request.connection.send_response(
        ResponseStartLine("HTTP/1.1", 200, "OK"),
        HTTPHeaders({"Content-Type": "text/plain"}),
        b"finished",
    )

trio.run(serve, app, port, "127.0.0.1")
print("serve returned", flush=True)
"""


@pytest.fixture
def repo_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_the_server_after_the_request_in_flight(
    tmp_path: Path, repo_env: dict[str, str], signum: signal.Signals
) -> None:
    port = free_port()
    go_file = tmp_path / "go"
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", SIGNAL_SCRIPT, str(port), str(go_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=repo_env,
    )
    assert process.stdout is not None
    output = b""

    async def read_output_until(marker: bytes) -> None:
        nonlocal output
        assert process.stdout is not None
        while marker not in output:
            chunk = await process.stdout.receive_some(4096)
            if not chunk:
                raise AssertionError(f"process ended before {marker!r}: {output!r}")
            output += chunk

    try:
        with trio.fail_after(20):
            stream = await _connect_when_listening(port)
            client = H11Client(stream)
            await client.request("GET", "/slow")
            await read_output_until(b"in flight")
            process.send_signal(signum)
            # Shutdown has begun once the port refuses connections.
            await _until_refused(port)
            go_file.touch()
            response, body = await client.response()
            assert response.status_code == 200
            assert body == b"finished"
            assert header(response, "connection") == "close"
            await stream.aclose()
            await read_output_until(b"serve returned")
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            with trio.move_on_after(5):
                await process.wait()
        await process.stdout.aclose()


async def _connect_when_listening(port: int) -> trio.SocketStream:
    while True:
        try:
            return await trio.open_tcp_stream("127.0.0.1", port)
        except OSError:
            await trio.sleep(0.05)
