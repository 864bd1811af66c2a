"""OAuth 1.0a login (and 1.0), and Twitter's API on it.

The flow: `OAuthMixin.authorize_redirect` asks the provider for a request token (a signed
GET), keeps it in the ``_oauth_request_token`` cookie and sends the browser to the
authorization page; the provider sends it back with ``oauth_token`` and
``oauth_verifier``; `OAuthMixin.get_authenticated_user` checks the token against the
cookie, trades it for an access token (another signed GET) and asks for the user.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, ClassVar

from ._auth_common import AuthClientMixin, AuthError, AuthHTTPClient, fetch_data
from ._oauth1_sign import oauth10_signature, oauth10a_signature
from .httputil import url_concat

_REQUEST_TOKEN_COOKIE = "_oauth_request_token"


def parse_token_response(data: Any, what: str) -> dict[str, Any]:
    """A token endpoint's form answer as ``{"key", "secret", <other fields>}``.

    Args:
        data: The parsed answer (a dict of its fields).
        what: Starts the error message.

    Returns:
        The token: ``key`` and ``secret`` from ``oauth_token`` and ``oauth_token_secret``,
        then every other field as it came (``user_id``, ``screen_name``, ...).

    Raises:
        AuthError: The answer has no ``oauth_token`` or ``oauth_token_secret``.
    """
    if not isinstance(data, dict) or not data.get("oauth_token"):
        raise AuthError(f"{what}: the answer has no oauth_token")
    if "oauth_token_secret" not in data:
        raise AuthError(f"{what}: the answer has no oauth_token_secret")
    token: dict[str, Any] = {"key": data["oauth_token"], "secret": data["oauth_token_secret"]}
    for name, value in data.items():
        if name not in ("oauth_token", "oauth_token_secret"):
            token[name] = value
    return token


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class OAuthMixin(AuthClientMixin):
    """OAuth 1.0a (and 1.0) login, for a `~trinado.web.RequestHandler`.

    A subclass names the provider's endpoints and overrides `_oauth_consumer_token` (the
    application's ``{"key", "secret"}``) and `_oauth_get_user_future` (fetching the user
    with an access token); see `TwitterMixin`.

    Class attributes:

    * ``_OAUTH_REQUEST_TOKEN_URL``, ``_OAUTH_AUTHORIZE_URL``, ``_OAUTH_ACCESS_TOKEN_URL``:
      the provider's endpoints.
    * ``_OAUTH_VERSION``: ``"1.0a"`` (default) or ``"1.0"``.
    * ``_OAUTH_NO_CALLBACKS``: true if the provider only uses a callback registered in
      advance (`authorize_redirect` then refuses a ``callback_uri``).
    """

    _OAUTH_REQUEST_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = ""
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_VERSION: ClassVar[str] = "1.0a"
    _OAUTH_NO_CALLBACKS: ClassVar[bool] = False

    async def authorize_redirect(
        self,
        callback_uri: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
        http_client: AuthHTTPClient | None = None,
    ) -> None:
        """Gets a request token and redirects the browser to the provider to authorize it.

        The request token is kept in the ``_oauth_request_token`` cookie, which
        `get_authenticated_user` checks and clears. This finishes the response.

        Args:
            callback_uri: Where the provider sends the browser back (relative URLs are
                resolved against the current request's URL); ``"oob"`` for out-of-band
                (the authorization URL is then written as the response instead of a
                redirect); ``None`` for the callback registered with the provider.
            extra_params: More parameters for the request-token request (1.0a only, as
                in Tornado), such as ``{"x_auth_access_type": "read"}``.
            http_client: The client to use instead of `get_auth_http_client`.

        Raises:
            ValueError: A ``callback_uri`` was given and ``_OAUTH_NO_CALLBACKS`` is set.
            AuthError: The provider refused the request-token request.
        """
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise ValueError("This service does not support oauth_callback")
        if self._OAUTH_VERSION == "1.0a":
            url = self._oauth_request_token_url(
                callback_uri=callback_uri, extra_params=extra_params
            )
        else:
            url = self._oauth_request_token_url()
        token = await self._oauth_fetch_token(url, "Request token request failed", http_client)
        self._on_request_token(self._OAUTH_AUTHORIZE_URL, callback_uri, token)

    async def get_authenticated_user(
        self, http_client: AuthHTTPClient | None = None
    ) -> dict[str, Any]:
        """Checks the callback, gets the access token and the user.

        Call it from the handler of the callback URL (the request has ``oauth_token``).

        Args:
            http_client: The client to use instead of `get_auth_http_client`.

        Returns:
            The user from `_oauth_get_user_future`, with ``access_token``: the
            ``{"key", "secret", ...}`` to sign later requests for this user with.

        Raises:
            AuthError: The user denied access (``denied`` in the callback); the callback
                has no ``oauth_token``; the request-token cookie is missing, malformed or
                for another token; the provider refused the access-token request; no user
                came back.
        """
        handler = self._auth_handler()
        cookie = handler.get_cookie(_REQUEST_TOKEN_COOKIE)
        if cookie is not None:
            handler.clear_cookie(_REQUEST_TOKEN_COOKIE)
        if handler.get_argument("denied", None) is not None:
            raise AuthError("Authorization failed: the user denied access", error="denied")
        request_key = handler.get_argument("oauth_token", None)
        if not request_key:
            raise AuthError("OAuth callback refused: it has no oauth_token", error="no_token")
        if not cookie:
            raise AuthError(
                "Missing OAuth request token cookie", error="missing_request_token_cookie"
            )
        try:
            key_b64, secret_b64 = cookie.split("|")
            cookie_key = base64.b64decode(key_b64, validate=True).decode("utf-8")
            cookie_secret = base64.b64decode(secret_b64, validate=True).decode("utf-8")
        except (ValueError, binascii.Error):
            raise AuthError(
                "Malformed OAuth request token cookie", error="missing_request_token_cookie"
            ) from None
        if not hmac.compare_digest(cookie_key.encode("utf-8"), request_key.encode("utf-8")):
            raise AuthError("Request token does not match cookie", error="token_mismatch")
        request_token: dict[str, Any] = {"key": cookie_key, "secret": cookie_secret}
        verifier = handler.get_argument("oauth_verifier", None)
        if verifier:
            request_token["verifier"] = verifier
        access_token = await self._oauth_fetch_token(
            self._oauth_access_token_url(request_token),
            "Access token request failed",
            http_client,
        )
        user = await self._oauth_get_user_future(access_token)
        if not user:
            raise AuthError("Error getting user")
        user["access_token"] = access_token
        return user

    # --- hooks for subclasses -----------------------------------------------------------------

    def _oauth_consumer_token(self) -> dict[str, Any]:
        """Override to return the application's credentials, ``{"key": ..., "secret": ...}``.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        """Override to fetch the user that ``access_token`` belongs to.

        Args:
            access_token: The ``{"key", "secret", ...}`` from the access-token request.

        Returns:
            The user; ``access_token`` is added to it by `get_authenticated_user`.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError

    # --- signing ----------------------------------------------------------------------------

    def _oauth_base_args(self, token_key: str | None = None) -> dict[str, str]:
        args = {"oauth_consumer_key": _text(self._oauth_consumer_token()["key"])}
        if token_key is not None:
            args["oauth_token"] = token_key
        args.update(
            oauth_signature_method="HMAC-SHA1",
            oauth_timestamp=str(int(time.time())),
            oauth_nonce=secrets.token_hex(16),
            oauth_version="1.0",
        )
        return args

    def _oauth_sign(
        self,
        method: str,
        url: str,
        parameters: Mapping[str, Any],
        token: Mapping[str, Any] | None = None,
    ) -> str:
        sign = oauth10a_signature if self._OAUTH_VERSION == "1.0a" else oauth10_signature
        return sign(self._oauth_consumer_token(), method, url, parameters, token).decode("ascii")

    def _oauth_request_token_url(
        self,
        callback_uri: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> str:
        """The signed URL of the request-token request."""
        url = self._OAUTH_REQUEST_TOKEN_URL
        args: dict[str, Any] = self._oauth_base_args()
        if self._OAUTH_VERSION == "1.0a":
            if callback_uri == "oob":
                args["oauth_callback"] = "oob"
            elif callback_uri:
                args["oauth_callback"] = self._absolute_url(callback_uri)
            if extra_params:
                args.update(extra_params)
        args["oauth_signature"] = self._oauth_sign("GET", url, args)
        return url_concat(url, args)

    def _oauth_access_token_url(self, request_token: Mapping[str, Any]) -> str:
        """The signed URL of the access-token request."""
        url = self._OAUTH_ACCESS_TOKEN_URL
        args: dict[str, Any] = self._oauth_base_args(_text(request_token["key"]))
        if "verifier" in request_token:
            args["oauth_verifier"] = request_token["verifier"]
        args["oauth_signature"] = self._oauth_sign("GET", url, args, request_token)
        return url_concat(url, args)

    def _oauth_request_parameters(
        self,
        url: str,
        access_token: Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
        method: str = "GET",
    ) -> dict[str, Any]:
        """The ``oauth_*`` parameters, signature included, for a request with a token.

        Args:
            url: The URL, without its query.
            access_token: The user's ``{"key", "secret"}``.
            parameters: Every query and form parameter the request will send.
            method: The HTTP method.

        Returns:
            The ``oauth_*`` parameters to add to the query.
        """
        base_args: dict[str, Any] = self._oauth_base_args(_text(access_token["key"]))
        signed = {**base_args, **(parameters or {})}
        base_args["oauth_signature"] = self._oauth_sign(method, url, signed, access_token)
        return base_args

    # --- the exchange -------------------------------------------------------------------------

    async def _oauth_fetch_token(
        self, url: str, what: str, http_client: AuthHTTPClient | None
    ) -> dict[str, Any]:
        client = http_client if http_client is not None else self.get_auth_http_client()
        data = await fetch_data(client, url, what, error_in_body=True)
        return parse_token_response(data, what)

    def _on_request_token(
        self, authorize_url: str, callback_uri: str | None, request_token: Mapping[str, Any]
    ) -> None:
        """Keeps the request token in a cookie and sends the browser to ``authorize_url``."""
        handler = self._auth_handler()
        key = _text(request_token["key"])
        secret = _text(request_token["secret"])
        cookie = (
            base64.b64encode(key.encode("utf-8")) + b"|" + base64.b64encode(secret.encode("utf-8"))
        )
        handler.set_cookie(
            _REQUEST_TOKEN_COOKIE,
            cookie,
            httponly=True,
            secure=handler.request.protocol == "https",
            samesite="Lax",
        )
        args = {"oauth_token": key}
        if callback_uri == "oob":
            handler.finish(url_concat(authorize_url, args))
            return
        if callback_uri:
            args["oauth_callback"] = self._absolute_url(callback_uri)
        handler.redirect(url_concat(authorize_url, args))


class TwitterMixin(OAuthMixin):
    """Twitter (X) login with OAuth 1.0a, and its v1.1 API.

    Set up: create an app in the X developer portal, enable "User authentication" with
    your callback URL, and put the API key and secret in the settings
    ``twitter_consumer_key`` and ``twitter_consumer_secret``. X has retired most of API
    v1.1 (as Tornado notes, deprecating this class); the login and
    ``account/verify_credentials`` are what this mixin relies on.

    A login handler, from ``examples/provider_logins.py`` (its ``BaseHandler`` is a
    `~trinado.web.RequestHandler` whose ``sign_in`` sets a signed cookie)::

        class TwitterLoginHandler(BaseHandler, TwitterMixin):
            async def get(self) -> None:
                if self.get_argument("oauth_token", None) or self.get_argument("denied", None):
                    try:
                        user = await self.get_authenticated_user()
                    except AuthError as error:
                        raise web.HTTPError(403, "Twitter login failed: %s", error) from None
                    self.sign_in("@" + user["username"])  # user["access_token"] signs API calls
                else:
                    await self.authorize_redirect(callback_uri="/auth/twitter")

    The user has Twitter's fields plus ``username`` (the screen name) and
    ``access_token``.
    """

    _OAUTH_REQUEST_TOKEN_URL: ClassVar[str] = "https://api.twitter.com/oauth/request_token"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://api.twitter.com/oauth/access_token"
    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://api.twitter.com/oauth/authorize"
    _OAUTH_AUTHENTICATE_URL: ClassVar[str] = "https://api.twitter.com/oauth/authenticate"
    _OAUTH_NO_CALLBACKS: ClassVar[bool] = False
    _TWITTER_BASE_URL: ClassVar[str] = "https://api.twitter.com/1.1"

    async def authenticate_redirect(self, callback_uri: str | None = None) -> None:
        """Like `~trinado.auth.OAuthMixin.authorize_redirect`, without asking again.

        A user who authorized the app before comes straight back ("Sign in with Twitter").

        Args:
            callback_uri: As for `~trinado.auth.OAuthMixin.authorize_redirect`.

        Raises:
            AuthError: The provider refused the request-token request.
        """
        url = self._oauth_request_token_url(callback_uri=callback_uri)
        token = await self._oauth_fetch_token(url, "Request token request failed", None)
        self._on_request_token(self._OAUTH_AUTHENTICATE_URL, None, token)

    async def twitter_request(
        self,
        path: str,
        access_token: Mapping[str, Any],
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Calls the API: ``path`` (``"/statuses/update"``) under ``_TWITTER_BASE_URL``.

        ``.json`` is appended to the path; a full URL is taken as it is. The request is
        signed with the user's access token.

        Args:
            path: The API path, or a full URL.
            access_token: The user's ``access_token`` from
                `~trinado.auth.OAuthMixin.get_authenticated_user`.
            post_args: Form fields to POST; the request is a GET without them.
            **args: Query parameters.

        Returns:
            The decoded JSON answer.

        Raises:
            AuthError: The API answered with an error; the message is Twitter's.
        """
        if path.startswith(("http:", "https:")):
            url = path
        else:
            url = self._TWITTER_BASE_URL + path + ".json"
        query: dict[str, Any] = dict(args)
        if access_token:
            signed = {**args, **(post_args or {})}
            method = "POST" if post_args is not None else "GET"
            query.update(self._oauth_request_parameters(url, access_token, signed, method))
        if query:
            url = url_concat(url, query)
        client = self.get_auth_http_client()
        if post_args is not None:
            return await fetch_data(
                client,
                url,
                "Twitter API request failed",
                method="POST",
                body=urllib.parse.urlencode(post_args),
            )
        return await fetch_data(client, url, "Twitter API request failed")

    def _oauth_consumer_token(self) -> dict[str, Any]:
        handler = self._auth_handler()
        handler.require_setting("twitter_consumer_key", "Twitter OAuth")
        handler.require_setting("twitter_consumer_secret", "Twitter OAuth")
        return {
            "key": handler.settings["twitter_consumer_key"],
            "secret": handler.settings["twitter_consumer_secret"],
        }

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        user = await self.twitter_request("/account/verify_credentials", access_token=access_token)
        if not isinstance(user, dict):
            raise AuthError("Twitter did not answer with a user")
        if "screen_name" in user:
            user["username"] = user["screen_name"]
        return user
