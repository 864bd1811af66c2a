"""HTTP Basic authentication: a 401 with a challenge, the request ended by ``raise Finish``.

Run it with ``python examples/basic_auth.py`` and try::

    curl -i localhost:8888/                        # 401 and WWW-Authenticate
    curl -i -u alice:wonderland localhost:8888/    # Hello, alice

The browser asks for the name and password itself, and sends them with every request:
serve this over TLS only (examples/tls.py). A login form with a signed cookie is in
examples/security.py.
"""

from __future__ import annotations

import base64
import binascii
import hmac

import trio

from trinado import web

# A real application keeps password hashes in a database.
USERS = {"alice": "wonderland"}


def check_credentials(authorization: str) -> str | None:
    """The user named by an ``Authorization: Basic ...`` header value, if the password is right."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, _, password = decoded.partition(":")
    expected = USERS.get(name)
    if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
        return None
    return name


class BasicAuthHandler(web.RequestHandler):
    """Answers every request without valid credentials with a 401 and a challenge."""

    def get_current_user(self) -> str | None:
        return check_credentials(self.request.headers.get("Authorization", ""))

    def prepare(self) -> None:
        if self.current_user is None:
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="example", charset="UTF-8"')
            raise web.Finish("Who are you?")  # ends the request here: get() never runs


class HelloHandler(BasicAuthHandler):
    def get(self) -> None:
        self.write(f"Hello, {self.current_user}\n")


def make_app() -> web.Application:
    return web.Application([(r"/", HelloHandler)])


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
