"""Reading and writing a WebSocket's stream; a plain socket goes through its descriptor."""

from __future__ import annotations

import os

import trio

__all__ = ["FAIR_EVERY", "Transport"]

_READ_SIZE = 65536
#: Reads and writes that complete without waiting do not yield to Trio; every this many of
#: them in a row, a checkpoint lets other tasks run (and a cancellation land).
FAIR_EVERY = 16
#: How many times a read that found nothing yields and tries again before sleeping in epoll.
SPIN_BEFORE_WAIT = 3


class Transport:
    """Reads and writes a stream; a plain socket goes through its descriptor directly.

    On a non-blocking socket, ``os.read``/``os.write`` are tried first and Trio's waits are
    used only when they would block (Trio's stream methods yield on every call).
    """

    __slots__ = ("_fd", "closed", "fair", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._fd = (
            stream.socket.fileno()
            if type(stream) is trio.SocketStream and os.name == "posix"
            else -1
        )
        self.fair = 0
        self.closed = False

    async def receive(self) -> bytes:
        """Return what the peer sent; ``b""`` when it is gone (EOF, reset, closed here)."""
        fd = self._fd
        try:
            if fd < 0:
                return bytes(await self.stream.receive_some(_READ_SIZE))
            spins = 0
            while True:
                if self.closed:  # (the descriptor number may belong to another socket now)
                    return b""
                try:
                    data = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    data = None
                if data is None:
                    # (Waiting outside the except block: a pending exception would stay
                    # alive, with its traceback, for as long as the socket is idle.)
                    self.fair = 0
                    if spins < SPIN_BEFORE_WAIT:
                        # A peer in a conversation usually answers within microseconds:
                        # letting the scheduler run a few times and reading again avoids
                        # sleeping in epoll and being woken (which costs far more).
                        spins += 1
                        await trio.lowlevel.checkpoint()
                        continue
                    await trio.lowlevel.wait_readable(fd)
                    continue
                self.fair += 1
                if self.fair >= FAIR_EVERY:
                    self.fair = 0
                    await trio.lowlevel.checkpoint()
                return data
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return b""

    def send_nowait(self, data: bytes | memoryview) -> int:
        """Write what the socket takes now; 0 when it takes nothing or this is no socket."""
        if self._fd < 0 or self.closed:
            return 0
        try:
            return os.write(self._fd, data)
        except OSError:  # (a broken socket shows itself to the next reader or writer)
            return 0

    async def send_all(self, data: bytes | memoryview) -> None:
        """Send all of ``data``.

        Raises:
            trio.BrokenResourceError: the peer is gone.
            trio.ClosedResourceError: the stream was closed here.
        """
        fd = self._fd
        if fd < 0:
            await self.stream.send_all(data)
            return
        view = memoryview(data)
        while view:
            if self.closed:
                raise trio.ClosedResourceError("the WebSocket was aborted")
            try:
                sent = os.write(fd, view)
            except BlockingIOError:
                sent = -1
            except OSError as exc:
                raise trio.BrokenResourceError(str(exc)) from exc
            if sent < 0:
                self.fair = 0
                await trio.lowlevel.wait_writable(fd)
                continue
            view = view[sent:]
        self.fair += 1
        if self.fair >= FAIR_EVERY:
            self.fair = 0
            await trio.lowlevel.checkpoint()
