"""One HTTP/1.1 connection: h11 keeps the protocol state, this module does the I/O.

A connection is one Trio task (``HTTP1Connection.serve``) that loops over request cycles:
read a request head under a deadline, hand an :class:`~trinado.httputil.HTTPServerRequest`
to the application, write what the application answers, then either start the next cycle
(keep-alive, pipelining) or close cleanly.

Invariants:

* Only the connection task reads the socket, except while the disconnect watcher runs; the
  watcher runs only when the request body has been read completely, and the connection task
  waits for it to stop before it reads again.
* Every read and write has a deadline (``header_timeout``, ``idle_connection_timeout``,
  ``body_timeout``, ``write_timeout``).
* Every buffer is bounded: the request head by ``max_header_size`` (h11's
  ``max_incomplete_event_size``), the body by ``max_body_size``, bytes read ahead while a
  handler runs by ``max_header_size``.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11
import trio

from ._context import ConnectionContext, peer_address
from ._http1_body import BodyLimits, RequestBodyError
from ._http1_write import _YIELD_EVERY, ResponseWriter, ServerConnection, _timeout
from ._tracker import ConnectionTracker
from ._wire import head_size
from .httputil import HTTPHeaders, HTTPInputError, HTTPServerRequest
from .iostream import StreamClosedError
from .log import app_log, gen_log

__all__ = ["ConnectionContext", "HTTP1Connection", "HTTP1ConnectionParameters", "RequestBodyError"]

# How much to ask the socket for at a time.
_READ_SIZE = 65536

RequestHandlerFn = Callable[[HTTPServerRequest], Awaitable[None]]


@dataclass(frozen=True)
class HTTP1ConnectionParameters:
    """Per-connection limits and timeouts; the defaults follow Tornado where it has one.

    Timeouts are in seconds; None turns that deadline off (not recommended for servers facing
    the Internet).
    """

    max_header_size: int = 65536
    max_body_size: int = 100 * 1024 * 1024
    header_timeout: float | None = 30.0
    body_timeout: float | None = None
    idle_connection_timeout: float | None = 3600.0
    write_timeout: float | None = 60.0
    decompress: bool = False
    no_keep_alive: bool = False
    xheaders: bool = False
    trusted_downstream: frozenset[str] = field(default_factory=frozenset)
    #: A request still running this long gets a watcher that notices the client leaving.
    watch_after: float = 0.1


_INF = float("inf")
# The usual request line pieces, decoded once.
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}
_VERSIONS = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0"}
# h11 events are immutable, so the one without trailers can be shared.
_END_OF_MESSAGE = h11.EndOfMessage()


class HTTP1Connection(ResponseWriter):
    """Serves the requests of one client connection over h11.

    Handlers reach it as ``request.connection``. Its public methods are the low-level
    response API (``write_headers``/``write``/``finish``, ``send_response``) and the body
    API (``read_body``, ``receive_body_chunk``), as in Tornado's ``HTTP1Connection``.

    Args:
        stream: the byte stream to the client (a socket, TLS or in-memory stream).
        handle_request: called once per request with its head parsed; the body is read by
            the callee through this connection.
        params: limits and timeouts.
        tracker: the server-side bookkeeping shared by all connections.
        protocol: ``"http"`` or ``"https"``.
    """

    # Thousands of these live at once (idle keep-alive connections, WebSockets): no __dict__.
    __slots__ = (
        "_body",
        "_body_done",
        "_close_callback",
        "_closed",
        "_cut_off",
        "_fd",
        "_gzip_body",
        "_h11",
        "_handle_request",
        "_is_head",
        "_nursery",
        "_phase",
        "_request",
        "_request_active",
        "_scope",
        "_tracker",
        "_upgraded",
        "_watcher_done",
        "_watcher_scope",
        "context",
        "on_shutdown",
        "params",
        "stream",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        handle_request: RequestHandlerFn,
        params: HTTP1ConnectionParameters,
        tracker: ConnectionTracker,
        protocol: str = "http",
    ) -> None:
        self.stream = stream
        # A plain socket is read and written with os.read/os.write on its (non-blocking)
        # descriptor, falling back to trio's waits only when it would block: trio's
        # SocketStream wrappers cost about a fifth of a small request. -1: use the stream.
        self._fd = (
            stream.socket.fileno()
            if type(stream) is trio.SocketStream and os.name == "posix"
            else -1
        )
        self._blocked = False
        self._unyielded = 0
        self._sending = False  # a write is waiting for room in the socket (slow path)
        self._send_waiters: trio.lowlevel.ParkingLot | None = None
        self.params = params
        self.context = ConnectionContext(peer_address(stream), protocol)
        self._handle_request = handle_request
        self._tracker = tracker
        self._h11 = ServerConnection(params.max_header_size)
        self._nursery: trio.Nursery | None = None
        # Per request state.
        self._request: HTTPServerRequest | None = None
        # The connection's deadline: every network wait sets it (see _set_deadline), and
        # cancelling it ends the connection (peer gone, shutdown of an idle connection).
        self._scope = trio.CancelScope()
        self._phase = "new"
        self._request_active = False
        self._cut_off = False  # a request was cancelled from outside (server shutdown)
        self._upgraded = False  # the connection left HTTP (a WebSocket); see upgrade()
        #: Called at server shutdown while the connection is upgraded (a WebSocket sets it
        #: to close itself with 1001 without keeping a task to watch for shutdown).
        self.on_shutdown: Callable[[], object] | None = None
        self._is_head = False
        self._response_started = False
        self._response_finished = False
        self._keep_alive_http10 = False
        self._close_callback: Callable[[], object] | None = None
        self._body: BodyLimits | None = None  # made when the body is first touched
        self._gzip_body = False
        self._body_done = False
        self._body_failed = False
        self._peer_gone = False
        self._closed = False
        # Disconnect watcher (slow path only).
        self._watcher_scope: trio.CancelScope | None = None
        self._watcher_done: trio.Event | None = None

    # ----------------------------------------------------------------- the loop

    async def serve(self) -> None:
        """Serve requests until the client or the server ends the connection."""
        tracker = self._tracker
        tracker.connections.add(self)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._scope = nursery.cancel_scope
                first = True
                while True:
                    request = await self._read_request(first)
                    first = False
                    if request is None:
                        break
                    await self._run_request(request)
                    if not self._next_cycle():
                        break
                    if not self._blocked:
                        # Served without waiting (pipelined requests): let others run.
                        await trio.lowlevel.checkpoint()
                    self._blocked = False
                self._nursery = None
            if self._scope.cancelled_caught:
                await self._after_cancel()
        except Exception as exc:  # one broken connection must never take the server down
            gen_log.error(
                "Uncaught error on connection from %s", self.context.remote_ip, exc_info=exc
            )
        finally:
            self._nursery = None
            tracker.connections.discard(self)
            tracker.request_done(self)
            await self._close()

    async def _after_cancel(self) -> None:
        """The connection scope was cancelled: a deadline passed, the peer left or shutdown."""
        phase = self._phase
        if phase == "head":
            gen_log.info("Timed out reading the request head from %s", self.context.remote_ip)
            with trio.move_on_after(_timeout(self.params.write_timeout)):
                await self._send_simple_response(408, close=True)
        if self._request_active:
            self._request_active = False
            self._tracker.request_done(self)
            if not self._response_finished:
                await self._connection_lost()

    def _set_deadline(self, phase: str, timeout: float | None) -> None:
        """Enter a phase; the connection is cancelled if it lasts longer than ``timeout``."""
        self._phase = phase
        self._scope.deadline = _INF if timeout is None else trio.current_time() + timeout

    async def _read_request(self, first: bool) -> HTTPServerRequest | None:
        """Read the next request head; None when the connection should close."""
        h11conn = self._h11
        params = self.params
        try:
            event = h11conn.next_event()
        except h11.RemoteProtocolError as exc:
            await self._send_protocol_error(exc)
            return None
        if event is h11.NEED_DATA:
            # Nothing of the next request buffered yet: wait for its first byte under the
            # idle timeout (header timeout for a fresh connection), then give the rest of the
            # head header_timeout from that first byte.
            # A connection that has sent nothing is closed quietly when its time is up: a
            # fresh one gets header_timeout, a kept-alive one idle_connection_timeout.
            if h11conn.trailing_data[0]:
                # Part of the next head came with the previous request: the rest is due
                # within header_timeout, like any head that has begun.
                data = await self._receive("head", params.header_timeout)
            elif first:
                data = await self._receive("idle", params.header_timeout)
            else:
                if self._tracker.draining:
                    return None
                data = await self._receive("idle", params.idle_connection_timeout)
            if not data:
                return None
            h11conn.receive_data(data)
            head_bytes = len(data)
            head_deadline_set = self._phase == "head"
            while True:
                try:
                    event = h11conn.next_event()
                except h11.RemoteProtocolError as exc:
                    await self._send_protocol_error(exc)
                    return None
                if event is not h11.NEED_DATA:
                    break
                if not head_deadline_set:
                    # The head is incomplete: the rest of it must come within header_timeout.
                    self._set_deadline("head", params.header_timeout)
                    head_deadline_set = True
                data = await self._receive()
                head_bytes += len(data)
                h11conn.receive_data(data)
        else:
            head_bytes = -1  # found whole in the buffer (pipelined): size unknown
        if type(event) is not h11.Request:
            # ConnectionClosed (a clean close between requests) or PAUSED after an upgrade.
            return None
        # h11 bounds only a head that is still incomplete; one that arrived whole in a single
        # read is measured here (only when the read was large enough to matter).
        if (head_bytes < 0 or head_bytes > params.max_header_size) and head_size(
            event
        ) > params.max_header_size:
            await self._send_simple_response(431, b"Request header fields too large", close=True)
            return None
        if event.http_version not in (b"1.1", b"1.0"):
            await self._send_simple_response(505, close=True)
            return None
        try:
            return self._build_request(event)
        except HTTPInputError as exc:
            gen_log.info("Bad request from %s: %s", self.context.remote_ip, exc)
            await self._send_simple_response(400, str(exc).encode("utf-8", "replace"), close=True)
            return None

    def _build_request(self, event: h11.Request) -> HTTPServerRequest:
        method = _METHODS.get(event.method) or event.method.decode("ascii")
        target = event.target.decode("latin-1")
        version = _VERSIONS.get(event.http_version) or "HTTP/" + event.http_version.decode("ascii")
        headers = HTTPHeaders._from_h11(event.headers)
        self._is_head = method == "HEAD"
        self._response_started = self._response_finished = False
        self._close_callback = None
        self._body = None
        self._gzip_body = False
        self._body_done = False
        self._body_failed = False
        # h11 serves HTTP/1.0 clients one request a connection; Tornado keeps an HTTP/1.0
        # connection open when the client asks for it, so that is done here (see send).
        self._keep_alive_http10 = (
            version == "HTTP/1.0"
            and not self.params.no_keep_alive
            and headers.get("Connection", "").lower() == "keep-alive"
            # Tornado's rule: only when the body's end is known; never with
            # Transfer-Encoding (RFC 9112, 6.1).
            and ("Content-Length" in headers or method in ("GET", "HEAD"))
            and "Transfer-Encoding" not in headers
        )
        if self.params.xheaders:
            self.context._reset()
            self.context._apply_xheaders(headers, self.params.trusted_downstream)
        request = HTTPServerRequest(
            method=method,
            uri=target,
            version=version,
            headers=headers,
            connection=self,
        )
        self._request = request
        return request

    async def _run_request(self, request: HTTPServerRequest) -> None:
        headers = request.headers
        chunked = "Transfer-Encoding" in headers
        # (get_list: Mapping.get would raise and catch KeyError twice for a missing header.)
        lengths = headers.get_list("Content-Length")
        length = lengths[0] if lengths else None  # (h11 has merged repeated equal values)
        if chunked and length is not None:
            # h11 lets Transfer-Encoding win; a server must not guess (request smuggling).
            await self._send_simple_response(
                400, b"Both Transfer-Encoding and Content-Length", close=True
            )
            return
        if not chunked and (length is None or length == "0"):
            # No body: take h11's EndOfMessage now, so the request counts as fully read
            # (the disconnect watcher may then read the socket).
            self._h11.next_event()
            self._body_done = True
        if self.params.decompress and headers.get("Content-Encoding") == "gzip":
            self._gzip_body = True
            headers.add("X-Consumed-Content-Encoding", headers["Content-Encoding"])
            del headers["Content-Encoding"]
        tracker = self._tracker
        self._phase = "handler"
        scope = self._scope
        if scope.deadline != _INF:
            # (The setter is costly; the deadline is usually off already: it is set only
            # when a read has to wait.)
            scope.deadline = _INF
        self._request_active = True
        tracker.request_started(self)
        try:
            await self._handle_request(request)
        except StreamClosedError:
            self._peer_gone = True
        except RequestBodyError as exc:
            # Only a callee that does not handle body errors itself gets here.
            gen_log.info("Bad request body from %s: %s", self.context.remote_ip, exc)
            if exc.status_code is not None and not self._response_started:
                await self._send_simple_response(exc.status_code, str(exc).encode(), close=True)
            self._body_failed = True
        except Exception as exc:
            app_log.error("Uncaught exception %s", request, exc_info=exc)
            if not self._response_started and not self._peer_gone:
                with contextlib.suppress(StreamClosedError):
                    await self._send_simple_response(500, close=True)
            elif not self._response_finished:
                # Part of a streamed response went out: close without ending it properly,
                # so that the client sees a truncated response, not a complete one.
                self._broken()
        except BaseException:
            # Cancelled from outside (server shutdown), possibly inside an exception group
            # from the handler's own nursery.
            self._cut_off = True
            raise
        finally:
            # (On cancellation this is done by _after_cancel, outside the cancelled scope.)
            if not self._scope.cancel_called:
                self._request_active = False
                tracker.request_done(self)
                if self._watcher_done is not None:
                    await self._stop_watcher()
        if self._peer_gone or (self._body_failed and not self._response_started):
            # Gone, or a body that could not be read (over the limit, too slow): nothing is
            # answered and the connection closes, so the handler tidies up as if the client
            # had left.
            await self._connection_lost()
            return
        if not self._response_finished:
            await self._finish_unfinished_response()

    async def _finish_unfinished_response(self) -> None:
        """The callee returned without finishing its response: end it as well as we can."""
        try:
            if not self._response_started:
                gen_log.error("No response was written for %s", self._request)
                await self._send_simple_response(500, close=True)
            else:
                await self.finish()
        except StreamClosedError:
            self._peer_gone = True

    async def _connection_lost(self) -> None:
        callback, self._close_callback = self._close_callback, None
        if callback is None:
            return
        # The callback gets a bounded moment to tidy up; the client is gone already.
        with trio.move_on_after(_timeout(self.params.write_timeout)):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                app_log.error("Exception in connection close callback", exc_info=exc)

    def _next_cycle(self) -> bool:
        """Prepare for the next request; False when the connection must close."""
        h11conn = self._h11
        if self._peer_gone or self._closed or self._body_failed:
            return False
        if h11conn.their_state is h11.SEND_BODY:
            # The handler did not read the body. A bodiless request has its EndOfMessage
            # buffered already; anything else is not worth reading just to throw away.
            try:
                event = h11conn.next_event()
            except h11.RemoteProtocolError:
                return False
            if type(event) is not h11.EndOfMessage:
                return False
        if self._keep_alive_http10 and h11conn.our_state is h11.MUST_CLOSE:
            return self._restart_http10()
        if h11conn.our_state is not h11.DONE or h11conn.their_state is not h11.DONE:
            return False
        h11conn.start_next_cycle()
        self._response_started = self._response_finished = False
        return True

    def _restart_http10(self) -> bool:
        """Keep an HTTP/1.0 keep-alive connection open by giving it a fresh h11 state."""
        if self._h11.their_state not in (h11.DONE, h11.MUST_CLOSE):
            return False
        data, closed = self._h11.trailing_data
        if closed:
            return False
        self._h11 = ServerConnection(self.params.max_header_size)
        if data:  # (receive_data(b"") would mean end of file)
            self._h11.receive_data(data)
        self._response_started = self._response_finished = False
        return True

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fd = -1  # the descriptor may be reused by the OS once the stream closes
        stream = self.stream
        with trio.move_on_after(1.0) as scope:
            scope.shield = True
            if self._cut_off and not self._peer_gone:
                # Cancelled from outside (the server stopping) before the answer was sent.
                if not self._response_started:
                    await self._send_simple_response(503, close=True)
                await self._connection_lost()
            if isinstance(stream, trio.SocketStream) and not self._peer_gone:
                # Half-close and read briefly so that the client sees our last response
                # instead of a reset.
                with contextlib.suppress(
                    trio.BrokenResourceError, trio.ClosedResourceError, OSError
                ):
                    await stream.send_eof()
                    with trio.move_on_after(0.1):
                        while await stream.receive_some(_READ_SIZE):
                            pass
        self._peer_gone = True  # nothing more may be written, whatever still holds us
        await trio.aclose_forcefully(stream)

    # ------------------------------------------------------------------ upgrade

    @property
    def shutdown_started(self) -> trio.Event:
        """Set when the server begins a graceful shutdown."""
        return self._tracker.shutdown_started

    @property
    def nursery(self) -> trio.Nursery | None:
        """The connection's nursery, for helper tasks of an upgraded connection.

        Such tasks must end (be cancelled) before the handler returns.
        """
        return self._nursery

    async def upgrade(self, headers: list[tuple[bytes, bytes]]) -> tuple[trio.abc.Stream, bytes]:
        """Answer ``101 Switching Protocols`` and hand the connection over.

        After this the request's handler owns the stream until it returns; the connection
        then closes it. No disconnect watcher runs for the request (the new protocol reads
        the stream itself).

        Args:
            headers: the headers of the 101 response (Upgrade, Connection, ...).

        Returns:
            The stream, and the bytes the client sent after its request head (already read
            from the stream, they belong to the new protocol).

        Raises:
            RuntimeError: the request did not ask for an upgrade, or a response was started.
            StreamClosedError: the client is gone.
        """
        if self._response_started:
            raise RuntimeError("Cannot upgrade: a response was started already")
        self._upgraded = True
        self._tracker.request_done(self)
        # A watcher started while the handler was busy would compete for the stream; what
        # it read so far is in h11's buffer and comes back as trailing data.
        await self._stop_watcher()
        await self._wait_turn()
        try:
            data = self._h11.send(
                h11.InformationalResponse(
                    status_code=101, headers=headers, reason=b"Switching Protocols"
                )
            )
        except h11.LocalProtocolError as exc:
            raise RuntimeError(f"Cannot upgrade this request: {exc}") from exc
        self._response_started = self._response_finished = True
        await self._send_bytes(data)
        trailing, _closed = self._h11.trailing_data
        return self.stream, trailing

    # ---------------------------------------------------------------- shutdown

    def _start_draining(self) -> None:
        """The server is stopping: close now if idle, else after the current response."""
        if self._phase == "idle":
            self._scope.cancel()
        elif self.on_shutdown is not None:
            self.on_shutdown()

    # ------------------------------------------------------ disconnect watcher

    def _start_watcher(self) -> bool:
        """Start watching for the client leaving; False if the body is still being read."""
        if (
            not self._request_active
            or self._response_finished
            or self._upgraded
            or self._nursery is None
        ):
            return True  # (after the response, the client leaving cancels nothing)
        if not self._body_done and self._h11.their_state is not h11.DONE:
            return False
        if self._watcher_done is None:
            self._watcher_done = trio.Event()
            self._nursery.start_soon(self._watch_disconnect)
        return True

    async def _watch_disconnect(self) -> None:
        done = self._watcher_done
        assert done is not None
        try:
            with trio.CancelScope() as scope:
                self._watcher_scope = scope
                if not self._request_active:
                    return
                read_ahead = 0
                while read_ahead <= self.params.max_header_size:
                    try:
                        data = await self.stream.receive_some(_READ_SIZE)
                    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                        data = b""
                    if not data:
                        self._peer_gone = True
                        if not self._response_finished:
                            self._scope.cancel()
                        return
                    # A pipelined request: keep it for the next cycle.
                    read_ahead += len(data)
                    self._h11.receive_data(bytes(data))
        finally:
            self._watcher_scope = None
            done.set()

    async def _stop_watcher(self) -> None:
        done = self._watcher_done
        if done is None:
            return
        if self._watcher_scope is not None:
            self._watcher_scope.cancel()
        await done.wait()
        self._watcher_done = None

    # -------------------------------------------------------------- body input

    def _body_limits(self) -> BodyLimits:
        body = self._body
        if body is None:
            params = self.params
            body = self._body = BodyLimits(
                params.max_body_size, params.body_timeout, gzip=self._gzip_body
            )
        return body

    def set_max_body_size(self, max_body_size: int) -> None:
        """Change the body size limit for the current request (before reading the body)."""
        self._body_limits().max_size = max_body_size

    def set_body_timeout(self, timeout: float | None) -> None:
        """Change the body timeout for the current request (before reading the body)."""
        self._body_limits().timeout = timeout

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback`` if the client goes away before the response is finished.

        The request's handler is cancelled first; the callback may return an awaitable,
        which is awaited under a short deadline.
        """
        self._close_callback = callback

    async def read_body(self) -> bytes:
        """Read the rest of the request body and return it.

        Raises:
            RequestBodyError: the body is too large, malformed, too slow or the client left.
        """
        chunks = []
        while True:
            chunk = await self.receive_body_chunk()
            if not chunk:
                break
            chunks.append(chunk)
        body = b"".join(chunks)
        if self._gzip_body and self._request is not None:
            self._request.headers["Content-Length"] = str(len(body))
        return body

    async def receive_body_chunk(self) -> bytes:
        """Return the next piece of the request body, or ``b""`` once it is complete.

        The socket is read only when this is called, so a caller that processes each piece
        before asking for the next one gets back-pressure for free.

        Raises:
            RequestBodyError: as for :meth:`read_body`.
        """
        if self._body_done:
            return b""
        h11conn = self._h11
        limits = self._body_limits()
        if not limits.started:
            request = self._request
            try:
                limits.start(request.headers.get("Content-Length") if request else None)
            except RequestBodyError:
                self._fail_body()
                raise
        try:
            return await self._next_body_chunk(h11conn, limits)
        except RequestBodyError:
            self._fail_body()
            raise

    async def _next_body_chunk(self, h11conn: h11.Connection, limits: BodyLimits) -> bytes:
        while True:
            try:
                event = h11conn.next_event()
            except h11.RemoteProtocolError as exc:
                if self._peer_gone:  # the client left part way through: nobody to answer
                    raise RequestBodyError("Client closed the connection mid-body", None) from exc
                raise RequestBodyError(f"Malformed request body: {exc}", 400) from exc
            if type(event) is h11.Data:
                chunk = limits.accept(bytes(event.data))
                if chunk:
                    return chunk
                continue
            if type(event) is h11.EndOfMessage:
                self._body_done = True
                return limits.end()
            if event is not h11.NEED_DATA:
                raise RequestBodyError("Connection closed while reading the body", None)
            if h11conn.they_are_waiting_for_100_continue:
                await self._wait_turn()
                await self._send_bytes(
                    h11conn.send(
                        h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                    )
                )
            # The whole body is due by body_timeout (if set); each read waits at most
            # header_timeout for the client to send anything at all.
            stall = self.params.header_timeout
            deadline = limits.deadline
            if stall is not None:
                deadline = min(deadline, trio.current_time() + stall)
            with trio.move_on_at(deadline) as scope:
                data = await self._receive()
            if scope.cancelled_caught:
                raise RequestBodyError("Timed out reading the request body", None)
            if not data:
                self._peer_gone = True
            h11conn.receive_data(data)

    def _fail_body(self) -> None:
        """The body will not be read to its end: this connection cannot be reused."""
        self._body_done = True
        self._body_failed = True

    async def _receive(self, phase: str | None = None, timeout: float | None = None) -> bytes:
        """Read what the client sent; ``b""`` when it is gone.

        If nothing is there yet and ``phase`` is given, the wait runs under that phase's
        deadline (see `_set_deadline`); otherwise under the deadline already set.
        """
        fd = self._fd
        try:
            if fd >= 0:
                # Let other tasks run now and then when the socket never makes us wait
                # (before reading: a cancellation loses nothing). Inlined here and in
                # _send_bytes: a helper coroutine per read and write costs on the hot path.
                self._unyielded += 1
                if self._unyielded >= _YIELD_EVERY:
                    self._unyielded = 0
                    await trio.lowlevel.checkpoint()
                try:
                    return os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    pass
                # Before sleeping in epoll, let the other connections run once and look
                # again: a client on a busy server has often sent its next request by then,
                # which spares the epoll registration and wake-up.
                self._blocked = True
                self._unyielded = 0
                await trio.lowlevel.checkpoint()
                try:
                    return os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    pass
                if phase is not None:
                    self._set_deadline(phase, timeout)
                while True:
                    await trio.lowlevel.wait_readable(fd)
                    try:
                        return os.read(fd, _READ_SIZE)
                    except BlockingIOError:
                        continue  # a spurious wake-up
            if self._closed:
                return b""
            if phase is not None:
                self._set_deadline(phase, timeout)
            return bytes(await self.stream.receive_some(_READ_SIZE))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            self._peer_gone = True
            return b""

    async def _send_protocol_error(self, exc: h11.RemoteProtocolError) -> None:
        status = exc.error_status_hint
        gen_log.info("Bad request from %s: %s", self.context.remote_ip, exc)
        message = "Request header fields too large" if status == 431 else str(exc)
        await self._send_simple_response(status, message.encode("utf-8", "replace"), close=True)
