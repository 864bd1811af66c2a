"""OAuth 2 login end to end: an app using the mixins, the fake provider, httpx as the browser.

The app's handlers follow Tornado's idiom: a request without ``code``, ``error`` or
``state`` starts the login, the provider's callback finishes it. An `AuthError` becomes a
403 whose JSON says what went wrong, which the tests read.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from trinado import security, web
from trinado.auth import (
    AuthError,
    AuthHTTPClient,
    FacebookGraphMixin,
    GitHubOAuth2Mixin,
    GoogleOAuth2Mixin,
    OAuth2Mixin,
)
from trinado.httpclient import HTTPClient, HTTPRequest, HTTPResponse, open_http_client
from trinado.testing import open_test_server

from .test_auth_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    FACEBOOK_USER,
    GITHUB_USER,
    GOOGLE_USER,
    Provider,
    browse,
    query_of,
    replace_query,
    serve_provider,
)

COOKIE_SECRET = "a cookie secret of the client app" * 2

Call = Callable[[Any], Awaitable[Any]]


class Login(web.RequestHandler):
    """Starts a login, or finishes it when the provider sent the browser back."""

    async def get(self) -> None:
        if not any(self.get_argument(name, None) for name in ("code", "error", "state")):
            self.start()
            return
        try:
            result = await self.finish_login()
        except AuthError as error:
            self.set_status(403)
            self.finish({"error": str(error), "code": error.error, "status": error.status_code})
            return
        self.finish({"result": result})

    def start(self) -> None:
        raise NotImplementedError

    async def finish_login(self) -> Any:
        raise NotImplementedError


class Caller(web.RequestHandler):
    """Runs the test's ``call`` setting with this handler; answers with its result."""

    async def get(self) -> None:
        call: Call = self.settings["call"]
        try:
            result = await call(self)
        except AuthError as error:
            self.set_status(403)
            result = {"error": str(error), "code": error.error, "status": error.status_code}
        if not self._finished:
            self.finish({"result": result})


def make_client_app(provider: Provider, **settings: Any) -> web.Application:
    """The app under test, its mixins' endpoints pointed at ``provider``."""
    base = provider.url

    class GitHub(GitHubOAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = f"{base}/github/authorize"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/github/access_token"
        _OAUTH_USERINFO_URL = f"{base}/github/api/user"
        _GITHUB_API_URL = f"{base}/github/api"

    class Google(GoogleOAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = f"{base}/google/authorize"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/google/token"
        _OAUTH_USERINFO_URL = f"{base}/google/userinfo"

    class Facebook(FacebookGraphMixin):
        _OAUTH_AUTHORIZE_URL = f"{base}/facebook/authorize"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/facebook/oauth/access_token"
        _FACEBOOK_BASE_URL = f"{base}/facebook/graph"

    class Generic(OAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = f"{base}/google/authorize"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/google/token"

    class GitHubLogin(Login, GitHub):
        def start(self) -> None:
            self.authorize_redirect(
                redirect_uri=self.request.path, scope=["read:user", "user:email"]
            )

        async def finish_login(self) -> Any:
            return await self.get_authenticated_user(
                redirect_uri=self.request.path, code=self.get_argument("code", "")
            )

    class PooledGitHubLogin(GitHubLogin):
        def get_auth_http_client(self) -> AuthHTTPClient:
            client: AuthHTTPClient = self.settings["auth_client"]
            return client

    class GoogleLogin(Login, Google):
        def start(self) -> None:
            self.authorize_redirect(
                redirect_uri="/google/login",
                scope=["openid", "email"],
                extra_params={"prompt": "consent"},
            )

        async def finish_login(self) -> Any:
            token = await self.get_authenticated_user(
                redirect_uri="/google/login", code=self.get_argument("code", "")
            )
            user = await self.oauth2_request(
                self._OAUTH_USERINFO_URL, access_token=token["access_token"]
            )
            return {"token": token, "user": user}

    class FacebookLogin(Login, Facebook):
        def start(self) -> None:
            self.authorize_redirect(
                redirect_uri="/facebook/login",
                client_id=self.settings["facebook_api_key"],
                extra_params={"scope": "email"},
            )

        async def finish_login(self) -> Any:
            return await self.get_authenticated_user(
                redirect_uri="/facebook/login",
                client_id=self.settings["facebook_api_key"],
                client_secret=self.settings["facebook_secret"],
                code=self.get_argument("code", ""),
                extra_fields=["email"],
            )

    class GenericLogin(Login, Generic):
        def start(self) -> None:
            self.authorize_redirect(
                redirect_uri="/generic/login",
                client_id=CLIENT_ID,
                extra_params={"code_challenge": "challenge", "code_challenge_method": "plain"},
            )

        async def finish_login(self) -> Any:
            return await self.get_access_token(
                "/generic/login",
                self.get_argument("code", ""),
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                extra_params={"code_verifier": "challenge"},
            )

    class GitHubCaller(Caller, GitHub):
        pass

    class GoogleCaller(Caller, Google):
        pass

    class FacebookCaller(Caller, Facebook):
        pass

    all_settings: dict[str, Any] = {
        "cookie_secret": COOKIE_SECRET,
        "github_oauth": {"key": CLIENT_ID, "secret": CLIENT_SECRET},
        "google_oauth": {"key": CLIENT_ID, "secret": CLIENT_SECRET},
        "facebook_api_key": CLIENT_ID,
        "facebook_secret": CLIENT_SECRET,
        **settings,
    }
    return web.Application(
        [
            (r"/github/login", GitHubLogin),
            (r"/github/pooled", PooledGitHubLogin),
            (r"/google/login", GoogleLogin),
            (r"/facebook/login", FacebookLogin),
            (r"/generic/login", GenericLogin),
            (r"/call/github", GitHubCaller),
            (r"/call/google", GoogleCaller),
            (r"/call/facebook", FacebookCaller),
        ],
        **all_settings,
    )


@dataclasses.dataclass
class Env:
    provider: Provider
    app: web.Application
    url: str
    browser: httpx.AsyncClient

    async def login(self, path: str, **kwargs: Any) -> list[httpx.Response]:
        return await browse(self.browser, self.url + path, **kwargs)

    async def call(self, provider: str, call: Call) -> Any:
        self.app.settings["call"] = call
        response = await self.browser.get(f"{self.url}/call/{provider}")
        assert response.status_code in (200, 403), response.text
        return response.json()["result"]


@asynccontextmanager
async def open_env(**settings: Any) -> AsyncIterator[Env]:
    async with serve_provider() as provider:
        app = make_client_app(provider, **settings)
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            yield Env(provider, app, f"http://127.0.0.1:{server.port}", browser)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with open_env() as env:
        yield env


def failure(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    return body


# --- GitHub: the whole dance -------------------------------------------------------------------


async def test_github_login(env: Env) -> None:
    start, callback, done = await env.login("/github/login")
    assert (start.status_code, callback.status_code, done.status_code) == (302, 302, 200)

    location = start.headers["location"]
    assert location.startswith(f"{env.provider.url}/github/authorize?")
    sent = query_of(location)
    state = sent.pop("state")
    assert sent == {
        "response_type": "code",
        "redirect_uri": f"{env.url}/github/login",  # made absolute
        "client_id": CLIENT_ID,  # from the github_oauth setting
        "scope": "read:user user:email",
    }
    assert len(state) >= 40
    cookie = start.headers["set-cookie"]
    assert cookie.startswith("_oauth2_state=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Max-Age=600", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http here
    assert state not in cookie.split(";")[0].split("|")[-1]  # signed, not the bare state

    user = done.json()["result"]
    assert user["login"] == GITHUB_USER["login"]
    assert user["id"] == GITHUB_USER["id"]
    assert env.provider.tokens[user["access_token"]] == "github"
    assert user["token_type"] == "bearer"
    assert user["scope"] == "read:user,user:email"

    token_request = env.provider.args_of("/github/access_token")
    assert token_request == {
        "grant_type": "authorization_code",
        "code": query_of(callback.headers["location"])["code"],
        "redirect_uri": f"{env.url}/github/login",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert env.provider.paths() == [
        "/github/authorize",
        "/github/access_token",
        "/github/api/user",
    ]
    token_headers, user_headers = env.provider.headers[1:]
    assert token_headers["Accept"] == "application/json"
    assert user_headers["Authorization"] == f"Bearer {user['access_token']}"
    assert user_headers["Accept"] == "application/vnd.github+json"
    # The state is good for one callback: the cookie is gone.
    assert "_oauth2_state" not in env.browser.cookies
    assert done.headers["set-cookie"].startswith('_oauth2_state=""; expires=')


async def test_a_pooled_client_from_get_auth_http_client() -> None:
    seen: list[str] = []

    class Recorder:
        def __init__(self, client: HTTPClient) -> None:
            self.client = client

        async def fetch(
            self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
        ) -> HTTPResponse:
            seen.append(request if isinstance(request, str) else request.url)
            return await self.client.fetch(request, raise_error=raise_error, **kwargs)

    async with open_http_client() as client:
        async with open_env(auth_client=Recorder(client)) as env:
            *_, done = await env.login("/github/pooled")
            assert done.json()["result"]["login"] == GITHUB_USER["login"]
        assert [url.split("?")[0] for url in seen] == [
            f"{env.provider.url}/github/access_token",
            f"{env.provider.url}/github/api/user",
        ]
        assert client.connections_opened == 1  # both went over one kept-alive connection


# --- the state -------------------------------------------------------------------------------


async def test_replaying_a_callback_is_refused(env: Env) -> None:
    _, callback, done = await env.login("/github/login")
    assert done.status_code == 200
    again = await env.browser.get(callback.headers["location"])
    assert failure(again)["code"] == "missing_state_cookie"
    assert env.provider.paths().count("/github/access_token") == 1


async def test_a_wrong_state_is_refused_before_the_code_is_used(env: Env) -> None:
    *_, done = await env.login(
        "/github/login",
        tamper=lambda url: replace_query(url, state="forged") if "code=" in url else url,
    )
    body = failure(done)
    assert body["code"] == "state_mismatch"
    assert "does not match" in body["error"]
    assert "/github/access_token" not in env.provider.paths()
    assert len(env.provider.codes) == 1  # the code was never sent
    assert "_oauth2_state" not in env.browser.cookies


async def test_a_missing_state_is_refused(env: Env) -> None:
    *_, done = await env.login(
        "/github/login",
        tamper=lambda url: replace_query(url, state=None) if "code=" in url else url,
    )
    assert failure(done)["code"] == "missing_state"
    assert "/github/access_token" not in env.provider.paths()


async def test_a_callback_from_another_browser_is_refused(env: Env) -> None:
    # Login CSRF: the attacker starts a login, stops at the callback and makes the victim
    # open it, hoping to log the victim in as the attacker.
    attacker_callback = ""

    def stop(url: str) -> str:
        nonlocal attacker_callback
        if "code=" in url:
            attacker_callback = url
            return env.provider.url + "/nowhere"
        return url

    await env.login("/github/login", tamper=stop)
    async with httpx.AsyncClient() as victim:
        fresh = await victim.get(attacker_callback)
        assert failure(fresh)["code"] == "missing_state_cookie"
        # A victim in the middle of a login of their own has a state cookie: still refused.
        await victim.get(f"{env.url}/github/login")
        assert "_oauth2_state" in victim.cookies
        midway = await victim.get(attacker_callback)
        assert failure(midway)["code"] == "state_mismatch"
    assert "/github/access_token" not in env.provider.paths()


async def test_an_unsigned_state_cookie_is_refused(env: Env) -> None:
    start = await env.browser.get(f"{env.url}/github/login")
    state = query_of(start.headers["location"])["state"]
    env.browser.cookies.clear()
    env.browser.cookies.set("_oauth2_state", state)
    response = await env.browser.get(
        f"{env.url}/github/login", params={"code": "c", "state": state}
    )
    body = failure(response)
    assert body["code"] == "missing_state_cookie"
    assert "invalid or expired" in body["error"]


async def test_an_expired_state_is_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_current_time", lambda: time.time() - 601)
    start = await env.browser.get(f"{env.url}/github/login")
    monkeypatch.undo()
    authorize = await env.browser.get(start.headers["location"])
    callback = await env.browser.get(authorize.headers["location"])
    assert "invalid or expired" in failure(callback)["error"]


async def test_the_state_cannot_be_chosen_by_the_caller(env: Env) -> None:
    async def call(handler: GitHubOAuth2Mixin) -> Any:
        with pytest.raises(ValueError, match="state"):
            handler.authorize_redirect(extra_params={"state": "mine"})
        with pytest.warns(DeprecationWarning, match="client_secret"):
            handler.authorize_redirect(redirect_uri="https://app.example/cb", client_secret="x")

    env.app.settings["call"] = call
    response = await env.browser.get(f"{env.url}/call/github")
    assert response.status_code == 302
    assert query_of(response.headers["location"])["redirect_uri"] == "https://app.example/cb"


async def test_the_state_cookie_is_secure_over_https() -> None:
    async with serve_provider() as provider:
        app = make_client_app(provider)
        async with open_test_server(app, xheaders=True) as server, httpx.AsyncClient() as browser:
            port = server.port
            start = await browser.get(
                f"http://127.0.0.1:{port}/github/login", headers={"X-Forwarded-Proto": "https"}
            )
    assert "Secure" in start.headers["set-cookie"]
    redirect_uri = query_of(start.headers["location"])["redirect_uri"]
    assert redirect_uri == f"https://127.0.0.1:{port}/github/login"


async def test_logins_need_a_cookie_secret() -> None:
    async with serve_provider() as provider:
        app = make_client_app(provider, cookie_secret=None)
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            response = await browser.get(f"http://127.0.0.1:{server.port}/github/login")
    assert response.status_code == 500
    assert provider.paths() == []


# --- errors from the provider ------------------------------------------------------------------


async def test_the_user_says_no(env: Env) -> None:
    env.provider.deny = True
    _, callback, done = await env.login("/github/login")
    assert "error=access_denied" in callback.headers["location"]
    body = failure(done)
    assert body["code"] == "access_denied"
    assert body["error"] == (
        "Authorization failed: The user has denied your application access. (access_denied)"
    )
    assert "/github/access_token" not in env.provider.paths()
    assert "_oauth2_state" not in env.browser.cookies


async def test_github_token_errors_come_with_200(env: Env) -> None:
    *_, done = await env.login(
        "/github/login",
        tamper=lambda url: replace_query(url, code="stale") if "code=" in url else url,
    )
    body = failure(done)
    assert body == {
        "error": "Token request failed: The code passed is incorrect or expired. "
        "(bad_verification_code)",
        "code": "bad_verification_code",
        "status": 200,
    }


async def test_wrong_client_credentials() -> None:
    async with open_env(github_oauth={"key": CLIENT_ID, "secret": "wrong"}) as env:
        *_, done = await env.login("/github/login")
    body = failure(done)
    assert body["code"] == "incorrect_client_credentials"
    assert "client_secret passed are incorrect" in body["error"]


async def test_a_broken_token_endpoint(env: Env) -> None:
    env.provider.broken_token_endpoint = True
    *_, done = await env.login("/github/login")
    body = failure(done)
    assert body["error"] == "Token request failed: HTTP 500 Internal Server Error"
    assert body["status"] == 500


async def test_a_refused_user_request(env: Env) -> None:
    env.provider.revoke_tokens = True
    *_, done = await env.login("/github/login")
    body = failure(done)
    assert body == {
        "error": "GitHub API request failed: Bad credentials",
        "code": None,
        "status": 401,
    }


# --- Google, Facebook and the generic mixin ----------------------------------------------------


async def test_google_login(env: Env) -> None:
    start, _, done = await env.login("/google/login")
    sent = query_of(start.headers["location"])
    assert sent["client_id"] == CLIENT_ID  # from the google_oauth setting
    assert sent["scope"] == "openid email"
    assert sent["prompt"] == "consent"
    result = done.json()["result"]
    assert result["user"] == GOOGLE_USER
    assert result["token"]["expires_in"] == 3599
    assert env.provider.args_of("/google/token")["grant_type"] == "authorization_code"
    assert env.provider.args_of("/google/userinfo") == {
        "access_token": result["token"]["access_token"]
    }


async def test_google_refuses_a_code(env: Env) -> None:
    *_, done = await env.login(
        "/google/login",
        tamper=lambda url: replace_query(url, code="stale") if "code=" in url else url,
    )
    body = failure(done)
    assert body == {
        "error": "Token request failed: Bad Request (invalid_grant)",
        "code": "invalid_grant",
        "status": 400,
    }


async def test_google_api_errors(env: Env) -> None:
    env.provider.revoke_tokens = True
    *_, done = await env.login("/google/login")
    body = failure(done)
    assert body["error"] == (
        "API request failed: Request is missing required authentication credential. (401)"
    )


async def test_facebook_login(env: Env) -> None:
    start, _, done = await env.login("/facebook/login")
    assert query_of(start.headers["location"])["scope"] == "email"
    user = done.json()["result"]
    assert user["name"] == FACEBOOK_USER["name"]
    assert user["email"] == FACEBOOK_USER["email"]
    assert user["picture"] == FACEBOOK_USER["picture"]
    assert user["session_expires"] == "5183944"
    assert env.provider.tokens[user["access_token"]] == "facebook"
    methods = {path: method for method, path, _ in env.provider.seen}
    assert methods["/facebook/oauth/access_token"] == "GET"  # as Tornado sends it
    fields = env.provider.args_of("/facebook/graph/me")["fields"].split(",")
    assert sorted(fields) == sorted(
        ["id", "name", "first_name", "last_name", "locale", "picture", "link", "email"]
    )


async def test_facebook_errors(env: Env) -> None:
    *_, done = await env.login(
        "/facebook/login",
        tamper=lambda url: replace_query(url, code="stale") if "code=" in url else url,
    )
    body = failure(done)
    assert (
        body["error"] == "Token request failed: Invalid verification code format. (OAuthException)"
    )
    assert body["status"] == 400


async def test_the_generic_mixin_with_pkce(env: Env) -> None:
    start, _, done = await env.login("/generic/login")
    assert query_of(start.headers["location"])["code_challenge"] == "challenge"
    assert done.json()["result"]["token_type"] == "Bearer"
    assert env.provider.args_of("/google/token")["code_verifier"] == "challenge"


async def test_a_callback_without_code_or_error(env: Env) -> None:
    *_, done = await env.login(
        "/github/login",
        tamper=lambda url: replace_query(url, code=None) if "state=" in url else url,
    )
    assert failure(done)["code"] == "no_code"


# --- API requests ----------------------------------------------------------------------------


async def test_github_request(env: Env) -> None:
    env.provider.tokens["tok"] = "github"

    async def call(handler: GitHubOAuth2Mixin) -> Any:
        user = await handler.github_request("/user", access_token="tok", per_page=5)
        posted = await handler.github_request("/user", access_token="tok", post_args={"a": [1]})
        full = await handler.github_request(f"{env.provider.url}/github/api/user", "tok")
        with pytest.raises(AuthError) as refused:
            await handler.github_request("/user")
        return [user, posted, full, refused.value.status_code]

    user, posted, full, status = await env.call("github", call)
    assert user == full == GITHUB_USER
    assert posted == {"received": {"a": [1]}, "content_type": "application/json"}
    assert status == 401
    assert env.provider.seen[0][2] == {"per_page": "5"}


async def test_facebook_request_and_oauth2_request(env: Env) -> None:
    env.provider.tokens["tok"] = "facebook"

    async def call(handler: FacebookGraphMixin) -> Any:
        posted = await handler.facebook_request(
            "/me/feed", access_token="tok", post_args={"message": "hello"}
        )
        with pytest.raises(AuthError) as refused:
            await handler.facebook_request("/me", access_token="nope")
        # Query arguments are sent without a token too (Tornado drops them).
        with pytest.raises(AuthError):
            await handler.oauth2_request(f"{env.provider.url}/google/userinfo", foo="bar")
        return [posted, str(refused.value), refused.value.error]

    posted, message, error = await env.call("facebook", call)
    assert posted == {"posted": "hello"}
    assert message == "API request failed: Invalid OAuth access token data. (OAuthException)"
    assert error == "OAuthException"
    method, path, args = env.provider.seen[0]
    assert (method, path, args) == (
        "POST",
        "/facebook/graph/me/feed",
        {"access_token": "tok", "message": "hello"},
    )
    assert env.provider.args_of("/google/userinfo") == {"foo": "bar"}


async def test_auth_error_is_raised_from_the_handler_method(env: Env) -> None:
    async def call(handler: GoogleOAuth2Mixin) -> Any:
        await handler.oauth2_request(f"{env.provider.url}/google/userinfo", access_token="x")

    result = await env.call("google", call)
    assert result["status"] == 401
