"""OAuth 1.0a and 1.0: signatures against published vectors and Tornado, and the login flow.

The flow tests run the Twitter mixin (and a 1.0 variant) against the fake provider of
``test_auth_fakes``, which checks every signature with Tornado's own functions.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from tornado.auth import _oauth10a_signature as tornado_10a
from tornado.auth import _oauth_signature as tornado_10

from trinado import auth, web
from trinado._oauth1 import parse_token_response
from trinado._oauth1_sign import (
    base_string_uri,
    oauth10_signature,
    oauth10a_signature,
    signature_base_string,
)
from trinado.auth import AuthError, OAuthMixin, TwitterMixin
from trinado.testing import open_test_server

from .test_auth_fakes import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    TWITTER_USER,
    Provider,
    browse,
    query_of,
    replace_query,
    serve_provider,
)

# --- signatures: published vectors --------------------------------------------------------------

# RFC 5849, section 3.4.1.1: a3 appears twice (query and body), "c@" needs encoding.
RFC_PARAMETERS = [
    ("b5", "=%3D"),
    ("a3", "a"),
    ("c@", ""),
    ("a2", "r b"),
    ("oauth_consumer_key", "9djdj82h48djs9d2"),
    ("oauth_token", "kkk9d7dh3k39sjv7"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "137131201"),
    ("oauth_nonce", "7d8f3e4a"),
    ("c2", ""),
    ("a3", "2 q"),
]
RFC_BASE_STRING = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q"
    "%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_"
    "key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m"
    "ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk"
    "9d7dh3k39sjv7"
)

# RFC 5849, section 1.2: the photo request.
PHOTOS_URL = "http://photos.example.net/photos"
PHOTOS_CONSUMER = {"key": "dpf43f3p2l4k3l03", "secret": "kd94hf93k423kf44"}
PHOTOS_TOKEN = {"key": "nnch734d00sl2jdk", "secret": "pfkkdhi9sl3r4s00"}
PHOTOS_PARAMETERS = {
    "file": "vacation.jpg",
    "size": "original",
    "oauth_consumer_key": "dpf43f3p2l4k3l03",
    "oauth_token": "nnch734d00sl2jdk",
    "oauth_signature_method": "HMAC-SHA1",
    "oauth_timestamp": "137131202",
    "oauth_nonce": "chapoH",
}


def test_rfc5849_base_string() -> None:
    assert signature_base_string("POST", "http://example.com/request", RFC_PARAMETERS) == (
        RFC_BASE_STRING
    )
    # An oauth_signature parameter is left out.
    with_signature = [*RFC_PARAMETERS, ("oauth_signature", "x")]
    assert signature_base_string("post", "http://example.com/request", with_signature) == (
        RFC_BASE_STRING
    )


def test_rfc5849_signing_key() -> None:
    # Section 3.4.2: the key is "j49sk3j29djd&dh893hdasih9" for the request above.
    key = b"j49sk3j29djd&dh893hdasih9"
    expected = base64.b64encode(hmac.new(key, RFC_BASE_STRING.encode(), hashlib.sha1).digest())
    signature = oauth10a_signature(
        {"secret": "j49sk3j29djd"},
        "POST",
        "http://example.com/request",
        RFC_PARAMETERS,
        {"secret": "dh893hdasih9"},
    )
    assert signature == expected == b"r6/TJjbCOr97/+UU0NsvSne7s5g="


def test_rfc5849_photos_example() -> None:
    for sign in (oauth10a_signature, oauth10_signature):
        signature = sign(PHOTOS_CONSUMER, "GET", PHOTOS_URL, PHOTOS_PARAMETERS, PHOTOS_TOKEN)
        assert signature == b"MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_oauth_core_1_0_appendix_a() -> None:
    parameters = {
        **PHOTOS_PARAMETERS,
        "oauth_timestamp": "1191242096",
        "oauth_nonce": "kllo9940pd9333jh",
        "oauth_version": "1.0",
    }
    signature = oauth10_signature(PHOTOS_CONSUMER, "GET", PHOTOS_URL, parameters, PHOTOS_TOKEN)
    assert signature == b"tR3+Ty81lMeYAr/Fid0kMTYa/WM="


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # RFC 5849, section 3.4.1.2.
        ("HTTP://EXAMPLE.COM:80/r%20v/X?id=123", "http://example.com/r%20v/X"),
        ("https://www.example.net:8080/?q=1", "https://www.example.net:8080/"),
        ("https://example.com:443", "https://example.com/"),
        ("http://[::1]:8080/a#frag", "http://[::1]:8080/a"),
    ],
)
def test_base_string_uri(url: str, expected: str) -> None:
    assert base_string_uri(url) == expected


# --- signatures: the same as Tornado's --------------------------------------------------------

CONSUMERS = [
    {"key": "k", "secret": "plain"},
    {"key": "k", "secret": "s/+=&~ é"},
    {"key": "k", "secret": b"bytes secret"},
]
TOKENS: list[dict[str, Any] | None] = [
    None,
    {"key": "t", "secret": "token-secret"},
    {"key": "t", "secret": "tök&en/"},
]
PARAMETER_SETS = [
    {},
    {"status": "Hello Ladies + Gentlemen, a signed OAuth request!", "include_entities": "true"},
    {"q": "ümlaut ☃", "empty": "", "n": 5, "oauth_nonce": "abc", "oauth_timestamp": "1"},
]
URLS = ["https://api.twitter.com/1.1/statuses/update.json", "HTTP://Example.COM:8080/a%20b"]


@pytest.mark.parametrize("consumer", CONSUMERS)
@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("parameters", PARAMETER_SETS)
@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["GET", "post"])
def test_signatures_match_tornado(
    consumer: dict[str, Any],
    token: dict[str, Any] | None,
    parameters: dict[str, Any],
    url: str,
    method: str,
) -> None:
    assert oauth10a_signature(consumer, method, url, parameters, token) == tornado_10a(
        consumer, method, url, parameters, token
    )
    assert oauth10_signature(consumer, method, url, parameters, token) == tornado_10(
        consumer, method, url, parameters, token
    )


def test_the_version_decides_how_the_key_is_made() -> None:
    consumer = {"secret": "a/b"}
    ours_10a = oauth10a_signature(consumer, "GET", "http://x/", {})
    ours_10 = oauth10_signature(consumer, "GET", "http://x/", {})
    assert ours_10a != ours_10
    base = b"GET&http%3A%2F%2Fx%2F&"
    assert ours_10a == base64.b64encode(hmac.new(b"a%2Fb&", base, hashlib.sha1).digest())
    assert ours_10 == base64.b64encode(hmac.new(b"a/b&", base, hashlib.sha1).digest())


def test_names_are_encoded_as_the_rfc_says_unlike_tornado() -> None:
    ours = signature_base_string("GET", "http://x/", {"c@": "1"})
    assert ours.endswith("&c%2540%3D1")


def test_tornado_private_names_are_there() -> None:
    assert auth._oauth10a_signature is oauth10a_signature
    assert auth._oauth_signature is oauth10_signature


def test_request_parameters_verify_with_tornado() -> None:
    class Bare(OAuthMixin):
        def _oauth_consumer_token(self) -> dict[str, Any]:
            return {"key": CONSUMER_KEY, "secret": CONSUMER_SECRET}

    url = "https://api.example.com/1/statuses/update.json"
    token = {"key": "access-key", "secret": "access/secret"}
    form = {"status": "héllo & bye"}
    oauth = Bare()._oauth_request_parameters(url, token, form, method="POST")
    assert sorted(oauth) == [
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_token",
        "oauth_version",
    ]
    assert oauth["oauth_token"] == "access-key"
    signature = oauth.pop("oauth_signature")
    consumer = {"secret": CONSUMER_SECRET}
    assert tornado_10a(consumer, "POST", url, {**oauth, **form}, token).decode() == signature


def test_parse_token_response() -> None:
    token = parse_token_response(
        {"oauth_token": "k", "oauth_token_secret": "s", "screen_name": "carol"}, "x"
    )
    assert token == {"key": "k", "secret": "s", "screen_name": "carol"}
    with pytest.raises(AuthError, match="no oauth_token"):
        parse_token_response({"oauth_token_secret": "s"}, "Request token request failed")
    with pytest.raises(AuthError, match="no oauth_token_secret"):
        parse_token_response({"oauth_token": "k"}, "x")
    with pytest.raises(AuthError):
        parse_token_response(None, "x")


# --- the login flow ---------------------------------------------------------------------------

Call = Callable[[Any], Awaitable[Any]]


class Login(web.RequestHandler):
    async def get(self) -> None:
        if self.get_argument("oauth_token", None) or self.get_argument("denied", None):
            try:
                user = await self.get_authenticated_user()  # type: ignore[attr-defined]
            except AuthError as error:
                self.set_status(403)
                self.finish({"error": str(error), "code": error.error})
                return
            self.finish({"result": user})
            return
        await self.start()

    async def start(self) -> None:
        await self.authorize_redirect(callback_uri="/twitter/login")  # type: ignore[attr-defined]


def make_client_app(provider: Provider, **settings: Any) -> web.Application:
    base = provider.url

    class Twitter(TwitterMixin):
        _OAUTH_REQUEST_TOKEN_URL = f"{base}/twitter/oauth/request_token"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/twitter/oauth/access_token"
        _OAUTH_AUTHORIZE_URL = f"{base}/twitter/oauth/authorize"
        _OAUTH_AUTHENTICATE_URL = f"{base}/twitter/oauth/authenticate"
        _TWITTER_BASE_URL = f"{base}/twitter/1.1"

    class OAuth10(TwitterMixin):
        _OAUTH_VERSION = "1.0"
        _OAUTH_REQUEST_TOKEN_URL = f"{base}/oauth10/oauth/request_token"
        _OAUTH_ACCESS_TOKEN_URL = f"{base}/oauth10/oauth/access_token"
        _OAUTH_AUTHORIZE_URL = f"{base}/oauth10/oauth/authorize"
        _TWITTER_BASE_URL = f"{base}/oauth10/1.1"

    class TwitterLogin(Login, Twitter):
        pass

    class TwitterAuthenticate(Login, Twitter):
        async def start(self) -> None:
            await self.authenticate_redirect(callback_uri="/twitter/login")

    class TwitterOutOfBand(Login, Twitter):
        async def start(self) -> None:
            await self.authorize_redirect(callback_uri="oob")

    class OAuth10Login(Login, OAuth10):
        async def start(self) -> None:
            await self.authorize_redirect(callback_uri="/oauth10/login")

    class Caller(web.RequestHandler, Twitter):
        async def get(self) -> None:
            call: Call = self.settings["call"]
            try:
                result = await call(self)
            except AuthError as error:
                self.set_status(403)
                result = {"error": str(error), "code": error.error, "status": error.status_code}
            self.finish({"result": result})

    return web.Application(
        [
            (r"/twitter/login", TwitterLogin),
            (r"/twitter/authenticate", TwitterAuthenticate),
            (r"/twitter/oob", TwitterOutOfBand),
            (r"/oauth10/login", OAuth10Login),
            (r"/call", Caller),
        ],
        **{
            "twitter_consumer_key": CONSUMER_KEY,
            "twitter_consumer_secret": CONSUMER_SECRET,
            **settings,
        },
    )


@dataclasses.dataclass
class Env:
    provider: Provider
    app: web.Application
    url: str
    browser: httpx.AsyncClient

    async def login(self, path: str, **kwargs: Any) -> list[httpx.Response]:
        return await browse(self.browser, self.url + path, **kwargs)

    async def call(self, call: Call) -> Any:
        self.app.settings["call"] = call
        response = await self.browser.get(f"{self.url}/call")
        return response.json()["result"]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with serve_provider() as provider:
        app = make_client_app(provider)
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            yield Env(provider, app, f"http://127.0.0.1:{server.port}", browser)


def failure(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_twitter_login(env: Env) -> None:
    start, callback, done = await env.login("/twitter/login")
    location = start.headers["location"]
    assert location.startswith(f"{env.provider.url}/twitter/oauth/authorize?")
    request_key = query_of(location)["oauth_token"]
    assert query_of(location)["oauth_callback"] == f"{env.url}/twitter/login"
    # The request token asked for the callback, made absolute.
    asked = env.provider.args_of("/twitter/oauth/request_token")
    assert asked["oauth_callback"] == f"{env.url}/twitter/login"
    assert asked["oauth_version"] == "1.0"
    assert asked["oauth_signature_method"] == "HMAC-SHA1"

    cookie = start.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    key_b64, secret_b64 = cookie.split(";")[0].split("=", 1)[1].strip('"').split("|")
    assert base64.b64decode(key_b64).decode() == request_key
    assert base64.b64decode(secret_b64).decode().endswith("/+")

    user = done.json()["result"]
    assert user["screen_name"] == user["username"] == TWITTER_USER["screen_name"]
    access = user["access_token"]
    assert env.provider.access_tokens[access["key"]] == access["secret"]
    assert access["screen_name"] == TWITTER_USER["screen_name"]
    assert access["user_id"] == str(TWITTER_USER["id"])
    assert (
        env.provider.args_of("/twitter/oauth/access_token")["oauth_verifier"]
        == (query_of(callback.headers["location"])["oauth_verifier"])
    )
    assert env.provider.paths()[-1] == "/twitter/1.1/account/verify_credentials.json"
    assert "_oauth_request_token" not in env.browser.cookies


async def test_oauth_1_0_login(env: Env) -> None:
    start, callback, done = await env.login("/oauth10/login")
    assert "oauth_callback" not in env.provider.args_of("/oauth10/oauth/request_token")
    assert query_of(start.headers["location"])["oauth_callback"] == f"{env.url}/oauth10/login"
    assert "oauth_verifier" not in query_of(callback.headers["location"])
    assert done.json()["result"]["username"] == TWITTER_USER["screen_name"]


async def test_authenticate_redirect(env: Env) -> None:
    start = await env.browser.get(f"{env.url}/twitter/authenticate")
    location = start.headers["location"]
    assert location.startswith(f"{env.provider.url}/twitter/oauth/authenticate?")
    assert list(query_of(location)) == ["oauth_token"]
    assert env.provider.args_of("/twitter/oauth/request_token")["oauth_callback"] == (
        f"{env.url}/twitter/login"
    )
    *_, done = await browse(env.browser, location)
    assert done.json()["result"]["username"] == TWITTER_USER["screen_name"]


async def test_out_of_band(env: Env) -> None:
    response = await env.browser.get(f"{env.url}/twitter/oob")
    assert response.status_code == 200
    assert response.text.startswith(f"{env.provider.url}/twitter/oauth/authorize?oauth_token=")
    assert env.provider.args_of("/twitter/oauth/request_token")["oauth_callback"] == "oob"
    assert "_oauth_request_token" in env.browser.cookies


async def test_the_user_denies(env: Env) -> None:
    env.provider.deny = True
    *_, done = await env.login("/twitter/login")
    assert failure(done)["code"] == "denied"
    assert "/twitter/oauth/access_token" not in env.provider.paths()
    assert "_oauth_request_token" not in env.browser.cookies


async def test_a_token_that_is_not_the_cookies_is_refused(env: Env) -> None:
    *_, done = await env.login(
        "/twitter/login",
        tamper=lambda url: replace_query(url, oauth_token="other") if "verifier" in url else url,
    )
    assert failure(done) == {
        "error": "Request token does not match cookie",
        "code": "token_mismatch",
    }
    assert "/twitter/oauth/access_token" not in env.provider.paths()


async def test_a_callback_without_the_cookie_is_refused(env: Env) -> None:
    callback = ""

    def stop(url: str) -> str:
        nonlocal callback
        if "verifier" in url:
            callback = url
            return env.provider.url + "/nowhere"
        return url

    await env.login("/twitter/login", tamper=stop)
    async with httpx.AsyncClient() as other:
        response = await other.get(callback)
        assert failure(response)["code"] == "missing_request_token_cookie"
        other.cookies.set("_oauth_request_token", "not|base64!")
        response = await other.get(callback)
        assert failure(response)["error"] == "Malformed OAuth request token cookie"


async def test_a_wrong_verifier(env: Env) -> None:
    *_, done = await env.login(
        "/twitter/login",
        tamper=lambda url: replace_query(url, oauth_verifier="guess") if "verifier" in url else url,
    )
    body = failure(done)
    assert body == {
        "error": "Access token request failed: verifier_invalid",
        "code": "verifier_invalid",
    }


async def test_wrong_consumer_credentials() -> None:
    async with serve_provider() as provider:
        app = make_client_app(provider, twitter_consumer_secret="wrong")
        async with open_test_server(app) as server, httpx.AsyncClient() as browser:
            response = await browser.get(f"http://127.0.0.1:{server.port}/twitter/login")
    assert response.status_code == 500  # authorize_redirect raised AuthError
    assert provider.paths() == ["/twitter/oauth/request_token"]


async def test_twitter_request(env: Env) -> None:
    env.provider.access_tokens["ak"] = "as/&"
    token = {"key": "ak", "secret": "as/&"}

    async def call(handler: TwitterMixin) -> Any:
        timeline = await handler.twitter_request(
            "/statuses/home_timeline", access_token=token, count=5
        )
        posted = await handler.twitter_request(
            "/statuses/update", access_token=token, post_args={"status": "héllo & wörld"}
        )
        with pytest.raises(AuthError) as refused:
            await handler.twitter_request(
                "/statuses/update", access_token={"key": "ak", "secret": "wrong"}
            )
        return [timeline, posted, str(refused.value), refused.value.status_code]

    timeline, posted, message, status = await env.call(call)
    assert timeline == {"path": "statuses/home_timeline", "count": "5"}
    assert posted == {"path": "statuses/update", "text": "héllo & wörld"}
    assert message == "Twitter API request failed: Could not authenticate you. (32)"
    assert status == 401


async def test_a_refused_request_token_request(env: Env) -> None:
    async def call(handler: Any) -> Any:
        handler.settings["twitter_consumer_secret"] = "wrong"
        try:
            await handler.authorize_redirect()
        finally:
            handler.settings["twitter_consumer_secret"] = CONSUMER_SECRET

    result = await env.call(call)
    assert result == {
        "error": "Request token request failed: Could not authenticate you. (32)",
        "code": "32",
        "status": 401,
    }


async def test_no_callbacks(env: Env) -> None:
    async def call(handler: TwitterMixin) -> Any:
        type(handler)._OAUTH_NO_CALLBACKS = True
        try:
            with pytest.raises(ValueError, match="oauth_callback"):
                await handler.authorize_redirect(callback_uri="/x")
        finally:
            type(handler)._OAUTH_NO_CALLBACKS = False
        return "refused"

    assert await env.call(call) == "refused"
    assert env.provider.paths() == []
