"""Cookies set on the response: ``set_cookie``, ``clear_cookie`` and ``clear_all_cookies``.

The cookies a handler sets are kept in a `http.cookies.SimpleCookie` (made on first use)
and become ``Set-Cookie`` headers when the response head is written.
"""

from __future__ import annotations

import datetime
import http.cookies
import re
from typing import TYPE_CHECKING, Any

from ._handler_base import HandlerBase
from .httputil import format_timestamp

if TYPE_CHECKING:
    from .httputil import HTTPHeaders

__all__: list[str] = []

_COOKIE_VALUE_FORBIDDEN_RE = re.compile(r"[\x00-\x20]")
_COOKIE_ATTR_FORBIDDEN_RE = re.compile(r"[\x00-\x20;\x7f]")


class _InvalidCookieError(http.cookies.CookieError, ValueError):
    """A cookie name, value or attribute with characters a Set-Cookie header cannot carry.

    It is both the `http.cookies.CookieError` Tornado raises and a `ValueError`.
    """


class _ResponseCookiesMixin(HandlerBase):
    """Gives request handlers the methods that set cookies on the response."""

    _headers: HTTPHeaders
    _new_cookie: http.cookies.SimpleCookie | None

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | tuple[int, ...] | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        *,
        max_age: int | None = None,
        httponly: bool = False,
        secure: bool = False,
        samesite: str | None = None,
    ) -> None:
        """Sets a cookie on the response (seen by `get_cookie` from the next request on).

        Args:
            name: The cookie's name.
            value: Its value (bytes are decoded as UTF-8).
            domain: The ``Domain`` attribute.
            expires: The expiry: a POSIX timestamp, a `time.gmtime` tuple or a datetime.
            path: The ``Path`` attribute.
            expires_days: The expiry in days from now (when ``expires`` is not given).
            max_age: The ``Max-Age`` attribute, in seconds.
            httponly: Adds ``HttpOnly``.
            secure: Adds ``Secure``.
            samesite: The ``SameSite`` attribute (``"Strict"``, ``"Lax"``, ``"None"``).

        Raises:
            ValueError: If the value has control characters or spaces, or an attribute has
                control characters, spaces or semicolons (the attribute case is also an
                `http.cookies.CookieError`, as in Tornado).
        """
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if _COOKIE_VALUE_FORBIDDEN_RE.search(value):
            raise ValueError(f"Invalid cookie {name!r}: {value!r}")
        for attr_name, attr_value in (
            ("name", name),
            ("domain", domain),
            ("path", path),
            ("samesite", samesite),
        ):
            if attr_value is not None and _COOKIE_ATTR_FORBIDDEN_RE.search(attr_value):
                raise _InvalidCookieError(
                    f"Invalid cookie attribute {attr_name}={attr_value!r} for cookie {name!r}"
                )
        if self._new_cookie is None:
            self._new_cookie = http.cookies.SimpleCookie()
        cookies = self._new_cookie
        if name in cookies:
            del cookies[name]
        try:
            cookies[name] = value
        except http.cookies.CookieError as exc:
            raise _InvalidCookieError(str(exc)) from None
        morsel = cookies[name]
        if domain:
            morsel["domain"] = domain
        if expires_days is not None and not expires:
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                days=expires_days
            )
        if expires:
            morsel["expires"] = format_timestamp(expires)
        if path:
            morsel["path"] = path
        if max_age:
            morsel["max-age"] = str(int(max_age))
        if httponly:
            morsel["httponly"] = True
        if secure:
            morsel["secure"] = True
        if samesite:
            morsel["samesite"] = samesite

    def clear_cookie(self, name: str, **kwargs: Any) -> None:
        """Deletes a cookie by setting it empty with an expiry in the past.

        Args:
            name: The cookie's name.
            **kwargs: Arguments of `set_cookie` other than ``expires`` and ``max_age``;
                ``path`` and ``domain`` (sometimes ``samesite`` and ``secure``) must match
                those the cookie was set with.

        Raises:
            TypeError: If ``expires`` or ``max_age`` is given.
        """
        for excluded in ("expires", "max_age"):
            if excluded in kwargs:
                raise TypeError(f"clear_cookie() got an unexpected keyword argument '{excluded}'")
        expires = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=365)
        self.set_cookie(name, value="", expires=expires, **kwargs)

    def clear_all_cookies(self, **kwargs: Any) -> None:
        """Deletes every cookie the request carried (see `clear_cookie`).

        Args:
            **kwargs: As for `clear_cookie`.
        """
        for name in self.request.cookies:
            self.clear_cookie(name, **kwargs)

    def _add_cookie_headers(self) -> None:
        if self._new_cookie is not None:
            for morsel in self._new_cookie.values():
                self._headers.add("Set-Cookie", morsel.OutputString(None))
