"""Reading a response body: decoding gzip and deflate, the size bound, and the streaming form.

A :class:`ResponseBody` owns the connection from the end of the response head until the body
is complete (the connection goes back to the pool) or abandoned (the connection is closed).
:class:`StreamingResponse` is what :meth:`HTTPClient.stream <trinado.httpclient.HTTPClient.stream>`
gives: the head now, the body as an async iterator.
"""

from __future__ import annotations

import collections
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from ._client_conn import ClientConnection
from ._client_messages import HTTPClientError, HTTPRequest
from ._httpheaders import HTTPHeaders, HTTPInputError
from .httputil import responses

__all__ = ["BodyDecoder", "ResponseBody", "StreamingResponse"]

# Decoded pieces are at most this long, so a small compressed chunk cannot turn into one
# huge allocation.
DECODED_PIECE_SIZE = 65536
# A redirect's body is read and thrown away to keep the connection when it is this small.
DRAIN_LIMIT = 65536

Release = Callable[[ClientConnection, bool], Awaitable[None]]


class BodyDecoder:
    """Decodes a ``gzip`` or ``deflate`` body piece by piece, at most ``limit`` bytes in all.

    ``deflate`` is tried as zlib data first (what RFC 9110 means) and as raw deflate when
    that fails (what some servers send).

    Args:
        encoding: ``"gzip"``, ``"x-gzip"`` or ``"deflate"``.
        limit: the largest decoded size accepted.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        self._gzip = encoding != "deflate"
        self._limit = limit
        self._size = 0
        self._started = False
        self._undecided = bytearray()
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else 15)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decodes ``data``, yielding pieces of at most 64 KiB.

        Args:
            data: the next compressed bytes.

        Yields:
            Decoded bytes (never empty).

        Raises:
            HTTPInputError: the data is not valid, or decodes to more than the limit.
        """
        if not self._started:
            if not self._gzip:
                # Decide between zlib and raw deflate on the first two bytes (zlib's header).
                self._undecided += data
                if len(self._undecided) < 2:
                    return
                data, self._undecided = bytes(self._undecided), bytearray()
                cmf, flg = data[0], data[1]
                if cmf & 0x0F != 8 or (cmf * 256 + flg) % 31:
                    self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
        pending = data
        while pending:
            if self._decompressor.eof:
                return  # bytes after the end of the compressed stream are ignored
            try:
                piece = self._decompressor.decompress(pending, DECODED_PIECE_SIZE)
            except zlib.error as exc:
                raise HTTPInputError(f"Invalid compressed response body: {exc}") from exc
            pending = self._decompressor.unconsumed_tail
            if piece:
                yield self._count(piece)

    def flush(self) -> bytes:
        """Whatever the decompressor still holds, at the end of the body.

        Returns:
            The last decoded bytes (often empty).

        Raises:
            HTTPInputError: the data is invalid or decodes to more than the limit.
        """
        if self._undecided:  # a one-byte body: let zlib say what it makes of it
            self._started = True
            rest = b"".join(self.feed(bytes(self._undecided)))
            self._undecided.clear()
            return rest + self.flush()
        try:
            rest = self._decompressor.flush()
        except zlib.error as exc:  # pragma: no cover (flush rarely finds new errors)
            raise HTTPInputError(f"Invalid compressed response body: {exc}") from exc
        return self._count(rest) if rest else b""

    def _count(self, piece: bytes) -> bytes:
        self._size += len(piece)
        if self._size > self._limit:
            raise HTTPInputError(f"Decoded response body larger than max_body_size ({self._limit})")
        return piece


class ResponseBody:
    """The body of one response, read from its connection on demand.

    Args:
        conn: the connection, positioned after the response head.
        headers: the response headers; ``Content-Encoding`` is renamed
            ``X-Consumed-Content-Encoding`` when the body is decoded.
        decompress: decode gzip and deflate bodies.
        max_body_size: the largest body accepted, on the wire and decoded.
        release: gives the connection back: ``release(conn, reusable)``.
        has_body: False for a response that has no body whatever its headers say (to a
            HEAD request, or a 204 or 304): its ``Content-Length`` is not checked.

    Raises:
        HTTPInputError: ``Content-Length`` is above ``max_body_size``.
    """

    def __init__(
        self,
        conn: ClientConnection,
        headers: HTTPHeaders,
        *,
        decompress: bool,
        max_body_size: int,
        release: Release,
        has_body: bool = True,
    ) -> None:
        self._conn: ClientConnection | None = conn
        self._release = release
        self._max_body_size = max_body_size
        self._raw_size = 0
        self._pieces: collections.deque[bytes] = collections.deque()
        self._decoder: BodyDecoder | None = None
        length = headers.get("Content-Length", "")
        if has_body and length.isdigit() and int(length) > max_body_size:
            raise HTTPInputError(
                f"Response Content-Length {length} larger than max_body_size ({max_body_size})"
            )
        encoding = headers.get("Content-Encoding", "").strip().lower()
        if decompress and encoding in ("gzip", "x-gzip", "deflate"):
            self._decoder = BodyDecoder(encoding, max_body_size)
            headers.add("X-Consumed-Content-Encoding", headers["Content-Encoding"])
            del headers["Content-Encoding"]

    @property
    def complete(self) -> bool:
        """Whether the whole body has been read (or the body was abandoned)."""
        return self._conn is None and not self._pieces

    async def next_piece(self) -> bytes | None:
        """The next piece of the decoded body; None at its end.

        Returns:
            Bytes (never empty) or None.

        Raises:
            HTTPInputError: the body is too large or its encoding is invalid.
            HTTPStreamClosedError: the connection closed too early.
            HTTPTimeoutError: the request's deadline passed.
        """
        while not self._pieces:
            conn = self._conn
            if conn is None:
                return None
            try:
                data = await conn.receive_data()
                if data is None:
                    if self._decoder is not None and (rest := self._decoder.flush()):
                        self._pieces.append(rest)
                    self._conn = None
                    await self._release(conn, conn.finish_cycle())
                    break
                self._raw_size += len(data)
                if self._raw_size > self._max_body_size:
                    raise HTTPInputError(
                        f"Response body larger than max_body_size ({self._max_body_size})"
                    )
                if self._decoder is None:
                    self._pieces.append(data)
                else:
                    self._pieces.extend(self._decoder.feed(data))
            except BaseException:
                await self.aclose()
                raise
        return self._pieces.popleft() if self._pieces else None

    async def drain(self) -> None:
        """Reads and drops a small body so the connection can be reused; closes it otherwise."""
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        try:
            while self._raw_size <= DRAIN_LIMIT:
                data = await conn.receive_data()
                if data is None:
                    await self._release(conn, conn.finish_cycle())
                    return
                self._raw_size += len(data)
        except (HTTPClientError, HTTPInputError):
            pass  # the redirect is followed anyway; only this connection is lost
        except BaseException:
            await self._release(conn, False)
            raise
        await self._release(conn, False)

    async def aclose(self) -> None:
        """Abandons the rest of the body: the connection is closed unless it was complete."""
        self._pieces.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._release(conn, False)


class _PieceIterator:
    """Async iterator over the rest of a :class:`ResponseBody`."""

    def __init__(self, body: ResponseBody) -> None:
        self._body = body

    def __aiter__(self) -> _PieceIterator:
        return self

    async def __anext__(self) -> bytes:
        piece = await self._body.next_piece()
        if piece is None:
            raise StopAsyncIteration
        return piece


class StreamingResponse:
    """A response whose head has arrived and whose body is read as you go.

    Read the body once, with ``async for chunk in response.aiter_bytes()`` or
    ``await response.read()``. Each read waits under the request's ``request_timeout``
    (counted from the start of the request). Leaving the ``stream()`` block before the end
    closes the connection; after a complete body it goes back to the pool.

    Attributes:
        request: the request as the caller made it.
        code: the status code.
        reason: the reason phrase.
        headers: the response headers.
        effective_url: the URL of this response, after redirects.
        error: an :class:`HTTPClientError` when ``code`` is not 2xx, else None.
        start_time: :func:`time.time` when the (last) request started.
        time_info: ``queue`` and ``connect`` timings, as in :class:`HTTPResponse`.

    Args:
        request: see Attributes.
        code: see Attributes.
        reason: see Attributes.
        headers: see Attributes.
        effective_url: see Attributes.
        body: the body, to read from.
        start_time: see Attributes.
        time_info: see Attributes.
        error: the error this response stands for; by default one for a status not 2xx.
    """

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        reason: str,
        headers: HTTPHeaders,
        effective_url: str,
        body: ResponseBody,
        *,
        start_time: float,
        time_info: dict[str, float],
        error: HTTPClientError | None = None,
    ) -> None:
        self.request = request
        self.code = code
        self.reason = reason or responses.get(code, "Unknown")
        self.headers = headers
        self.effective_url = effective_url
        self.start_time = start_time
        self.time_info = time_info
        if error is None and not 200 <= code < 300:
            error = HTTPClientError(code, message=self.reason)
        self.error = error
        self._body = body

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The rest of the body, decoded, piece by piece as it arrives.

        Returns:
            An async iterator of non-empty byte strings.
        """
        return _PieceIterator(self._body)

    async def read(self) -> bytes:
        """Reads the rest of the body (at most the client's ``max_body_size``).

        Returns:
            The body bytes not read yet.
        """
        pieces = [piece async for piece in self.aiter_bytes()]
        return b"".join(pieces)

    def rethrow(self) -> None:
        """Raises :attr:`error` if there is one.

        Raises:
            HTTPClientError: the status code was not 2xx.
        """
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return f"StreamingResponse({self.code} {self.reason}, {self.effective_url})"
