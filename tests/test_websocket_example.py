"""examples/websocket_chat.py does what docs/websockets.md says it does."""

from __future__ import annotations

import json

import trio

from tests.example_loader import load_example
from trinado.testing import open_test_server
from trinado.websocket import websocket_connect

GUARD = 20


chat = load_example("websocket_chat")


async def test_echo_both_client_forms() -> None:
    async with open_test_server(chat.make_app()) as server:
        url = f"ws://127.0.0.1:{server.port}/echo"
        with trio.fail_after(GUARD):
            assert await chat.send_and_listen(url, "ping ✓") == ["ping ✓"]
            assert await chat.porting_style(url) == "hello"


async def test_chat_broadcasts_to_every_member_and_replays_history() -> None:
    room = chat.ChatRoom(send_timeout=2)
    async with open_test_server(chat.make_app(room)) as server:
        base = f"ws://127.0.0.1:{server.port}/chat"
        with trio.fail_after(GUARD):
            async with (
                websocket_connect(f"{base}?name=ann", compression_options={}) as ann,
                websocket_connect(f"{base}?name=bob") as bob,
            ):
                while len(room.members) < 2:  # noqa: ASYNC110 (open() runs server-side)
                    await trio.sleep(0.01)
                assert ann.headers.get("Sec-WebSocket-Extensions") == "permessage-deflate"
                await ann.write_message("hi bob")
                expected = {"from": "ann", "text": "hi bob"}
                assert json.loads(await ann.read_message() or "") == expected
                assert json.loads(await bob.read_message() or "") == expected
                await bob.write_message(b"binary", binary=True)
                assert await bob.read_message() is None
                assert bob.close_code == 1003
            async with websocket_connect(f"{base}?name=cy") as cy:
                assert json.loads(await cy.read_message() or "") == expected  # history
            while room.members:  # noqa: ASYNC110
                await trio.sleep(0.01)
