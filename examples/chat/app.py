"""The chat's handlers: sign-in, rooms, the long poll, the WebSocket, and `make_app`.

Every message and every presence change reaches the pages in the same JSON shape (an
"update": ``messages``, ``cursor``, ``presence``, ``presence_version``, ``reset``, ``epoch``),
whether it travels as the answer to a long poll or as a WebSocket message. The page sends its
cursor and epoch back (see `examples.chat.store`): an epoch that is not the store's gets the
whole history with ``reset``. When a shared store is away,
a WebSocket gets ``{"error": "..."}`` (and ``{"error": null}`` when it is back), and HTTP
requests get 503 with the same JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import trio

from trinado import template, web
from trinado.websocket import WebSocketHandler, broadcast

from .store import ChatStore, MemoryStore, RoomFullError, StoreUnavailableError, valid_room_name

__all__ = ["Chat", "make_app"]

HERE = Path(__file__).parent
MAX_BODY = 2000  # characters in one message
MAX_NAME = 32  # characters in a display name
USER_COOKIE = "chat_user"


class Chat:
    """What every handler shares: the store, the WebSockets of each room, the settings.

    It is also the store's `StoreListener`: a shared store's relay hands it every message and
    change of presence, from every process, to send to this process's WebSockets. Serve the
    application inside ``async with chat.running():`` (`make_app` sets that as its lifespan).

    Args:
        store: where rooms, messages and presence live.
        poll_timeout: seconds a long poll waits before answering with nothing new.
        linger: seconds a long-polling user stays listed between two polls.
        send_timeout: seconds a WebSocket gets to take a broadcast before it is dropped.
    """

    def __init__(
        self,
        store: ChatStore | None = None,
        *,
        poll_timeout: float = 30.0,
        linger: float = 5.0,
        send_timeout: float = 5.0,
    ) -> None:
        self.store: ChatStore = store if store is not None else MemoryStore()
        self.poll_timeout = poll_timeout
        self.linger = linger
        self.send_timeout = send_timeout
        self.sockets: dict[str, set[ChatSocket]] = {}
        self._locks: dict[str, trio.Lock] = {}
        self._sent_presence: dict[str, int] = {}
        self._message_template = template.Loader(str(HERE / "templates")).load("message.html")
        self._running = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Opens the store for serving (a shared store connects and starts its relay).

        Entering it again while it runs does nothing, so a caller may enter it around
        ``app.serve`` whether or not the application's lifespan enters it too.
        """
        if self._running:
            yield
            return
        self._running = True
        try:
            async with self.store.connect(self):
                yield
        finally:
            self._running = False

    def local_rooms(self) -> Iterable[str]:
        """The rooms with WebSockets open in this process."""
        return [room for room, sockets in self.sockets.items() if sockets]

    async def deliver(self, room: str, update: dict[str, Any]) -> None:
        """Sends an update from the store's relay to the room's WebSockets."""
        await broadcast(self.sockets.get(room, ()), update, timeout=self.send_timeout)

    async def store_status(self, error: str | None) -> None:
        """Tells every WebSocket that the store went away (``error``) or came back (None)."""
        everyone = [socket for sockets in self.sockets.values() for socket in sockets]
        await broadcast(everyone, {"error": error}, timeout=self.send_timeout)

    def _lock(self, room: str) -> trio.Lock:
        return self._locks.setdefault(room, trio.Lock())

    def make_message(self, author: str, body: str) -> dict[str, Any]:
        """A new message as JSON, with its HTML rendered once (escaped and linkified)."""
        html = self._message_template.generate(author=author, body=body).decode()
        return {"author": author, "body": body, "time": time.time(), "html": html.strip()}

    async def post(self, room: str, author: str, body: str) -> dict[str, Any]:
        """Stores a message and sends it to the room's WebSockets (long polls wake up).

        With the in-memory store, posts to one room are serialised here so that every
        WebSocket gets them in order; a shared store's relay sends them instead, in the
        store's order, whichever process they came through.

        Returns:
            The stored message (with its ``id``).

        Raises:
            StoreUnavailableError: a shared store is away.
        """
        if self.store.relays:
            return await self.store.add_message(room, self.make_message(author, body))
        async with self._lock(room):
            stored = await self.store.add_message(room, self.make_message(author, body))
            update = {"messages": [stored], "cursor": stored["id"]}
            await broadcast(self.sockets.get(room, ()), update, timeout=self.send_timeout)
        return stored

    async def sync_presence(self, room: str) -> None:
        """Sends the room's presence to its WebSockets if it changed since the last time.

        A shared store's relay sends every change itself: then this does nothing.
        """
        if self.store.relays:
            return
        users, version = await self.store.presence(room)
        if self._sent_presence.get(room) == version:
            return
        self._sent_presence[room] = version
        update = {"presence": users, "presence_version": version}
        await broadcast(self.sockets.get(room, ()), update, timeout=self.send_timeout)


def _shielded(seconds: float) -> trio.CancelScope:
    """A shield with a deadline: clean-up that must run even in a cancelled task."""
    return trio.CancelScope(shield=True, deadline=trio.current_time() + seconds)


class ChatMixin:
    """The signed-cookie user, for pages and for the WebSocket alike."""

    chat: Chat

    def initialize(self, chat: Chat) -> None:
        """Receives the shared `Chat` from the route."""
        self.chat = chat

    def get_current_user(self) -> str | None:
        """The display name in the signed cookie, or None."""
        value: bytes | None = self.get_signed_cookie(USER_COOKIE)  # type: ignore[attr-defined]
        return value.decode() if value else None

    async def room_argument(self, value: str) -> str:
        """Checks a room name from the client and makes sure the room exists.

        Raises:
            HTTPError: 400 for a bad name, 503 when no more rooms can be made.
        """
        if not valid_room_name(value):
            raise web.HTTPError(400, reason="Bad room name")
        try:
            await self.chat.store.open_room(value)
        except RoomFullError:
            raise web.HTTPError(503, reason="Too many rooms") from None
        return value


class BaseHandler(ChatMixin, web.RequestHandler):
    """The pages and JSON endpoints.

    Every response says which process served it (``X-Worker-Pid``), to see the load spread
    over ``--workers`` (and for the tests). A shared store that is away gives 503.
    """

    def set_default_headers(self) -> None:
        """Adds ``X-Worker-Pid``."""
        self.set_header("X-Worker-Pid", str(os.getpid()))

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Logs as usual, except that the store being away was logged once by the store."""
        if not isinstance(value, StoreUnavailableError):
            super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answers 503 with ``{"error": ...}`` when the store is away; else as usual."""
        exc_info = kwargs.get("exc_info")
        if exc_info is not None and isinstance(exc_info[1], StoreUnavailableError):
            self.set_status(503)
            self.finish({"error": str(exc_info[1])})
            return
        super().write_error(status_code, **kwargs)


class LoginHandler(BaseHandler):
    """``/login``: choose a display name."""

    async def get(self) -> None:
        """Shows the form."""
        self.render("login.html", error=None, next=self.get_argument("next", "/"))

    async def post(self) -> None:
        """Signs in: the name goes into a signed cookie."""
        name = " ".join(self.get_argument("name", "").split())
        target = self.get_argument("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if not name or len(name) > MAX_NAME:
            self.set_status(400)
            self.render(
                "login.html", error=f"Choose a name of 1 to {MAX_NAME} characters.", next=target
            )
            return
        self.set_signed_cookie(USER_COOKIE, name, expires_days=30, httponly=True, samesite="Lax")
        self.redirect(target)


class LogoutHandler(BaseHandler):
    """``POST /logout``: forget the name."""

    async def post(self) -> None:
        """Clears the cookie and goes back to the sign-in page."""
        self.clear_cookie(USER_COOKIE)
        self.redirect("/login")


class HomeHandler(BaseHandler):
    """``/``: the lobby."""

    @web.authenticated
    async def get(self) -> None:
        """Redirects to the lobby (keeping ``?transport=``)."""
        transport = self.get_argument("transport", None)
        self.redirect("/room/lobby" + (f"?transport={transport}" if transport == "poll" else ""))


class RoomHandler(BaseHandler):
    """``/room/<name>``: the chat page of one room."""

    @web.authenticated
    async def get(self, name: str) -> None:
        """Renders the room with its history; the page's script keeps it up to date.

        The page starts from the history's cursor and the store's epoch.
        """
        room = await self.room_argument(name)
        news = await self.chat.store.updates(room, 0)
        self.render(
            "room.html",
            room=room,
            rooms=await self.chat.store.rooms(),
            messages=news.messages,
            cursor=news.cursor,
            epoch=news.epoch,
            presence=news.presence,
            transport="poll" if self.get_argument("transport", "") == "poll" else "auto",
        )


class NewRoomHandler(BaseHandler):
    """``POST /rooms``: make a room (or go to it if it exists)."""

    @web.authenticated
    async def post(self) -> None:
        """Redirects to the room named in the form."""
        name = self.get_argument("name", "").strip().lower().replace(" ", "-")
        self.redirect(f"/room/{await self.room_argument(name)}")


class MessageNewHandler(BaseHandler):
    """``POST /a/message/new``: post a message (the long-poll transport's way to speak)."""

    @web.authenticated
    async def post(self) -> None:
        """Stores the message; answers with it as JSON."""
        room = await self.room_argument(self.get_argument("room", "lobby"))
        body = self.get_argument("body")
        if not body or len(body) > MAX_BODY:
            raise web.HTTPError(400, reason="Bad message length")
        self.write(await self.chat.post(room, self.current_user, body))


class MessageUpdatesHandler(BaseHandler):
    """``POST /a/message/updates``: the long poll.

    Answers at once when there are messages after ``cursor`` (or presence other than
    ``presence_version``, or an ``epoch`` that is not the store's: then with the whole history
    and ``reset``); otherwise waits for news, up to the poll timeout, and then answers with
    nothing new. The server cancels the wait the moment the client leaves.
    """

    @web.authenticated
    async def post(self) -> None:
        """Waits for news in the room and answers with it."""
        chat = self.chat
        room = await self.room_argument(self.get_argument("room", "lobby"))
        try:
            cursor = int(self.get_argument("cursor", "0"))
            version = int(self.get_argument("presence_version", "-1"))
        except ValueError:
            raise web.HTTPError(400, reason="Bad cursor") from None
        epoch = self.get_argument("epoch", "") or None  # none yet: the cursor alone counts
        user: str = self.current_user
        await chat.store.join(room, user)
        linger = 0.0
        try:
            await chat.sync_presence(room)
            news = await chat.store.updates(
                room, cursor, version, timeout=chat.poll_timeout, epoch=epoch
            )
            linger = chat.linger  # the client will poll again in a moment: keep it listed
        finally:
            with _shielded(2):
                await _leave(chat, room, user, linger)
        self.write(news.to_json())


async def _leave(chat: Chat, room: str, user: str, linger: float = 0) -> None:
    """Leaves the room's presence; a store that is away writes it later (it logged that)."""
    try:
        await chat.store.leave(room, user, linger=linger)
        await chat.sync_presence(room)
    except StoreUnavailableError:
        pass


class ChatSocket(ChatMixin, WebSocketHandler):
    """``/chatsocket?room=<name>&cursor=<id>&epoch=<token>``: the room over a WebSocket.

    ``epoch`` (optional) is the one the page got with its cursor; one that is not the store's
    gets the whole history with ``reset`` in the first update.
    """

    room = ""
    user = ""
    joined = False

    async def prepare(self) -> None:
        """Refuses anyone who has not signed in."""
        if not self.current_user:
            raise web.HTTPError(403)

    def get_compression_options(self) -> dict[str, Any] | None:
        """Accepts permessage-deflate."""
        return {}

    async def open(self) -> None:
        """Joins the room; sends what the client missed and who is here.

        The first update also says which process holds the socket (``worker_pid``). When
        the store is away, the socket gets ``{"error": ...}`` and is closed with 1011 (the
        page reconnects after a pause).
        """
        try:
            await self._join()
        except StoreUnavailableError as exc:
            await self.write_message({"error": str(exc)})
            self.close(1011, str(exc))

    async def _join(self) -> None:
        room = await self.room_argument(self.get_argument("room", "lobby"))
        try:
            cursor = int(self.get_argument("cursor", "0"))
        except ValueError:
            cursor = 0
        epoch = self.get_argument("epoch", "") or None
        self.room, self.user = room, self.current_user
        # Listen first, then read the history: a message posted in between comes twice
        # (the page keeps one copy per id) rather than not at all.
        self.chat.sockets.setdefault(room, set()).add(self)
        await self.chat.store.join(room, self.user)
        self.joined = True
        news = await self.chat.store.updates(room, cursor, epoch=epoch)
        await self.write_message({**news.to_json(), "worker_pid": os.getpid()})
        await self.chat.sync_presence(room)

    async def on_message(self, message: str | bytes) -> None:
        """A message from the page: ``{"body": "..."}``."""
        try:
            body = json.loads(message)["body"]
        except (ValueError, KeyError, TypeError):
            self.close(1003, 'expected {"body": ...}')
            return
        if isinstance(body, str) and 0 < len(body) <= MAX_BODY:
            try:
                await self.chat.post(self.room, self.user, body)
            except StoreUnavailableError as exc:
                await self.write_message({"error": str(exc)})

    async def on_close(self) -> None:
        """Leaves the room."""
        if not self.room:
            return
        self.chat.sockets.get(self.room, set()).discard(self)
        if self.joined:
            with _shielded(2):
                await _leave(self.chat, self.room, self.user)


def make_app(chat: Chat | None = None, **settings: Any) -> web.Application:
    """The chat application.

    Args:
        chat: the shared state (a new in-memory one by default).
        **settings: application settings; ``cookie_secret`` should be set (and kept) so that
            sign-ins survive a restart. The ``lifespan`` is ``chat.running()`` unless given.

    Returns:
        The application, ready for ``app.serve``.
    """
    chat = chat if chat is not None else Chat()
    args = {"chat": chat}
    settings.setdefault("cookie_secret", "change me: pass a secret of your own")
    settings.setdefault("websocket_ping_interval", 20)
    settings.setdefault("lifespan", lambda app: chat.running())
    return web.Application(
        [
            (r"/", HomeHandler, args),
            (r"/login", LoginHandler, args),
            (r"/logout", LogoutHandler, args),
            (r"/rooms", NewRoomHandler, args),
            (r"/room/([^/]+)", RoomHandler, args),
            (r"/a/message/new", MessageNewHandler, args),
            (r"/a/message/updates", MessageUpdatesHandler, args),
            (r"/chatsocket", ChatSocket, args),
        ],
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        login_url="/login",
        xsrf_cookies=True,
        **settings,
    )
