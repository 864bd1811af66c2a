"""Listening sockets for worker processes: bound in the parent, shared or one per worker.

On Linux every worker listens on its own socket bound with SO_REUSEPORT and the kernel
spreads new connections between them; the parent first binds the port without listening
and without SO_REUSEPORT, which fails if any server listens there already, resolves port 0
once, and keeps the port reserved. Elsewhere, and for Unix sockets, the parent opens one
listening socket that the workers inherit. A reload hand-over binds a second set next to
the first (SO_REUSEPORT, or a staged Unix socket path moved into place once it serves).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_BACKLOG",
    "BoundSockets",
    "bind_sockets",
    "default_reuse_port",
    "remove_stale_socket_file",
    "staged_unix_path",
    "tcp_sockets",
]

_NO_FAMILY = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL)
# The listen queue asked for unless told otherwise; the kernel caps it (net.core.somaxconn).
DEFAULT_BACKLOG = 0xFFFF


def default_reuse_port() -> bool:
    """Whether workers get their own SO_REUSEPORT sockets by default (on Linux).

    Elsewhere SO_REUSEPORT either does not exist or does not spread connections evenly.

    Returns:
        True on Linux, where the kernel balances connections between SO_REUSEPORT sockets.
    """
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


@dataclass
class BoundSockets:
    """What the parent holds for its workers.

    With ``reuse_port``, ``held`` are bound, non-listening sockets that reserve the port and
    ``addresses`` the exact addresses each worker binds its own socket to. Otherwise ``held``
    are the listening sockets the workers inherit. ``staged``: a Unix socket bound at a
    temporary path, and the path it takes over once serving (see `publish`).
    """

    held: list[socket.socket]
    reuse_port: bool
    port: int
    backlog: int
    addresses: list[tuple[int, int, int, Any]] = field(default_factory=list)
    staged: tuple[str, str] | None = None

    def worker_sockets(self) -> list[socket.socket]:
        """The sockets for one worker: the inherited listening ones, or its own (bound now).

        A worker's own SO_REUSEPORT socket does not listen yet: `trinado.httpserver.serve`
        makes it listen once the application is ready, so that the kernel sends no
        connection to a worker that is still starting.
        """
        if not self.reuse_port:
            return self.held
        sockets = [
            _tcp_socket(family, type_, proto, sockaddr, reuse_port=True, backlog=None)
            for family, type_, proto, sockaddr in self.addresses
        ]
        for sock in self.held:
            sock.close()
        return sockets

    def publish(self) -> None:
        """Moves a staged Unix socket to its path, replacing the previous server's socket."""
        if self.staged is not None:
            staged, self.staged = self.staged, None
            os.replace(*staged)

    def close(self) -> None:
        """Closes the sockets the parent holds (and removes a socket file never published)."""
        for sock in self.held:
            sock.close()
        if self.staged is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.staged[0])


def bind_sockets(
    *,
    port: int = 8888,
    host: str = "",
    unix_socket: str | None = None,
    reuse_port: bool | None = None,
    backlog: int | None = None,
    handover: bool = False,
) -> BoundSockets:
    """Binds the port (or Unix socket) for one server, before forking or starting Trio.

    ``handover``: another generation of the same server (``--reload``) still listens there;
    do not treat that as "in use". SO_REUSEPORT lets both listen; a Unix socket is bound at
    a temporary path (`staged_unix_path`) and replaces the old one's file at `publish`.

    Raises:
        ValueError: ``reuse_port=True`` where the OS has no SO_REUSEPORT, or the Unix socket
            path is not a socket.
        OSError: The address is in use or cannot be bound.
    """
    listen_backlog = backlog if backlog is not None else DEFAULT_BACKLOG
    if unix_socket is not None:
        sock = _unix_socket(unix_socket, listen_backlog, staged=handover)
        staged = (staged_unix_path(unix_socket, os.getpid()), unix_socket) if handover else None
        return BoundSockets([sock], reuse_port=False, port=0, backlog=listen_backlog, staged=staged)
    if reuse_port is None:
        reuse_port = default_reuse_port()
    elif reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port is not supported on this platform")
    # Without handover the reserving socket has no SO_REUSEPORT, so that binding fails if
    # any server listens there (even one using SO_REUSEPORT itself).
    held = tcp_sockets(
        port,
        host,
        reuse_port=reuse_port and handover,
        backlog=None if reuse_port else listen_backlog,
        inheritable=True,
    )
    addresses: list[tuple[int, int, int, Any]] = [
        (int(s.family), int(s.type), s.proto, s.getsockname()) for s in held
    ]
    return BoundSockets(
        held,
        reuse_port=reuse_port,
        port=held[0].getsockname()[1] if held else port,
        backlog=listen_backlog,
        addresses=addresses if reuse_port else [],
    )


def tcp_sockets(
    port: int,
    host: str | None,
    *,
    reuse_port: bool,
    backlog: int | None,
    inheritable: bool = False,
) -> list[socket.socket]:
    """A TCP socket for every address ``host`` resolves to, all on the same port.

    Port 0 gives every address family the same port, as Tornado's ``bind_sockets``; a host
    without IPv6 that still resolves ``""`` to ``"::"`` gets only its IPv4 socket.

    Args:
        port: The port; 0 picks a free one.
        host: The address; ``""`` or None for every interface.
        reuse_port: Set SO_REUSEPORT.
        backlog: Listen with this backlog; None leaves the sockets bound, not listening.
        inheritable: Let child processes inherit the sockets (workers do).

    Raises:
        OSError: The address is in use (the message says where) or cannot be bound.
    """
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    held: list[socket.socket] = []
    seen: set[tuple[int, object]] = set()
    bound_port = port
    try:
        for family, type_, proto, _, sockaddr in infos:
            if (family, sockaddr[0]) in seen:
                continue
            seen.add((family, sockaddr[0]))
            address = (sockaddr[0], bound_port, *sockaddr[2:])
            try:
                sock = _tcp_socket(
                    family,
                    type_,
                    proto,
                    address,
                    reuse_port=reuse_port,
                    backlog=backlog,
                    inheritable=inheritable,
                )
            except OSError as exc:
                if host or family != socket.AF_INET6 or exc.errno not in _NO_FAMILY:
                    raise
                continue
            held.append(sock)
            if bound_port == 0:
                bound_port = sock.getsockname()[1]
    except BaseException as exc:
        for sock in held:
            sock.close()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            where = f"{host}:{port}" if host else f"port {port}"
            raise OSError(exc.errno, f"{where} is already in use") from exc
        raise
    return held


def _tcp_socket(
    family: int,
    type_: int,
    proto: int,
    address: Any,
    *,
    reuse_port: bool,
    backlog: int | None,
    inheritable: bool = True,
) -> socket.socket:
    """A TCP socket bound to ``address``; listening unless ``backlog`` is None."""
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.set_inheritable(inheritable)
        sock.bind(address)
        if backlog is not None:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def staged_unix_path(path: str, pid: int) -> str:
    """Where process ``pid`` binds its Unix socket before it takes over ``path``."""
    return f"{path}.{pid}.new"


def remove_stale_socket_file(path: str) -> None:
    """Removes a Unix socket file that no server answers on any more (left by a crash).

    Raises:
        ValueError: ``path`` exists and is not a socket.
        OSError: A server still answers there (``EADDRINUSE``).
    """
    try:
        _check_is_socket(path)
    except FileNotFoundError:
        return
    if _unix_socket_answers(path):
        raise OSError(errno.EADDRINUSE, f"{path} is already in use by a running server")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _check_is_socket(path: str) -> None:
    if not stat.S_ISSOCK(os.stat(path).st_mode):
        raise ValueError(f"{path} exists and is not a socket")


def _unix_socket(path: str, backlog: int, *, staged: bool) -> socket.socket:
    """A listening Unix socket at ``path`` (replacing a stale socket file there), or at its
    staged path, leaving ``path`` to the server still running there."""
    if staged:
        if os.path.exists(path):
            _check_is_socket(path)
    else:
        remove_stale_socket_file(path)
    if staged:
        path = staged_unix_path(path, os.getpid())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.set_inheritable(True)
        sock.bind(path)
        os.chmod(path, 0o666)  # as trinado.httpserver does: anyone who reaches the directory
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _unix_socket_answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True
