"""A fake OAuth provider and a hand-driven browser for the auth tests; and tests of the fake.

The provider is a trinado application served on a real socket. It plays the authorization
page, the token endpoints and the user APIs of GitHub, Google and Facebook (OAuth 2, each
answering errors in its own shape), and Twitter's OAuth 1.0a endpoints plus a plain OAuth
1.0 variant. It checks what real providers check (client credentials, single-use codes,
``redirect_uri`` equal to the one authorized, Facebook's ``appsecret_proof``) and verifies
every OAuth 1 signature with Tornado's own signing functions, so that a request trinado
signs wrongly is refused.

The browser is an ``httpx.AsyncClient`` that does not follow redirects: `browse` follows
them by hand, so that tests can look at (and tamper with) each hop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from tornado.auth import _oauth10a_signature, _oauth_signature

from trinado import web
from trinado.testing import open_test_server

CLIENT_ID = "the-client-id"
CLIENT_SECRET = "the-client-secret"
# Characters that 1.0a percent-encodes in the signing key and 1.0 does not.
CONSUMER_KEY = "the-consumer-key"
CONSUMER_SECRET = "consumer/secret+="

GITHUB_USER = {"login": "octocat", "id": 583231, "name": "The Octocat", "email": None}
GOOGLE_USER = {"id": "1234", "email": "alice@example.com", "name": "Alice"}
FACEBOOK_USER = {
    "id": "42",
    "name": "Bob Smith",
    "first_name": "Bob",
    "last_name": "Smith",
    "locale": "en_GB",
    "picture": {"data": {"url": "https://example.com/bob.png"}},
    "link": "https://facebook.com/bob",
    "email": "bob@example.com",
}
TWITTER_USER = {"id": 7, "screen_name": "carol", "name": "Carol"}


@dataclasses.dataclass
class Provider:
    """What the fake provider has issued and seen, and how it is told to misbehave."""

    url: str = ""
    codes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)  # access token -> shape
    seen: list[tuple[str, str, dict[str, str]]] = dataclasses.field(default_factory=list)
    headers: list[dict[str, str]] = dataclasses.field(default_factory=list)
    deny: bool = False
    revoke_tokens: bool = False
    broken_token_endpoint: bool = False
    # OAuth 1
    request_tokens: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    access_tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    nonces: set[str] = dataclasses.field(default_factory=set)

    def paths(self) -> list[str]:
        """The paths asked for, in order (the authorization page included)."""
        return [path for _, path, _ in self.seen]

    def args_of(self, path: str) -> dict[str, str]:
        """The arguments of the last request to ``path``."""
        for _, seen_path, args in reversed(self.seen):
            if seen_path == path:
                return args
        raise KeyError(path)


class FakeHandler(web.RequestHandler):
    def initialize(self, provider: Provider) -> None:
        self.provider = provider

    def prepare(self) -> None:
        args = {name: self.get_argument(name) for name in self.request.arguments}
        self.provider.seen.append((self.request.method or "", self.request.path, args))
        self.provider.headers.append(dict(self.request.headers.get_all()))
        self.args = args

    def check_xsrf_cookie(self) -> None:
        pass

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(json.dumps(body) if content_type == "application/json" else body)

    def redeem(self, shape: str) -> dict[str, Any] | None:
        """The code's grant if the code, client and redirect_uri are right (once only)."""
        grant = self.provider.codes.pop(self.args.get("code", ""), None)
        if grant is None or grant["shape"] != shape:
            return None
        if self.args.get("client_id") != CLIENT_ID:
            return None
        if self.args.get("redirect_uri") != grant["redirect_uri"]:
            return None
        return grant

    def issue_token(self, shape: str) -> str:
        token = secrets.token_hex(8)
        self.provider.tokens[token] = shape
        return token

    def bearer(self) -> str | None:
        value = self.request.headers.get("Authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None

    def token_shape(self, token: str | None) -> str | None:
        if token is None or self.provider.revoke_tokens:
            return None
        return self.provider.tokens.get(token)


# --- OAuth 2 ---------------------------------------------------------------------------------


class AuthorizeHandler(FakeHandler):
    """The consent page, which consents at once (or refuses when ``deny`` is set)."""

    def get(self, shape: str) -> None:
        redirect_uri = self.args.get("redirect_uri")
        if self.args.get("client_id") != CLIENT_ID or not redirect_uri:
            self.answer(400, {"error": "invalid_request"})
            return
        back: dict[str, str] = {}
        if self.provider.deny:
            back["error"] = "access_denied"
            back["error_description"] = "The user has denied your application access."
        else:
            code = secrets.token_hex(8)
            self.provider.codes[code] = {"shape": shape, "redirect_uri": redirect_uri}
            back["code"] = code
        if "state" in self.args:
            back["state"] = self.args["state"]
        separator = "&" if "?" in redirect_uri else "?"
        self.redirect(redirect_uri + separator + urllib.parse.urlencode(back))


class GitHubTokenHandler(FakeHandler):
    """GitHub answers token errors with 200 and a JSON error (or a form without Accept)."""

    def post(self) -> None:
        if self.provider.broken_token_endpoint:
            self.answer(500, "<html><body>Oops</body></html>", "text/html")
            return
        if self.args.get("client_secret") != CLIENT_SECRET:
            body = {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
            }
        elif self.redeem("github") is None:
            body = {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            }
        else:
            body = {
                "access_token": self.issue_token("github"),
                "token_type": "bearer",
                "scope": "read:user,user:email",
            }
        if self.request.headers.get("Accept") == "application/json":
            self.answer(200, body)
        else:
            self.answer(200, urllib.parse.urlencode(body), "application/x-www-form-urlencoded")


class GitHubUserHandler(FakeHandler):
    def get(self) -> None:
        if self.token_shape(self.bearer()) != "github":
            self.answer(401, {"message": "Bad credentials", "documentation_url": "https://x"})
            return
        self.answer(200, GITHUB_USER)

    def post(self) -> None:  # echoes a JSON body, for github_request(post_args=...)
        if self.token_shape(self.bearer()) != "github":
            self.answer(401, {"message": "Bad credentials"})
            return
        body = {
            "received": json.loads(self.request.body),
            "content_type": self.request.headers.get("Content-Type"),
        }
        self.answer(201, body)


class GoogleTokenHandler(FakeHandler):
    def post(self) -> None:
        wrong_grant = self.args.get("grant_type") != "authorization_code"
        if wrong_grant or self.args.get("client_secret") != CLIENT_SECRET:
            self.answer(400, {"error": "invalid_client", "error_description": "Unauthorized"})
        elif self.redeem("google") is None:
            self.answer(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        else:
            token = self.issue_token("google")
            self.answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})


class GoogleUserinfoHandler(FakeHandler):
    def get(self) -> None:
        if self.token_shape(self.args.get("access_token")) != "google":
            message = "Request is missing required authentication credential."
            body = {"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED"}}
            self.answer(401, body)
            return
        self.answer(200, GOOGLE_USER)


def facebook_error(message: str, code: int = 100) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


class FacebookTokenHandler(FakeHandler):
    def get(self) -> None:
        if self.args.get("client_secret") != CLIENT_SECRET:
            self.answer(400, facebook_error("Error validating client secret.", 1))
        elif self.redeem("facebook") is None:
            self.answer(400, facebook_error("Invalid verification code format."))
        else:
            token = self.issue_token("facebook")
            self.answer(200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944})


class FacebookMeHandler(FakeHandler):
    def get(self) -> None:
        token = self.args.get("access_token", "")
        if self.token_shape(token) != "facebook":
            self.answer(400, facebook_error("Invalid OAuth access token data.", 190))
            return
        proof = hmac.new(CLIENT_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if self.args.get("appsecret_proof") != proof:
            self.answer(400, facebook_error("Invalid appsecret_proof provided in the API argument"))
            return
        fields = self.args.get("fields", "id,name").split(",")
        self.answer(
            200, {field: FACEBOOK_USER[field] for field in fields if field in FACEBOOK_USER}
        )

    def post(self) -> None:  # "/me/feed"-like: echoes the form, for oauth2_request(post_args)
        self.answer(200, {"posted": self.get_body_argument("message")})


# --- OAuth 1 ---------------------------------------------------------------------------------


class OAuth1Handler(FakeHandler):
    """Checks the signature of every request, with Tornado's functions."""

    def check_signature(self, version: str, token_secret: str | None) -> bool:
        params = dict(self.args)
        signature = params.pop("oauth_signature", "")
        timestamp = int(params.get("oauth_timestamp", "0"))
        nonce = params.get("oauth_nonce", "")
        if abs(time.time() - timestamp) > 300 or not nonce or nonce in self.provider.nonces:
            return False
        self.provider.nonces.add(nonce)
        if params.get("oauth_consumer_key") != CONSUMER_KEY:
            return False
        sign = _oauth10a_signature if version == "1.0a" else _oauth_signature
        token = {"secret": token_secret} if token_secret is not None else None
        url = f"{self.provider.url}{self.request.path}"
        consumer = {"key": CONSUMER_KEY, "secret": CONSUMER_SECRET}
        expected = sign(consumer, self.request.method or "GET", url, params, token)
        return hmac.compare_digest(expected.decode(), signature)

    def refuse(self) -> None:
        self.answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})

    def version(self, prefix: str) -> str:
        return "1.0a" if prefix == "twitter" else "1.0"


class RequestTokenHandler(OAuth1Handler):
    def get(self, prefix: str) -> None:
        version = self.version(prefix)
        if not self.check_signature(version, None):
            self.refuse()
            return
        key, secret = secrets.token_hex(8), secrets.token_hex(8) + "/+"
        callback = self.args.get("oauth_callback", "")
        self.provider.request_tokens[key] = {"secret": secret, "callback": callback}
        body = {"oauth_token": key, "oauth_token_secret": secret}
        if version == "1.0a":
            body["oauth_callback_confirmed"] = "true"
        # Twitter really does answer this form with text/html.
        self.answer(200, urllib.parse.urlencode(body), "text/html; charset=utf-8")


class OAuth1AuthorizeHandler(OAuth1Handler):
    """The authorize (and authenticate) page: consents, or refuses with ``denied``."""

    def get(self, prefix: str, page: str) -> None:
        key = self.args.get("oauth_token", "")
        grant = self.provider.request_tokens.get(key)
        if grant is None:
            self.answer(400, "unknown token", "text/plain")
            return
        callback = grant["callback"] or self.args.get("oauth_callback", "")
        if self.provider.deny:
            back = {"denied": key}
        else:
            back = {"oauth_token": key}
            if self.version(prefix) == "1.0a":
                grant["verifier"] = back["oauth_verifier"] = secrets.token_hex(4)
        self.redirect(callback + "?" + urllib.parse.urlencode(back))


class AccessTokenHandler(OAuth1Handler):
    def get(self, prefix: str) -> None:
        key = self.args.get("oauth_token", "")
        grant = self.provider.request_tokens.pop(key, None)
        version = self.version(prefix)
        if grant is None or not self.check_signature(version, grant["secret"]):
            self.refuse()
            return
        if version == "1.0a" and self.args.get("oauth_verifier") != grant["verifier"]:
            self.answer(401, "oauth_problem=verifier_invalid", "application/x-www-form-urlencoded")
            return
        access_key, access_secret = secrets.token_hex(8), secrets.token_hex(8) + "~&"
        self.provider.access_tokens[access_key] = access_secret
        body = {
            "oauth_token": access_key,
            "oauth_token_secret": access_secret,
            "user_id": str(TWITTER_USER["id"]),
            "screen_name": TWITTER_USER["screen_name"],
        }
        self.answer(200, urllib.parse.urlencode(body), "text/html; charset=utf-8")


class TwitterApiHandler(OAuth1Handler):
    def authorized(self, prefix: str) -> bool:
        secret = self.provider.access_tokens.get(self.args.get("oauth_token", ""))
        return secret is not None and self.check_signature(self.version(prefix), secret)

    def get(self, prefix: str, path: str) -> None:
        if not self.authorized(prefix):
            self.refuse()
        elif path == "account/verify_credentials":
            self.answer(200, TWITTER_USER)
        else:
            self.answer(200, {"path": path, "count": self.args.get("count")})

    def post(self, prefix: str, path: str) -> None:
        if not self.authorized(prefix):
            self.refuse()
            return
        self.answer(200, {"path": path, "text": self.get_body_argument("status")})


def make_provider_app(provider: Provider) -> web.Application:
    """The fake provider; its paths are listed in the module docstring."""
    kwargs = {"provider": provider}
    routes: list[tuple[str, type[web.RequestHandler]]] = [
        (r"/(github|google|facebook|generic)/authorize", AuthorizeHandler),
        (r"/github/access_token", GitHubTokenHandler),
        (r"/github/api/user", GitHubUserHandler),
        (r"/google/token", GoogleTokenHandler),
        (r"/google/userinfo", GoogleUserinfoHandler),
        (r"/facebook/oauth/access_token", FacebookTokenHandler),
        (r"/facebook/graph/me(?:/feed)?", FacebookMeHandler),
        (r"/(twitter|oauth10)/oauth/request_token", RequestTokenHandler),
        (r"/(twitter|oauth10)/oauth/(authorize|authenticate)", OAuth1AuthorizeHandler),
        (r"/(twitter|oauth10)/oauth/access_token", AccessTokenHandler),
        (r"/(twitter|oauth10)/1\.1/(.+)\.json", TwitterApiHandler),
    ]
    return web.Application([(pattern, handler, kwargs) for pattern, handler in routes])


@asynccontextmanager
async def serve_provider() -> AsyncIterator[Provider]:
    """Serves a fresh fake provider for the duration of the block."""
    provider = Provider()
    async with open_test_server(make_provider_app(provider)) as server:
        provider.url = f"http://127.0.0.1:{server.port}"
        yield provider


# --- the browser -----------------------------------------------------------------------------


async def browse(
    browser: httpx.AsyncClient,
    url: str,
    *,
    tamper: Callable[[str], str] | None = None,
    max_hops: int = 10,
) -> list[httpx.Response]:
    """GETs ``url`` and follows redirects by hand, cookies carried by the client's jar.

    Args:
        browser: The client (``follow_redirects=False``).
        url: Where to start.
        tamper: Changes each redirect's target before it is followed.
        max_hops: Redirects followed at most.

    Returns:
        Every response, in order; the last is not a redirect.
    """
    responses = []
    for _ in range(max_hops + 1):
        response = await browser.get(url)
        responses.append(response)
        if not response.is_redirect:
            return responses
        url = urllib.parse.urljoin(url, response.headers["Location"])
        if tamper is not None:
            url = tamper(url)
    raise AssertionError(f"more than {max_hops} redirects")


def replace_query(url: str, **changes: str | None) -> str:
    """``url`` with query arguments replaced (``None`` removes one)."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    """The query arguments of ``url``."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


# --- tests of the fake itself (the other tests rely on its strictness) ------------------------


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    async with serve_provider() as provider:
        yield provider


async def test_the_fake_refuses_a_code_twice_and_a_wrong_redirect_uri(provider: Provider) -> None:
    async with httpx.AsyncClient() as client:
        authorize = await client.get(
            f"{provider.url}/github/authorize",
            params={"client_id": CLIENT_ID, "redirect_uri": "http://app/cb", "state": "s"},
        )
        code = query_of(authorize.headers["Location"])["code"]
        form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code}
        accept = {"Accept": "application/json"}
        url = f"{provider.url}/github/access_token"
        wrong = await client.post(
            url, data={**form, "redirect_uri": "http://evil/cb"}, headers=accept
        )
        assert wrong.json()["error"] == "bad_verification_code"
    # The code was spent by the failed attempt, as on GitHub.
    assert provider.codes == {}


async def test_the_fake_refuses_a_bad_oauth1_signature(provider: Provider) -> None:
    params = {
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_nonce": "n1",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time())),
        "oauth_version": "1.0",
        "oauth_callback": "http://app/cb",
    }
    url = f"{provider.url}/twitter/oauth/request_token"
    good = _oauth10a_signature({"secret": CONSUMER_SECRET}, "GET", url, params).decode()
    async with httpx.AsyncClient() as client:
        bad = await client.get(url, params={**params, "oauth_signature": good[:-2] + "x="})
        assert bad.status_code == 401
        params["oauth_nonce"] = "n2"
        good = _oauth10a_signature({"secret": CONSUMER_SECRET}, "GET", url, params).decode()
        ok = await client.get(url, params={**params, "oauth_signature": good})
        assert ok.status_code == 200
        # The same nonce twice is a replay.
        replay = await client.get(url, params={**params, "oauth_signature": good})
        assert replay.status_code == 401
