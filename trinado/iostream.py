"""Errors raised when the peer of a connection has gone away.

Tornado code catches ``tornado.iostream.StreamClosedError`` around ``await self.flush()``
in streaming handlers; the same name lives here so that code ports unchanged.
"""

from __future__ import annotations

__all__ = ["StreamClosedError"]


class StreamClosedError(IOError):
    """The connection was closed (by the peer, a timeout or the server) before a write ended.

    Attributes:
        real_error: the lower-level exception that closed the stream, if there was one.
    """

    def __init__(self, real_error: BaseException | None = None) -> None:
        super().__init__("Stream is closed")
        self.real_error = real_error
