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
        # Requests in flight, oldest first, with their start times (trio clock).
        self._in_flight: dict[HTTP1Connection, float] = {}
        self._wake: trio.Event | None = None

    def request_started(self, conn: HTTP1Connection, now: float) -> None:
        """Note that ``conn`` began serving a request at trio time ``now``."""
        self._in_flight[conn] = now
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    def request_done(self, conn: HTTP1Connection) -> None:
        """Note that ``conn`` finished its request (or never needs a watcher for it)."""
        self._in_flight.pop(conn, None)

    async def watch_long_requests(self, watch_after: float) -> None:
        """Start a disconnect watcher for every request running longer than ``watch_after``.

        Runs until cancelled. This is what keeps the watcher off the hot path: a request
        that is answered within ``watch_after`` never costs a second task.
        """
        while True:
            if not self._in_flight:
                self._wake = trio.Event()
                await self._wake.wait()
            await trio.sleep(watch_after)
            cutoff = trio.current_time() - watch_after
            due = []
            for conn, started in self._in_flight.items():
                if started > cutoff:
                    break
                due.append(conn)
            for conn in due:
                del self._in_flight[conn]
                if not conn._start_watcher():
                    # Still reading its body: look again later.
                    self._in_flight[conn] = trio.current_time()
