"""An HTTP/1.1 client on Trio and h11, with Tornado's HTTPRequest, HTTPResponse and errors.

A client owns a pool of keep-alive connections and lives in an ``async with`` block, here
around a whole server (the examples are from ``examples/http_client.py``)::

    async with open_http_client(
        max_connections_per_host=20,
        defaults={"user_agent": "trinado-example/1.0", "connect_timeout": 5},
    ) as client:
        await make_app(client).serve(port)

Its handlers fetch whole responses, or stream large ones (:meth:`HTTPClient.stream`)::

    response = await self.client.fetch(
        f"{self.upstream}/repos/{owner}/{name}",
        headers={"Accept": "application/vnd.github+json"},
        request_timeout=10,
    )
    ...
    async with self.client.stream(url, request_timeout=300) as response:
        ...
        async for chunk in response.aiter_bytes():
            self.write(chunk)
            await self.flush()  # waits while our own client reads slowly

For a single request, :func:`fetch` opens and closes a client of its own::

    response = await fetch(url, raise_error=False)
    print(response.code, response.reason, f"({response.request_time:.3f}s)")

Errors:
    * :class:`HTTPClientError` (alias ``HTTPError``): the server answered with a status
      outside 2xx (``raise_error=False`` returns the response instead), or too many redirects.
    * :class:`HTTPTimeoutError` (code 599): waiting for a connection, connecting or the
      exchange took longer than ``connect_timeout`` / ``request_timeout``.
    * :class:`HTTPStreamClosedError` (code 599): the connection closed before the response
      was complete.
    * :class:`~trinado.httputil.HTTPInputError`: the response is not valid HTTP, or is larger
      than ``max_header_size`` / ``max_body_size``.
    * :class:`OSError` as raised by Trio: the connection could not be made (DNS failure,
      refused, unreachable); :class:`ssl.SSLCertVerificationError` for a certificate the
      client does not trust.
    * :class:`ValueError`: the request itself is invalid (URL scheme, method, body, header).

Network errors always raise; ``raise_error=False`` only turns status errors into responses,
as in Tornado 6.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import io
import math
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import trio

from ._client_body import ResponseBody, StreamingResponse
from ._client_conn import ClientConnection, OpenStream, open_connection, timeout_at
from ._client_messages import (
    HTTPClientError,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
)
from ._client_pool import ConnectionPool
from ._client_prepare import (
    IDEMPOTENT_METHODS,
    REDIRECT_CODES,
    SSLContexts,
    Target,
    build_head,
    check_defaults,
    parse_url,
    redirect_request,
    resolve,
)
from ._httpheaders import HTTPHeaders

__all__ = [
    "HTTPClient",
    "HTTPClientError",
    "HTTPError",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPStreamClosedError",
    "HTTPTimeoutError",
    "StreamingResponse",
    "fetch",
    "open_http_client",
]

HTTPError = HTTPClientError
"""Tornado's older name for :class:`HTTPClientError`."""

_MiB = 1024 * 1024


def _seconds(value: float | None, name: str) -> float:
    """A timeout option as seconds; None and 0 mean no limit."""
    if value is None or value == 0:
        return math.inf
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return float(value)


@dataclasses.dataclass
class _Exchange:
    """One request on the wire whose response head has arrived; the body is still to read."""

    request: HTTPRequest  # this hop's resolved request
    code: int
    reason: str
    headers: HTTPHeaders
    body: ResponseBody
    deadline: float
    start: float  # trio.current_time() when the request started (after the queue)
    start_time: float  # time.time() at the same moment
    time_info: dict[str, float]
    version: str  # "1.1" or "1.0"
    error: HTTPClientError | None = None


class HTTPClient:
    """An HTTP client with a connection pool; usually made by :func:`open_http_client`.

    Connections are kept alive per scheme, host, port and TLS settings. At most
    ``max_connections`` are open at once (``max_connections_per_host`` to one host); a
    request that finds no room waits, under its ``connect_timeout``. Idle connections close
    after ``idle_connection_timeout`` seconds. A task in ``nursery`` closes them; call
    :meth:`aclose` when done (:func:`open_http_client` does).

    Args:
        nursery: where the idle-connection task runs.
        max_connections: connections open at once, in all.
        max_connections_per_host: connections open at once to one scheme, host and port.
        idle_connection_timeout: seconds an idle keep-alive connection is kept; 0 closes
            connections after each request, None keeps them until the client closes.
        defaults: default values for :class:`HTTPRequest` options (``user_agent``,
            ``request_timeout``, ...), used where a request leaves them at None.
        hostname_mapping: host names to connect to another host or address instead (TLS
            still checks the original name), e.g. ``{"example.test": "127.0.0.1"}``.
        max_header_size: largest response head accepted, in bytes.
        max_body_size: largest response body accepted, on the wire and decoded, streamed or
            not; defaults to ``max_buffer_size``.
        max_buffer_size: Tornado's name for the default of ``max_body_size`` (100 MiB).
        open_stream: ``await open_stream(host, port)`` opens the byte stream for a new
            connection (TLS goes on top for HTTPS); the default is
            :func:`trio.open_tcp_stream` (with ``network_interface`` as local address).
            Useful for Unix sockets, tunnels, or in-memory tests.

    Raises:
        ValueError: a bound is below 1, or ``defaults`` names an unknown option.
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        max_connections: int = 100,
        max_connections_per_host: int = 10,
        idle_connection_timeout: float | None = 30.0,
        defaults: Mapping[str, Any] | None = None,
        hostname_mapping: Mapping[str, str] | None = None,
        max_header_size: int = 65536,
        max_body_size: int | None = None,
        max_buffer_size: int = 100 * _MiB,
        open_stream: OpenStream | None = None,
    ) -> None:
        check_defaults(defaults or {})
        self.defaults: dict[str, Any] = dict(defaults or {})
        """The request defaults this client applies."""
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size if max_body_size is not None else max_buffer_size
        self._pool = ConnectionPool(
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            idle_timeout=idle_connection_timeout,
        )
        self._ssl = SSLContexts()
        self._hostname_mapping = dict(hostname_mapping or {})
        self._open_stream = open_stream
        self._expiry_scope = trio.CancelScope()
        nursery.start_soon(self._expire_idle)

    async def _expire_idle(self) -> None:
        with self._expiry_scope:
            await self._pool.expire_idle()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._pool.closed

    @property
    def connections_opened(self) -> int:
        """How many connections this client has opened so far (reuse keeps it low)."""
        return self._pool.opened

    @property
    def idle_connections(self) -> int:
        """How many keep-alive connections are open and waiting for a request."""
        return self._pool.idle_connections

    async def aclose(self) -> None:
        """Closes the idle connections and stops the idle-connection task.

        Requests still running keep their connection until they end; it is closed then.
        Further requests raise :class:`RuntimeError`.
        """
        await self._pool.aclose()
        self._expiry_scope.cancel()

    # --- public API ------------------------------------------------------------------------

    async def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> HTTPResponse:
        """Sends a request and reads the whole response.

        Args:
            request: a URL, or an :class:`HTTPRequest` (then no ``kwargs``).
            raise_error: raise :class:`HTTPClientError` for a status outside 2xx; when
                False, return the response instead (its ``error`` says what went wrong).
                Other errors raise either way.
            **kwargs: :class:`HTTPRequest` options, when ``request`` is a URL.

        Returns:
            The response, after any redirects.

        Raises:
            HTTPClientError: a status outside 2xx (unless ``raise_error=False``), or too
                many redirects.
            HTTPTimeoutError: a ``connect_timeout`` or ``request_timeout`` expired.
            HTTPStreamClosedError: the connection closed before the response was complete.
            HTTPInputError: the response is malformed or larger than the client's limits.
            OSError: the connection could not be made (certificate errors included).
            ValueError: the request is invalid.
            RuntimeError: the client is closed.
        """
        original = self._make_request(request, kwargs)
        resolved = resolve(original, self.defaults)
        exchange = await self._exchange(resolved)
        callback = resolved.streaming_callback
        buffer = io.BytesIO()
        try:
            with timeout_at(exchange.deadline, "Timeout during request"):
                while (piece := await exchange.body.next_piece()) is not None:
                    if callback is None:
                        buffer.write(piece)
                    else:
                        result = callback(piece)
                        if inspect.isawaitable(result):
                            await result
        finally:
            await exchange.body.aclose()
        response = self._response(original, exchange, buffer)
        if response.error is not None and (raise_error or not response._error_is_response_code):
            raise response.error
        return response

    @contextlib.asynccontextmanager
    async def stream(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> AsyncIterator[StreamingResponse]:
        """Sends a request; gives the response once its head arrives, to read the body from.

        A handler passing a download through as it arrives (``examples/http_client.py``)::

            async with self.client.stream(url, request_timeout=300) as response:
                ...
                async for chunk in response.aiter_bytes():
                    self.write(chunk)
                    await self.flush()  # waits while our own client reads slowly

        Redirects are followed first. With ``raise_error``, a status outside 2xx raises
        :class:`HTTPClientError` before the block runs, with the whole (bounded) body in
        ``error.response.body``. Leaving the block early closes the connection.

        Args:
            request: a URL, or an :class:`HTTPRequest` (then no ``kwargs``).
            raise_error: as for :meth:`fetch`.
            **kwargs: :class:`HTTPRequest` options, when ``request`` is a URL.

        Yields:
            The response, with its body still to read.

        Raises:
            HTTPClientError: as for :meth:`fetch`, before the block runs.
            ValueError: the request has a ``streaming_callback`` (use one or the other),
                or is otherwise invalid.
        """
        original = self._make_request(request, kwargs)
        resolved = resolve(original, self.defaults)
        if resolved.streaming_callback is not None:
            raise ValueError("stream() reads the body itself: drop the streaming_callback")
        exchange = await self._exchange(resolved)
        try:
            failed = exchange.error is not None or not 200 <= exchange.code < 300
            if failed and raise_error:
                buffer = io.BytesIO()
                with timeout_at(exchange.deadline, "Timeout during request"):
                    while (piece := await exchange.body.next_piece()) is not None:
                        buffer.write(piece)
                error = self._response(original, exchange, buffer).error
                assert error is not None
                raise error
            yield StreamingResponse(
                original,
                exchange.code,
                exchange.reason,
                exchange.headers,
                exchange.request.url,
                exchange.body,
                start_time=exchange.start_time,
                time_info=exchange.time_info,
                error=exchange.error,
            )
        finally:
            await exchange.body.aclose()

    # --- internals -------------------------------------------------------------------------

    def _make_request(self, request: str | HTTPRequest, kwargs: dict[str, Any]) -> HTTPRequest:
        if self._pool.closed:
            raise RuntimeError("The HTTP client is closed")
        if isinstance(request, HTTPRequest):
            if kwargs:
                raise ValueError("kwargs can't be used if request is an HTTPRequest object")
            return request
        return HTTPRequest(request, **kwargs)

    def _response(
        self, original: HTTPRequest, exchange: _Exchange, buffer: io.BytesIO
    ) -> HTTPResponse:
        response = HTTPResponse(
            original,
            exchange.code,
            headers=exchange.headers,
            buffer=buffer,
            effective_url=exchange.request.url,
            error=exchange.error,
            request_time=trio.current_time() - exchange.start,
            time_info=exchange.time_info,
            reason=exchange.reason,
            start_time=exchange.start_time,
        )
        if exchange.error is not None:
            exchange.error.response = response
            response._error_is_response_code = True
        return response

    async def _exchange(self, resolved: HTTPRequest) -> _Exchange:
        """Sends ``resolved`` and follows redirects; returns the final response's exchange."""
        current = resolved
        while True:
            exchange = await self._send_one(current)
            location = exchange.headers.get("Location")
            if current.follow_redirects and exchange.code in REDIRECT_CODES and location:
                if current.max_redirects is not None and current.max_redirects > 0:
                    try:
                        next_request = redirect_request(current, exchange.code, location)
                    except BaseException:
                        await exchange.body.aclose()
                        raise
                    await exchange.body.drain()
                    current = next_request
                    continue
                exchange.error = HTTPClientError(
                    exchange.code, f"Too many redirects (max_redirects={resolved.max_redirects})"
                )
            callback = current.header_callback
            if callback is not None:
                try:
                    callback(f"HTTP/{exchange.version} {exchange.code} {exchange.reason}\r\n")
                    for name, value in exchange.headers.get_all():
                        callback(f"{name}: {value}\r\n")
                    callback("\r\n")
                except BaseException:
                    await exchange.body.aclose()
                    raise
            return exchange

    async def _send_one(self, request: HTTPRequest) -> _Exchange:
        """Sends one request (no redirects) and reads its response head."""
        target = parse_url(request.url)
        head = build_head(request, target)
        ssl_context = None
        tls_key: Any = None
        if target.scheme == "https":
            ssl_context, tls_key = self._ssl.get(request)
        key = (target.scheme, target.host, target.port, tls_key, request.network_interface)
        connect_timeout = _seconds(request.connect_timeout, "connect_timeout")
        request_timeout = _seconds(request.request_timeout, "request_timeout")
        first_timeout = min(connect_timeout, request_timeout)
        open_stream = self._open_stream or functools.partial(
            trio.open_tcp_stream, local_address=request.network_interface
        )
        host = self._hostname_mapping.get(target.host, target.host)
        may_retry = request.body_producer is None and head.method.decode() in IDEMPOTENT_METHODS
        while True:
            queued = trio.current_time()
            started: list[tuple[float, float]] = []
            connect = functools.partial(
                self._connect, started, key, host, target, ssl_context, open_stream, first_timeout
            )
            conn, reused = await self._pool.acquire(key, connect, queued + first_timeout)
            now = trio.current_time()
            start, start_time = started[0] if started else (now, time.time())
            time_info = {"queue": start - queued, "connect": now - start}
            deadline = start + request_timeout
            conn.deadline = deadline
            try:
                with timeout_at(deadline, "Timeout during request"):
                    response_head = await conn.send_request(
                        head,
                        request.body,
                        request.body_producer,
                        expect_continue=bool(request.expect_100_continue),
                    )
                headers = HTTPHeaders._from_h11(response_head.headers)
                body = ResponseBody(
                    conn,
                    headers,
                    decompress=bool(request.decompress_response),
                    max_body_size=self.max_body_size,
                    release=self._pool.release,
                    has_body=head.method != b"HEAD" and response_head.status_code not in (204, 304),
                )
            except HTTPStreamClosedError:
                await self._pool.release(conn, False)
                if reused and may_retry and not conn.received_anything:
                    may_retry = False  # the server closed a keep-alive connection: once more
                    continue
                raise
            except BaseException:
                await self._pool.release(conn, False)
                raise
            return _Exchange(
                request=request,
                code=response_head.status_code,
                reason=response_head.reason.decode("latin-1"),
                headers=headers,
                body=body,
                deadline=deadline,
                start=start,
                start_time=start_time,
                time_info=time_info,
                version=response_head.http_version.decode("ascii"),
            )

    async def _connect(
        self,
        started: list[tuple[float, float]],
        key: Any,
        host: str,
        target: Target,
        ssl_context: ssl.SSLContext | None,
        open_stream: OpenStream,
        timeout: float,
    ) -> ClientConnection:
        """Opens a new connection for the pool, noting when in ``started``."""
        started.append((trio.current_time(), time.time()))
        message = f"Timeout while connecting to {target.host}:{target.port}"
        with timeout_at(started[0][0] + timeout, message):
            return await open_connection(
                key,
                host,
                target.port,
                open_stream=open_stream,
                ssl_context=ssl_context,
                server_hostname=target.host,
                max_header_size=self.max_header_size,
            )


@contextlib.asynccontextmanager
async def open_http_client(
    *,
    max_connections: int = 100,
    max_connections_per_host: int = 10,
    idle_connection_timeout: float | None = 30.0,
    defaults: Mapping[str, Any] | None = None,
    hostname_mapping: Mapping[str, str] | None = None,
    max_header_size: int = 65536,
    max_body_size: int | None = None,
    max_buffer_size: int = 100 * _MiB,
    open_stream: OpenStream | None = None,
) -> AsyncIterator[HTTPClient]:
    """Opens an :class:`HTTPClient` for the duration of the block; closes it after.

    The client's background task (closing idle connections) runs in a nursery this block
    owns; when the block ends, every idle connection is closed. An exception from the block
    comes out as it is (not inside an ExceptionGroup).

    Args:
        max_connections: see :class:`HTTPClient`.
        max_connections_per_host: see :class:`HTTPClient`.
        idle_connection_timeout: see :class:`HTTPClient`.
        defaults: see :class:`HTTPClient`.
        hostname_mapping: see :class:`HTTPClient`.
        max_header_size: see :class:`HTTPClient`.
        max_body_size: see :class:`HTTPClient`.
        max_buffer_size: see :class:`HTTPClient`.
        open_stream: see :class:`HTTPClient`.

    Yields:
        The client.
    """
    error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        # Exceptions are raised again below, outside the nursery, so that they do not come
        # out wrapped in an ExceptionGroup.
        try:
            client = HTTPClient(
                nursery,
                max_connections=max_connections,
                max_connections_per_host=max_connections_per_host,
                idle_connection_timeout=idle_connection_timeout,
                defaults=defaults,
                hostname_mapping=hostname_mapping,
                max_header_size=max_header_size,
                max_body_size=max_body_size,
                max_buffer_size=max_buffer_size,
                open_stream=open_stream,
            )
        except BaseException as exc:
            error = exc
        else:
            try:
                yield client
            except BaseException as exc:
                error = exc
            finally:
                await client.aclose()
    if error is not None:
        raise error


async def fetch(
    request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
) -> HTTPResponse:
    """Fetches one URL with a client of its own, closed afterwards (no connection reuse).

    ``await fetch(url, method="POST", body=b"...")`` is short for opening a client with
    :func:`open_http_client` and calling :meth:`HTTPClient.fetch`. Use a client for more
    than one request.

    Args:
        request: a URL, or an :class:`HTTPRequest` (then no ``kwargs``).
        raise_error: as for :meth:`HTTPClient.fetch`.
        **kwargs: :class:`HTTPRequest` options, when ``request`` is a URL.

    Returns:
        The response.
    """
    async with open_http_client() as client:
        return await client.fetch(request, raise_error=raise_error, **kwargs)
