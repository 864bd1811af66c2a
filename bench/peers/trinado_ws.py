"""A WebSocket echo server on trinado, for ``bench/ws_echo.py``.

``/echo`` is a `WebSocketHandler` whose ``on_message`` awaits ``write_message`` of what it
got (text stays text, binary stays binary); compression is off (the default). The open-file
limit is raised to 20,000 (or the hard limit) so that thousands of sockets can stay open.

Run: ``python bench/peers/trinado_ws.py --port 8888``
"""

from __future__ import annotations

import argparse
import functools

import trio
from ws_client import raise_nofile

from trinado.web import Application
from trinado.websocket import WebSocketHandler


class EchoWebSocket(WebSocketHandler):
    """Sends every message back as it came."""

    async def on_message(self, message: str | bytes) -> None:
        """Echo the message; awaiting the write is the back-pressure.

        Args:
            message: The message, str for text and bytes for binary.
        """
        await self.write_message(message, binary=isinstance(message, bytes))


def make_app() -> Application:
    """Build the one-route application.

    Returns:
        The application serving ``/echo``.
    """
    return Application([(r"/echo", EchoWebSocket)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    raise_nofile()
    trio.run(functools.partial(make_app().serve, args.port, args.host))
