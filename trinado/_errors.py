"""Exceptions that handlers raise to end a request: `HTTPError`, `Finish`, `MissingArgumentError`.

They behave as Tornado's ``tornado.web`` exceptions do, so code that raises or catches them
ports unchanged.
"""

from __future__ import annotations

from http.client import responses
from typing import Any

__all__ = ["Finish", "HTTPError", "MissingArgumentError"]


class HTTPError(Exception):
    """An exception that becomes an HTTP error response.

    Raising it is a shorter way of calling `RequestHandler.send_error` and returning. The
    page sent is made by `RequestHandler.write_error`, which can be overridden.

    Args:
        status_code: The HTTP status code of the response.
        log_message: A message for the log (shown to the client only when
            ``serve_traceback`` is on). It may hold ``%s``-style placeholders, filled from
            ``args``.
        *args: Values for the placeholders of ``log_message``.
        reason: The reason phrase of the status line, for a status code without a standard
            one. This is not a general error message.

    Attributes:
        status_code: The HTTP status code.
        reason: The reason phrase given, or ``None``.
        args: The placeholder values.
    """

    def __init__(
        self,
        status_code: int = 500,
        log_message: str | None = None,
        *args: Any,
        reason: str | None = None,
    ) -> None:
        super().__init__()
        self.status_code = status_code
        self._log_message = log_message
        self.args = args
        self.reason = reason

    @property
    def log_message(self) -> str | None:
        """The log message, with ``%`` doubled when there are no placeholder values.

        This matches Tornado, whose callers pass it to a ``%``-formatting logger.
        """
        if self._log_message and not self.args:
            return self._log_message.replace("%", "%%")
        return self._log_message

    def get_message(self) -> str | None:
        """Returns the log message with its placeholders filled in.

        Returns:
            The message, or ``None`` when there is none.
        """
        if self._log_message and self.args:
            return self._log_message % self.args
        return self._log_message

    def __str__(self) -> str:
        message = f"HTTP {self.status_code}: " + (
            self.reason or responses.get(self.status_code, "Unknown")
        )
        log_message = self.get_message()
        if log_message:
            return f"{message} ({log_message})"
        return message


class Finish(Exception):
    """Ends the request without an error response.

    The handler's ``finish()`` is called (with this exception's first argument, if any)
    unless it already was; ``write_error`` is not. For example, in the ``prepare()`` of a
    handler that asks for HTTP Basic credentials (``examples/basic_auth.py``)::

        if self.current_user is None:
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="example", charset="UTF-8"')
            raise web.Finish("Who are you?")  # ends the request here: get() never runs
    """


class MissingArgumentError(HTTPError):
    """Raised by ``get_argument`` and friends when a required argument is absent.

    It is an `HTTPError` with status 400, so an uncaught one answers "400 Bad Request"
    without logging a traceback.

    Args:
        arg_name: The name of the missing argument.

    Attributes:
        arg_name: The name of the missing argument.
    """

    def __init__(self, arg_name: str) -> None:
        super().__init__(400, f"Missing argument {arg_name}")
        self.arg_name = arg_name
