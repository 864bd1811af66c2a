"""The same WebSocket echo server on Tornado, the baseline of ``bench/ws_echo.py``.

``/echo`` is a ``tornado.websocket.WebSocketHandler`` whose ``on_message`` is a coroutine
awaiting ``write_message`` of what it got (Tornado reads no further message until it
returns, as trinado); compression is off (Tornado's default). ``open`` turns on
``TCP_NODELAY``, which trinado (through Trio) has on by default, so that the comparison is
about the frameworks and not Nagle's algorithm. The open-file limit is raised to 20,000 (or
the hard limit).

Run: ``python bench/peers/tornado_ws.py --port 8888``
"""

from __future__ import annotations

import argparse
import asyncio

import tornado.web
import tornado.websocket
from ws_client import raise_nofile


class EchoWebSocket(tornado.websocket.WebSocketHandler):
    """Sends every message back as it came."""

    def open(self, *args: str, **kwargs: str) -> None:
        """Turn on ``TCP_NODELAY``, as trinado has it.

        Args:
            *args: Path arguments (none here).
            **kwargs: Named path arguments (none here).
        """
        self.set_nodelay(True)

    async def on_message(self, message: str | bytes) -> None:
        """Echo the message and wait until Tornado has written it.

        Args:
            message: The message, str for text and bytes for binary.
        """
        await self.write_message(message, binary=isinstance(message, bytes))


async def main(port: int, host: str) -> None:
    """Listen on ``host:port`` and serve until the process is stopped.

    Args:
        port: TCP port to listen on.
        host: Address to bind.
    """
    app = tornado.web.Application([(r"/echo", EchoWebSocket)])
    app.listen(port, host)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    raise_nofile()
    asyncio.run(main(args.port, args.host))
