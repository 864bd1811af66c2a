"""An application served behind nginx, for tests/test_nginx.py.

Each handler shows one thing that the proxy must pass on: the client's address and scheme
(with ``--xheaders``), a WebSocket, and a response streamed in pieces.
"""

from __future__ import annotations

import itertools
import json
import os
import weakref

import trio

from trinado.web import Application, RequestHandler
from trinado.websocket import WebSocketHandler

_serials = itertools.count(1)
_connections: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()


class Client(RequestHandler):
    """What the application sees of the client, the headers that carried it, the connection.

    ``connection`` names the connection from nginx (process and serial number), so a test
    can tell whether nginx keeps its upstream connections alive.
    """

    async def get(self) -> None:
        request = self.request
        stream = request.connection.stream
        if stream not in _connections:
            _connections[stream] = next(_serials)
        self.write(
            json.dumps(
                {
                    "remote_ip": request.remote_ip,
                    "protocol": request.protocol,
                    "host": request.host,
                    "x_real_ip": request.headers.get("X-Real-Ip"),
                    "x_forwarded_for": request.headers.get("X-Forwarded-For"),
                    "x_scheme": request.headers.get("X-Scheme"),
                    "connection": f"{os.getpid()}-{_connections[stream]}",
                }
            )
        )


class Echo(WebSocketHandler):
    async def on_message(self, message: str | bytes) -> None:
        await self.write_message(message, binary=isinstance(message, bytes))


class Events(RequestHandler):
    """Server-Sent Events: one event, then waits until the file ``release`` exists, then one.

    The test holds the second event back for as long as it likes, so it can tell whether the
    first one reached the client while the handler was still waiting.
    """

    async def get(self) -> None:
        release = trio.Path(self.get_argument("release"))
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.write("data: first\n\n")
        await self.flush()
        with trio.fail_after(30):
            # Another process (the test) creates the file: nothing to wait on but the disk.
            while not await release.exists():  # noqa: ASYNC110
                await trio.sleep(0.02)
        self.write("data: second\n\n")


def make_app() -> Application:
    return Application([(r"/client", Client), (r"/ws", Echo), (r"/events", Events)])


app = make_app()
