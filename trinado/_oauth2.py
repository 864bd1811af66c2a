"""OAuth 2.0 login (the authorization code flow), with the ``state`` check built in.

`OAuth2Mixin.authorize_redirect` sends the browser to the provider with a fresh random
``state``, which it also keeps in a short-lived signed cookie. On the way back, every
method that exchanges the code for a token first compares the callback's ``state`` with
that cookie (and clears it), then looks for an ``error`` the provider reported. Only then
is the code sent to the token endpoint.
"""

from __future__ import annotations

import hmac
import secrets
import urllib.parse
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ._auth_common import AuthClientMixin, AuthError, describe, fetch_data
from .httputil import url_concat

_SECONDS_PER_DAY = 86400


class OAuth2Mixin(AuthClientMixin):
    """OAuth 2.0's authorization code flow, for a `~trinado.web.RequestHandler`.

    Combine it with a handler (``class Login(web.RequestHandler, OAuth2Mixin)``). A first
    request calls `authorize_redirect`; the provider sends the browser back to
    ``redirect_uri`` with a ``code`` (or an ``error``) and the ``state``; that request calls
    `get_access_token` (or a provider mixin's ``get_authenticated_user``), which checks the
    state and trades the code for an access token. The application needs a
    ``cookie_secret``: the state travels in a signed cookie.

    Class attributes (override them to point at another server, a GitHub Enterprise or a
    fake provider in tests):

    * ``_OAUTH_AUTHORIZE_URL``: the provider's authorization page.
    * ``_OAUTH_ACCESS_TOKEN_URL``: its token endpoint.
    * ``_OAUTH_SETTINGS_KEY``: the application setting holding ``{"key": client_id,
      "secret": client_secret}``, used when those arguments are left out.
    * ``_OAUTH_STATE_COOKIE``: the name of the state cookie (``"_oauth2_state"``).
    * ``_OAUTH_STATE_MAX_AGE``: seconds a login may take, from the redirect to the
      callback (600).
    """

    _OAUTH_AUTHORIZE_URL: ClassVar[str] = ""
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = ""
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = None
    _OAUTH_STATE_COOKIE: ClassVar[str] = "_oauth2_state"
    _OAUTH_STATE_MAX_AGE: ClassVar[int] = 600

    def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
        scope: Sequence[str] | str | None = None,
        response_type: str = "code",
    ) -> None:
        """Redirects the browser to the provider's authorization page, with a new ``state``.

        The state is a random token, sent as the ``state`` parameter and kept in a signed,
        HttpOnly, SameSite=Lax cookie for ``_OAUTH_STATE_MAX_AGE`` seconds. The handler of
        ``redirect_uri`` then calls `get_access_token` (or ``get_authenticated_user``),
        which refuses a callback whose state does not match.

        Args:
            redirect_uri: Where the provider sends the browser back; relative URLs are
                resolved against the current request's URL. Most providers require it to
                be registered with them.
            client_id: The application's client ID; defaults to the ``"key"`` of the
                ``_OAUTH_SETTINGS_KEY`` setting, when there is one.
            client_secret: Deprecated and ignored (as in Tornado): the secret never goes
                to the browser.
            extra_params: More query parameters for the provider (``{"prompt":
                "consent"}``). May not contain ``state``.
            scope: The scopes to ask for, joined with spaces (a string is sent as is).
            response_type: The OAuth 2 response type.

        Raises:
            ValueError: ``extra_params`` contains ``state``.
            Exception: The ``cookie_secret`` setting is missing.
        """
        if client_secret is not None:
            warnings.warn(
                "the client_secret argument of authorize_redirect is deprecated and ignored",
                DeprecationWarning,
                stacklevel=2,
            )
        if extra_params and "state" in extra_params:
            raise ValueError("authorize_redirect generates the state itself; don't pass one")
        args: dict[str, Any] = {"response_type": response_type}
        if redirect_uri is not None:
            args["redirect_uri"] = self._absolute_url(redirect_uri)
        if client_id is None:
            client_id = self._oauth2_default_credentials()[0]
        if client_id is not None:
            args["client_id"] = client_id
        if extra_params:
            args.update(extra_params)
        if scope:
            args["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        args["state"] = self._new_oauth2_state()
        self._auth_handler().redirect(url_concat(self._OAUTH_AUTHORIZE_URL, args))

    async def get_access_token(
        self,
        redirect_uri: str | None,
        code: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Checks the callback and trades its ``code`` for an access token.

        Call it from the handler of ``redirect_uri``. It checks the callback's ``state``
        against the cookie `authorize_redirect` set (and clears the cookie), raises the
        provider's ``error`` if the callback carries one, then POSTs the code with
        ``grant_type=authorization_code`` to ``_OAUTH_ACCESS_TOKEN_URL``.

        Args:
            redirect_uri: The same ``redirect_uri`` given to `authorize_redirect` (resolved
                the same way), or ``None`` if none was given.
            code: The callback's ``code`` argument.
            client_id: The client ID; defaults to the ``_OAUTH_SETTINGS_KEY`` setting.
            client_secret: The client secret; defaults to the same setting.
            extra_params: More form fields for the token endpoint (``code_verifier``, ...).

        Returns:
            The token endpoint's answer: ``access_token``, ``token_type`` and whatever else
            the provider sends (``expires_in``, ``refresh_token``, ``scope``, ...).

        Raises:
            AuthError: The state is missing, wrong or expired; the provider reported an
                error; the token endpoint refused the code or gave no access token.
        """
        client_id, client_secret = self._oauth2_credentials(client_id, client_secret)
        args: dict[str, Any] = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            args["redirect_uri"] = self._absolute_url(redirect_uri)
        if client_id is not None:
            args["client_id"] = client_id
        if client_secret is not None:
            args["client_secret"] = client_secret
        if extra_params:
            args.update(extra_params)
        return await self._oauth2_exchange_code(args, method="POST")

    async def oauth2_request(
        self,
        url: str,
        access_token: str | None = None,
        post_args: Mapping[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Calls an API of the provider with an access token in the query, as Tornado does.

        Args:
            url: The full URL.
            access_token: Sent as the ``access_token`` query parameter.
            post_args: Form fields to POST; the request is a GET without them.
            **args: More query parameters.

        Returns:
            The decoded JSON answer (``None`` for an empty one).

        Raises:
            AuthError: The API answered with a status outside 2xx (the error's
                ``status_code`` and ``response`` say more) or something that isn't JSON.
        """
        query: dict[str, Any] = {}
        if access_token:
            query["access_token"] = access_token
        query.update(args)
        if query:
            url = url_concat(url, query)
        client = self.get_auth_http_client()
        if post_args is not None:
            return await fetch_data(
                client,
                url,
                "API request failed",
                method="POST",
                body=urllib.parse.urlencode(post_args),
            )
        return await fetch_data(client, url, "API request failed")

    # --- the state ---------------------------------------------------------------------------

    def _new_oauth2_state(self) -> str:
        """A new random state, kept in the signed state cookie."""
        handler = self._auth_handler()
        state = secrets.token_urlsafe(32)
        handler.set_signed_cookie(
            self._OAUTH_STATE_COOKIE,
            state,
            expires_days=None,
            max_age=self._OAUTH_STATE_MAX_AGE,
            path="/",
            httponly=True,
            secure=handler.request.protocol == "https",
            samesite="Lax",
        )
        return state

    def _check_oauth2_callback(self) -> None:
        """Refuses a callback that is not the answer to this browser's login, or an error.

        The state cookie is cleared whatever the outcome: a state is good for one callback.
        """
        handler = self._auth_handler()
        name = self._OAUTH_STATE_COOKIE
        present = handler.get_cookie(name) is not None
        expected = handler.get_signed_cookie(
            name, max_age_days=self._OAUTH_STATE_MAX_AGE / _SECONDS_PER_DAY
        )
        if present:
            handler.clear_cookie(name, path="/")
        state = handler.get_argument("state", None)
        if not state:
            raise AuthError(
                "OAuth callback refused: it has no state argument", error="missing_state"
            )
        if expected is None:
            reason = "is invalid or expired" if present else "is missing"
            raise AuthError(
                f"OAuth callback refused: the state cookie {reason} (the login did not start "
                "in this browser, took too long, or was already completed)",
                error="missing_state_cookie",
            )
        if not hmac.compare_digest(expected, state.encode("utf-8")):
            raise AuthError(
                "OAuth callback refused: its state does not match this browser's login",
                error="state_mismatch",
            )
        error = handler.get_argument("error", None)
        if error:
            description = handler.get_argument("error_description", None)
            raise AuthError(describe("Authorization failed", error, description), error=error)

    # --- the token request ------------------------------------------------------------------

    async def _oauth2_exchange_code(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        """Checks the callback, then sends ``args`` to the token endpoint."""
        self._check_oauth2_callback()
        if not args.get("code"):
            raise AuthError("OAuth callback refused: it has no code argument", error="no_code")
        client = self.get_auth_http_client()
        headers = {"Accept": "application/json"}
        url = self._OAUTH_ACCESS_TOKEN_URL
        if method == "POST":
            data = await fetch_data(
                client,
                url,
                "Token request failed",
                error_in_body=True,
                method="POST",
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                body=urllib.parse.urlencode(args),
            )
        else:
            data = await fetch_data(
                client,
                url_concat(url, args),
                "Token request failed",
                error_in_body=True,
                headers=headers,
            )
        if not isinstance(data, dict) or not data.get("access_token"):
            raise AuthError("Token request failed: the answer has no access_token")
        return data

    def _oauth2_default_credentials(self) -> tuple[str | None, str | None]:
        """The client ID and secret from the settings, when this provider has a setting."""
        key = self._OAUTH_SETTINGS_KEY
        if key is None:
            return None, None
        settings = self._auth_handler().settings.get(key) or {}
        return settings.get("key"), settings.get("secret")

    def _oauth2_credentials(
        self, client_id: str | None, client_secret: str | None
    ) -> tuple[str | None, str | None]:
        """The given client ID and secret, with the settings filling in what is None."""
        if client_id is None or client_secret is None:
            default_id, default_secret = self._oauth2_default_credentials()
            if client_id is None:
                client_id = default_id
            if client_secret is None:
                client_secret = default_secret
        return client_id, client_secret
