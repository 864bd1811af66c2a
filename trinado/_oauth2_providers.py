"""OAuth 2 providers: Google, Facebook and GitHub, each an `OAuth2Mixin` with its endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any, ClassVar

from ._auth_common import AuthError, fetch_data
from ._oauth2 import OAuth2Mixin
from .httputil import url_concat

# Token fields GitHub may send, copied into the user that get_authenticated_user returns.
_GITHUB_TOKEN_FIELDS = (
    "access_token",
    "token_type",
    "scope",
    "expires_in",
    "refresh_token",
    "refresh_token_expires_in",
)


class GoogleOAuth2Mixin(OAuth2Mixin):
    """Google login with OAuth 2.

    Set up: in the Google Cloud console (APIs & Services, Credentials), create an OAuth
    client ID of type "Web application", add your callback URL to its authorized redirect
    URIs, and put the client ID and secret in the application settings as
    ``google_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET}`` (or override
    `get_google_oauth_settings`). The application also needs a ``cookie_secret``.

    A login handler, from ``examples/provider_logins.py`` (its ``BaseHandler`` is a
    `~trinado.web.RequestHandler` whose ``sign_in`` sets a signed cookie)::

        class GoogleLoginHandler(BaseHandler, GoogleOAuth2Mixin):
            async def get(self) -> None:
                if self.get_argument("code", None) or self.get_argument("error", None):
                    try:
                        token = await self.get_authenticated_user(
                            redirect_uri="/auth/google", code=self.get_argument("code", "")
                        )
                        user = await self.oauth2_request(
                            self._OAUTH_USERINFO_URL, access_token=token["access_token"]
                        )
                    except AuthError as error:
                        raise web.HTTPError(403, "Google login failed: %s", error) from None
                    self.sign_in(user["email"])
                else:
                    self.authorize_redirect(
                        redirect_uri="/auth/google", scope=["openid", "email", "profile"]
                    )
    """

    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://accounts.google.com/o/oauth2/v2/auth"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://www.googleapis.com/oauth2/v4/token"
    _OAUTH_USERINFO_URL: ClassVar[str] = "https://www.googleapis.com/oauth2/v1/userinfo"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "google_oauth"

    def get_google_oauth_settings(self) -> dict[str, str]:
        """Returns the Google client credentials, ``{"key": ..., "secret": ...}``.

        Override it to keep them elsewhere than in the ``google_oauth`` setting.

        Returns:
            The credentials.

        Raises:
            Exception: The ``google_oauth`` setting is missing.
        """
        handler = self._auth_handler()
        handler.require_setting("google_oauth", "Google OAuth")
        settings: dict[str, str] = handler.settings["google_oauth"]
        return settings

    def _oauth2_default_credentials(self) -> tuple[str | None, str | None]:
        settings = self.get_google_oauth_settings()
        return settings.get("key"), settings.get("secret")

    async def get_authenticated_user(
        self,
        redirect_uri: str,
        code: str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """Checks the callback and trades its code for Google's tokens.

        As in Tornado, the result is the token endpoint's answer (``access_token``,
        ``expires_in``, ``id_token``, ...), not the user: ask
        ``self.oauth2_request(self._OAUTH_USERINFO_URL, access_token=...)`` for that.

        Args:
            redirect_uri: The ``redirect_uri`` given to
                `~trinado.auth.OAuth2Mixin.authorize_redirect`.
            code: The callback's ``code`` argument.
            client_id: Defaults to the ``"key"`` of `get_google_oauth_settings`.
            client_secret: Defaults to its ``"secret"``.

        Returns:
            The token endpoint's answer.

        Raises:
            AuthError: The state check failed, Google reported an error, or the token
                endpoint refused the code.
        """
        return await self.get_access_token(redirect_uri, code, client_id, client_secret)


class FacebookGraphMixin(OAuth2Mixin):
    """Facebook login with OAuth 2 and the Graph API.

    Set up: create an app at https://developers.facebook.com/apps, add "Facebook Login",
    list your callback URL among its valid OAuth redirect URIs, and keep the app ID and
    secret in the settings ``facebook_api_key`` and ``facebook_secret`` (Tornado's names;
    `~trinado.auth.OAuth2Mixin.authorize_redirect` takes the client ID from
    ``facebook_api_key`` when not given).
    The application also needs a ``cookie_secret``.
    """

    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://www.facebook.com/dialog/oauth"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://graph.facebook.com/oauth/access_token"
    _FACEBOOK_BASE_URL: ClassVar[str] = "https://graph.facebook.com"

    def _oauth2_default_credentials(self) -> tuple[str | None, str | None]:
        settings = self._auth_handler().settings
        return settings.get("facebook_api_key"), settings.get("facebook_secret")

    async def get_authenticated_user(
        self,
        redirect_uri: str,
        client_id: str,
        client_secret: str,
        code: str,
        extra_fields: Iterable[str] | None = None,
    ) -> dict[str, Any] | None:
        """Checks the callback, trades its code for a token and fetches the user.

        Args:
            redirect_uri: The ``redirect_uri`` given to
                `~trinado.auth.OAuth2Mixin.authorize_redirect`.
            client_id: The app ID (``self.settings["facebook_api_key"]``).
            client_secret: The app secret (``self.settings["facebook_secret"]``).
            code: The callback's ``code`` argument.
            extra_fields: User fields to fetch besides ``id``, ``name``, ``first_name``,
                ``last_name``, ``locale``, ``picture`` and ``link``.

        Returns:
            Those fields (``None`` for the ones Facebook did not send), plus
            ``access_token`` and ``session_expires`` (the token's lifetime in seconds, as a
            string, as in Tornado); ``None`` if the Graph API answered ``null``.

        Raises:
            AuthError: The state check failed, Facebook reported an error, or refused the
                code or the user request.
        """
        args = {
            "redirect_uri": self._absolute_url(redirect_uri),
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        session = await self._oauth2_exchange_code(args, method="GET")
        access_token: str = session["access_token"]
        fields = {"id", "name", "first_name", "last_name", "locale", "picture", "link"}
        fields.update(extra_fields or ())
        proof = hmac.new(
            client_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        user = await self.facebook_request(
            "/me", access_token=access_token, appsecret_proof=proof, fields=",".join(sorted(fields))
        )
        if user is None:
            return None
        result: dict[str, Any] = {field: user.get(field) for field in fields}
        result["access_token"] = access_token
        result["session_expires"] = str(session.get("expires_in"))
        return result

    async def facebook_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Calls the Graph API: ``path`` (``"/me/feed"``) under ``_FACEBOOK_BASE_URL``.

        Args:
            path: The API path, starting with a slash.
            access_token: The user's token (``user["access_token"]``).
            post_args: Form fields to POST; the request is a GET without them.
            **args: Query parameters.

        Returns:
            The decoded JSON answer.

        Raises:
            AuthError: The Graph API answered with an error; its message is Facebook's.
        """
        return await self.oauth2_request(
            self._FACEBOOK_BASE_URL + path, access_token=access_token, post_args=post_args, **args
        )


class GitHubOAuth2Mixin(OAuth2Mixin):
    """GitHub login with OAuth 2 (an OAuth app, or a GitHub App's user login).

    Set up: at https://github.com/settings/developers, register a new OAuth app with your
    callback URL as its "Authorization callback URL", generate a client secret, and put
    both in the settings as ``github_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET}``
    (or override `get_github_oauth_settings`). The application also needs a
    ``cookie_secret``. For GitHub Enterprise Server, subclass and point
    ``_OAUTH_AUTHORIZE_URL``, ``_OAUTH_ACCESS_TOKEN_URL`` (``https://HOST/login/oauth/...``),
    ``_OAUTH_USERINFO_URL`` and ``_GITHUB_API_URL`` (``https://HOST/api/v3``) at it.

    A login handler, from ``examples/provider_logins.py`` (its ``BaseHandler`` is a
    `~trinado.web.RequestHandler` whose ``sign_in`` sets a signed cookie)::

        class GitHubLoginHandler(BaseHandler, GitHubOAuth2Mixin):
            async def get(self) -> None:
                if self.get_argument("code", None) or self.get_argument("error", None):
                    try:
                        user = await self.get_authenticated_user(
                            redirect_uri="/auth/github", code=self.get_argument("code", "")
                        )
                    except AuthError as error:
                        raise web.HTTPError(403, "GitHub login failed: %s", error) from None
                    self.sign_in(user["login"])  # also user["id"], user["access_token"]...
                else:
                    self.authorize_redirect(redirect_uri="/auth/github", scope=["read:user"])
    """

    _OAUTH_AUTHORIZE_URL: ClassVar[str] = "https://github.com/login/oauth/authorize"
    _OAUTH_ACCESS_TOKEN_URL: ClassVar[str] = "https://github.com/login/oauth/access_token"
    _OAUTH_USERINFO_URL: ClassVar[str] = "https://api.github.com/user"
    _GITHUB_API_URL: ClassVar[str] = "https://api.github.com"
    _OAUTH_SETTINGS_KEY: ClassVar[str | None] = "github_oauth"

    def get_github_oauth_settings(self) -> dict[str, str]:
        """Returns the GitHub client credentials, ``{"key": ..., "secret": ...}``.

        Override it to keep them elsewhere than in the ``github_oauth`` setting.

        Returns:
            The credentials.

        Raises:
            Exception: The ``github_oauth`` setting is missing.
        """
        handler = self._auth_handler()
        handler.require_setting("github_oauth", "GitHub OAuth")
        settings: dict[str, str] = handler.settings["github_oauth"]
        return settings

    def _oauth2_default_credentials(self) -> tuple[str | None, str | None]:
        settings = self.get_github_oauth_settings()
        return settings.get("key"), settings.get("secret")

    async def get_authenticated_user(
        self,
        redirect_uri: str | None,
        code: str,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """Checks the callback, trades its code for a token and fetches the user.

        Args:
            redirect_uri: The ``redirect_uri`` given to
                `~trinado.auth.OAuth2Mixin.authorize_redirect` (``None`` if none was: GitHub
                then uses the app's registered callback URL).
            code: The callback's ``code`` argument.
            client_id: Defaults to the ``"key"`` of `get_github_oauth_settings`.
            client_secret: Defaults to its ``"secret"``.

        Returns:
            GitHub's user object (``login``, ``id``, ``name``, ``email``, ``avatar_url``,
            ...; ``email`` is ``None`` when the user keeps it private), plus
            ``access_token``, ``token_type`` and ``scope`` (the granted scopes, comma
            separated) and, for expiring tokens, ``expires_in`` and ``refresh_token``.

        Raises:
            AuthError: The state check failed, GitHub reported an error
                (``access_denied``, ``bad_verification_code``, ...), or refused the token.
        """
        token = await self.get_access_token(redirect_uri, code, client_id, client_secret)
        user = await self.github_request(self._OAUTH_USERINFO_URL, token["access_token"])
        if not isinstance(user, dict):
            raise AuthError("GitHub's user endpoint did not answer with a user")
        for field in _GITHUB_TOKEN_FIELDS:
            if field in token:
                user[field] = token[field]
        return user

    async def github_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Calls GitHub's REST API with the token in an ``Authorization: Bearer`` header.

        Args:
            path: A path under ``_GITHUB_API_URL`` (``"/user/emails"``), or a full URL
                (the ``next`` link of a paginated answer).
            access_token: The user's token (``user["access_token"]``).
            post_args: A JSON body to POST; the request is a GET without it.
            **args: Query parameters (``per_page=100``).

        Returns:
            The decoded JSON answer.

        Raises:
            AuthError: GitHub answered with an error status; the message is GitHub's
                (``"Bad credentials"``, ...).
        """
        url = path if path.startswith(("http:", "https:")) else self._GITHUB_API_URL + path
        if args:
            url = url_concat(url, args)
        headers = {"Accept": "application/vnd.github+json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        client = self.get_auth_http_client()
        if post_args is not None:
            headers["Content-Type"] = "application/json"
            return await fetch_data(
                client,
                url,
                "GitHub API request failed",
                method="POST",
                headers=headers,
                body=json.dumps(post_args),
            )
        return await fetch_data(client, url, "GitHub API request failed", headers=headers)
