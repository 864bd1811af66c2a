"""WebSockets: an echo endpoint, a chat room that broadcasts, and a client.

Run the server with ``python examples/websocket_chat.py``, then talk to it with the client
in this file::

    python examples/websocket_chat.py client ws://localhost:8888/chat hello

or from a browser console::

    ws = new WebSocket("ws://localhost:8888/chat"); ws.onmessage = e => console.log(e.data)
    ws.send("hello")

Every chat message goes to every member with `broadcast`: a member whose connection cannot
take it within ``send_timeout`` seconds is disconnected instead of holding the others up.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from trinado import web
from trinado.websocket import WebSocketHandler, broadcast, websocket_connect


class EchoWebSocket(WebSocketHandler):
    def open(self) -> None:
        self.count = 0

    async def on_message(self, message: str | bytes) -> None:
        self.count += 1
        # Awaiting the write is the back-pressure: the next message is read only after
        # the client has taken this one.
        await self.write_message(message, binary=isinstance(message, bytes))


class ChatRoom:
    """The members of one room, and the last messages for newcomers."""

    def __init__(self, send_timeout: float = 5.0, history: int = 20) -> None:
        self.members: set[ChatSocket] = set()
        self.history: list[dict[str, Any]] = []
        self.send_timeout = send_timeout
        self.history_size = history

    async def say(self, name: str, text: str) -> int:
        message = {"from": name, "text": text}
        self.history = [*self.history, message][-self.history_size :]
        return await broadcast(self.members, message, timeout=self.send_timeout)


class ChatSocket(WebSocketHandler):
    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def get_compression_options(self) -> dict[str, Any] | None:
        return {}  # permessage-deflate, for clients that offer it

    async def open(self) -> None:
        self.name = self.get_argument("name", "anonymous")
        for message in self.room.history:
            await self.write_message(message)
        self.room.members.add(self)

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.close(1003, "text only")
            return
        await self.room.say(self.name, message)

    def on_close(self) -> None:
        self.room.members.discard(self)


def make_app(room: ChatRoom | None = None, **settings: Any) -> web.Application:
    settings.setdefault("websocket_ping_interval", 30)
    return web.Application(
        [
            (r"/echo", EchoWebSocket),
            (r"/chat", ChatSocket, {"room": room or ChatRoom()}),
        ],
        **settings,
    )


async def send_and_listen(url: str, text: str, replies: int = 1) -> list[str | bytes]:
    """Connect, send ``text``, and return the next ``replies`` messages."""
    received: list[str | bytes] = []
    async with websocket_connect(url, connect_timeout=10) as conn:
        await conn.write_message(text)
        async for message in conn:
            received.append(message)
            if len(received) == replies:
                break
    return received


async def porting_style(url: str) -> str | bytes | None:
    """The same without ``async with``, as Tornado code is written."""
    conn = await websocket_connect(url)
    await conn.write_message("hello")
    reply = await conn.read_message()
    await conn.close()
    return reply


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        print(trio.run(send_and_listen, sys.argv[2], sys.argv[3]))
    else:
        trio.run(make_app().serve)
