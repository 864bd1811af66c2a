"""`WebSocketHandler`: Tornado's server-side WebSocket API on a wsproto connection.

The opening handshake is an ordinary request read by h11: `WebSocketHandler._execute`
checks it, runs ``prepare()``, and answers either an error (400, 403, 405, 426) or ``101``
through `HTTP1Connection.upgrade`. From there the WebSocket lives in the connection's
task and its per-connection nursery:

.. code-block:: text

    connection task         reads messages, awaits open() / on_message() (back-pressure)
    connection nursery      (helpers, only while they have work:)
    ├── pinger              when websocket_ping_interval is set
    └── close handshake     once either side asked to close

An idle WebSocket thus costs no task. The server's shutdown reaches it through the
connection's ``on_shutdown`` hook (close with 1001). When the reader sees the end (close
handshake done, peer gone, socket aborted), the helpers are cancelled, ``on_close()`` runs
once, and the connection closes the socket.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import trio
from wsproto.extensions import Extension
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import generate_accept_token

from . import escape
from ._errors import HTTPError
from ._handler_base import HandlerBase
from ._version import __version__
from ._wire import date_cache
from ._ws_deflate import BoundedDeflate, check_compression_options
from ._ws_frames import server_frame
from ._ws_protocol import (
    DEFAULT_MAX_MESSAGE_SIZE,
    WebSocketClosedError,
    WebSocketParams,
    WebSocketProtocol,
    message_payload,
)
from .httputil import HTTPHeaders, ResponseStartLine, responses
from .iostream import StreamClosedError
from .log import app_log, gen_log

if TYPE_CHECKING:
    from ._request_handler import RequestHandler

__all__ = ["WebSocketHandler", "broadcast"]

_SERVER_HEADER = f"TrinadoServer/{__version__}"
_INTERNAL_ERROR = CloseReason.INTERNAL_ERROR


class WebSocketHandler(HandlerBase):
    """Base class of WebSocket handlers: route it like any handler, override the callbacks.

    A chat room's member, from ``examples/websocket_chat.py``::

        class ChatSocket(WebSocketHandler):
            def initialize(self, room: ChatRoom) -> None:
                self.room = room

            ...  # get_compression_options()

            async def open(self) -> None:
                self.name = self.get_argument("name", "anonymous")
                for message in self.room.history:
                    await self.write_message(message)
                self.room.members.add(self)

            async def on_message(self, message: str | bytes) -> None:
                if isinstance(message, bytes):
                    self.close(1003, "text only")
                    return
                await self.room.say(self.name, message)

            def on_close(self) -> None:
                self.room.members.discard(self)

    The request goes through the method check (only GET), path-argument decoding and
    ``prepare()`` (which may raise `~trinado.web.HTTPError`, for authentication), then
    `get` checks the handshake and upgrades. `open` runs first, before any message is read;
    then each message goes to `on_message`, and the next one is read only when it returns
    (or its awaitable completes). `on_close` runs once at the end, however it came.

    Application settings: ``websocket_ping_interval`` (seconds between pings; off by
    default), ``websocket_ping_timeout`` (close when no pong comes this long after a ping;
    default and maximum: the interval), ``websocket_max_message_size`` (default 10 MiB;
    larger messages close the connection with 1009), and ``websocket_close_timeout``
    (seconds the peer gets to answer a close frame; default 5). Writes wait at most the
    server's ``write_timeout``.

    Attributes:
        close_code: The code of the peer's close frame, once closed (None if it sent none).
        close_reason: The reason of the peer's close frame, once closed (None if none).
        ws_connection: The protocol object while the WebSocket is open; None before the
            upgrade and once `close` was called or the connection ended.
        open_args: The path arguments given to `open`.
        open_kwargs: The named path arguments given to `open`.
    """

    ws_connection: WebSocketProtocol | None
    close_code: int | None
    close_reason: str | None

    def _setup(self) -> None:
        self.ws_connection = None
        self.close_code = None
        self.close_reason = None
        self.open_args: tuple[Any, ...] = ()
        self.open_kwargs: dict[str, Any] = {}
        self._status_code = 200
        self._selected_subprotocol: str | None = None
        self._on_close_called = False

    # ----------------------------------------------------------------------------------
    # Callbacks

    def prepare(self) -> Awaitable[None] | None:
        """Called before the handshake is checked; may be ``async def``.

        Raise `~trinado.web.HTTPError` here to refuse the connection with that status (for
        example 403 for a user who is not logged in).

        Returns:
            ``None``, or an awaitable that is awaited.
        """
        return None

    def _open(self, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        return None

    open: Callable[..., Awaitable[None] | None] = _open
    """Called when the WebSocket is open, with the path arguments; may be ``async def``.

    No message is read before it returns. An exception here is logged and closes the
    WebSocket with code 1011.
    """

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        """Handles a message: str for a text message, bytes for a binary one.

        It may be ``async def``: the next message is read only once it has returned, which
        makes a slow handler slow its peer down instead of buffering. An exception is logged
        and closes the WebSocket with code 1011.

        Args:
            message: The message.

        Returns:
            ``None``, or an awaitable that is awaited.

        Raises:
            NotImplementedError: In this base class.
        """
        raise NotImplementedError

    def on_ping(self, data: bytes) -> Awaitable[None] | None:
        """Called for each ping received, after the pong has been sent.

        Args:
            data: The ping's payload.

        Returns:
            ``None``, or an awaitable that is awaited.
        """
        return None

    def on_pong(self, data: bytes) -> Awaitable[None] | None:
        """Called for each pong received.

        Args:
            data: The pong's payload.

        Returns:
            ``None``, or an awaitable that is awaited.
        """
        return None

    def on_close(self) -> Awaitable[None] | None:
        """Called once when the WebSocket has closed, however it closed.

        `close_code` and `close_reason` hold what the peer sent. It may be ``async def``;
        its awaitable gets ``websocket_close_timeout`` seconds (even during a shutdown).

        Returns:
            ``None``, or an awaitable that is awaited.
        """
        return None

    # ----------------------------------------------------------------------------------
    # Handshake policy

    def check_origin(self, origin: str) -> bool:
        """Decides whether a cross-origin WebSocket may connect.

        Called only for requests that look cross-origin: not when ``Sec-Fetch-Site`` says
        ``same-origin`` or ``none``, nor when (without that header) the ``Origin`` names the
        request's ``Host``, nor without an ``Origin`` (non-browser clients). It runs after
        ``prepare``. The default accepts the origins of the ``trusted_origins`` setting
        (see `check_trusted_origin`).

        Args:
            origin: The ``Origin`` header, such as ``"https://example.com"``.

        Returns:
            True to accept the connection, False to answer 403.
        """
        return self.check_trusted_origin(origin)

    def check_trusted_origin(self, origin: str) -> bool:
        """Tells whether ``origin`` is in the ``trusted_origins`` application setting.

        Args:
            origin: The ``Origin`` header.

        Returns:
            True if the setting lists it.
        """
        return origin in self.settings.get("trusted_origins", ())

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Chooses a subprotocol among those the client proposed; called once per handshake.

        Args:
            subprotocols: The proposed subprotocols, in the client's order (may be empty).

        Returns:
            One of them, or None for none (the client may then close the connection).
        """
        return None

    @property
    def selected_subprotocol(self) -> str | None:
        """The subprotocol `select_subprotocol` chose (None for none)."""
        return self._selected_subprotocol

    def get_compression_options(self) -> dict[str, Any] | None:
        """Override to turn on permessage-deflate compression when the client offers it.

        Returns:
            None (the default) for no compression, or a dict (even empty) to compress, with
            optional keys ``compression_level`` (0-9), ``mem_level`` (1-9),
            ``server_max_window_bits`` and ``client_max_window_bits`` (9-15), and
            ``server_no_context_takeover`` / ``client_no_context_takeover`` (booleans).
        """
        return None

    @property
    def ping_interval(self) -> float | None:
        """Seconds between pings, the ``websocket_ping_interval`` setting (None for no pings)."""
        value: float | None = self.settings.get("websocket_ping_interval")
        return value

    @property
    def ping_timeout(self) -> float | None:
        """The ``websocket_ping_timeout`` setting (None: equal to the interval)."""
        value: float | None = self.settings.get("websocket_ping_timeout")
        return value

    @property
    def max_message_size(self) -> int:
        """The ``websocket_max_message_size`` setting (default 10 MiB)."""
        value: int = self.settings.get("websocket_max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
        return value

    # ----------------------------------------------------------------------------------
    # Talking to the peer

    async def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> None:
        """Sends a message; returns once the socket has taken it.

        A peer that does not read makes this wait (up to the server's ``write_timeout``,
        then the socket is aborted): that is the back-pressure.

        Args:
            message: A str, bytes, or a dict (sent as JSON).
            binary: Send a binary message (str is UTF-8 encoded); otherwise a text message
                (bytes must be UTF-8).

        Raises:
            WebSocketClosedError: The WebSocket is not open (closing, closed, or the write
                failed or timed out).
        """
        proto = self.ws_connection
        if proto is None or proto.is_closing():
            raise WebSocketClosedError()
        await proto.send_message(message_payload(message, binary))

    async def ping(self, data: str | bytes = b"") -> None:
        """Sends a ping (the ``websocket_ping_interval`` setting sends them by itself).

        Args:
            data: A payload of at most 125 bytes (str is UTF-8 encoded).

        Raises:
            WebSocketClosedError: The WebSocket is not open.
            ValueError: The payload is too long.
        """
        proto = self.ws_connection
        if proto is None or proto.is_closing():
            raise WebSocketClosedError()
        await proto.ping(data.encode("utf-8") if isinstance(data, str) else data)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Starts closing the WebSocket; returns at once.

        The close frame is sent and the peer's awaited (up to ``websocket_close_timeout``)
        in the background; then `on_close` runs and the socket is closed. Writes raise
        `WebSocketClosedError` from now on.

        Args:
            code: A close code (RFC 6455 section 7.4.1); 1000 when only ``reason`` is given.
            reason: A short text for the peer.
        """
        proto = self.ws_connection
        if proto is not None:
            proto.request_close(code, reason)
            self.ws_connection = None

    def set_nodelay(self, value: bool) -> None:
        """Sets TCP_NODELAY on the socket (Trio turns it on for TCP sockets already).

        Args:
            value: Whether to send small messages at once instead of batching them.
        """
        proto = self.ws_connection
        stream: Any = None if proto is None else proto.stream
        while isinstance(stream, trio.SSLStream):
            stream = stream.transport_stream
        if isinstance(stream, trio.SocketStream):
            with contextlib.suppress(OSError):  # (not a TCP socket)
                stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, value)

    # ----------------------------------------------------------------------------------
    # Logging

    def get_status(self) -> int:
        """Returns the status answered: 101 once upgraded, or the error's.

        Returns:
            The status code.
        """
        return self._status_code

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {request.uri} ({request.remote_ip})"

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Logs an exception from a callback or the handshake; override to change how.

        Args:
            typ: The exception's type.
            value: The exception.
            tb: Its traceback.
        """
        if isinstance(value, HTTPError):
            message = value.get_message()
            if message:
                gen_log.warning("%d %s: %s", value.status_code, self._request_summary(), message)
            return
        app_log.error(
            "Uncaught exception %s\n%r",
            self._request_summary(),
            self.request,
            exc_info=(typ, value, tb),  # type: ignore[arg-type]
        )

    def _log_callback_error(self) -> None:
        try:
            self.log_exception(*sys.exc_info())
        except Exception:
            app_log.error("Error in exception logger", exc_info=True)

    # ----------------------------------------------------------------------------------
    # The request

    async def _execute(
        self,
        path_args: Sequence[bytes | None],
        path_kwargs: Mapping[str, bytes | None],
    ) -> None:
        """Checks the request, runs ``prepare`` and `get` (handshake and WebSocket).

        Args:
            path_args: The unnamed path groups, percent-decoded bytes.
            path_kwargs: The named path groups, percent-decoded bytes.
        """
        try:
            if self.request.method != "GET":
                raise HTTPError(405)
            if path_args or path_kwargs:
                self._decode_path_arguments(path_args, path_kwargs)
            result = self.prepare()
            if result is not None:
                await result
            await self.get(*self.path_args, **self.path_kwargs)
        except StreamClosedError:
            gen_log.debug("Client went away during %s", self._request_summary())
        except Exception as exc:
            self._log_callback_error()
            if self._status_code == 101:
                return  # (a get() override failed after the WebSocket ended)
            status = exc.status_code if isinstance(exc, HTTPError) else 500
            reason = exc.reason if isinstance(exc, HTTPError) else None
            await self._send_error(status, reason=reason)

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Checks the handshake, upgrades, and runs the WebSocket until it closes.

        Override it only to check something first, then ``await super().get(*args,
        **kwargs)``.

        Args:
            *args: The path arguments (passed on to `open`).
            **kwargs: The named path arguments (passed on to `open`).

        Raises:
            StreamClosedError: The client went away during the handshake.
        """
        self.open_args = args
        self.open_kwargs = kwargs
        refusal = self._check_handshake()
        if refusal is not None:
            await self._send_error(*refusal)
            return
        proto = await self._upgrade()
        if proto is not None:
            await self._run(proto)

    def _check_handshake(self) -> tuple[int, str | None, bytes, dict[str, str]] | None:
        """Why the handshake is refused (status, reason, body, headers), or None."""
        headers = self.request.headers
        message = None
        if self.request.version == "HTTP/1.0":
            # RFC 6455 4.1: the opening handshake is an HTTP/1.1 (or later) request.
            status, message = 400, "WebSocket needs HTTP/1.1"
        elif headers.get("Upgrade", "").lower() != "websocket":
            status, message = 400, 'Can "Upgrade" only to "WebSocket".'
        elif "upgrade" not in {p.strip().lower() for p in headers.get("Connection", "").split(",")}:
            status, message = 400, '"Connection" must be "Upgrade".'
        else:
            error = self._check_cross_origin()
            if error is not None:
                gen_log.debug("Cross origin websockets not allowed: %s", error)
                status, message = 403, "Cross origin websockets not allowed"
            elif headers.get("Sec-WebSocket-Version") != "13":
                return 426, "Upgrade Required", b"", {"Sec-WebSocket-Version": "13"}
            elif not headers.get("Host") or not headers.get("Sec-WebSocket-Key"):
                status, message = 400, "Missing/Invalid WebSocket headers"
            else:
                return None
        gen_log.debug("%s", message)
        return status, None, message.encode("utf-8"), {}

    def _check_cross_origin(self) -> str | None:
        """Tornado's cross-origin rules; returns why the request is refused, or None."""
        headers = self.request.headers
        fetch_site = headers.get("Sec-Fetch-Site")
        origin = headers.get("Origin")
        if fetch_site in ("same-origin", "none"):
            return None
        if fetch_site is None:
            if origin is None:
                return None  # not a browser
            netloc = urllib.parse.urlsplit(origin).netloc.lower()
            if netloc == headers.get("Host", "").lower() or self.check_origin(origin):
                return None
            return f"Origin {origin!r} not allowed"
        if origin and self.check_origin(origin):
            return None
        return f"Sec-Fetch-Site {fetch_site} & origin {origin!r} not allowed"

    async def _send_error(
        self,
        status: int,
        reason: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answers the handshake request with a plain response, and logs it."""
        self._status_code = status
        phrase = reason or responses.get(status, "Unknown")
        if body is None:
            text = escape.xhtml_escape(phrase)
            page = f"<html><title>{status}: {text}</title><body>{status}: {text}</body></html>"
            body = page.encode("utf-8")
        head = HTTPHeaders({"Server": _SERVER_HEADER, "Content-Type": "text/html; charset=UTF-8"})
        for name, value in (headers or {}).items():
            head[name] = value
        try:
            await self.request.connection.send_response(
                ResponseStartLine("", status, phrase), head, body
            )
        finally:
            self._log_request()

    def _log_request(self) -> None:
        # log_request wants a RequestHandler; it only uses get_status, _request_summary
        # and request, which this class has too.
        self.application.log_request(cast("RequestHandler", self))

    async def _upgrade(self) -> WebSocketProtocol | None:
        """Answers 101 and makes the protocol object (None if the client left)."""
        headers = self.request.headers
        offered = [
            part.strip()
            for value in headers.get_list("Sec-WebSocket-Protocol")
            for part in value.split(",")
            if part.strip()
        ]
        selected = self.select_subprotocol(offered)
        if selected is not None and selected not in offered:
            raise ValueError(f"select_subprotocol() chose {selected!r}, not offered")
        self._selected_subprotocol = selected
        params = self._params()
        extensions, accepted = self._negotiate_compression(params.max_message_size)
        key = headers["Sec-WebSocket-Key"].encode("latin-1")
        answer = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(key)),
        ]
        if selected is not None:
            answer.append((b"Sec-WebSocket-Protocol", selected.encode("latin-1")))
        if accepted is not None:
            answer.append((b"Sec-WebSocket-Extensions", accepted.encode("latin-1")))
        answer += [(b"Server", _SERVER_HEADER.encode("ascii")), (b"Date", date_cache.get())]
        conn = self.request.connection
        stream, trailing = await conn.upgrade(answer)
        self._status_code = 101
        self._log_request()
        proto = WebSocketProtocol(
            stream,
            params,
            extensions=extensions,
            trailing_data=trailing,
            on_ping=self.on_ping,
            on_pong=self.on_pong,
        )
        self.ws_connection = proto
        return proto

    def _params(self) -> WebSocketParams:
        settings = self.settings
        return WebSocketParams(
            max_message_size=self.max_message_size,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            write_timeout=self.request.connection.params.write_timeout,
            close_timeout=settings.get("websocket_close_timeout", 5.0),
        )

    def _negotiate_compression(self, max_size: int) -> tuple[list[Extension], str | None]:
        options = self.get_compression_options()
        if options is None:
            return [], None
        check_compression_options(options)
        for value in self.request.headers.get_list("Sec-WebSocket-Extensions"):
            for offer in value.split(","):
                if offer.split(";", 1)[0].strip() != "permessage-deflate":
                    continue
                extension = BoundedDeflate(max_size, options)
                accepted = extension.accept(offer)
                if accepted is not None:
                    answer = "permessage-deflate" + ("; " + accepted if accepted else "")
                    return [extension], answer
        return [], None

    # ----------------------------------------------------------------------------------
    # The open WebSocket

    async def _run(self, proto: WebSocketProtocol) -> None:
        # The reader runs here, in the connection's task; the pinger and the close
        # handshake run in the connection's nursery, only while they have work (an idle
        # WebSocket costs no task), and end with this method.
        conn = self.request.connection
        nursery = conn.nursery
        if nursery is None:
            raise RuntimeError("WebSocketHandler needs a connection with a nursery")
        try:
            proto.start(nursery)
            conn.on_shutdown = proto.going_away
            if conn.shutdown_started.is_set():
                proto.going_away()
            try:
                result = self.open(*self.open_args, **self.open_kwargs)
                if result is not None:
                    await result
            except WebSocketClosedError:
                pass
            except Exception:
                self._log_callback_error()
                proto.request_close(_INTERNAL_ERROR, "Internal error")
            on_message = self.on_message
            while True:
                message = await proto.receive_message()
                if message is None:
                    break
                try:
                    result = on_message(message)
                    if result is not None:
                        await result
                except WebSocketClosedError:
                    pass  # (the peer left, or the handler closed: the reader sees it next)
                except Exception:
                    self._log_callback_error()
                    proto.request_close(_INTERNAL_ERROR, "Internal error")
        finally:
            conn.on_shutdown = None
            proto.stop()
            if not proto.done:
                await proto.abort()
            await self._closed(proto)

    async def _closed(self, proto: WebSocketProtocol) -> None:
        if self._on_close_called:
            return
        self._on_close_called = True
        self.ws_connection = None
        self.close_code = proto.close_code
        self.close_reason = proto.close_reason
        timeout = proto.params.close_timeout
        # A shield with a deadline: on_close runs even when a shutdown cancels the connection.
        with trio.CancelScope(shield=True) as scope:
            if timeout is not None:
                scope.deadline = trio.current_time() + timeout
            try:
                result = self.on_close()
                if result is not None:
                    await result
            except Exception:
                self._log_callback_error()


async def broadcast(
    handlers: Iterable[WebSocketHandler],
    message: str | bytes | dict[str, Any],
    binary: bool = False,
    *,
    timeout: float = 5.0,
) -> int:
    """Sends one message to many WebSockets without letting a slow one hold up the rest.

    Each socket that can take the message at once gets it without a task switch; the others
    are written to concurrently, each for at most ``timeout`` seconds. A socket that has not
    taken the message by then is aborted (closed without a close handshake: its
    ``on_close`` runs; the peer sees code 1006). A lagging client thus never receives a
    stream with messages missing: it loses the connection and can reconnect and catch up.
    Sockets that are closing or closed are skipped.

    Args:
        handlers: The handlers to send to (any iterable; it is read once).
        message: A str, bytes or dict (JSON), as for `WebSocketHandler.write_message`.
        binary: Send a binary message.
        timeout: Seconds a slow socket gets to take the message.

    Returns:
        The number of sockets that took the message.
    """
    payload = message_payload(message, binary)
    frame: bytes | None = None
    delivered = 0
    pending: list[tuple[WebSocketProtocol, memoryview | None]] = []
    for handler in handlers:
        proto = handler.ws_connection
        if proto is None or proto.is_closing():
            continue
        if proto.compressed:
            pending.append((proto, None))
            continue
        if frame is None:
            frame = server_frame(payload)
        started = proto.send_frame_nowait(frame)
        if started is True:
            delivered += 1
        else:
            pending.append((proto, started if isinstance(started, memoryview) else None))
    if not pending:
        await trio.lowlevel.checkpoint()
        return delivered
    counted = [delivered]

    async def deliver(proto: WebSocketProtocol, rest: memoryview | None) -> None:
        with trio.move_on_after(timeout) as scope:
            try:
                if rest is not None:
                    await proto.finish_frame(rest)
                elif frame is None or proto.compressed:
                    await proto.send_message(payload)
                else:
                    await proto.send_frame(frame)
            except WebSocketClosedError:
                return
            counted[0] += 1
        if scope.cancelled_caught:
            gen_log.info("WebSocket too slow to take a broadcast in %ss: aborting it", timeout)
            await proto.abort()

    async with trio.open_nursery() as nursery:
        for proto, rest in pending:
            nursery.start_soon(deliver, proto, rest)
    return counted[0]
