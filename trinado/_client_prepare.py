"""Turning an HTTPRequest into what goes on the wire: URL, headers, checks, redirects, TLS.

Pure except for reading certificate files when a TLS context is built.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import ssl
import urllib.parse
from collections.abc import Hashable, Mapping
from typing import Any

import h11

from ._client_messages import HTTPRequest
from ._httpheaders import HTTPHeaders
from ._version import __version__
from .httputil import encode_username_password

__all__ = [
    "REDIRECT_CODES",
    "SSLContexts",
    "Target",
    "build_head",
    "parse_url",
    "redirect_request",
    "resolve",
]

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
# Methods a request may be retried with after a stale keep-alive connection (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# Printable ASCII stays as it is in the request target; anything else is percent-encoded.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_OPTION_NAMES = frozenset(
    {
        "auth_username",
        "auth_password",
        "auth_mode",
        "connect_timeout",
        "request_timeout",
        "follow_redirects",
        "max_redirects",
        "user_agent",
        "network_interface",
        "streaming_callback",
        "header_callback",
        "allow_nonstandard_methods",
        "validate_cert",
        "ca_certs",
        "client_key",
        "client_cert",
        "body_producer",
        "decompress_response",
        "ssl_options",
    }
)


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a URL points, split the way the client needs it.

    Attributes:
        scheme: ``"http"`` or ``"https"``.
        host: the host to connect to, without IPv6 brackets, lowercased.
        port: the port (80 or 443 when the URL has none).
        netloc: the ``Host`` header value (the URL's authority without credentials).
        target: the request target: path and query, percent-encoded.
        username: the user name from the URL, if any.
        password: the password from the URL, if any.
    """

    scheme: str
    host: str
    port: int
    netloc: str
    target: str
    username: str | None
    password: str | None

    @property
    def origin(self) -> tuple[str, str, int]:
        """Scheme, host and port: what a cross-origin redirect changes."""
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Target:
    """Splits an ``http`` or ``https`` URL.

    Args:
        url: the URL.

    Returns:
        Its parts.

    Raises:
        ValueError: another scheme, no host, or a bad port.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"Unsupported url scheme: {url}")
    host = parts.hostname
    if not host:
        raise ValueError(f"No host in URL: {url}")
    port = parts.port  # raises ValueError for a bad port
    netloc = parts.netloc.rpartition("@")[2]
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Target(
        scheme=scheme,
        host=host,
        port=port if port is not None else (443 if scheme == "https" else 80),
        netloc=netloc,
        target=urllib.parse.quote(target, safe=_TARGET_SAFE),
        username=urllib.parse.unquote(parts.username) if parts.username is not None else None,
        password=urllib.parse.unquote(parts.password) if parts.password is not None else None,
    )


def check_defaults(defaults: Mapping[str, Any]) -> None:
    """Checks that ``defaults`` only names request options.

    Args:
        defaults: option names and values.

    Raises:
        ValueError: a name is not an option of :class:`HTTPRequest`.
    """
    unknown = sorted(set(defaults) - _OPTION_NAMES)
    if unknown:
        raise ValueError(f"Not HTTPRequest options: {', '.join(unknown)}")


def resolve(request: HTTPRequest, defaults: Mapping[str, Any]) -> HTTPRequest:
    """A copy of ``request`` whose unset options take the defaults; headers are copied too.

    Args:
        request: the caller's request (not modified).
        defaults: option values for options left at None.

    Returns:
        The copy.
    """
    resolved = copy.copy(request)
    resolved.headers = HTTPHeaders(request.headers)
    for name, value in {**HTTPRequest.DEFAULTS, **defaults}.items():
        if getattr(resolved, name, None) is None:
            setattr(resolved, name, value)
    return resolved


def _latin1(value: str, what: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not latin-1: {value!r}") from None


def build_head(request: HTTPRequest, target: Target) -> h11.Request:
    """The request head for ``request`` (resolved), with the headers the client adds.

    Adds ``Host``, ``User-Agent``, ``Authorization`` (Basic), ``Accept-Encoding``,
    ``Content-Length`` (or ``Transfer-Encoding: chunked`` for a body producer without a
    length), ``Content-Type`` for a POST, and ``Expect``. ``request.headers`` is not changed.

    Args:
        request: a request whose options are resolved.
        target: its parsed URL.

    Returns:
        The h11 event to send.

    Raises:
        ValueError: the method, body, auth mode or a header is not acceptable.
    """
    method = request.method.upper() if request.method else ""
    if not request.allow_nonstandard_methods:
        if method not in _STANDARD_METHODS:
            raise ValueError(
                f"Unknown method {request.method!r} (allow_nonstandard_methods accepts it)"
            )
        has_body = request.body is not None or request.body_producer is not None
        if (method in _BODY_METHODS) != has_body:
            raise ValueError(
                f"Body must {'not ' if method in _BODY_METHODS else ''}be None for method "
                f"{method} (unless allow_nonstandard_methods is true)"
            )
    if request.body is not None and request.body_producer is not None:
        raise ValueError("Pass body or body_producer, not both")
    headers = HTTPHeaders(request.headers)
    if "Host" not in headers:
        headers["Host"] = target.netloc
    username, password = target.username, target.password
    if username is None and request.auth_username is not None:
        username, password = request.auth_username, request.auth_password
    if username is not None:
        if request.auth_mode not in (None, "basic"):
            raise ValueError(f"Unsupported auth_mode {request.auth_mode!r}")
        token = base64.b64encode(encode_username_password(username, password or ""))
        headers["Authorization"] = "Basic " + token.decode("ascii")
    if request.user_agent:
        headers["User-Agent"] = request.user_agent
    elif "User-Agent" not in headers:
        headers["User-Agent"] = f"trinado/{__version__}"
    if request.decompress_response:
        headers["Accept-Encoding"] = "gzip, deflate"
    if request.expect_100_continue:
        headers["Expect"] = "100-continue"
    if request.body is not None:
        headers["Content-Length"] = str(len(request.body))
        headers.pop("Transfer-Encoding", None)
    elif request.body_producer is not None and "Content-Length" not in headers:
        headers["Transfer-Encoding"] = "chunked"
    if method == "POST" and "Content-Type" not in headers:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    raw = [
        (_latin1(name, "Header name"), _latin1(value, name)) for name, value in headers.get_all()
    ]
    try:
        return h11.Request(method=method, target=target.target.encode("ascii"), headers=raw)
    except h11.LocalProtocolError as exc:
        raise ValueError(f"Invalid request: {exc}") from exc


def redirect_request(request: HTTPRequest, code: int, location: str) -> HTTPRequest:
    """The request to send after a redirect, following Tornado's rules.

    303 (except for HEAD), and 301 or 302 after a POST, become a GET without a body. A
    redirect to another origin (scheme, host or port) drops ``Authorization``, ``Cookie``,
    the auth options and any credentials in the new URL.

    Args:
        request: the (resolved) request that was redirected.
        code: the redirect status.
        location: the ``Location`` header, relative or absolute.

    Returns:
        A new request with one redirect fewer left.

    Raises:
        ValueError: the new URL is not http or https.
    """
    new = copy.copy(request)
    new.headers = HTTPHeaders(request.headers)
    new.url = urllib.parse.urljoin(request.url, location)
    old_target, new_target = parse_url(request.url), parse_url(new.url)
    if old_target.origin != new_target.origin:
        new.auth_username = None
        new.auth_password = None
        for name in ("Authorization", "Cookie"):
            new.headers.pop(name, None)
        if new_target.username is not None:
            parts = urllib.parse.urlsplit(new.url)
            new.url = urllib.parse.urlunsplit(parts._replace(netloc=new_target.netloc))
    new.headers.pop("Host", None)
    if new.max_redirects is not None:
        new.max_redirects -= 1
    method = request.method.upper()
    if (code == 303 and method != "HEAD") or (code in (301, 302) and method == "POST"):
        new.method = "GET"
        new.body = None
        new.body_producer = None
        new.expect_100_continue = False
        for name in ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"):
            new.headers.pop(name, None)
    return new


def _context_from_dict(options: Mapping[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=options.get("ca_certs"))
    if options.get("certfile"):
        context.load_cert_chain(options["certfile"], options.get("keyfile"))
    if "cert_reqs" in options:
        if options["cert_reqs"] == ssl.CERT_NONE:
            context.check_hostname = False
        context.verify_mode = options["cert_reqs"]
    if options.get("ciphers"):
        context.set_ciphers(options["ciphers"])
    return context


class SSLContexts:
    """Builds the TLS context for each request's settings once, and names it for the pool."""

    def __init__(self) -> None:
        self._cache: dict[Hashable, ssl.SSLContext] = {}

    def get(self, request: HTTPRequest) -> tuple[ssl.SSLContext, Hashable]:
        """The context for an HTTPS request and a key that identifies its settings.

        Args:
            request: a resolved request.

        Returns:
            The context and its key (part of the pool key: connections made with other
            TLS settings are never shared).

        Raises:
            TypeError: ``ssl_options`` is neither an SSLContext nor a dict.
            OSError: a certificate file cannot be read.
        """
        options = request.ssl_options
        if isinstance(options, ssl.SSLContext):
            return options, options
        if isinstance(options, Mapping):
            key: Hashable = ("dict", tuple(sorted((k, str(v)) for k, v in options.items())))
            if key not in self._cache:
                self._cache[key] = _context_from_dict(options)
            return self._cache[key], key
        if options is not None:
            raise TypeError(f"ssl_options must be an SSLContext or a dict, not {options!r}")
        key = (
            bool(request.validate_cert),
            request.ca_certs,
            request.client_cert,
            request.client_key,
        )
        context = self._cache.get(key)
        if context is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=request.ca_certs)
            if not request.validate_cert:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if request.client_cert is not None:
                context.load_cert_chain(request.client_cert, request.client_key)
            self._cache[key] = context
        return context, key
