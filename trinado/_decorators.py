"""Decorators for handlers: `authenticated`, `stream_request_body`, `addslash`, `removeslash`."""

from __future__ import annotations

import functools
import inspect
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from ._errors import HTTPError
from ._request_handler import RequestHandler

__all__ = ["addslash", "authenticated", "removeslash", "stream_request_body"]

_Method = TypeVar("_Method", bound=Callable[..., Awaitable[None] | None])
_HandlerClass = TypeVar("_HandlerClass", bound=type[RequestHandler])

# Leading and trailing C0 controls and spaces, which browsers strip from URLs.
_URL_EDGE_CHARS = "".join(chr(i) for i in range(0x21))
_LEADING_SLASHES_RE = re.compile(r"^//+")


def _normalize_url_like_browser(url: str) -> str:
    """Cleans a URL as a browser does before parsing it (WHATWG URL rules, roughly).

    Surrounding controls and spaces go, tabs and newlines anywhere go, and backslashes act
    as slashes (as they do for http and https). Checks on redirect targets built from
    untrusted input must see the URL as the browser will.
    """
    url = url.strip(_URL_EDGE_CHARS)
    url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    return url.replace("\\", "/")


def _is_protocol_relative(url: str) -> bool:
    """Tells whether a browser would read ``url`` as ``//host/...`` (another host)."""
    return _normalize_url_like_browser(url).startswith("//")


def _scheme_and_netloc(url: str) -> tuple[str, str]:
    """Returns the scheme and netloc (user info, host, port) a browser would see in ``url``.

    Both are empty for a relative URL.

    Raises:
        ValueError: For some malformed URLs (from `urllib.parse.urlsplit`).
    """
    url = _normalize_url_like_browser(url)
    # Browsers skip any number of slashes before the host of an http(s) URL.
    url = _LEADING_SLASHES_RE.sub("//", url)
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _wrap(method: _Method, check: Callable[[Any], bool]) -> _Method:
    """Wraps a handler method so that ``check(handler)`` runs first.

    ``check`` returns True when it has answered the request (the method is then skipped)
    and may raise `HTTPError`. The wrapper is a coroutine function when the method is one.
    """
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            if check(self):
                return
            await method(self, *args, **kwargs)

        return cast("_Method", async_wrapper)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        if check(self):
            return None
        return method(self, *args, **kwargs)

    return cast("_Method", wrapper)


def _check_authenticated(handler: RequestHandler) -> bool:
    if handler.current_user:
        return False
    request = handler.request
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(403)
    url = handler.get_login_url()
    if "?" not in url:
        # An absolute login URL gets an absolute "next" too.
        next_url = request.full_url() if urllib.parse.urlsplit(url).scheme else request.uri
        if _is_protocol_relative(next_url):
            # A request for "//evil.example/" would make next name another host, which a
            # login page redirecting to next after logging in would follow.
            raise HTTPError(403, "cannot redirect path with two initial slashes")
        url += "?" + urllib.parse.urlencode({"next": next_url})
    handler.redirect(url)
    return True


def authenticated(method: _Method) -> _Method:
    """Requires a logged-in user (a true ``current_user``) for a handler method.

    Without one, GET and HEAD requests are redirected to the ``login_url`` setting (see
    ``get_login_url``) with a ``next`` query argument holding the requested URI (the full
    URL when the login URL is absolute; nothing is added when the login URL already has a
    query); other methods get a 403. A request whose URI a browser would read as another
    host (``//evil.example/``, ``/\\evil.example/``) gets a 403 instead of a ``next``
    pointing there. Works on ``async def`` and plain methods.

    Args:
        method: The handler method.

    Returns:
        The wrapped method.
    """
    return _wrap(method, _check_authenticated)


def stream_request_body(cls: _HandlerClass) -> _HandlerClass:
    """Makes a `RequestHandler` subclass receive the request body piece by piece.

    With it, ``prepare()`` runs as soon as the headers are in (before any body is read,
    so it can raise the size limit with
    ``self.request.connection.set_max_body_size(n)``), then ``data_received(chunk)`` is
    called for each piece (awaited when it is a coroutine; the next piece is read only
    after that, which is the back-pressure), then the HTTP method. ``request.body`` stays
    empty and body arguments are not parsed.

    Args:
        cls: The handler class.

    Returns:
        The same class.

    Raises:
        TypeError: If ``cls`` is not a `RequestHandler` subclass.
    """
    target: object = cls
    if not (isinstance(target, type) and issubclass(target, RequestHandler)):
        raise TypeError(f"expected subclass of RequestHandler, got {cls!r}")
    cls._stream_request_body = True
    return cls


def _check_removeslash(handler: RequestHandler) -> bool:
    request = handler.request
    if not request.path.endswith("/"):
        return False
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(404)
    uri = request.path.rstrip("/")
    if _is_protocol_relative(uri):
        # "//example.com//" would otherwise send the client to another host.
        raise HTTPError(403, "cannot redirect path with two initial slashes")
    if not uri:
        # "/" stays as it is.
        return False
    if request.query:
        uri += "?" + request.query
    handler.redirect(uri, permanent=True)
    return True


def removeslash(method: _Method) -> _Method:
    """Redirects requests whose path ends with a slash to the path without it.

    GET and HEAD get a 301 (the query string is kept); other methods get a 404. Route the
    handler with a pattern such as ``r"/foo/*"``.

    Args:
        method: The handler method.

    Returns:
        The wrapped method.
    """
    return _wrap(method, _check_removeslash)


def _check_addslash(handler: RequestHandler) -> bool:
    request = handler.request
    if request.path.endswith("/"):
        return False
    if request.method not in ("GET", "HEAD"):
        raise HTTPError(404)
    uri = request.path + "/"
    if _is_protocol_relative(uri):
        raise HTTPError(403, "cannot redirect path with two initial slashes")
    if request.query:
        uri += "?" + request.query
    handler.redirect(uri, permanent=True)
    return True


def addslash(method: _Method) -> _Method:
    """Redirects requests whose path lacks a trailing slash to the path with one.

    GET and HEAD get a 301 (the query string is kept); other methods get a 404. Route the
    handler with a pattern such as ``r"/foo/?"``.

    Args:
        method: The handler method.

    Returns:
        The wrapped method.
    """
    return _wrap(method, _check_addslash)
