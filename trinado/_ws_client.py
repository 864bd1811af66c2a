"""The WebSocket client: `websocket_connect` for ``ws://`` and ``wss://`` URLs.

The opening handshake is an HTTP/1.1 request written and read with h11; the connection is
then handed, with h11's trailing bytes, to the shared `WebSocketProtocol`.

Two ways to use it:

* ``async with websocket_connect(url) as conn:`` owns a nursery with a reader task (which
  answers pings whenever the application is not behind on messages), a pinger (with
  ``ping_interval``) and, once asked, the close handshake. Leaving the block closes the
  connection.
* ``conn = await websocket_connect(url)`` (Tornado's form) starts no task: the protocol
  runs while the application calls `read_message`, which answers pings and sends the
  keepalive pings. ``await conn.close()`` runs the close handshake.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Generator, Iterable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import h11
import trio
from wsproto.extensions import Extension
from wsproto.utilities import generate_accept_token

from ._ws_deflate import BoundedDeflate, check_compression_options
from ._ws_protocol import (
    DEFAULT_MAX_MESSAGE_SIZE,
    WebSocketError,
    WebSocketParams,
    WebSocketProtocol,
    message_payload,
)
from .httputil import HTTPHeaders

__all__ = ["WebSocketClientConnection", "WebSocketHandshakeError", "websocket_connect"]

_DEFAULT_CONNECT_TIMEOUT = 20.0  # Tornado's default connect_timeout
_MAX_ERROR_BODY = 65536
_READ_SIZE = 65536


class WebSocketHandshakeError(WebSocketError):
    """The server did not accept the WebSocket (or did not answer in time).

    Args:
        code: The HTTP status of the answer; 599 when there was none (timeout).
        message: What went wrong.
        headers: The headers of the answer.
        body: The body of the answer (at most 64 KiB of it).

    Attributes:
        code: As given (Tornado raises an ``HTTPClientError`` with this ``code``).
        message: As given.
        headers: As given.
        body: As given.
    """

    def __init__(
        self,
        code: int,
        message: str,
        headers: HTTPHeaders | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(f"HTTP {code}: {message}")
        self.code = code
        self.message = message
        self.headers = headers if headers is not None else HTTPHeaders()
        self.body = body


class _Closing:
    """What `WebSocketClientConnection.close` returns: await it to wait for the end."""

    __slots__ = ("_conn",)

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self._conn = conn

    def __await__(self) -> Generator[Any, None, None]:
        return self._conn._wait_closed().__await__()


class WebSocketClientConnection:
    """An open client WebSocket; made by `websocket_connect`.

    Messages are read with `read_message` or ``async for message in conn``, sent with
    `write_message`. A message is str (text) or bytes (binary).

    Attributes:
        headers: The headers of the server's ``101`` answer.
        protocol: The protocol object (for advanced use).
    """

    def __init__(
        self,
        protocol: WebSocketProtocol,
        headers: HTTPHeaders,
        selected_subprotocol: str | None,
    ) -> None:
        self.protocol = protocol
        self.headers = headers
        self._selected_subprotocol = selected_subprotocol
        self._messages: trio.MemoryReceiveChannel[str | bytes] | None = None
        self._stream_closed = False

    @property
    def selected_subprotocol(self) -> str | None:
        """The subprotocol the server chose (None for none)."""
        return self._selected_subprotocol

    @property
    def close_code(self) -> int | None:
        """The code of the server's close frame, once closed (None if it sent none)."""
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        """The reason of the server's close frame, once closed (None if none)."""
        return self.protocol.close_reason

    async def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> None:
        """Sends a message; returns once the socket has taken it.

        Args:
            message: A str, bytes, or a dict (sent as JSON).
            binary: Send a binary message (str is UTF-8 encoded); otherwise a text message.

        Raises:
            WebSocketClosedError: The connection is closing or closed, or the write failed.
        """
        await self.protocol.send_message(message_payload(message, binary))

    async def read_message(self) -> str | bytes | None:
        """Returns the next message, or None once the connection is closed.

        Without ``async with`` (no background task), this is also what answers the
        server's pings, sends keepalive pings and finishes a close started by `close`.
        """
        messages = self._messages
        if messages is not None:
            try:
                return await messages.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return None
        proto = self.protocol
        if proto.close_requested and not proto.done:
            await self._wait_closed()
            return None
        message = await proto.receive_message()
        if message is None:
            await self._close_stream()
        return message

    async def ping(self, data: str | bytes = b"") -> None:
        """Sends a ping (``ping_interval`` sends them by itself).

        Args:
            data: A payload of at most 125 bytes (str is UTF-8 encoded).

        Raises:
            WebSocketClosedError: The connection is closing or closed.
            ValueError: The payload is too long.
        """
        await self.protocol.ping(data.encode("utf-8") if isinstance(data, str) else data)

    def close(self, code: int | None = None, reason: str | None = None) -> _Closing:
        """Starts closing the connection; await the result to wait until it is closed.

        Within ``async with``, the close handshake runs in the background whether or not
        the result is awaited. Without it, awaiting runs the handshake (else the next
        `read_message` does). Messages not read yet are dropped; `read_message` returns
        None from now on.

        Args:
            code: A close code; 1000 when only ``reason`` is given.
            reason: A short text for the server.

        Returns:
            An awaitable that finishes when the close handshake is over (at most
            ``close_timeout``, 5 seconds, after the close frame went out).
        """
        self.protocol.request_close(code, reason)
        if self._messages is not None:
            self._messages.close()
        return _Closing(self)

    async def _wait_closed(self) -> None:
        proto = self.protocol
        if self._messages is not None:
            await proto.wait_done()
            return
        try:
            await proto.close_handshake(drive_reads=True)
        finally:
            await self._close_stream()

    async def _close_stream(self) -> None:
        if not self._stream_closed:
            self._stream_closed = True
            await self.protocol.abort()

    def __aiter__(self) -> WebSocketClientConnection:
        return self

    async def __anext__(self) -> str | bytes:
        message = await self.read_message()
        if message is None:
            raise StopAsyncIteration
        return message

    # ------------------------------------------------------------------ background tasks

    async def _run_reader(self, messages: trio.MemorySendChannel[str | bytes]) -> None:
        async with messages:
            while True:
                message = await self.protocol.receive_message()
                if message is None:
                    return
                # (After close() the channel is closed: what is left is read and dropped.)
                with contextlib.suppress(trio.BrokenResourceError):
                    await messages.send(message)


class _Connect:
    """What `websocket_connect` returns: await it, or use it with ``async with``."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self._context: Any = None

    def __await__(self) -> Generator[Any, None, WebSocketClientConnection]:
        return self._connect(inline_keepalive=True).__await__()

    async def __aenter__(self) -> WebSocketClientConnection:
        self._context = self._open()
        conn: WebSocketClientConnection = await self._context.__aenter__()
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        result: bool | None = await self._context.__aexit__(exc_type, exc, tb)
        return result

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[WebSocketClientConnection]:
        conn = await self._connect(inline_keepalive=False)
        proto = conn.protocol
        try:
            async with trio.open_nursery() as nursery:
                send, receive = trio.open_memory_channel[str | bytes](1)
                conn._messages = receive
                nursery.start_soon(conn._run_reader, send)
                proto.start(nursery)
                try:
                    yield conn
                finally:
                    try:
                        conn.close(1000)
                        # (the handshake, in the nursery, is bounded by close_timeout)
                        await proto.wait_done()
                    finally:
                        proto.stop()
                        nursery.cancel_scope.cancel()
        finally:
            await conn._close_stream()

    async def _connect(self, *, inline_keepalive: bool) -> WebSocketClientConnection:
        options = self._options
        timeout = options["connect_timeout"]
        if timeout is None:
            timeout = _DEFAULT_CONNECT_TIMEOUT
        with trio.move_on_after(timeout):
            conn = await _open_connection(self._url, options)
            if inline_keepalive:
                conn.protocol.enable_inline_keepalive()
            return conn
        raise WebSocketHandshakeError(599, "Timeout while connecting")


def websocket_connect(
    url: str,
    *,
    connect_timeout: float | None = None,
    subprotocols: list[str] | None = None,
    compression_options: dict[str, Any] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> _Connect:
    """Opens a WebSocket to a server (``ws://`` or ``wss://``).

    Use it as ``async with websocket_connect(url) as conn:`` (a reader task and a pinger
    run in a nursery of the block; leaving it closes the connection), or as
    ``conn = await websocket_connect(url)`` (Tornado's form: no task runs; the protocol
    advances while you call ``read_message``, and ``await conn.close()`` ends it).

    Args:
        url: The ``ws://`` or ``wss://`` URL.
        connect_timeout: Seconds for connecting, TLS and the opening handshake (default
            20).
        subprotocols: Subprotocols to propose; see ``selected_subprotocol``.
        compression_options: None for no compression, or a dict (even empty) to offer
            permessage-deflate, with the keys of
            `WebSocketHandler.get_compression_options`.
        ping_interval: Seconds between keepalive pings (None: no pings).
        ping_timeout: Close when no pong comes this long after a ping (default and
            maximum: the interval).
        max_message_size: The largest message accepted (after decompression); larger ones
            close the connection with code 1009.
        headers: More request headers (``Origin``, ``Cookie``, ``Authorization``...).
        ssl_context: The TLS context for ``wss://`` (default: the system's trusted CAs).

    Returns:
        An object to await (giving a `WebSocketClientConnection`) or to use with
        ``async with``.

    Raises:
        ValueError: The URL is not ``ws://`` or ``wss://``, or the compression options
            are invalid.
    """
    _split_url(url)
    if compression_options is not None:
        check_compression_options(compression_options)
    return _Connect(
        url,
        {
            "connect_timeout": connect_timeout,
            "subprotocols": list(subprotocols or ()),
            "compression_options": compression_options,
            "params": WebSocketParams(
                max_message_size=max_message_size,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
            ),
            "headers": _header_pairs(headers),
            "ssl_context": ssl_context,
        },
    )


def _split_url(url: str) -> tuple[bool, str, int, str, str]:
    """(secure, host, port, target, Host header) of a ws:// or wss:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"Not a ws:// or wss:// URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname
    host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        host_header += f":{parts.port}"
    return secure, host, port, target, host_header


def _header_pairs(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if headers is None:
        return []
    get_all = getattr(headers, "get_all", None)
    if get_all is not None:
        return [(name, value) for name, value in get_all()]
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


async def _open_connection(url: str, options: dict[str, Any]) -> WebSocketClientConnection:
    secure, host, port, target, host_header = _split_url(url)
    stream: trio.abc.Stream
    if secure:
        context = options["ssl_context"] or ssl.create_default_context()
        tls = await trio.open_ssl_over_tcp_stream(host, port, ssl_context=context)
        stream = tls
    else:
        stream = await trio.open_tcp_stream(host, port)
    try:
        if secure:
            try:
                await tls.do_handshake()
            except trio.BrokenResourceError as exc:
                if isinstance(exc.__cause__, ssl.SSLError):
                    raise exc.__cause__ from None  # (as Tornado: SSLCertVerificationError...)
                raise
        return await _handshake(stream, target, host_header, options)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise


async def _handshake(
    stream: trio.abc.Stream, target: str, host_header: str, options: dict[str, Any]
) -> WebSocketClientConnection:
    params: WebSocketParams = options["params"]
    key = base64.b64encode(os.urandom(16))
    request_headers: list[tuple[str, str]] = [
        ("Host", host_header),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key.decode("ascii")),
        ("Sec-WebSocket-Version", "13"),
    ]
    subprotocols: list[str] = options["subprotocols"]
    if subprotocols:
        request_headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    deflate: BoundedDeflate | None = None
    if options["compression_options"] is not None:
        deflate = BoundedDeflate(params.max_message_size, options["compression_options"])
        request_headers.append(("Sec-WebSocket-Extensions", deflate.client_offer()))
    request_headers += options["headers"]
    h11conn = h11.Connection(h11.CLIENT)
    try:
        data = h11conn.send(h11.Request(method="GET", target=target, headers=request_headers))
    except h11.LocalProtocolError as exc:
        raise ValueError(f"Invalid request headers: {exc}") from exc
    await stream.send_all((data or b"") + (h11conn.send(h11.EndOfMessage()) or b""))
    event = await _next_event(stream, h11conn)
    while type(event) is h11.InformationalResponse and event.status_code != 101:
        event = await _next_event(stream, h11conn)
    headers = HTTPHeaders()
    for name, value in getattr(event, "headers", ()):
        headers.add(name.decode("latin-1"), value.decode("latin-1"))
    if type(event) is h11.Response:
        body = await _read_error_body(stream, h11conn)
        reason = event.reason.decode("latin-1", "replace")
        raise WebSocketHandshakeError(event.status_code, reason or "Not a WebSocket", headers, body)
    if type(event) is not h11.InformationalResponse:
        raise WebSocketHandshakeError(599, "Connection closed during the handshake")
    _check_answer(headers, key, subprotocols)
    extensions: list[Extension] = []
    answer = headers.get("Sec-WebSocket-Extensions")
    if answer:
        name = answer.partition(";")[0]
        if deflate is None or name.strip() != "permessage-deflate" or "," in answer:
            raise WebSocketHandshakeError(101, f"Unexpected extensions: {answer!r}", headers)
        try:
            deflate.finalize(answer)
        except ValueError as exc:
            raise WebSocketHandshakeError(
                101, f"Bad extension answer: {answer!r}", headers
            ) from exc
        extensions.append(deflate)
    trailing, _closed = h11conn.trailing_data
    proto = WebSocketProtocol(
        stream, params, client=True, extensions=extensions, trailing_data=bytes(trailing)
    )
    return WebSocketClientConnection(proto, headers, headers.get("Sec-WebSocket-Protocol"))


def _check_answer(headers: HTTPHeaders, key: bytes, subprotocols: list[str]) -> None:
    if headers.get("Upgrade", "").lower() != "websocket":
        raise WebSocketHandshakeError(101, "Missing Upgrade: websocket", headers)
    connection = {part.strip().lower() for part in headers.get("Connection", "").split(",")}
    if "upgrade" not in connection:
        raise WebSocketHandshakeError(101, "Missing Connection: Upgrade", headers)
    if headers.get("Sec-WebSocket-Accept", "").encode("latin-1") != generate_accept_token(key):
        raise WebSocketHandshakeError(101, "Wrong Sec-WebSocket-Accept", headers)
    chosen = headers.get("Sec-WebSocket-Protocol")
    if chosen is not None and chosen not in subprotocols:
        raise WebSocketHandshakeError(101, f"Subprotocol {chosen!r} was not proposed", headers)


async def _next_event(stream: trio.abc.Stream, h11conn: h11.Connection) -> Any:
    while True:
        try:
            event = h11conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise WebSocketHandshakeError(599, f"Invalid answer: {exc}") from exc
        if event is not h11.NEED_DATA:
            return event
        try:
            data = await stream.receive_some(_READ_SIZE)
        except trio.BrokenResourceError as exc:
            raise WebSocketHandshakeError(599, "Connection lost during the handshake") from exc
        h11conn.receive_data(bytes(data))


async def _read_error_body(stream: trio.abc.Stream, h11conn: h11.Connection) -> bytes:
    body = b""
    while len(body) < _MAX_ERROR_BODY:
        event = await _next_event(stream, h11conn)
        if type(event) is not h11.Data:
            break
        body += event.data
    return body[:_MAX_ERROR_BODY]
