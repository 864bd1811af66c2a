"""examples/provider_logins.py signs in with GitHub, Google and Twitter, against the fakes.

The docstrings of trinado.auth's mixins quote this example (tests/test_docs.py checks it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.example_loader import load_example
from trinado.httpclient import HTTPClient, HTTPRequest, HTTPResponse, open_http_client
from trinado.testing import open_test_server

from .test_auth_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    Provider,
    browse,
    serve_provider,
)

CREDENTIALS = {
    "GITHUB_CLIENT_ID": CLIENT_ID,
    "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    "GOOGLE_CLIENT_ID": CLIENT_ID,
    "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
    "TWITTER_API_KEY": CONSUMER_KEY,
    "TWITTER_API_SECRET": CONSUMER_SECRET,
}


example = load_example("provider_logins")


@dataclass
class RecordingClient:
    """The program's client, noting the URL of each request the handlers send through it."""

    client: HTTPClient
    urls: list[str] = field(default_factory=list)

    async def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> HTTPResponse:
        self.urls.append(request if isinstance(request, str) else request.url)
        return await self.client.fetch(request, raise_error=raise_error, **kwargs)


@dataclass
class Site:
    provider: Provider
    client: RecordingClient
    url: str
    browser: httpx.AsyncClient

    async def sign_in(self, name: str) -> httpx.Response:
        """Follows the login at ``/auth/<name>`` to its end; the last response."""
        *_, last = await browse(self.browser, f"{self.url}/auth/{name}")
        return last


def point_at(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends the example's handlers to the fake provider instead of the real ones."""
    base = provider.url
    endpoints: dict[Any, dict[str, str]] = {
        example.GitHubLoginHandler: {
            "_OAUTH_AUTHORIZE_URL": f"{base}/github/authorize",
            "_OAUTH_ACCESS_TOKEN_URL": f"{base}/github/access_token",
            "_OAUTH_USERINFO_URL": f"{base}/github/api/user",
        },
        example.GoogleLoginHandler: {
            "_OAUTH_AUTHORIZE_URL": f"{base}/google/authorize",
            "_OAUTH_ACCESS_TOKEN_URL": f"{base}/google/token",
            "_OAUTH_USERINFO_URL": f"{base}/google/userinfo",
        },
        example.TwitterLoginHandler: {
            "_OAUTH_REQUEST_TOKEN_URL": f"{base}/twitter/oauth/request_token",
            "_OAUTH_ACCESS_TOKEN_URL": f"{base}/twitter/oauth/access_token",
            "_OAUTH_AUTHORIZE_URL": f"{base}/twitter/oauth/authorize",
            "_TWITTER_BASE_URL": f"{base}/twitter/1.1",
        },
    }
    for handler, urls in endpoints.items():
        for name, url in urls.items():
            monkeypatch.setattr(handler, name, url)


@pytest.fixture
async def site(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Site]:
    async with serve_provider() as provider, open_http_client() as http_client:
        point_at(provider, monkeypatch)
        client = RecordingClient(http_client)
        app = example.make_app(client, CREDENTIALS)
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            yield Site(provider, client, f"http://127.0.0.1:{server.port}", browser)


@pytest.mark.parametrize(
    ("name", "user", "calls"),
    [
        ("github", "octocat", ["/github/access_token", "/github/api/user"]),
        ("google", "alice@example.com", ["/google/token", "/google/userinfo"]),
        (
            "twitter",
            "@carol",
            [
                "/twitter/oauth/request_token",
                "/twitter/oauth/access_token",
                "/twitter/1.1/account/verify_credentials.json",
            ],
        ),
    ],
)
async def test_sign_in(site: Site, name: str, user: str, calls: list[str]) -> None:
    anonymous = await site.browser.get(f"{site.url}/")
    assert f'<a href="/auth/{name}">{name}</a>' in anonymous.text

    home = await site.sign_in(name)
    assert home.url == f"{site.url}/"
    assert home.text == f"<p>Signed in as <b>{user}</b>.</p>"
    # Every call to the provider went through the client of get_auth_http_client.
    called = [url.split("?")[0].removeprefix(site.provider.url) for url in site.client.urls]
    assert called == calls


@pytest.mark.parametrize("name", ["github", "google", "twitter"])
async def test_a_refusal_is_a_403(site: Site, name: str) -> None:
    site.provider.deny = True
    page = await site.sign_in(name)
    assert page.status_code == 403
    assert "user" not in site.browser.cookies
    assert (await site.browser.get(f"{site.url}/")).text.startswith("<p>Sign in with ")


def test_credentials_are_required() -> None:
    partial = {**CREDENTIALS, "GOOGLE_CLIENT_SECRET": ""}
    del partial["TWITTER_API_KEY"]
    with pytest.raises(ValueError, match=r"^Set GOOGLE_CLIENT_SECRET, TWITTER_API_KEY \("):
        example.make_app(None, partial)
    assert example.missing_credentials(CREDENTIALS) is None
