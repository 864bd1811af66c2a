"""The smallest useful trio + h11 hello-world server: the reference point for trinado.

One task per connection, a keep-alive loop, no routing, no handler objects, no timeouts.
It answers every request with ``Hello, world`` and the headers a real server would send
(``Content-Length``, ``Content-Type``, ``Date`` refreshed once a second). It shows how fast
a Trio server can be before any framework is added on top.

Run: ``python bench/peers/h11_minimal.py --port 8888``
"""

from __future__ import annotations

import argparse
import functools
import time
from email.utils import formatdate

import h11
import trio

BODY = b"Hello, world"
_STATIC_HEADERS = [
    (b"Content-Type", b"text/plain; charset=utf-8"),
    (b"Content-Length", str(len(BODY)).encode()),
    (b"Server", b"h11-minimal"),
]
_date_second = 0
_date_header = b""


def _date() -> bytes:
    """Return the ``Date`` header value, formatted at most once a second."""
    global _date_second, _date_header
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_header = formatdate(now, usegmt=True).encode()
    return _date_header


async def handle(stream: trio.SocketStream) -> None:
    """Serve requests on one connection until either side closes it.

    Args:
        stream: The accepted connection.
    """
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.EndOfMessage):
                headers = [*_STATIC_HEADERS, (b"Date", _date())]
                await stream.send_all(
                    conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
                    + conn.send(h11.Data(data=BODY))
                    + conn.send(h11.EndOfMessage())
                )
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                break
            # h11.Request and h11.Data: nothing to do until the request is complete.
    except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await stream.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    trio.run(functools.partial(trio.serve_tcp, handle, args.port, host=args.host))
