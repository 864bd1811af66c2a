"""Signed cookies through the real server: round trips, expiry, tampering, renaming, keys."""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from trinado import security
from trinado.testing import open_test_client
from trinado.web import Application, RequestHandler

SECRET = "0123456789abcdef0123456789abcdef"
DAY = 86400.0
START = 1_700_000_000.0


class SetHandler(RequestHandler):
    def post(self) -> None:
        name = self.get_argument("name", "user")
        value = self.request.body or b"alice"
        kwargs: dict[str, Any] = {}
        if self.get_argument("session", None):
            kwargs["expires_days"] = None
        if self.get_argument("version", None):
            kwargs["version"] = int(self.get_argument("version"))
        self.set_signed_cookie(name, value, httponly=True, samesite="Lax", **kwargs)


class GetHandler(RequestHandler):
    def get(self) -> None:
        name = self.get_argument("name", "user")
        kwargs: dict[str, Any] = {}
        if self.get_argument("max_age_days", None):
            kwargs["max_age_days"] = float(self.get_argument("max_age_days"))
        if self.get_argument("min_version", None):
            kwargs["min_version"] = int(self.get_argument("min_version"))
        value = self.get_signed_cookie(name, **kwargs)
        key_version = self.get_signed_cookie_key_version(name)
        self.write(
            {
                "value": None if value is None else value.hex(),
                "key_version": key_version,
                "plain": self.get_cookie(name),
            }
        )


class AliasHandler(RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "set": self.set_secure_cookie.__func__ is self.set_signed_cookie.__func__,  # type: ignore[attr-defined]
                "get": self.get_secure_cookie.__func__ is self.get_signed_cookie.__func__,  # type: ignore[attr-defined]
                "kv": (
                    self.get_secure_cookie_key_version.__func__  # type: ignore[attr-defined]
                    is self.get_signed_cookie_key_version.__func__  # type: ignore[attr-defined]
                ),
            }
        )


class ValueArgumentHandler(RequestHandler):
    def get(self) -> None:
        signed = self.create_signed_value("token", "payload")
        assert self.get_signed_cookie("token", value=signed.decode()) == b"payload"
        assert self.get_signed_cookie("other", value=signed.decode()) is None
        self.write(signed)


def make_app(**settings: Any) -> Application:
    settings.setdefault("cookie_secret", SECRET)
    return Application(
        [
            (r"/set", SetHandler),
            (r"/get", GetHandler),
            (r"/alias", AliasHandler),
            (r"/value", ValueArgumentHandler),
        ],
        **settings,
    )


class Clock:
    """Stands in for the security module's clock."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(security, "_current_time", fake)
    return fake


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with open_test_client(make_app()) as client:
        yield client


async def read(client: httpx.AsyncClient, cookie: str | None = None, **params: str) -> Any:
    headers = {} if cookie is None else {"Cookie": cookie}
    response = await client.get("/get", params=params, headers=headers)
    assert response.status_code == 200
    return response.json()


def set_cookie_value(response: httpx.Response, name: str = "user") -> str:
    """The cookie's value as the server will read it back.

    Values with ``=`` (base64 padding) are sent quoted, as Tornado sends them; the quotes
    come back and the server's cookie parser takes them off.
    """
    value = response.cookies.get(name)
    assert value is not None
    return value.removeprefix('"').removesuffix('"')


async def test_round_trip(client: httpx.AsyncClient) -> None:
    response = await client.post("/set", content=b"\x00\xffcaf\xc3\xa9 ;,\r\n")
    assert response.status_code == 200
    signed = set_cookie_value(response)
    assert signed.startswith("2|1:0|10:")
    # The client's jar sends it back.
    assert (await read(client))["value"] == b"\x00\xffcaf\xc3\xa9 ;,\r\n".hex()


async def test_set_cookie_attributes(client: httpx.AsyncClient) -> None:
    response = await client.post("/set")
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    expires = header.split("expires=")[1].split(";")[0]
    when = email.utils.parsedate_to_datetime(expires)
    delta = when - datetime.datetime.now(datetime.timezone.utc)
    assert abs(delta.total_seconds() - 30 * DAY) < 60


async def test_expires_days_none_is_a_session_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post("/set", params={"session": "1"})
    assert "expires" not in response.headers["set-cookie"].lower()


async def test_absent_cookie_is_none(client: httpx.AsyncClient) -> None:
    assert await read(client) == {"value": None, "key_version": None, "plain": None}


async def test_expiry_with_an_injected_clock(clock: Clock) -> None:
    async with open_test_client(make_app()) as client:
        signed = set_cookie_value(await client.post("/set"))
        client.cookies.clear()
        cookie = f"user={signed}"
        clock.now = START + 31 * DAY
        assert (await read(client, cookie))["value"] == b"alice".hex()
        clock.now = START + 31 * DAY + 1
        assert (await read(client, cookie))["value"] is None
        # The signature expires, not the cookie: the raw value is still there.
        assert (await read(client, cookie))["plain"] == signed
        # max_age_days shortens it.
        clock.now = START + 2 * DAY
        assert (await read(client, cookie, max_age_days="1"))["value"] is None
        assert (await read(client, cookie, max_age_days="3"))["value"] == b"alice".hex()


async def test_tampered_cookie_is_none(client: httpx.AsyncClient) -> None:
    signed = set_cookie_value(await client.post("/set"))
    client.cookies.clear()
    prefix, signature = signed.rsplit("|", 1)
    encoded_bob = "Ym9i"  # base64 of "bob"
    tampered = [
        signed.replace("YWxpY2U=", encoded_bob).replace("|8:", "|4:"),
        prefix + "|" + ("0" if signature[0] != "0" else "1") + signature[1:],
        prefix + "|" + signature[:-1],
        prefix.replace("10:1", "10:2", 1) + "|" + signature,
        signed + "0",
        "2|1:0|10:9999999999|4:user|4:Ym9i|" + signature,
    ]
    for value in tampered:
        assert value != signed
        assert (await read(client, f"user={value}"))["value"] is None, value


async def test_renamed_cookie_is_none(client: httpx.AsyncClient) -> None:
    signed = set_cookie_value(await client.post("/set"))
    client.cookies.clear()
    assert (await read(client, f"user={signed}"))["value"] == b"alice".hex()
    # The same value moved to another cookie name is refused.
    assert (await read(client, f"admin={signed}", name="admin"))["value"] is None


async def test_cookie_from_another_secret_is_none() -> None:
    async with open_test_client(make_app(cookie_secret="another secret")) as other:
        signed = set_cookie_value(await other.post("/set"))
    async with open_test_client(make_app()) as client:
        assert (await read(client, f"user={signed}"))["value"] is None


async def test_key_rotation_and_unknown_key_version() -> None:
    old_keys = {0: "old key " * 4}
    both = {0: "old key " * 4, 1: "new key " * 4}
    async with open_test_client(make_app(cookie_secret=old_keys, key_version=0)) as client:
        old_cookie = set_cookie_value(await client.post("/set"))
    async with open_test_client(make_app(cookie_secret=both, key_version=1)) as client:
        # Cookies signed with the old key are still accepted, and say which key signed them.
        answer = await read(client, f"user={old_cookie}")
        assert answer["value"] == b"alice".hex()
        assert answer["key_version"] == 0
        new_cookie = set_cookie_value(await client.post("/set"))
        assert new_cookie.startswith("2|1:1|")
        client.cookies.clear()
        assert (await read(client, f"user={new_cookie}"))["key_version"] == 1
    # Once key 0 is dropped, its cookies read as None; so do cookies of unknown keys.
    async with open_test_client(make_app(cookie_secret={1: both[1]}, key_version=1)) as client:
        answer = await read(client, f"user={old_cookie}")
        assert answer["value"] is None
        assert answer["key_version"] == 0  # the version is readable, the value is not
        assert (await read(client, f"user={new_cookie}"))["value"] == b"alice".hex()
        relabelled = new_cookie.replace("2|1:1|", "2|1:7|", 1)
        assert (await read(client, f"user={relabelled}"))["value"] is None


async def test_version_1_cookies_are_read_unless_min_version_is_2(
    client: httpx.AsyncClient,
) -> None:
    signed = set_cookie_value(await client.post("/set", params={"version": "1"}))
    client.cookies.clear()
    assert not signed.startswith("2|")
    assert (await read(client, f"user={signed}"))["value"] == b"alice".hex()
    assert (await read(client, f"user={signed}"))["key_version"] is None
    assert (await read(client, f"user={signed}", min_version="2"))["value"] is None


async def test_secure_cookie_aliases(client: httpx.AsyncClient) -> None:
    assert (await client.get("/alias")).json() == {"set": True, "get": True, "kv": True}


async def test_value_argument_and_create_signed_value(client: httpx.AsyncClient) -> None:
    response = await client.get("/value")
    assert response.status_code == 200
    assert response.text.startswith("2|1:0|10:")
    assert security.decode_signed_value(SECRET, "token", response.text) == b"payload"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cookie_secret": None}, "You must define the 'cookie_secret' setting"),
        ({"cookie_secret": {0: "k"}}, "key_version setting must be used"),
    ],
)
async def test_configuration_errors(
    settings: dict[str, Any], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_test_client(make_app(**settings)) as client:
        response = await client.post("/set")
    assert response.status_code == 500
    assert message in caplog.text
    assert "set-cookie" not in response.headers


async def test_a_cookie_set_in_this_request_is_not_seen_until_the_next() -> None:
    seen: list[Any] = []

    class Handler(RequestHandler):
        def get(self) -> None:
            self.set_signed_cookie("user", "alice")
            seen.append(self.get_signed_cookie("user"))

    app = Application([(r"/", Handler)], cookie_secret=SECRET)
    async with open_test_client(app) as client:
        await client.get("/")
        await client.get("/")
    assert seen == [None, b"alice"]
