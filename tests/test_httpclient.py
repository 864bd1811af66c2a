"""trinado.httpclient against trinado's own server on loopback sockets.

A small Application plays every part a test needs (echo, redirects, chunked and gzip
bodies, uploads, slow answers); the server records the peer port of each request, so the
tests can count connections from the server's side.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.lowlevel

from trinado import web
from trinado.httpclient import (
    HTTPClient,
    HTTPClientError,
    HTTPError,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
    fetch,
    open_http_client,
)
from trinado.httpserver import HTTPServer
from trinado.httputil import HTTPInputError
from trinado.testing import open_test_server


class Recorder:
    """What the server saw: the peer port of every request, in order."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.release = trio.Event()


class Base(web.RequestHandler):
    def initialize(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def prepare(self) -> None:
        address = self.request.connection.context.address
        self.recorder.ports.append(address[1])


class EchoHandler(Base):
    def _echo(self) -> None:
        self.write(
            {
                "method": self.request.method,
                "uri": self.request.uri,
                "body": self.request.body.decode("latin-1"),
                "headers": dict(self.request.headers.get_all()),
            }
        )

    get = post = put = delete = patch = options = _echo

    def head(self) -> None:
        self.set_header("X-Method", "HEAD")


class RedirectHandler(Base):
    def _redirect(self) -> None:
        status = int(self.get_argument("status", "302"))
        self.redirect(self.get_argument("to"), status=status)

    get = post = put = head = _redirect


class LoopHandler(Base):
    def get(self, n: str) -> None:
        self.redirect(f"/loop/{int(n) + 1}")


class StatusHandler(Base):
    def get(self, code: str) -> None:
        self.set_status(int(code))
        self.write(f"status {code}")


class ChunkedHandler(Base):
    async def get(self) -> None:
        for i in range(3):
            self.write(f"piece {i};")
            await self.flush()
            if i == 0 and self.get_argument("wait", None):
                await self.recorder.release.wait()


class EncodedHandler(Base):
    def get(self, coding: str) -> None:
        size = int(self.get_argument("n", "1000"))
        data = b"trinado " * (size // 8)
        if coding == "gzip":
            encoded = gzip.compress(data)
        elif coding == "deflate":
            encoded = zlib.compress(data)
        else:  # raw deflate, as some servers send for "deflate"
            coding = "deflate"
            compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            encoded = compressor.compress(data) + compressor.flush()
        self.set_header("Content-Encoding", coding)
        self.set_header("Content-Type", "text/plain")
        self.write(encoded)


class BigHandler(Base):
    def head(self) -> None:
        self.set_header("Content-Length", self.get_argument("n"))

    async def get(self) -> None:
        size = int(self.get_argument("n"))
        if self.get_argument("chunked", None):
            for _ in range(size // 1000):
                self.write(b"x" * 1000)
                await self.flush()
        else:
            self.write(b"x" * size)


class ManyHeadersHandler(Base):
    def get(self) -> None:
        for i in range(200):
            self.set_header(f"X-Header-{i}", "v" * 50)


class AuthHandler(Base):
    def get(self) -> None:
        header = self.request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="test"')
            return
        self.write(base64.b64decode(header[6:]))


class SlowHandler(Base):
    async def get(self) -> None:
        await trio.sleep(float(self.get_argument("delay")))
        self.write("slow")


@web.stream_request_body
class RejectHandler(Base):
    def prepare(self) -> None:
        raise web.HTTPError(403)


@web.stream_request_body
class UploadHandler(Base):
    def prepare(self) -> None:
        super().prepare()
        self.chunks = 0
        self.sha = hashlib.sha256()
        self.size = 0

    def data_received(self, chunk: bytes) -> None:
        self.chunks += 1
        self.size += len(chunk)
        self.sha.update(chunk)

    def put(self) -> None:
        self.write(
            {
                "size": self.size,
                "sha256": self.sha.hexdigest(),
                "chunked": self.request.headers.get("Transfer-Encoding") == "chunked",
                "expect": self.request.headers.get("Expect"),
            }
        )

    post = put


def make_app(recorder: Recorder) -> web.Application:
    kwargs = {"recorder": recorder}
    return web.Application(
        [
            (r"/echo", EchoHandler, kwargs),
            (r"/redirect", RedirectHandler, kwargs),
            (r"/loop/(\d+)", LoopHandler, kwargs),
            (r"/status/(\d+)", StatusHandler, kwargs),
            (r"/chunked", ChunkedHandler, kwargs),
            (r"/encoded/(\w+)", EncodedHandler, kwargs),
            (r"/big", BigHandler, kwargs),
            (r"/many-headers", ManyHeadersHandler, kwargs),
            (r"/auth", AuthHandler, kwargs),
            (r"/slow", SlowHandler, kwargs),
            (r"/reject", RejectHandler, kwargs),
            (r"/upload", UploadHandler, kwargs),
        ]
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def server(recorder: Recorder) -> AsyncIterator[HTTPServer]:
    async with open_test_server(make_app(recorder)) as server:
        yield server


@pytest.fixture
def url(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    async with open_http_client() as client:
        yield client


def echoed(response: HTTPResponse) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(response.body)
    return result


# --------------------------------------------------------------------------- basics


async def test_get(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/echo?a=1")
    assert response.code == 200
    assert response.reason == "OK"
    assert response.error is None
    assert response.effective_url == f"{url}/echo?a=1"
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    sent = echoed(response)
    assert sent["method"] == "GET"
    assert sent["uri"] == "/echo?a=1"
    assert sent["headers"]["Host"] == url.removeprefix("http://")
    assert sent["headers"]["User-Agent"].startswith("trinado/")
    assert sent["headers"]["Accept-Encoding"] == "gzip, deflate"
    assert "Content-Length" not in sent["headers"]
    assert response.request_time is not None
    assert 0 <= response.request_time < 5
    assert response.start_time is not None
    assert set(response.time_info) == {"queue", "connect"}


async def test_post_put_patch_delete(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/echo", method="POST", body="a=1&b=é")
    sent = echoed(response)
    assert sent["method"] == "POST"
    assert sent["body"] == "a=1&b=é".encode().decode("latin-1")
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["Content-Length"] == str(len("a=1&b=é".encode()))
    for method in ("PUT", "PATCH"):
        response = await client.fetch(
            f"{url}/echo", method=method, body=b"{}", headers={"Content-Type": "x/y"}
        )
        assert echoed(response)["method"] == method
        assert echoed(response)["headers"]["Content-Type"] == "x/y"
    assert echoed(await client.fetch(f"{url}/echo", method="DELETE"))["method"] == "DELETE"
    response = await client.fetch(f"{url}/echo", method="POST", body=b"")
    assert echoed(response)["headers"]["Content-Length"] == "0"


async def test_head(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/echo", method="HEAD")
    assert response.code == 200
    assert response.headers["X-Method"] == "HEAD"
    assert response.body == b""
    # The connection is still in step: the next request on it works.
    assert echoed(await client.fetch(f"{url}/echo"))["method"] == "GET"
    assert client.connections_opened == 1


async def test_request_object_and_headers(client: HTTPClient, url: str) -> None:
    request = HTTPRequest(
        f"{url}/echo",
        headers={"X-Custom": "yes", "Cookie": "a=b"},
        user_agent="tester/1.0",
        if_modified_since=0,
    )
    sent = echoed(await client.fetch(request))["headers"]
    assert sent["X-Custom"] == "yes"
    assert sent["User-Agent"] == "tester/1.0"
    assert sent["If-Modified-Since"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    # The caller's request is left as it was: the client worked on a copy.
    assert "Host" not in request.headers
    assert "User-Agent" not in request.headers
    with pytest.raises(ValueError, match="kwargs"):
        await client.fetch(request, method="POST")


async def test_client_defaults(url: str) -> None:
    async with open_http_client(defaults={"user_agent": "default-agent"}) as client:
        sent = echoed(await client.fetch(f"{url}/echo"))["headers"]
        assert sent["User-Agent"] == "default-agent"
        sent = echoed(await client.fetch(f"{url}/echo", user_agent="mine"))["headers"]
        assert sent["User-Agent"] == "mine"
    with pytest.raises(ValueError, match="not_an_option"):
        async with open_http_client(defaults={"not_an_option": 1}):
            pass


async def test_module_level_fetch(url: str) -> None:
    response = await fetch(f"{url}/echo", method="POST", body="x")
    assert echoed(response)["body"] == "x"
    with pytest.raises(HTTPClientError) as info:
        await fetch(f"{url}/status/404")
    assert info.value.code == 404


async def test_invalid_requests(client: HTTPClient, url: str) -> None:
    with pytest.raises(ValueError, match="Body must not be None"):
        await client.fetch(f"{url}/echo", method="POST")
    with pytest.raises(ValueError, match="Body must be None"):
        await client.fetch(f"{url}/echo", body="x")
    with pytest.raises(ValueError, match="Unknown method"):
        await client.fetch(f"{url}/echo", method="BREW")
    with pytest.raises(ValueError, match="Unsupported url scheme"):
        await client.fetch("ftp://example.com/")
    with pytest.raises(ValueError, match="Invalid request"):
        await client.fetch(f"{url}/echo", headers={"X-Bad": "a\r\nInjected: 1"})
    # allow_nonstandard_methods lifts the method and body checks.
    response = await client.fetch(
        f"{url}/echo", method="GET", body="x", allow_nonstandard_methods=True
    )
    assert echoed(response)["body"] == "x"


async def test_non_ascii_path_is_percent_encoded(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/echo?q=caf\u00e9 au lait")
    assert echoed(response)["uri"] == "/echo?q=caf%C3%A9%20au%20lait"


# --------------------------------------------------------------------------- errors


async def test_status_error_raises_with_response(client: HTTPClient, url: str) -> None:
    with pytest.raises(HTTPError) as info:
        await client.fetch(f"{url}/status/404")
    error = info.value
    assert isinstance(error, HTTPClientError)
    assert error.code == 404
    assert str(error) == "HTTP 404: Not Found"
    assert error.response is not None
    assert error.response.body == b"status 404"
    assert error.response.error is error


async def test_raise_error_false_returns_the_response(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/status/500", raise_error=False)
    assert response.code == 500
    assert response.body == b"status 500"
    assert isinstance(response.error, HTTPClientError)
    with pytest.raises(HTTPClientError):
        response.rethrow()
    # Network errors still raise: raise_error only concerns status codes.
    async with raw_server(_close_at_once) as raw_url:
        with pytest.raises(HTTPStreamClosedError, match="before the response"):
            await client.fetch(raw_url, raise_error=False)


@asynccontextmanager
async def raw_server(
    handler: Callable[[trio.SocketStream], Awaitable[None]],
) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 that runs ``handler`` per connection; yields its URL."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        yield f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}/"
        nursery.cancel_scope.cancel()


async def _close_at_once(stream: trio.SocketStream) -> None:
    await stream.aclose()


async def _half_a_response(stream: trio.SocketStream) -> None:
    await stream.receive_some()
    await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
    await stream.aclose()


async def test_server_closing_mid_response(client: HTTPClient) -> None:
    async with raw_server(_half_a_response) as raw_url:
        with pytest.raises(
            HTTPStreamClosedError, match="received 100 bytes, expected 1000"
        ) as info:
            await client.fetch(raw_url)
        assert info.value.code == 599
        assert "Connection closed in the response body" in str(info.value)
        with pytest.raises(HTTPStreamClosedError):
            async with client.stream(raw_url) as response:
                await response.read()
        assert client._pool.open_connections == 0


async def test_connection_refused_raises_oserror(client: HTTPClient) -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError, match="onnect"):
        await client.fetch(f"http://127.0.0.1:{port}/")


async def test_exception_from_the_client_block_is_not_wrapped(url: str) -> None:
    with pytest.raises(HTTPClientError):
        async with open_http_client() as client:
            await client.fetch(f"{url}/status/418")


async def test_closed_client_refuses_requests(url: str) -> None:
    async with open_http_client() as client:
        await client.fetch(f"{url}/echo")
        assert client.idle_connections == 1
    assert client.closed
    assert client.idle_connections == 0
    with pytest.raises(RuntimeError, match="closed"):
        await client.fetch(f"{url}/echo")


# --------------------------------------------------------------------------- redirects


async def test_relative_and_absolute_redirects(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/redirect?to=/echo%3Fx%3D1")
    assert response.code == 200
    assert response.effective_url == f"{url}/echo?x=1"
    assert response.request.url == f"{url}/redirect?to=/echo%3Fx%3D1"
    response = await client.fetch(f"{url}/redirect?to=echo")
    assert response.effective_url == f"{url}/echo"
    response = await client.fetch(f"{url}/redirect?to={url}/echo&status=301")
    assert response.effective_url == f"{url}/echo"
    # Redirect bodies are small: they were read, and one connection served everything.
    assert client.connections_opened == 1


async def test_303_and_post_redirects_become_get(client: HTTPClient, url: str) -> None:
    for status in (301, 302, 303):
        response = await client.fetch(
            f"{url}/redirect?to=/echo&status={status}", method="POST", body="data"
        )
        sent = echoed(response)
        assert sent["method"] == "GET", status
        assert sent["body"] == ""
        assert "Content-Length" not in sent["headers"]
        assert "Content-Type" not in sent["headers"]
    for status in (307, 308):
        response = await client.fetch(
            f"{url}/redirect?to=/echo&status={status}", method="POST", body="data"
        )
        assert echoed(response)["method"] == "POST"
        assert echoed(response)["body"] == "data"
    response = await client.fetch(f"{url}/redirect?to=/echo&status=303", method="PUT", body="x")
    assert echoed(response)["method"] == "GET"
    response = await client.fetch(f"{url}/redirect?to=/echo&status=302", method="PUT", body="x")
    assert echoed(response)["method"] == "PUT"


async def test_too_many_redirects(client: HTTPClient, url: str) -> None:
    with pytest.raises(HTTPClientError, match="Too many redirects") as info:
        await client.fetch(f"{url}/loop/0", max_redirects=3)
    assert info.value.code == 302
    assert info.value.response is not None
    assert info.value.response.effective_url == f"{url}/loop/3"
    assert info.value.response.headers["Location"] == "/loop/4"
    response = await client.fetch(f"{url}/loop/0", raise_error=False)
    assert response.code == 302
    assert response.effective_url == f"{url}/loop/5"
    with pytest.raises(HTTPClientError, match="Too many redirects") as info:
        async with client.stream(f"{url}/loop/0", max_redirects=1):
            raise AssertionError("not reached")
    assert info.value.response is not None
    assert info.value.response.effective_url == f"{url}/loop/1"
    async with client.stream(f"{url}/loop/0", max_redirects=1, raise_error=False) as streamed:
        assert streamed.code == 302
        assert "Too many redirects" in str(streamed.error)


async def test_follow_redirects_false(client: HTTPClient, url: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await client.fetch(f"{url}/redirect?to=/echo", follow_redirects=False)
    assert info.value.code == 302
    assert info.value.response is not None
    assert info.value.response.headers["Location"] == "/echo"
    assert "Too many" not in str(info.value)


async def test_cross_origin_redirect_drops_credentials(
    client: HTTPClient, url: str, recorder: Recorder
) -> None:
    async with open_test_server(make_app(recorder)) as other:
        other_url = f"http://127.0.0.1:{other.port}"
        secrets = {"Cookie": "session=secret"}
        # Same origin: credentials stay.
        response = await client.fetch(
            f"{url}/redirect?to=/echo", headers=secrets, auth_username="u", auth_password="p"
        )
        sent = echoed(response)["headers"]
        assert sent["Cookie"] == "session=secret"
        assert sent["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
        # Another port is another origin: Authorization and Cookie are dropped.
        response = await client.fetch(
            f"{url}/redirect?to={other_url}/echo",
            headers={**secrets, "Authorization": "Bearer token"},
            auth_username="u",
            auth_password="p",
        )
        assert response.effective_url == f"{other_url}/echo"
        sent = echoed(response)["headers"]
        assert "Cookie" not in sent
        assert "Authorization" not in sent
        assert sent["Host"] == f"127.0.0.1:{other.port}"
        # Credentials in the URL do not follow either.
        response = await client.fetch(
            f"http://u:p@127.0.0.1:{url.rsplit(':', 1)[1]}/redirect"
            f"?to=http://u:p@127.0.0.1:{other.port}/echo"
        )
        assert "Authorization" not in echoed(response)["headers"]


# --------------------------------------------------------------------------- bodies


async def test_chunked_response(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/chunked")
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert response.body == b"piece 0;piece 1;piece 2;"
    # A chunked response ends cleanly: the connection is reused.
    await client.fetch(f"{url}/chunked")
    assert client.connections_opened == 1


@pytest.mark.parametrize("coding", ["gzip", "deflate", "rawdeflate"])
async def test_compressed_responses_are_decoded(client: HTTPClient, url: str, coding: str) -> None:
    response = await client.fetch(f"{url}/encoded/{coding}?n=8000")
    assert response.body == b"trinado " * 1000
    assert "Content-Encoding" not in response.headers
    expected = "gzip" if coding == "gzip" else "deflate"
    assert response.headers["X-Consumed-Content-Encoding"] == expected


async def test_decompress_response_false_keeps_the_encoded_body(
    client: HTTPClient, url: str
) -> None:
    response = await client.fetch(f"{url}/encoded/gzip?n=800", decompress_response=False)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.body) == b"trinado " * 100
    sent = echoed(await client.fetch(f"{url}/echo", use_gzip=False))["headers"]
    assert "Accept-Encoding" not in sent


async def test_body_size_limits(url: str) -> None:
    async with open_http_client(max_body_size=5000) as client:
        assert len((await client.fetch(f"{url}/big?n=5000")).body) == 5000
        # A HEAD response has no body, whatever its Content-Length says.
        response = await client.fetch(f"{url}/big?n=6000", method="HEAD")
        assert response.headers["Content-Length"] == "6000"
        with pytest.raises(HTTPInputError, match="Content-Length 6000"):
            await client.fetch(f"{url}/big?n=6000")
        with pytest.raises(HTTPInputError, match="max_body_size"):
            await client.fetch(f"{url}/big?n=6000&chunked=1")
        # A small compressed body that decodes past the limit.
        with pytest.raises(HTTPInputError, match="Decoded response body"):
            await client.fetch(f"{url}/encoded/gzip?n=100000")
        # Over-limit connections are not reused half-read.
        assert (await client.fetch(f"{url}/big?n=10")).body == b"x" * 10


async def test_header_size_limit(url: str) -> None:
    async with open_http_client(max_header_size=4096) as client:
        with pytest.raises(HTTPInputError, match="max_header_size"):
            await client.fetch(f"{url}/many-headers")
    async with open_http_client() as client:
        response = await client.fetch(f"{url}/many-headers")
        assert response.headers["X-Header-199"] == "v" * 50


async def test_basic_auth(client: HTTPClient, url: str) -> None:
    response = await client.fetch(f"{url}/auth", auth_username="ann", auth_password="s3cr\u00e9t")
    assert response.body == "ann:s3cr\u00e9t".encode()
    response = await client.fetch(f"http://bob:pw@{url.removeprefix('http://')}/auth")
    assert response.body == b"bob:pw"
    response = await client.fetch(f"{url}/auth", raise_error=False)
    assert response.code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="test"'
    with pytest.raises(ValueError, match="auth_mode"):
        await client.fetch(f"{url}/auth", auth_username="a", auth_password="b", auth_mode="digest")


# --------------------------------------------------------------------------- the pool


async def test_ten_sequential_requests_use_one_connection(
    client: HTTPClient, url: str, recorder: Recorder
) -> None:
    for i in range(10):
        response = await client.fetch(f"{url}/echo?i={i}")
        assert echoed(response)["uri"] == f"/echo?i={i}"
    assert len(recorder.ports) == 10
    assert len(set(recorder.ports)) == 1
    assert client.connections_opened == 1
    assert client.idle_connections == 1


async def test_pool_bounds_concurrent_requests(url: str, recorder: Recorder) -> None:
    async with open_http_client(max_connections_per_host=2) as client:
        results: list[bytes] = []

        async def one() -> None:
            results.append((await client.fetch(f"{url}/slow?delay=0.05")).body)

        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(one)
        assert results == [b"slow"] * 6
        assert client.connections_opened == 2
        assert len(set(recorder.ports)) == 2


async def test_queue_timeout(url: str) -> None:
    async with open_http_client(max_connections=1) as client, trio.open_nursery() as nursery:
        nursery.start_soon(client.fetch, f"{url}/slow?delay=1")
        await trio.sleep(0.05)
        with pytest.raises(HTTPTimeoutError, match="request queue") as info:
            await client.fetch(f"{url}/echo", connect_timeout=0.1)
        assert info.value.code == 599
        nursery.cancel_scope.cancel()


async def test_full_pool_closes_an_idle_connection_to_another_host(
    url: str, recorder: Recorder
) -> None:
    async with (
        open_test_server(make_app(recorder)) as other,
        open_http_client(max_connections=1) as client,
    ):
        await client.fetch(f"{url}/echo")
        assert client.idle_connections == 1
        await client.fetch(f"http://127.0.0.1:{other.port}/echo")
        assert client.idle_connections == 1
        assert client.connections_opened == 2


async def test_request_timeout(client: HTTPClient, url: str) -> None:
    with pytest.raises(HTTPTimeoutError, match="Timeout during request") as info:
        await client.fetch(f"{url}/slow?delay=10", request_timeout=0.1)
    assert info.value.code == 599
    assert isinstance(info.value, HTTPClientError)
    # The timed-out connection was dropped, not put back half-way through a response.
    assert client.idle_connections == 0
    assert (await client.fetch(f"{url}/slow?delay=0")).body == b"slow"


async def test_cancelled_fetch_closes_its_connection(client: HTTPClient, url: str) -> None:
    with trio.move_on_after(0.1):
        await client.fetch(f"{url}/slow?delay=10")
    assert client.idle_connections == 0
    assert (await client.fetch(f"{url}/echo")).code == 200
    assert client.connections_opened == 2


async def test_server_closing_idle_connections_is_noticed(recorder: Recorder) -> None:
    app = make_app(recorder)
    async with open_test_server(app, idle_connection_timeout=0.05) as server:
        url = f"http://127.0.0.1:{server.port}"
        async with open_http_client() as client:
            await client.fetch(f"{url}/echo")
            await trio.sleep(0.3)  # the server closes the idle connection meanwhile
            assert (await client.fetch(f"{url}/echo")).code == 200
            assert client.connections_opened == 2


async def test_client_in_a_nursery_of_your_own(url: str) -> None:
    async with trio.open_nursery() as nursery:
        client = HTTPClient(nursery, idle_connection_timeout=None)
        assert (await client.fetch(f"{url}/echo")).code == 200
        assert client.idle_connections == 1
        await client.aclose()  # stops its task: the nursery can end
    assert client.closed
    assert client.idle_connections == 0


async def test_cancelling_the_client_block(url: str) -> None:
    with trio.move_on_after(0.1) as scope:
        async with open_http_client() as client:
            await client.fetch(f"{url}/echo")
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert client.closed
    assert client.idle_connections == 0
