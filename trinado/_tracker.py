"""The server-side bookkeeping every connection reports to.

It counts open connections, knows whether the server is draining, and notices requests
that run long so that a disconnect watcher is started for them (and only for them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ._http1 import HTTP1Connection

__all__ = ["ConnectionTracker"]


class ConnectionTracker:
    """The connection's link to its server; :class:`~trinado.httpserver.HTTPServer` subclasses it.

    It counts connections, notices requests that run long (so that a disconnect watcher can
    be started for them) and knows whether the server is draining.
    """

    def __init__(self) -> None:
        self.connections: set[HTTP1Connection] = set()
        self.draining = False
        #: Set when the server starts shutting down; long-lived connections that left HTTP
        #: behind (WebSockets) wait on it to close themselves in time.
        self.shutdown_started = trio.Event()
        # Requests in flight, oldest first, with the tick they started in. Ticks (counted by
        # watch_long_requests) stand in for clock readings, which cost more per request.
        self._in_flight: dict[HTTP1Connection, int] = {}
        self._tick = 0
        self._wake: trio.Event | None = None

    def request_started(self, conn: HTTP1Connection) -> None:
        """Note that ``conn`` began serving a request."""
        self._in_flight[conn] = self._tick
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    def request_done(self, conn: HTTP1Connection) -> None:
        """Note that ``conn`` finished its request (or never needs a watcher for it)."""
        self._in_flight.pop(conn, None)

    async def watch_long_requests(self, watch_after: float) -> None:
        """Start a disconnect watcher for every request running longer than ``watch_after``.

        Runs until cancelled, waking every ``watch_after`` seconds while requests are in
        flight. A request seen at two consecutive wake-ups has run for at least
        ``watch_after``; one answered sooner never costs a second task, which keeps the
        watcher off the hot path.
        """
        while True:
            if not self._in_flight:
                self._wake = trio.Event()
                await self._wake.wait()
            await trio.sleep(watch_after)
            self._tick += 1
            cutoff = self._tick - 2
            due = []
            for conn, started in self._in_flight.items():
                if started > cutoff:
                    break
                due.append(conn)
            for conn in due:
                del self._in_flight[conn]
                if not conn._start_watcher():
                    # Still reading its body: look again later.
                    self._in_flight[conn] = self._tick
