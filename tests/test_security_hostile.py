"""Hostile input against headers, cookies, redirects and the login redirect.

CR/LF smuggled into a header, a cookie or a redirect must raise in the handler (a 500) and
never reach the wire; the login redirect must never point at another host, whatever the
request looks like. Responses are read as raw bytes, so an injected line would show.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
import trio.lowlevel

from trinado.httpserver import HTTPServer
from trinado.testing import open_test_client, open_test_server
from trinado.web import Application, HTTPError, RequestHandler, authenticated

# ASCII control characters: refused wherever they go.
INJECTIONS = [
    "a\r\nX-Injected: 1",
    "a\nX-Injected: 1",
    "a\rX-Injected: 1",
    "a\r\n\r\n<script>x</script>",
    "a\x00X-Injected: 1",
    "a\x0bX-Injected: 1",
    "a\x0cX-Injected: 1",
]
# Unicode line separators: not line breaks in HTTP. Header values may carry them as
# obs-text bytes (as in Tornado), but they never start a header line.
UNICODE_BREAKS = ["a\u2028X-Injected: 1", "a\u0085X-Injected: 1"]


def encoded(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class InjectHandler(RequestHandler):
    """Puts the ``v`` argument (control characters and all) where ``what`` says."""

    def get(self) -> None:
        # Raw, not get_argument (which turns control characters into spaces).
        value = self.request.arguments["v"][-1].decode("utf-8")
        what = self.get_argument("what")
        if what == "header_value":
            self.set_header("X-Test", value)
        elif what == "header_bytes":
            self.set_header("X-Test", value.encode("utf-8"))
        elif what == "header_name":
            self.set_header(value, "1")
        elif what == "add_header_value":
            self.add_header("X-Test", value)
        elif what == "add_header_name":
            self.add_header(value, "1")
        elif what == "cookie_value":
            self.set_cookie("c", value)
        elif what == "cookie_name":
            self.set_cookie(value, "1")
        elif what == "cookie_path":
            self.set_cookie("c", "1", path="/" + value)
        elif what == "cookie_domain":
            self.set_cookie("c", "1", domain=value)
        elif what == "cookie_samesite":
            self.set_cookie("c", "1", samesite=value)
        elif what == "redirect":
            self.redirect("/next?" + value)
            return
        elif what == "redirect_absolute":
            self.redirect("https://example.com/" + value)
            return
        elif what == "reason":
            self.set_status(200, reason=value)
        self.write("done")


class SignedHandler(RequestHandler):
    def get(self) -> None:
        self.set_signed_cookie("c", self.request.arguments["v"][-1])
        self.write("done")


class PrivateHandler(RequestHandler):
    def get_current_user(self) -> str | None:
        return self.get_cookie("user")

    @authenticated
    def get(self, *args: Any) -> None:
        self.write("private")

    @authenticated
    def post(self, *args: Any) -> None:
        self.write("private")

    head = get


class AbsoluteLoginHandler(PrivateHandler):
    def get_login_url(self) -> str:
        return "https://login.example.com/in"


class QueryLoginHandler(PrivateHandler):
    def get_login_url(self) -> str:
        return "/login?service=app"


class LoginHandler(RequestHandler):
    """A login page that sends the user on to ``next``, as Tornado's demos do."""

    def get(self) -> None:
        self.write("login")


def make_app() -> Application:
    return Application(
        [
            (r"/inject", InjectHandler),
            (r"/signed", SignedHandler),
            (r"/login", LoginHandler),
            (r"/absolute/.*", AbsoluteLoginHandler),
            (r"/query/.*", QueryLoginHandler),
            (r"(.*)", PrivateHandler),  # catch-all, so odd paths reach @authenticated
        ],
        cookie_secret="secret",
        login_url="/login",
    )


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    async with open_test_server(make_app()) as server:
        yield server


async def raw_exchange(server: HTTPServer, target: str, method: str = "GET") -> bytes:
    """Sends one request with the target as given; returns every byte of the answer."""
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    async with stream:
        request = f"{method} {target} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode("latin-1"))
        received = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some():
                received += chunk
    return received


def head_lines(response: bytes) -> list[bytes]:
    head, _, _ = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")


def location(response: bytes) -> str | None:
    for line in head_lines(response):
        if line.lower().startswith(b"location:"):
            return line.split(b":", 1)[1].strip().decode("latin-1")
    return None


def assert_refused_cleanly(response: bytes) -> None:
    """A 500 whose head has no injected line and no stray control characters."""
    lines = head_lines(response)
    assert lines[0] == b"HTTP/1.1 500 Internal Server Error", response
    for line in lines:
        assert not line.lower().startswith(b"x-injected"), response
        assert b"\n" not in line
        assert b"\r" not in line
        assert b"\x00" not in line
    assert b"X-Injected" not in response
    assert b"<script>" not in response


# --------------------------------------------------------------------------- CR/LF


INJECT_PLACES = [
    "header_value",
    "header_bytes",
    "header_name",
    "add_header_value",
    "add_header_name",
    "cookie_value",
    "cookie_name",
    "cookie_path",
    "cookie_domain",
    "cookie_samesite",
    "redirect",
    "redirect_absolute",
]


@pytest.mark.parametrize("what", INJECT_PLACES)
@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_is_refused_before_the_wire(
    server: HTTPServer, what: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await raw_exchange(server, f"/inject?what={what}&v={encoded(value)}")
    assert_refused_cleanly(response)
    assert "Uncaught exception" in caplog.text
    assert "ValueError" in caplog.text or "CookieError" in caplog.text


@pytest.mark.parametrize("what", INJECT_PLACES)
@pytest.mark.parametrize("value", UNICODE_BREAKS)
async def test_unicode_line_separators_never_start_a_header_line(
    server: HTTPServer, what: str, value: str
) -> None:
    response = await raw_exchange(server, f"/inject?what={what}&v={encoded(value)}")
    head, _, _ = response.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 302 Found\r\n", b"HTTP/1.1 500 "))
    # Whatever HTTP client reads it (CR LF, or a bare LF or CR), no line is injected.
    for separator in (b"\r\n", b"\n", b"\r"):
        for line in head.split(separator)[1:]:
            assert not line.lstrip().lower().startswith(b"x-injected"), (separator, head)


@pytest.mark.parametrize("value", INJECTIONS)
async def test_reason_phrase_injection_is_replaced(server: HTTPServer, value: str) -> None:
    response = await raw_exchange(server, f"/inject?what=reason&v={encoded(value)}")
    lines = head_lines(response)
    assert lines[0] == b"HTTP/1.1 200 Unknown"
    assert b"X-Injected" not in response


@pytest.mark.parametrize("value", INJECTIONS)
async def test_signed_cookie_values_are_base64_and_safe(server: HTTPServer, value: str) -> None:
    response = await raw_exchange(server, f"/signed?v={encoded(value)}")
    lines = head_lines(response)
    assert lines[0] == b"HTTP/1.1 200 OK"
    cookies = [line for line in lines if line.lower().startswith(b"set-cookie:")]
    assert len(cookies) == 1
    assert b"X-Injected" not in response
    assert b"<script>" not in response


async def test_request_target_with_raw_crlf_is_a_400(server: HTTPServer) -> None:
    response = await raw_exchange(server, "/login\r\nX-Injected: 1")
    assert head_lines(response)[0].startswith(b"HTTP/1.1 400")


async def test_encoded_crlf_in_the_uri_stays_encoded_in_the_login_redirect(
    server: HTTPServer,
) -> None:
    response = await raw_exchange(server, "/private?a=%0d%0aX-Injected:%201")
    assert location(response) == "/login?next=%2Fprivate%3Fa%3D%250d%250aX-Injected%3A%25201"
    assert b"\r\nX-Injected" not in response


# --------------------------------------------------------------------------- login


async def test_login_redirect_carries_the_requested_uri(server: HTTPServer) -> None:
    response = await raw_exchange(server, "/private/page?a=1&b=%C3%A9")
    assert head_lines(response)[0] == b"HTTP/1.1 302 Found"
    next_url = location(response)
    assert next_url is not None
    parsed = urllib.parse.urlsplit(next_url)
    assert parsed.path == "/login"
    assert urllib.parse.parse_qs(parsed.query) == {"next": ["/private/page?a=1&b=%C3%A9"]}


async def test_head_is_redirected_and_other_methods_get_403(server: HTTPServer) -> None:
    head = await raw_exchange(server, "/private", method="HEAD")
    assert location(head) == "/login?next=%2Fprivate"
    post = await raw_exchange(server, "/private", method="POST")
    assert head_lines(post)[0] == b"HTTP/1.1 403 Forbidden"
    assert location(post) is None


async def test_a_next_argument_in_the_request_cannot_replace_next(server: HTTPServer) -> None:
    for target in (
        "/private?next=//evil.example/",
        "/private?next=https://evil.example/",
        "/private?a=1&next=https%3A%2F%2Fevil.example%2F",
        "/private?next=%2F%2Fevil.example",
    ):
        next_url = location(await raw_exchange(server, target))
        assert next_url is not None
        parsed = urllib.parse.urlsplit(next_url)
        assert (parsed.scheme, parsed.netloc, parsed.path) == ("", "", "/login")
        # One "next", and it is the request's own URI (whatever that contains).
        assert urllib.parse.parse_qs(parsed.query) == {"next": [target]}


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "//evil.example/%2e%2e", "///evil.example/", "/\\evil.example/"],
)
async def test_protocol_relative_paths_are_refused(server: HTTPServer, target: str) -> None:
    # A login page that redirects to next would send the user to evil.example: Tornado
    # does redirect here (next=//evil.example/); trinado answers 403 instead.
    response = await raw_exchange(server, target)
    assert head_lines(response)[0] == b"HTTP/1.1 403 Forbidden"
    assert location(response) is None


@pytest.mark.parametrize("target", ["/%2F%2Fevil.example/", "/%5Cevil.example/", "/./evil"])
async def test_encoded_slashes_stay_on_this_site(server: HTTPServer, target: str) -> None:
    next_url = location(await raw_exchange(server, target))
    assert next_url is not None
    (value,) = urllib.parse.parse_qs(urllib.parse.urlsplit(next_url).query)["next"]
    assert value == target
    assert urllib.parse.urlsplit(value).netloc == ""


async def test_absolute_login_url_gets_an_absolute_next_on_the_request_host(
    server: HTTPServer,
) -> None:
    response = await raw_exchange(server, "/absolute/page?x=1")
    next_url = location(response)
    assert next_url == "https://login.example.com/in?" + urllib.parse.urlencode(
        {"next": "http://example.com/absolute/page?x=1"}
    )


async def test_login_url_with_a_query_is_used_as_is(server: HTTPServer) -> None:
    response = await raw_exchange(server, "/query/page")
    assert location(response) == "/login?service=app"


async def test_a_logged_in_user_is_not_redirected() -> None:
    async with open_test_client(make_app()) as client:
        response = await client.get("/private", headers={"Cookie": "user=alice"})
        assert response.text == "private"
        posted = await client.post("/private", headers={"Cookie": "user=alice"})
        assert posted.text == "private"


async def test_current_user_set_by_an_async_prepare() -> None:
    class Handler(RequestHandler):
        async def prepare(self) -> None:
            await trio.lowlevel.checkpoint()
            self.current_user = self.get_argument("user", None)

        @authenticated
        async def get(self) -> None:
            self.write(f"hello {self.current_user}")

    app = Application([(r"/", Handler)], login_url="/login")
    async with open_test_client(app) as client:
        assert (await client.get("/", params={"user": "bob"})).text == "hello bob"
        redirected = await client.get("/")
        assert redirected.status_code == 302
        assert redirected.headers["location"] == "/login?next=%2F"


async def test_missing_login_url_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    class Handler(RequestHandler):
        @authenticated
        def get(self) -> None:
            raise HTTPError(200)

    async with open_test_client(Application([(r"/", Handler)])) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert "You must define the 'login_url' setting" in caplog.text


async def test_no_response_head_ever_carries_a_bare_cr_or_lf(server: HTTPServer) -> None:
    # A sweep over every place above, with httpx parsing the responses: none breaks.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        for what in ("header_value", "cookie_value", "redirect", "cookie_name"):
            for value in INJECTIONS:
                response = await client.get("/inject", params={"what": what, "v": value})
                assert response.status_code == 500
                assert "x-injected" not in response.headers
