"""The tutorial's last program: a shared to-do list with pages, a login and live updates.

Run it with ``python examples/tutorial/todo.py``, open http://127.0.0.1:8888/ and sign in
as ``ada`` (password ``lovelace``) in one browser and as ``alan`` (``turing``) in another:
an item that one of them adds appears on the other's page at once, over a WebSocket.
docs/tutorial/ builds it step by step; tests/test_tutorial.py drives it.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import secrets

import trio

from trinado import web
from trinado.websocket import WebSocketHandler, broadcast

HERE = os.path.dirname(os.path.abspath(__file__))

# A real application keeps password hashes in a database.
USERS = {"ada": "lovelace", "alan": "turing"}


@dataclasses.dataclass
class Item:
    id: int
    text: str
    author: str


class TodoList:
    """The items, and the WebSockets of the pages that show them."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.pages: set[LiveHandler] = set()

    async def add(self, text: str, author: str) -> Item:
        item = Item(len(self.items) + 1, text, author)
        self.items.append(item)
        # Every open page gets the new item; a page that cannot take it within 5 seconds
        # is disconnected (it reloads and catches up).
        await broadcast(self.pages, dataclasses.asdict(item))
        return item


class UserMixin:
    """Who is signed in: the name in the signed ``user`` cookie, or None."""

    def get_current_user(self) -> str | None:
        name = self.get_signed_cookie("user", max_age_days=7)  # type: ignore[attr-defined]
        return name.decode("utf-8") if name else None


class BaseHandler(UserMixin, web.RequestHandler):
    def initialize(self, todo: TodoList) -> None:
        self.todo = todo


class ListHandler(BaseHandler):
    @web.authenticated
    def get(self) -> None:
        self.render("index.html", items=self.todo.items)

    @web.authenticated
    async def post(self) -> None:
        # The form's way in, for pages without JavaScript.
        text = self.get_argument("text").strip()
        if text:
            await self.todo.add(text, self.current_user)
        self.redirect("/")


class LoginHandler(BaseHandler):
    def get(self) -> None:
        self.render("login.html", error=None)

    def post(self) -> None:
        name = self.get_argument("name")
        password = self.get_argument("password").encode("utf-8")
        expected = USERS.get(name, "").encode("utf-8")
        if not expected or not hmac.compare_digest(password, expected):
            self.set_status(403)
            self.render("login.html", error="Wrong name or password.")
            return
        self.set_signed_cookie("user", name, expires_days=7, httponly=True, samesite="Lax")
        self.redirect("/")


class LogoutHandler(BaseHandler):
    def post(self) -> None:
        self.clear_cookie("user")
        self.redirect("/login")


class LiveHandler(UserMixin, WebSocketHandler):
    def initialize(self, todo: TodoList) -> None:
        self.todo = todo

    def prepare(self) -> None:
        if not self.current_user:
            raise web.HTTPError(403)  # no WebSocket without signing in

    def open(self) -> None:
        self.todo.pages.add(self)

    async def on_message(self, message: str | bytes) -> None:
        # The page sends {"text": "..."} for a new item.
        text = str(json.loads(message).get("text", "")).strip()
        if text:
            await self.todo.add(text, self.current_user)

    def on_close(self) -> None:
        self.todo.pages.discard(self)


def make_app(todo: TodoList | None = None, cookie_secret: str | None = None) -> web.Application:
    args = {"todo": todo if todo is not None else TodoList()}
    return web.Application(
        [
            (r"/", ListHandler, args),
            (r"/login", LoginHandler, args),
            (r"/logout", LogoutHandler, args),
            (r"/live", LiveHandler, args),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        # Keep it secret and stable in production: a new secret signs everybody out.
        cookie_secret=cookie_secret or secrets.token_hex(32),
        login_url="/login",
        xsrf_cookies=True,
    )


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
