"""Logging in with a signed cookie; forms protected against cross-site request forgery.

Run it with ``python examples/security.py``, open http://127.0.0.1:8888/ and log in as
``alice`` with the password ``wonderland``. docs/security.md walks through this file.
"""

from __future__ import annotations

import hmac
import re
import secrets

import trio

from trinado import web
from trinado.escape import xhtml_escape

# A real application keeps password hashes in a database.
USERS = {"alice": "wonderland"}

# A path on this site: one slash, then no second slash or backslash, no spaces or controls.
# Browsers read "//host", "/\host" and "/\t/host" as another host.
_LOCAL_PATH_RE = re.compile(r"/(?![/\\])[^\x00-\x20\x7f\\]*")


def safe_next_url(next_url: str | None) -> str:
    """Where to go after logging in: the ``next`` argument if it stays on this site."""
    if next_url and _LOCAL_PATH_RE.fullmatch(next_url):
        return next_url
    return "/"


class BaseHandler(web.RequestHandler):
    def get_current_user(self) -> str | None:
        user = self.get_signed_cookie("user", max_age_days=7)
        if user is None:
            return None
        if self.get_signed_cookie_key_version("user") != self.settings["key_version"]:
            # Signed with an older key that is still accepted: sign it with the current one.
            self.set_user_cookie(user)
        return user.decode("utf-8")

    def set_user_cookie(self, name: str | bytes) -> None:
        self.set_signed_cookie("user", name, expires_days=7, httponly=True, samesite="Lax")


class HomeHandler(BaseHandler):
    @web.authenticated
    async def get(self) -> None:
        self.write(
            f"<p>Hello, {xhtml_escape(self.current_user)}.</p>"
            f'<form method="post" action="/logout">{self.xsrf_form_html()}'
            "<button>Log out</button></form>"
        )


class LoginHandler(BaseHandler):
    async def get(self) -> None:
        next_url = safe_next_url(self.get_argument("next", None))
        self.write(
            f'<form method="post" action="/login">{self.xsrf_form_html()}'
            f'<input type="hidden" name="next" value="{xhtml_escape(next_url)}">'
            '<input name="name"> <input name="password" type="password">'
            "<button>Log in</button></form>"
        )

    async def post(self) -> None:
        name = self.get_argument("name")
        password = self.get_argument("password").encode("utf-8")
        expected = USERS.get(name, "").encode("utf-8")
        if not expected or not hmac.compare_digest(password, expected):
            self.set_status(403)
            self.finish("Wrong name or password.")
            return
        self.set_user_cookie(name)
        self.redirect(safe_next_url(self.get_argument("next", None)))


class LogoutHandler(BaseHandler):
    async def post(self) -> None:
        self.clear_cookie("user")
        self.redirect("/login")


def make_app(cookie_secrets: dict[int, str] | None = None, key_version: int = 0) -> web.Application:
    """The application; ``cookie_secrets`` maps key versions to keys (random by default)."""
    if cookie_secrets is None:
        cookie_secrets = {key_version: secrets.token_hex(32)}
    return web.Application(
        [(r"/", HomeHandler), (r"/login", LoginHandler), (r"/logout", LogoutHandler)],
        cookie_secret=cookie_secrets,
        key_version=key_version,
        login_url="/login",
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Lax"},
    )


def main() -> None:
    # Keep the keys somewhere safe and stable: new keys log everybody out.
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
