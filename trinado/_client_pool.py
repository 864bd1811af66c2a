"""The HTTP client's connection pool: keep-alive per origin, bounded, with idle expiry.

Connections are keyed by what makes them interchangeable: scheme, host, port, TLS settings
and local address. The pool bounds the connections open (or opening) in all and per key;
a request that finds no room waits for one, and may close an idle connection to another key
to make it. Idle connections close after ``idle_timeout`` seconds; the task that closes them
(:meth:`ConnectionPool.expire_idle`) runs in the client's nursery.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Awaitable, Callable, Hashable

import trio

from ._client_conn import ClientConnection, timeout_at

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """Keeps idle keep-alive connections and bounds how many are open.

    Args:
        max_connections: connections open or being opened, in all.
        max_connections_per_host: the same, per pool key.
        idle_timeout: seconds an idle connection is kept; None keeps it until the pool
            closes.

    Raises:
        ValueError: a bound is below 1, or ``idle_timeout`` is negative.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        max_connections_per_host: int,
        idle_timeout: float | None,
    ) -> None:
        if max_connections < 1 or max_connections_per_host < 1:
            raise ValueError("max_connections and max_connections_per_host must be at least 1")
        if idle_timeout is not None and idle_timeout < 0:
            raise ValueError("idle_timeout must not be negative")
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self.idle_timeout = math.inf if idle_timeout is None else idle_timeout
        self.closed = False
        self.opened = 0
        """How many connections the pool has opened in its life (for statistics and tests)."""
        # Idle connections per key, the most recently used last.
        self._idle: dict[Hashable, list[ClientConnection]] = {}
        self._open = 0
        self._open_per_key: collections.Counter[Hashable] = collections.Counter()
        self._room = trio.Event()  # set (and replaced) when a slot or idle connection frees
        self._idle_added = trio.Event()

    @property
    def open_connections(self) -> int:
        """Connections open or being opened, idle or in use."""
        return self._open

    @property
    def idle_connections(self) -> int:
        """Connections open and waiting in the pool."""
        return sum(len(conns) for conns in self._idle.values())

    def _wake(self) -> None:
        self._room.set()
        self._room = trio.Event()

    async def acquire(
        self,
        key: Hashable,
        connect: Callable[[], Awaitable[ClientConnection]],
        queue_deadline: float,
    ) -> tuple[ClientConnection, bool]:
        """Gives an idle connection for ``key``, or opens one when the bounds allow.

        Args:
            key: what the connection must serve.
            connect: opens a new connection (under its own deadline).
            queue_deadline: how long to wait for room, in :func:`trio.current_time` terms.

        Returns:
            The connection and whether it was reused.

        Raises:
            HTTPTimeoutError: no room before ``queue_deadline``.
            RuntimeError: the pool is closed.
        """
        with timeout_at(queue_deadline, "Timeout in request queue"):
            while True:
                if self.closed:
                    raise RuntimeError("The HTTP client is closed")
                conn = await self._take_idle(key)
                if conn is not None:
                    return conn, True
                if self._open_per_key[key] < self.max_connections_per_host:
                    if self._open < self.max_connections:
                        break
                    if await self._close_oldest_idle():
                        continue
                await self._room.wait()
        self._open += 1
        self._open_per_key[key] += 1
        try:
            conn = await connect()
        except BaseException:
            self._forget(key)
            raise
        self.opened += 1
        return conn, False

    async def _take_idle(self, key: Hashable) -> ClientConnection | None:
        conns = self._idle.get(key)
        while conns:
            conn = conns.pop()
            if not conns:
                del self._idle[key]
            if not conn.looks_dead():
                return conn
            await self._close(conn)
            conns = self._idle.get(key)
        return None

    async def _close_oldest_idle(self) -> bool:
        oldest: ClientConnection | None = None
        for conns in self._idle.values():
            if conns and (oldest is None or conns[0].idle_since < oldest.idle_since):
                oldest = conns[0]
        if oldest is None:
            return False
        self._remove_idle(oldest)
        await self._close(oldest)
        return True

    def _remove_idle(self, conn: ClientConnection) -> None:
        conns = self._idle[conn.key]
        conns.remove(conn)
        if not conns:
            del self._idle[conn.key]

    def _forget(self, key: Hashable) -> None:
        self._open -= 1
        self._open_per_key[key] -= 1
        if not self._open_per_key[key]:
            del self._open_per_key[key]
        self._wake()

    async def _close(self, conn: ClientConnection) -> None:
        self._forget(conn.key)
        await conn.aclose()

    async def release(self, conn: ClientConnection, reusable: bool) -> None:
        """Takes back a connection after a request: kept when reusable, closed otherwise.

        Args:
            conn: a connection :meth:`acquire` gave.
            reusable: whether the exchange ended cleanly with keep-alive.
        """
        if not reusable or self.closed or self.idle_timeout <= 0:
            await self._close(conn)
            return
        conn.idle_since = trio.current_time()
        conn.deadline = math.inf
        self._idle.setdefault(conn.key, []).append(conn)
        self._idle_added.set()
        self._idle_added = trio.Event()
        self._wake()

    async def expire_idle(self) -> None:
        """Closes idle connections as their time runs out; runs until cancelled."""
        while True:
            now = trio.current_time()
            expired: list[ClientConnection] = []
            next_expiry = math.inf
            for key, conns in list(self._idle.items()):
                keep = [conn for conn in conns if conn.idle_since + self.idle_timeout > now]
                expired.extend(conn for conn in conns if conn not in keep)
                if keep:
                    self._idle[key] = keep
                    next_expiry = min(next_expiry, keep[0].idle_since + self.idle_timeout)
                else:
                    del self._idle[key]
            await self._close_untracked(expired)
            with trio.move_on_at(next_expiry):
                await self._idle_added.wait()

    async def _close_untracked(self, conns: list[ClientConnection]) -> None:
        """Closes connections already taken out of the idle lists."""
        for conn in conns:
            self._forget(conn.key)
        # Closing is forceful and never waits; the shield lets every one finish even when
        # the caller is being cancelled (its deadline is only a safety net).
        with trio.CancelScope(shield=True, deadline=trio.current_time() + 5):
            for conn in conns:
                await conn.aclose()

    async def aclose(self) -> None:
        """Closes the idle connections; connections in use close when released."""
        self.closed = True
        idle = [conn for conns in self._idle.values() for conn in conns]
        self._idle.clear()
        await self._close_untracked(idle)
        self._wake()
