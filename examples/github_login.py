"""Signing in with GitHub: OAuth 2 with trinado.auth.GitHubOAuth2Mixin.

Register an OAuth app at https://github.com/settings/developers ("New OAuth App") with the
authorization callback URL ``http://127.0.0.1:8888/auth/github``, generate a client secret,
then run::

    GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... python examples/github_login.py

and open http://127.0.0.1:8888/. docs/auth.md walks through this file.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

import trio

from trinado import web
from trinado.auth import AuthError, GitHubOAuth2Mixin
from trinado.escape import xhtml_escape


class BaseHandler(web.RequestHandler):
    def get_current_user(self) -> dict[str, Any] | None:
        cookie = self.get_signed_cookie("user", max_age_days=7)
        if cookie is None:
            return None
        user: dict[str, Any] = json.loads(cookie)
        return user


class HomeHandler(BaseHandler):
    @web.authenticated
    async def get(self) -> None:
        user = self.current_user
        self.write(
            f"<p>Signed in as <b>{xhtml_escape(user['login'])}</b>"
            f" ({xhtml_escape(user['name'] or 'no public name')}).</p>"
            f'<form method="post" action="/logout">{self.xsrf_form_html()}'
            "<button>Sign out</button></form>"
        )


class LoginHandler(BaseHandler):
    async def get(self) -> None:
        self.write(f'<a href="{self.reverse_url("github")}">Sign in with GitHub</a>')


class GitHubLoginHandler(BaseHandler, GitHubOAuth2Mixin):
    async def get(self) -> None:
        # Relative: resolved against this request's URL. It must match the callback URL
        # registered with GitHub (behind a proxy, serve with xheaders=True).
        redirect_uri = self.reverse_url("github")
        if self.get_argument("code", None) is None and self.get_argument("error", None) is None:
            # First visit: off to GitHub, with a fresh state in a signed cookie.
            self.authorize_redirect(redirect_uri=redirect_uri, scope=["read:user"])
            return
        # GitHub sent the browser back: check the state, trade the code, fetch the user.
        try:
            user = await self.get_authenticated_user(
                redirect_uri=redirect_uri, code=self.get_argument("code", "")
            )
        except AuthError as error:
            self.set_status(403)
            self.write(
                f"<p>GitHub sign-in failed: {xhtml_escape(str(error))}</p>"
                f'<a href="{self.reverse_url("github")}">Try again</a>'
            )
            return
        # Keep only what the pages need; store user["access_token"] server-side if you
        # call GitHub's API later (self.github_request("/user/repos", access_token=...)).
        profile = {"login": user["login"], "name": user.get("name")}
        self.set_signed_cookie(
            "user", json.dumps(profile), expires_days=7, httponly=True, samesite="Lax"
        )
        self.redirect("/")


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        self.clear_cookie("user")
        self.redirect(self.get_login_url())


def make_app(
    client_id: str | None = None,
    client_secret: str | None = None,
    cookie_secret: str | None = None,
) -> web.Application:
    """The application; the GitHub credentials default to the environment.

    Raises:
        ValueError: GITHUB_CLIENT_ID or GITHUB_CLIENT_SECRET is not set.
    """
    client_id = client_id or os.environ.get("GITHUB_CLIENT_ID")
    client_secret = client_secret or os.environ.get("GITHUB_CLIENT_SECRET")
    if not client_id or not client_secret:
        raise ValueError("Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (see the docstring)")
    return web.Application(
        [
            (r"/", HomeHandler),
            (r"/login", LoginHandler),
            web.url(r"/auth/github", GitHubLoginHandler, name="github"),
            (r"/logout", LogoutHandler),
        ],
        github_oauth={"key": client_id, "secret": client_secret},
        # Keep it stable in production: a new secret signs everybody out.
        cookie_secret=cookie_secret or secrets.token_hex(32),
        login_url="/login",
        xsrf_cookies=True,
    )


def main() -> None:
    try:
        app = make_app()
    except ValueError as error:
        sys.exit(str(error))
    trio.run(app.serve)


if __name__ == "__main__":
    main()
