"""Cookies: a preference kept in the browser, read, changed and cleared.

Run it with ``python examples/cookies.py`` and try::

    curl -c jar -b jar localhost:8888/theme                  # {"theme": "light"}
    curl -c jar -b jar localhost:8888/theme -d theme=dark
    curl -c jar -b jar localhost:8888/theme                  # {"theme": "dark"}
    curl -c jar -b jar -X DELETE localhost:8888/theme

docs/handlers.md shows it. Signed cookies, which the client cannot change, are in
examples/security.py.
"""

from __future__ import annotations

import trio

from trinado import web

THEMES = {"light", "dark"}


class ThemeHandler(web.RequestHandler):
    def get(self) -> None:
        theme = self.get_cookie("theme", "light")
        self.write({"theme": theme if theme in THEMES else "light"})

    def post(self) -> None:
        theme = self.get_argument("theme")
        if theme not in THEMES:
            raise web.HTTPError(400, "unknown theme %r", theme)
        self.set_cookie("theme", theme, expires_days=30, httponly=True, samesite="Lax")

    def delete(self) -> None:
        self.clear_cookie("theme")


def make_app() -> web.Application:
    return web.Application([(r"/theme", ThemeHandler)])


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
