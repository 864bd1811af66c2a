"""`RequestHandler`: Tornado's handler lifecycle and response API, run as one Trio task.

A request goes through ``_execute``: method check, body read and parse (unless the class is
``@stream_request_body``), path arguments, ``prepare()``, the streamed body if any, the HTTP
method, then ``finish()``. ``write()``, ``set_header()``, ``finish()`` and friends only buffer;
when the method returns the whole response goes to the connection in one
``send_response`` call. ``await self.flush()`` sends early (streaming), and
``await self.finish()`` sends the end at once for handlers that keep working afterwards.
"""

from __future__ import annotations

import datetime
import hashlib
import http.cookies
import numbers
import re
import traceback
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from . import escape
from ._compression import _OutputTransformsMixin
from ._errors import Finish, HTTPError
from ._handler_base import HandlerBase
from ._rendering import RenderingMixin
from ._response_cookies import _ResponseCookiesMixin
from ._static_url import _StaticURLMixin
from ._version import __version__
from ._wire import check_header_name, checked_names
from .httputil import HTTPHeaders, HTTPInputError, ResponseStartLine, format_timestamp, responses
from .iostream import StreamClosedError
from .log import app_log, gen_log

if TYPE_CHECKING:
    from ._application import Application
    from .httputil import HTTPServerRequest

__all__ = ["RequestHandler"]

_HeaderTypes = str | bytes | int | numbers.Integral | datetime.datetime
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_SERVER_HEADER = f"TrinadoServer/{__version__}"
_DEFAULT_CONTENT_TYPE = "text/html; charset=UTF-8"

# Field values (RFC 9110): tab, visible ASCII, space and obs-text; no CR, LF or NUL.
_VALID_HEADER_VALUE_RE = re.compile(r"[\x09\x20-\x7e\x80-\xff]*")
# A reason phrase: at least one of tab, space, visible ASCII or obs-text.
_REASON_PHRASE_RE = re.compile(r"[\t \x21-\x7e\x80-\xff]+")
_ETAG_RE = re.compile(rb'\*|(?:W/)?"[^"]*"')

# Methods Tornado routes to a handler method of the same name in lower case.
_METHOD_ATTRS = {m: m.lower() for m in ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")}
# Methods the xsrf_cookies setting does not check.
_XSRF_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))

_LIST_WRITE_MESSAGE = (
    "write() only accepts bytes, unicode, and dict objects. Lists not accepted for "
    "security reasons; see "
    "http://www.tornadoweb.org/en/stable/web.html#tornado.web.RequestHandler.write"
)


def _no_content(status_code: int) -> bool:
    return status_code in (204, 304) or 100 <= status_code < 200


def _default_headers() -> HTTPHeaders:
    """Returns new response headers holding Server and Content-Type.

    This runs for every request, so it fills `HTTPHeaders`' two dicts directly instead of
    going through name normalization (the test suite checks it matches the slow way).
    """
    headers = HTTPHeaders.__new__(HTTPHeaders)
    headers._as_list = {"Server": [_SERVER_HEADER], "Content-Type": [_DEFAULT_CONTENT_TYPE]}
    headers._combined_cache = {"Server": _SERVER_HEADER, "Content-Type": _DEFAULT_CONTENT_TYPE}
    return headers


class _FinishAwaitable:
    """What `RequestHandler.finish` returns: awaiting it sends the response right away.

    It is not a coroutine, so leaving it un-awaited is fine (and usual): the response is
    then sent when the handler method returns.
    """

    __slots__ = ("_handler",)

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler

    def __await__(self) -> Generator[Any, None, None]:
        return self._handler._send_finished().__await__()


class RequestHandler(
    RenderingMixin, _StaticURLMixin, _ResponseCookiesMixin, _OutputTransformsMixin, HandlerBase
):
    """Base class of HTTP request handlers: define ``get``, ``post``, ... in a subclass.

    Handler methods may be ``async def`` or plain ``def``. Output methods (`write`,
    `set_header`, `set_cookie`, `finish`, `redirect`, `send_error`) buffer and need no
    ``await``; `flush` is a coroutine that sends what is buffered. Exceptions become
    responses: `HTTPError` keeps its status, anything else is logged and answered with a 500.

    Applications create handlers, one per request; override `initialize` (not
    ``__init__``) to receive a route's keyword arguments.

    Attributes:
        SUPPORTED_METHODS: The methods this handler accepts; others get a 405.
    """

    SUPPORTED_METHODS: tuple[str, ...] = (
        "GET",
        "HEAD",
        "POST",
        "DELETE",
        "PATCH",
        "PUT",
        "OPTIONS",
    )
    _stream_request_body: ClassVar[bool] = False

    _headers: HTTPHeaders
    _write_buffer: list[bytes]
    _status_code: int
    _reason: str

    def __init__(self, application: Application, request: HTTPServerRequest, **kwargs: Any) -> None:
        self._headers_written = False
        self._finished = False
        self._sent = False
        self._ended = False
        self._close_callback_set = False
        self._new_cookie: http.cookies.SimpleCookie | None = None
        super().__init__(application, request, **kwargs)

    def _setup(self) -> None:
        self.clear()
        if type(self).on_connection_close is not RequestHandler.on_connection_close:
            self.request.connection.set_close_callback(self.on_connection_close)
            self._close_callback_set = True

    def _unimplemented_method(self, *args: Any, **kwargs: Any) -> None:
        """Handles the HTTP method of the same name; override it (``async def`` or not).

        The path pattern's groups arrive as arguments: unnamed groups by position, named
        ones by keyword. Not overridden, it answers 405 Method Not Allowed.

        Args:
            *args: The unnamed path groups, decoded.
            **kwargs: The named path groups, decoded.

        Raises:
            HTTPError: 405, unless overridden.
        """
        raise HTTPError(405)

    head: Callable[..., Awaitable[None] | None] = _unimplemented_method
    get: Callable[..., Awaitable[None] | None] = _unimplemented_method
    post: Callable[..., Awaitable[None] | None] = _unimplemented_method
    delete: Callable[..., Awaitable[None] | None] = _unimplemented_method
    patch: Callable[..., Awaitable[None] | None] = _unimplemented_method
    put: Callable[..., Awaitable[None] | None] = _unimplemented_method
    options: Callable[..., Awaitable[None] | None] = _unimplemented_method

    # ----------------------------------------------------------------------------------
    # Hooks

    def prepare(self) -> Awaitable[None] | None:
        """Called before the HTTP method, whatever the method; may be ``async def``.

        For a ``@stream_request_body`` handler it runs before the body is read, so it can
        call ``self.request.connection.set_max_body_size(...)``. Calling `finish` here (or
        raising) skips the method.

        Returns:
            ``None``, or an awaitable that is awaited.
        """
        return None

    def on_finish(self) -> None:
        """Called once the response has been sent (or the client went away while sending).

        Override it for clean-up or logging; it cannot produce output. It is not called for
        a request cancelled before `finish` (see `on_connection_close`).
        """

    def on_connection_close(self) -> Awaitable[None] | None:
        """Called when the client goes away before the response is finished.

        The handler's task is cancelled at the same moment (its ``await`` raises
        `trio.Cancelled`), so this is the place to release what a long poll holds. It may
        be ``async def``: the connection awaits it under a short deadline.

        Returns:
            ``None``, or an awaitable that the connection awaits.
        """
        return None

    def set_default_headers(self) -> None:
        """Override to set headers at the start of every response (and of error pages)."""

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Receives a piece of the body; only for ``@stream_request_body`` handlers.

        The next piece is read from the socket only after this returns (or its awaitable
        completes), which gives back-pressure.

        Args:
            chunk: The next piece of the request body.

        Returns:
            ``None``, or an awaitable that is awaited.

        Raises:
            NotImplementedError: In this base class.
        """
        raise NotImplementedError()

    # ----------------------------------------------------------------------------------
    # Status and headers

    def clear(self) -> None:
        """Resets the headers, status and buffered body of the response."""
        self._headers = _default_headers()
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = "OK"

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        """Sets the status code (and reason phrase) of the response.

        Args:
            status_code: The status code; any number is accepted.
            reason: The reason phrase; by default the standard one for the code, or
                ``"Unknown"``. A phrase with characters a status line cannot carry (or a
                ``<``) is replaced with ``"Unknown"``.
        """
        self._status_code = status_code
        if reason is None:
            self._reason = responses.get(status_code, "Unknown")
        elif "<" in reason or _REASON_PHRASE_RE.fullmatch(reason) is None:
            self._reason = "Unknown"
        else:
            self._reason = reason

    def get_status(self) -> int:
        """Returns the status code of the response.

        Returns:
            The status code.
        """
        return self._status_code

    def set_header(self, name: str, value: _HeaderTypes) -> None:
        """Sets a response header, replacing any value it had.

        Args:
            name: The header's name.
            value: A str, bytes (taken as Latin-1), integer or `datetime.datetime`
                (formatted as an HTTP date).

        Raises:
            ValueError: If the value contains CR, LF or another control character, or the
                name is not a valid header name.
            TypeError: If the value has another type.
        """
        if name not in checked_names:  # (the connection's cache: checked once, sent as is)
            check_header_name(name)
        self._headers[name] = self._convert_header_value(value)

    def add_header(self, name: str, value: _HeaderTypes) -> None:
        """Adds a value to a response header that may appear several times.

        Args:
            name: The header's name.
            value: As for `set_header`.

        Raises:
            ValueError: If the value contains CR, LF or another control character, or the
                name is not a valid header name.
            TypeError: If the value has another type.
        """
        try:
            self._headers.add(name, self._convert_header_value(value))
        except HTTPInputError as exc:  # HTTPHeaders.add also refuses edge whitespace
            raise ValueError(str(exc)) from None

    def clear_header(self, name: str) -> None:
        """Removes a response header (all its values).

        Args:
            name: The header's name.
        """
        if name in self._headers:
            del self._headers[name]

    def _convert_header_value(self, value: _HeaderTypes) -> str:
        if isinstance(value, str):
            converted = value
        elif isinstance(value, bytes):
            converted = value.decode("latin-1")
        elif isinstance(value, (int, numbers.Integral)):
            return str(value)
        elif isinstance(value, datetime.datetime):
            return format_timestamp(value)
        else:
            raise TypeError(f"Unsupported header value {value!r}")
        if _VALID_HEADER_VALUE_RE.fullmatch(converted) is None:
            raise ValueError(f"Unsafe header value {converted!r}")
        return converted

    def _clear_representation_headers(self) -> None:
        # A 204 or 304 describes no representation: drop the headers that would.
        headers = self._headers
        for name in ("Content-Encoding", "Content-Language", "Content-Type"):
            if name in headers:
                del headers[name]

    # ----------------------------------------------------------------------------------
    # Body

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        """Adds to the buffered response body.

        A dict is written as JSON with the Content-Type ``application/json;
        charset=UTF-8`` (call `set_header` afterwards for another type). Lists are refused:
        wrap JSON arrays in an object.

        Args:
            chunk: The text (encoded as UTF-8), bytes or dict to write.

        Raises:
            RuntimeError: If the response is finished.
            TypeError: If ``chunk`` is of another type.
        """
        if self._finished:
            raise RuntimeError("Cannot write() after finish()")
        value: object = chunk
        if isinstance(value, bytes):
            self._write_buffer.append(value)
        elif isinstance(value, str):
            self._write_buffer.append(value.encode("utf-8"))
        elif isinstance(value, dict):
            self._write_buffer.append(escape.json_encode(value).encode("utf-8"))
            self._headers["Content-Type"] = "application/json; charset=UTF-8"
        elif isinstance(value, list):
            raise TypeError(_LIST_WRITE_MESSAGE)
        else:
            raise TypeError("write() only accepts bytes, unicode, and dict objects")

    async def flush(self) -> None:
        """Sends the buffered headers and body now, keeping the response open.

        The first call sends the status line and headers (without a Content-Length the body
        is chunked); later calls send more body. After `finish` it sends the end of the
        response.

        Raises:
            StreamClosedError: If the client is gone or the write timed out.
        """
        if self._finished:
            await self._send_finished()
            return
        conn = self.request.connection
        chunk = b"".join(self._write_buffer)
        self._write_buffer = []
        if not self._headers_written:
            self._headers_written = True
            if self.application.transforms:
                chunk = self._transform_first(chunk, finishing=False)
            if self.request.method == "HEAD":
                chunk = b""
            self._add_cookie_headers()
            start_line = ResponseStartLine("", self._status_code, self._reason)
            await conn.write_headers(start_line, self._headers, chunk)
        else:
            if self._transforms is not None:
                chunk = self._transform_next(chunk, finishing=False)
            if chunk and self.request.method != "HEAD":
                await conn.write(chunk)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> _FinishAwaitable:
        """Ends the response; it is sent when the handler method returns.

        Before anything was flushed, this adds an ETag (and turns the answer into a 304
        when the request's ``If-None-Match`` fits) and a Content-Length. Awaiting the
        result sends the response at once, for handlers that go on working after
        answering; not awaiting it is fine.

        Args:
            chunk: Something to `write` first.

        Returns:
            An awaitable that sends the response (and raises
            `~trinado.iostream.StreamClosedError` if the client is gone).

        Raises:
            RuntimeError: If called twice, or with a body for a 204, 304 or 1xx status.
        """
        if self._finished:
            raise RuntimeError("finish() called twice")
        if chunk is not None:
            self.write(chunk)
        if not self._headers_written:
            headers = self._headers
            status = self._status_code
            if (
                (status == 200 or status == 304)
                and "Etag" not in headers
                and self.request.method in ("GET", "HEAD")
            ):
                self.set_etag_header()
                if self.check_etag_header():
                    self._write_buffer = []
                    self.set_status(304)
                    status = 304
            if _no_content(status):
                if self._write_buffer:
                    raise RuntimeError(f"Cannot send body with status code HTTP{status}")
                self._clear_representation_headers()
            elif "Content-Length" not in headers:
                buffer = self._write_buffer
                headers["Content-Length"] = str(
                    len(buffer[0]) if len(buffer) == 1 else sum(map(len, buffer))
                )
        if self._close_callback_set:
            self.request.connection.set_close_callback(None)
            self._close_callback_set = False
        self._finished = True
        return _FinishAwaitable(self)

    async def _send_finished(self) -> None:
        """Hands the finished response to the connection (once), then ends the request."""
        if self._sent:
            return
        self._sent = True
        try:
            conn = self.request.connection
            buffer = self._write_buffer
            self._write_buffer = []
            if self._headers_written:
                if self._transforms is not None:
                    buffer = [self._transform_next(b"".join(buffer), finishing=True)]
                if buffer and self.request.method != "HEAD":
                    await conn.write(b"".join(buffer))
                await conn.finish()
            else:
                self._headers_written = True
                if self.application.transforms:
                    buffer = [self._transform_first(b"".join(buffer), finishing=True)]
                if self.request.method == "HEAD" or not buffer:
                    body = b""
                elif len(buffer) == 1:
                    body = buffer[0]
                else:
                    body = b"".join(buffer)
                if self._new_cookie is not None:
                    self._add_cookie_headers()
                start_line = ResponseStartLine("", self._status_code, self._reason)
                await conn.send_response(start_line, self._headers, body)
        finally:
            self._end_request()

    def _end_request(self) -> None:
        """Logs the request and runs `on_finish`, once."""
        if self._ended:
            return
        self._ended = True
        try:
            self.application.log_request(self)
        except Exception:
            app_log.error("Exception in log_request", exc_info=True)
        try:
            self.on_finish()
        except Exception:
            app_log.error("Exception in on_finish", exc_info=True)

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Answers with a redirect to ``url`` (which may be relative) and finishes.

        Args:
            url: Where to send the client.
            permanent: 301 if true, else 302 (when ``status`` is not given).
            status: The status code, between 300 and 399.

        Raises:
            RuntimeError: If the headers were flushed already.
            ValueError: If ``status`` is not a 3xx code.
        """
        if self._headers_written:
            raise RuntimeError("Cannot redirect after headers have been written")
        if status is None:
            status = 301 if permanent else 302
        elif not 300 <= status <= 399:
            raise ValueError(f"redirect status must be between 300 and 399, not {status!r}")
        self.set_status(status)
        self.set_header("Location", url.encode("utf-8"))
        self.finish()

    # ----------------------------------------------------------------------------------
    # Errors

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Replaces the buffered response with an error page and finishes.

        The page comes from `write_error`, which receives ``kwargs``. If headers were
        flushed already, the response is just ended.

        Args:
            status_code: The status code.
            **kwargs: For `write_error`; ``reason`` sets the reason phrase and ``exc_info``
                carries the exception being answered.
        """
        if self._headers_written or self._finished:
            gen_log.error("Cannot send error response after headers written")
            if not self._finished:
                try:
                    self.finish()
                except Exception:
                    gen_log.error("Failed to flush partial response", exc_info=True)
            return
        self.clear()
        reason = kwargs.get("reason")
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            exception = exc_info[1]
            if isinstance(exception, HTTPError) and exception.reason:
                reason = exception.reason
        self.set_status(status_code, reason=reason)
        try:
            if status_code != 304:
                self.write_error(status_code, **kwargs)
        except Exception:
            app_log.error("Uncaught exception in write_error", exc_info=True)
        if not self._finished:
            self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Writes the error page; override for custom pages.

        The default writes a small HTML page, or the traceback as text/plain when the
        ``serve_traceback`` setting is on and ``exc_info`` is given.

        Args:
            status_code: The status code.
            **kwargs: ``exc_info`` (a ``sys.exc_info()`` triple) when an exception caused
                the error, plus whatever was given to `send_error`.
        """
        if _no_content(status_code):
            self.finish()
        elif self.settings.get("serve_traceback") and "exc_info" in kwargs:
            self.set_header("Content-Type", "text/plain")
            for line in traceback.format_exception(*kwargs["exc_info"]):
                self.write(line)
            self.finish()
        else:
            message = escape.xhtml_escape(self._reason)
            self.finish(
                f"<html><title>{status_code}: {message}</title>"
                f"<body>{status_code}: {message}</body></html>"
            )

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Logs an exception that escaped the handler; override to change how.

        An `HTTPError` is logged as a warning on ``trinado.general``, without traceback and
        only if it has a log message; anything else as an error with its traceback on
        ``trinado.application``.

        Args:
            typ: The exception's type.
            value: The exception.
            tb: Its traceback.
        """
        if isinstance(value, HTTPError):
            log_message = value.get_message()
            if log_message:
                gen_log.warning(
                    "%d %s: %s", value.status_code, self._request_summary(), log_message
                )
        else:
            app_log.error(
                "Uncaught exception %s\n%r",
                self._request_summary(),
                self.request,
                exc_info=(typ, value, tb),  # type: ignore[arg-type]
            )

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {request.uri} ({request.remote_ip})"

    def _handle_request_exception(self, e: Exception) -> None:
        if isinstance(e, Finish):
            if not self._finished:
                self.finish(*e.args)
            return
        if isinstance(e, StreamClosedError):
            # The client is gone: nothing can be sent any more.
            gen_log.debug("Client went away during %s", self._request_summary())
            self._finished = self._sent = True
            return
        try:
            self.log_exception(type(e), e, e.__traceback__)
        except Exception:
            app_log.error("Error in exception logger", exc_info=True)
        if self._finished:
            return
        exc_info: _ExcInfo = (type(e), e, e.__traceback__)
        status = e.status_code if isinstance(e, HTTPError) else 500
        self.send_error(status, exc_info=exc_info)

    # ----------------------------------------------------------------------------------
    # ETags

    def compute_etag(self) -> str | None:
        """Computes the ETag of the response; override to change or disable it.

        Returns:
            A quoted SHA-1 of the buffered body, or ``None`` for no ETag.
        """
        buffer = self._write_buffer
        if len(buffer) == 1:
            return f'"{hashlib.sha1(buffer[0]).hexdigest()}"'
        hasher = hashlib.sha1()
        for part in buffer:
            hasher.update(part)
        return f'"{hasher.hexdigest()}"'

    def set_etag_header(self) -> None:
        """Sets the ``Etag`` header from `compute_etag` (unless that returns ``None``)."""
        etag = self.compute_etag()
        if etag is not None:
            self.set_header("Etag", etag)

    def check_etag_header(self) -> bool:
        """Tells whether the request's ``If-None-Match`` fits the response's ``Etag``.

        Weak comparison is used; ``*`` fits any ETag. `finish` calls this by itself.

        Returns:
            ``True`` if a 304 should be answered.
        """
        # get_list avoids Mapping.get's KeyError round trip on this per-request path.
        if_none_match = ",".join(self.request.headers.get_list("If-None-Match"))
        if not if_none_match:
            return False
        computed = ",".join(self._headers.get_list("Etag")).encode("latin-1")
        if not computed:
            return False
        etags = _ETAG_RE.findall(if_none_match.encode("latin-1"))
        if not etags:
            return False
        if etags[0] == b"*":
            return True
        computed = computed.removeprefix(b"W/")
        return any(etag.removeprefix(b"W/") == computed for etag in etags)

    # ----------------------------------------------------------------------------------
    # The lifecycle

    async def _execute(
        self,
        path_args: Sequence[bytes | None],
        path_kwargs: Mapping[str, bytes | None],
    ) -> None:
        """Runs the request: lifecycle, error handling, then sending the response.

        Args:
            path_args: The unnamed path groups, percent-decoded bytes.
            path_kwargs: The named path groups, percent-decoded bytes.
        """
        try:
            try:
                await self._run(path_args, path_kwargs)
            except Exception as exc:
                try:
                    self._handle_request_exception(exc)
                except Exception:
                    app_log.error("Exception in exception handler", exc_info=True)
            if self._finished and not self._sent:
                await self._send_finished()
        except StreamClosedError:
            gen_log.debug("Client went away before the response to %s", self._request_summary())
        finally:
            if self._finished and not self._ended:
                self._end_request()

    async def _run(
        self,
        path_args: Sequence[bytes | None],
        path_kwargs: Mapping[str, bytes | None],
    ) -> None:
        request = self.request
        method = request.method
        streaming = self._stream_request_body
        if not streaming:
            # As in Tornado, the body is read before anything else (even a 405), so the
            # connection can serve the client's next request.
            headers = request.headers
            if "Content-Length" in headers or "Transfer-Encoding" in headers:
                if not await self._read_body():
                    return
                if method in self.SUPPORTED_METHODS:
                    try:
                        request._parse_body()
                    except HTTPInputError as exc:
                        raise HTTPError(400, "Invalid body: %s", exc) from exc
        if method not in self.SUPPORTED_METHODS:
            raise HTTPError(405)
        if path_args or path_kwargs:
            self._decode_path_arguments(path_args, path_kwargs)
        if method not in _XSRF_SAFE_METHODS and self.application.settings.get("xsrf_cookies"):
            self.check_xsrf_cookie()
        result = self.prepare()
        if result is not None:
            await result
        if self._finished:
            return
        if streaming and not await self._stream_body():
            return
        attr = _METHOD_ATTRS.get(method)
        handler_method = getattr(self, attr if attr is not None else method.lower())
        result = handler_method(*self.path_args, **self.path_kwargs)
        if result is not None:
            await result
        if not self._finished:
            self.finish()

    async def _read_body(self) -> bool:
        """Reads the whole body into ``request.body``; False if the connection is lost."""
        try:
            self.request.body = await self.request.connection.read_body()
        except HTTPInputError as exc:
            return self._body_error(exc)
        return True

    async def _stream_body(self) -> bool:
        """Feeds the body to `data_received`; False if the connection is lost."""
        conn = self.request.connection
        data_received = self.data_received
        while True:
            try:
                chunk = await conn.receive_body_chunk()
            except HTTPInputError as exc:
                return self._body_error(exc)
            if not chunk:
                return True
            result = data_received(chunk)
            if result is not None:
                await result

    def _body_error(self, exc: HTTPInputError) -> bool:
        # The connection's RequestBodyError has a status_code: None means "answer nothing,
        # the connection closes"; other input errors are a 400.
        status: int | None = getattr(exc, "status_code", 400)
        if status is None:
            gen_log.info("Request body of %s not received: %s", self._request_summary(), exc)
            self._finished = self._sent = self._ended = True
            return False
        raise HTTPError(status, "%s", exc) from exc
