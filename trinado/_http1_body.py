"""The limits and counters of one request body, kept apart from the connection.

A connection makes a :class:`BodyLimits` only for a request whose body is touched (read,
or its limits changed by a ``@stream_request_body`` handler's ``prepare``), so bodiless
requests, the common case, never pay for one.
"""

from __future__ import annotations

import zlib

import trio

from .httputil import HTTPInputError

__all__ = ["BodyLimits", "RequestBodyError"]


class RequestBodyError(HTTPInputError):
    """Reading the request body failed.

    Attributes:
        status_code: the status to answer with (413 for a body known to be too large up
            front, 400 for a malformed or undecodable body), or None when no answer is
            possible and the connection is closed (timeout, peer gone, limit passed while
            the body was streaming in).
    """

    def __init__(self, message: str, status_code: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code


class BodyLimits:
    """Size and time limits of one request body, and what has been received against them.

    Args:
        max_size: the most bytes the body may have (after decompression, and before it).
        timeout: seconds for the whole body from its first read, or None for no limit.
        gzip: decompress the body (its Content-Encoding was gzip and the server decodes).
    """

    __slots__ = (
        "_decompressor",
        "deadline",
        "max_size",
        "raw_received",
        "received",
        "started",
        "timeout",
    )

    def __init__(self, max_size: int, timeout: float | None, *, gzip: bool) -> None:
        self.max_size = max_size
        self.timeout = timeout
        self.deadline = float("inf")
        self.received = 0
        self.raw_received = 0
        self.started = False
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None

    @property
    def decompressing(self) -> bool:
        """Whether the body is gzip that is decoded on the way in."""
        return self._decompressor is not None

    def start(self, content_length: str | None) -> None:
        """Start the clock; refuse a body whose declared length is over the limit.

        Raises:
            RequestBodyError: 413, Content-Length is over ``max_size``.
        """
        self.started = True
        if self.timeout is not None:
            self.deadline = trio.current_time() + self.timeout
        if (
            content_length is not None
            and content_length.isdigit()
            and int(content_length) > self.max_size
        ):
            raise RequestBodyError(
                f"Content-Length {content_length} is over the limit of {self.max_size}", 413
            )

    def accept(self, data: bytes) -> bytes:
        """Count (and decode) bytes of the body as they arrive; returns what they decode to.

        Raises:
            RequestBodyError: the body passed its limit, or is not valid gzip.
        """
        if self._decompressor is None:
            self.received += len(data)
            if self.received > self.max_size:
                raise RequestBodyError("Request body is over the size limit", None)
            return data
        # The compressed bytes are bounded too: empty deflate blocks decode to nothing.
        self.raw_received += len(data)
        if self.raw_received > self.max_size:
            raise RequestBodyError("Request body is over the size limit", None)
        return self._decompress(data, final=False)

    def end(self) -> bytes:
        """The body is complete: whatever the decoder still holds.

        Raises:
            RequestBodyError: as for :meth:`accept`.
        """
        if self._decompressor is None:
            return b""
        return self._decompress(b"", final=True)

    def _decompress(self, data: bytes, *, final: bool) -> bytes:
        decompressor = self._decompressor
        assert decompressor is not None
        room = self.max_size - self.received
        try:
            out = decompressor.decompress(data, room + 1)
            if final:
                out += decompressor.flush()
        except zlib.error as exc:
            raise RequestBodyError(f"Could not decompress the request body: {exc}", 400) from exc
        self.received += len(out)
        if self.received > self.max_size or decompressor.unconsumed_tail:
            raise RequestBodyError("Decompressed request body is over the size limit", None)
        return out
