"""Long polling: a request that waits for news, and stops waiting when its client leaves.

Run it with ``python examples/longpoll.py``, then in one terminal wait for messages::

    curl 'localhost:8888/messages?cursor=0'

and in another post one (the first curl answers at once)::

    curl localhost:8888/messages -d 'text=hello'

A waiting request ends after ``poll_timeout`` seconds with no messages, or at once when the
client goes away: the server cancels the handler (its ``await`` raises `trio.Cancelled`) and
calls ``on_connection_close``.
"""

from __future__ import annotations

from typing import Any

import trio

from trinado import web


class MessageBoard:
    """Messages in memory, and an event that wakes every waiting request on a new one."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.new_message = trio.Event()
        self.waiting = 0  # requests waiting right now
        self.client_left = 0  # requests cancelled because their client went away

    def post(self, text: str) -> None:
        self.messages.append(text)
        self.new_message.set()
        self.new_message = trio.Event()  # a trio.Event fires once: the next waiters get a new one

    def since(self, cursor: int) -> list[str]:
        return self.messages[cursor:]


class MessagesHandler(web.RequestHandler):
    def initialize(self, board: MessageBoard, poll_timeout: float) -> None:
        self.board = board
        self.poll_timeout = poll_timeout

    async def get(self) -> None:
        cursor = int(self.get_argument("cursor", "0"))
        if not self.board.since(cursor):
            self.board.waiting += 1
            try:
                with trio.move_on_after(self.poll_timeout):
                    await self.board.new_message.wait()
            finally:
                self.board.waiting -= 1
        messages = self.board.since(cursor)
        self.write({"messages": messages, "cursor": cursor + len(messages)})

    async def post(self) -> None:
        self.board.post(self.get_argument("text"))
        self.write({"cursor": len(self.board.messages)})

    def on_connection_close(self) -> None:
        # The client left while get() was waiting: get() has been cancelled already.
        self.board.client_left += 1


def make_app(board: MessageBoard | None = None, poll_timeout: float = 30.0) -> web.Application:
    args: dict[str, Any] = {
        "board": board if board is not None else MessageBoard(),
        "poll_timeout": poll_timeout,
    }
    return web.Application([(r"/messages", MessagesHandler, args)])


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
