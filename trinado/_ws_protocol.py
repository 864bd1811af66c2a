"""The WebSocket engine shared by `WebSocketHandler` and the client: wsproto plus Trio I/O.

wsproto's low-level `~wsproto.connection.Connection` keeps the protocol state; this module
does the reading, the writing and the timing around it.

Invariants:

* One task reads at a time (`WebSocketProtocol.receive_message`); the socket is read only
  when a message is asked for, so a slow consumer slows its peer down (back-pressure).
  Pings are answered while reading.
* One writer at a time, and each write has a deadline (``write_timeout``). A write that
  fails or is interrupted part way leaves the stream unusable: the socket is aborted.
* A message is bounded by ``max_message_size``, counted after decompression (the inflater
  itself stops at the bound, so a small compressed frame cannot expand past it).
* The close handshake has a deadline (``close_timeout``); after it the socket is aborted.
"""

from __future__ import annotations

import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason

from ._ws_frames import parse_simple_client_frames, server_frame
from ._ws_transport import FAIR_EVERY, Transport
from .escape import json_encode
from .log import app_log, gen_log

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketParams",
    "WebSocketProtocol",
    "message_payload",
]

#: Tornado's default for ``websocket_max_message_size``.
DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024
_NO_STATUS = CloseReason.NO_STATUS_RCVD
_INF = float("inf")
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING


Callback = Callable[[bytes], "Awaitable[None] | None"]


class WebSocketError(Exception):
    """The base class of WebSocket errors."""


class WebSocketClosedError(WebSocketError):
    """Raised when writing to (or pinging) a WebSocket that is closed or closing."""


@dataclass(frozen=True)
class WebSocketParams:
    """Limits and timers of one WebSocket; timeouts in seconds, None for no deadline.

    Attributes:
        max_message_size: the largest message accepted (after decompression); larger ones
            close the connection with code 1009.
        ping_interval: send a ping this often; None or 0 for no pings.
        ping_timeout: close when no pong came this long after a ping; None means the
            interval, 0 means never. It cannot be longer than the interval.
        write_timeout: the longest one write may wait for the peer to take its data.
        close_timeout: how long the peer gets to answer our close frame.
    """

    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ping_interval: float | None = None
    ping_timeout: float | None = None
    write_timeout: float | None = 60.0
    close_timeout: float | None = 5.0

    @property
    def effective_ping_timeout(self) -> float:
        """The ping timeout in force: as Tornado, the interval by default and at most."""
        interval = self.ping_interval or 0.0
        timeout = self.ping_timeout
        if timeout is None or (interval and timeout > interval):
            return interval
        return timeout


def _wsproto_idle(ws: Connection) -> bool:
    """True when wsproto holds no partial frame or message (its parser can be skipped)."""
    proto = ws._proto
    decoder = proto._frame_decoder
    return decoder.header is None and not decoder.buffer and proto._message_decoder.opcode is None


def _has_wsproto_internals() -> bool:
    try:
        return _wsproto_idle(Connection(ConnectionType.SERVER))
    except AttributeError:  # (another wsproto: no fast path, everything still works)
        return False


_WSPROTO_INTERNALS = _has_wsproto_internals()


def message_payload(message: str | bytes | dict[str, Any], binary: bool) -> str | bytes:
    """The message as sent: str for a text frame, bytes for a binary one (Tornado's rules).

    A dict becomes JSON; with ``binary`` str is UTF-8 encoded, without it bytes must be
    UTF-8 text.

    Raises:
        UnicodeDecodeError: bytes for a text message that are not UTF-8.
    """
    if isinstance(message, dict):
        message = json_encode(message)
    if binary:
        return message.encode("utf-8") if isinstance(message, str) else bytes(message)
    return message if isinstance(message, str) else bytes(message).decode("utf-8")


def _timeout(value: float | None) -> float:
    return _INF if value is None else value


async def _call(callback: Callback | None, data: bytes) -> None:
    if callback is None:
        return
    try:
        result = callback(data)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        app_log.error("Exception in WebSocket ping/pong callback", exc_info=exc)


# ------------------------------------------------------------------------------- protocol


class WebSocketProtocol:
    """One open WebSocket: messages in and out, pings, the close handshake.

    A task owning the WebSocket calls `start` with a nursery (the server's handler, the
    client's ``async with``): pings then run there, and a close asked for with
    `request_close` is carried out there at once. Without `start` (the client's awaited
    form), `receive_message` sends the pings and `close_handshake` runs the close.

    Args:
        stream: the byte stream (after the opening handshake).
        params: limits and timers.
        client: True on the client side (frames are masked).
        extensions: the extensions agreed on in the handshake.
        trailing_data: the bytes read past the opening handshake.
        on_ping: called with the payload of each ping received (after the pong is sent).
        on_pong: called with the payload of each pong received.

    Attributes:
        close_code: the code of the peer's close frame (None if it sent none or no code).
        close_reason: the reason of the peer's close frame (None if empty or absent).
        compressed: True when outgoing messages are compressed (frames cannot be shared).
        params: as given.
        stream: as given.
        on_ping: as given.
        on_pong: as given.
    """

    # (Thousands of these stay open at once: slots keep each one small.)
    __slots__ = (
        "_close_args",
        "_closer_scope",
        "_closing",
        "_done",
        "_done_event",
        "_fast_in",
        "_fast_messages",
        "_fast_out",
        "_inline_ping_at",
        "_inline_pong_due",
        "_io",
        "_nursery",
        "_reading",
        "_received_pong",
        "_wait_scope",
        "_writers",
        "_writing",
        "_ws",
        "close_code",
        "close_reason",
        "compressed",
        "on_ping",
        "on_pong",
        "params",
        "stream",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        params: WebSocketParams,
        *,
        client: bool = False,
        extensions: list[Extension] | None = None,
        trailing_data: bytes = b"",
        on_ping: Callback | None = None,
        on_pong: Callback | None = None,
    ) -> None:
        self.stream = stream
        self.params = params
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.on_ping = on_ping
        self.on_pong = on_pong
        self.compressed = bool(extensions)
        # The fast path (see _ws_frames) for a server without extensions.
        self._fast_out = not client and not extensions
        self._fast_in = self._fast_out and _WSPROTO_INTERNALS
        # wsproto's connection; a server on the fast path makes it only when a frame needs
        # it (idle WebSockets are many, and each saves the memory).
        self._ws: Connection | None = None
        if not self._fast_in or trailing_data:
            self._ws = Connection(
                ConnectionType.CLIENT if client else ConnectionType.SERVER,
                extensions,
                trailing_data,
            )
        self._fast_messages: deque[str | bytes] | None = None
        self._io = Transport(stream)
        self._writing = False
        self._writers: trio.lowlevel.ParkingLot | None = None
        self._closing = False  # no more application writes (close asked for or received)
        self._close_args: tuple[int | None, str | None] | None = None
        self._done = False  # the close handshake is over, or the socket is gone
        self._done_event: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._closer_scope: trio.CancelScope | None = None
        self._wait_scope: trio.CancelScope | None = None  # the pinger's sleep
        self._reading = False
        self._received_pong = False
        # Keepalive driven by the reader (without start()).
        self._inline_ping_at = _INF
        self._inline_pong_due = _INF

    def start(self, nursery: trio.Nursery) -> None:
        """Run the pings and the close handshake in ``nursery`` from now on.

        The owner keeps calling `receive_message` until it returns None, then calls
        `stop`, which ends those tasks.
        """
        self._nursery = nursery
        if self.params.ping_interval and not self._closing:
            self._wait_scope = trio.CancelScope()
            nursery.start_soon(self._pinger, self._wait_scope)

    def stop(self) -> None:
        """End the tasks started in the nursery given to `start`, and start no more."""
        self._nursery = None
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        if self._closer_scope is not None:
            self._closer_scope.cancel()

    def going_away(self) -> None:
        """Close with 1001, the server is shutting down (see `request_close`)."""
        self.request_close(CloseReason.GOING_AWAY, "server shutting down")

    # ------------------------------------------------------------------ state

    def _wsproto(self) -> Connection:
        ws = self._ws
        if ws is None:
            ws = self._ws = Connection(ConnectionType.SERVER)
        return ws

    def _state(self) -> ConnectionState:
        # (Before wsproto is needed, no close frame went either way: the state is OPEN.)
        ws = self._ws
        return ConnectionState.OPEN if ws is None else ws.state

    def is_closing(self) -> bool:
        """True once either side started closing, or the connection is gone."""
        return self._closing

    @property
    def done(self) -> bool:
        """True once the close handshake is over or the connection is gone."""
        return self._done

    async def wait_done(self) -> None:
        """Wait until the close handshake is over or the connection is gone."""
        if self._done:
            await trio.lowlevel.checkpoint()
            return
        if self._done_event is None:
            self._done_event = trio.Event()
        await self._done_event.wait()

    def _finish(self) -> None:
        self._closing = True
        self._done = True
        if self._done_event is not None:
            self._done_event.set()
        if self._wait_scope is not None:
            self._wait_scope.cancel()

    async def abort(self) -> None:
        """Close the stream at once, without a close handshake; readers and writers stop."""
        self._finish()
        if not self._io.closed:
            self._io.closed = True
            # (aclose_forcefully never blocks, so the shield cannot hold anything up.)
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self.stream)

    # ---------------------------------------------------------------- reading

    def enable_inline_keepalive(self) -> None:
        """Send pings from `receive_message` (for users that do not call `start`)."""
        if self.params.ping_interval:
            self._inline_ping_at = trio.current_time() + self.params.ping_interval

    async def receive_message(self) -> str | bytes | None:
        """Read the next message; None once the connection is closed.

        Control frames are handled on the way: pings are answered, pongs noted, a close
        frame answered. Messages arriving after we asked to close are dropped.

        Raises:
            trio.BusyResourceError: another task is reading.
        """
        if self._reading:
            raise trio.BusyResourceError("another task is already reading this WebSocket")
        self._reading = True
        limit = self.params.max_message_size
        parts: list[Any] = []
        size = 0
        try:
            while True:
                if self._done:
                    return None
                fast = self._fast_messages
                if fast:
                    if not self._closing:
                        return fast.popleft()
                    fast.clear()
                ws = self._ws
                for event in ws.events() if ws is not None else ():
                    kind = type(event)
                    if kind is TextMessage or kind is BytesMessage:
                        data = event.data  # type: ignore[attr-defined]
                        if kind is BytesMessage or data.isascii():
                            size += len(data)
                        else:
                            size += len(data.encode("utf-8"))
                        if size > limit:
                            await self._fail(CloseReason.MESSAGE_TOO_BIG, "message too big")
                            return None
                        if not event.message_finished:  # type: ignore[attr-defined]
                            parts.append(data)
                            continue
                        if self._closing:
                            parts = []
                            size = 0
                            continue
                        if parts:
                            parts.append(data)
                            data = "".join(parts) if kind is TextMessage else b"".join(parts)
                        elif kind is BytesMessage:
                            data = bytes(data)
                        return data  # type: ignore[no-any-return]
                    if kind is Ping:
                        await self._answer_ping(event)  # type: ignore[arg-type]
                    elif kind is Pong:
                        self._received_pong = True
                        await _call(self.on_pong, bytes(event.payload))  # type: ignore[attr-defined]
                    elif kind is CloseConnection:
                        await self._on_close_frame(event)  # type: ignore[arg-type]
                        return None
                if self._inline_ping_at == _INF:
                    data = await self._io.receive()
                else:
                    data = await self._read_with_keepalive()
                if not data:
                    # The peer vanished: EOF or reset without a close frame.
                    self._io.closed = True
                    self._finish()
                    return None
                if (
                    self._fast_in
                    and not parts
                    and not self._closing
                    and (ws is None or _wsproto_idle(ws))
                ):
                    if fast is None:
                        fast = self._fast_messages = deque()
                    used = parse_simple_client_frames(data, limit, fast)
                    if used == len(data):
                        continue
                    data = data[used:]
                self._wsproto().receive_data(data)
        finally:
            self._reading = False

    async def _read_with_keepalive(self) -> bytes:
        while True:
            with trio.move_on_at(min(self._inline_ping_at, self._inline_pong_due)):
                return await self._io.receive()
            await self._inline_keepalive()

    async def _inline_keepalive(self) -> None:
        now = trio.current_time()
        interval = self.params.ping_interval or 0.0
        if now >= self._inline_pong_due:
            self._inline_pong_due = _INF
            if not self._received_pong:
                gen_log.info("WebSocket ping timed out: dropping the connection")
                self._inline_ping_at = _INF
                await self._fail(CloseReason.NORMAL_CLOSURE, "ping timed out")
                return
        if now >= self._inline_ping_at:
            self._received_pong = False
            self._inline_ping_at = now + interval
            timeout = self.params.effective_ping_timeout
            if timeout > 0:
                self._inline_pong_due = now + timeout
            try:
                await self._write(Ping(payload=b""), control=True)
            except WebSocketClosedError:
                self._inline_ping_at = _INF

    async def _answer_ping(self, event: Ping) -> None:
        if self._state() is ConnectionState.OPEN:
            try:
                await self._write(event.response(), control=True)
            except WebSocketClosedError:
                return
        await _call(self.on_ping, bytes(event.payload))

    async def _on_close_frame(self, event: CloseConnection) -> None:
        state = self._state()
        if state is ConnectionState.OPEN or state is ConnectionState.LOCAL_CLOSING:
            # Not a close frame: wsproto's report of a protocol error (the parser is dead).
            reason = event.reason
            if event.code == CloseReason.MESSAGE_TOO_BIG:
                reason = "message too big"  # (wsproto says "error in extension")
            gen_log.info("WebSocket protocol error: %s (%s)", reason, event.code)
            await self._fail(event.code, reason)
            return
        code = int(event.code)
        self.close_code = None if code == _NO_STATUS else code
        self.close_reason = event.reason or None
        self._closing = True
        if state is ConnectionState.REMOTE_CLOSING:
            # The peer started: answer with its code (not its reason), as Tornado does.
            with (
                trio.move_on_after(_timeout(self.params.close_timeout)),
                contextlib.suppress(WebSocketClosedError),
            ):
                await self._write(CloseConnection(code=event.code), control=True)
        self._finish()

    async def _fail(self, code: int, reason: str | None) -> None:
        """Send a close frame for a local failure, then drop the connection."""
        self._closing = True
        if self._state() is ConnectionState.OPEN:
            with (
                trio.move_on_after(_timeout(self.params.close_timeout)),
                contextlib.suppress(WebSocketClosedError),
            ):
                await self._write(CloseConnection(code=code, reason=reason), control=True)
        await self.abort()

    # ---------------------------------------------------------------- writing

    async def send_message(self, message: str | bytes) -> None:
        """Send one message: text for str, binary for bytes.

        Raises:
            WebSocketClosedError: the connection is closing or closed, or the write failed
                or timed out (the socket is then aborted).
        """
        if self._closing:
            raise WebSocketClosedError()
        if self._fast_out:
            await self._write(None, frame=server_frame(message))
        elif isinstance(message, str):
            await self._write(TextMessage(data=message))
        else:
            await self._write(BytesMessage(data=message))

    async def send_frame(self, frame: bytes) -> None:
        """Send a data frame serialised elsewhere (an uncompressed broadcast).

        Raises:
            WebSocketClosedError: as for `send_message`.
        """
        if self._closing:
            raise WebSocketClosedError()
        await self._write(None, frame=frame)

    async def ping(self, data: bytes = b"") -> None:
        """Send a ping.

        Raises:
            ValueError: ``data`` is longer than 125 bytes.
            WebSocketClosedError: as for `send_message`.
        """
        if len(data) > 125:
            raise ValueError("A ping carries at most 125 bytes")
        if self._closing:
            raise WebSocketClosedError()
        await self._write(Ping(payload=data))

    async def _write(
        self, event: Event | None, *, control: bool = False, frame: bytes = b""
    ) -> None:
        if self._writing:
            await self._wait_for_writer_slot()
        else:
            await trio.lowlevel.checkpoint_if_cancelled()
        self._writing = True
        try:
            if self._io.closed or (self._closing and not control):
                raise WebSocketClosedError()
            state = self._state()
            if type(event) is CloseConnection:
                if state is not ConnectionState.OPEN and state is not _REMOTE_CLOSING:
                    return  # (the handshake went on without us)
                data = self._wsproto().send(event)
            elif state is not ConnectionState.OPEN:
                raise WebSocketClosedError()
            elif event is None:
                data = frame
            else:
                data = self._wsproto().send(event)
            await self._send_bytes(data)
        finally:
            self._release_writer_slot()

    # The writer slot is a lock that any task may release: a broadcast starts a frame in
    # its own task and, when the socket cannot take all of it at once, finishes it in
    # another one.

    async def _wait_for_writer_slot(self) -> None:
        if self._writers is None:
            self._writers = trio.lowlevel.ParkingLot()
        while self._writing:
            await self._writers.park()

    def _release_writer_slot(self) -> None:
        self._writing = False
        if self._writers:
            self._writers.unpark()

    def send_frame_nowait(self, frame: bytes) -> bool | memoryview | None:
        """Start sending a prepared data frame without waiting (a broadcast's fast path).

        Returns:
            True when the socket took the whole frame; None when nothing was sent (busy,
            closing, or not a plain socket: use `send_frame`); otherwise the part left to
            send, which must be passed to `finish_frame` (the writer slot stays taken).
        """
        if (
            self._writing
            or self._closing
            or self._io.closed
            or self._state() is not ConnectionState.OPEN
        ):
            return None
        sent = self._io.send_nowait(frame)
        if sent <= 0:
            return None
        if sent == len(frame):
            return True
        self._writing = True
        return memoryview(frame)[sent:]

    async def finish_frame(self, rest: memoryview) -> None:
        """Send the rest of a frame started by `send_frame_nowait`, then free the writer.

        Raises:
            WebSocketClosedError: the write failed or timed out (the socket is aborted).
        """
        try:
            await self._send_bytes(rest)
        finally:
            self._release_writer_slot()

    async def _send_bytes(self, data: bytes | memoryview) -> None:
        io = self._io
        sent = io.send_nowait(data)
        if sent == len(data):  # the usual case: no deadline needed
            io.fair += 1
            if io.fair >= FAIR_EVERY:
                io.fair = 0
                await trio.lowlevel.checkpoint()
            return
        if sent:
            data = memoryview(data)[sent:]
        try:
            with trio.move_on_after(_timeout(self.params.write_timeout)) as scope:
                await io.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            await self.abort()
            raise WebSocketClosedError() from exc
        except BaseException:
            # Cancelled part way through a frame: the stream cannot carry another one.
            await self.abort()
            raise
        if scope.cancelled_caught:
            gen_log.info("Timed out writing to a WebSocket: closing it")
            await self.abort()
            raise WebSocketClosedError("write timed out")

    # ---------------------------------------------------------------- closing

    def request_close(self, code: int | None = None, reason: str | None = None) -> None:
        """Ask for the close handshake; returns at once.

        After `start`, the handshake runs in the nursery right away; otherwise it is run by
        `close_handshake`.

        Args:
            code: the close code; 1000 when only a reason is given; none at all if both
                are None.
            reason: the close reason.
        """
        if self._closing:
            return
        if code is None and reason is not None:
            code = CloseReason.NORMAL_CLOSURE
        self._closing = True
        self._close_args = (code, reason)
        if self._nursery is not None and self._closer_scope is None:
            self._closer_scope = trio.CancelScope()
            self._nursery.start_soon(self._closer, self._closer_scope)

    @property
    def close_requested(self) -> bool:
        """True once `request_close` was called (the handshake may not have run yet)."""
        return self._close_args is not None

    async def _closer(self, scope: trio.CancelScope) -> None:
        with scope:
            await self.close_handshake()

    async def _pinger(self, scope: trio.CancelScope) -> None:
        interval = self.params.ping_interval or 0.0
        timeout = self.params.effective_ping_timeout
        with scope:
            next_ping = trio.current_time() + interval
            while True:
                await trio.sleep_until(next_ping)
                self._received_pong = False
                sent_at = trio.current_time()
                try:
                    await self.ping()
                except WebSocketClosedError:
                    return
                if timeout > 0:
                    await trio.sleep_until(sent_at + timeout)
                    if self._closing:
                        return
                    if not self._received_pong:
                        # (No close handshake: a peer that does not answer pings will not
                        # answer a close frame either.)
                        gen_log.info("WebSocket ping timed out: dropping the connection")
                        await self._fail(CloseReason.NORMAL_CLOSURE, "ping timed out")
                        return
                next_ping = sent_at + interval

    async def close_handshake(self, *, drive_reads: bool = False) -> None:
        """Send our close frame and wait for the peer's, up to ``close_timeout``.

        Args:
            drive_reads: read the socket here until the peer's close frame arrives (when no
                other task reads); otherwise wait for the reading task to see it.
        """
        if self._close_args is None:
            self.request_close()
        code, reason = self._close_args or (None, None)
        with trio.move_on_after(_timeout(self.params.close_timeout)):
            try:
                await self._write(
                    CloseConnection(code=_NO_STATUS if code is None else code, reason=reason),
                    control=True,
                )
            except WebSocketClosedError:
                return
            if drive_reads and not self._reading:
                while await self.receive_message() is not None:
                    pass  # (messages after our close frame are dropped)
            await self.wait_done()
        if not self._done:
            gen_log.info("WebSocket close handshake timed out: dropping the connection")
            await self.abort()
