"""The HTTP server: listeners, the nursery that owns every connection, graceful shutdown.

Most programs call :meth:`trinado.web.Application.serve`, which calls :func:`serve`:
``trio.run(app.serve)`` serves on port 8888 until Ctrl-C. Inside a larger program,
``nursery.start`` returns the running :class:`HTTPServer`, whose ``shutdown()`` stops it
gracefully (from ``examples/embedded.py``)::

    serve = functools.partial(app.serve, port, host, handle_signals=handle_signals)
    async with trio.open_nursery() as nursery:
        server: HTTPServer = await nursery.start(serve)
        background.start_soon(shutdown_when_set, stop, server)
        print(f"listening on http://{host}:{server.port}/")
    ...


    async def shutdown_when_set(stop: trio.Event, server: HTTPServer) -> None:
        await stop.wait()
        server.shutdown()  # graceful: in-flight requests finish, idle connections close

The nursery tree:

.. code-block:: text

    serve()                     server nursery: signal watcher, long-request ticker
      connection nursery        every accepted connection, one task each
        accept loop             trio.serve_listeners(..., handler_nursery=connection nursery)

Shutdown stops the accept loop, closes idle keep-alive connections at once, lets requests in
flight finish until ``shutdown_timeout`` and then cancels what is left.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import socket as stdlib_socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import trio

from ._http1 import HTTP1Connection, HTTP1ConnectionParameters
from ._tracker import ConnectionTracker
from ._worker_sockets import DEFAULT_BACKLOG, remove_stale_socket_file, tcp_sockets
from .httputil import HTTPServerRequest
from .log import gen_log

__all__ = ["HTTPServer", "serve"]

RequestCallback = Callable[[HTTPServerRequest], Awaitable[None]]


class HTTPServer(ConnectionTracker):
    """Serves HTTP/1.1 on a set of listeners, one Trio task per connection.

    ``request_callback`` is either an object with an async ``handle_request(request)``
    method (an :class:`~trinado.web.Application`: it reads the request body itself, through
    ``request.connection``), or an async callable taking the request, whose body has been read
    and parsed before the call; it answers through ``request.connection`` as in Tornado's
    low-level callable interface.

    Args:
        request_callback: the application or callable that answers requests.
        no_keep_alive: close the connection after every response.
        xheaders: trust X-Real-Ip / X-Forwarded-For and X-Scheme / X-Forwarded-Proto from
            a proxy in front of the server.
        ssl_options: an :class:`ssl.SSLContext`, or a dict of Tornado's ssl options
            (``certfile``, ``keyfile``, ...), to serve HTTPS.
        protocol: the scheme to report when a proxy terminates TLS (``"https"``).
        decompress_request: decode gzip request bodies (limits apply to the decoded size).
        max_header_size: largest request head; bigger gets 431 and the connection closed.
        max_body_size: largest request body; a larger Content-Length gets 413.
        max_buffer_size: Tornado's name for the default of ``max_body_size``.
        header_timeout: seconds a client gets to send a whole request head.
        body_timeout: seconds a client gets to send a whole request body (None, the
            default as in Tornado: no limit on the total; a body that stalls for
            ``header_timeout`` seconds is cut off either way).
        idle_connection_timeout: seconds a keep-alive connection may wait for its next request.
        write_timeout: seconds one write to the client may take.
        handshake_timeout: seconds for the TLS handshake.
        shutdown_timeout: seconds requests in flight get to finish at shutdown.
        trusted_downstream: proxy addresses to skip in X-Forwarded-For.
    """

    def __init__(
        self,
        request_callback: Any,
        *,
        no_keep_alive: bool = False,
        xheaders: bool = False,
        ssl_options: ssl.SSLContext | dict[str, Any] | None = None,
        protocol: str | None = None,
        decompress_request: bool = False,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        max_buffer_size: int | None = None,
        header_timeout: float | None = 30.0,
        body_timeout: float | None = None,
        idle_connection_timeout: float | None = 3600.0,
        write_timeout: float | None = 60.0,
        handshake_timeout: float | None = 10.0,
        shutdown_timeout: float = 10.0,
        trusted_downstream: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        handle = getattr(request_callback, "handle_request", None)
        self._handle: RequestCallback = (
            handle if handle is not None else _read_body_first(request_callback)
        )
        self.ssl_context = _make_ssl_context(ssl_options)
        self.protocol = protocol or ("https" if self.ssl_context is not None else "http")
        default_body = max_buffer_size if max_buffer_size is not None else 100 * 1024 * 1024
        self.params = HTTP1ConnectionParameters(
            max_header_size=max_header_size if max_header_size is not None else 65536,
            max_body_size=max_body_size if max_body_size is not None else default_body,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            idle_connection_timeout=idle_connection_timeout,
            write_timeout=write_timeout,
            decompress=decompress_request,
            no_keep_alive=no_keep_alive,
            xheaders=xheaders,
            trusted_downstream=frozenset(trusted_downstream or ()),
        )
        self.handshake_timeout = handshake_timeout
        self.shutdown_timeout = shutdown_timeout
        self.listeners: list[trio.abc.Listener[Any]] = []
        self._shutdown_requested = trio.Event()
        self._connection_nursery: trio.Nursery | None = None

    @property
    def connection_count(self) -> int:
        """How many client connections are open right now."""
        return len(self.connections)

    @property
    def sockets(self) -> list[trio.socket.SocketType]:
        """The listening sockets."""
        found = []
        for listener in self.listeners:
            inner = getattr(listener, "transport_listener", listener)
            sock = getattr(inner, "socket", None)
            if sock is not None:
                found.append(sock)
        return found

    @property
    def ports(self) -> list[int]:
        """The TCP ports listened on (one per address family, usually all the same)."""
        return [
            sock.getsockname()[1]
            for sock in self.sockets
            if sock.family in (stdlib_socket.AF_INET, stdlib_socket.AF_INET6)
        ]

    @property
    def port(self) -> int:
        """The TCP port listened on (useful after asking for port 0).

        Raises:
            RuntimeError: the server has no TCP listener.
        """
        ports = self.ports
        if not ports:
            raise RuntimeError("This server has no TCP listener")
        return ports[0]

    def shutdown(self) -> None:
        """Begin a graceful shutdown; :meth:`serve` returns when it is complete.

        New connections are refused, idle keep-alive connections close at once, requests
        in flight get ``shutdown_timeout`` seconds to finish, then they are cancelled.
        """
        self._shutdown_requested.set()

    async def serve(
        self,
        listeners: Sequence[trio.abc.Listener[Any]],
        *,
        handle_signals: bool = False,
        task_status: trio.TaskStatus[HTTPServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept and serve connections until :meth:`shutdown` (or cancellation).

        Args:
            listeners: where to accept connections; they are closed when serving stops.
                An empty list is allowed (feed streams with :meth:`start_connection`).
            handle_signals: make SIGINT and SIGTERM start a graceful shutdown (a second
                signal cancels at once). Only possible in the main thread.
            task_status: receives this server once it is accepting connections.
        """
        if self.ssl_context is not None:
            listeners = [
                trio.SSLListener(listener, self.ssl_context, https_compatible=True)
                for listener in listeners
            ]
        self.listeners = list(listeners)
        async with trio.open_nursery() as server_nursery:
            server_nursery.start_soon(self.watch_long_requests, self.params.watch_after)
            if handle_signals:
                server_nursery.start_soon(self._watch_signals, server_nursery.cancel_scope)
            async with trio.open_nursery() as connection_nursery:
                self._connection_nursery = connection_nursery
                accept_scope = trio.CancelScope()
                if self.listeners:
                    server_nursery.start_soon(self._accept, connection_nursery, accept_scope)
                task_status.started(self)
                await self._shutdown_requested.wait()
                count = self.connection_count
                gen_log.info(
                    "Shutting down: %d connection%s open", count, "" if count == 1 else "s"
                )
                accept_scope.cancel()
                self.draining = True
                self.shutdown_started.set()
                for conn in list(self.connections):
                    conn._start_draining()
                connection_nursery.cancel_scope.deadline = (
                    trio.current_time() + self.shutdown_timeout
                )
            self._connection_nursery = None
            server_nursery.cancel_scope.cancel()

    def start_connection(self, stream: trio.abc.Stream) -> None:
        """Serve an already open stream (a test's memory stream, a socket from elsewhere).

        Raises:
            RuntimeError: :meth:`serve` is not running.
        """
        if self._connection_nursery is None:
            raise RuntimeError("start_connection() needs the server to be serving")
        self._connection_nursery.start_soon(self.handle_stream, stream)

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one connection until it closes (the accept loop calls this per client)."""
        try:
            await self._handle_stream(stream)
        except Exception as exc:  # one connection must never take the server down
            gen_log.error("Error serving a connection", exc_info=exc)
            await trio.aclose_forcefully(stream)

    async def _handle_stream(self, stream: trio.abc.Stream) -> None:
        # (trio.SocketStream turns TCP_NODELAY on by itself for TCP sockets.)
        if isinstance(stream, trio.SSLStream):
            with trio.move_on_after(_inf(self.handshake_timeout)) as scope:
                try:
                    await stream.do_handshake()
                except trio.BrokenResourceError as exc:
                    gen_log.info("TLS handshake failed: %s", exc.__cause__ or exc)
                    await trio.aclose_forcefully(stream)
                    return
            if scope.cancelled_caught:
                gen_log.info("TLS handshake timed out")
                await trio.aclose_forcefully(stream)
                return
        conn = HTTP1Connection(stream, self._handle, self.params, self, self.protocol)
        await conn.serve()

    async def _accept(self, connection_nursery: trio.Nursery, scope: trio.CancelScope) -> None:
        with scope:
            await trio.serve_listeners(
                self.handle_stream, self.listeners, handler_nursery=connection_nursery
            )

    async def _watch_signals(self, cancel_scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if not self._shutdown_requested.is_set():
                    gen_log.info("Got %s: shutting down gracefully", signal.Signals(signum).name)
                    self.shutdown()
                else:
                    gen_log.info("Got %s again: stopping now", signal.Signals(signum).name)
                    cancel_scope.cancel()


def _read_body_first(callback: RequestCallback) -> RequestCallback:
    """Adapt a plain ``callback(request)``: read and parse the body before calling it."""

    async def handle(request: HTTPServerRequest) -> None:
        conn = request.connection
        request.body = await conn.read_body()
        request._parse_body()
        await callback(request)

    return handle


def _make_ssl_context(options: ssl.SSLContext | dict[str, Any] | None) -> ssl.SSLContext | None:
    if options is None or isinstance(options, ssl.SSLContext):
        return options
    if not isinstance(options, dict):
        raise TypeError(f"ssl_options must be an SSLContext or a dict, not {type(options)!r}")
    unknown = set(options) - {"certfile", "keyfile", "cert_reqs", "ca_certs", "ciphers"}
    if unknown:
        raise ValueError(f"Unknown ssl_options keys: {', '.join(sorted(unknown))}")
    if "certfile" not in options:
        raise ValueError("ssl_options needs a 'certfile'")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(options["certfile"], options.get("keyfile"))
    if "cert_reqs" in options:
        context.verify_mode = options["cert_reqs"]
    if "ca_certs" in options:
        context.load_verify_locations(options["ca_certs"])
    if "ciphers" in options:
        context.set_ciphers(options["ciphers"])
    return context


async def open_tcp_listeners(
    port: int, host: str | None = None, *, reuse_port: bool = False, backlog: int | None = None
) -> list[trio.SocketListener]:
    """Bind listening TCP sockets for every address ``host`` resolves to.

    Unlike :func:`trio.open_tcp_listeners`, port 0 gives every address family the same
    port (as Tornado's ``bind_sockets``), and ``reuse_port`` sets SO_REUSEPORT so several
    processes can share the port.

    Raises:
        ValueError: ``reuse_port`` was asked for where the OS has no SO_REUSEPORT.
        OSError: the address is in use or cannot be bound.
    """
    if reuse_port and not hasattr(stdlib_socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port is not supported on this platform")
    # (In a thread: resolving the host may block.)
    bind = functools.partial(
        tcp_sockets,
        port,
        host,
        reuse_port=reuse_port,
        backlog=backlog if backlog is not None else DEFAULT_BACKLOG,
    )
    sockets = await trio.to_thread.run_sync(bind)
    return [trio.SocketListener(trio.socket.from_stdlib_socket(sock)) for sock in sockets]


async def open_unix_listener(
    path: str, *, mode: int = 0o666, backlog: int | None = None
) -> trio.SocketListener:
    """Bind a listening Unix socket at ``path`` (a stale socket file is replaced).

    Raises:
        ValueError: ``path`` exists and is not a socket.
        OSError: A server still answers at ``path`` (``EADDRINUSE``).
    """
    # (In a thread: it may try to connect to whatever listens there, for up to a second.)
    await trio.to_thread.run_sync(remove_stale_socket_file, path)
    sock = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        os.chmod(path, mode)
        sock.listen(backlog if backlog is not None else DEFAULT_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


async def serve(
    app: Any,
    port: int = 8888,
    host: str = "",
    *,
    listeners: Sequence[trio.abc.Listener[Any]] | None = None,
    sockets: Sequence[stdlib_socket.socket] | None = None,
    unix_socket: str | None = None,
    reuse_port: bool = False,
    backlog: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
    handle_signals: bool | None = None,
    task_status: trio.TaskStatus[HTTPServer] = trio.TASK_STATUS_IGNORED,
    **server_options: Any,
) -> None:
    """Serve ``app`` over HTTP until shut down.

    Works as a whole program (``trio.run(functools.partial(serve, app))``; Ctrl-C or
    SIGTERM stop it gracefully) and inside a larger one (``server = await
    nursery.start(serve, app, 0)``; the :class:`HTTPServer` it gives back has ``port`` and
    ``shutdown()``).

    Args:
        app: an :class:`~trinado.web.Application`, or an async callable taking a request.
        port: TCP port; 0 picks a free one.
        host: address to bind; ``""`` means every interface.
        listeners: serve on these listeners (sockets already listening, perhaps inherited
            from a parent process) instead of binding ``port`` or ``unix_socket``.
        sockets: serve on these bound sockets (TCP or Unix, as Tornado's ``add_sockets``);
            ``serve`` calls ``listen()`` on them itself, so a socket that is only bound
            receives no connection before the application's lifespan has started.
        unix_socket: serve on this Unix socket path instead of TCP.
        reuse_port: set SO_REUSEPORT so that several processes share the port.
        backlog: listen queue length.
        ssl_context: serve HTTPS with this context (same as ``ssl_options``).
        handle_signals: stop gracefully on SIGINT/SIGTERM. The default, None, does so when
            ``serve`` is the main task of ``trio.run`` in the main thread.
        task_status: receives the :class:`HTTPServer` once it accepts connections.
        **server_options: passed on to :class:`HTTPServer` (timeouts, limits, xheaders, ...).

    Raises:
        OSError: the address cannot be bound (for example, the port is in use).
    """
    if ssl_context is not None:
        if server_options.get("ssl_options") is not None:
            raise ValueError("Give ssl_context or ssl_options, not both")
        server_options["ssl_options"] = ssl_context
    server = HTTPServer(app, **server_options)
    if sum(x is not None for x in (listeners, sockets, unix_socket)) > 1:
        raise ValueError("Give one of listeners, sockets and unix_socket")
    if sockets is not None:
        listeners = [_listen(sock, backlog) for sock in sockets]
    elif listeners is not None:
        listeners = list(listeners)
    elif unix_socket is not None:
        listeners = [await open_unix_listener(unix_socket, backlog=backlog)]
    else:
        try:
            listeners = await open_tcp_listeners(port, host, reuse_port=reuse_port, backlog=backlog)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(exc.errno, f"Port {port} on {host or '*'} is already in use") from exc
            raise
    if handle_signals is None:
        handle_signals = _is_main_task()
    await server.serve(listeners, handle_signals=handle_signals, task_status=task_status)


def _listen(sock: stdlib_socket.socket, backlog: int | None) -> trio.SocketListener:
    """A listener on a bound socket, which starts listening now (again, if it was already)."""
    sock.listen(backlog if backlog is not None else DEFAULT_BACKLOG)
    return trio.SocketListener(trio.socket.from_stdlib_socket(sock))


def _is_main_task() -> bool:
    if threading.current_thread() is not threading.main_thread():
        return False
    task = trio.lowlevel.current_task()
    parent = task.parent_nursery
    return parent is not None and parent.parent_task is trio.lowlevel.current_root_task()


def _inf(timeout: float | None) -> float:
    return float("inf") if timeout is None else timeout
