"""The HTTP client's value types: HTTPRequest, HTTPResponse and the errors it raises.

Re-exported by :mod:`trinado.httpclient`; import them from there. Nothing here does I/O.
"""

from __future__ import annotations

import datetime
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from ._httpheaders import HTTPHeaders
from .escape import utf8
from .httputil import format_timestamp, responses

__all__ = [
    "BodyProducer",
    "HTTPClientError",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPStreamClosedError",
    "HTTPTimeoutError",
]

BodyWriter = Callable[[bytes], Awaitable[None]]
"""What a body producer is given: ``await write(chunk)`` sends one piece of the body."""

BodyProducer = Callable[[BodyWriter], Awaitable[None]]
"""An async function that writes a request body piece by piece through its argument."""

StreamingCallback = Callable[[bytes], "Awaitable[None] | None"]
HeaderCallback = Callable[[str], None]


class HTTPRequest:
    """One HTTP request for the client to send.

    Only ``url`` is needed. Options left at ``None`` take the client's defaults (the
    ``defaults`` argument of :func:`~trinado.httpclient.open_http_client`, then the values
    in :attr:`DEFAULTS`), as Tornado's ``AsyncHTTPClient`` does.

    Args:
        url: the URL to fetch (``http`` or ``https``). A ``user:password@`` part gives
            Basic credentials and wins over ``auth_username``.
        method: the HTTP method. Outside GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS,
            ``allow_nonstandard_methods`` must be true.
        headers: extra request headers (a dict or :class:`~trinado.httputil.HTTPHeaders`).
        body: the request body; text is encoded as UTF-8. POST, PUT and PATCH need a body
            (possibly empty) and the other methods must not have one, unless
            ``allow_nonstandard_methods`` is true.
        auth_username: user name for HTTP authentication.
        auth_password: password for HTTP authentication.
        auth_mode: only ``"basic"`` (the default) is supported.
        connect_timeout: seconds to wait for a free connection slot and to connect
            (TCP and TLS); default 20. ``0`` means no limit.
        request_timeout: seconds for the whole exchange, connecting and reading the whole
            body included; default 20. ``0`` means no limit. Each redirect gets its own.
        if_modified_since: sets ``If-Modified-Since`` from a timestamp or datetime.
        follow_redirects: follow 301, 302, 303, 307 and 308 responses; default true.
        max_redirects: how many redirects to follow at most; default 5.
        user_agent: the ``User-Agent`` header; default ``trinado/<version>``.
        use_gzip: Tornado's old name for ``decompress_response``.
        network_interface: local IP address to connect from.
        streaming_callback: called with each piece of the (decoded) body as it arrives,
            instead of keeping it; it may be async, and the next piece is read once it
            returns. ``HTTPResponse.body`` is then empty.
        header_callback: called with each line of the response head as it would appear on
            the wire: the status line, each ``Name: value`` and a final ``"\\r\\n"``.
        allow_nonstandard_methods: skip the method and body checks above.
        validate_cert: check the server's certificate and host name; default true.
        ca_certs: a PEM file of CA certificates to trust instead of the system's.
        client_key: a PEM file with the client certificate's private key.
        client_cert: a PEM file with a client certificate.
        body_producer: an async function ``producer(write)`` that sends the body piece by
            piece with ``await write(chunk)``. Without a ``Content-Length`` header the
            body is sent chunked (which some servers refuse).
        expect_100_continue: send ``Expect: 100-continue`` and wait for the server's
            ``100 Continue`` (at most one second, then send anyway) before the body.
        decompress_response: ask for gzip or deflate and decode it; default true.
            The ``Content-Encoding`` header is then renamed ``X-Consumed-Content-Encoding``.
        ssl_options: an :class:`ssl.SSLContext` for HTTPS (overrides ``validate_cert``,
            ``ca_certs``, ``client_key`` and ``client_cert``), or a dict with Tornado's keys
            ``certfile``, ``keyfile``, ``ca_certs``, ``cert_reqs`` and ``ciphers``.
        ssl_context: another name for ``ssl_options``, for an :class:`ssl.SSLContext`.

    Raises:
        ValueError: ``ssl_options`` and ``ssl_context`` are both given.
    """

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "connect_timeout": 20.0,
        "request_timeout": 20.0,
        "follow_redirects": True,
        "max_redirects": 5,
        "decompress_response": True,
        "allow_nonstandard_methods": False,
        "validate_cert": True,
    }
    """The values options left at ``None`` take when the client has no other default."""

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: dict[str, str] | HTTPHeaders | None = None,
        body: bytes | str | None = None,
        *,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        if_modified_since: float | datetime.datetime | None = None,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        user_agent: str | None = None,
        use_gzip: bool | None = None,
        network_interface: str | None = None,
        streaming_callback: StreamingCallback | None = None,
        header_callback: HeaderCallback | None = None,
        allow_nonstandard_methods: bool | None = None,
        validate_cert: bool | None = None,
        ca_certs: str | None = None,
        client_key: str | None = None,
        client_cert: str | None = None,
        body_producer: BodyProducer | None = None,
        expect_100_continue: bool = False,
        decompress_response: bool | None = None,
        ssl_options: Any = None,
        ssl_context: Any = None,
    ) -> None:
        if ssl_options is not None and ssl_context is not None:
            raise ValueError("Pass ssl_options or ssl_context, not both")
        self.headers = headers
        if if_modified_since is not None:
            self.headers["If-Modified-Since"] = format_timestamp(if_modified_since)
        self.url = url
        self.method = method
        self.body = body
        self.body_producer = body_producer
        self.auth_username = auth_username
        self.auth_password = auth_password
        self.auth_mode = auth_mode
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.decompress_response = (
            decompress_response if decompress_response is not None else use_gzip
        )
        self.network_interface = network_interface
        self.streaming_callback = streaming_callback
        self.header_callback = header_callback
        self.allow_nonstandard_methods = allow_nonstandard_methods
        self.validate_cert = validate_cert
        self.ca_certs = ca_certs
        self.client_key = client_key
        self.client_cert = client_cert
        self.ssl_options = ssl_options if ssl_options is not None else ssl_context
        self.expect_100_continue = expect_100_continue
        self.start_time = time.time()

    @property
    def headers(self) -> HTTPHeaders:
        """The request headers; a dict given to the constructor becomes HTTPHeaders."""
        return self._headers

    @headers.setter
    def headers(self, value: dict[str, str] | HTTPHeaders | None) -> None:
        if value is None:
            self._headers = HTTPHeaders()
        elif isinstance(value, HTTPHeaders):
            self._headers = value
        else:
            self._headers = HTTPHeaders(value)

    @property
    def body(self) -> bytes | None:
        """The request body as bytes (text is encoded as UTF-8), or None."""
        return self._body

    @body.setter
    def body(self, value: bytes | str | None) -> None:
        self._body = utf8(value)

    @property
    def ssl_context(self) -> Any:
        """Another name for ``ssl_options``."""
        return self.ssl_options

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url})"


class HTTPResponse:
    """The result of a request.

    Args:
        request: the request as the caller made it (the first one, when redirects were
            followed).
        code: the status code.
        headers: the response headers.
        buffer: the body; :attr:`body` reads it.
        effective_url: the URL of the final response, after redirects.
        error: the error this response stands for; when None and ``code`` is not 2xx, an
            :class:`HTTPClientError` for that code.
        request_time: seconds from the start of the (last) request to the end of the body,
            waiting for a free connection excluded.
        time_info: timings: ``queue`` (waiting for a free connection) and ``connect``
            (opening a new connection; 0 when one was reused).
        reason: the reason phrase; the standard one for ``code`` when None.
        start_time: :func:`time.time` when the (last) request started.

    Attributes:
        request: see Args.
        code: see Args.
        reason: see Args.
        headers: see Args.
        buffer: see Args.
        effective_url: see Args.
        error: see Args.
        request_time: see Args.
        start_time: see Args.
        time_info: see Args.
    """

    def __init__(
        self,
        request: HTTPRequest,
        code: int,
        headers: HTTPHeaders | None = None,
        buffer: io.BytesIO | None = None,
        effective_url: str | None = None,
        error: BaseException | None = None,
        request_time: float | None = None,
        time_info: dict[str, float] | None = None,
        reason: str | None = None,
        start_time: float | None = None,
    ) -> None:
        self.request = request
        self.code = code
        self.reason = reason or responses.get(code, "Unknown")
        self.headers = headers if headers is not None else HTTPHeaders()
        self.buffer = buffer
        self._body: bytes | None = None
        self.effective_url = effective_url if effective_url is not None else request.url
        self._error_is_response_code = False
        self.error: BaseException | None
        if error is not None:
            self.error = error
        elif code < 200 or code >= 300:
            self._error_is_response_code = True
            self.error = HTTPClientError(code, message=self.reason, response=self)
        else:
            self.error = None
        self.request_time = request_time
        self.start_time = start_time
        self.time_info = time_info or {}

    @property
    def body(self) -> bytes:
        """The whole response body (empty with a ``streaming_callback``)."""
        if self.buffer is None:
            return b""
        if self._body is None:
            self._body = self.buffer.getvalue()
        return self._body

    def rethrow(self) -> None:
        """Raises :attr:`error` if there is one.

        Raises:
            HTTPClientError: the status code was not 2xx (or the error given).
        """
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return f"HTTPResponse({self.code} {self.reason}, {self.effective_url})"


class HTTPClientError(Exception):
    """A request failed: the server answered with a status outside 2xx, or no answer came.

    ``HTTPError`` is another name for this class, as in Tornado. With
    ``follow_redirects=False`` a redirect is an error too: its target is in
    ``error.response.headers["Location"]``.

    Args:
        code: the HTTP status code; 599 when no response was received (a timeout).
        message: what went wrong; the standard reason phrase for ``code`` when None.
        response: the response, when there was one.

    Attributes:
        code: see Args.
        message: see Args.
        response: see Args.
    """

    def __init__(
        self, code: int, message: str | None = None, response: HTTPResponse | None = None
    ) -> None:
        self.code = code
        self.message = message or responses.get(code, "Unknown")
        self.response = response
        super().__init__(code, message, response)

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"

    # The response refers back to this error: the default repr would go round in circles.
    __repr__ = __str__


class HTTPTimeoutError(HTTPClientError):
    """A request ran out of time: waiting for a connection, connecting, or in the exchange.

    Its code is 599, as in Tornado, so code that checks ``error.code == 599`` still works.

    Args:
        message: which phase timed out.
    """

    def __init__(self, message: str) -> None:
        super().__init__(599, message=message)

    def __str__(self) -> str:
        return self.message or "Timeout"


class HTTPStreamClosedError(HTTPClientError):
    """The connection closed before the response was complete.

    Its code is 599, as in Tornado. The lower-level error, if any, is its ``__cause__``.

    Args:
        message: what was happening when the connection closed.
    """

    def __init__(self, message: str) -> None:
        super().__init__(599, message=message)

    def __str__(self) -> str:
        return self.message or "Stream closed"
