"""The chat's state behind a small interface: rooms, messages, cursors, presence.

`ChatStore` is what the handlers use; `MemoryStore` is the default, in one process's memory.
A shared store (`examples.chat.redis_store.RedisStore`) implements the same methods so that
several processes serve the same rooms; it also *relays*: every process learns of every
message and change of presence, in one order, through a `StoreListener` (the `Chat`).

Cursors: every room numbers its messages 1, 2, 3...; a cursor is the id of the last message
a client has. ``updates(room, cursor, ...)`` answers with the messages after it. A cursor
ahead of the room (the server restarted and numbering began again) is answered with the
whole history and ``reset=True``, so the page replaces what it shows.

Epochs: numbering can also start over *below* a client's cursor (a restarted server had more
messages since), where the cursor alone cannot tell. So every store has an *epoch*, a token
that changes whenever its numbering starts over (`MemoryStore`: made when the store is made;
`RedisStore`: kept in Redis, made anew when Redis lost its data). Every `Updates` carries it;
a client keeps it with its cursor and gives it back (``updates(..., epoch=...)``). A client
whose epoch is not the store's gets the whole history and ``reset=True``, whatever its
cursor; a client without one (a page's first look) is answered by its cursor alone.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

__all__ = [
    "ChatStore",
    "MemoryStore",
    "Room",
    "RoomFullError",
    "StoreListener",
    "StoreUnavailableError",
    "Updates",
    "valid_room_name",
]

HISTORY = 200  # messages kept per room
MAX_ROOMS = 1000
_ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def valid_room_name(name: str) -> bool:
    """Whether ``name`` may name a room: 1 to 32 of ``a-z 0-9 _ -``, starting alphanumeric."""
    return bool(_ROOM_NAME.match(name))


class RoomFullError(Exception):
    """Raised when a new room would pass `MAX_ROOMS`."""


class StoreUnavailableError(Exception):
    """Raised by a shared store when its server does not answer in time (or refuses).

    The message is what the page shows; the store logs the outage once, not per call.
    """

    def __init__(self, message: str = "chat store unavailable, retrying") -> None:
        super().__init__(message)


@dataclass
class Updates:
    """What a client has not seen yet: the answer to a long poll, and to a WebSocket join.

    Attributes:
        messages: the messages after the client's cursor, oldest first.
        cursor: the id of the room's last message (the client's next cursor).
        presence: who is in the room, sorted.
        presence_version: increases with every change of ``presence``.
        reset: the client's cursor was ahead of the room, or its epoch was not the store's:
            ``messages`` is the whole history; replace, do not append.
        epoch: the store's epoch (the client's next epoch); see the module's docstring.
    """

    messages: list[dict[str, Any]]
    cursor: int
    presence: list[str]
    presence_version: int
    reset: bool = False
    epoch: str = ""

    def to_json(self) -> dict[str, Any]:
        """This answer as the JSON object the page reads."""
        return {
            "messages": self.messages,
            "cursor": self.cursor,
            "presence": self.presence,
            "presence_version": self.presence_version,
            "reset": self.reset,
            "epoch": self.epoch,
        }


class StoreListener(Protocol):
    """What a relaying store tells about news from every process (the `Chat` implements it)."""

    def local_rooms(self) -> Iterable[str]:
        """The rooms this process holds WebSockets in."""
        ...

    async def deliver(self, room: str, update: dict[str, Any]) -> None:
        """Sends an update (new messages, presence, or a reset) to the room's WebSockets."""
        ...

    async def store_status(self, error: str | None) -> None:
        """The store went away (``error`` says so) or came back (``None``)."""
        ...


class ChatStore(Protocol):
    """The interface the chat's handlers use. Every method may be awaited over a network.

    Attributes:
        relays: False for a store whose news only this process makes (the `Chat` sends each
            new message to its WebSockets itself); True for a shared store, which calls the
            listener given to `connect` for every message and change of presence, including
            this process's own, in the order the store keeps them.
    """

    relays: bool

    def connect(self, listener: StoreListener) -> AbstractAsyncContextManager[None]:
        """Opens the store for serving, for as long as the block runs.

        A shared store connects to its server and runs its relay to ``listener`` there.
        """
        ...

    async def rooms(self) -> list[str]:
        """The names of the rooms, the lobby first."""
        ...

    async def open_room(self, room: str) -> None:
        """Makes the room if it does not exist (raises ValueError, RoomFullError)."""
        ...

    async def add_message(self, room: str, message: dict[str, Any]) -> dict[str, Any]:
        """Appends ``message`` (gives it ``id`` and ``room``) and wakes the room's waiters."""
        ...

    async def messages_since(self, room: str, cursor: int) -> list[dict[str, Any]]:
        """The kept messages of ``room`` whose id is greater than ``cursor``."""
        ...

    async def updates(
        self,
        room: str,
        cursor: int,
        presence_version: int = -1,
        *,
        timeout: float = 0,
        epoch: str | None = None,
    ) -> Updates:
        """Messages after ``cursor`` and presence, waiting up to ``timeout`` for news.

        ``epoch`` is the one the client got with its cursor (None: it has none yet); when it
        is not the store's, the answer is at once the whole history with ``reset=True``.
        """
        ...

    async def presence(self, room: str) -> tuple[list[str], int]:
        """Who is in ``room`` (sorted) and the presence version."""
        ...

    async def join(self, room: str, user: str) -> None:
        """Counts one more connection of ``user`` in ``room`` (presence)."""
        ...

    async def leave(self, room: str, user: str, *, linger: float = 0) -> None:
        """Counts one connection less; with ``linger``, the user stays listed that long."""
        ...


@dataclass(eq=False)
class Room:
    """One room in memory: its last messages, who is here, and who waits for news."""

    name: str
    history: int = HISTORY
    messages: deque[dict[str, Any]] = field(init=False)
    last_id: int = 0
    connections: dict[str, int] = field(default_factory=dict)  # user -> open connections
    lingering: dict[str, float] = field(default_factory=dict)  # user -> until (trio clock)
    presence_version: int = 0
    waiters: int = 0  # long polls waiting right now
    changed: trio.Event = field(default_factory=trio.Event)

    def __post_init__(self) -> None:
        self.messages = deque(maxlen=self.history)

    def notify(self) -> None:
        """Wakes everyone waiting on this room (a `trio.Event` fires once: make a new one)."""
        self.changed.set()
        self.changed = trio.Event()

    def since(self, cursor: int) -> list[dict[str, Any]]:
        """The kept messages after ``cursor`` (all of them for a cursor ahead of the room)."""
        if cursor == self.last_id:
            return []
        first = self.last_id - len(self.messages) + 1
        start = 0 if cursor > self.last_id else max(0, cursor + 1 - first)
        return list(self.messages)[start:]

    def presence(self) -> list[str]:
        """The users here: with a connection open, or lingering after their last poll."""
        return sorted(set(self.connections) | set(self.lingering))

    def expire(self, now: float) -> float | None:
        """Drops lingering users whose time is up; returns the next expiry, if any."""
        gone = [user for user, until in self.lingering.items() if until <= now]
        for user in gone:
            del self.lingering[user]
        if gone:
            self.presence_version += 1
            self.notify()
        return min(self.lingering.values(), default=None)


class MemoryStore:
    """The default `ChatStore`: everything in this process's memory.

    Attributes:
        epoch: a random token made with the store: a restarted server numbers its rooms
            anew under a new epoch.

    Args:
        history: how many messages each room keeps.
        clock: the time source for lingering presence (`trio.current_time` by default; its
            deadlines are what `trio.move_on_at` takes).
    """

    relays = False

    def __init__(
        self, *, history: int = HISTORY, clock: Callable[[], float] = trio.current_time
    ) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        self._rooms: dict[str, Room] = {}
        self._history = history
        self._clock = clock
        self.epoch = secrets.token_hex(8)
        self.room("lobby")

    def room(self, name: str) -> Room:
        """The room called ``name``, created on first use.

        Raises:
            ValueError: the name is not a valid room name.
            RoomFullError: there are `MAX_ROOMS` rooms already.
        """
        room = self._rooms.get(name)
        if room is None:
            if not valid_room_name(name):
                raise ValueError(f"invalid room name {name!r}")
            if len(self._rooms) >= MAX_ROOMS:
                raise RoomFullError(name)
            room = self._rooms[name] = Room(name, self._history)
        return room

    def waiter_count(self, name: str | None = None) -> int:
        """Long polls waiting now, in one room or in all of them."""
        rooms = [self._rooms[name]] if name is not None else list(self._rooms.values())
        return sum(room.waiters for room in rooms)

    @asynccontextmanager
    async def connect(self, listener: StoreListener) -> AsyncIterator[None]:
        """Nothing to open: the rooms are here (the `Chat` broadcasts its own posts)."""
        yield

    async def rooms(self) -> list[str]:
        """The names of the rooms, the lobby first, then alphabetically."""
        return sorted(self._rooms, key=lambda name: (name != "lobby", name))

    async def open_room(self, room: str) -> None:
        """Makes ``room`` if it does not exist.

        Raises:
            ValueError: the name is not a valid room name.
            RoomFullError: there are `MAX_ROOMS` rooms already.
        """
        self.room(room)

    async def add_message(self, room: str, message: dict[str, Any]) -> dict[str, Any]:
        """Appends ``message`` to ``room`` (setting its ``id`` and ``room``) and wakes waiters.

        Returns:
            The stored message.
        """
        r = self.room(room)
        r.last_id += 1
        stored = {**message, "id": r.last_id, "room": room}
        r.messages.append(stored)
        r.notify()
        return stored

    async def messages_since(self, room: str, cursor: int) -> list[dict[str, Any]]:
        """The kept messages of ``room`` after ``cursor``."""
        return self.room(room).since(cursor)

    def _snapshot(self, r: Room, cursor: int, epoch: str | None) -> Updates:
        stale = epoch is not None and epoch != self.epoch
        return Updates(
            messages=r.since(0 if stale else cursor),
            cursor=r.last_id,
            presence=r.presence(),
            presence_version=r.presence_version,
            reset=stale or cursor > r.last_id,
            epoch=self.epoch,
        )

    async def updates(
        self,
        room: str,
        cursor: int,
        presence_version: int = -1,
        *,
        timeout: float = 0,
        epoch: str | None = None,
    ) -> Updates:
        """Messages after ``cursor`` and presence; waits up to ``timeout`` s if nothing is new.

        A client whose ``epoch`` is not this store's (it saw a server before a restart) gets
        the whole history with ``reset=True`` at once; None means the client has no epoch
        yet, and only its cursor counts.

        The wait is one cancel scope: it ends with an empty answer when ``timeout`` passes,
        and if the caller is cancelled (its client went away) the waiter count goes back
        down on the way out.

        Returns:
            The updates (no messages and the same presence version when nothing happened).
        """
        r = self.room(room)
        deadline = self._clock() + timeout
        r.waiters += 1
        try:
            while True:
                next_expiry = r.expire(self._clock())
                news = self._snapshot(r, cursor, epoch)
                if news.messages or news.reset or news.presence_version != presence_version:
                    return news
                if self._clock() >= deadline:
                    return news
                wake_at = deadline if next_expiry is None else min(deadline, next_expiry)
                with trio.move_on_at(wake_at):
                    await r.changed.wait()
        finally:
            r.waiters -= 1

    async def presence(self, room: str) -> tuple[list[str], int]:
        """Who is in ``room`` (sorted) and the presence version, after dropping expired users."""
        r = self.room(room)
        r.expire(self._clock())
        return r.presence(), r.presence_version

    async def join(self, room: str, user: str) -> None:
        """Counts a connection of ``user`` in ``room``; a newcomer changes the presence."""
        r = self.room(room)
        lingering = r.lingering.pop(user, None) is not None
        count = r.connections.get(user, 0)
        r.connections[user] = count + 1
        if count == 0 and not lingering:
            r.presence_version += 1
            r.notify()

    async def leave(self, room: str, user: str, *, linger: float = 0) -> None:
        """Counts a connection less; the user's last one makes them leave (after ``linger``)."""
        r = self.room(room)
        count = r.connections.get(user, 0) - 1
        if count > 0:
            r.connections[user] = count
            return
        r.connections.pop(user, None)
        if linger > 0:
            r.lingering[user] = self._clock() + linger
        else:
            r.presence_version += 1
            r.notify()
