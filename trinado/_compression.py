"""Output transforms: rewriting a response on its way out, and the gzip content encoding.

An application holds transform *classes* (``Application.transforms``); a handler makes one
instance of each per request, and only when the application has some, so responses of an
application without transforms never pay for them. The first piece of a response (status,
headers and the body so far) goes through ``transform_first_chunk``; every later piece
through ``transform_chunk``. ``finishing`` tells whether the piece is the last one, which
lets a transform that sees the whole body at once replace Content-Length instead of
switching to chunked encoding.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, ClassVar

from .httputil import responses

if TYPE_CHECKING:
    from .httputil import HTTPHeaders, HTTPServerRequest

__all__ = ["GZipContentEncoding", "OutputTransform"]

# A gzip wrapper (header and CRC trailer) around raw deflate data: zlib's wbits 16 + 15.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class OutputTransform:
    """Base class of output transforms: the default passes the response through unchanged.

    Subclasses override `transform_first_chunk` and `transform_chunk`. Give the class (not
    an instance) to `~trinado.web.Application` (``transforms=[...]`` or
    ``add_transform``); each request gets its own instance.

    Args:
        request: The request whose response this instance transforms.
    """

    def __init__(self, request: HTTPServerRequest) -> None:
        pass

    def transform_first_chunk(
        self,
        status_code: int,
        headers: HTTPHeaders,
        chunk: bytes,
        finishing: bool,
    ) -> tuple[int, HTTPHeaders, bytes]:
        """Transforms the status, headers and first piece of body of a response.

        Args:
            status_code: The response status.
            headers: The response headers (may be changed in place).
            chunk: The body written before the headers were sent (possibly empty).
            finishing: True if this is the whole body (the response ends with it).

        Returns:
            The status, headers and body piece to send instead.
        """
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """Transforms a later piece of body.

        Args:
            chunk: The piece (possibly empty, when ``finishing``).
            finishing: True for the last piece.

        Returns:
            The bytes to send instead.
        """
        return chunk


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value lists gzip (or x-gzip) with a non-zero weight."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        if weight > 0:
            return True
    return False


class GZipContentEncoding(OutputTransform):
    """Compresses responses with gzip when the client accepts it; used by ``compress_response``.

    A response is compressed when the request's ``Accept-Encoding`` lists ``gzip`` (with a
    non-zero ``q``), its Content-Type is ``text/*`` or one of `CONTENT_TYPES`, it has no
    Content-Encoding yet, its status is not 204, 304, 206 or 1xx, and it is not a whole body
    shorter than `MIN_LENGTH`. A body sent in one piece gets a new Content-Length; a
    streamed one (``flush()``) is compressed piece by piece, each piece flushed out of the
    compressor so the client sees it at once, and is sent chunked. ``Vary:
    Accept-Encoding`` is added to every response, compressed or not, so caches keep the two
    forms apart.

    Args:
        request: The request being answered.

    Attributes:
        CONTENT_TYPES: Media types other than ``text/*`` worth compressing.
        GZIP_LEVEL: The zlib compression level (6, as the gzip tool).
        MIN_LENGTH: Whole bodies shorter than this are sent as they are.
    """

    CONTENT_TYPES: ClassVar[set[str]] = {
        "application/javascript",
        "application/x-javascript",
        "application/xml",
        "application/atom+xml",
        "application/json",
        "application/xhtml+xml",
        "image/svg+xml",
    }
    GZIP_LEVEL: ClassVar[int] = 6
    MIN_LENGTH: ClassVar[int] = 1024

    def __init__(self, request: HTTPServerRequest) -> None:
        self._gzipping = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
        self._compressor: Any = None  # a zlib compressor object once compressing

    def _compressible_type(self, ctype: str) -> bool:
        return ctype.startswith("text/") or ctype in self.CONTENT_TYPES

    def transform_first_chunk(
        self,
        status_code: int,
        headers: HTTPHeaders,
        chunk: bytes,
        finishing: bool,
    ) -> tuple[int, HTTPHeaders, bytes]:
        """Adds ``Vary: Accept-Encoding`` and starts compressing if the response qualifies.

        Args:
            status_code: The response status.
            headers: The response headers (changed in place).
            chunk: The first piece of body.
            finishing: True if this is the whole body.

        Returns:
            The status, the headers and the (possibly compressed) piece.
        """
        _add_vary(headers)
        if self._gzipping:
            ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
            self._gzipping = (
                self._compressible_type(ctype)
                and status_code not in (204, 206, 304)
                and status_code >= 200
                and "Content-Encoding" not in headers
                and "Content-Range" not in headers
                and (not finishing or len(chunk) >= self.MIN_LENGTH)
            )
        if self._gzipping:
            headers["Content-Encoding"] = "gzip"
            self._compressor = zlib.compressobj(self.GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
            chunk = self.transform_chunk(chunk, finishing)
            if finishing:
                headers["Content-Length"] = str(len(chunk))
            elif "Content-Length" in headers:
                # The length of what follows is unknown now: the body goes chunked.
                del headers["Content-Length"]
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """Compresses a piece of body (when compressing), flushing the compressor.

        Args:
            chunk: The piece.
            finishing: True for the last piece: the gzip stream is ended.

        Returns:
            The compressed bytes, or ``chunk`` unchanged when not compressing.
        """
        compressor = self._compressor
        if compressor is None:
            return chunk
        if finishing:
            self._compressor = None
            data: bytes = compressor.compress(chunk) + compressor.flush(zlib.Z_FINISH)
            return data
        if not chunk:
            return b""
        data = compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return data


def _add_vary(headers: HTTPHeaders) -> None:
    """Adds Accept-Encoding to the Vary header unless it (or ``*``) is there already."""
    current = headers.get("Vary")
    if not current:
        headers["Vary"] = "Accept-Encoding"
        return
    tokens = {token.strip().lower() for token in current.split(",")}
    if "accept-encoding" not in tokens and "*" not in tokens:
        headers["Vary"] = current + ", Accept-Encoding"


class _OutputTransformsMixin:
    """The part of `RequestHandler` that runs the application's output transforms.

    Transform instances are created when the first piece of the response is sent, and only
    if the application has transforms; ``_transforms`` stays the class-level ``None``
    otherwise, so the send path of a plain response costs one truthiness test.
    """

    if TYPE_CHECKING:
        from ._application import Application

        application: Application
        request: HTTPServerRequest
        _status_code: int
        _reason: str
        _headers: HTTPHeaders

    _transforms: list[OutputTransform] | None = None

    def _transform_first(self, chunk: bytes, finishing: bool) -> bytes:
        """Runs ``transform_first_chunk`` of every transform; may change status and headers."""
        transforms = [transform(self.request) for transform in self.application.transforms]
        self._transforms = transforms
        status, headers = self._status_code, self._headers
        for transform in transforms:
            status, headers, chunk = transform.transform_first_chunk(
                status, headers, chunk, finishing
            )
        if status != self._status_code:
            self._status_code = status
            self._reason = responses.get(status, "Unknown")
        self._headers = headers
        return chunk

    def _transform_next(self, chunk: bytes, finishing: bool) -> bytes:
        """Runs ``transform_chunk`` of every transform created by `_transform_first`."""
        for transform in self._transforms or ():
            chunk = transform.transform_chunk(chunk, finishing)
        return chunk
