"""The handler lifecycle: prepare, streaming bodies, finishing early, errors, hooks, logging."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
import trio.lowlevel

from trinado.testing import open_test_client as client_for
from trinado.testing import open_test_server
from trinado.web import (
    Application,
    Finish,
    HTTPError,
    RequestHandler,
    stream_request_body,
)

events: list[str] = []


@stream_request_body
class StreamingHandler(RequestHandler):
    def initialize(self) -> None:
        self.received = b""

    async def prepare(self) -> None:
        events.append(f"prepare body={self.request.body!r}")
        await trio.lowlevel.checkpoint()

    async def data_received(self, chunk: bytes) -> None:
        events.append("data")
        self.received += chunk
        await trio.lowlevel.checkpoint()

    def post(self) -> None:
        events.append("post")
        self.write({"size": len(self.received), "body": self.received.decode()})


@stream_request_body
class SyncStreamingHandler(RequestHandler):
    def prepare(self) -> None:
        self.pieces: list[bytes] = []
        if self.get_query_argument("reject", None):
            raise HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        self.pieces.append(chunk)

    def put(self) -> None:
        self.write(b"".join(self.pieces))


class BodyHandler(RequestHandler):
    def prepare(self) -> None:
        events.append(f"prepare body={self.request.body!r}")

    def post(self) -> None:
        self.write(self.request.body)


async def test_stream_request_body_order() -> None:
    events.clear()
    app = Application([(r"/stream", StreamingHandler)])
    body = b"x" * 200_000

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 50_000):
            yield body[start : start + 50_000]

    async with client_for(app) as client:
        response = await client.post("/stream", content=chunks())
    assert response.json() == {"size": len(body), "body": body.decode()}
    assert events[0] == "prepare body=b''"
    assert events[-1] == "post"
    assert set(events[1:-1]) == {"data"}
    assert len(events) >= 3


async def test_stream_request_body_sync_methods_and_prepare_rejection() -> None:
    app = Application([(r"/s", SyncStreamingHandler)])
    async with client_for(app) as client:
        response = await client.put("/s", content=b"hello world")
        assert response.text == "hello world"
        response = await client.put("/s?reject=1", content=b"never read")
        assert response.status_code == 413


async def test_regular_handler_sees_the_body_in_prepare() -> None:
    events.clear()
    app = Application([(r"/b", BodyHandler)])
    async with client_for(app) as client:
        response = await client.post("/b", content=b"payload")
    assert response.text == "payload"
    assert events == ["prepare body=b'payload'"]


def test_stream_request_body_needs_a_request_handler() -> None:
    with pytest.raises(TypeError, match="expected subclass of RequestHandler"):
        stream_request_body(object)  # type: ignore[type-var]


class MalformedFormHandler(RequestHandler):
    def post(self) -> None:
        self.write("unreachable")


async def test_malformed_body_is_400() -> None:
    app = Application([(r"/m", MalformedFormHandler)])
    async with client_for(app) as client:
        response = await client.post(
            "/m",
            content=b"garbage",
            headers={"Content-Type": "multipart/form-data; boundary=abc"},
        )
    assert response.status_code == 400


class BigBodyHandler(RequestHandler):
    def post(self) -> None:
        self.write(f"got {len(self.request.body)}")


@stream_request_body
class RaisedLimitHandler(RequestHandler):
    def prepare(self) -> None:
        self.request.connection.set_max_body_size(1000)
        self.size = 0

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)

    def post(self) -> None:
        self.write(f"streamed {self.size}")


async def test_body_over_the_limit_is_413(caplog: pytest.LogCaptureFixture) -> None:
    app = Application([(r"/big", BigBodyHandler), (r"/raised", RaisedLimitHandler)])
    async with (
        open_test_server(app, max_body_size=100) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        response = await client.post("/big", content=b"x" * 50)
        assert response.text == "got 50"
        response = await client.post("/big", content=b"x" * 500)
        assert response.status_code == 413
        response = await client.post("/raised", content=b"x" * 500)
        assert response.text == "streamed 500"
    assert "413 POST /big (127.0.0.1): Content-Length 500 is over the limit" in caplog.text


class EarlyFinishHandler(RequestHandler):
    def initialize(self, proceed: trio.Event, done: trio.Event) -> None:
        self.proceed = proceed
        self.done = done

    async def get(self) -> None:
        self.write("early")
        await self.finish()
        # The client has the response now; keep working.
        await self.proceed.wait()
        self.done.set()

    def on_finish(self) -> None:
        events.append("on_finish")


async def test_awaited_finish_sends_before_the_method_returns() -> None:
    events.clear()
    proceed, done = trio.Event(), trio.Event()
    app = Application([(r"/early", EarlyFinishHandler, {"proceed": proceed, "done": done})])
    async with client_for(app) as client:
        response = await client.get("/early")
        assert response.text == "early"
        assert not done.is_set()
        assert events == ["on_finish"]
        proceed.set()
        with trio.fail_after(5):
            await done.wait()
    assert events == ["on_finish"]


class UnawaitedFinishHandler(RequestHandler):
    async def get(self) -> None:
        self.finish("first")
        events.append("after finish")
        await trio.lowlevel.checkpoint()

    def on_finish(self) -> None:
        events.append("on_finish")


async def test_unawaited_finish_sends_when_the_method_returns() -> None:
    events.clear()
    app = Application([(r"/u", UnawaitedFinishHandler)])
    async with client_for(app) as client:
        response = await client.get("/u")
    assert response.text == "first"
    assert events == ["after finish", "on_finish"]


class FlushHandler(RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        for i in range(3):
            self.write(f"data: {i}\n\n")
            await self.flush()
        self.write("end\n")


async def test_flush_streams_a_chunked_response() -> None:
    app = Application([(r"/f", FlushHandler)])
    async with client_for(app) as client, client.stream("GET", "/f") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        assert "etag" not in response.headers
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body == b"data: 0\n\ndata: 1\n\ndata: 2\n\nend\n"


class ErrorAfterFlushHandler(RequestHandler):
    async def get(self) -> None:
        self.write("partial")
        await self.flush()
        raise HTTPError(500)


async def test_error_after_flush_ends_the_response(caplog: pytest.LogCaptureFixture) -> None:
    app = Application([(r"/e", ErrorAfterFlushHandler)])
    async with client_for(app) as client:
        response = await client.get("/e")
    assert response.status_code == 200
    assert response.text == "partial"
    assert "Cannot send error response after headers written" in caplog.text


class CustomErrorHandler(RequestHandler):
    def get(self) -> None:
        kind = self.get_argument("kind")
        if kind == "http":
            raise HTTPError(403, reason="Go Away")
        if kind == "send":
            self.write("discarded")
            self.send_error(409, reason="Clash", detail="extra")
            return
        if kind == "finish":
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="x"')
            raise Finish()
        if kind == "finish_arg":
            raise Finish("finished with this")
        raise KeyError("oops")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        self.write(
            {
                "code": status_code,
                "reason": self._reason,
                "exception": type(exc_info[1]).__name__ if exc_info else None,
                "detail": kwargs.get("detail"),
            }
        )

    def on_finish(self) -> None:
        events.append(f"on_finish {self.get_status()}")


async def test_custom_write_error(caplog: pytest.LogCaptureFixture) -> None:
    events.clear()
    app = Application([(r"/c", CustomErrorHandler)])
    async with client_for(app) as client:
        response = await client.get("/c", params={"kind": "http"})
        assert response.status_code == 403
        assert response.reason_phrase == "Go Away"
        assert response.json() == {
            "code": 403,
            "reason": "Go Away",
            "exception": "HTTPError",
            "detail": None,
        }
        response = await client.get("/c", params={"kind": "send"})
        assert response.status_code == 409
        assert response.json() == {
            "code": 409,
            "reason": "Clash",
            "exception": None,
            "detail": "extra",
        }
        response = await client.get("/c", params={"kind": "other"})
        assert response.status_code == 500
        assert response.json()["exception"] == "KeyError"
    assert events == ["on_finish 403", "on_finish 409", "on_finish 500"]
    assert "Uncaught exception GET /c?kind=other" in caplog.text


async def test_finish_exception(caplog: pytest.LogCaptureFixture) -> None:
    app = Application([(r"/c", CustomErrorHandler)])
    async with client_for(app) as client:
        response = await client.get("/c", params={"kind": "finish"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="x"'
        assert response.content == b""
        response = await client.get("/c", params={"kind": "finish_arg"})
        assert response.status_code == 200
        assert response.text == "finished with this"
    assert not [r for r in caplog.records if r.name != "trinado.access"]


class LongPollHandler(RequestHandler):
    def initialize(self, started: trio.Event, closed: trio.Event) -> None:
        self.started = started
        self.closed = closed

    async def get(self) -> None:
        self.started.set()
        try:
            await trio.sleep_forever()
        finally:
            events.append("cancelled")

    def on_connection_close(self) -> None:
        events.append("on_connection_close")
        self.closed.set()

    def on_finish(self) -> None:
        events.append("on_finish")


async def check_disconnect(request_head: bytes) -> None:
    events.clear()
    started, closed = trio.Event(), trio.Event()
    app = Application([(r"/poll", LongPollHandler, {"started": started, "closed": closed})])
    async with open_test_server(app) as server:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        await stream.send_all(request_head)
        with trio.fail_after(5):
            await started.wait()
        await stream.aclose()
        with trio.move_on_after(3):
            await closed.wait()
    assert events == ["cancelled", "on_connection_close"]


async def test_client_disconnect_cancels_and_calls_on_connection_close() -> None:
    await check_disconnect(b"GET /poll HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")


async def test_client_disconnect_without_a_body() -> None:
    await check_disconnect(b"GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")


class LogHandler(RequestHandler):
    def get(self) -> None:
        self.set_status(int(self.get_argument("code", "200")))


async def test_access_log_format_and_levels(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trinado.access")
    app = Application([(r"/log", LogHandler)])
    async with client_for(app) as client:
        await client.get("/log")
        await client.get("/log?code=404")
        await client.get("/log?code=503")
    records = [r for r in caplog.records if r.name == "trinado.access"]
    assert [r.levelname for r in records] == ["INFO", "WARNING", "ERROR"]
    messages = [r.getMessage() for r in records]
    assert messages[0].startswith("200 GET /log (127.0.0.1) ")
    assert messages[1].startswith("404 GET /log?code=404 (127.0.0.1) ")
    assert messages[2].startswith("503 GET /log?code=503 (127.0.0.1) ")
    for message in messages:
        assert message.endswith("ms")
        float(message.rsplit(" ", 1)[1][:-2])


async def test_log_function_setting(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trinado.access")
    seen: list[tuple[int, str]] = []

    def log_function(handler: RequestHandler) -> None:
        seen.append((handler.get_status(), handler.request.uri))

    app = Application([(r"/log", LogHandler)], log_function=log_function)
    async with client_for(app) as client:
        await client.get("/log?code=201")
    assert seen == [(201, "/log?code=201")]
    assert not [r for r in caplog.records if r.name == "trinado.access"]


work_log: list[str] = []


class FinishThenWorkHandler(RequestHandler):
    async def get(self) -> None:
        await trio.sleep(1)  # long enough for the disconnect watcher to start
        await self.finish("done")
        try:
            await trio.sleep(10)  # work after answering
            work_log.append("work done")
        except trio.Cancelled:
            work_log.append("cancelled")
            raise


async def test_client_leaving_after_the_answer_does_not_cancel_later_work(
    memory_server: Any, autojump_clock: Any
) -> None:
    work_log.clear()
    server = await memory_server(Application([(r"/", FinishThenWorkHandler)]))
    client = server.client()
    await client.request()
    _, body = await client.response()
    assert body == b"done"
    await client.stream.aclose()
    await trio.sleep(20)
    assert work_log == ["work done"]


class NotModifiedHandler(RequestHandler):
    def get(self) -> None:
        self.set_status(304)


async def test_a_304_set_by_the_handler_carries_an_etag() -> None:
    app = Application([(r"/nm", NotModifiedHandler)])
    async with client_for(app) as client:
        response = await client.get("/nm")
    assert response.status_code == 304
    assert response.headers["etag"].startswith('"')


class GetOnlyHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        self.write("got")


async def test_405_reads_the_body_and_keeps_the_connection(memory_server: Any) -> None:
    server = await memory_server(Application([(r"/", GetOnlyHandler)]))
    client = server.client()
    await client.request("POST", "/", body=b"x" * 5000)
    response, _ = await client.response()
    assert response.status_code == 405
    await client.request("GET", "/")
    response, body = await client.response()
    assert (response.status_code, body) == (200, b"got")
    assert server.server.connection_count == 1
