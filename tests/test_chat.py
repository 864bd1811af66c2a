"""The chat demo (examples/chat): cursors, the long poll, WebSockets, sign-in, XSRF, escaping."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio

from examples.chat import Chat, MemoryStore, make_app
from examples.chat.store import HISTORY
from tests.conftest import MemoryServer
from trinado.httpserver import HTTPServer
from trinado.security import create_signed_value
from trinado.testing import open_test_server
from trinado.websocket import websocket_connect

SECRET = "test secret"
XSRF = "deadbeef"


def user_cookie(name: str) -> str:
    """A signed ``chat_user`` cookie, as the sign-in page would set."""
    return create_signed_value(SECRET, "chat_user", name).decode()


def cookie_header(name: str) -> str:
    return f"chat_user={user_cookie(name)}; _xsrf={XSRF}"


@asynccontextmanager
async def serve_chat(chat: Chat) -> AsyncIterator[HTTPServer]:
    async with open_test_server(make_app(chat, cookie_secret=SECRET)) as server:
        yield server


def client_for(server: HTTPServer, user: str | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}",
        headers={"X-Xsrftoken": XSRF},
        timeout=10,
    )
    client.cookies.set("_xsrf", XSRF)
    if user is not None:
        client.cookies.set("chat_user", user_cookie(user))
    return client


async def wait_for(condition: Callable[[], bool], seconds: float = 5) -> None:
    with trio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110 (the store exposes counters, not events)
            await trio.sleep(0.005)


# ---- the store: cursors and history


async def test_cursor_returns_messages_after_it() -> None:
    store = MemoryStore()
    for text in "abc":
        await store.add_message("lobby", {"body": text})
    assert [m["body"] for m in await store.messages_since("lobby", 0)] == ["a", "b", "c"]
    assert [m["id"] for m in await store.messages_since("lobby", 1)] == [2, 3]
    assert await store.messages_since("lobby", 3) == []
    news = await store.updates("lobby", 3, -1)
    assert (news.messages, news.cursor, news.reset) == ([], 3, False)


async def test_cursor_ahead_of_the_room_resets() -> None:
    # A page from before a server restart holds cursor 57; the room starts over at 1.
    store = MemoryStore()
    await store.add_message("lobby", {"body": "first after restart"})
    news = await store.updates("lobby", 57, -1)
    assert news.reset
    assert [m["id"] for m in news.messages] == [1]
    assert news.cursor == 1


async def test_stale_epoch_below_the_numbering_resets() -> None:
    # A page saw messages 1 to 3 of a server that then restarted; the new server has had
    # 5 messages since. The cursor (3) is below the new numbering: only the epoch tells.
    before = MemoryStore()
    for i in range(3):
        await before.add_message("lobby", {"body": f"old {i}"})
    seen = await before.updates("lobby", 0)
    assert (seen.cursor, seen.epoch) == (3, before.epoch)
    store = MemoryStore()  # the restarted server
    assert store.epoch != before.epoch
    for i in range(5):
        await store.add_message("lobby", {"body": f"new {i}"})
    news = await store.updates("lobby", seen.cursor, -1, epoch=seen.epoch)
    assert news.reset
    assert [m["body"] for m in news.messages] == [f"new {i}" for i in range(5)]
    assert (news.cursor, news.epoch) == (5, store.epoch)
    assert news.to_json()["epoch"] == store.epoch
    # The same epoch, or none (a first look), goes by the cursor as before.
    for epoch in (store.epoch, None):
        news = await store.updates("lobby", 3, -1, epoch=epoch)
        assert (news.reset, [m["id"] for m in news.messages]) == (False, [4, 5])
    # A stale epoch on an empty room: reset to nothing.
    news = await store.updates("empty", 2, -1, epoch=seen.epoch)
    assert (news.reset, news.messages, news.cursor) == (True, [], 0)


async def test_history_keeps_the_last_200() -> None:
    store = MemoryStore()
    for i in range(HISTORY + 50):
        await store.add_message("lobby", {"body": str(i)})
    kept = await store.messages_since("lobby", 0)
    assert len(kept) == HISTORY
    assert kept[0]["id"] == 51
    assert kept[-1]["id"] == HISTORY + 50
    assert [m["id"] for m in await store.messages_since("lobby", 245)] == [246, 247, 248, 249, 250]


async def test_room_names_are_checked() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="invalid room name"):
        await store.open_room("../etc")
    await store.open_room("general")
    assert await store.rooms() == ["lobby", "general"]


async def test_lingering_user_expires(autojump_clock: Any) -> None:
    store = MemoryStore()
    await store.join("lobby", "alice")
    await store.leave("lobby", "alice", linger=5)
    users, version = await store.presence("lobby")
    assert users == ["alice"]
    # A waiter wakes when the linger ends, and answers with the new presence.
    news = await store.updates("lobby", 0, version, timeout=30)
    assert news.presence == []
    assert news.presence_version > version
    assert 4.9 < trio.current_time() < 6


# ---- the long poll over HTTP (memory streams, mock clock)


async def test_poll_times_out_with_an_empty_answer(
    memory_server: Callable[..., Any], autojump_clock: Any
) -> None:
    chat = Chat(poll_timeout=30)
    server: MemoryServer = await memory_server(make_app(chat, cookie_secret=SECRET))
    client = server.client()
    body = b"room=lobby&cursor=0&presence_version=1"  # alice's joining is version 1
    await client.request(
        "POST",
        "/a/message/updates",
        body,
        headers=[
            ("Cookie", cookie_header("alice")),
            ("X-Xsrftoken", XSRF),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
    )
    start = trio.current_time()
    response, data = await client.response()
    assert response.status_code == 200
    answer = json.loads(data)
    assert answer["messages"] == []
    assert answer["cursor"] == 0
    assert answer["presence"] == ["alice"]
    assert 30 <= trio.current_time() - start < 31
    assert chat.store.waiter_count() == 0  # type: ignore[attr-defined]


async def test_poll_answers_at_once_with_newer_messages() -> None:
    chat = Chat()
    async with serve_chat(chat) as server, client_for(server, "alice") as alice:
        for text in ("one", "two"):
            r = await alice.post("/a/message/new", data={"room": "lobby", "body": text})
            assert r.status_code == 200
        with trio.fail_after(5):
            r = await alice.post("/a/message/updates", data={"room": "lobby", "cursor": "1"})
        answer = r.json()
        assert [m["body"] for m in answer["messages"]] == ["two"]
        assert answer["cursor"] == 2


async def test_poll_with_a_stale_epoch_gets_the_whole_history() -> None:
    chat = Chat()
    store: MemoryStore = chat.store  # type: ignore[assignment]
    async with serve_chat(chat) as server, client_for(server, "alice") as alice:
        for text in ("one", "two", "three"):
            await alice.post("/a/message/new", data={"room": "lobby", "body": text})
        page = await alice.get("/room/lobby")
        assert f'data-cursor="3" data-epoch="{store.epoch}"' in page.text
        with trio.fail_after(5):
            data = {"room": "lobby", "cursor": "2", "epoch": "from-before-a-restart"}
            answer = (await alice.post("/a/message/updates", data=data)).json()
            assert answer["reset"]
            assert [m["body"] for m in answer["messages"]] == ["one", "two", "three"]
            assert (answer["cursor"], answer["epoch"]) == (3, store.epoch)
            for epoch in (store.epoch, ""):  # the store's epoch, or none: by the cursor
                data = {"room": "lobby", "cursor": "2", "epoch": epoch}
                answer = (await alice.post("/a/message/updates", data=data)).json()
                assert not answer["reset"]
                assert [m["body"] for m in answer["messages"]] == ["three"]


async def test_poll_wakes_on_a_new_message() -> None:
    chat = Chat()
    async with serve_chat(chat) as server, client_for(server, "alice") as alice:
        async with client_for(server, "bob") as bob, trio.open_nursery() as nursery:
            answers: list[dict[str, Any]] = []

            async def poll() -> None:
                r = await alice.post(
                    "/a/message/updates",
                    data={"room": "lobby", "cursor": "0", "presence_version": "1"},
                )
                answers.append(r.json())

            nursery.start_soon(poll)
            await wait_for(lambda: chat.store.waiter_count("lobby") == 1)  # type: ignore[attr-defined]
            await bob.post("/a/message/new", data={"room": "lobby", "body": "hi"})
            await wait_for(lambda: bool(answers))
        assert answers[0]["messages"][0]["author"] == "bob"


async def test_client_leaving_cancels_the_wait() -> None:
    chat = Chat(poll_timeout=300)
    store: MemoryStore = chat.store  # type: ignore[assignment]
    async with serve_chat(chat) as server:
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        await sock.connect(("127.0.0.1", server.port))
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
        await wait_for(lambda: store.waiter_count("lobby") == 0)
        # Gone at once, not after a linger: the browser went away.
        assert (await store.presence("lobby"))[0] == []


# ---- sign-in, XSRF, escaping


async def test_sign_in_and_out() -> None:
    async with serve_chat(Chat()) as server, client_for(server, None) as client:
        r = await client.get("/room/lobby")
        assert r.status_code == 302
        assert r.headers["location"].startswith("/login?next=")
        r = await client.post("/login", data={"name": "  Ada   Lovelace ", "next": "/room/lobby"})
        assert r.status_code == 302
        assert r.headers["location"] == "/room/lobby"
        r = await client.get("/room/lobby")
        assert r.status_code == 200
        assert 'data-user="Ada Lovelace"' in r.text
        assert "/static/chat.js?v=" in r.text
        assert "/static/chat.css?v=" in r.text
        r = await client.post("/logout")
        assert r.status_code == 302
        assert r.headers["location"] == "/login"
        r = await client.get("/room/lobby")
        assert r.status_code == 302


async def test_sign_in_refuses_bad_names_and_open_redirects() -> None:
    async with serve_chat(Chat()) as server, client_for(server, None) as client:
        r = await client.post("/login", data={"name": "x" * 33})
        assert r.status_code == 400
        r = await client.post("/login", data={"name": "eve", "next": "//evil.example/"})
        assert r.headers["location"] == "/"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/a/message/new", {"room": "lobby", "body": "hi"}),
        ("/a/message/updates", {"room": "lobby", "cursor": "0"}),
        ("/login", {"name": "mallory"}),
        ("/logout", {}),
        ("/rooms", {"name": "x"}),
    ],
)
async def test_posts_without_xsrf_token_are_refused(path: str, data: dict[str, str]) -> None:
    chat = Chat()
    async with serve_chat(chat) as server, client_for(server, "alice") as client:
        del client.headers["X-Xsrftoken"]
        r = await client.post(path, data=data)
        assert r.status_code == 403
        r = await client.post(path, data=data, headers={"X-Xsrftoken": "0badc0de"})
        assert r.status_code == 403
    assert await chat.store.messages_since("lobby", 0) == []


async def test_script_is_escaped_and_links_made() -> None:
    async with serve_chat(Chat()) as server, client_for(server, "<b>eve</b>") as client:
        text = "<script>alert(1)</script> see https://example.com/a?b=1&c=2"
        r = await client.post("/a/message/new", data={"room": "lobby", "body": text})
        html = r.json()["html"]
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert '<a href="https://example.com/a?b=1&amp;c=2">' in html
        assert "&lt;b&gt;eve&lt;/b&gt;" in html
        assert r.json()["body"] == text  # the JSON keeps the raw text
        page = await client.get("/room/lobby")
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert" in page.text


async def test_rooms_are_created_and_listed() -> None:
    async with serve_chat(Chat()) as server, client_for(server, "alice") as client:
        r = await client.post("/rooms", data={"name": "Tea Time"})
        assert r.headers["location"] == "/room/tea-time"
        r = await client.get("/room/tea-time")
        assert 'href="/room/lobby"' in r.text
        assert "#tea-time" in r.text
        r = await client.post("/rooms", data={"name": "../x"})
        assert r.status_code == 400


# ---- WebSockets


async def test_websocket_needs_a_user() -> None:
    from trinado.websocket import WebSocketHandshakeError

    async with serve_chat(Chat()) as server:
        with pytest.raises(WebSocketHandshakeError) as info:
            async with websocket_connect(f"ws://127.0.0.1:{server.port}/chatsocket"):
                pass
        assert info.value.code == 403


async def test_websocket_history_presence_and_compression() -> None:
    chat = Chat()
    async with serve_chat(chat) as server, client_for(server, "alice") as alice:
        await alice.post("/a/message/new", data={"room": "lobby", "body": "before"})
        url = f"ws://127.0.0.1:{server.port}/chatsocket?room=lobby&cursor=0"
        headers = {"Cookie": cookie_header("bob")}
        with trio.fail_after(10):
            async with websocket_connect(url, headers=headers, compression_options={}) as bob:
                assert "permessage-deflate" in bob.headers.get("Sec-WebSocket-Extensions", "")
                hello = json.loads(await bob.read_message() or "")
                assert [m["body"] for m in hello["messages"]] == ["before"]
                assert hello["presence"] == ["bob"]
                # A long-polling user arrives: the WebSocket hears about it.
                poll = alice.post(
                    "/a/message/updates",
                    data={"room": "lobby", "cursor": "1", "presence_version": "-1"},
                )
                await poll
                while True:
                    update = json.loads(await bob.read_message() or "")
                    if update.get("presence") == ["alice", "bob"]:
                        break
                await bob.write_message(json.dumps({"body": "from the socket"}))
                while True:
                    update = json.loads(await bob.read_message() or "")
                    if update.get("messages"):
                        break
                assert update["messages"][0]["body"] == "from the socket"
        await wait_for(lambda: not chat.sockets["lobby"])


async def test_websocket_join_with_a_stale_epoch_gets_the_whole_history() -> None:
    chat = Chat()
    store: MemoryStore = chat.store  # type: ignore[assignment]
    for text in ("one", "two", "three"):
        await store.add_message("lobby", {"body": text})
    headers = {"Cookie": cookie_header("bob")}
    async with serve_chat(chat) as server:
        base = f"ws://127.0.0.1:{server.port}/chatsocket?room=lobby&cursor=2"
        with trio.fail_after(10):
            async with websocket_connect(base + "&epoch=stale", headers=headers) as bob:
                hello = json.loads(await bob.read_message() or "")
            assert hello["reset"]
            assert [m["body"] for m in hello["messages"]] == ["one", "two", "three"]
            assert (hello["cursor"], hello["epoch"]) == (3, store.epoch)
            async with websocket_connect(f"{base}&epoch={store.epoch}", headers=headers) as bob:
                hello = json.loads(await bob.read_message() or "")
            assert not hello["reset"]
            assert [m["body"] for m in hello["messages"]] == ["three"]


# ---- a burst: 1,000 messages from 50 senders, over both transports


async def test_burst_of_1000_messages_from_50_senders() -> None:
    senders, each = 50, 20
    # Room for all of them: a reader that falls more than `history` behind skips some.
    chat = Chat(MemoryStore(history=senders * each), poll_timeout=5)
    async with serve_chat(chat) as server:
        port = server.port
        received_poll: list[dict[str, Any]] = []
        received_ws: list[dict[str, Any]] = []
        ws_ready = trio.Event()

        async def poll_reader() -> None:
            cursor = 0
            async with client_for(server, "poll-reader") as client:
                while len(received_poll) < senders * each:
                    r = await client.post(
                        "/a/message/updates", data={"room": "burst", "cursor": str(cursor)}
                    )
                    answer = r.json()
                    received_poll.extend(answer["messages"])
                    cursor = answer["cursor"]

        async def ws_reader() -> None:
            url = f"ws://127.0.0.1:{port}/chatsocket?room=burst&cursor=0"
            async with websocket_connect(url, headers={"Cookie": cookie_header("ws")}) as conn:
                ws_ready.set()
                while len(received_ws) < senders * each:
                    update = json.loads(await conn.read_message() or "")
                    received_ws.extend(update.get("messages", []))

        async def http_sender(i: int) -> None:
            async with client_for(server, f"sender-{i}") as client:
                for j in range(each):
                    r = await client.post(
                        "/a/message/new", data={"room": "burst", "body": f"{i}:{j}"}
                    )
                    assert r.status_code == 200

        async def ws_sender(i: int) -> None:
            url = f"ws://127.0.0.1:{port}/chatsocket?room=burst&cursor=0"
            headers = {"Cookie": cookie_header(f"sender-{i}")}
            async with websocket_connect(url, headers=headers) as conn:
                for j in range(each):
                    await conn.write_message(json.dumps({"body": f"{i}:{j}"}))
                # Stay until our own messages came back: then all were stored.
                seen = 0
                while seen < each:
                    update = json.loads(await conn.read_message() or "")
                    seen += sum(
                        1 for m in update.get("messages", []) if m["author"] == f"sender-{i}"
                    )

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(poll_reader)
                nursery.start_soon(ws_reader)
                await ws_ready.wait()
                async with trio.open_nursery() as senders_nursery:
                    for i in range(senders):
                        sender = http_sender if i % 2 else ws_sender
                        senders_nursery.start_soon(sender, i)

    stored = await chat.store.messages_since("burst", 0)
    assert len(stored) == senders * each
    for received in (received_poll, received_ws):
        assert [m["id"] for m in received] == list(range(1, senders * each + 1))
        by_sender: dict[str, list[int]] = {}
        for m in received:
            i, j = m["body"].split(":")
            assert m["author"] == f"sender-{i}"
            by_sender.setdefault(i, []).append(int(j))
        assert len(by_sender) == senders
        assert all(js == list(range(each)) for js in by_sender.values())
    assert chat.store.waiter_count() == 0  # type: ignore[attr-defined]
