"""Ready-made handlers: `RedirectHandler`, `ErrorHandler`, `FallbackHandler`."""

from __future__ import annotations

import re
import string
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._decorators import _scheme_and_netloc
from ._errors import HTTPError
from ._request_handler import RequestHandler
from .httputil import url_concat

if TYPE_CHECKING:
    from .httputil import HTTPServerRequest

__all__ = ["ErrorHandler", "FallbackHandler", "RedirectHandler"]

# Characters a Location header cannot carry (controls other than tab, and DEL).
_FORBIDDEN_HEADER_CHARS_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class ErrorHandler(RequestHandler):
    """Answers every request with the same error status.

    The application uses it (with 404) when no route matches.

    Args:
        status_code: The status to answer with (an ``initialize`` argument).
    """

    def initialize(self, status_code: int) -> None:
        """Sets the status.

        Args:
            status_code: The status to answer with.
        """
        self.set_status(status_code)

    def prepare(self) -> None:
        """Raises the error before any method runs.

        Raises:
            HTTPError: Always, with the configured status.
        """
        raise HTTPError(self._status_code)

    def check_xsrf_cookie(self) -> None:
        """Checks nothing: the error has no side effect, so a POST to no route gets a 404."""


class RedirectHandler(RequestHandler):
    """Redirects every GET request to another URL.

    ``url`` may refer to the route's groups with `str.format` syntax (``{0}``, ``{1}``...,
    or ``{name}`` for a named group), and the request's query arguments are appended to the
    destination. A route of ``examples/routes.py``::

        (r"/old/(.*)", web.RedirectHandler, {"url": "/articles/{0}"}),

    sends a request for ``/old/2024/hello-world?x=1`` to ``/articles/2024/hello-world?x=1``
    (with a 301). As in Tornado 6.6, substituted values may not change the scheme or host
    of the destination: such a request (for example one that would produce
    ``//evil.example/...``) gets a 400, and substitutions cannot be used in the scheme or
    host part of ``url``.

    Args:
        url: The destination (an ``initialize`` argument).
        permanent: 301 if true (the default), else 302.
    """

    def initialize(self, url: str, permanent: bool = True) -> None:
        """Stores the destination.

        Args:
            url: The destination, possibly with ``{0}``/``{name}`` fields.
            permanent: 301 if true, else 302.
        """
        self._url = url
        self._permanent = permanent

    def get(self, *args: Any, **kwargs: Any) -> None:
        """Sends the redirect.

        Args:
            *args: The route's unnamed groups.
            **kwargs: The route's named groups.

        Raises:
            HTTPError: 400 if the substitutions would change the scheme or host, or put
                forbidden characters in the URL.
        """
        to_url = self._url.format(*args, **kwargs)
        # The scheme and host must come from the template's literal text before the first
        # substitution; formatting with a placeholder value cannot tell (a "/" placeholder
        # turns "/{0}/b" into a protocol-relative URL).
        prefix = ""
        has_substitution = False
        for literal, field, _, _ in string.Formatter().parse(self._url):
            prefix += literal
            if field is not None:
                has_substitution = True
                break
        try:
            query_arguments = self.request.query_arguments
            if query_arguments:
                # Added before the check, since url_concat may rewrite the rest of the URL.
                to_url = url_concat(
                    to_url,
                    [(name, value) for name, values in query_arguments.items() for value in values],
                )
            scheme, netloc = _scheme_and_netloc(prefix)
            unchanged = _scheme_and_netloc(to_url) == (scheme, netloc)
            if has_substitution and scheme in ("http", "https") and not netloc:
                # The host would come entirely from a substitution.
                unchanged = False
        except ValueError:
            unchanged = False
        if not unchanged:
            raise HTTPError(400, "Redirect URL cannot change the scheme or netloc")
        if _FORBIDDEN_HEADER_CHARS_RE.search(to_url):
            raise HTTPError(400, "Redirect URL contains invalid characters")
        self.redirect(to_url, permanent=self._permanent)


class FallbackHandler(RequestHandler):
    """Hands requests over to another request callable, such as another `Application`.

    Tornado's version wraps a WSGI container; trinado has no WSGI support (WSGI is
    blocking), so ``fallback`` is an async callable taking the
    `~trinado.httputil.HTTPServerRequest`, which answers through ``request.connection``
    itself (an `Application` is one). From ``examples/porting_trinado.py``::

        legacy_app = web.Application([(r"/legacy/(.*)", LegacyHandler)])  # was a WSGI app


        def make_app(nursery: trio.Nursery, poll_timeout: float = 30.0) -> web.Application:
            ...
            return web.Application(
                [
                    ...
                    (r"/legacy/.*", web.FallbackHandler, {"fallback": legacy_app}),
                ]
            )

    The request body is left unread for the fallback to read.

    Args:
        fallback: The async callable (an ``initialize`` argument).
    """

    # Leave the body alone: the fallback reads it.
    _stream_request_body = True

    def initialize(self, fallback: Callable[[HTTPServerRequest], Awaitable[None]]) -> None:
        """Stores the fallback.

        Args:
            fallback: The async request callable.
        """
        self.fallback = fallback

    async def prepare(self) -> None:
        """Runs the fallback, which answers the request."""
        await self.fallback(self.request)
        # The fallback answered (and logged); this handler only ends.
        self._finished = self._sent = self._ended = True
        self.on_finish()
