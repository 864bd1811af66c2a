"""The writing half of an HTTP/1.1 connection: response heads, bodies, and the socket.

:class:`ResponseWriter` is a base class of :class:`~trinado._http1.HTTP1Connection`; it
holds the response API handlers call through ``request.connection`` and the one place that
writes to the socket. A plain socket is written with ``os.write`` and only falls back to
trio (under ``write_timeout``) when the socket is full.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import h11
import trio
from h11._headers import Headers as _H11Headers

from ._wire import date_cache, encode_headers, reason_bytes
from .httputil import HTTPHeaders, responses
from .iostream import StreamClosedError
from .log import gen_log

if TYPE_CHECKING:
    from ._context import ConnectionContext
    from ._http1 import HTTP1ConnectionParameters
    from ._tracker import ConnectionTracker
    from .httputil import ResponseStartLine

__all__ = ["ResponseWriter", "ServerConnection"]

# h11 events are immutable, so the one without trailers can be shared.
_END_OF_MESSAGE = h11.EndOfMessage()
# A connection whose socket never makes it wait yields to other tasks after this many
# reads and writes.
_YIELD_EVERY = 32


class ServerConnection(h11.Connection):
    """h11's server-side connection, sparing it work on responses framed beforehand.

    Before writing a response head h11 rebuilds it, fixing its framing headers
    (Transfer-Encoding, Content-Length, Connection: close) for the request at hand. A head
    that `encode_headers` gave a valid Content-Length and no Transfer-Encoding needs no
    fixing while h11 keeps the connection alive: the writer marks such a head
    (``framed_response``) and h11 takes it as it is. Everything else goes h11's own way.
    This leans on h11 0.16's internals (pinned in pyproject.toml; tests cover both ways).

    Args:
        max_incomplete_event_size: the bound on a request head still being received.
    """

    def __init__(self, max_incomplete_event_size: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_incomplete_event_size)
        #: The response, just being sent, whose framing headers need no fixing.
        self.framed_response: h11.Response | None = None

    def _clean_up_response_headers_for_sending(self, response: h11.Response) -> h11.Response:
        if response is self.framed_response and self._cstate.keep_alive:
            return response
        return super()._clean_up_response_headers_for_sending(response)


class ResponseWriter:
    """Response output for a connection; the state it uses is set up by the connection."""

    __slots__ = (
        "_blocked",
        "_body_failed",
        "_keep_alive_http10",
        "_peer_gone",
        "_response_finished",
        "_response_started",
        "_send_waiters",
        "_sending",
        "_unyielded",
    )

    stream: trio.abc.Stream
    params: HTTP1ConnectionParameters
    context: ConnectionContext
    _h11: ServerConnection
    _tracker: ConnectionTracker
    _fd: int
    _peer_gone: bool
    _sending: bool
    _send_waiters: trio.lowlevel.ParkingLot | None
    _blocked: bool
    _unyielded: int
    _is_head: bool
    _response_started: bool
    _response_finished: bool
    _body_done: bool
    _body_failed: bool
    _keep_alive_http10: bool

    async def write_headers(
        self,
        start_line: ResponseStartLine,
        headers: HTTPHeaders,
        chunk: bytes | None = None,
    ) -> None:
        """Send the response head (and optionally the first piece of the body).

        Without a Content-Length header the body is sent chunked (HTTP/1.1 clients) or
        delimited by closing the connection (HTTP/1.0 clients).

        Raises:
            StreamClosedError: the client is gone or the write timed out.
        """
        await self._wait_turn()
        data = self._head_bytes(start_line.code, start_line.reason, headers, None)
        if chunk:
            data += self._body_bytes(chunk)
        await self._send_bytes(data)

    async def write(self, chunk: bytes) -> None:
        """Send more of a response body started with :meth:`write_headers`.

        Raises:
            StreamClosedError: the client is gone or the write timed out.
        """
        if chunk:
            await self._wait_turn()
            await self._send_bytes(self._body_bytes(chunk))

    async def finish(self) -> None:
        """End a response started with :meth:`write_headers`.

        Raises:
            StreamClosedError: the client is gone or the write timed out.
        """
        await self._wait_turn()
        if self._response_finished:
            return
        self._response_finished = True
        await self._send_bytes(self._end_bytes())

    async def send_response(
        self, start_line: ResponseStartLine, headers: HTTPHeaders, body: bytes
    ) -> None:
        """Send a whole response (head, body and end) in one write.

        Content-Length is added from ``len(body)`` when the headers have none.

        Raises:
            StreamClosedError: the client is gone or the write timed out.
        """
        if self._sending:
            await self._wait_turn()
        head = self._head_bytes(start_line.code, start_line.reason, headers, len(body))
        h11conn = self._h11
        # send_with_data_passthrough gives h11's pieces without joining them (a Data event's
        # piece is the body itself): one join for the whole response.
        if body and not self._is_head:
            parts = h11conn.send_with_data_passthrough(h11.Data(data=body)) or []
            parts.insert(0, head)
            parts += h11conn.send_with_data_passthrough(_END_OF_MESSAGE) or ()
            data = b"".join(parts)
        else:
            data = head + self._end_bytes()
        self._response_finished = True
        await self._send_bytes(data)

    def _head_bytes(
        self, status: int, reason: str | None, headers: HTTPHeaders, length: int | None
    ) -> bytes:
        if self._response_started:
            raise RuntimeError("The response head was sent already")
        raw, has_length, has_te = encode_headers(headers, status, length)
        if not self._body_done and self._h11.their_state is h11.SEND_BODY:
            # Nobody read the request body: the connection cannot be reused after this.
            self._body_failed = True
        closing = self._tracker.draining or self.params.no_keep_alive or self._body_failed
        if closing:
            raw.append((b"Connection", b"connection", b"close"))
            self._keep_alive_http10 = False
        elif self._keep_alive_http10 and not has_length:
            self._keep_alive_http10 = False  # a body of unknown length ends with the connection
        h11conn = self._h11
        try:
            # Names and values were checked above, framing headers as h11 checks them: given
            # its own Headers and _parsed=True, h11 neither checks them again with its regular
            # expressions nor copies them (the most expensive part of sending a response).
            response = h11.Response(
                status_code=status,
                headers=_H11Headers(raw),
                reason=reason_bytes(status, reason),
                _parsed=True,
            )
            if has_length and not has_te:
                h11conn.framed_response = response
            try:
                data = h11conn.send(response)
            finally:
                h11conn.framed_response = None
        except h11.LocalProtocolError as exc:
            self._broken()
            raise ValueError(f"Invalid response head: {exc}") from exc
        self._response_started = True
        if self._keep_alive_http10:
            # h11 adds "Connection: close" for every HTTP/1.0 peer; this client asked to
            # stay, and the response has a length, so keep-alive it is (as Tornado does).
            data = data.replace(b"\r\nConnection: close\r\n", b"\r\nConnection: keep-alive\r\n", 1)
        return data

    def _body_bytes(self, chunk: bytes) -> bytes:
        if self._is_head:
            return b""
        return self._h11.send(h11.Data(data=chunk))

    def _end_bytes(self) -> bytes:
        return self._h11.send(_END_OF_MESSAGE)

    async def _wait_turn(self) -> None:
        """Wait while another task's write is still being sent (the slow path).

        Framing a message with h11 and handing it to the socket is one step unless the
        socket is full; a second writer must not slip its bytes in while the first one's
        rest is waiting to go out.
        """
        while self._sending:
            if self._send_waiters is None:
                self._send_waiters = trio.lowlevel.ParkingLot()
            await self._send_waiters.park()
        if self._peer_gone:
            raise StreamClosedError()

    async def _send_bytes(self, data: bytes) -> None:
        """Send ``data`` (framed by h11 just before, with no await in between)."""
        if self._peer_gone:
            raise StreamClosedError()
        fd = self._fd
        if fd >= 0:
            try:
                sent = os.write(fd, data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._broken()
                raise StreamClosedError(exc) from exc
            if sent == len(data):
                # Let other tasks run now and then when the socket never makes us wait
                # (inlined, as in _http1's read: no coroutine per write on the hot path).
                self._unyielded += 1
                if self._unyielded >= _YIELD_EVERY:
                    self._unyielded = 0
                    await trio.lowlevel.checkpoint()
                return
            data = data[sent:]
        # The socket is full (the slow path): wait for the client, at most write_timeout.
        self._blocked = True
        self._sending = True
        try:
            with trio.move_on_after(_timeout(self.params.write_timeout)) as scope:
                await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._broken()
            raise StreamClosedError(exc) from exc
        except BaseException:
            # Cancelled part way: h11 thinks all of it went out; it may not have.
            self._broken()
            raise
        finally:
            self._sending = False
            if self._send_waiters is not None:
                self._send_waiters.unpark_all()
        if scope.cancelled_caught:
            gen_log.info("Timed out writing to %s", self.context.remote_ip)
            self._broken()
            raise StreamClosedError()

    def _broken(self) -> None:
        """What was sent no longer matches h11's state: no more writes, then close."""
        self._peer_gone = True
        with contextlib.suppress(h11.LocalProtocolError):
            self._h11.send_failed()

    async def _send_simple_response(self, status: int, body: bytes = b"", *, close: bool) -> None:
        """Answer without a handler (protocol errors, timeouts); ends the connection."""
        if self._sending:
            with contextlib.suppress(StreamClosedError):
                await self._wait_turn()
        if (
            self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE)
            or self._peer_gone
            or self._response_started
        ):
            return
        reason = responses.get(status, "Unknown")
        body = body or f"{status}: {reason}".encode()
        headers = [
            (b"Content-Type", b"text/plain; charset=UTF-8"),
            (b"Content-Length", str(len(body)).encode("ascii")),
            (b"Date", date_cache.get()),
        ]
        if close:
            headers.append((b"Connection", b"close"))
        self._keep_alive_http10 = False
        try:
            data = self._h11.send(
                h11.Response(status_code=status, headers=headers, reason=reason.encode("ascii"))
            )
            data += self._body_bytes(body) + self._h11.send(_END_OF_MESSAGE)
        except h11.LocalProtocolError:
            return
        self._response_started = self._response_finished = True
        with contextlib.suppress(StreamClosedError):
            await self._send_bytes(data)


def _timeout(value: float | None) -> float:
    return float("inf") if value is None else value
