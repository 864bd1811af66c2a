"""Signed cookies and XSRF protection for handlers (`SecurityMixin`).

The mixin is a base of `HandlerBase`, so plain handlers and WebSocket handlers both have
these methods, as in Tornado. It relies on what `HandlerBase` provides (``settings``,
``get_cookie``, ``get_argument``, ``current_user``, ``require_setting``) and, for the
methods that set cookies, on ``set_cookie`` from the concrete handler class.

`RequestHandler` runs `SecurityMixin.check_xsrf_cookie` before ``prepare()`` for every
method but GET, HEAD and OPTIONS when the ``xsrf_cookies`` setting is on.
"""

from __future__ import annotations

import hmac
import os
from typing import TYPE_CHECKING, Any

from . import escape, security
from ._errors import HTTPError

if TYPE_CHECKING:
    from ._application import Application
    from .httputil import HTTPServerRequest

__all__ = ["SecurityMixin"]

_XSRF_TOKEN_SIZE = 16
_DEFAULT_XSRF_COOKIE_NAME = "_xsrf"
# How long an XSRF cookie lives for a logged-in user when xsrf_cookie_kwargs says nothing.
_LOGGED_IN_XSRF_COOKIE_DAYS = 30


class SecurityMixin:
    """Signed cookies and XSRF tokens for a handler; a base of every trinado handler.

    Application settings used:

    * ``cookie_secret``: the HMAC key for signed cookies, a str or bytes, or a
      ``{version: key}`` dict together with ``key_version`` (the key new cookies are
      signed with; cookies signed with any key of the dict are accepted).
    * ``xsrf_cookies``: check XSRF tokens on every request but GET, HEAD and OPTIONS.
    * ``xsrf_cookie_version``: 2 (default, masked tokens) or 1.
    * ``xsrf_cookie_name``: the cookie holding the token (default ``"_xsrf"``).
    * ``xsrf_cookie_kwargs``: more arguments for ``set_cookie`` when the XSRF cookie is set
      (``{"secure": True, "samesite": "Strict"}``, ``expires_days``, ...).
    """

    if TYPE_CHECKING:
        application: Application
        request: HTTPServerRequest

        @property
        def settings(self) -> dict[str, Any]: ...

        @property
        def current_user(self) -> Any: ...

        def get_cookie(self, name: str, default: None = None) -> str | None: ...

        def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None: ...

        def require_setting(self, name: str, feature: str = "this feature") -> None: ...

        def get_argument(self, name: str, default: None, strip: bool = True) -> str | None: ...

    # ----------------------------------------------------------------------------------
    # Signed cookies

    def set_signed_cookie(
        self,
        name: str,
        value: str | bytes,
        expires_days: float | None = 30,
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Sets a cookie whose value is signed and timestamped, so it cannot be forged.

        Read it back with `get_signed_cookie` (from the next request on). The value may be
        any bytes; it is sent base64-encoded, readable by the client but not changeable.

        Args:
            name: The cookie's name (signed too: the value is not valid under another name).
            value: The value.
            expires_days: The cookie's lifetime in the browser, in days; ``None`` for the
                browser session. Independent of ``max_age_days`` of `get_signed_cookie`.
            version: The signed value format, 1 or 2 (default 2).
            **kwargs: Other arguments of ``set_cookie`` (``path``, ``domain``,
                ``httponly``, ``secure``, ``samesite``, ...).

        Raises:
            Exception: If the ``cookie_secret`` setting is missing.
            ValueError: If ``cookie_secret`` is a dict and ``key_version`` is not set.
        """
        signed = self.create_signed_value(name, value, version=version)
        self.set_cookie(name, signed, expires_days=expires_days, **kwargs)

    set_secure_cookie = set_signed_cookie

    def create_signed_value(
        self, name: str, value: str | bytes, version: int | None = None
    ) -> bytes:
        """Signs and timestamps a value with the application's ``cookie_secret``.

        For uses other than cookies; check the result with ``get_signed_cookie(name,
        value=...)``.

        Args:
            name: The name the value is signed for.
            value: The value.
            version: The signed value format, 1 or 2 (default 2).

        Returns:
            The signed value (ASCII bytes).

        Raises:
            Exception: If the ``cookie_secret`` setting is missing.
            ValueError: If ``cookie_secret`` is a dict and ``key_version`` is not set.
        """
        self.require_setting("cookie_secret", "secure cookies")
        settings = self.application.settings
        secret = settings["cookie_secret"]
        key_version: int | None = None
        if isinstance(secret, dict):
            key_version = settings.get("key_version")
            if key_version is None:
                raise ValueError("key_version setting must be used for secret_key dicts")
        return security.create_signed_value(
            secret, name, value, version=version, key_version=key_version
        )

    def get_signed_cookie(
        self,
        name: str,
        value: str | None = None,
        max_age_days: float = 31,
        min_version: int | None = None,
    ) -> bytes | None:
        """Returns the value of a signed cookie if its signature holds, else ``None``.

        Only cookies the request carries are seen, not those set during this request.

        Args:
            name: The cookie's name.
            value: A signed value to check instead of the request's cookie.
            max_age_days: How old the signature may be, in days.
            min_version: The oldest signed value format accepted (1 or 2; default 1).

        Returns:
            The value as bytes, or ``None`` if the cookie is absent, forged, tampered with,
            expired, signed for another name or with a key no longer in ``cookie_secret``.

        Raises:
            Exception: If the ``cookie_secret`` setting is missing.
        """
        self.require_setting("cookie_secret", "secure cookies")
        if value is None:
            value = self.get_cookie(name)
        return security.decode_signed_value(
            self.application.settings["cookie_secret"],
            name,
            value,
            max_age_days=max_age_days,
            min_version=min_version,
        )

    get_secure_cookie = get_signed_cookie

    def get_signed_cookie_key_version(self, name: str, value: str | None = None) -> int | None:
        """Returns the version of the key a signed cookie was signed with.

        The signature is not checked: use it to decide whether to sign the cookie again
        with the current key, after `get_signed_cookie` has accepted it.

        Args:
            name: The cookie's name.
            value: A signed value to look at instead of the request's cookie.

        Returns:
            The key version, or ``None`` if the cookie is absent, malformed or of
            format 1.

        Raises:
            Exception: If the ``cookie_secret`` setting is missing.
        """
        self.require_setting("cookie_secret", "secure cookies")
        if value is None:
            value = self.get_cookie(name)
        if value is None:
            return None
        return security.get_signature_key_version(value)

    get_secure_cookie_key_version = get_signed_cookie_key_version

    # ----------------------------------------------------------------------------------
    # XSRF

    @property
    def xsrf_token(self) -> bytes:
        """The XSRF token of this request's user, to send back with forms and API calls.

        It is masked afresh on every request (so pages embedding it differ each time,
        which defeats compression attacks), but all maskings of one user's token are
        accepted. Reading it sets the XSRF cookie when the request carried none (with
        ``xsrf_cookie_kwargs``; for a logged-in user the cookie lasts 30 days unless those
        say otherwise). The ``xsrf_cookie_version`` setting 1 gives the older, unmasked
        format. The value is ASCII: ``.decode()`` it for a str.

        Raises:
            ValueError: If ``xsrf_cookie_version`` is not 1 or 2.
        """
        cached: bytes | None = getattr(self, "_xsrf_token", None)
        if cached is not None:
            return cached
        version, token, timestamp = self._get_raw_xsrf_token()
        settings = self.settings
        encoded = security.encode_xsrf_token(
            token, timestamp, version=settings.get("xsrf_cookie_version", 2)
        )
        if version is None:
            # Copied: Tornado adds expires_days to the setting's own dict.
            cookie_kwargs = dict(settings.get("xsrf_cookie_kwargs") or {})
            if "expires_days" not in cookie_kwargs and self.current_user:
                cookie_kwargs["expires_days"] = _LOGGED_IN_XSRF_COOKIE_DAYS
            cookie_name = settings.get("xsrf_cookie_name", _DEFAULT_XSRF_COOKIE_NAME)
            self.set_cookie(cookie_name, encoded, **cookie_kwargs)
        self._xsrf_token: bytes = encoded
        return encoded

    def _get_raw_xsrf_token(self) -> tuple[int | None, bytes, float]:
        """Reads this user's raw XSRF token from the cookie, or makes a new one.

        Returns:
            ``(version, token, timestamp)``: the version of the cookie the token came from
            (``None`` for a new token), the raw random bytes, and when it was made.
        """
        raw: tuple[int | None, bytes, float] | None = getattr(self, "_raw_xsrf_token", None)
        if raw is not None:
            return raw
        cookie = self.get_cookie(self.settings.get("xsrf_cookie_name", _DEFAULT_XSRF_COOKIE_NAME))
        version: int | None = None
        token: bytes | None = None
        timestamp: float | None = None
        if cookie:
            version, token, timestamp = self._decode_xsrf_token(cookie)
        if token is None or timestamp is None:
            version, token, timestamp = None, os.urandom(_XSRF_TOKEN_SIZE), security._current_time()
        raw = (version, token, timestamp)
        self._raw_xsrf_token: tuple[int | None, bytes, float] = raw
        return raw

    def _decode_xsrf_token(self, cookie: str) -> tuple[int | None, bytes | None, float | None]:
        """Decodes an encoded XSRF token (see `trinado.security.decode_xsrf_token`).

        Args:
            cookie: The encoded token.

        Returns:
            ``(version, raw token, timestamp)``, or ``(None, None, None)`` if malformed.
        """
        return security.decode_xsrf_token(cookie)

    def check_xsrf_cookie(self) -> None:
        """Checks that the request carries the XSRF token of its XSRF cookie.

        The token may come as the ``_xsrf`` argument (form field or query) or in the
        ``X-Xsrftoken`` or ``X-Csrftoken`` header. Runs before ``prepare()`` for every
        method but GET, HEAD and OPTIONS when the ``xsrf_cookies`` setting is on; override
        it (to do nothing) for handlers that must accept cross-site requests.

        Raises:
            HTTPError: 403 if the token is missing, malformed or not the cookie's.
        """
        headers = self.request.headers
        input_token = (
            self.get_argument("_xsrf", None)
            or headers.get("X-Xsrftoken")
            or headers.get("X-Csrftoken")
        )
        if not input_token:
            raise HTTPError(403, "'_xsrf' argument missing from POST")
        _, token, _ = self._decode_xsrf_token(input_token)
        _, expected_token, _ = self._get_raw_xsrf_token()
        if not token:
            raise HTTPError(403, "'_xsrf' argument has invalid format")
        if not hmac.compare_digest(token, expected_token):
            raise HTTPError(403, "XSRF cookie does not match POST argument")

    def xsrf_form_html(self) -> str:
        """Returns a hidden ``<input>`` carrying `xsrf_token`, for every POST form.

        Returns:
            ``<input type="hidden" name="_xsrf" value="..."/>``.
        """
        value = escape.xhtml_escape(self.xsrf_token)
        return f'<input type="hidden" name="_xsrf" value="{value}"/>'
