"""Tornado's ``tornado.websocket`` on Trio and wsproto: WebSocket servers and clients.

A server endpoint is a `WebSocketHandler` subclass routed like any handler::

    class EchoWebSocket(WebSocketHandler):
        async def on_message(self, message):
            await self.write_message("You said: " + message)

    app = Application([(r"/ws", EchoWebSocket)])

A client is `websocket_connect`::

    async with websocket_connect("ws://localhost:8888/ws") as conn:
        await conn.write_message("hello")
        print(await conn.read_message())

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
