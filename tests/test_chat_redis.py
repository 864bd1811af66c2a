"""The chat demo on Redis: the store, two processes sharing rooms, and Redis going away.

Each test starts a redis-server of its own (skipped without one). "Two processes" are two
`RedisStore` (or two chat applications) in one trio run, and, in the last tests, the real
``python -m examples.chat --workers 2``. These tests wait on real time (Redis has its own
clock), each under a hard deadline.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from examples.chat import Chat, make_app
from examples.chat.store import RoomFullError, StoreUnavailableError
from tests.redis_server import RedisServer, free_port, open_redis_server
from tests.test_chat import SECRET, XSRF, client_for, cookie_header, user_cookie
from trinado.testing import open_test_server
from trinado.websocket import WebSocketClientConnection, websocket_connect

pytest.importorskip("coredis")

from examples.chat.redis_store import RedisStore

# coredis 6.9 leaves the anyio memory streams of a connection that failed to connect (Redis
# is down) unclosed; the garbage collector frees them with a ResourceWarning. Not ours to
# fix here: ignore that one warning, and collect them before each test ends.
UNCLOSED = "Unclosed <MemoryObject"
pytestmark = pytest.mark.filterwarnings(f"ignore:{UNCLOSED}:ResourceWarning")

ERROR = "chat store unavailable, retrying"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _collect_unclosed() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", UNCLOSED, ResourceWarning)
        gc.collect()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with open_redis_server(tmp_path) as server:
        yield server


class Recorder:
    """A `StoreListener` that keeps what the relay hands it."""

    def __init__(self, rooms: tuple[str, ...] = ()) -> None:
        self.rooms = list(rooms)
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.statuses: list[str | None] = []

    def local_rooms(self) -> list[str]:
        return self.rooms

    async def deliver(self, room: str, update: dict[str, Any]) -> None:
        self.updates.append((room, update))

    async def store_status(self, error: str | None) -> None:
        self.statuses.append(error)

    def ids(self, room: str = "lobby") -> list[int]:
        return [m["id"] for r, u in self.updates if r == room for m in u.get("messages", [])]


@asynccontextmanager
async def stores(
    redis: RedisServer, count: int = 2, **options: Any
) -> AsyncIterator[list[tuple[RedisStore, Recorder]]]:
    """``count`` connected stores on one Redis, as if in as many processes."""
    async with AsyncExitStack() as stack:
        pairs = [(RedisStore(redis.url, **options), Recorder()) for _ in range(count)]
        for store, recorder in pairs:
            await stack.enter_async_context(store.connect(recorder))
        yield pairs


async def wait_for(condition: Callable[[], bool], seconds: float = 5) -> None:
    with trio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110 (polling what a relay fills in)
            await trio.sleep(0.01)


# ---- the store


async def test_messages_and_wake_ups_cross_processes(redis: RedisServer) -> None:
    async with stores(redis) as [(a, seen_a), (b, seen_b)]:
        for text in "abc":
            await a.add_message("lobby", {"body": text})
        assert [m["body"] for m in await b.messages_since("lobby", 0)] == ["a", "b", "c"]
        assert [m["id"] for m in await b.messages_since("lobby", 1)] == [2, 3]
        assert await b.messages_since("lobby", 3) == []
        answers = []
        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:

                async def poll() -> None:
                    answers.append(await b.updates("lobby", 3, 0, timeout=30))

                nursery.start_soon(poll)
                await wait_for(lambda: b.waiter_count("lobby") == 1)
                stored = await a.add_message("lobby", {"body": "d", "author": "ada"})
        assert stored == {"body": "d", "author": "ada", "id": 4, "room": "lobby"}
        assert answers[0].messages == [stored]
        assert answers[0].cursor == 4
        assert b.waiter_count() == 0
        # Both relays saw every message once, in order, the poster's own included.
        await wait_for(lambda: seen_a.ids() == seen_b.ids() == [1, 2, 3, 4])


async def test_concurrent_posts_from_two_processes_arrive_in_one_order(
    redis: RedisServer,
) -> None:
    async with stores(redis) as pairs:

        async def post(store: RedisStore, name: str) -> None:
            for i in range(20):
                await store.add_message("burst", {"body": f"{name}{i}"})

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for (store, _), name in zip(pairs, "ab", strict=True):
                    nursery.start_soon(post, store, name)
            await wait_for(lambda: all(len(r.ids("burst")) == 40 for _, r in pairs))
        orders = []
        for _, recorder in pairs:
            assert recorder.ids("burst") == list(range(1, 41))
            orders.append([m["body"] for r, u in recorder.updates for m in u.get("messages", [])])
        assert orders[0] == orders[1]  # the same order in both processes
        assert [m["body"] for m in await pairs[0][0].messages_since("burst", 0)] == orders[0]


async def test_long_polls_woken_together_share_one_look_at_redis(redis: RedisServer) -> None:
    async with stores(redis) as [(a, _), (b, _)]:
        await a.add_message("lobby", {"body": "first"})
        _, version = await b.presence("lobby")
        looks = []
        snapshot = b._snapshot

        async def counted(room: str, cursor: int, messages: bool = True) -> Any:
            looks.append(cursor)
            return await snapshot(room, cursor, messages)

        b._snapshot = counted  # type: ignore[method-assign]
        answers = []

        async def poll() -> None:
            answers.append(await b.updates("lobby", 1, version, timeout=30))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(50):
                    nursery.start_soon(poll)
                await wait_for(lambda: b.waiter_count("lobby") == 50)
                looks.clear()
                await a.add_message("lobby", {"body": "second"})
        assert [[m["body"] for m in answer.messages] for answer in answers] == [["second"]] * 50
        # One look for all fifty (a few more if the wake-up raced a look in flight).
        assert len(looks) <= 3, looks


async def test_presence_is_shared_and_lingers(redis: RedisServer) -> None:
    async with stores(redis) as [(a, seen_a), (b, _)]:
        await a.join("lobby", "alice")
        assert (await b.presence("lobby"))[0] == ["alice"]
        await b.join("lobby", "alice")  # a second connection, in the other process
        await b.join("lobby", "bob")
        users, version = await a.presence("lobby")
        assert users == ["alice", "bob"]
        await a.leave("lobby", "alice")
        assert await b.presence("lobby") == (["alice", "bob"], version)  # still in b
        await b.leave("lobby", "alice", linger=0.3)
        assert await a.presence("lobby") == (["alice", "bob"], version)  # lingering
        # A poll in the other process wakes when the linger ends.
        start = trio.current_time()
        with trio.fail_after(5):
            news = await a.updates("lobby", 0, version, timeout=10)
        assert news.presence == ["bob"]
        assert news.presence_version > version
        assert 0.25 < trio.current_time() - start < 3
        # Coming back within the linger does not change the version.
        await b.leave("lobby", "bob", linger=5)
        users, version = await a.presence("lobby")
        await a.join("lobby", "bob")
        assert await b.presence("lobby") == (["bob"], version)
        # Every change reached the relay, as presence updates.
        await wait_for(lambda: any(u.get("presence") == ["bob"] for _, u in seen_a.updates))


async def test_presence_of_a_process_that_died_expires(redis: RedisServer) -> None:
    async with stores(redis, 1, presence_ttl=5) as [(b, _)]:
        async with stores(redis, 1, presence_ttl=0.3) as [(a, _)]:
            await a.join("lobby", "ghost")
            await trio.sleep(0.5)  # refreshed meanwhile: still here
            assert (await b.presence("lobby"))[0] == ["ghost"]
        # a is gone without leaving (as a killed process): its entry expires.
        with trio.fail_after(5):
            while (await b.presence("lobby"))[0]:  # noqa: ASYNC110 (Redis's clock)
                await trio.sleep(0.05)


async def test_room_names_and_the_room_cap(redis: RedisServer) -> None:
    async with stores(redis, max_rooms=3) as [(a, _), (b, _)]:
        with pytest.raises(ValueError, match="invalid room name"):
            await a.open_room("../etc")
        with pytest.raises(ValueError, match="invalid room name"):
            await a.add_message("Bad Name", {})
        await a.open_room("lobby")
        await a.open_room("tea")
        await b.add_message("cake", {"body": "first"})  # posting makes the room too
        with pytest.raises(RoomFullError):
            await b.open_room("coffee")
        with pytest.raises(RoomFullError):
            await a.add_message("coffee", {"body": "no room"})
        await a.open_room("tea")  # an existing room is fine
        assert await b.rooms() == ["lobby", "cake", "tea"]


async def test_history_cap_and_cursor_ahead(redis: RedisServer) -> None:
    async with stores(redis, history=5) as [(a, _), (b, _)]:
        for i in range(8):
            await a.add_message("lobby", {"body": str(i)})
        assert [m["id"] for m in await b.messages_since("lobby", 0)] == [4, 5, 6, 7, 8]
        assert [m["id"] for m in await b.messages_since("lobby", 6)] == [7, 8]
        # A cursor ahead of the room (Redis lost its data): the whole history, reset.
        news = await b.updates("lobby", 57, -1)
        assert news.reset
        assert [m["id"] for m in news.messages] == [4, 5, 6, 7, 8]
        assert news.cursor == 8
        assert not (await b.updates("lobby", 8, -1)).reset


async def test_a_stale_epoch_after_redis_lost_its_data_resets(redis: RedisServer) -> None:
    async with stores(redis, 1, timeout=0.5) as [(a, _)]:
        for i in range(3):
            await a.add_message("lobby", {"body": f"old {i}"})
        seen = await a.updates("lobby", 0)
        assert seen.cursor == 3
        redis_cli(redis, "FLUSHALL")  # Redis lost its data: numbering starts over
        for i in range(5):
            await a.add_message("lobby", {"body": f"new {i}"})
        # A long poll from a page that had 1 to 3: its cursor is below the new numbering.
        with trio.fail_after(5):
            news = await a.updates("lobby", seen.cursor, -1, timeout=3, epoch=seen.epoch)
        assert news.reset
        assert [m["body"] for m in news.messages] == [f"new {i}" for i in range(5)]
        assert news.cursor == 5
        assert news.epoch
        assert news.epoch != seen.epoch
        # With the new epoch (or none), the cursor counts as before.
        for epoch in (news.epoch, None):
            again = await a.updates("lobby", 3, -1, epoch=epoch)
            assert (again.reset, [m["id"] for m in again.messages]) == (False, [4, 5])


async def test_every_call_has_a_deadline() -> None:
    # A "Redis" that accepts connections and never answers.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.3, retry_max=0.5)
    recorder = Recorder()

    async def silent(stream: trio.SocketStream) -> None:
        async with stream:
            while await stream.receive_some():
                pass

    start = trio.current_time()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, silent, listeners)
            try:
                async with store.connect(recorder):
                    with pytest.raises(StoreUnavailableError, match=ERROR):
                        await store.add_message("lobby", {"body": "hello?"})
                    with pytest.raises(StoreUnavailableError):
                        await store.updates("lobby", 0, timeout=30)
            finally:
                nursery.cancel_scope.cancel()
    assert trio.current_time() - start < 5
    assert recorder.statuses == [ERROR]


def redis_cli(redis: RedisServer, *command: str) -> None:
    """One command through the redis-cli next to the server (from the same package)."""
    binary = Path(shutil.which("redis-cli") or "/usr/bin/redis-cli")
    port = redis.url.rsplit(":", 1)[1].split("/")[0]
    subprocess.run([str(binary), "-p", port, *command], check=True, capture_output=True)


async def test_a_read_only_redis_is_unavailable_not_fatal(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # After a fail-over the old primary answers writes with READONLY: not a connection
    # error, but the chat can no more work than with Redis gone, and must not crash.
    async with stores(redis, 1, presence_ttl=0.3, retry_max=0.2) as [(a, seen)]:
        await a.join("lobby", "ada")
        await a.add_message("lobby", {"body": "before"})
        redis_cli(redis, "REPLICAOF", "127.0.0.1", "1")
        try:
            with pytest.raises(StoreUnavailableError, match=ERROR):
                await a.add_message("lobby", {"body": "refused"})
            await trio.sleep(0.5)  # heartbeats (every 0.1 s) meet READONLY meanwhile
        finally:
            redis_cli(redis, "REPLICAOF", "NO", "ONE")
        await wait_for(lambda: a.available)
        await a.add_message("lobby", {"body": "after"})
        await wait_for(lambda: seen.ids() == [1, 2])
    assert any("read only replica" in r.getMessage() for r in caplog.records)


async def test_redis_going_away_is_logged_once_and_the_relay_resumes(
    redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="examples.chat.redis_store")
    async with stores(redis, timeout=0.5, retry_max=0.2) as [(a, _), (_, seen_b)]:
        seen_b.rooms.append("lobby")
        await a.add_message("lobby", {"body": "before"})
        await wait_for(lambda: seen_b.ids() == [1])
        await trio.to_thread.run_sync(redis.stop)
        for _ in range(5):
            with pytest.raises(StoreUnavailableError):
                await a.add_message("lobby", {"body": "lost"})
        await wait_for(lambda: seen_b.statuses == [ERROR])
        await trio.to_thread.run_sync(redis.start)
        await wait_for(lambda: seen_b.statuses == [ERROR, None])
        stored = await a.add_message("lobby", {"body": "after"})
        assert stored["id"] == 1  # Redis came back empty: the room starts over
        # b's relay sent the (empty) history with reset, then the new message.
        await wait_for(lambda: seen_b.ids() == [1, 1])
        resets = [u for _, u in seen_b.updates if u.get("reset")]
        assert len(resets) == 1
        assert seen_b.updates[-1][1]["messages"][0]["body"] == "after"
    # One line each way per process (two stores here), not one per failed call.
    lines = [r.getMessage() for r in caplog.records if "Redis at" in r.getMessage()]
    assert sum("unavailable" in line for line in lines) == 2
    assert sum("is back" in line for line in lines) == 2
    assert not any(str(redis.port) not in line for line in lines)


# ---- two chat applications on one Redis


@asynccontextmanager
async def serve_chats(redis: RedisServer, count: int = 2, **options: Any) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:
        servers = []
        for _ in range(count):
            chat = Chat(RedisStore(redis.url, **options), poll_timeout=5)
            await stack.enter_async_context(chat.running())
            app = make_app(chat, cookie_secret=SECRET)
            servers.append(await stack.enter_async_context(open_test_server(app)))
        yield servers


async def read_update(conn: WebSocketClientConnection, seconds: float = 5) -> dict[str, Any]:
    with trio.fail_after(seconds):
        message = await conn.read_message()
    assert message is not None, "the WebSocket closed"
    update: dict[str, Any] = json.loads(message)
    return update


async def read_hello(conn: WebSocketClientConnection) -> dict[str, Any]:
    """The update that answers the join (a change of presence may come before it)."""
    while True:
        update = await read_update(conn)
        if "worker_pid" in update:
            return update


async def read_until(
    conn: WebSocketClientConnection, done: Callable[[dict[str, Any]], bool], seconds: float = 10
) -> list[dict[str, Any]]:
    """Updates up to and including the first for which ``done`` is true."""
    updates = [await read_update(conn, seconds)]
    while not done(updates[-1]):
        updates.append(await read_update(conn, seconds))
    return updates


def says(body: str) -> Callable[[dict[str, Any]], bool]:
    return lambda update: body in bodies(update.get("messages", []))


class Readers:
    """A long poll and a WebSocket reading one room of one server, recording messages."""

    def __init__(self, base: str, room: str = "lobby") -> None:
        self.base = base
        self.room = room
        self.poll: list[dict[str, Any]] = []
        self.ws: list[dict[str, Any]] = []
        self.ws_updates: list[dict[str, Any]] = []
        self.poll_pids: set[str] = set()
        self.ws_pid: int | None = None
        self.ws_ready = trio.Event()

    async def run_poll(self, client: httpx.AsyncClient, want: int) -> None:
        cursor = 0
        while len(self.poll) < want:
            r = await client.post("/a/message/updates", data={"room": self.room, "cursor": cursor})
            self.poll_pids.add(r.headers["X-Worker-Pid"])
            if r.status_code == 503:
                assert r.json() == {"error": ERROR}
                await trio.sleep(0.1)
                continue
            answer = r.json()
            if answer["reset"]:
                self.poll.clear()
            self.poll.extend(answer["messages"])
            cursor = answer["cursor"]

    async def run_ws(self, conn: WebSocketClientConnection, want: int) -> None:
        while len(self.ws) < want:
            update = await read_update(conn, 30)
            self.ws_updates.append(update)
            if "worker_pid" in update:
                self.ws_pid = update["worker_pid"]
                self.ws_ready.set()
            if update.get("reset"):
                self.ws.clear()
            seen = {m["id"] for m in self.ws}
            self.ws.extend(m for m in update.get("messages", []) if m["id"] not in seen)


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["body"] for m in messages]


async def test_a_post_through_one_app_reaches_the_other(redis: RedisServer) -> None:
    count = 20
    async with serve_chats(redis) as (server_a, server_b):
        readers = Readers(f"127.0.0.1:{server_b.port}")
        url = f"ws://127.0.0.1:{server_b.port}/chatsocket?room=lobby&cursor=0"
        with trio.fail_after(30):
            async with (
                client_for(server_a, "alice") as alice,
                client_for(server_b, "bob") as bob,
                websocket_connect(url, headers={"Cookie": cookie_header("carol")}) as carol,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(readers.run_poll, bob, count)
                nursery.start_soon(readers.run_ws, carol, count)
                await readers.ws_ready.wait()
                assert readers.ws_pid == os.getpid()
                # Twenty posts at once, over HTTP and a WebSocket, through app A.
                async with (
                    websocket_connect(
                        f"ws://127.0.0.1:{server_a.port}/chatsocket?room=lobby&cursor=0",
                        headers={"Cookie": cookie_header("dave")},
                    ) as dave,
                    trio.open_nursery() as posters,
                ):
                    for i in range(0, count, 2):
                        data = {"room": "lobby", "body": f"m{i}"}
                        posters.start_soon(
                            functools.partial(alice.post, "/a/message/new", data=data)
                        )
                        await dave.write_message(json.dumps({"body": f"m{i + 1}"}))
        for received in (readers.poll, readers.ws):
            assert [m["id"] for m in received] == list(range(1, count + 1))
            assert sorted(bodies(received)) == sorted(f"m{i}" for i in range(count))
        assert bodies(readers.poll) == bodies(readers.ws)
        # Presence crossed too: carol's WebSocket on B heard of dave joining on A.
        assert any(
            "dave" in u.get("presence", []) and "carol" in u["presence"] for u in readers.ws_updates
        )


async def test_a_client_leaving_cancels_its_long_poll(redis: RedisServer) -> None:
    chat = Chat(RedisStore(redis.url), poll_timeout=300)
    store: RedisStore = chat.store  # type: ignore[assignment]
    with trio.fail_after(10):
        async with chat.running(), open_test_server(make_app(chat, cookie_secret=SECRET)) as srv:
            sock = trio.socket.socket()
            await sock.connect(("127.0.0.1", srv.port))
            body = b"room=lobby&cursor=0&presence_version=1"
            head = (
                "POST /a/message/updates HTTP/1.1\r\nHost: x\r\n"
                f"Cookie: {cookie_header('alice')}\r\nX-Xsrftoken: {XSRF}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            await sock.send(head.encode() + body)
            await wait_for(lambda: store.waiter_count("lobby") == 1)
            assert (await store.presence("lobby"))[0] == ["alice"]
            sock.close()
            await wait_for(lambda: store.waiter_count() == 0)
            # Gone at once, not after a linger: the browser went away.
            assert (await store.presence("lobby"))[0] == []


async def test_redis_down_gives_clear_errors_and_recovers(redis: RedisServer) -> None:
    async with serve_chats(redis, timeout=0.5, retry_max=0.2) as (server_a, server_b):
        url = f"ws://127.0.0.1:{server_b.port}/chatsocket?room=lobby&cursor=0"
        with trio.fail_after(30):
            async with (
                client_for(server_a, "alice") as alice,
                client_for(server_b, "bob") as bob,
                websocket_connect(url, headers={"Cookie": cookie_header("carol")}) as carol,
            ):
                await read_hello(carol)
                for body in ("one", "two"):
                    r = await alice.post("/a/message/new", data={"room": "lobby", "body": body})
                    assert r.status_code == 200
                await read_until(carol, says("two"))
                await trio.to_thread.run_sync(redis.stop)
                r = await alice.post("/a/message/new", data={"room": "lobby", "body": "lost"})
                assert (r.status_code, r.json()) == (503, {"error": ERROR})
                r = await bob.post("/a/message/updates", data={"room": "lobby", "cursor": "2"})
                assert (r.status_code, r.json()) == (503, {"error": ERROR})
                # The WebSocket on B hears of the outage.
                await read_until(carol, lambda update: update.get("error") == ERROR)
                # A WebSocket opened now gets the error and a close (the page retries).
                other = f"ws://127.0.0.1:{server_b.port}/chatsocket?room=lobby&cursor=1"
                async with websocket_connect(other, headers={"Cookie": cookie_header("x")}) as x:
                    assert await read_update(x) == {"error": ERROR}
                    with trio.fail_after(5):
                        assert await x.read_message() is None
                    assert x.close_code == 1011
                await trio.to_thread.run_sync(redis.start)
                with trio.fail_after(10):
                    while True:
                        data = {"room": "lobby", "body": "three"}
                        r = await alice.post("/a/message/new", data=data)
                        if r.status_code == 200:
                            break
                        await trio.sleep(0.05)
                assert r.json()["id"] == 1  # an empty Redis: the room starts over
                updates = await read_until(carol, says("three"))
                assert {"error": None} in updates
                assert any(update.get("reset") for update in updates)
                # A long poll with the old cursor is told to start over, with the new message.
                r = await bob.post("/a/message/updates", data={"room": "lobby", "cursor": "2"})
                answer = r.json()
                assert answer["reset"]
                assert bodies(answer["messages"]) == ["three"]


# ---- the command line: python -m examples.chat --store redis://... --workers 2


@asynccontextmanager
async def run_cli(directory: Path, *args: str) -> AsyncIterator[str]:
    """The chat as a subprocess; yields its base URL once every worker serves."""
    port = free_port()
    env = {**os.environ, "TRINADO_CHAT_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "examples.chat", "--port", str(port), *args]
    log_path = directory / "chat.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        with trio.fail_after(20):
            while b"workers)" not in log_path.read_bytes():
                if process.poll() is not None:
                    raise AssertionError(f"the chat exited: {log_path.read_text()}")
                await trio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        assert process.poll() is None, log_path.read_text()  # still up
    finally:
        process.terminate()
        with trio.move_on_after(15):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()


def http(base: str, user: str) -> httpx.AsyncClient:
    """A client with one connection (so one worker), signed in as ``user``."""
    client = httpx.AsyncClient(
        base_url=base,
        headers={"X-Xsrftoken": XSRF},
        timeout=10,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )
    client.cookies.set("_xsrf", XSRF)
    client.cookies.set("chat_user", user_cookie(user))
    return client


async def client_on(stack: AsyncExitStack, base: str, user: str, pid: str) -> httpx.AsyncClient:
    """A one-connection client that landed on worker ``pid`` (new connections until one does)."""
    for _ in range(100):
        client = http(base, user)
        r = await client.get("/login")
        if r.headers["X-Worker-Pid"] == pid:
            stack.push_async_callback(client.aclose)
            return client
        await client.aclose()
    raise AssertionError(f"no connection reached worker {pid}")


async def socket_on(
    stack: AsyncExitStack, base: str, user: str, pid: int
) -> WebSocketClientConnection:
    """A WebSocket held by worker ``pid`` (new ones until one is), closed with ``stack``."""
    url = base.replace("http://", "ws://") + "/chatsocket?room=lobby&cursor=0"
    for _ in range(100):
        attempt = AsyncExitStack()
        conn = await attempt.enter_async_context(
            websocket_connect(url, headers={"Cookie": cookie_header(user)})
        )
        if (await read_hello(conn))["worker_pid"] == pid:
            stack.push_async_callback(attempt.aclose)
            return conn
        await attempt.aclose()
    raise AssertionError(f"no WebSocket reached worker {pid}")


async def test_cli_two_workers_share_rooms_and_survive_redis(
    redis: RedisServer, tmp_path: Path
) -> None:
    count = 20
    with trio.fail_after(90):
        async with (
            run_cli(
                tmp_path, "--store", redis.url, "--workers", "2", "--poll-timeout", "5"
            ) as base,
            AsyncExitStack() as stack,
        ):
            pids: set[str] = set()
            for _ in range(100):
                async with http(base, "probe") as probe:
                    pids.add((await probe.get("/login")).headers["X-Worker-Pid"])
                if len(pids) == 2:
                    break
            assert len(pids) == 2, "SO_REUSEPORT gave every connection to one worker"
            pid1, pid2 = sorted(pids)
            alice = await client_on(stack, base, "alice", pid1)
            bob = await client_on(stack, base, "bob", pid2)
            carol = await socket_on(stack, base, "carol", int(pid2))

            # Twenty messages through worker 1 reach a long poll and a WebSocket on worker 2.
            readers = Readers(base)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(readers.run_poll, bob, count)
                nursery.start_soon(readers.run_ws, carol, count)
                for i in range(count):
                    r = await alice.post("/a/message/new", data={"room": "lobby", "body": f"m{i}"})
                    assert (r.status_code, r.headers["X-Worker-Pid"]) == (200, pid1)
            expected = [f"m{i}" for i in range(count)]
            assert bodies(readers.poll) == bodies(readers.ws) == expected
            assert [m["id"] for m in readers.ws] == list(range(1, count + 1))
            assert readers.poll_pids == {pid2}

            # Redis goes away: a clear error, and the chat stays up.
            await trio.to_thread.run_sync(redis.stop)
            r = await alice.post("/a/message/new", data={"room": "lobby", "body": "lost"})
            assert (r.status_code, r.json()) == (503, {"error": ERROR})
            await read_until(carol, lambda update: update.get("error") == ERROR)

            # Redis comes back (empty): posting works, worker 2's readers get the news.
            await trio.to_thread.run_sync(redis.start)
            for _ in range(200):
                r = await alice.post("/a/message/new", data={"room": "lobby", "body": "back"})
                if r.status_code == 200:
                    break
                await trio.sleep(0.05)
            assert r.status_code == 200
            updates = await read_until(carol, says("back"))
            assert {"error": None} in updates
            r = await bob.post("/a/message/updates", data={"room": "lobby", "cursor": count})
            assert r.headers["X-Worker-Pid"] == pid2
            assert r.json()["reset"]
            assert bodies(r.json()["messages"]) == ["back"]
