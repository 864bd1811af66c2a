"""examples/security.py does what docs/security.md says: login, XSRF-protected forms, rotation."""

from __future__ import annotations

import html
import re

import httpx

from tests.example_loader import load_example
from trinado.testing import open_test_client

example = load_example("security")


def form_token(page: str) -> str:
    match = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert match is not None, page
    return html.unescape(match.group(1))


async def log_in(
    client: httpx.AsyncClient, next_url: str = "/", password: str = "wonderland"
) -> httpx.Response:
    page = await client.get("/login", params={"next": next_url})
    token = form_token(page.text)
    data = {"_xsrf": token, "name": "alice", "password": password, "next": next_url}
    return await client.post("/login", data=data)


async def test_home_redirects_to_login_then_greets() -> None:
    async with open_test_client(example.make_app()) as client:
        first = await client.get("/")
        assert first.status_code == 302
        assert first.headers["location"] == "/login?next=%2F"
        logged_in = await log_in(client)
        assert logged_in.status_code == 302
        assert logged_in.headers["location"] == "/"
        assert "HttpOnly" in logged_in.headers["set-cookie"]
        home = await client.get("/")
        assert "Hello, alice." in home.text


async def test_wrong_password_and_missing_token() -> None:
    async with open_test_client(example.make_app()) as client:
        wrong = await log_in(client, password="guess")
        assert wrong.status_code == 403
        assert "user" not in wrong.cookies
        # Posting the form without its token (a cross-site form) is refused outright.
        forged = await client.post("/login", data={"name": "alice", "password": "wonderland"})
        assert forged.status_code == 403
        assert "user" not in forged.cookies


async def test_next_is_followed_only_on_this_site() -> None:
    async with open_test_client(example.make_app()) as client:
        assert (await log_in(client, "/?page=2")).headers["location"] == "/?page=2"
        client.cookies.delete("user")
        for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            assert (await log_in(client, hostile)).headers["location"] == "/"
            client.cookies.delete("user")


async def test_logout_needs_the_form_token() -> None:
    async with open_test_client(example.make_app()) as client:
        await log_in(client)
        home = await client.get("/")
        refused = await client.post("/logout")
        assert refused.status_code == 403
        out = await client.post("/logout", data={"_xsrf": form_token(home.text)})
        assert out.status_code == 302
        assert (await client.get("/")).status_code == 302


async def test_key_rotation_keeps_users_logged_in() -> None:
    old = {0: "old key " * 8}
    async with open_test_client(example.make_app(old, key_version=0)) as client:
        await log_in(client)
        cookie = client.cookies["user"]
    assert cookie.strip('"').startswith("2|1:0|")
    rotated = {**old, 1: "new key " * 8}
    async with open_test_client(example.make_app(rotated, key_version=1)) as client:
        response = await client.get("/", headers={"Cookie": f"user={cookie}"})
        assert "Hello, alice." in response.text
        # The cookie came back signed with the new key.
        renewed = response.cookies["user"]
        assert renewed.strip('"').startswith("2|1:1|")
    async with open_test_client(example.make_app({1: rotated[1]}, key_version=1)) as client:
        assert (await client.get("/", headers={"Cookie": f"user={cookie}"})).status_code == 302
        again = await client.get("/", headers={"Cookie": f"user={renewed}"})
        assert "Hello, alice." in again.text


def test_safe_next_url_refuses_other_hosts() -> None:
    safe = example.safe_next_url
    for hostile in (
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example/",
        "/\n/evil.example/",
        " //evil.example/",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
        None,
    ):
        assert safe(hostile) == "/", hostile
    for local in ("/", "/private?a=1", "/a/b%2F%2Fc", "/%5Cpath"):
        assert safe(local) == local
