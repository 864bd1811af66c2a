"""RequestHandler's response API over real connections: status, headers, body, cookies, ETags."""

from __future__ import annotations

import datetime
import hashlib
import http.cookies
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from trinado._request_handler import _default_headers
from trinado.httputil import HTTPHeaders
from trinado.testing import open_test_client as client_for
from trinado.web import Application, HTTPError, RequestHandler

UTC = datetime.timezone.utc


class StatusHandler(RequestHandler):
    def get(self) -> None:
        code = int(self.get_argument("code"))
        reason = self.get_argument("reason", None)
        self.set_status(code, reason)
        self.write(f"status {self.get_status()}")


class RaiseHandler(RequestHandler):
    def get(self) -> None:
        kind = self.get_argument("kind")
        if kind == "teapot":
            raise HTTPError(418)
        if kind == "custom":
            raise HTTPError(599, "log %s", "detail", reason="Custom Reason")
        if kind == "unsafe":
            raise HTTPError(599, reason="<script>")
        raise ZeroDivisionError("boom")


class JsonHandler(RequestHandler):
    def get(self) -> None:
        self.write({"a": 1, "html": "</script>"})


class ListHandler(RequestHandler):
    def get(self) -> None:
        try:
            self.write([1, 2])  # type: ignore[arg-type]
        except TypeError as exc:
            self.write(str(exc))


class HeaderHandler(RequestHandler):
    def get(self) -> None:
        errors = []
        for value in ("a\r\nInjected: 1", "a\nb", "a\rb", "nul\x00"):
            try:
                self.set_header("X-Bad", value)
            except ValueError:
                errors.append(repr(value))
        try:
            self.add_header("X-Bad", b"x\r\ny")
        except ValueError:
            errors.append("add")
        self.set_header("X-Errors", str(len(errors)))
        self.set_header("X-Int", 42)
        self.set_header("X-Bytes", b"caf\xe9")
        self.set_header("X-Date", datetime.datetime(2020, 1, 2, 3, 4, 5))
        self.add_header("X-Multi", "one")
        self.add_header("X-Multi", "two")
        self.set_header("X-Gone", "soon")
        self.clear_header("X-Gone")
        self.clear_header("X-Never-Set")
        self.set_header("Server", "Custom")


class WriteAfterFinishHandler(RequestHandler):
    def get(self) -> None:
        self.finish("done")
        try:
            self.write("more")
        except RuntimeError as exc:
            self.result = str(exc)
        try:
            self.finish()
        except RuntimeError as exc:
            self.result += " / " + str(exc)

    def on_finish(self) -> None:
        results.append(self.result)


results: list[str] = []


class CookieHandler(RequestHandler):
    def get(self) -> None:
        self.set_cookie(
            "full",
            "v1",
            domain="example.com",
            path="/p",
            max_age=60,
            httponly=True,
            secure=True,
            samesite="Lax",
        )
        self.set_cookie("days", "v2", expires_days=1)
        self.set_cookie("replaced", "old")
        self.set_cookie("replaced", "new")
        self.set_cookie("stamp", "v3", expires=datetime.datetime(2030, 1, 1, tzinfo=UTC))
        self.clear_cookie("old", path="/x")
        self.write(f"seen={self.get_cookie('incoming', 'none')}")


class BadCookieHandler(RequestHandler):
    def get(self) -> None:
        outcomes = []
        cases: list[dict[str, Any]] = [
            {"value": "a b"},
            {"value": "a\x01"},
            {"value": "ok", "path": "/a;b"},
            {"value": "ok", "domain": "ex ample.com"},
            {"value": "ok", "samesite": "Lax;Secure"},
        ]
        for kwargs in cases:
            try:
                self.set_cookie("name", **kwargs)
            except ValueError as exc:
                outcomes.append(type(exc).__name__)
        try:
            self.set_cookie("n", "ok", path="/a;b")
        except http.cookies.CookieError:
            outcomes.append("CookieError")
        try:
            self.clear_cookie("n", max_age=3)
        except TypeError:
            outcomes.append("TypeError")
        self.write(",".join(outcomes))


class ClearAllHandler(RequestHandler):
    def get(self) -> None:
        self.clear_all_cookies(path="/")


class RedirectingHandler(RequestHandler):
    def get(self) -> None:
        how = self.get_argument("how")
        if how == "temp":
            self.redirect("/target")
        elif how == "perm":
            self.redirect("/target", permanent=True)
        elif how == "303":
            self.redirect("/target", status=303)
        else:
            try:
                self.redirect("/target", status=200)
            except ValueError:
                self.write("refused")


class EtagHandler(RequestHandler):
    def get(self) -> None:
        self.write("etag body")

    def post(self) -> None:
        self.write("etag body")


class NoContentHandler(RequestHandler):
    def get(self) -> None:
        self.set_status(204)
        if self.get_argument("body", None):
            self.write("oops")


class HeadHandler(RequestHandler):
    def head(self) -> None:
        self.write("twelve bytes")


class ClearHandler(RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("X-Default", "yes")

    def get(self) -> None:
        self.set_header("X-Extra", "1")
        self.write("discarded")
        self.set_status(500)
        self.clear()
        self.write("kept")


def make_app(**settings: Any) -> Application:
    return Application(
        [
            (r"/status", StatusHandler),
            (r"/raise", RaiseHandler),
            (r"/json", JsonHandler),
            (r"/list", ListHandler),
            (r"/headers", HeaderHandler),
            (r"/after_finish", WriteAfterFinishHandler),
            (r"/cookie", CookieHandler),
            (r"/bad_cookie", BadCookieHandler),
            (r"/clear_all", ClearAllHandler),
            (r"/redirect", RedirectingHandler),
            (r"/etag", EtagHandler),
            (r"/nocontent", NoContentHandler),
            (r"/head", HeadHandler),
            (r"/clear", ClearHandler),
        ],
        **settings,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app()) as client:
        yield client


def test_default_headers_match_a_normal_construction() -> None:
    fast = _default_headers()
    slow = HTTPHeaders({"Server": fast["Server"], "Content-Type": "text/html; charset=UTF-8"})
    assert list(fast.get_all()) == list(slow.get_all())
    assert fast["content-type"] == "text/html; charset=UTF-8"
    fast.add("Set-Cookie", "a=b")
    assert _default_headers().get_list("Set-Cookie") == []


async def test_default_response_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/status", params={"code": "200"})
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    assert response.headers["server"].startswith("TrinadoServer/")
    assert response.headers["content-length"] == str(len(b"status 200"))
    assert "date" in response.headers


@pytest.mark.parametrize(
    ("code", "reason", "expected_reason"),
    [
        ("201", None, "Created"),
        ("299", None, "Unknown"),
        ("299", "Fine Thanks", "Fine Thanks"),
        ("299", "<b>", "Unknown"),
    ],
)
async def test_set_status_reason(
    client: httpx.AsyncClient, code: str, reason: str | None, expected_reason: str
) -> None:
    params = {"code": code} if reason is None else {"code": code, "reason": reason}
    response = await client.get("/status", params=params)
    assert response.status_code == int(code)
    assert response.reason_phrase == expected_reason


async def test_http_error_keeps_status_and_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/raise", params={"kind": "teapot"})
    assert response.status_code == 418
    assert response.reason_phrase == "I'm a Teapot"
    assert response.text == (
        "<html><title>418: I&#x27;m a Teapot</title><body>418: I&#x27;m a Teapot</body></html>"
    )
    response = await client.get("/raise", params={"kind": "custom"})
    assert response.status_code == 599
    assert response.reason_phrase == "Custom Reason"
    assert response.text == (
        "<html><title>599: Custom Reason</title><body>599: Custom Reason</body></html>"
    )
    response = await client.get("/raise", params={"kind": "unsafe"})
    assert response.reason_phrase == "Unknown"


async def test_http_error_log_message_goes_to_general_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/raise", params={"kind": "custom"})
    records = [r for r in caplog.records if r.name == "trinado.general"]
    assert [r.getMessage() for r in records] == [
        "599 GET /raise?kind=custom (127.0.0.1): log detail"
    ]
    assert records[0].levelname == "WARNING"


async def test_uncaught_exception_is_500_and_logged_with_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/raise", params={"kind": "zero"})
    assert response.status_code == 500
    assert response.text == (
        "<html><title>500: Internal Server Error</title>"
        "<body>500: Internal Server Error</body></html>"
    )
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.name == "trinado.application"]
    assert record.getMessage().startswith("Uncaught exception GET /raise?kind=zero (127.0.0.1)")
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


@pytest.mark.parametrize("settings", [{"serve_traceback": True}, {"debug": True}])
async def test_serve_traceback_sends_the_traceback_as_text(settings: dict[str, Any]) -> None:
    app = make_app(**settings)
    assert app.settings["serve_traceback"] is True
    async with client_for(app) as client:
        response = await client.get("/raise", params={"kind": "zero"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/plain"
    assert response.text.startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: boom" in response.text


async def test_debug_setting_defaults_as_tornado() -> None:
    app = Application(debug=True, serve_traceback=False)
    assert app.settings["serve_traceback"] is False
    assert app.settings["compiled_template_cache"] is False
    assert app.settings["static_hash_cache"] is False
    assert "serve_traceback" not in Application().settings


async def test_write_dict_is_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/json")
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text == '{"a": 1, "html": "<\\/script>"}'
    assert response.json() == {"a": 1, "html": "</script>"}


async def test_write_list_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/list")
    assert response.text.startswith("write() only accepts bytes, unicode, and dict objects. ")
    assert "Lists not accepted for security reasons" in response.text


async def test_write_and_finish_after_finish_raise(client: httpx.AsyncClient) -> None:
    results.clear()
    response = await client.get("/after_finish")
    assert response.text == "done"
    assert results == ["Cannot write() after finish() / finish() called twice"]


async def test_header_values(client: httpx.AsyncClient) -> None:
    response = await client.get("/headers")
    assert response.status_code == 200
    assert response.headers["x-errors"] == "5"
    assert "x-bad" not in response.headers
    assert "injected" not in response.headers
    assert response.headers["x-int"] == "42"
    raw = {k.lower(): v for k, v in response.headers.raw}
    assert raw[b"x-bytes"] == b"caf\xe9"
    assert response.headers["x-date"] == "Thu, 02 Jan 2020 03:04:05 GMT"
    assert response.headers.get_list("x-multi") == ["one", "two"]
    assert "x-gone" not in response.headers
    assert response.headers["server"] == "Custom"


async def test_clear_resets_headers_status_and_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/clear")
    assert response.status_code == 200
    assert response.text == "kept"
    assert response.headers["x-default"] == "yes"
    assert "x-extra" not in response.headers


async def test_set_cookie_attributes(client: httpx.AsyncClient) -> None:
    response = await client.get("/cookie", headers={"Cookie": "incoming=hello"})
    assert response.text == "seen=hello"
    cookies = response.headers.get_list("set-cookie")
    by_name = {c.split("=", 1)[0]: c for c in cookies}
    assert set(by_name) == {"full", "days", "replaced", "stamp", "old"}
    full = by_name["full"]
    assert full.startswith("full=v1; ")
    for part in (
        "Domain=example.com",
        "Path=/p",
        "Max-Age=60",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    ):
        assert part in full.split("; ")
    assert by_name["replaced"].startswith("replaced=new;")
    assert "expires=Tue, 01 Jan 2030 00:00:00 GMT" in by_name["stamp"]
    days = http.cookies.SimpleCookie(by_name["days"])["days"]
    expires = datetime.datetime.strptime(days["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    delta = expires.replace(tzinfo=UTC) - datetime.datetime.now(UTC)
    assert datetime.timedelta(hours=23) < delta <= datetime.timedelta(days=1)
    old = http.cookies.SimpleCookie(by_name["old"])["old"]
    assert old.value == ""
    assert old["path"] == "/x"
    old_expires = datetime.datetime.strptime(old["expires"], "%a, %d %b %Y %H:%M:%S GMT")
    assert old_expires < datetime.datetime.now() - datetime.timedelta(days=300)


async def test_get_cookie_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/cookie")
    assert response.text == "seen=none"


async def test_invalid_cookies_raise(client: httpx.AsyncClient) -> None:
    response = await client.get("/bad_cookie")
    assert response.text == (
        "ValueError,ValueError,_InvalidCookieError,_InvalidCookieError,_InvalidCookieError,"
        "CookieError,TypeError"
    )


async def test_clear_all_cookies(client: httpx.AsyncClient) -> None:
    response = await client.get("/clear_all", headers={"Cookie": "a=1; b=2"})
    cookies = response.headers.get_list("set-cookie")
    assert sorted(c.split(";")[0] for c in cookies) == ['a=""', 'b=""']


@pytest.mark.parametrize(("how", "status"), [("temp", 302), ("perm", 301), ("303", 303)])
async def test_redirect(client: httpx.AsyncClient, how: str, status: int) -> None:
    response = await client.get("/redirect", params={"how": how})
    assert response.status_code == status
    assert response.headers["location"] == "/target"
    assert response.content == b""


async def test_redirect_rejects_non_3xx(client: httpx.AsyncClient) -> None:
    response = await client.get("/redirect", params={"how": "bad"})
    assert response.text == "refused"


async def test_etag_and_304(client: httpx.AsyncClient) -> None:
    response = await client.get("/etag")
    etag = response.headers["etag"]
    assert etag == '"' + hashlib.sha1(b"etag body").hexdigest() + '"'
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get("/etag", headers={"If-None-Match": if_none_match})
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert "content-type" not in again.headers
        assert "content-length" not in again.headers
        assert again.headers["etag"] == etag
    miss = await client.get("/etag", headers={"If-None-Match": '"other"'})
    assert miss.status_code == 200
    assert miss.text == "etag body"
    post = await client.post("/etag", headers={"If-None-Match": etag})
    assert post.status_code == 200
    assert "etag" not in post.headers


async def test_204_has_no_body_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/nocontent")
    assert response.status_code == 204
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers
    assert response.content == b""


async def test_204_with_a_body_is_an_error(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/nocontent", params={"body": "1"})
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "trinado.application"]
    assert record.exc_info is not None
    assert "Cannot send body with status code HTTP204" in str(record.exc_info[1])


async def test_head_keeps_headers_and_drops_the_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/head")
    assert response.status_code == 200
    assert response.headers["content-length"] == "12"
    assert "etag" in response.headers
    assert response.content == b""
    # A second request on the same connection still works (no stray body bytes).
    response = await client.head("/head")
    assert response.status_code == 200


async def test_head_without_a_head_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.head("/etag")
    assert response.status_code == 405
