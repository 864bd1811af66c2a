"""The WebSocket load client of ``bench/ws_echo.py``: echo round trips, or many idle sockets.

Runs as its own process (pinned to the core the servers do not use) and talks to the
driver over its standard streams, one JSON object per line on stdout:

``echo``
    Opens ``--connections`` WebSockets to ``/echo``, prints ``{"ready": N}``, waits for a
    line on stdin, then runs a closed loop on every connection for ``--duration`` seconds
    (send a 100-byte text message, wait for its echo, check it, repeat) and prints the
    result: messages, seconds, the client's own CPU seconds in that window, p50/p99 round
    trip. Then it closes the connections (close handshake, bounded) and exits.

``hold``
    Opens ``--count`` WebSockets (the handshake only, in batches smaller than Tornado's
    listen backlog) and prints ``{"opened": N}``; then obeys stdin: ``echo`` sends one
    message on every socket and waits for all the echoes (``{"echoed": N}``), ``quit`` (or
    end of input) closes them all and exits.

Two implementations of the echo loop (``--impl``):

``raw`` (the default)
    Plain sockets: the masked client frame is built once and the expected echo is compared
    byte for byte, so each round trip costs one ``send`` and one ``recv`` (plus ``epoll``
    with several connections). This keeps the client well below one core while the server
    is measured.
``websockets``
    The ``websockets`` package on asyncio (compression off), as a cross-check with an
    independent, complete client; it costs more CPU per message than the servers do.

Everything is bounded: every socket has a timeout and the driver kills a client that
overstays.

Run: ``python bench/peers/ws_client.py echo --port 8888 --connections 50 --duration 5``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import resource
import select
import socket
import string
import sys
import time
from collections.abc import Sequence
from typing import Any

#: Where the echo servers listen.
PATH = "/echo"
#: Bytes in each text message.
MESSAGE_SIZE = 100
#: The open-file limit the memory measurement needs (5,000 sockets and some spare).
NOFILE = 20_000
#: How long any single socket operation may take before the client gives up.
SOCKET_TIMEOUT = 30.0
#: Handshakes in flight at once while opening many sockets (Tornado's backlog is 128).
HANDSHAKE_BATCH = 100
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MASK = b"\x1f\x2e\x3d\x4c"
_TEXT = 0x1
_CLOSE = 0x8


class ProtocolError(Exception):
    """The server answered something other than what an echo server must answer."""


def raise_nofile(wanted: int = NOFILE) -> int:
    """Raise the soft open-file limit towards ``wanted`` (never past the hard limit).

    Args:
        wanted: The limit to reach.

    Returns:
        The soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def text_message(size: int = MESSAGE_SIZE) -> str:
    """An ASCII message of ``size`` characters (so also ``size`` bytes of UTF-8).

    Args:
        size: Its length.

    Returns:
        The message.
    """
    alphabet = string.ascii_letters + string.digits
    return (alphabet * (size // len(alphabet) + 1))[:size]


def _length_field(size: int, mask_bit: int) -> bytes:
    if size < 126:
        return bytes((mask_bit | size,))
    if size < 65536:
        return bytes((mask_bit | 126,)) + size.to_bytes(2, "big")
    return bytes((mask_bit | 127,)) + size.to_bytes(8, "big")


def client_frame(opcode: int, payload: bytes, mask: bytes = _MASK) -> bytes:
    """One whole masked frame, as a client sends it.

    Args:
        opcode: The frame's opcode (1 text, 2 binary, 8 close...).
        payload: The unmasked payload.
        mask: The 4-byte masking key (a fixed one is fine for a benchmark).

    Returns:
        The frame's bytes.
    """
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes((0x80 | opcode,)) + _length_field(len(payload), 0x80) + mask + masked


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One whole unmasked frame, as a server sends it (what an echo must look like).

    Args:
        opcode: The frame's opcode.
        payload: The payload.

    Returns:
        The frame's bytes.
    """
    return bytes((0x80 | opcode,)) + _length_field(len(payload), 0) + payload


def accept_token(key: bytes) -> bytes:
    """The ``Sec-WebSocket-Accept`` value a server must answer to ``key``.

    Args:
        key: The ``Sec-WebSocket-Key`` sent.

    Returns:
        The expected token.
    """
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def send_handshake(sock: socket.socket, host: str, port: int) -> bytes:
    """Send the opening handshake (no compression offered, no origin).

    Args:
        sock: A connected socket.
        host: The host for the ``Host`` header.
        port: The port for the ``Host`` header.

    Returns:
        The ``Sec-WebSocket-Key`` sent.
    """
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode("ascii"))
    return key


def finish_handshake(sock: socket.socket, key: bytes) -> None:
    """Read the server's answer to the handshake and check it.

    Args:
        sock: The socket the handshake was sent on (blocking, with a timeout).
        key: The key sent.

    Raises:
        ProtocolError: No 101, a wrong accept token, compression switched on, or frames
            sent before any message.
    """
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            raise ProtocolError(f"connection closed during the handshake after {head!r}")
        head += data
    head, _, rest = head.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if lines[0].split(b" ")[1:2] != [b"101"]:
        raise ProtocolError(f"handshake answered {lines[0]!r}")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"sec-websocket-accept") != accept_token(key):
        raise ProtocolError("wrong Sec-WebSocket-Accept")
    if b"sec-websocket-extensions" in fields:
        raise ProtocolError("the server switched an extension on; none was offered")
    if rest:
        raise ProtocolError(f"unexpected bytes after the handshake: {rest[:50]!r}")


def open_websocket(host: str, port: int, source: str | None = None) -> socket.socket:
    """Connect and complete the handshake; the socket is left blocking with a timeout.

    Args:
        host: Server address.
        port: Server port.
        source: A local address to connect from (``127.0.0.x``), or None.

    Returns:
        The open WebSocket's socket.
    """
    sock = socket.create_connection(
        (host, port), SOCKET_TIMEOUT, source_address=(source, 0) if source else None
    )
    try:
        finish_handshake(sock, send_handshake(sock, host, port))
    except BaseException:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def receive_exactly(sock: socket.socket, expected: bytes) -> None:
    """Read ``len(expected)`` bytes and check they are ``expected``.

    Args:
        sock: A blocking socket with a timeout.
        expected: The bytes that must come.

    Raises:
        ProtocolError: The server closed, or sent something else.
    """
    data = sock.recv(65536)
    while len(data) < len(expected) and expected.startswith(data):
        more = sock.recv(65536)
        if not more:
            break
        data += more
    if data != expected:
        raise ProtocolError(f"expected {expected[:20]!r}..., got {data[:40]!r}")


def close_all(socks: Sequence[socket.socket], timeout: float = 3.0) -> None:
    """Start the close handshake on every socket, read until the server closes, close.

    Echoes still in flight are read and ignored. Bounded by ``timeout`` in all.

    Args:
        socks: The sockets.
        timeout: Seconds for all of them together.
    """
    close = client_frame(_CLOSE, (1000).to_bytes(2, "big"))
    deadline = time.monotonic() + timeout
    for sock in socks:
        try:
            sock.setblocking(True)
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(close)
        except OSError:
            pass
    for sock in socks:
        try:
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not sock.recv(65536):
                    break
        except OSError:
            pass
        sock.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def _result(
    messages: int, seconds: float, cpu: float, latencies: list[float], errors: int
) -> dict[str, Any]:
    latencies.sort()
    return {
        "messages": messages,
        "seconds": seconds,
        "rate": messages / seconds if seconds > 0 else 0.0,
        "cpu_seconds": cpu,
        "cpu": cpu / seconds if seconds > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1e3,
        "p99_ms": _percentile(latencies, 0.99) * 1e3,
        "errors": errors,
    }


def raw_echo_one(sock: socket.socket, duration: float) -> dict[str, Any]:
    """The closed loop over one connection: blocking send, blocking receive, compare.

    Args:
        sock: An open WebSocket (blocking, with a timeout).
        duration: Seconds to run.

    Returns:
        The measurement (see `_result`).

    Raises:
        ProtocolError: An echo differed from the message sent.
    """
    payload = text_message().encode("ascii")
    frame = client_frame(_TEXT, payload)
    reply = server_frame(_TEXT, payload)
    size = len(reply)
    send, recv, clock = sock.sendall, sock.recv, time.perf_counter
    latencies: list[float] = []
    record = latencies.append
    messages = 0
    cpu = _cpu_seconds()
    start = sent = clock()
    end = start + duration
    while True:
        send(frame)
        data = recv(65536)
        if data != reply:
            while len(data) < size and reply.startswith(data):
                more = recv(65536)
                if not more:
                    break
                data += more
            if data != reply:
                raise ProtocolError(f"expected the echo, got {data[:40]!r}")
        now = clock()
        record(now - sent)
        messages += 1
        if now >= end:
            break
        sent = now
    return _result(messages, now - start, _cpu_seconds() - cpu, latencies, 0)


def raw_echo_many(socks: Sequence[socket.socket], duration: float) -> dict[str, Any]:
    """The closed loop over many connections at once, driven by ``epoll``.

    Args:
        socks: Open WebSockets.
        duration: Seconds to run.

    Returns:
        The measurement (see `_result`).

    Raises:
        ProtocolError: An echo differed from the message sent, or a server closed.
    """
    payload = text_message().encode("ascii")
    frame = client_frame(_TEXT, payload)
    reply = server_frame(_TEXT, payload)
    size = len(reply)
    clock = time.perf_counter
    poller = select.epoll()
    by_fd: dict[int, socket.socket] = {}
    sent_at: dict[int, float] = {}
    partial: dict[int, bytes] = {}
    latencies: list[float] = []
    record = latencies.append
    messages = 0
    try:
        for sock in socks:
            sock.setblocking(False)
            by_fd[sock.fileno()] = sock
            poller.register(sock.fileno(), select.EPOLLIN)
        cpu = _cpu_seconds()
        start = clock()
        end = start + duration
        for fd, sock in by_fd.items():
            sock.send(frame)
            sent_at[fd] = start
        now = start
        while now < end:
            events = poller.poll(0.05)
            now = clock()
            for fd, _ in events:
                sock = by_fd[fd]
                data = sock.recv(65536)
                if data != reply:
                    data = partial.pop(fd, b"") + data
                    if len(data) < size and data and reply.startswith(data):
                        partial[fd] = data
                        continue
                    if data != reply:
                        raise ProtocolError(f"expected the echo, got {data[:40]!r}")
                record(now - sent_at[fd])
                messages += 1
                if now < end:
                    if sock.send(frame) != len(frame):
                        raise ProtocolError("the socket did not take a whole 106-byte frame")
                    sent_at[fd] = now
        return _result(messages, now - start, _cpu_seconds() - cpu, latencies, 0)
    finally:
        poller.close()


async def websockets_echo(host: str, port: int, connections: int, duration: float) -> None:
    """The closed loop with the ``websockets`` package on asyncio; prints like `echo`.

    Args:
        host: Server address.
        port: Server port.
        connections: Connections to run at once.
        duration: Seconds to run.
    """
    from websockets.asyncio.client import connect  # (only this mode needs it)

    uri = f"ws://{host}:{port}{PATH}"
    message = text_message()
    clients = [
        await connect(uri, compression=None, ping_interval=None, open_timeout=SOCKET_TIMEOUT)
        for _ in range(connections)
    ]
    _emit({"ready": len(clients)})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    clock = time.perf_counter
    latencies: list[float] = []
    counts = [0, 0]  # messages, errors
    cpu = _cpu_seconds()
    start = clock()
    end = start + duration

    async def loop(ws: Any) -> None:
        sent = clock()
        while True:
            await ws.send(message)
            got = await ws.recv()
            now = clock()
            if got != message:
                counts[1] += 1
            latencies.append(now - sent)
            counts[0] += 1
            if now >= end:
                return
            sent = now

    await asyncio.wait_for(asyncio.gather(*(loop(ws) for ws in clients)), duration + 30)
    finished = clock()
    _emit(_result(counts[0], finished - start, _cpu_seconds() - cpu, latencies, counts[1]))
    for ws in clients:
        await asyncio.wait_for(ws.close(), 3.0)


def _emit(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def echo(args: argparse.Namespace) -> None:
    """The ``echo`` command: connect, report ready, wait for the go, measure, close.

    Args:
        args: The parsed options.
    """
    if args.impl == "websockets":
        asyncio.run(websockets_echo(args.host, args.port, args.connections, args.duration))
        return
    socks = [open_websocket(args.host, args.port) for _ in range(args.connections)]
    try:
        _emit({"ready": len(socks)})
        sys.stdin.readline()
        if len(socks) == 1:
            result = raw_echo_one(socks[0], args.duration)
        else:
            result = raw_echo_many(socks, args.duration)
        _emit(result)
    finally:
        close_all(socks)


def hold(args: argparse.Namespace) -> None:
    """The ``hold`` command: open many idle WebSockets and keep them until told to quit.

    Args:
        args: The parsed options.
    """
    raise_nofile()
    socks: list[socket.socket] = []
    started = time.monotonic()
    try:
        while len(socks) < args.count:
            batch: list[tuple[socket.socket, bytes]] = []
            for _ in range(min(HANDSHAKE_BATCH, args.count - len(socks))):
                index = len(socks) + len(batch)
                source = f"127.0.0.{1 + index % args.sources}" if args.sources > 1 else None
                sock = socket.create_connection(
                    (args.host, args.port),
                    SOCKET_TIMEOUT,
                    source_address=(source, 0) if source else None,
                )
                batch.append((sock, send_handshake(sock, args.host, args.port)))
            for sock, key in batch:
                socks.append(sock)
                finish_handshake(sock, key)
        _emit({"opened": len(socks), "seconds": time.monotonic() - started})
        payload = text_message().encode("ascii")
        frame, reply = client_frame(_TEXT, payload), server_frame(_TEXT, payload)
        for line in sys.stdin:
            command = line.strip()
            if command == "echo":
                for sock in socks:
                    sock.sendall(frame)
                for sock in socks:
                    receive_exactly(sock, reply)
                _emit({"echoed": len(socks)})
            elif command == "quit":
                break
    finally:
        for sock in socks:
            sock.close()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The parsed options.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("echo", "hold"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1, help="echo: connections (1)")
    parser.add_argument("--duration", type=float, default=5.0, help="echo: seconds (5)")
    parser.add_argument("--impl", choices=("raw", "websockets"), default="raw")
    parser.add_argument("--count", type=int, default=5000, help="hold: sockets (5000)")
    parser.add_argument("--sources", type=int, default=1, help="hold: spread over 127.0.0.1..N (1)")
    args = parser.parse_args(argv)
    if args.connections < 1 or args.duration <= 0 or args.count < 1:
        parser.error("--connections, --duration and --count must be positive")
    if not 1 <= args.sources <= 254:
        parser.error("--sources takes 1 to 254")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an error is printed as ``{"error": ...}`` on stdout.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit status: 0, or 1 after an error.
    """
    args = parse_args(argv)
    try:
        if args.command == "echo":
            echo(args)
        else:
            hold(args)
    except Exception as exc:  # (OSError, ProtocolError, websockets' errors, timeouts)
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
