"""A real Tornado application and a trinado one, same settings: cookies and tokens cross over.

A user moving an application from Tornado to trinado (or running both behind one load
balancer) keeps their session and their open forms: a signed cookie or an XSRF cookie and
token made by one server are accepted by the other. Tornado runs on its own asyncio loop
in a thread; both are reached over real sockets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from tests.tornado_peer import serve_tornado
from trinado import web
from trinado.testing import open_test_server

SETTINGS: dict[str, dict[str, Any]] = {
    "string secret": {"cookie_secret": "a shared secret, long and random in real life"},
    "bytes secret": {"cookie_secret": b"\x00\xff shared bytes"},
    "key versions": {"cookie_secret": {0: "old key", 1: "current key"}, "key_version": 1},
    "xsrf version 1": {"cookie_secret": "s", "xsrf_cookie_version": 1},
    "xsrf cookie name": {"cookie_secret": "s", "xsrf_cookie_name": "__Host-xsrf"},
}


def tornado_app(settings: dict[str, Any]) -> tornado.web.Application:
    class Token(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write(self.xsrf_token)

        def post(self) -> None:
            self.write("ok")

    class Signed(tornado.web.RequestHandler):
        def check_xsrf_cookie(self) -> None:
            pass

        def get(self) -> None:
            value = self.get_signed_cookie("user")
            key_version = self.get_signed_cookie_key_version("user")
            self.write({"value": value and value.hex(), "key_version": key_version})

        def post(self) -> None:
            version = self.get_argument("version", None)
            as_int = None if version is None else int(version)
            self.set_signed_cookie("user", self.request.body, version=as_int)

    return tornado.web.Application(
        [(r"/token", Token), (r"/signed", Signed)], xsrf_cookies=True, **settings
    )


def trinado_app(settings: dict[str, Any]) -> web.Application:
    class Token(web.RequestHandler):
        def get(self) -> None:
            self.write(self.xsrf_token)

        def post(self) -> None:
            self.write("ok")

    class Signed(web.RequestHandler):
        def check_xsrf_cookie(self) -> None:
            pass

        def get(self) -> None:
            value = self.get_signed_cookie("user")
            key_version = self.get_signed_cookie_key_version("user")
            self.write({"value": value and value.hex(), "key_version": key_version})

        def post(self) -> None:
            version = self.get_argument("version", None)
            as_int = None if version is None else int(version)
            self.set_signed_cookie("user", self.request.body, version=as_int)

    return web.Application(
        [(r"/token", Token), (r"/signed", Signed)], xsrf_cookies=True, **settings
    )


@dataclasses.dataclass
class Servers:
    """Clients for both servers (cookies are passed by hand), and their shared settings."""

    tornado: httpx.AsyncClient
    trinado: httpx.AsyncClient
    settings: dict[str, Any]

    def __getitem__(self, name: str) -> httpx.AsyncClient:
        client: httpx.AsyncClient = getattr(self, name)
        client.cookies.clear()
        return client

    @property
    def xsrf_cookie_name(self) -> str:
        name: str = self.settings.get("xsrf_cookie_name", "_xsrf")
        return name


@pytest.fixture(params=list(SETTINGS))
async def servers(request: pytest.FixtureRequest) -> AsyncIterator[Servers]:
    settings = SETTINGS[request.param]
    async with (
        serve_tornado(lambda: tornado_app(dict(settings))) as tornado_port,
        open_test_server(trinado_app(dict(settings))) as trinado_server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{tornado_port}") as tornado_client,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{trinado_server.port}") as trinado_client,
    ):
        yield Servers(tornado_client, trinado_client, settings)


def raw_cookie(response: httpx.Response, name: str) -> str:
    """The cookie's value exactly as the Set-Cookie header carries it (quotes included)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header[len(name) + 1 :].split(";")[0]
    raise AssertionError(f"no {name} cookie in {response.headers}")


DIRECTIONS = [("tornado", "trinado"), ("trinado", "tornado"), ("trinado", "trinado")]


# Version 1 values cannot carry a key version: that pairing does not exist.
SIGNED_VALUE_CASES = [
    (name, version)
    for name in SETTINGS
    for version in ("1", "2")
    if not (version == "1" and "key_version" in SETTINGS[name])
]


@pytest.mark.parametrize(("maker", "checker"), DIRECTIONS)
@pytest.mark.parametrize(("servers", "version"), SIGNED_VALUE_CASES, indirect=["servers"])
async def test_signed_cookies_cross_over(
    servers: Servers, maker: str, checker: str, version: str
) -> None:
    value = b"\x00alice\xff=;"
    made = await servers[maker].post("/signed", content=value, params={"version": version})
    assert made.status_code == 200
    cookie = raw_cookie(made, "user")
    response = await servers[checker].get("/signed", headers={"Cookie": f"user={cookie}"})
    answer = response.json()
    assert answer["value"] == value.hex()
    settings = servers.settings
    expected_key_version = settings.get("key_version", 0) if version == "2" else None
    assert answer["key_version"] == expected_key_version
    # Tampered, the cookie is refused by both.
    tampered = cookie.replace("|", "|0", 1) if version == "2" else "x" + cookie
    for name in ("tornado", "trinado"):
        refused = await servers[name].get("/signed", headers={"Cookie": f"user={tampered}"})
        assert refused.json()["value"] is None


async def test_set_cookie_headers_quote_alike(servers: Servers) -> None:
    for content in (b"alice", b"al", b"a"):  # base64 with 0, 1 and 2 padding characters
        cookies = [
            raw_cookie(await servers[name].post("/signed", content=content), "user")
            for name in ("tornado", "trinado")
        ]
        quoted = [cookie.startswith('"') for cookie in cookies]
        assert quoted[0] == quoted[1]
        pattern = r'"?2\|1:\d\|10:\d{10}\|4:user\|\d+:[A-Za-z0-9+/=]+\|[0-9a-f]{64}"?'
        assert all(re.fullmatch(pattern, cookie) for cookie in cookies)


@pytest.mark.parametrize(("maker", "checker"), DIRECTIONS)
async def test_xsrf_tokens_cross_over(servers: Servers, maker: str, checker: str) -> None:
    settings = servers.settings
    cookie_name = servers.xsrf_cookie_name
    made = await servers[maker].get("/token")
    cookie = raw_cookie(made, cookie_name)
    token = made.text
    if settings.get("xsrf_cookie_version") == 1:
        assert re.fullmatch(r"[0-9a-f]{32}", token)
    else:
        assert re.fullmatch(r"2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+", token)
    headers = {"Cookie": f"{cookie_name}={cookie}"}
    accepted = await servers[checker].post("/token", data={"_xsrf": token}, headers=headers)
    assert (accepted.status_code, accepted.text) == (200, "ok")
    by_header = await servers[checker].post("/token", headers={**headers, "X-Xsrftoken": token})
    assert by_header.status_code == 200
    # A new masking of the same token, made by the checker from the maker's cookie, works
    # on the maker: refreshing a page served by the other server keeps forms working.
    remasked = (await servers[checker].get("/token", headers=headers)).text
    assert remasked != token or settings.get("xsrf_cookie_version") == 1
    again = await servers[maker].post("/token", data={"_xsrf": remasked}, headers=headers)
    assert again.status_code == 200


@pytest.mark.parametrize(("maker", "checker"), DIRECTIONS)
async def test_xsrf_tokens_of_another_session_are_refused_by_both(
    servers: Servers, maker: str, checker: str
) -> None:
    cookie_name = servers.xsrf_cookie_name
    victim = await servers[maker].get("/token")
    attacker = await servers[checker].get("/token")
    headers = {"Cookie": f"{cookie_name}={raw_cookie(victim, cookie_name)}"}
    refused = await servers[checker].post("/token", data={"_xsrf": attacker.text}, headers=headers)
    assert refused.status_code == 403
    missing = await servers[checker].post("/token", headers=headers)
    assert missing.status_code == 403
