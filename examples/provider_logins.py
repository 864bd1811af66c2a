"""Signing in with GitHub, Google or Twitter, every call to them through one HTTP client.

Each login handler combines a request handler with a mixin of trinado.auth, in Tornado's
shape: a first visit is sent to the provider, which sends the browser back with a code (or
a token, for Twitter's OAuth 1.0a) that the mixin trades for the user. The handlers share
the program's pooled client by overriding ``get_auth_http_client``.
examples/github_login.py walks through one provider in detail.

Register the callback URLs ``http://127.0.0.1:8888/auth/github`` (``/auth/google``,
``/auth/twitter``) with the providers, then run::

    GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... GOOGLE_CLIENT_ID=... \\
    GOOGLE_CLIENT_SECRET=... TWITTER_API_KEY=... TWITTER_API_SECRET=... \\
    python examples/provider_logins.py

and open http://127.0.0.1:8888/. docs/auth.md describes each mixin.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping

import trio

from trinado import web
from trinado.auth import AuthError, GitHubOAuth2Mixin, GoogleOAuth2Mixin, TwitterMixin
from trinado.escape import xhtml_escape
from trinado.httpclient import HTTPClient, open_http_client

CREDENTIALS = (
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "TWITTER_API_KEY",
    "TWITTER_API_SECRET",
)


class BaseHandler(web.RequestHandler):
    def get_auth_http_client(self) -> HTTPClient:
        client: HTTPClient = self.settings["http_client"]  # from open_http_client()
        return client

    def get_current_user(self) -> str | None:
        user = self.get_signed_cookie("user", max_age_days=7)
        return user.decode("utf-8") if user is not None else None

    def sign_in(self, name: str) -> None:
        self.set_signed_cookie("user", name, expires_days=7, httponly=True, samesite="Lax")
        self.redirect("/")


class HomeHandler(BaseHandler):
    def get(self) -> None:
        if self.current_user is None:
            names = ("github", "google", "twitter")
            links = ", ".join(f'<a href="/auth/{name}">{name}</a>' for name in names)
            self.write(f"<p>Sign in with {links}.</p>")
        else:
            self.write(f"<p>Signed in as <b>{xhtml_escape(self.current_user)}</b>.</p>")


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


def missing_credentials(credentials: Mapping[str, str]) -> str | None:
    """What to set before starting, or None when every credential is there."""
    missing = [name for name in CREDENTIALS if not credentials.get(name)]
    return f"Set {', '.join(missing)} (see this file's docstring)" if missing else None


def make_app(
    http_client: HTTPClient,
    credentials: Mapping[str, str] = os.environ,
    cookie_secret: str | None = None,
) -> web.Application:
    """The application; the providers' credentials come from the environment.

    Raises:
        ValueError: One of the CREDENTIALS is not set.
    """
    problem = missing_credentials(credentials)
    if problem:
        raise ValueError(problem)
    return web.Application(
        [
            (r"/", HomeHandler),
            (r"/auth/github", GitHubLoginHandler),
            (r"/auth/google", GoogleLoginHandler),
            (r"/auth/twitter", TwitterLoginHandler),
        ],
        http_client=http_client,
        github_oauth={
            "key": credentials["GITHUB_CLIENT_ID"],
            "secret": credentials["GITHUB_CLIENT_SECRET"],
        },
        google_oauth={
            "key": credentials["GOOGLE_CLIENT_ID"],
            "secret": credentials["GOOGLE_CLIENT_SECRET"],
        },
        twitter_consumer_key=credentials["TWITTER_API_KEY"],
        twitter_consumer_secret=credentials["TWITTER_API_SECRET"],
        # Keep it stable in production: a new secret signs everybody out.
        cookie_secret=cookie_secret or secrets.token_hex(32),
    )


async def serve(port: int = 8888) -> None:
    """Opens the one client the handlers share, and serves the application with it."""
    async with open_http_client(defaults={"connect_timeout": 5, "request_timeout": 20}) as client:
        await make_app(client).serve(port)


def main() -> None:
    problem = missing_credentials(os.environ)
    if problem:
        sys.exit(problem)
    trio.run(serve)


if __name__ == "__main__":
    main()
