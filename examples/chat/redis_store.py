"""A `ChatStore` in Redis, so that several processes serve the same rooms.

Install the extra (``pip install 'trinado[redis]'``, which brings coredis, a Redis client that
runs on anyio and so under Trio), then ``python -m examples.chat --store redis://127.0.0.1/0``.

What lives in Redis (``chat:`` is the default prefix):

==============================  ==========================================================
``chat:rooms``                  set: the room names (at most `MAX_ROOMS`)
``chat:room:<name>:meta``       hash: ``seq``, the room's last message id; ``pv``, its
                                presence version
``chat:room:<name>:log``        stream: the room's last `HISTORY` messages; the entry for
                                message *n* has the stream id ``n-0``
``chat:room:<name>:here``       sorted set: who is here; ``<process>:<user>`` while that
                                process holds a connection of the user, ``*:<user>`` while
                                the user lingers; the score is when the entry expires (ms,
                                Redis clock)
``chat:events``                 stream: every new message and change of presence, all rooms,
                                in one order (capped, about ``events_kept`` entries)
``chat:epoch``                  string: made when the data set is new; a change means Redis
                                lost its data (a restart without persistence)
==============================  ==========================================================

Every change is one Lua script, so that a room's ids, its log and the events stream always
agree. Each process runs one *relay* task: a blocking ``XREAD`` on the events stream from
the last entry it delivered. It wakes this process's long polls and sends each message and
change of presence to this process's WebSockets, its own posts included, so that every
socket sees one order. When Redis goes away, calls fail within ``timeout`` with
`StoreUnavailableError` (logged once, and once more when Redis is back), the relay retries
with a capped back-off and resumes where it stopped; if Redis came back empty, each room's
WebSockets get the new history with ``reset``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import trio

from .store import (
    HISTORY,
    MAX_ROOMS,
    RoomFullError,
    StoreListener,
    StoreUnavailableError,
    Updates,
    valid_room_name,
)

try:
    import coredis
    from coredis.commands.script import Script
    from coredis.exceptions import RedisError
    from coredis.retry import NoRetryPolicy
except ImportError as exc:  # pragma: no cover (the extra is not installed)
    raise ImportError("the Redis chat store needs coredis: pip install 'trinado[redis]'") from exc

__all__ = ["RedisStore"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_RETRY_FIRST = 0.1  # seconds before the relay's first retry; doubled up to retry_max
_BATCH = 200  # events read at once

# ---- Lua: every script gets KEYS = here, meta, events, epoch, log, rooms (see _keys) and
# ARGV[1] = room, ARGV[2] = events kept; then its own arguments.
_PRELUDE = r"""
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function epoch()
  local e = redis.call('GET', KEYS[4])
  if not e then
    local t = redis.call('TIME')
    e = t[1] .. '.' .. t[2]
    redis.call('SET', KEYS[4], e)
  end
  return e
end

-- The users here (sorted, each once) and the earliest end of a linger (or false).
local function who()
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local seen, users, next_linger = {}, {}, false
  for i = 1, #entries, 2 do
    local member = entries[i]
    local cut = string.find(member, ':', 1, true)
    local user = string.sub(member, cut + 1)
    if not seen[user] then
      seen[user] = true
      users[#users + 1] = user
    end
    if cut == 2 and string.byte(member, 1) == 42 then -- '*': lingering
      local score = tonumber(entries[i + 1])
      if not next_linger or score < next_linger then next_linger = score end
    end
  end
  table.sort(users)
  return users, next_linger
end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- Drops expired entries, runs change(), and when that changed who is here, bumps the
-- presence version and tells every process through the events stream.
local function presence(now, change)
  local before = who()
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if change then change() end
  local after, next_linger = who()
  local pv = tonumber(redis.call('HGET', KEYS[2], 'pv') or '0')
  if not same(before, after) then
    pv = redis.call('HINCRBY', KEYS[2], 'pv', 1)
    local users = '[]'
    if #after > 0 then users = cjson.encode(after) end
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
      'e', epoch(), 'room', ARGV[1], 'pv', pv, 'users', users)
  end
  local wait = -1
  if next_linger then wait = next_linger - now end
  return after, pv, wait
end
"""

# ARGV[3] = max rooms. Returns 1, or 0 when the room would be one too many.
_OPEN = r"""
if redis.call('SISMEMBER', KEYS[6], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[6]) >= tonumber(ARGV[3]) then return 0 end
redis.call('SADD', KEYS[6], ARGV[1])
return 1
"""

# ARGV[3] = the message (JSON), ARGV[4] = history, ARGV[5] = max rooms. Returns the new
# message's id, or -1 when the room would be one too many.
_ADD = r"""
if redis.call('SISMEMBER', KEYS[6], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[6]) >= tonumber(ARGV[5]) then return -1 end
  redis.call('SADD', KEYS[6], ARGV[1])
end
local n = redis.call('HINCRBY', KEYS[2], 'seq', 1)
redis.call('XADD', KEYS[5], 'MAXLEN', ARGV[4], n .. '-0', 'm', ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
  'e', epoch(), 'room', ARGV[1], 'id', n, 'm', ARGV[3])
return n
"""

# ARGV[3] = cursor, ARGV[4] = '1' to read the messages after it. Returns epoch, last id,
# presence version, users, ms until the next linger ends (-1: none), log entries.
_SNAPSHOT = r"""
local users, pv, wait = presence(now_ms(), nil)
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local cursor = tonumber(ARGV[3])
local entries = {}
if ARGV[4] == '1' and cursor ~= seq then
  local start = '-'
  if cursor < seq then start = math.max(cursor + 1, 1) .. '-0' end
  entries = redis.call('XRANGE', KEYS[5], start, '+')
end
return {epoch(), seq, pv, users, wait, entries}
"""

# ARGV[3] = 'join' or 'leave', ARGV[4] = this process's token, ARGV[5] = ms (how long a
# join lasts unless refreshed; how long a leaving user lingers), ARGV[6...] = users.
_PRESENCE = r"""
local now = now_ms()
local op, proc, ms = ARGV[3], ARGV[4], tonumber(ARGV[5])
local _, pv = presence(now, function()
  for i = 6, #ARGV do
    local user = ARGV[i]
    if op == 'join' then
      redis.call('ZREM', KEYS[1], '*:' .. user)
      redis.call('ZADD', KEYS[1], now + ms, proc .. ':' .. user)
    else
      redis.call('ZREM', KEYS[1], proc .. ':' .. user)
      if ms > 0 then redis.call('ZADD', KEYS[1], now + ms, '*:' .. user) end
    end
  end
end)
return pv
"""

# No room: returns the epoch and the events stream's last id.
_TAIL = r"""
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {epoch(), id}
"""


@dataclass
class _Snapshot:
    epoch: str
    updates: Updates
    linger_wait: float | None  # seconds until a lingering user's time is up


@dataclass
class _SharedLook:
    """One look at Redis that every long poll woken by the same event can share."""

    wake: trio.Event  # the room's wake-up event when the look began
    done: trio.Event = field(default_factory=trio.Event)
    result: _Snapshot | None = None  # None when the look failed or was cancelled
    unavailable: bool = False  # Redis did not answer it: the others need not ask again


@dataclass
class _RelayState:
    epoch: str | None = None
    last: str = "0-0"  # the last event delivered
    delivered: dict[str, int] = field(default_factory=dict)  # room -> last message id sent


def _public_url(url: str) -> str:
    """The URL without its password, for the log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisStore:
    """A `ChatStore` in Redis, shared by every process that uses the same server and prefix.

    Use it inside ``async with store.connect(listener):`` (the `Chat` does, in its
    ``running()``, which the application's lifespan enters).

    Args:
        url: the server, as ``redis://[:password@]host[:port]/db`` (or ``rediss://``,
            ``unix://``).
        prefix: put before every key, so that several chats can share a server.
        history: how many messages each room keeps.
        max_rooms: how many rooms there may be.
        timeout: seconds each call to Redis may take before `StoreUnavailableError`.
        presence_ttl: seconds a process's presence entries last unless it refreshes them
            (it does every third of that); the entries of a process that died go then.
        block: seconds the relay's ``XREAD`` blocks at a time.
        retry_max: the relay's longest pause between two attempts while Redis is away.
        events_kept: about how many entries the events stream keeps (a relay that falls
            further behind fetches the room's log instead).

    Raises:
        ValueError: a bad argument.
    """

    relays = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "chat:",
        history: int = HISTORY,
        max_rooms: int = MAX_ROOMS,
        timeout: float = 2.0,
        presence_ttl: float = 60.0,
        block: float = 5.0,
        retry_max: float = 3.0,
        events_kept: int = 10_000,
    ) -> None:
        if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL: {_public_url(url)!r}")
        if history < 1 or max_rooms < 1 or events_kept < 1:
            raise ValueError("history, max_rooms and events_kept must be at least 1")
        if min(timeout, presence_ttl, block, retry_max) <= 0:
            raise ValueError("timeout, presence_ttl, block and retry_max must be positive")
        self.url = url
        self.prefix = prefix
        self._history = history
        self._max_rooms = max_rooms
        self._timeout = timeout
        self._ttl = presence_ttl
        self._block = block
        self._retry_max = retry_max
        self._events_kept = events_kept
        self._token = secrets.token_hex(8)  # this process, in presence entries
        self._client: coredis.Redis[str] | None = None
        self._scripts: dict[str, Script[str]] = {}
        self._local: dict[str, dict[str, int]] = {}  # room -> user -> connections here
        self._stale: set[tuple[str, str]] = set()  # leaves Redis has not heard of yet
        self._waiters: dict[str, int] = {}  # room -> long polls waiting here
        self._changed: dict[str, trio.Event] = {}  # room -> set by the relay on news
        self._looks: dict[tuple[str, int], _SharedLook] = {}  # (room, cursor) -> in flight
        self._down = False

    # ---- connection and health

    @asynccontextmanager
    async def connect(self, listener: StoreListener) -> AsyncIterator[None]:
        """Connects to Redis and runs the relay to ``listener`` (and the presence refresh).

        Redis need not be up yet: calls fail with `StoreUnavailableError` until it is, and
        the relay keeps trying.

        Raises:
            RuntimeError: the store is connected already.
        """
        if self._client is not None:
            raise RuntimeError("this RedisStore is connected already")
        client: coredis.Redis[str] = coredis.Redis.from_url(
            self.url,
            decode_responses=True,
            connect_timeout=self._timeout,
            retry_policy=NoRetryPolicy(),
        )
        failure: Exception | None = None
        async with client:
            self._client = client
            sources = {"open": _OPEN, "add": _ADD, "snapshot": _SNAPSHOT}
            sources |= {"presence": _PRESENCE, "tail": _TAIL}
            self._scripts = {
                name: client.register_script(_PRELUDE + s) for name, s in sources.items()
            }
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(self._relay, listener)
                    nursery.start_soon(self._heartbeat)
                    try:
                        yield
                    except Exception as exc:
                        # Raised again below, out of the nurseries, so that it is not
                        # wrapped in exception groups (a port in use stays an OSError).
                        failure = exc
                    finally:
                        nursery.cancel_scope.cancel()
            finally:
                self._client = None
        if failure is not None:
            raise failure

    async def _call(self, call: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Runs one Redis call under a deadline; failures become `StoreUnavailableError`.

        Any error from Redis counts, not only a lost connection: a replica that turned
        read-only after a fail-over, a full memory, a refused password leave the chat just as
        unable to work, and must not end the process (they are logged once, with the reason).
        """
        if self._client is None:
            raise RuntimeError("the RedisStore is not connected: use `async with store.connect()`")
        try:
            with trio.fail_after(self._timeout if timeout is None else timeout):
                result = await call()
        except (trio.TooSlowError, OSError, RedisError) as exc:
            if not self._down:
                self._down = True
                reason = str(exc) or type(exc).__name__
                log.warning(
                    "chat store: Redis at %s unavailable (%s)", _public_url(self.url), reason
                )
            raise StoreUnavailableError() from exc
        if self._down:
            self._down = False
            log.warning("chat store: Redis at %s is back", _public_url(self.url))
        return result

    async def _script(self, name: str, room: str, *args: str | int) -> Any:
        p = self.prefix
        r = f"{p}room:{room}:"
        keys = [r + "here", r + "meta", p + "events", p + "epoch", r + "log", p + "rooms"]
        argv = [room, self._events_kept, *args]
        script = self._scripts[name]
        return await self._call(lambda: script(keys=keys, args=argv))

    @property
    def available(self) -> bool:
        """False from a failed call to Redis until the next call that works."""
        return not self._down

    # ---- rooms and messages

    @staticmethod
    def _check(room: str) -> None:
        if not valid_room_name(room):
            raise ValueError(f"invalid room name {room!r}")

    async def rooms(self) -> list[str]:
        """The names of the rooms, the lobby first, then alphabetically.

        Raises:
            StoreUnavailableError: Redis did not answer.
        """
        client = self._client
        if client is None:
            raise RuntimeError("the RedisStore is not connected")
        names = await self._call(lambda: client.smembers(self.prefix + "rooms"))
        return sorted(set(names) | {"lobby"}, key=lambda name: (name != "lobby", name))

    async def open_room(self, room: str) -> None:
        """Makes ``room`` if it does not exist.

        Raises:
            ValueError: the name is not a valid room name.
            RoomFullError: there are ``max_rooms`` rooms already.
            StoreUnavailableError: Redis did not answer.
        """
        self._check(room)
        if not await self._script("open", room, self._max_rooms):
            raise RoomFullError(room)

    async def add_message(self, room: str, message: dict[str, Any]) -> dict[str, Any]:
        """Appends ``message`` to ``room`` (setting its ``id`` and ``room``).

        Every process's relay then sends it to its WebSockets and wakes its long polls.

        Returns:
            The stored message.

        Raises:
            ValueError: the name is not a valid room name.
            RoomFullError: the room is new and there are ``max_rooms`` rooms already.
            StoreUnavailableError: Redis did not answer (the message may or may not be kept).
        """
        self._check(room)
        body = json.dumps(message, separators=(",", ":"))
        n = int(await self._script("add", room, body, self._history, self._max_rooms))
        if n < 0:
            raise RoomFullError(room)
        return {**message, "id": n, "room": room}

    async def _snapshot(self, room: str, cursor: int, messages: bool = True) -> _Snapshot:
        reply = await self._script("snapshot", room, cursor, "1" if messages else "0")
        epoch, seq, version, users, wait, entries = reply
        kept = [
            {**json.loads(_fields(values)["m"]), "id": int(ident.split("-")[0]), "room": room}
            for ident, values in entries
        ]
        updates = Updates(
            messages=kept,
            cursor=int(seq),
            presence=[str(user) for user in users],
            presence_version=int(version),
            reset=cursor > int(seq),
            epoch=str(epoch),
        )
        return _Snapshot(str(epoch), updates, None if int(wait) < 0 else int(wait) / 1000)

    async def messages_since(self, room: str, cursor: int) -> list[dict[str, Any]]:
        """The kept messages of ``room`` after ``cursor`` (all of them for a cursor ahead).

        Raises:
            StoreUnavailableError: Redis did not answer.
        """
        self._check(room)
        return (await self._snapshot(room, cursor)).updates.messages

    def waiter_count(self, name: str | None = None) -> int:
        """Long polls waiting in this process now, in one room or in all of them."""
        return self._waiters.get(name, 0) if name is not None else sum(self._waiters.values())

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

        The wait is on an event that this process's relay sets on news in the room (taken
        before each look at Redis, so that news in between is not missed); a cancelled
        caller leaves nothing behind. A client whose ``epoch`` is not the one in Redis (it
        saw the rooms before Redis lost its data) gets the whole history with ``reset=True``
        at once; None means the client has no epoch yet, and only its cursor counts.

        Returns:
            The updates (no messages and the same presence version when nothing happened).

        Raises:
            StoreUnavailableError: Redis did not answer.
        """
        self._check(room)
        deadline = trio.current_time() + timeout
        self._waiters[room] = self._waiters.get(room, 0) + 1
        try:
            while True:
                changed = self._changed.setdefault(room, trio.Event())
                snap = await self._look(room, cursor, changed)
                if epoch is not None and snap.epoch != epoch:
                    snap = await self._look(room, 0, changed)  # numbering started over
                    return dataclasses.replace(
                        snap.updates, messages=list(snap.updates.messages), reset=True
                    )
                news = dataclasses.replace(snap.updates, messages=list(snap.updates.messages))
                if news.messages or news.reset or news.presence_version != presence_version:
                    return news
                now = trio.current_time()
                if now >= deadline:
                    return news
                wake_at = deadline
                if snap.linger_wait is not None:
                    wake_at = min(deadline, now + snap.linger_wait + 0.002)
                with trio.move_on_at(wake_at):
                    await changed.wait()
        finally:
            count = self._waiters[room] - 1
            if count:
                self._waiters[room] = count
            else:
                del self._waiters[room]
                self._changed.pop(room, None)

    async def _look(self, room: str, cursor: int, wake: trio.Event) -> _Snapshot:
        """A snapshot for a long poll, shared by the polls at the same cursor in the room.

        A message wakes every poll of the room at once; each asking Redis on its own would
        cost one round trip per waiting client. A poll joins a look already in flight only
        if that look began under the same wake-up event as the poll's own: the look then
        began after anything the poll could have missed, and news arriving during it sets
        that event, so the poll looks again.
        """
        key = (room, cursor)
        shared = self._looks.get(key)
        if shared is not None and shared.wake is wake:
            await shared.done.wait()
            if shared.result is not None:
                return shared.result
            if shared.unavailable:
                raise StoreUnavailableError()
            # The poll that looked was cancelled (its client left): look for ourselves.
        shared = _SharedLook(wake)
        self._looks[key] = shared
        try:
            shared.result = await self._snapshot(room, cursor)
            return shared.result
        except StoreUnavailableError:
            shared.unavailable = True
            raise
        finally:
            if self._looks.get(key) is shared:
                del self._looks[key]
            shared.done.set()

    def _wake(self, room: str) -> None:
        event = self._changed.pop(room, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        for room in list(self._changed):
            self._wake(room)

    # ---- presence

    async def presence(self, room: str) -> tuple[list[str], int]:
        """Who is in ``room`` (sorted) and the presence version, after dropping expired users.

        Raises:
            StoreUnavailableError: Redis did not answer.
        """
        self._check(room)
        news = (await self._snapshot(room, 0, messages=False)).updates
        return news.presence, news.presence_version

    async def join(self, room: str, user: str) -> None:
        """Counts a connection of ``user`` in ``room``; the first one here tells Redis.

        Raises:
            StoreUnavailableError: Redis did not answer (the connection is not counted).
        """
        self._check(room)
        users = self._local.setdefault(room, {})
        count = users.get(user, 0)
        users[user] = count + 1
        if count:
            return
        self._stale.discard((room, user))
        try:
            await self._script("presence", room, "join", self._token, int(self._ttl * 1000), user)
        except BaseException:
            if not self._forget(room, user):
                self._stale.add((room, user))  # (in case Redis got it after all)
            raise

    def _forget(self, room: str, user: str) -> int:
        """One connection less here; returns how many are left."""
        users = self._local.get(room, {})
        count = users.get(user, 0) - 1
        if count > 0:
            users[user] = count
            return count
        users.pop(user, None)
        if not users:
            self._local.pop(room, None)
        return 0

    async def leave(self, room: str, user: str, *, linger: float = 0) -> None:
        """Counts a connection less; the user's last one here leaves (after ``linger``).

        Raises:
            StoreUnavailableError: Redis did not answer (the leave is written later).
        """
        self._check(room)
        if self._forget(room, user):
            return
        try:
            await self._script("presence", room, "leave", self._token, int(linger * 1000), user)
        except BaseException:
            self._stale.add((room, user))
            raise

    async def _refresh(self) -> None:
        """Writes this process's presence again (its entries expire) and the leaves owed."""
        ms = int(self._ttl * 1000)
        for room, users in list(self._local.items()):
            if users:
                await self._script("presence", room, "join", self._token, ms, *users)
        for room, user in list(self._stale):
            if not self._local.get(room, {}).get(user):
                await self._script("presence", room, "leave", self._token, 0, user)
            self._stale.discard((room, user))

    async def _heartbeat(self) -> None:
        while True:
            await trio.sleep(self._ttl / 3)
            with contextlib.suppress(StoreUnavailableError):  # (logged; the relay retries)
                await self._refresh()

    # ---- the relay

    async def _relay(
        self,
        listener: StoreListener,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Sends the events stream to ``listener`` in order, for as long as the store is open.

        Started once the first look at Redis is done (whether it worked or not), so that
        nothing posted after the server starts is missed.
        """
        state = _RelayState()
        started = False
        told_down = False
        check = True  # look at the epoch and tail first (at start, after each failure)
        delay = _RETRY_FIRST
        while True:
            try:
                if check:
                    epoch, tail = await self._tail()
                    if told_down:
                        told_down = False
                        await _tell(listener.store_status(None))
                    await self._refresh()  # (expired meanwhile, or lost with the data)
                    await self._resume(listener, state, epoch, tail, first=not started)
                    check = False
                    if not started:
                        started = True
                        task_status.started()
                await self._read(listener, state)
                delay = _RETRY_FIRST
            except StoreUnavailableError as exc:
                if not started:
                    started = True
                    task_status.started()
                check = True
                if not told_down:
                    told_down = True
                    self._wake_all()  # (their next look at Redis fails: they answer at once)
                    await _tell(listener.store_status(str(exc)))
                await trio.sleep(delay)
                delay = min(delay * 2, self._retry_max)

    async def _tail(self) -> tuple[str, str]:
        """Loads the scripts (a restarted Redis has forgotten them); the epoch and last event."""
        client = self._client
        if client is None:
            raise RuntimeError("the RedisStore is not connected")
        for script in self._scripts.values():
            await self._call(functools.partial(client.script_load, script.script))
        epoch, tail = await self._script("tail", "")
        return str(epoch), str(tail)

    async def _resume(
        self, listener: StoreListener, state: _RelayState, epoch: str, tail: str, *, first: bool
    ) -> None:
        """Where to read from, after the first look at Redis or after it was away."""
        if state.epoch is None:
            state.epoch, state.last = epoch, tail
            if not first:
                # Redis was away when this process started; pages may have got history
                # since (between two retries): send each room's, the page keeps one copy.
                for room in list(listener.local_rooms()):
                    news = (await self._snapshot(room, 0)).updates
                    state.delivered[room] = news.cursor
                    if news.messages:
                        await _tell(listener.deliver(room, _messages(news.messages)))
        elif epoch != state.epoch:
            await self._reset(listener, state, epoch)

    async def _reset(self, listener: StoreListener, state: _RelayState, epoch: str) -> None:
        """Redis lost its data: every room starts again; pages get the new history."""
        log.warning(
            "chat store: Redis at %s lost its data; rooms start over", _public_url(self.url)
        )
        state.epoch, state.last = epoch, "0-0"
        state.delivered.clear()
        self._wake_all()
        for room in list(listener.local_rooms()):
            news = (await self._snapshot(room, 0)).updates
            news.reset = True
            state.delivered[room] = news.cursor
            await _tell(listener.deliver(room, news.to_json()))

    async def _read(self, listener: StoreListener, state: _RelayState) -> None:
        client = self._client
        if client is None:
            raise RuntimeError("the RedisStore is not connected")
        key = self.prefix + "events"
        block = int(self._block * 1000)
        reply = await self._call(
            lambda: client.xread({key: state.last}, count=_BATCH, block=block),
            timeout=self._block + self._timeout,
        )
        for entry in (reply or {}).get(key, ()):
            fields = {str(k): str(v) for k, v in entry.field_values.items()}
            if fields.get("e") != state.epoch:  # emptied and refilled between two reads
                await self._reset(listener, state, str(fields.get("e")))
                return
            await self._dispatch(listener, state, fields)
            state.last = str(entry.identifier)

    async def _dispatch(
        self, listener: StoreListener, state: _RelayState, fields: dict[str, str]
    ) -> None:
        room = fields["room"]
        self._wake(room)
        if "id" not in fields:
            users = json.loads(fields["users"])
            update = {"presence": users, "presence_version": int(fields["pv"])}
            await _tell(listener.deliver(room, update))
            return
        n = int(fields["id"])
        seen = state.delivered.get(room)
        if seen is not None and n <= seen:
            return  # (sent already, with a reset or a catch-up)
        if seen is not None and n > seen + 1:  # the events stream was trimmed past us
            messages = [m for m in await self.messages_since(room, seen) if m["id"] <= n]
        else:
            messages = [{**json.loads(fields["m"]), "id": n, "room": room}]
        state.delivered[room] = n
        await _tell(listener.deliver(room, _messages(messages)))


def _fields(values: Iterable[str]) -> dict[str, str]:
    items = list(values)
    return dict(zip(items[::2], items[1::2], strict=True))


def _messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
    update: dict[str, Any] = {"messages": messages}
    if messages:
        update["cursor"] = messages[-1]["id"]
    return update


async def _tell(call: Awaitable[None]) -> None:
    """Awaits a listener's method; its failure is logged, and the relay goes on."""
    try:
        await call
    except Exception:
        log.exception("chat store: the listener failed")
