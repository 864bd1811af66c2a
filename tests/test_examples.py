"""The example applications under examples/ do what the docs say they do.

Each example is served with the pytest plugin's fixtures (an ``app`` fixture per test class,
then ``http_client``) or with `trinado.testing.open_test_server`. tests/test_docs.py checks
that the code blocks of docs/ are excerpts of these examples.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.example_loader import load_example
from tests.tornado_peer import serve_tornado
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"


helloworld = load_example("helloworld")
json_api = load_example("json_api")
streaming = load_example("streaming")
longpoll = load_example("longpoll")
embedded = load_example("embedded")
porting_trinado = load_example("porting_trinado")
routes = load_example("routes")
cookies = load_example("cookies")
basic_auth = load_example("basic_auth")


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Polls ``condition`` until it holds; fails the test after ``timeout`` seconds."""
    with trio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 (the examples expose counters, not events)
            await trio.sleep(0.01)


async def read_until_closed(stream: trio.abc.ReceiveStream) -> bytes:
    received = b""
    while chunk := await stream.receive_some():
        received += chunk
    return received


# --------------------------------------------------------------------------- helloworld


class TestHelloWorld:
    @pytest.fixture
    def app(self) -> Any:
        return helloworld.make_app()

    async def test_hello(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/")
        assert response.status_code == 200
        assert response.text == "Hello, world"
        assert response.headers["content-type"] == "text/html; charset=UTF-8"

    def test_the_plugin_example_passes(self) -> None:
        # The tests under examples/ (docs/howto/testing.md, the tutorial, the porting
        # example) are what the docs show; run them as a user would.
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"\b19 passed\b", result.stdout), result.stdout


# --------------------------------------------------------------------------- json_api


class TestJsonApi:
    @pytest.fixture
    def app(self) -> Any:
        return json_api.make_app()

    async def test_create_read_update_delete(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.post("/items", json={"name": "tea", "price": 3.5})
        assert response.status_code == 201
        assert response.headers["location"] == "/items/1"
        assert response.headers["content-type"] == "application/json; charset=UTF-8"
        assert response.json() == {"id": 1, "name": "tea", "price": 3.5}

        await http_client.post("/items", json={"name": "milk", "price": 1})
        response = await http_client.get("/items")
        assert [item["name"] for item in response.json()["items"]] == ["tea", "milk"]
        response = await http_client.get("/items", params={"limit": "1"})
        assert [item["name"] for item in response.json()["items"]] == ["tea"]

        response = await http_client.put("/items/1", json={"price": 4})
        assert response.json() == {"id": 1, "name": "tea", "price": 4}
        assert (await http_client.get("/items/1")).json()["price"] == 4

        response = await http_client.delete("/items/1")
        assert response.status_code == 204
        assert response.content == b""
        assert "content-type" not in response.headers
        response = await http_client.get("/items/1")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": 404, "message": "No item 1"}}

    @pytest.mark.parametrize(
        ("method", "path", "body", "status", "message"),
        [
            ("POST", "/items", b"{not json", 400, "The body is not JSON"),
            ("POST", "/items", b"[1, 2]", 400, "The body must be a JSON object"),
            (
                "POST",
                "/items",
                b'{"name": "tea"}',
                422,
                "An item needs a name (a string) and a price (a number)",
            ),
            ("GET", "/items?limit=many", None, 400, "limit must be an integer"),
            ("GET", "/items/7", None, 404, "No item 7"),
            ("GET", "/nowhere", None, 404, "Nothing at /nowhere"),
            ("PATCH", "/items", b"{}", 405, "Method Not Allowed"),
        ],
    )
    async def test_errors_are_json(
        self,
        http_client: httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes | None,
        status: int,
        message: str,
    ) -> None:
        response = await http_client.request(method, path, content=body)
        assert response.status_code == status
        assert response.json() == {"error": {"code": status, "message": message}}

    async def test_root_redirects_to_the_named_route(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/")
        assert response.status_code == 302
        assert response.headers["location"] == "/items"

    async def test_etag_gives_304(self, http_client: httpx.AsyncClient) -> None:
        await http_client.post("/items", json={"name": "tea", "price": 3.5})
        response = await http_client.get("/items/1")
        etag = response.headers["etag"]
        again = await http_client.get("/items/1", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""


# --------------------------------------------------------------------------- routes


class TestRoutes:
    @pytest.fixture
    def app(self) -> Any:
        return routes.make_app()

    async def test_named_groups_and_reverse_url(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/articles/2024/hello-world")
        assert response.json() == {
            "year": 2024,
            "slug": "hello-world",
            "url": "/articles/2024/hello-world",
        }
        # The pattern must match the whole path.
        assert (await http_client.get("/articles/2024/hello-world/x")).status_code == 404

    async def test_optional_group(self, http_client: httpx.AsyncClient) -> None:
        assert (await http_client.get("/tags/")).json() == {"tag": None}
        assert (await http_client.get("/tags/trio")).json() == {"tag": "trio"}

    async def test_redirect_and_error_handlers(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/old/2024/hello-world", params={"x": "1"})
        assert response.status_code == 301
        assert response.headers["location"] == "/articles/2024/hello-world?x=1"
        assert (await http_client.get("/gone")).status_code == 410

    async def test_host_rules(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/status", headers={"Host": "API.example.com:8888"})
        assert response.json() == {"api": "ok"}
        response = await http_client.get("/status")
        assert response.status_code == 404
        assert response.text == "Nothing at /status\n"

    async def test_mounted_application(self, http_client: httpx.AsyncClient) -> None:
        assert (await http_client.get("/admin/stats")).json() == {"admin": True}
        # The mounted application answers its own 404s.
        response = await http_client.get("/admin/other")
        assert response.status_code == 404
        assert "<title>404: Not Found</title>" in response.text

    def test_reverse_url(self) -> None:
        app = routes.make_app()
        assert app.reverse_url("article", 2024, "hé llo") == "/articles/2024/h%C3%A9%20llo"
        with pytest.raises(KeyError):
            app.reverse_url("nothing")


# --------------------------------------------------------------------------- cookies


class TestCookies:
    @pytest.fixture
    def app(self) -> Any:
        return cookies.make_app()

    async def test_set_read_and_clear(self, http_client: httpx.AsyncClient) -> None:
        assert (await http_client.get("/theme")).json() == {"theme": "light"}
        response = await http_client.post("/theme", data={"theme": "dark"})
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("theme=dark; ")
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "expires=" in cookie.lower()
        assert (await http_client.get("/theme")).json() == {"theme": "dark"}
        response = await http_client.delete("/theme")
        assert response.headers["set-cookie"].startswith('theme=""; ')  # expired
        assert (await http_client.get("/theme")).json() == {"theme": "light"}

    async def test_unknown_values_are_refused(self, http_client: httpx.AsyncClient) -> None:
        assert (await http_client.post("/theme", data={"theme": "x"})).status_code == 400
        http_client.cookies.set("theme", "<script>")
        assert (await http_client.get("/theme")).json() == {"theme": "light"}


# --------------------------------------------------------------------------- basic_auth


class TestBasicAuth:
    @pytest.fixture
    def app(self) -> Any:
        return basic_auth.make_app()

    async def test_no_credentials_get_a_challenge(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="example", charset="UTF-8"'
        assert response.text == "Who are you?"  # Finish's argument, written by finish()

    async def test_the_right_password_gets_in(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/", auth=("alice", "wonderland"))
        assert response.status_code == 200
        assert response.text == "Hello, alice\n"

    @pytest.mark.parametrize(
        "authorization",
        [
            "Basic " + base64.b64encode(b"alice:rabbit").decode(),
            "Basic " + base64.b64encode(b"bob:wonderland").decode(),
            "Basic " + base64.b64encode(b"alice").decode(),
            "Basic not*base64",
            "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
            "Bearer " + base64.b64encode(b"alice:wonderland").decode(),
        ],
    )
    async def test_wrong_credentials_get_a_challenge(
        self, http_client: httpx.AsyncClient, authorization: str
    ) -> None:
        response = await http_client.get("/", headers={"Authorization": authorization})
        assert response.status_code == 401
        assert "www-authenticate" in response.headers


# --------------------------------------------------------------------------- streaming


class TestStreaming:
    @pytest.fixture
    def app(self) -> Any:
        return streaming.make_app(interval=0.01)

    async def test_count_is_chunked(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/count", params={"n": "3"})
        assert response.text == "1\n2\n3\n"
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers

    async def test_each_flush_arrives_before_the_handler_ends(self) -> None:
        # With an hour between lines, the first can only arrive through flush().
        app = streaming.make_app(interval=3600)
        async with open_test_server(app) as server:
            async with await trio.open_tcp_stream("127.0.0.1", server.port) as stream:
                await stream.send_all(b"GET /count?n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
                received = b""
                with trio.fail_after(5):
                    while not received.endswith(b"\r\n\r\n2\r\n1\n\r\n"):
                        received += await stream.receive_some()
                assert received.startswith(b"HTTP/1.1 200 OK\r\n")
                assert b"\r\nTransfer-Encoding: chunked\r\n" in received
                assert server.connection_count == 1
            # The client left: the handler, asleep for an hour, was cancelled.
            await wait_until(lambda: server.connection_count == 0)

    async def test_upload_is_hashed_as_it_arrives(self, http_client: httpx.AsyncClient) -> None:
        pieces = [bytes([i]) * 100_000 for i in range(30)]

        async def body() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        expected = {"size": 3_000_000, "sha256": hashlib.sha256(b"".join(pieces)).hexdigest()}
        response = await http_client.put("/upload", content=body())  # chunked
        assert response.json() == expected
        response = await http_client.post("/upload", content=b"".join(pieces))  # Content-Length
        assert response.json() == expected

    async def test_upload_limit_is_one_gib(self, http_server: HTTPServer) -> None:
        # The server's default is 100 MiB; prepare() raises it for this handler only.
        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            await stream.send_all(
                b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n"
                + b"x" * 1000
            )
            await stream.send_eof()
            with trio.fail_after(5):
                received = await read_until_closed(stream)
        assert received == b""  # no 413: the upload was accepted, then cut short by us

        async with await trio.open_tcp_stream("127.0.0.1", http_server.port) as stream:
            too_big = str(streaming.MAX_UPLOAD_SIZE + 1).encode()
            await stream.send_all(
                b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + too_big + b"\r\n\r\n"
            )
            with trio.fail_after(5):
                received = await read_until_closed(stream)
        assert received.startswith(b"HTTP/1.1 413 %s\r\n" % HTTPStatus(413).phrase.encode())


# --------------------------------------------------------------------------- longpoll


class TestLongPoll:
    @pytest.fixture
    def board(self) -> Any:
        return longpoll.MessageBoard()

    @pytest.fixture
    def app(self, board: Any) -> Any:
        return longpoll.make_app(board, poll_timeout=30)

    async def test_returns_when_a_message_arrives(
        self, http_client: httpx.AsyncClient, board: Any
    ) -> None:
        answers: list[httpx.Response] = []

        async def poll() -> None:
            answers.append(await http_client.get("/messages", params={"cursor": "0"}))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(poll)
            nursery.start_soon(poll)
            await wait_until(lambda: board.waiting == 2)
            response = await http_client.post("/messages", data={"text": "hello"})
            assert response.json() == {"cursor": 1}
            with trio.fail_after(5):
                await wait_until(lambda: len(answers) == 2)
        assert [a.json() for a in answers] == [{"messages": ["hello"], "cursor": 1}] * 2
        assert board.waiting == 0

        # A cursor behind the board answers at once.
        response = await http_client.get("/messages", params={"cursor": "0"})
        assert response.json() == {"messages": ["hello"], "cursor": 1}

    async def test_times_out_with_no_messages(self) -> None:
        app = longpoll.make_app(poll_timeout=0.05)
        async with (
            open_test_server(app) as server,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
        ):
            with trio.fail_after(5):
                response = await client.get("/messages", params={"cursor": "0"})
        assert response.json() == {"messages": [], "cursor": 0}

    async def test_client_leaving_cancels_the_wait(
        self, http_server: HTTPServer, board: Any
    ) -> None:
        stream = await trio.open_tcp_stream("127.0.0.1", http_server.port)
        async with stream:
            await stream.send_all(b"GET /messages?cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            await wait_until(lambda: board.waiting == 1)
        # Well before the 30 s poll timeout, the handler is cancelled.
        await wait_until(lambda: board.client_left == 1)
        assert board.waiting == 0
        await wait_until(lambda: http_server.connection_count == 0)


# --------------------------------------------------------------------------- embedded


class TestEmbedded:
    @pytest.fixture
    def app(self, nursery: trio.Nursery) -> Any:
        return embedded.make_app(embedded.Jobs(nursery), trio.Event())

    async def test_jobs_run_in_the_background(self, http_client: httpx.AsyncClient) -> None:
        response = await http_client.post("/jobs", params={"seconds": "0.05"})
        assert response.status_code == 202
        assert response.json() == {"id": 1, "url": "/jobs/1"}
        assert (await http_client.get("/jobs/1")).json() == {"id": 1, "done": False}
        with trio.fail_after(5):
            response = await http_client.get("/jobs/1", params={"wait": "1"})
        assert response.json() == {"id": 1, "done": True}
        assert (await http_client.get("/jobs/2")).status_code == 404

    async def test_run_shuts_down_gracefully(self) -> None:
        finished = trio.Event()

        async def run(*, task_status: trio.TaskStatus[HTTPServer]) -> None:
            await embedded.run(0, task_status=task_status)
            finished.set()

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                server: HTTPServer = await nursery.start(run)
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                    await client.post("/jobs", params={"seconds": "0.6"})
                    await client.post("/jobs", params={"seconds": "3600"})
                    waiting: list[httpx.Response] = []

                    async def wait_for_job() -> None:
                        waiting.append(await client.get("/jobs/1", params={"wait": "1"}))

                    nursery.start_soon(wait_for_job)
                    await trio.sleep(0.3)  # time for the request to reach its handler
                    response = await client.post("/shutdown")
                    assert response.text == "stopping\n"
                    await finished.wait()
                    # The request in flight finished; the hour-long job was cancelled.
                    assert [r.json() for r in waiting] == [{"id": 1, "done": True}]
                    with pytest.raises(httpx.ConnectError):
                        await client.get("/jobs/1")


# --------------------------------------------------------------------------- porting


@asynccontextmanager
async def serve_port(implementation: str, poll_timeout: float) -> AsyncIterator[int]:
    if implementation == "tornado":
        porting_tornado = load_example("porting_tornado")
        async with serve_tornado(lambda: porting_tornado.make_app(poll_timeout)) as port:
            yield port
    else:
        async with trio.open_nursery() as nursery:
            app = porting_trinado.make_app(nursery, poll_timeout)
            async with open_test_server(app) as server:
                yield server.port
            nursery.cancel_scope.cancel()


@pytest.fixture(params=["tornado", "trinado"])
async def porting_client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve_port(request.param, poll_timeout=0.2) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        yield client


async def eventually(request: Callable[[], Awaitable[httpx.Response]], expected: Any) -> None:
    with trio.fail_after(5):
        while (await request()).json() != expected:  # noqa: ASYNC110 (polls over HTTP)
            await trio.sleep(0.01)


class TestPortingAnswersAlike:
    """examples/porting_tornado.py on Tornado and its port answer the same requests alike."""

    async def test_streaming(self, porting_client: httpx.AsyncClient) -> None:
        response = await porting_client.get("/count", params={"n": "3"})
        assert response.text == "1\n2\n3\n"
        assert response.headers["transfer-encoding"] == "chunked"

    async def test_finish_then_work(self, porting_client: httpx.AsyncClient) -> None:
        response = await porting_client.post("/report", data={"what": "sales"})
        assert response.json() == {"saved": True}
        await eventually(lambda: porting_client.get("/report"), {"audit": ["sales"]})

    async def test_background_job(self, porting_client: httpx.AsyncClient) -> None:
        response = await porting_client.post("/jobs", data={"name": "a"})
        assert response.status_code == 202
        await eventually(lambda: porting_client.get("/jobs"), {"done": ["a"]})

    async def test_long_poll(self, porting_client: httpx.AsyncClient) -> None:
        answers: list[Any] = []

        async def poll() -> None:
            answers.append((await porting_client.get("/wait")).json())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(poll)
            await trio.sleep(0.05)
            await porting_client.post("/post", data={"text": "hi"})
        assert answers == [{"messages": ["hi"]}]
        timed_out = await porting_client.get("/wait", params={"cursor": "1"})
        assert timed_out.json() == {"messages": []}

    async def test_fallback(self, porting_client: httpx.AsyncClient) -> None:
        response = await porting_client.get("/legacy/page")
        assert response.text == "legacy /legacy/page"


# --------------------------------------------------------------------------- conventions


def test_examples_define_make_app_and_main() -> None:
    for path in EXAMPLES.glob("*.py"):
        if path.name.startswith("test_"):
            continue
        source = path.read_text()
        assert "def make_app(" in source, path.name
        assert 'if __name__ == "__main__":\n    ' in source, path.name


async def test_open_test_client_serves_the_app() -> None:
    from trinado.testing import open_test_client

    async with open_test_client(helloworld.make_app()) as client:
        response = await client.get("/")
    assert response.text == "Hello, world"


async def test_open_test_server_lets_exceptions_through_unwrapped() -> None:
    from trinado.testing import open_test_server as serve_for_test

    with pytest.raises(KeyError):
        async with serve_for_test(helloworld.make_app()):
            raise KeyError("from the test body")
