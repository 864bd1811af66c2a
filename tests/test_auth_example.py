"""examples/github_login.py does what docs/auth.md says, against the fake GitHub."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.example_loader import load_example
from trinado.testing import open_test_server

from .test_auth_fakes import CLIENT_ID, CLIENT_SECRET, Provider, browse, query_of, serve_provider

example = load_example("github_login")


class Site:
    def __init__(self, provider: Provider, url: str, browser: httpx.AsyncClient) -> None:
        self.provider = provider
        self.url = url
        self.browser = browser

    async def sign_in(self) -> list[httpx.Response]:
        login = await self.browser.get(f"{self.url}/login")
        link = re.search(r'<a href="([^"]+)">Sign in with GitHub</a>', login.text)
        assert link is not None, login.text
        return await browse(self.browser, self.url + link.group(1))


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async with serve_provider() as provider:
        handler = example.GitHubLoginHandler
        monkeypatch.setattr(handler, "_OAUTH_AUTHORIZE_URL", f"{provider.url}/github/authorize")
        monkeypatch.setattr(
            handler, "_OAUTH_ACCESS_TOKEN_URL", f"{provider.url}/github/access_token"
        )
        monkeypatch.setattr(handler, "_OAUTH_USERINFO_URL", f"{provider.url}/github/api/user")
        app = example.make_app(CLIENT_ID, CLIENT_SECRET)
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            yield Site(provider, f"http://127.0.0.1:{server.port}", browser)


async def test_sign_in_and_out(site: Site) -> None:
    first = await site.browser.get(f"{site.url}/")
    assert first.status_code == 302
    assert first.headers["location"] == "/login?next=%2F"

    start, _, back, home = await site.sign_in()
    sent = query_of(start.headers["location"])
    assert sent["redirect_uri"] == f"{site.url}/auth/github"
    assert sent["scope"] == "read:user"
    assert sent["client_id"] == CLIENT_ID
    assert back.headers["location"] == "/"
    assert "HttpOnly" in back.headers["set-cookie"]
    assert home.status_code == 200
    assert "Signed in as <b>octocat</b> (The Octocat)." in home.text

    token = re.search(r'name="_xsrf" value="([^"]+)"', home.text)
    assert token is not None
    refused = await site.browser.post(f"{site.url}/logout")
    assert refused.status_code == 403
    out = await site.browser.post(f"{site.url}/logout", data={"_xsrf": html.unescape(token[1])})
    assert out.status_code == 302
    assert out.headers["location"] == "/login"
    assert (await site.browser.get(f"{site.url}/")).status_code == 302


async def test_a_refusal_on_github_is_shown(site: Site) -> None:
    site.provider.deny = True
    *_, page = await site.sign_in()
    assert page.status_code == 403
    assert "GitHub sign-in failed: Authorization failed: The user has denied" in page.text
    assert "user" not in site.browser.cookies


async def test_a_forged_callback_is_refused(site: Site) -> None:
    start = await site.browser.get(f"{site.url}/auth/github")
    authorize = await site.browser.get(start.headers["location"])
    callback = authorize.headers["location"].replace("state=", "state=x")
    page = await site.browser.get(callback)
    assert page.status_code == 403
    assert "does not match" in page.text
    assert "/github/access_token" not in site.provider.paths()
    assert "user" not in site.browser.cookies


def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_CLIENT_ID", "env-id")
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "env-secret")
    app = example.make_app()
    assert app.settings["github_oauth"] == {"key": "env-id", "secret": "env-secret"}
    monkeypatch.delenv("GITHUB_CLIENT_SECRET")
    with pytest.raises(ValueError, match="GITHUB_CLIENT_SECRET"):
        example.make_app()
