"""Load on the chat demo: many long-poll waiters, then many WebSockets, on one server process.

    python bench/chat_load.py [--pollers 10000] [--websockets 5000]

The server (examples/chat plus a ``/stats`` route) runs in a child process, so that its
memory can be read from /proc. The clients run here, on loopback, spread over several
source addresses (127.0.0.2, 127.0.0.3, ...) so that ephemeral ports do not run out.

For each transport it reports: how long connecting took, the server's resident memory per
client (VmRSS delta / N), how long one posted message takes to reach every client, and,
after every client is dropped at once, how long until the server's count is back at zero.
Every phase has a deadline.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench secret"
XSRF = "deadbeef"
USER = "bench"  # one name for every client: presence changes once, not N times


def raise_nofile() -> int:
    """Raises the soft open-file limit to the hard one; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- the server (child process)


def serve(port: int) -> None:
    """Runs the chat with a ``/stats`` route (waiters and WebSockets in the bench room)."""
    from examples.chat import Chat, make_app
    from trinado import web

    chat = Chat(poll_timeout=600)

    class Stats(web.RequestHandler):
        async def get(self) -> None:
            self.write(
                {
                    "waiters": chat.store.waiter_count(),  # type: ignore[attr-defined]
                    "sockets": sum(len(s) for s in chat.sockets.values()),
                }
            )

    app = make_app(chat, cookie_secret=SECRET)
    app.add_handlers(r".*", [(r"/stats", Stats)])
    trio.run(lambda: app.serve(port, "127.0.0.1", backlog=4096))


def vm_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# ---- the clients


def cookie() -> str:
    from trinado.security import create_signed_value

    return f"chat_user={create_signed_value(SECRET, 'chat_user', USER).decode()}; _xsrf={XSRF}"


def poll_request(cursor: int, version: int) -> bytes:
    body = f"room=bench&cursor={cursor}&presence_version={version}".encode()
    head = (
        "POST /a/message/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie()}\r\nX-Xsrftoken: {XSRF}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connect(port: int, i: int, limiter: trio.CapacityLimiter) -> trio.SocketStream:
    """A TCP connection from 127.0.0.<2 + i % 50> to the server."""
    source = f"127.0.0.{2 + i % 50}"
    async with limiter:
        sock = trio.socket.socket()
        await sock.bind((source, 0))
        await sock.connect(("127.0.0.1", port))
        return trio.SocketStream(sock)


async def read_response(stream: trio.SocketStream) -> bytes:
    """One whole HTTP response with a Content-Length; returns its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return body


async def stats(port: int) -> dict[str, int]:
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return json.loads(await read_response(stream))  # type: ignore[no-any-return]


async def post_message(port: int, text: str) -> None:
    body = f"room=bench&body={text}".encode()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        head = (
            "POST /a/message/new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Cookie: {cookie()}\r\nX-Xsrftoken: {XSRF}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        await stream.send_all(head.encode() + body)
        await read_response(stream)


async def until(port: int, key: str, value: int, seconds: float) -> float:
    """Waits until ``/stats[key] == value``; returns how long it took."""
    start = time.perf_counter()
    with trio.fail_after(seconds):
        while (await stats(port))[key] != value:  # noqa: ASYNC110 (another process)
            await trio.sleep(0.05)
    return time.perf_counter() - start


async def bench_pollers(port: int, pid: int, n: int) -> dict[str, Any]:
    """N long polls waiting; one message; then everyone waits again and leaves at once."""
    limiter = trio.CapacityLimiter(500)
    streams: list[trio.SocketStream] = []
    await post_message(port, "warm-up")  # message 1; the room exists; presence version 1
    await trio.sleep(0.5)
    rss0 = vm_rss_kib(pid)
    t0 = time.perf_counter()

    async def open_one(i: int) -> None:
        stream = await connect(port, i, limiter)
        await stream.send_all(poll_request(1, 1))
        streams.append(stream)

    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(open_one, i)
    await until(port, "waiters", n, 120)
    connect_s = time.perf_counter() - t0
    rss1 = vm_rss_kib(pid)

    arrived: list[float] = []

    async def receive(stream: trio.SocketStream) -> None:
        body = await read_response(stream)
        if b"fan-out" not in body:
            raise RuntimeError(f"unexpected answer {body[:200]!r}")
        arrived.append(time.perf_counter())

    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(receive, stream)
            await trio.sleep(0.2)
            posted = time.perf_counter()
            await post_message(port, "fan-out")
    fan_out_s = max(arrived) - posted
    median_s = sorted(arrived)[len(arrived) // 2] - posted

    # Everyone polls again (keep-alive), then all clients vanish at once.
    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(stream.send_all, poll_request(2, 1))
    await until(port, "waiters", n, 120)
    for stream in streams:
        stream.socket.close()
    back_to_zero_s = await until(port, "waiters", 0, 120)
    return {
        "clients": n,
        "connect_s": round(connect_s, 2),
        "rss_per_waiter_kib": round((rss1 - rss0) / n, 2),
        "all_have_message_s": round(fan_out_s, 3),
        "median_has_message_s": round(median_s, 3),
        "waiters_after_drop": (await stats(port))["waiters"],
        "drop_to_zero_s": round(back_to_zero_s, 2),
    }


async def bench_websockets(port: int, pid: int, n: int) -> dict[str, Any]:
    """N WebSockets in the room; one message through all of them; then all dropped."""
    from trinado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{port}/chatsocket?room=bench&cursor=1000000"
    headers = {"Cookie": cookie()}
    limiter = trio.CapacityLimiter(200)
    rss0 = vm_rss_kib(pid)
    t0 = time.perf_counter()
    arrived: list[float] = []
    all_open = trio.Event()
    opened = 0
    stop = trio.Event()

    async def client() -> None:
        nonlocal opened
        async with limiter:
            conn = await websocket_connect(url, headers=headers, connect_timeout=60)
        try:
            await conn.read_message()  # the hello (history and presence)
            opened += 1
            if opened == n:
                all_open.set()
            while True:
                message = await conn.read_message()
                if message is None:
                    return
                if "fan-out-ws" in str(message):
                    arrived.append(time.perf_counter())
                    break
            await stop.wait()
        finally:
            # Vanish without a close frame, as a browser tab killed by its owner.
            with trio.CancelScope(shield=True, deadline=trio.current_time() + 5):
                await trio.aclose_forcefully(conn.protocol.stream)

    result: dict[str, Any] = {"clients": n}
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(client)
            await all_open.wait()
            await until(port, "sockets", n, 120)
            result["connect_s"] = round(time.perf_counter() - t0, 2)
            result["rss_per_socket_kib"] = round((vm_rss_kib(pid) - rss0) / n, 2)
            posted = time.perf_counter()
            await post_message(port, "fan-out-ws")
            while len(arrived) < n:  # noqa: ASYNC110
                await trio.sleep(0.01)
            result["all_have_message_s"] = round(max(arrived) - posted, 3)
            result["median_has_message_s"] = round(sorted(arrived)[n // 2] - posted, 3)
            nursery.cancel_scope.cancel()  # every client vanishes at once
    result["drop_to_zero_s"] = round(await until(port, "sockets", 0, 120), 2)
    result["sockets_after_drop"] = (await stats(port))["sockets"]
    return result


async def with_server(port: int, phase: Any, n: int) -> dict[str, Any]:
    """Runs one phase against a fresh server process (so memory is measured from scratch)."""
    child = await trio.lowlevel.open_process(
        [sys.executable, __file__, "--serve", "--port", str(port)]
    )
    try:
        with trio.fail_after(20):
            while True:
                try:
                    await stats(port)
                    break
                except OSError:
                    await trio.sleep(0.1)
        result: dict[str, Any] = await phase(port, child.pid, n)
        print(json.dumps(result), flush=True)
        return result
    finally:
        child.terminate()
        with trio.move_on_after(10):
            await child.wait()


async def run(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {"nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
    if args.pollers:
        results["long_poll"] = await with_server(args.port, bench_pollers, args.pollers)
    if args.websockets:
        results["websocket"] = await with_server(args.port, bench_websockets, args.websockets)
    print(json.dumps(results, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pollers", type=int, default=10_000)
    parser.add_argument("--websockets", type=int, default=5_000)
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_nofile()
    if args.serve:
        serve(args.port)
    else:
        trio.run(run, args)


if __name__ == "__main__":
    main()
