"""Streaming uploads to disk: each piece of a request body is written as it arrives.

Run it with ``python examples/upload.py`` and send a file of any size up to 1 GiB::

    curl -T big.iso localhost:8888/files/big.iso

The body never sits in memory: each piece goes to a temporary file, and the next piece is
read from the socket only when that write is done, so a slow disk slows the client down
instead of filling the server's memory. The file gets its name once the body is complete;
an upload that the client abandons half-way leaves nothing behind.
docs/howto/streaming-uploads.md explains the handler.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from typing import Any

import trio

from trinado import web

MAX_UPLOAD_SIZE = 1024**3  # 1 GiB, instead of the server's default of 100 MiB


@web.stream_request_body
class UploadHandler(web.RequestHandler):
    def initialize(self, directory: str, max_size: int) -> None:
        self.directory = trio.Path(directory)
        self.max_size = max_size
        self.partial = self.directory / f".upload-{secrets.token_hex(8)}"
        self.file: Any = None  # opened by the first piece of the body

    def prepare(self) -> None:
        # Runs once the headers are in, before any of the body is read.
        self.request.connection.set_max_body_size(self.max_size)
        self.size = 0
        self.sha256 = hashlib.sha256()

    async def data_received(self, chunk: bytes) -> None:
        if self.file is None:
            self.file = await self.partial.open("wb")
        await self.file.write(chunk)  # a worker thread writes; the socket waits for it
        self.size += len(chunk)
        self.sha256.update(chunk)

    async def put(self, name: str) -> None:
        if self.file is None:  # an empty body
            self.file = await self.partial.open("wb")
        await self.file.aclose()
        await self.partial.rename(self.directory / name)
        self.set_status(201)
        self.write({"name": name, "size": self.size, "sha256": self.sha256.hexdigest()})

    async def on_connection_close(self) -> None:
        # The client left before the upload was complete: the handler was cancelled, and
        # the partial file goes.
        if self.file is not None:
            await self.file.aclose()
            await self.partial.unlink(missing_ok=True)


def make_app(directory: str | None = None, max_size: int = MAX_UPLOAD_SIZE) -> web.Application:
    args = {"directory": directory or tempfile.mkdtemp(), "max_size": max_size}
    # The name must be a plain file name: no "/", no leading dot, nothing like "..".
    return web.Application([(r"/files/([A-Za-z0-9_-][A-Za-z0-9._-]*)", UploadHandler, args)])


def main() -> None:
    directory = os.path.abspath("uploads")
    os.makedirs(directory, exist_ok=True)
    print(f"saving uploads in {directory}")
    trio.run(make_app(directory).serve)


if __name__ == "__main__":
    main()
