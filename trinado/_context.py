"""What the server knows about the client of a connection: its address, IP and scheme.

Handlers see it as ``request.connection.context``; with ``xheaders`` the IP and scheme a
proxy reports replace the socket's for the duration of each request.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import trio

from .httputil import HTTPHeaders

__all__ = ["ConnectionContext"]


class ConnectionContext:
    """What the server knows about the peer, as seen by the current request.

    Attributes:
        address: the peer address as the socket reports it (None for non-socket streams).
        remote_ip: the client's IP; with ``xheaders`` it comes from X-Real-Ip /
            X-Forwarded-For when they name a valid address.
        protocol: ``"http"`` or ``"https"``; with ``xheaders`` X-Scheme / X-Forwarded-Proto
            may change it.
    """

    __slots__ = ("_orig_protocol", "_orig_remote_ip", "address", "protocol", "remote_ip")

    def __init__(self, address: Any, protocol: str) -> None:
        self.address = address
        if isinstance(address, tuple) and address:
            self.remote_ip = str(address[0])
        else:
            # Unix sockets and in-memory streams have no IP, as in Tornado.
            self.remote_ip = "0.0.0.0"
        self.protocol = protocol
        self._orig_remote_ip = self.remote_ip
        self._orig_protocol = protocol

    def _apply_xheaders(self, headers: HTTPHeaders, trusted: frozenset[str]) -> None:
        ip = headers.get("X-Forwarded-For", self._orig_remote_ip)
        # The right-most address not belonging to a trusted proxy is the client.
        for candidate in reversed(ip.split(",")):
            ip = candidate.strip()
            if ip not in trusted:
                break
        ip = headers.get("X-Real-Ip", ip)
        if _is_valid_ip(ip):
            self.remote_ip = ip
        proto = headers.get("X-Scheme", headers.get("X-Forwarded-Proto", self._orig_protocol))
        proto = proto.split(",")[-1].strip()
        if proto in ("http", "https"):
            self.protocol = proto

    def _reset(self) -> None:
        self.remote_ip = self._orig_remote_ip
        self.protocol = self._orig_protocol

    def __repr__(self) -> str:
        return f"ConnectionContext(remote_ip={self.remote_ip!r}, protocol={self.protocol!r})"


def _is_valid_ip(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def peer_address(stream: trio.abc.Stream) -> Any:
    inner: Any = stream
    while isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    if isinstance(inner, trio.SocketStream):
        try:
            return inner.socket.getpeername()
        except OSError:
            return None
    return None
