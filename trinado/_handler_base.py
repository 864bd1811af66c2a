"""What every handler has, whatever it answers with: request, settings, arguments, cookies, user.

`RequestHandler` (plain HTTP responses) and the WebSocket handler both derive from
`HandlerBase`, so neither has to inherit the other and switch methods off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from http.cookies import Morsel
from typing import TYPE_CHECKING, Any, overload

from ._errors import HTTPError, MissingArgumentError
from ._security_mixin import SecurityMixin

if TYPE_CHECKING:
    from ._application import Application
    from .httputil import HTTPServerRequest
    from .locale import Locale

__all__ = ["HandlerBase"]


class _ArgDefaultMarker:
    """The type of the "no default given" marker of ``get_argument``."""


_ARG_DEFAULT = _ArgDefaultMarker()

# Control characters other than tab, newline and carriage return (\x09-\x0d), as Tornado.
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0e-\x1f]")

_NO_USER = object()


class HandlerBase(SecurityMixin):
    """The part of a handler that reads the request; subclasses decide how to answer.

    Applications create handlers, one per request; do not create them yourself, and
    override `initialize` rather than ``__init__``.

    Args:
        application: The application serving the request.
        request: The request.
        **kwargs: The route's keyword arguments, passed to `initialize`.

    Attributes:
        application: The application serving the request.
        request: The request being served.
        path_args: The unnamed groups of the path pattern, decoded with `decode_argument`
            (set just before ``prepare`` runs).
        path_kwargs: The named groups of the path pattern, decoded the same way.
    """

    path_args: list[Any]
    path_kwargs: dict[str, Any]

    def __init__(self, application: Application, request: HTTPServerRequest, **kwargs: Any) -> None:
        self.application = application
        self.request = request
        self.path_args = []
        self.path_kwargs = {}
        self._current_user: Any = _NO_USER
        self._setup()
        self.initialize(**kwargs)

    def _setup(self) -> None:
        """Prepares the handler's own state before `initialize` runs; subclasses extend it."""

    def _initialize(self) -> None:
        pass

    initialize: Callable[..., None] = _initialize
    """Hook for per-request set-up; receives the route's keyword arguments.

    The dict given as the third item of a route (``(r"/user/(.*)", UserHandler,
    dict(database=db))``) arrives as keyword arguments; override with the parameters you
    expect (``def initialize(self, database): ...``). The default takes none.
    """

    @property
    def settings(self) -> dict[str, Any]:
        """The application's settings (``self.application.settings``)."""
        return self.application.settings

    async def _execute(
        self,
        path_args: Sequence[bytes | None],
        path_kwargs: Mapping[str, bytes | None],
    ) -> None:
        """Runs the request through this handler; each kind of handler defines it.

        Args:
            path_args: The unnamed path groups, percent-decoded bytes.
            path_kwargs: The named path groups, percent-decoded bytes.

        Raises:
            NotImplementedError: Always, in this base class.
        """
        raise NotImplementedError

    # ----------------------------------------------------------------------------------
    # Arguments

    @overload
    def get_argument(self, name: str, default: str, strip: bool = True) -> str: ...

    @overload
    def get_argument(
        self, name: str, default: _ArgDefaultMarker = _ARG_DEFAULT, strip: bool = True
    ) -> str: ...

    @overload
    def get_argument(self, name: str, default: None, strip: bool = True) -> str | None: ...

    def get_argument(
        self,
        name: str,
        default: str | _ArgDefaultMarker | None = _ARG_DEFAULT,
        strip: bool = True,
    ) -> str | None:
        """Returns the last value of an argument from the query string or the body.

        Args:
            name: The argument's name.
            default: What to return when the argument is absent. Without it the argument
                is required.
            strip: Whether to strip surrounding whitespace from the value.

        Returns:
            The decoded value of the last occurrence, or ``default``.

        Raises:
            MissingArgumentError: If the argument is absent and no default was given.
            HTTPError: 400 if the value is not valid UTF-8 (see `decode_argument`).
        """
        return self._get_argument(name, default, self.request.arguments, strip)

    def get_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Returns all values of an argument from the query string and the body.

        Args:
            name: The argument's name.
            strip: Whether to strip surrounding whitespace from each value.

        Returns:
            The decoded values, query values first; empty when there are none.

        Raises:
            TypeError: If ``strip`` is not a bool (a default given by mistake).
            HTTPError: 400 if a value is not valid UTF-8.
        """
        if not isinstance(strip, bool):
            raise TypeError("get_arguments() takes no default; strip must be a bool")
        return self._get_arguments(name, self.request.arguments, strip)

    @overload
    def get_body_argument(self, name: str, default: str, strip: bool = True) -> str: ...

    @overload
    def get_body_argument(
        self, name: str, default: _ArgDefaultMarker = _ARG_DEFAULT, strip: bool = True
    ) -> str: ...

    @overload
    def get_body_argument(self, name: str, default: None, strip: bool = True) -> str | None: ...

    def get_body_argument(
        self,
        name: str,
        default: str | _ArgDefaultMarker | None = _ARG_DEFAULT,
        strip: bool = True,
    ) -> str | None:
        """Returns the last value of an argument from the request body.

        Args:
            name: The argument's name.
            default: What to return when the argument is absent. Without it the argument
                is required.
            strip: Whether to strip surrounding whitespace from the value.

        Returns:
            The decoded value of the last occurrence, or ``default``.

        Raises:
            MissingArgumentError: If the argument is absent and no default was given.
            HTTPError: 400 if the value is not valid UTF-8.
        """
        return self._get_argument(name, default, self.request.body_arguments, strip)

    def get_body_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Returns all values of an argument from the request body.

        Args:
            name: The argument's name.
            strip: Whether to strip surrounding whitespace from each value.

        Returns:
            The decoded values; empty when there are none.

        Raises:
            HTTPError: 400 if a value is not valid UTF-8.
        """
        return self._get_arguments(name, self.request.body_arguments, strip)

    @overload
    def get_query_argument(self, name: str, default: str, strip: bool = True) -> str: ...

    @overload
    def get_query_argument(
        self, name: str, default: _ArgDefaultMarker = _ARG_DEFAULT, strip: bool = True
    ) -> str: ...

    @overload
    def get_query_argument(self, name: str, default: None, strip: bool = True) -> str | None: ...

    def get_query_argument(
        self,
        name: str,
        default: str | _ArgDefaultMarker | None = _ARG_DEFAULT,
        strip: bool = True,
    ) -> str | None:
        """Returns the last value of an argument from the query string.

        Args:
            name: The argument's name.
            default: What to return when the argument is absent. Without it the argument
                is required.
            strip: Whether to strip surrounding whitespace from the value.

        Returns:
            The decoded value of the last occurrence, or ``default``.

        Raises:
            MissingArgumentError: If the argument is absent and no default was given.
            HTTPError: 400 if the value is not valid UTF-8.
        """
        return self._get_argument(name, default, self.request.query_arguments, strip)

    def get_query_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Returns all values of an argument from the query string.

        Args:
            name: The argument's name.
            strip: Whether to strip surrounding whitespace from each value.

        Returns:
            The decoded values; empty when there are none.

        Raises:
            HTTPError: 400 if a value is not valid UTF-8.
        """
        return self._get_arguments(name, self.request.query_arguments, strip)

    def _get_argument(
        self,
        name: str,
        default: str | _ArgDefaultMarker | None,
        source: Mapping[str, list[bytes]],
        strip: bool,
    ) -> str | None:
        values = self._get_arguments(name, source, strip)
        if not values:
            if isinstance(default, _ArgDefaultMarker):
                raise MissingArgumentError(name)
            return default
        return values[-1]

    def _get_arguments(
        self, name: str, source: Mapping[str, list[bytes]], strip: bool
    ) -> list[str]:
        values: list[str] = []
        for raw in source.get(name, ()):
            value = self.decode_argument(raw, name=name)
            if isinstance(value, str):
                # Control characters become spaces; a decode_argument override that returns
                # something else than str is left alone.
                value = _CONTROL_CHARS_RE.sub(" ", value)
                if strip:
                    value = value.strip()
            values.append(value)
        return values

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Decodes an argument (query, body or path) from percent-decoded bytes.

        Override it to use another encoding, or to keep bytes.

        Args:
            value: The percent-decoded bytes.
            name: The argument's name, or ``None`` for an unnamed path group.

        Returns:
            The value decoded as UTF-8.

        Raises:
            HTTPError: 400 if the bytes are not valid UTF-8.
        """
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(
                400, "Invalid unicode in {}: {!r}".format(name or "url", value[:40])
            ) from None

    def _decode_path_arguments(
        self,
        path_args: Sequence[bytes | None],
        path_kwargs: Mapping[str, bytes | None],
    ) -> None:
        """Sets `path_args` and `path_kwargs` from the route's raw groups."""
        decode = self.decode_argument
        if path_args:
            self.path_args = [None if arg is None else decode(arg) for arg in path_args]
        if path_kwargs:
            self.path_kwargs = {
                key: None if value is None else decode(value, name=key)
                for key, value in path_kwargs.items()
            }

    # ----------------------------------------------------------------------------------
    # Cookies

    @property
    def cookies(self) -> dict[str, Morsel[str]]:
        """The request's cookies (``self.request.cookies``), by name."""
        return self.request.cookies

    @overload
    def get_cookie(self, name: str, default: str) -> str: ...

    @overload
    def get_cookie(self, name: str, default: None = None) -> str | None: ...

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        """Returns the value of a cookie the request carries.

        Cookies set during this request (with ``set_cookie``) are not seen here.

        Args:
            name: The cookie's name.
            default: What to return when the request has no such cookie.

        Returns:
            The cookie's value, or ``default``.
        """
        morsel = self.request.cookies.get(name)
        if morsel is None:
            return default
        return morsel.value

    # ----------------------------------------------------------------------------------
    # Users and settings

    @property
    def current_user(self) -> Any:
        """The authenticated user of this request, whatever object the application uses.

        Read first, it calls `get_current_user` (once; the answer is kept). It can also be
        set, typically from an ``async def prepare()`` that loads the user from a database.
        """
        user = self._current_user
        if user is _NO_USER:
            user = self._current_user = self.get_current_user()
        return user

    @current_user.setter
    def current_user(self, value: Any) -> None:
        self._current_user = value

    def get_current_user(self) -> Any:
        """Override to find the user of this request, for example from a cookie.

        It may not be a coroutine: load users asynchronously in ``prepare`` and set
        `current_user` there instead.

        Returns:
            The user, or ``None`` (the default) for nobody.
        """
        return None

    def get_login_url(self) -> str:
        """Returns the URL of the login page; override to choose it per request.

        Returns:
            The ``login_url`` application setting.

        Raises:
            Exception: If the ``login_url`` setting is not defined.
        """
        self.require_setting("login_url", "@trinado.web.authenticated")
        login_url: str = self.application.settings["login_url"]
        return login_url

    def require_setting(self, name: str, feature: str = "this feature") -> None:
        """Checks that an application setting is defined (and true).

        Args:
            name: The setting's name.
            feature: What needs it, for the error message.

        Raises:
            Exception: If the setting is absent or false, as in Tornado.
        """
        if not self.application.settings.get(name):
            raise Exception(
                f"You must define the '{name}' setting in your application to use {feature}"
            )

    def reverse_url(self, name: str, *args: Any) -> str:
        """Builds the URL of a named route (`trinado.web.Application.reverse_url`).

        Args:
            name: The route's name.
            *args: Values for the route's groups.

        Returns:
            The URL path.

        Raises:
            KeyError: If no route has that name.
        """
        return self.application.reverse_url(name, *args)

    # ----------------------------------------------------------------------------------
    # Locale

    _locale: Locale

    @property
    def locale(self) -> Locale:
        """The locale of this request (a `trinado.locale.Locale`), found on first use.

        It is what `get_user_locale` returns, or if that is ``None``, what
        `get_browser_locale` finds in the ``Accept-Language`` header. It can also be set.
        """
        try:
            return self._locale
        except AttributeError:
            pass
        found = self.get_user_locale()
        if found is None:
            found = self.get_browser_locale()
        self._locale = found
        return found

    @locale.setter
    def locale(self, value: Locale) -> None:
        self._locale = value

    def get_user_locale(self) -> Locale | None:
        """Override to choose the locale from the user, for example a saved preference.

        Returns:
            A locale (such as ``trinado.locale.get("fr_FR")``), or ``None`` (the default)
            to use `get_browser_locale`.
        """
        return None

    def get_browser_locale(self, default: str = "en_US") -> Locale:
        """Picks the supported locale that best fits the ``Accept-Language`` header.

        Languages are tried by decreasing quality (``q=``; 1 when absent, those with 0 or
        an invalid value are left out), each matched with `trinado.locale.get`.

        Args:
            default: The locale code to use when the request has no such header or no
                language in it with a positive quality.

        Returns:
            The closest supported locale (the default locale if none fits).
        """
        from .locale import get as get_locale

        header = self.request.headers.get("Accept-Language")
        if header is not None:
            weighted: list[tuple[str, float]] = []
            for language in header.split(","):
                parts = language.strip().split(";")
                score = 1.0
                if len(parts) > 1 and parts[1].strip().startswith("q="):
                    try:
                        score = float(parts[1].strip()[2:])
                    except ValueError:
                        score = 0.0
                    if score < 0:
                        score = 0.0
                if score > 0:
                    weighted.append((parts[0], score))
            if weighted:
                weighted.sort(key=lambda pair: pair[1], reverse=True)
                return get_locale(*(code for code, _ in weighted))
        return get_locale(default)
