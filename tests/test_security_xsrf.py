"""XSRF protection through the real server: tokens, cookies, the check and what it skips."""

from __future__ import annotations

import binascii
import datetime
import email.utils
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from trinado.testing import open_test_client
from trinado.web import Application, ErrorHandler, RequestHandler, stream_request_body

TOKEN_RE = re.compile(r"2\|[0-9a-f]{8}\|[0-9a-f]{32}\|[0-9]+")
MISSING = "'_xsrf' argument missing from POST"
INVALID = "'_xsrf' argument has invalid format"
MISMATCH = "XSRF cookie does not match POST argument"


class TokenHandler(RequestHandler):
    """GET gives the token; every other method answers "ok" once the check has passed."""

    prepared: list[str] = []  # noqa: RUF012 (shared on purpose: what prepare() saw)

    def prepare(self) -> None:
        TokenHandler.prepared.append(self.request.method)

    def get(self) -> None:
        version = self.get_argument("version", None)
        if version is not None:
            self.settings["xsrf_cookie_version"] = int(version)
        self.write(self.xsrf_token)

    def head(self) -> None:
        pass

    def options(self) -> None:
        self.write("options")

    def post(self) -> None:
        self.write("ok")

    put = patch = delete = post


class FormHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.xsrf_form_html())


class UserHandler(RequestHandler):
    def get_current_user(self) -> str:
        return "alice"

    def get(self) -> None:
        self.write(self.xsrf_token)


class NoCheckHandler(RequestHandler):
    def check_xsrf_cookie(self) -> None:
        pass

    def post(self) -> None:
        self.write("unchecked")


@stream_request_body
class StreamingHandler(RequestHandler):
    def prepare(self) -> None:
        self.received = 0

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)

    def put(self) -> None:
        self.write(str(self.received))


def make_app(**settings: Any) -> Application:
    settings.setdefault("xsrf_cookies", True)
    return Application(
        [
            (r"/", TokenHandler),
            (r"/form", FormHandler),
            (r"/user", UserHandler),
            (r"/nocheck", NoCheckHandler),
            (r"/stream", StreamingHandler),
            (r"/gone", ErrorHandler, {"status_code": 410}),
        ],
        **settings,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    TokenHandler.prepared = []
    async with open_test_client(make_app()) as client:
        yield client


async def new_session(client: httpx.AsyncClient, **params: str) -> tuple[str, str]:
    """GETs a token with no cookie; returns (cookie value, token)."""
    response = await client.get("/", params=params, headers={"Cookie": ""})
    client.cookies.clear()
    assert response.status_code == 200
    cookie = response.cookies["_xsrf"]
    return cookie, response.text


async def post(
    client: httpx.AsyncClient,
    cookie: str | None,
    *,
    path: str = "/",
    method: str = "POST",
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    all_headers = dict(headers or {})
    if cookie is not None:
        all_headers["Cookie"] = f"_xsrf={cookie}"
    client.cookies.clear()
    return await client.request(method, path, data=data, headers=all_headers, params=params)


# --------------------------------------------------------------------------- tokens


async def test_token_format_and_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert TOKEN_RE.fullmatch(response.text)
    header = response.headers["set-cookie"]
    assert header.startswith(f"_xsrf={response.text};")
    assert "Path=/" in header
    assert "expires" not in header.lower()  # a session cookie for anonymous users


async def test_a_fresh_mask_every_request_but_the_cookie_stays(
    client: httpx.AsyncClient,
) -> None:
    cookie, first = await new_session(client)
    tokens = {first}
    for _ in range(10):
        response = await client.get("/", headers={"Cookie": f"_xsrf={cookie}"})
        assert "set-cookie" not in response.headers  # the cookie is kept
        tokens.add(response.text)
        # Every masking of the same token is accepted with the cookie.
        assert (await post(client, cookie, data={"_xsrf": response.text})).text == "ok"
    assert len(tokens) == 11


async def test_distinct_sessions_get_distinct_tokens(client: httpx.AsyncClient) -> None:
    cookies = {(await new_session(client))[0] for _ in range(10)}
    assert len(cookies) == 10


async def test_xsrf_form_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/form")
    match = re.fullmatch(r'<input type="hidden" name="_xsrf" value="([^"]*)"/>', response.text)
    assert match is not None
    token = html.unescape(match.group(1))
    assert TOKEN_RE.fullmatch(token)
    cookie = response.cookies["_xsrf"]
    assert (await post(client, cookie, data={"_xsrf": token})).text == "ok"


async def test_xsrf_cookie_kwargs() -> None:
    kwargs = {"httponly": True, "secure": True, "samesite": "Strict", "expires_days": 2}
    app = make_app(xsrf_cookie_kwargs=kwargs)
    async with open_test_client(app) as client:
        header = (await client.get("/")).headers["set-cookie"]
    assert "HttpOnly" in header
    assert "Secure" in header
    assert "SameSite=Strict" in header
    expires = email.utils.parsedate_to_datetime(header.split("expires=")[1].split(";")[0])
    delta = expires - datetime.datetime.now(datetime.timezone.utc)
    assert abs(delta.total_seconds() - 2 * 86400) < 60


async def test_logged_in_users_get_a_30_day_cookie_without_changing_settings() -> None:
    kwargs = {"httponly": True}
    app = make_app(xsrf_cookie_kwargs=kwargs)
    async with open_test_client(app) as client:
        header = (await client.get("/user")).headers["set-cookie"]
        anonymous = (await post(client, None, method="GET")).headers["set-cookie"]
    expires = email.utils.parsedate_to_datetime(header.split("expires=")[1].split(";")[0])
    delta = expires - datetime.datetime.now(datetime.timezone.utc)
    assert abs(delta.total_seconds() - 30 * 86400) < 60
    # The setting's dict is left alone (Tornado adds expires_days to it).
    assert kwargs == {"httponly": True}
    assert "expires" not in anonymous.lower()


async def test_xsrf_cookie_name() -> None:
    app = make_app(xsrf_cookie_name="__Host-xsrf", xsrf_cookie_kwargs={"secure": True})
    async with open_test_client(app) as client:
        response = await client.get("/")
        cookie = response.cookies["__Host-xsrf"]
        token = response.text
        client.cookies.clear()
        ok = await client.post(
            "/", data={"_xsrf": token}, headers={"Cookie": f"__Host-xsrf={cookie}"}
        )
        assert ok.text == "ok"
        # The default cookie name means nothing to this application.
        wrong_name = await client.post(
            "/", data={"_xsrf": token}, headers={"Cookie": f"_xsrf={cookie}"}
        )
        assert wrong_name.status_code == 403


async def test_version_1_tokens_and_upgrades(client: httpx.AsyncClient) -> None:
    v1_cookie, v1_token = await new_session(client, version="1")
    assert re.fullmatch(r"[0-9a-f]{32}", v1_token)
    assert v1_cookie == v1_token
    # Version 1 tokens are the same for every request of the session.
    again = await client.get("/", params={"version": "1"}, headers={"Cookie": f"_xsrf={v1_cookie}"})
    assert again.text == v1_token
    # The same token in version 2 form; either form goes with either cookie.
    v2 = await client.get("/", params={"version": "2"}, headers={"Cookie": f"_xsrf={v1_cookie}"})
    assert TOKEN_RE.fullmatch(v2.text)
    assert "set-cookie" not in v2.headers
    v2_cookie, _ = await new_session(client)
    assert (await post(client, v1_cookie, data={"_xsrf": v2.text})).text == "ok"
    assert (await post(client, v1_cookie, data={"_xsrf": v1_token})).text == "ok"
    assert (await post(client, v2_cookie, data={"_xsrf": v1_token})).status_code == 403


async def test_unknown_xsrf_cookie_version_is_an_error(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/", params={"version": "3"})
    assert response.status_code == 500
    assert "unknown xsrf cookie version 3" in caplog.text


async def test_short_and_non_hex_tokens_as_tornado(client: httpx.AsyncClient) -> None:
    # Tornado accepts any non-versioned string as a version 1 token (hex or not).
    for token in ("deadbeef", "xoxo"):
        assert (await post(client, token, data={"_xsrf": token})).text == "ok"


# --------------------------------------------------------------------------- the check


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_unsafe_methods_without_a_token_are_403(
    client: httpx.AsyncClient, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    cookie, _ = await new_session(client)
    response = await post(client, cookie, method=method)
    assert response.status_code == 403
    assert response.text == "<html><title>403: Forbidden</title><body>403: Forbidden</body></html>"
    assert MISSING in caplog.text
    # The check runs before prepare().
    assert TokenHandler.prepared == ["GET"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
async def test_safe_methods_are_not_checked(client: httpx.AsyncClient, method: str) -> None:
    response = await post(client, None, method=method)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "where",
    ["form", "query", "X-Xsrftoken", "X-Csrftoken", "x-xsrftoken", "multipart"],
)
async def test_token_sources(client: httpx.AsyncClient, where: str) -> None:
    cookie, token = await new_session(client)
    if where == "form":
        response = await post(client, cookie, data={"_xsrf": token})
    elif where == "query":
        response = await post(client, cookie, params={"_xsrf": token})
    elif where == "multipart":
        client.cookies.clear()
        response = await client.post(
            "/",
            files={"f": ("a.txt", b"x")},
            data={"_xsrf": token},
            headers={"Cookie": f"_xsrf={cookie}"},
        )
    else:
        response = await post(client, cookie, headers={where: token})
    assert response.status_code == 200
    assert response.text == "ok"


async def test_token_without_a_cookie_is_403(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = await new_session(client)
    response = await post(client, None, data={"_xsrf": token})
    assert response.status_code == 403
    assert MISMATCH in caplog.text
    # No cookie was set by the failed check.
    assert "set-cookie" not in response.headers


async def test_forged_tokens_are_403(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    cookie, token = await new_session(client)
    _, mask, masked, timestamp = token.split("|")
    flipped = f"{int(masked[0], 16) ^ 1:x}" + masked[1:]
    forged = [
        f"2|{mask}|{flipped}|{timestamp}",  # one bit of the token changed
        f"2|00000000|{'0' * 32}|{timestamp}",
        f"2|{mask}|{masked}00|{timestamp}",  # longer
        f"2|{mask}|{masked[:-2]}|{timestamp}",  # shorter
        f"2|{int(mask, 16) ^ 1:08x}|{masked}|{timestamp}",  # another mask, same masked bytes
        "0" * 32,
    ]
    for value in forged:
        response = await post(client, cookie, data={"_xsrf": value})
        assert response.status_code == 403, value
    assert caplog.text.count(MISMATCH) == len(forged)


@pytest.mark.parametrize(
    "value",
    ["3|", "2|", "2|zz|00|1", "2|0000|00|1", "2|00000000|00|1|2", "2|00000000||1", "10|a"],
)
async def test_malformed_tokens_are_403(
    client: httpx.AsyncClient, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    cookie, _ = await new_session(client)
    response = await post(client, cookie, data={"_xsrf": value})
    assert response.status_code == 403
    assert INVALID in caplog.text


async def test_malformed_cookie_never_matches(client: httpx.AsyncClient) -> None:
    _, token = await new_session(client)
    for cookie in ("3|", "2|zz|00|1", "2|00000000||1", ""):
        response = await post(client, cookie, data={"_xsrf": token})
        assert response.status_code == 403


async def test_empty_token_in_cookie_and_argument_is_refused(client: httpx.AsyncClient) -> None:
    empty = "2|00000000||1"
    response = await post(client, empty, data={"_xsrf": empty})
    assert response.status_code == 403


async def test_token_replayed_from_another_session_is_403(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    victim_cookie, victim_token = await new_session(client)
    attacker_cookie, attacker_token = await new_session(client)
    # Each token works with its own cookie...
    assert (await post(client, victim_cookie, data={"_xsrf": victim_token})).text == "ok"
    assert (await post(client, attacker_cookie, data={"_xsrf": attacker_token})).text == "ok"
    # ...and with no other.
    for cookie, token in ((victim_cookie, attacker_token), (attacker_cookie, victim_token)):
        response = await post(client, cookie, data={"_xsrf": token})
        assert response.status_code == 403
    assert caplog.text.count(MISMATCH) == 2


async def test_token_taken_from_another_cookie_is_403(client: httpx.AsyncClient) -> None:
    cookie, _ = await new_session(client)
    client.cookies.clear()
    other = binascii.hexlify(b"session-id-12345").decode()
    response = await client.post(
        "/",
        data={"_xsrf": other},
        headers={"Cookie": f"session={other}; _xsrf={cookie}"},
    )
    assert response.status_code == 403


async def test_the_last_xsrf_argument_counts_and_headers_come_after_it(
    client: httpx.AsyncClient,
) -> None:
    cookie, token = await new_session(client)
    both = await post(client, cookie, params={"_xsrf": "forged"}, data={"_xsrf": token})
    assert both.status_code == 200
    forged_arg = await post(
        client, cookie, data={"_xsrf": "forged"}, headers={"X-Xsrftoken": token}
    )
    assert forged_arg.status_code == 403


async def test_hostile_token_values_are_403_not_500(client: httpx.AsyncClient) -> None:
    cookie, _ = await new_session(client)
    for value in (
        "\u00e9\u00e9",
        "2|" + "0" * 10000 + "|0|1",
        "|" * 1000,
        "2|\u00e9|\u00e9|\u00e9",
    ):
        response = await post(client, cookie, data={"_xsrf": value})
        assert response.status_code == 403, value


async def test_an_override_can_disable_the_check(client: httpx.AsyncClient) -> None:
    response = await post(client, None, path="/nocheck")
    assert response.text == "unchecked"


async def test_streaming_handlers_are_checked_before_the_body(
    client: httpx.AsyncClient,
) -> None:
    cookie, token = await new_session(client)
    refused = await post(client, cookie, path="/stream", method="PUT", data={"a": "b"})
    assert refused.status_code == 403
    accepted = await client.put(
        "/stream",
        content=b"x" * 1000,
        headers={"Cookie": f"_xsrf={cookie}", "X-Xsrftoken": token},
    )
    assert accepted.text == "1000"


async def test_404s_and_error_handlers_are_not_checked(client: httpx.AsyncClient) -> None:
    assert (await post(client, None, path="/nowhere")).status_code == 404
    assert (await post(client, None, path="/gone", method="DELETE")).status_code == 410


async def test_a_default_handler_class_is_checked_unless_it_is_an_error_handler() -> None:
    class Fallback(RequestHandler):
        def post(self) -> None:
            self.write("fallback")

    async with open_test_client(make_app(default_handler_class=Fallback)) as client:
        assert (await client.post("/nowhere")).status_code == 403
    app = make_app(default_handler_class=ErrorHandler, default_handler_args={"status_code": 404})
    async with open_test_client(app) as client:
        assert (await client.post("/nowhere")).status_code == 404


async def test_without_the_setting_nothing_is_checked() -> None:
    async with open_test_client(make_app(xsrf_cookies=False)) as client:
        response = await client.post("/")
    assert response.text == "ok"
