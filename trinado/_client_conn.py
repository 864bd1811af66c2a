"""One HTTP/1.1 client connection: an h11 client state machine on a Trio byte stream.

Every wait on the network has the connection's current ``deadline`` (set per request by the
client): past it, the operation raises :class:`HTTPTimeoutError`. Errors from the stream
become :class:`HTTPStreamClosedError`; a malformed response becomes
:class:`~trinado.httputil.HTTPInputError`. After any error the connection is unusable and
the caller closes it.
"""

from __future__ import annotations

import contextlib
import math
import select
import ssl
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Any

import h11
import trio

from ._client_messages import BodyProducer, HTTPStreamClosedError, HTTPTimeoutError
from ._httpheaders import HTTPInputError

__all__ = ["ClientConnection", "OpenStream", "open_connection", "timeout_at"]

OpenStream = Callable[[str, int], Awaitable[trio.abc.Stream]]
"""Opens a byte stream to ``(host, port)``; TLS, when needed, goes on top of it."""

_RECEIVE_SIZE = 65536
# How long to wait for "100 Continue" before sending the body anyway (RFC 9110 10.1.1
# lets a client go ahead: a server that does not know Expect would otherwise stall).
CONTINUE_WAIT = 1.0


@contextlib.contextmanager
def timeout_at(deadline: float, message: str) -> Iterator[None]:
    """A cancel scope with ``deadline`` that raises :class:`HTTPTimeoutError` when it expires.

    Args:
        deadline: in :func:`trio.current_time` terms; ``math.inf`` for none.
        message: the error's message.

    Yields:
        Nothing; the body runs under the deadline.

    Raises:
        HTTPTimeoutError: the deadline passed inside the block.
    """
    try:
        with trio.fail_at(deadline):
            yield
    except trio.TooSlowError:
        raise HTTPTimeoutError(message) from None


def _socket_fd(stream: trio.abc.Stream) -> int | None:
    """The file descriptor under a SocketStream or an SSLStream over one, if any."""
    inner: Any = stream
    if isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    sock = getattr(inner, "socket", None)
    if sock is None:
        return None
    try:
        fd: int = sock.fileno()
    except OSError:
        return None
    return fd if fd >= 0 else None


def _readable_now(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)  # pragma: no cover (Windows)
    return bool(readable)


class ClientConnection:
    """An HTTP/1.1 connection to one server, reusable for sequential requests.

    Args:
        stream: the connected byte stream (TCP, TLS over TCP, or anything else).
        key: the pool key (scheme, host, port, TLS settings) this connection serves.
        max_header_size: largest response head accepted.

    Attributes:
        stream: see Args.
        key: see Args.
        deadline: the current request's deadline, in :func:`trio.current_time` terms.
        requests_sent: how many requests have been started on this connection.
        idle_since: when the connection last went back to the pool.
    """

    def __init__(self, stream: trio.abc.Stream, key: Hashable, *, max_header_size: int) -> None:
        self.stream = stream
        self.key = key
        self.deadline = math.inf
        self.requests_sent = 0
        self.idle_since = 0.0
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_header_size)
        self._max_header_size = max_header_size
        self._eof = False
        self._received = 0  # bytes read for the current request
        self._head_received = False  # the current request's final response head came
        self._fd = _socket_fd(stream)
        self._closed = False

    # --- state -----------------------------------------------------------------------------

    @property
    def received_anything(self) -> bool:
        """Whether any byte of a response arrived since the current request started."""
        return self._received > 0

    def looks_dead(self) -> bool:
        """Whether an idle connection can no longer be used.

        An idle keep-alive connection must have nothing to read: readable means the server
        closed it (or sent something it should not have).
        """
        if self._closed or self._eof:
            return True
        if self._fd is None:
            return False
        try:
            return _readable_now(self._fd)
        except (OSError, ValueError):
            return True

    def finish_cycle(self) -> bool:
        """Prepares for the next request after a complete exchange.

        Returns:
            True when the connection can carry another request; False when it must close
            (the server said so, HTTP/1.0, the request body was never sent, or unexpected
            bytes followed the response).
        """
        conn = self._h11
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        if conn.trailing_data[0] or conn.trailing_data[1]:
            return False
        conn.start_next_cycle()
        return True

    async def aclose(self) -> None:
        """Closes the connection at once (no graceful TLS close: HTTP does not need it)."""
        self._closed = True
        await trio.aclose_forcefully(self.stream)

    # --- sending ---------------------------------------------------------------------------

    async def send_request(
        self,
        request: h11.Request,
        body: bytes | None,
        body_producer: BodyProducer | None,
        *,
        expect_continue: bool,
    ) -> h11.Response:
        """Sends a request and returns the head of the final response.

        Args:
            request: the request head.
            body: the whole body, or None.
            body_producer: an async function writing the body, or None.
            expect_continue: the head carries ``Expect: 100-continue``: wait for the
                interim response (briefly) before sending the body. A final response in
                its place means the body is never sent.

        Returns:
            The head of the final (non-1xx) response.

        Raises:
            HTTPTimeoutError: the deadline passed.
            HTTPStreamClosedError: the connection failed or the server closed it.
            HTTPInputError: the response is not valid HTTP/1.1 or its head is too large.
            ValueError: the request is not valid HTTP (bad header, wrong body length).
        """
        self.requests_sent += 1
        self._received = 0
        self._head_received = False
        await self._send(request)
        if expect_continue:
            head: h11.Response | None = None
            with trio.move_on_at(min(self.deadline, trio.current_time() + CONTINUE_WAIT)):
                head = await self._receive_head(stop_at_continue=True)
            if head is not None and head.status_code >= 200:
                return head  # refused before the body: the connection cannot be reused
        try:
            await self._send_body(body, body_producer)
        except HTTPStreamClosedError:
            # The server may have answered early (401, 413) and closed: use that answer.
            try:
                head = await self._receive_head(stop_at_continue=False)
            except (HTTPStreamClosedError, HTTPInputError):
                head = None
            if head is None:
                raise
            return head
        head = await self._receive_head(stop_at_continue=False)
        assert head is not None
        return head

    async def _send_body(self, body: bytes | None, body_producer: BodyProducer | None) -> None:
        if body:
            await self._send(h11.Data(data=body))
        elif body_producer is not None:

            async def write(chunk: bytes) -> None:
                if chunk:
                    await self._send(h11.Data(data=bytes(chunk)))

            await body_producer(write)
        await self._send(h11.EndOfMessage())

    async def _send(self, event: Any) -> None:
        try:
            data = self._h11.send(event)
        except h11.LocalProtocolError as exc:
            raise ValueError(f"Invalid request: {exc}") from exc
        if not data:
            return
        with timeout_at(self.deadline, "Timeout during request"):
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise HTTPStreamClosedError("Connection closed while sending the request") from exc

    # --- receiving -------------------------------------------------------------------------

    async def _receive_head(self, *, stop_at_continue: bool) -> h11.Response | None:
        """Reads up to the final response head; None for "100 Continue" when asked to stop."""
        while True:
            event = await self._next_event()
            if type(event) in (h11.Response, h11.InformationalResponse):
                self._check_head_size(event)
            if type(event) is h11.Response:
                self._head_received = True
                return event
            if type(event) is h11.InformationalResponse:
                if event.status_code == 100 and stop_at_continue:
                    return None
                continue  # 100 after we gave up waiting, 103 Early Hints, ...
            raise HTTPInputError(f"Unexpected {type(event).__name__} before the response")

    def _check_head_size(self, event: h11.Response | h11.InformationalResponse) -> None:
        # h11 bounds a head that arrives in pieces; one that came in a single read is
        # measured here (status line, each "name: value\r\n", the blank line).
        size = 15 + len(event.reason) + 2
        size += sum(len(name) + len(value) + 4 for name, value in event.headers.raw_items())
        if size > self._max_header_size:
            raise HTTPInputError(
                f"Response head larger than max_header_size ({self._max_header_size} bytes)"
            )

    async def receive_data(self) -> bytes | None:
        """The next piece of the response body as it came off the wire; None at its end.

        Returns:
            Bytes (never empty), or None once the body is complete.

        Raises:
            HTTPTimeoutError: the deadline passed.
            HTTPStreamClosedError: the connection closed before the end of the body.
            HTTPInputError: the body framing is invalid.
        """
        while True:
            event = await self._next_event()
            if type(event) is h11.Data:
                if event.data:
                    return bytes(event.data)
                continue
            if type(event) is h11.EndOfMessage:
                return None
            raise HTTPInputError(f"Unexpected {type(event).__name__} in the response body")

    async def _next_event(self) -> Any:
        conn = self._h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise self._translate(exc) from exc
            if event is not h11.NEED_DATA:
                return event
            with timeout_at(self.deadline, "Timeout during request"):
                try:
                    data = await self.stream.receive_some(_RECEIVE_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    raise HTTPStreamClosedError(
                        "Connection closed while reading the response"
                    ) from exc
            if not data:
                self._eof = True
            self._received += len(data)
            try:
                conn.receive_data(bytes(data))
            except RuntimeError as exc:  # data after EOF: cannot happen with a real stream
                raise HTTPStreamClosedError("Connection already closed") from exc

    def _translate(self, exc: h11.RemoteProtocolError) -> Exception:
        if exc.error_status_hint == 431:
            return HTTPInputError(
                f"Response head larger than max_header_size ({self._max_header_size} bytes)"
            )
        if self._eof:
            if not self._head_received:
                return HTTPStreamClosedError("Connection closed before the response")
            return HTTPStreamClosedError(f"Connection closed in the response body: {exc}")
        return HTTPInputError(f"Malformed HTTP response: {exc}")


async def open_connection(
    key: Hashable,
    host: str,
    port: int,
    *,
    open_stream: OpenStream,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str,
    max_header_size: int,
) -> ClientConnection:
    """Opens a stream to ``host:port`` and, for HTTPS, does the TLS handshake.

    The caller puts this under the connect deadline.

    Args:
        key: the pool key for the new connection.
        host: where to connect (after any hostname mapping).
        port: the TCP port.
        open_stream: how to open the byte stream.
        ssl_context: the TLS context for HTTPS, None for plain HTTP.
        server_hostname: the name the certificate must match (the URL's host).
        max_header_size: largest response head accepted.

    Returns:
        The new connection.

    Raises:
        OSError: the connection could not be made (DNS, refused, unreachable); for a
            certificate problem, :class:`ssl.SSLCertVerificationError`.
        HTTPStreamClosedError: the server closed the connection during the handshake.
    """
    stream: trio.abc.Stream = await open_stream(host, port)
    if ssl_context is not None:
        tls = trio.SSLStream(
            stream, ssl_context, server_hostname=server_hostname, https_compatible=True
        )
        try:
            await tls.do_handshake()
        except trio.BrokenResourceError as exc:
            await trio.aclose_forcefully(stream)
            if isinstance(exc.__cause__, ssl.SSLError) and not isinstance(
                exc.__cause__, ssl.SSLEOFError
            ):
                raise exc.__cause__ from None
            raise HTTPStreamClosedError("Connection closed during the TLS handshake") from exc
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        stream = tls
    return ClientConnection(stream, key, max_header_size=max_header_size)
