"""HTTP data types and parsers shared by the server, the client and the web layer.

Pure code with no I/O: :class:`HTTPHeaders`, :class:`HTTPServerRequest` (what
``RequestHandler.request`` is), form and multipart body parsing with the limits Tornado 6.5
added, and the small helpers Tornado keeps in ``tornado.httputil`` (:func:`url_concat`,
:func:`format_timestamp`, :func:`parse_cookie`, start-line parsing and so on).

Names, arguments and behaviour follow Tornado 6.6. Parsing failures raise
:class:`HTTPInputError` with a message saying what was wrong; the server turns it into a
``400 Bad Request``.
"""

from __future__ import annotations

import calendar
import contextlib
import dataclasses
import datetime
import functools
import http
import http.cookies
import re
import ssl
import time
import unicodedata
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, AnyStr, NamedTuple

from trinado._httpheaders import HTTPHeaders as HTTPHeaders
from trinado._httpheaders import HTTPInputError as HTTPInputError
from trinado._httpheaders import HTTPOutputError as HTTPOutputError
from trinado._httpheaders import _encode_header as _encode_header
from trinado._httpheaders import _normalize_header as _normalize_header
from trinado._httpheaders import _parse_header as _parse_header
from trinado.escape import parse_qs_bytes, utf8

__all__ = [
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPOutputError",
    "HTTPServerRequest",
    "ParseBodyConfig",
    "ParseMultipartConfig",
    "ParseUrlEncodedConfig",
    "RequestStartLine",
    "ResponseStartLine",
    "encode_username_password",
    "format_timestamp",
    "parse_body_arguments",
    "parse_cookie",
    "parse_multipart_form_data",
    "parse_request_start_line",
    "parse_response_start_line",
    "qs_to_qsl",
    "responses",
    "set_parse_body_config",
    "split_host_and_port",
    "url_concat",
]


responses: dict[int, str] = {status.value: status.phrase for status in http.HTTPStatus}
"""Standard reason phrase for each status code (``responses[404] == "Not Found"``)."""


# --- grammar (RFC 9112 / 3986), as far as we check it --------------------------------------

# A URI host with an optional port. Brackets and colons may appear anywhere (IPv6 literals
# are not checked in detail); "%" must start a two-digit escape. Written without nested
# ambiguity so a failing match stays linear.
_HOST_CHARS = r"[A-Za-z0-9\-._~!$&'()*+,;=\[\]:]"
_HOST_RE = re.compile(rf"{_HOST_CHARS}*(?:%[0-9A-Fa-f]{{2}}{_HOST_CHARS}*)*")
_REQUEST_LINE_RE = re.compile(
    r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) (HTTP/[0-9]\.[0-9])"
)
_STATUS_LINE_RE = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3}) ([\t\x20-\x7e\x80-\xff]+)?")
_NETLOC_RE = re.compile(r"^(.+):(\d+)$")


class HTTPFile(dict[str, Any]):
    """A file uploaded through a multipart form.

    Its fields are readable both as attributes and as keys (``f.filename`` and
    ``f["filename"]``), as in Tornado.

    Attributes:
        filename: the file name the client sent.
        body: the file's content.
        content_type: the part's Content-Type (``application/unknown`` when absent).
    """

    filename: str
    body: bytes
    content_type: str

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


# --- body parsing limits --------------------------------------------------------------------


@dataclasses.dataclass
class ParseMultipartConfig:
    """Limits for parsing ``multipart/form-data`` bodies, against denial of service.

    Attributes:
        enabled: false refuses every multipart body (for applications without uploads).
        max_parts: the most parts one body may hold (each form field is at least one).
        max_part_header_size: the most bytes of headers one part may carry.
    """

    enabled: bool = True
    max_parts: int = 100
    max_part_header_size: int = 10 * 1024

    def __post_init__(self) -> None:
        if self.max_parts < 0 or self.max_part_header_size < 0:
            raise ValueError("multipart limits must not be negative")


@dataclasses.dataclass
class ParseUrlEncodedConfig:
    """Limits for parsing ``application/x-www-form-urlencoded`` bodies and query strings.

    Attributes:
        max_arguments: the most ``name=value`` fields accepted.
    """

    max_arguments: int = 1000

    def __post_init__(self) -> None:
        if self.max_arguments < 0:
            raise ValueError("max_arguments must not be negative")


@dataclasses.dataclass
class ParseBodyConfig:
    """Limits for parsing request bodies (see :func:`set_parse_body_config`).

    Attributes:
        multipart: limits for ``multipart/form-data``.
        urlencoded: limits for ``application/x-www-form-urlencoded`` (and query strings).
    """

    multipart: ParseMultipartConfig = dataclasses.field(default_factory=ParseMultipartConfig)
    urlencoded: ParseUrlEncodedConfig = dataclasses.field(default_factory=ParseUrlEncodedConfig)


_DEFAULT_PARSE_BODY_CONFIG = ParseBodyConfig()


def set_parse_body_config(config: ParseBodyConfig) -> None:
    """Replaces the process-wide limits used when parsing request bodies and query strings.

    Args:
        config: the new limits, used from the next parse on.
    """
    global _DEFAULT_PARSE_BODY_CONFIG
    _DEFAULT_PARSE_BODY_CONFIG = config


# --- the request ----------------------------------------------------------------------------


@functools.lru_cache(256)
def _host_name(host: str) -> str:
    """Checks a Host header and returns its lowercased name without the port (cached)."""
    if _HOST_RE.fullmatch(host) is None:
        raise HTTPInputError(f"Invalid Host header: {host!r}")
    if "," in host:
        # Several Host headers (or one a proxy joined with commas): RFC 9112 says 400.
        raise HTTPInputError(f"Multiple host headers not allowed: {host!r}")
    return split_host_and_port(host.lower())[0]


class HTTPServerRequest:
    """One HTTP request received by the server (``RequestHandler.request``).

    Built once per request by the connection; applications read its attributes and may set
    their own on it.

    Attributes:
        method: the request method, such as ``"GET"``.
        uri: the request target as sent (path and query).
        version: the HTTP version, such as ``"HTTP/1.1"``.
        headers: the request headers (:class:`HTTPHeaders`).
        body: the request body (bytes; empty when there is none).
        remote_ip: the client's address, from the connection's ``context`` (``None`` when
            there is no context). With ``xheaders`` the server puts the proxy-reported
            address there.
        protocol: ``"http"`` or ``"https"``, from the connection's ``context``.
        host: the Host header (``"127.0.0.1"`` for an HTTP/1.0 request without one).
        host_name: :attr:`host` lowercased, without its port.
        path: the part of :attr:`uri` before ``?``.
        query: the part of :attr:`uri` after ``?``.
        arguments: query and body arguments together: names to lists of byte values.
        query_arguments: the arguments from the query string alone.
        body_arguments: the arguments from the body alone (filled by :meth:`_parse_body`).
        files: uploaded files: field names to lists of :class:`HTTPFile`.
        connection: the connection the request arrived on.
        server_connection: the server-side object owning the connection.
    """

    path: str
    query: str
    remote_ip: str | None
    protocol: str
    _cookies: http.cookies.SimpleCookie | None = None
    _finish_time: float | None = None

    def __init__(
        self,
        method: str | None = None,
        uri: str | None = None,
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: Any = None,
        start_line: RequestStartLine | None = None,
        server_connection: object | None = None,
    ) -> None:
        """Creates the request.

        Args:
            method: the method, when ``start_line`` is not given (default ``"GET"``).
            uri: the request target, when ``start_line`` is not given (default ``"/"``).
            version: the HTTP version, when ``start_line`` is not given.
            headers: the request headers.
            body: the request body.
            host: sets the Host header (kept for compatibility; prefer ``headers``).
            files: uploaded files, if already parsed.
            connection: the connection; its ``context`` supplies ``remote_ip`` and
                ``protocol``, and its ``stream`` the TLS certificate.
            start_line: the parsed request line; takes precedence over ``method``,
                ``uri`` and ``version``.
            server_connection: the server-side owner of the connection.

        Raises:
            HTTPInputError: the Host header is missing (HTTP/1.1), malformed or repeated,
                or the query string is malformed or has too many fields.
        """
        if start_line is None:
            self.method = method or "GET"
            self.uri = uri or "/"
            self.version = version
        else:
            self.method, self.uri, self.version = start_line
        if headers is None:
            headers = HTTPHeaders()
        if host is not None:
            headers["Host"] = host
        self.headers = headers
        self.body = body or b""

        context = getattr(connection, "context", None)
        if context is None:
            self.remote_ip = None
            self.protocol = "http"
        else:
            self.remote_ip = getattr(context, "remote_ip", None)
            self.protocol = getattr(context, "protocol", "http")

        try:
            request_host = headers["Host"]
        except KeyError:
            if self.version != "HTTP/1.0":
                raise HTTPInputError("Missing Host header") from None
            request_host = "127.0.0.1"
        self.host = request_host
        self.host_name = _host_name(request_host)

        self.files = files if files is not None else {}
        self.connection = connection
        self.server_connection = server_connection
        self._start_time = time.time()

        self.path, _, self.query = self.uri.partition("?")
        self.body_arguments: dict[str, list[bytes]] = {}
        if not self.query:
            self.arguments: dict[str, list[bytes]] = {}
            self.query_arguments: dict[str, list[bytes]] = {}
            return
        try:
            self.arguments = parse_qs_bytes(
                self.query,
                keep_blank_values=True,
                max_num_fields=_DEFAULT_PARSE_BODY_CONFIG.urlencoded.max_arguments,
            )
        except (ValueError, UnicodeError) as exc:
            raise HTTPInputError(f"Invalid query string: {exc}") from exc
        self.query_arguments = {name: list(values) for name, values in self.arguments.items()}

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """The request's cookies (parsed on first use), names to :class:`http.cookies.Morsel`.

        Cookies that :mod:`http.cookies` cannot hold (such as reserved or illegal names) are
        left out.
        """
        cookies = self._cookies
        if cookies is None:
            cookies = http.cookies.SimpleCookie()
            header = self.headers.get("Cookie")
            if header is not None:
                for name, value in parse_cookie(header).items():
                    # http.cookies refuses some names parse_cookie accepts: skip those.
                    with contextlib.suppress(http.cookies.CookieError):
                        cookies[name] = value
            self._cookies = cookies
        return cookies

    def full_url(self) -> str:
        """Returns the URL the client requested: protocol, host and URI.

        Returns:
            The full URL, such as ``"https://example.com:8443/a?b=c"``.
        """
        return self.protocol + "://" + self.host + self.uri

    def request_time(self) -> float:
        """Returns the seconds since the request arrived, or its duration once finished.

        Returns:
            The elapsed time in seconds.
        """
        end = self._finish_time
        if end is None:
            end = time.time()
        return end - self._start_time

    def get_ssl_certificate(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        """Returns the client's TLS certificate, if it sent one.

        The server's :class:`ssl.SSLContext` must ask for client certificates
        (``verify_mode``) for there to be one.

        Args:
            binary_form: return the DER-encoded certificate instead of a dict.

        Returns:
            The certificate as :meth:`ssl.SSLSocket.getpeercert` gives it, or ``None`` when
            the connection is not TLS or there is no certificate.
        """
        import trio  # imported here: nothing else in this module needs trio

        stream = getattr(self.connection, "stream", None)
        if not isinstance(stream, trio.SSLStream):
            return None
        try:
            cert: dict[str, Any] | bytes | None = stream.getpeercert(binary_form=binary_form)
        except (ssl.SSLError, ValueError, trio.NeedHandshakeError):
            return None
        return cert

    def _parse_body(self) -> None:
        """Parses the form fields and files in :attr:`body` into the argument dicts.

        Raises:
            HTTPInputError: the body is malformed, exceeds a parsing limit, or has a
                Content-Encoding other than identity.
        """
        parse_body_arguments(
            self.headers.get("Content-Type", ""),
            self.body,
            self.body_arguments,
            self.files,
            self.headers,
        )
        for name, values in self.body_arguments.items():
            self.arguments.setdefault(name, []).extend(values)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(protocol={self.protocol!r}, host={self.host!r}, "
            f"method={self.method!r}, uri={self.uri!r}, version={self.version!r}, "
            f"remote_ip={self.remote_ip!r})"
        )


# --- body parsing ---------------------------------------------------------------------------


def parse_body_arguments(
    content_type: str,
    body: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    headers: HTTPHeaders | None = None,
    *,
    config: ParseBodyConfig | None = None,
) -> None:
    """Parses a form body into ``arguments`` and ``files``.

    ``application/x-www-form-urlencoded`` and ``multipart/form-data`` are understood; any
    other content type leaves both dicts untouched.

    Args:
        content_type: the request's Content-Type header.
        body: the request body.
        arguments: updated with the form fields (names to lists of byte values).
        files: updated with the uploaded files.
        headers: the request headers, used to refuse compressed bodies.
        config: parsing limits; the process-wide ones by default.

    Raises:
        HTTPInputError: the body is malformed, breaks a limit, or has a Content-Encoding
            other than identity.
    """
    if config is None:
        config = _DEFAULT_PARSE_BODY_CONFIG
    if content_type.startswith("application/x-www-form-urlencoded"):
        _check_identity_encoding(headers)
        try:
            fields = parse_qs_bytes(
                body, keep_blank_values=True, max_num_fields=config.urlencoded.max_arguments
            )
        except ValueError as exc:
            raise HTTPInputError(f"Invalid x-www-form-urlencoded body: {exc}") from exc
        for name, values in fields.items():
            arguments.setdefault(name, []).extend(values)
    elif content_type.startswith("multipart/form-data"):
        _check_identity_encoding(headers)
        media_type, params = _parse_header(content_type)
        if media_type != "multipart/form-data":
            raise HTTPInputError(f"Invalid multipart/form-data: bad content type {media_type!r}")
        boundary = params.get("boundary")
        if not boundary:
            raise HTTPInputError("Invalid multipart/form-data: multipart boundary not found")
        parse_multipart_form_data(utf8(boundary), body, arguments, files, config=config.multipart)


def _check_identity_encoding(headers: HTTPHeaders | None) -> None:
    if headers is None:
        return
    encoding = headers.get("Content-Encoding")
    if encoding is not None and encoding.strip().lower() != "identity":
        raise HTTPInputError(f"Unsupported Content-Encoding: {encoding}")


def parse_multipart_form_data(
    boundary: bytes,
    data: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    *,
    config: ParseMultipartConfig | None = None,
) -> None:
    """Parses a ``multipart/form-data`` body into ``arguments`` and ``files``.

    Parts with a ``filename`` become :class:`HTTPFile` entries; an RFC 2231 ``filename*``
    (such as ``UTF-8''%C3%A1b.txt``) wins over a plain ``filename``. Text before the first
    boundary and after the final one is ignored.

    Args:
        boundary: the boundary from the Content-Type, with or without double quotes.
        data: the body.
        arguments: updated with the plain fields.
        files: updated with the uploaded files.
        config: parsing limits; the process-wide ones by default.

    Raises:
        HTTPInputError: parsing is disabled, a limit is exceeded, or the body is malformed
            (no final boundary, a part without headers, name or form-data disposition).
    """
    if config is None:
        config = _DEFAULT_PARSE_BODY_CONFIG.multipart
    if not config.enabled:
        raise HTTPInputError("multipart/form-data parsing is disabled")
    if len(boundary) >= 2 and boundary.startswith(b'"') and boundary.endswith(b'"'):
        boundary = boundary[1:-1]
    if not boundary:
        raise HTTPInputError("Invalid multipart/form-data: empty boundary")
    final_boundary = data.rfind(b"--" + boundary + b"--")
    if final_boundary == -1:
        raise HTTPInputError("Invalid multipart/form-data: no final boundary found")
    # The first chunk is the preamble before the first delimiter; RFC 2046 ignores it.
    chunks = data[:final_boundary].split(b"--" + boundary + b"\r\n", config.max_parts + 1)
    if len(chunks) - 1 > config.max_parts:
        raise HTTPInputError(
            f"multipart/form-data has too many parts (more than {config.max_parts})"
        )
    for chunk in chunks[1:]:
        if chunk:
            _parse_part(chunk, arguments, files, config)


def _parse_part(
    part: bytes,
    arguments: dict[str, list[bytes]],
    files: dict[str, list[HTTPFile]],
    config: ParseMultipartConfig,
) -> None:
    end_of_headers = part.find(b"\r\n\r\n")
    if end_of_headers == -1:
        raise HTTPInputError("multipart/form-data missing headers")
    if end_of_headers > config.max_part_header_size:
        raise HTTPInputError(
            f"multipart/form-data part header too large (over {config.max_part_header_size} bytes)"
        )
    try:
        header_text = part[:end_of_headers].decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPInputError("multipart/form-data part headers are not valid UTF-8") from None
    headers = HTTPHeaders.parse(header_text, _chars_are_bytes=False)
    disposition, params = _parse_header(headers.get("Content-Disposition", ""))
    if disposition != "form-data":
        raise HTTPInputError("Invalid multipart/form-data: part is not form-data")
    if not part.endswith(b"\r\n"):
        raise HTTPInputError("Invalid multipart/form-data: part does not end with CRLF")
    name = params.get("name")
    if not name:
        raise HTTPInputError("multipart/form-data missing name")
    value = part[end_of_headers + 4 : -2]
    filename = params.get("filename")
    if filename:
        content_type = headers.get("Content-Type", "application/unknown")
        upload = HTTPFile(filename=filename, body=value, content_type=content_type)
        files.setdefault(name, []).append(upload)
    else:
        arguments.setdefault(name, []).append(value)


# --- start lines ----------------------------------------------------------------------------


class RequestStartLine(NamedTuple):
    """The parsed request line: ``RequestStartLine("GET", "/foo", "HTTP/1.1")``."""

    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    """The parsed status line: ``ResponseStartLine("HTTP/1.1", 200, "OK")``."""

    version: str
    code: int
    reason: str


def parse_request_start_line(line: str) -> RequestStartLine:
    """Parses an HTTP/1.x request line such as ``GET /foo HTTP/1.1``.

    Args:
        line: the request line, without its CRLF.

    Returns:
        The method, request target and version.

    Raises:
        HTTPInputError: the line is malformed or the version is not HTTP/1.x.
    """
    match = _REQUEST_LINE_RE.fullmatch(line)
    if match is None:
        raise HTTPInputError("Malformed HTTP request line")
    method, target, version = match.groups()
    if not version.startswith("HTTP/1"):
        raise HTTPInputError(f"Unexpected HTTP version {version!r}")
    return RequestStartLine(method, target, version)


def parse_response_start_line(line: str) -> ResponseStartLine:
    """Parses an HTTP/1.x status line such as ``HTTP/1.1 200 OK``.

    Args:
        line: the status line, without its CRLF. The space after the code is required; the
            reason phrase may be empty (it is then ``""``).

    Returns:
        The version, status code and reason phrase.

    Raises:
        HTTPInputError: the line is malformed or the version is not HTTP/1.x.
    """
    match = _STATUS_LINE_RE.fullmatch(line)
    if match is None:
        raise HTTPInputError("Error parsing response start line")
    version, code, reason = match.groups()
    if not version.startswith("HTTP/1"):
        raise HTTPInputError(f"Unexpected HTTP version {version!r}")
    return ResponseStartLine(version, int(code), reason or "")


# --- small helpers --------------------------------------------------------------------------


def url_concat(
    url: str,
    args: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
) -> str:
    """Adds query arguments to a URL, whether or not it already has a query string.

    ``url_concat("http://example.com/foo?a=b", {"c": "d"})`` gives
    ``"http://example.com/foo?a=b&c=d"``. The fragment stays at the end; the existing query
    is re-encoded (so ``?x`` becomes ``?x=``).

    Args:
        url: the URL to extend.
        args: a dict, or a list or tuple of ``(name, value)`` pairs (which may repeat a
            name); ``None`` returns ``url`` unchanged.

    Returns:
        The new URL.

    Raises:
        TypeError: ``args`` is of another type.
    """
    if args is None:
        return url
    if isinstance(args, Mapping):
        extra = list(args.items())
    elif isinstance(args, (list, tuple)):
        extra = list(args)
    else:
        raise TypeError(f"'args' parameter should be dict, list or tuple. Not {type(args)}")
    parts = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.extend(extra)
    return urllib.parse.urlunparse(parts._replace(query=urllib.parse.urlencode(query)))


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_timestamp(ts: float | tuple[int, ...] | time.struct_time | datetime.datetime) -> str:
    """Formats a time as HTTP dates are written: ``Sun, 27 Jan 2013 18:43:20 GMT``.

    Args:
        ts: a POSIX timestamp (int or float), a UTC time tuple or
            :class:`time.struct_time` (as :func:`time.gmtime` returns), or a
            :class:`datetime.datetime`: naive ones are taken as UTC, aware ones converted.

    Returns:
        The formatted date.

    Raises:
        TypeError: ``ts`` is of another type.
    """
    if isinstance(ts, (int, float)):
        seconds: float = ts
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = calendar.timegm(ts)
    elif isinstance(ts, datetime.datetime):
        seconds = calendar.timegm(ts.utctimetuple())
    else:
        raise TypeError(f"unknown timestamp type: {ts!r}")
    when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return (
        f"{_WEEKDAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} "
        f"{when.year:04d} {when.hour:02d}:{when.minute:02d}:{when.second:02d} GMT"
    )


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """Encodes credentials as ``username:password`` bytes, as HTTP Basic auth needs.

    Text is normalized to NFC and encoded as UTF-8; bytes are used as they are.

    Args:
        username: the user name.
        password: the password.

    Returns:
        The joined bytes (not yet base64-encoded).
    """
    if isinstance(username, str):
        username = unicodedata.normalize("NFC", username)
    if isinstance(password, str):
        password = unicodedata.normalize("NFC", password)
    return utf8(username) + b":" + utf8(password)


def split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """Splits ``host:port`` into its parts.

    ``"[::1]:8888"`` gives ``("[::1]", 8888)``; brackets around IPv6 literals are kept.

    Args:
        netloc: a host, optionally followed by ``:port``.

    Returns:
        The host and the port (``None`` when there is none).
    """
    match = _NETLOC_RE.match(netloc)
    if match is None:
        return netloc, None
    return match.group(1), int(match.group(2))


def qs_to_qsl(qs: Mapping[str, list[AnyStr]]) -> Iterator[tuple[str, AnyStr]]:
    """Turns the result of :func:`urllib.parse.parse_qs` back into ``(name, value)`` pairs.

    Args:
        qs: names to lists of values.

    Returns:
        An iterator over the pairs, one per value.
    """
    for name, values in qs.items():
        for value in values:
            yield name, value


_COOKIE_ESCAPE_RE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _unescape_cookie_char(match: re.Match[str]) -> str:
    octal = match.group(1)
    return chr(int(octal, 8)) if octal else match.group(2)


def _unquote_cookie(value: str) -> str:
    """Undoes the quoting :mod:`http.cookies` applies: outer quotes, ``\\x`` and ``\\ooo``."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _COOKIE_ESCAPE_RE.sub(_unescape_cookie_char, value[1:-1])


def parse_cookie(cookie: str) -> dict[str, str]:
    """Parses a Cookie header into a dict the way browsers do, not as the RFCs say.

    Pairs are split at every ``;`` (even inside quotes); a pair without ``=`` is a value
    with an empty name; when a name repeats, the last value wins; quoted values are
    unquoted as :mod:`http.cookies` quotes them.

    Args:
        cookie: the Cookie header value.

    Returns:
        Names to values.
    """
    result: dict[str, str] = {}
    for chunk in cookie.split(";"):
        name, eq, value = chunk.partition("=")
        if not eq:
            name, value = "", chunk
        name = name.strip()
        value = value.strip()
        if name or value:
            result[name] = _unquote_cookie(value)
    return result


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def _parse_request_range(range_header: str) -> tuple[int | None, int | None] | None:
    """Parses a single-range ``Range: bytes=...`` header into slice indexes.

    ``bytes=1-2`` gives ``(1, 3)``, ``bytes=6-`` gives ``(6, None)``, ``bytes=-6`` gives
    ``(-6, None)``, ``bytes=-0`` gives ``(None, 0)``. Another unit, several ranges or a
    malformed value give ``None``.
    """
    unit, _, value = range_header.partition("=")
    if unit.strip() != "bytes":
        return None
    first, _, last = value.strip().partition("-")
    try:
        start = _int_or_none(first)
        end = _int_or_none(last)
    except ValueError:
        return None
    if end is not None:
        if start is None:
            if end != 0:
                start, end = -end, None
        else:
            end += 1
    return start, end


def _get_content_range(start: int | None, end: int | None, total: int) -> str:
    """Builds a Content-Range value from slice indexes (the inverse of the range parser)."""
    first = start or 0
    last = (end or total) - 1
    return f"bytes {first}-{last}/{total}"
