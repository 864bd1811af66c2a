"""What the OAuth mixins share: `AuthError`, the HTTP client hook, reading providers' answers.

Every request to a provider goes through ``handler.get_auth_http_client().fetch(...,
raise_error=False)``; the answer is then read here, so that an error status or an error
document becomes an `AuthError` carrying the provider's own message, whatever shape the
provider gives it (RFC 6749's ``error``/``error_description``, Facebook's ``{"error":
{"message": ...}}``, GitHub's ``{"message": ...}``, Twitter's ``{"errors": [...]}``, OAuth 1's
``oauth_problem``).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol, cast

from . import httpclient
from .httpclient import HTTPRequest, HTTPResponse

if TYPE_CHECKING:
    from ._request_handler import RequestHandler

# How much of a plain-text error body goes into an AuthError's message.
_MAX_TEXT_MESSAGE = 300


class AuthError(Exception):
    """Logging in through a third party failed, or a call to its API was refused.

    Raised when the callback was not the answer to a login this browser started (missing or
    wrong ``state``, missing request-token cookie), when the provider reports an error (in
    the callback's query, or in its answer to a token or API request), and when an answer
    cannot be read. Network failures are not wrapped: they raise the HTTP client's own
    exceptions (`~trinado.httpclient.HTTPTimeoutError`, `OSError`, ...).

    Args:
        message: What went wrong; contains the provider's message when it gave one.
        error: The provider's error code (``"access_denied"``, ``"bad_verification_code"``,
            ``"OAuthException"``, ...) or trinado's own (``"state_mismatch"``, ...).
        status_code: The HTTP status of the provider's answer, when one was at fault.
        response: That answer.

    Attributes:
        error: See Args.
        status_code: See Args.
        response: See Args.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        status_code: int | None = None,
        response: HTTPResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.status_code = status_code
        self.response = response


class AuthHTTPClient(Protocol):
    """What ``get_auth_http_client()`` returns: anything with an HTTP client's ``fetch``.

    `trinado.httpclient.HTTPClient` (from ``open_http_client()``) is one; so is the default,
    which opens a client for each request and closes it afterwards.
    """

    async def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> HTTPResponse:
        """Sends a request and reads the whole response.

        As `trinado.httpclient.HTTPClient.fetch` does.

        Args:
            request: A URL, or an `~trinado.httpclient.HTTPRequest`.
            raise_error: Whether a status outside 2xx raises; the mixins pass ``False``.
            **kwargs: `~trinado.httpclient.HTTPRequest` options.

        Returns:
            The response.
        """
        ...


class _OneShotClient:
    """The default auth client: `trinado.httpclient.fetch`, a new connection per request."""

    async def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> HTTPResponse:
        return await httpclient.fetch(request, raise_error=raise_error, **kwargs)


_ONE_SHOT_CLIENT = _OneShotClient()


class AuthClientMixin:
    """The base of the OAuth mixins: the HTTP client hook and the handler they sit on."""

    def get_auth_http_client(self) -> AuthHTTPClient:
        """Returns the HTTP client that requests to the provider go through.

        The default opens a connection for each request (`trinado.httpclient.fetch`).
        Override it to share a pooled client, to set timeouts or a proxy, or to point tests
        at a fake provider; here in a base class of the login handlers, with the client
        that the program opened (from ``examples/provider_logins.py``)::

            class BaseHandler(web.RequestHandler):
                def get_auth_http_client(self) -> HTTPClient:
                    client: HTTPClient = self.settings["http_client"]  # from open_http_client()
                    return client

        Returns:
            Anything with an ``async fetch(request, raise_error=True, **kwargs)``.
        """
        return _ONE_SHOT_CLIENT

    def _auth_handler(self) -> RequestHandler:
        """``self`` as the request handler these mixins are combined with."""
        return cast("RequestHandler", self)

    def _absolute_url(self, url: str) -> str:
        """``url`` resolved against the URL of the current request (absolute stays as is)."""
        return urllib.parse.urljoin(self._auth_handler().request.full_url(), url)


# --------------------------------------------------------------------------------------------
# Reading providers' answers


class _Unreadable:
    """Marks a body that is neither JSON nor a form."""


_UNREADABLE = _Unreadable()


def _content_type(response: HTTPResponse) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def parse_body(response: HTTPResponse) -> Any:
    """A provider's answer as data: JSON, or a form (``a=1&b=2``) as a dict of str.

    Args:
        response: The answer.

    Returns:
        The decoded JSON value, a dict for a form, or ``_UNREADABLE``.
    """
    body = response.body
    content_type = _content_type(response)
    if content_type != "application/x-www-form-urlencoded":
        try:
            return json.loads(body)
        except ValueError:
            if content_type.endswith("json"):
                return _UNREADABLE
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return _UNREADABLE
    if "=" not in text or any(c in text for c in "<> \n"):
        return _UNREADABLE
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return _UNREADABLE
    return dict(pairs)


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def provider_error(data: Any) -> tuple[str | None, str | None]:
    """The error code and message in a provider's error document, if it is one.

    Args:
        data: A parsed answer (see `parse_body`).

    Returns:
        ``(error, message)``; either or both ``None`` when absent.
    """
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    if isinstance(error, dict):  # Facebook's Graph API
        code = error.get("type") or error.get("code")
        return _as_text(code), _as_text(error.get("message"))
    if error:  # RFC 6749 section 5.2
        return _as_text(error), _as_text(data.get("error_description") or data.get("error_message"))
    errors = data.get("errors")
    if isinstance(errors, list) and errors:  # Twitter: [{"code": 89, "message": "..."}]
        items = [e for e in errors if isinstance(e, dict)]
        messages = [str(e["message"]) for e in items if e.get("message")]
        codes = [str(e["code"]) for e in items if e.get("code") is not None]
        return (codes[0] if codes else None), ("; ".join(messages) or None)
    problem = data.get("oauth_problem")
    if problem:  # OAuth 1's problem reporting extension
        return _as_text(problem), _as_text(data.get("oauth_problem_advice"))
    message = data.get("message")
    if isinstance(message, str) and message:  # GitHub's API
        return None, message
    return None, None


def describe(what: str, error: str | None, message: str | None) -> str:
    """``"<what>: <message> (<error>)"``, leaving out what is missing."""
    if message and error:
        return f"{what}: {message} ({error})"
    return f"{what}: {message or error or 'unknown error'}"


def error_from_response(response: HTTPResponse, what: str, data: Any = None) -> AuthError:
    """An `AuthError` for a refused request, with the provider's message when it has one.

    Args:
        response: The provider's answer.
        what: What was asked for, to start the message (``"Token request failed"``).
        data: The parsed body, when already parsed.

    Returns:
        The error, not raised.
    """
    if data is None:
        data = parse_body(response)
    error, message = provider_error(data)
    if message is None and error is None:
        message = f"HTTP {response.code} {response.reason}"
        if data is _UNREADABLE and _content_type(response) in ("text/plain", ""):
            text = response.body.decode("utf-8", "replace").strip()
            if text and len(text) <= _MAX_TEXT_MESSAGE and text.isprintable():
                message = f"HTTP {response.code}: {text}"
    return AuthError(
        describe(what, error, message),
        error=error,
        status_code=response.code,
        response=response,
    )


async def fetch_data(
    client: AuthHTTPClient,
    request: str,
    what: str,
    *,
    error_in_body: bool = False,
    **kwargs: Any,
) -> Any:
    """Sends a request to a provider and returns its answer as data.

    Args:
        client: The auth HTTP client.
        request: The URL.
        what: Starts the message of an error (``"Token request failed"``).
        error_in_body: Treat an error document as an error even with a 2xx status (token
            endpoints, GitHub's in particular, answer errors with 200).
        **kwargs: `~trinado.httpclient.HTTPRequest` options.

    Returns:
        The parsed answer (JSON value or dict of form fields); ``None`` for an empty body.

    Raises:
        AuthError: The status is not 2xx, the body is an error document (with
            ``error_in_body``), or it cannot be read.
    """
    response = await client.fetch(request, raise_error=False, **kwargs)
    if not 200 <= response.code < 300:
        raise error_from_response(response, what)
    if not response.body.strip():
        return None
    data = parse_body(response)
    if data is _UNREADABLE:
        raise AuthError(
            f"{what}: the answer is neither JSON nor a form",
            status_code=response.code,
            response=response,
        )
    if error_in_body and provider_error(data) != (None, None):
        raise error_from_response(response, what, data)
    return data
