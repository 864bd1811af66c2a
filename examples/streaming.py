"""Streaming both ways: a response sent piece by piece, and an upload read piece by piece.

Run it with ``python examples/streaming.py`` and try::

    curl -N 'localhost:8888/count?n=5'                      # one line a second
    curl -T some-big-file localhost:8888/upload             # size and SHA-256 of the body

docs/handlers.md explains both handlers.
"""

from __future__ import annotations

import hashlib

import trio

from trinado import web

MAX_UPLOAD_SIZE = 1024**3  # 1 GiB, instead of the server's default of 100 MiB


class CountHandler(web.RequestHandler):
    """Sends one line per ``interval`` seconds; each ``flush()`` puts one chunk on the wire."""

    def initialize(self, interval: float) -> None:
        self.interval = interval

    async def get(self) -> None:
        n = int(self.get_argument("n", "10"))
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        for i in range(1, n + 1):
            self.write(f"{i}\n")
            await self.flush()  # sends the headers (first time), then this line
            if i < n:
                await trio.sleep(self.interval)
        # Returning finishes the response (the last, empty chunk).


@web.stream_request_body
class UploadHandler(web.RequestHandler):
    """Hashes a request body of up to 1 GiB as it arrives, without keeping it in memory."""

    def prepare(self) -> None:
        # Runs once the headers are in and before any of the body is read.
        self.request.connection.set_max_body_size(MAX_UPLOAD_SIZE)
        self.size = 0
        self.sha256 = hashlib.sha256()

    def data_received(self, chunk: bytes) -> None:
        # The next chunk is read from the socket only after this returns: a slow consumer
        # (make this async def and await a disk write) slows the client down.
        self.size += len(chunk)
        self.sha256.update(chunk)

    async def put(self) -> None:
        self.write({"size": self.size, "sha256": self.sha256.hexdigest()})

    post = put


def make_app(interval: float = 1.0) -> web.Application:
    return web.Application(
        [
            (r"/count", CountHandler, {"interval": interval}),
            (r"/upload", UploadHandler),
        ]
    )


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
