"""Server-Sent Events: a response that stays open and carries one event per message.

Run it with ``python examples/sse.py`` and open http://127.0.0.1:8888/ in two windows, or
follow the stream with curl in one terminal and post in another::

    curl -N localhost:8888/events
    curl localhost:8888/messages -d 'text=hello'

A browser's ``EventSource`` reconnects by itself when the stream breaks, sending the id of
the last event it saw in a ``Last-Event-ID`` header: the handler starts again after it, so
nothing is lost. docs/howto/server-sent-events.md explains the handler.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from trinado import web

PAGE = """<!doctype html>
<meta charset="utf-8"><title>Events</title>
<ul id="messages"></ul>
<script>
  const source = new EventSource("/events");
  source.addEventListener("message", (event) => {
    const li = document.createElement("li");
    li.textContent = JSON.parse(event.data).text;
    document.getElementById("messages").append(li);
  });
</script>
"""


class Feed:
    """Messages in memory; ``changed`` fires (and is replaced) on each new one."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.changed = trio.Event()
        self.streams = 0  # event streams open right now

    def post(self, text: str) -> int:
        self.messages.append(text)
        self.changed.set()
        self.changed = trio.Event()
        return len(self.messages)  # the new message's id


class EventsHandler(web.RequestHandler):
    def initialize(self, feed: Feed, keepalive: float) -> None:
        self.feed = feed
        self.keepalive = keepalive

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
        last_id = self.last_event_id()
        self.write("retry: 2000\n\n")  # reconnect after 2 s if the stream breaks
        self.feed.streams += 1
        try:
            while True:
                for event_id in range(last_id + 1, len(self.feed.messages) + 1):
                    data = json.dumps({"text": self.feed.messages[event_id - 1]})
                    self.write(f"id: {event_id}\ndata: {data}\n\n")
                last_id = len(self.feed.messages)
                await self.flush()  # raises StreamClosedError if the client has gone
                with trio.move_on_after(self.keepalive) as waited:
                    await self.feed.changed.wait()
                if waited.cancelled_caught:
                    self.write(": keepalive\n\n")  # a comment: keeps proxies from timing out
        finally:
            self.feed.streams -= 1

    def last_event_id(self) -> int:
        """The id a reconnecting EventSource last saw, or 0."""
        value = self.request.headers.get("Last-Event-ID", "0")
        if not value.isdigit():
            raise web.HTTPError(400, "bad Last-Event-ID")
        return int(value)


class MessagesHandler(web.RequestHandler):
    def initialize(self, feed: Feed, keepalive: float) -> None:
        self.feed = feed

    def post(self) -> None:
        self.write({"id": self.feed.post(self.get_argument("text"))})


class PageHandler(web.RequestHandler):
    def get(self) -> None:
        self.write(PAGE)


def make_app(feed: Feed | None = None, keepalive: float = 15.0) -> web.Application:
    args: dict[str, Any] = {"feed": feed if feed is not None else Feed(), "keepalive": keepalive}
    return web.Application(
        [
            (r"/", PageHandler),
            (r"/events", EventsHandler, args),
            (r"/messages", MessagesHandler, args),
        ]
    )


def main() -> None:
    trio.run(make_app().serve)


if __name__ == "__main__":
    main()
