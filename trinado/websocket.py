"""Tornado's ``tornado.websocket`` on Trio and wsproto: WebSocket servers and clients.

A server endpoint is a `WebSocketHandler` subclass routed like any handler (the examples
are from ``examples/websocket_chat.py``)::

    class EchoWebSocket(WebSocketHandler):
        def open(self) -> None:
            self.count = 0

        async def on_message(self, message: str | bytes) -> None:
            self.count += 1
            # Awaiting the write is the back-pressure: the next message is read only after
            # the client has taken this one.
            await self.write_message(message, binary=isinstance(message, bytes))
    ...


    def make_app(room: ChatRoom | None = None, **settings: Any) -> web.Application:
        ...
        return web.Application(
            [
                (r"/echo", EchoWebSocket),
                ...  # the chat room
            ],
            **settings,
        )

A client is `websocket_connect`::

    async with websocket_connect(url, connect_timeout=10) as conn:
        await conn.write_message(text)
        async for message in conn:
            received.append(message)
            if len(received) == replies:
                break

Each server-side WebSocket runs in a nursery of its own inside its connection's task;
messages are read only as fast as ``on_message`` handles them (back-pressure), writes wait
for a slow peer (up to the server's ``write_timeout``), and `broadcast` sends to many
sockets without letting one slow socket stall the others.
"""

from __future__ import annotations

from ._ws_client import WebSocketClientConnection as WebSocketClientConnection
from ._ws_client import WebSocketHandshakeError as WebSocketHandshakeError
from ._ws_client import websocket_connect as websocket_connect
from ._ws_handler import WebSocketHandler as WebSocketHandler
from ._ws_handler import broadcast as broadcast
from ._ws_protocol import WebSocketClosedError as WebSocketClosedError
from ._ws_protocol import WebSocketError as WebSocketError

__all__ = [
    "WebSocketClientConnection",
    "WebSocketClosedError",
    "WebSocketError",
    "WebSocketHandler",
    "WebSocketHandshakeError",
    "broadcast",
    "websocket_connect",
]
