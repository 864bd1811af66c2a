"""Reading providers' answers: bodies in JSON or form encoding, and errors in every shape."""

from __future__ import annotations

import io
from typing import Any

import pytest

from trinado._auth_common import (
    _UNREADABLE,
    AuthError,
    error_from_response,
    parse_body,
    provider_error,
)
from trinado.httpclient import HTTPRequest, HTTPResponse
from trinado.httputil import HTTPHeaders


def response(code: int, body: bytes, content_type: str | None) -> HTTPResponse:
    headers = HTTPHeaders()
    if content_type is not None:
        headers["Content-Type"] = content_type
    return HTTPResponse(
        HTTPRequest("http://provider.test/token"), code, headers=headers, buffer=io.BytesIO(body)
    )


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"access_token": "t"}', "application/json; charset=utf-8", {"access_token": "t"}),
        (b'{"access_token": "t"}', None, {"access_token": "t"}),
        # GitHub without "Accept: application/json"; old Facebook; OAuth 1 token answers.
        (
            b"access_token=t&scope=repo%2Cuser&token_type=bearer",
            "application/x-www-form-urlencoded",
            {"access_token": "t", "scope": "repo,user", "token_type": "bearer"},
        ),
        (
            b"oauth_token=k&oauth_token_secret=s\n",
            "text/html",
            {"oauth_token": "k", "oauth_token_secret": "s"},
        ),
        (b"<html><body>a=b</body></html>", "text/html", _UNREADABLE),
        (b"{not json", "application/json", _UNREADABLE),
        (b"plain words", "text/plain", _UNREADABLE),
        (b"\xff\xfe=", None, _UNREADABLE),
    ],
)
def test_parse_body(body: bytes, content_type: str | None, expected: Any) -> None:
    assert parse_body(response(200, body, content_type)) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"error": "invalid_grant", "error_description": "Bad Request"},
            ("invalid_grant", "Bad Request"),
        ),
        ({"error": "access_denied"}, ("access_denied", None)),
        (
            {"error": {"message": "Invalid token", "type": "OAuthException", "code": 190}},
            ("OAuthException", "Invalid token"),
        ),
        ({"error": {"code": 401, "message": "No credential"}}, ("401", "No credential")),
        (
            {"errors": [{"code": 89, "message": "Invalid or expired token."}, {"message": "x"}]},
            ("89", "Invalid or expired token.; x"),
        ),
        ({"oauth_problem": "signature_invalid"}, ("signature_invalid", None)),
        (
            {"message": "Bad credentials", "documentation_url": "https://docs"},
            (None, "Bad credentials"),
        ),
        ({"access_token": "t"}, (None, None)),
        ({"error": ""}, (None, None)),
        (["error"], (None, None)),
        (None, (None, None)),
    ],
)
def test_provider_error(data: Any, expected: tuple[str | None, str | None]) -> None:
    assert provider_error(data) == expected


def test_error_from_response_keeps_the_providers_message() -> None:
    answer = response(
        400, b'{"error": "invalid_grant", "error_description": "Bad"}', "application/json"
    )
    error = error_from_response(answer, "Token request failed")
    assert isinstance(error, AuthError)
    assert str(error) == "Token request failed: Bad (invalid_grant)"
    assert (error.error, error.status_code, error.response) == ("invalid_grant", 400, answer)


def test_error_from_response_without_a_message() -> None:
    short = error_from_response(response(401, b"Invalid signature\n", "text/plain"), "Failed")
    assert str(short) == "Failed: HTTP 401: Invalid signature"
    assert short.error is None
    long = error_from_response(response(401, b"x" * 400, "text/plain"), "Failed")
    assert str(long) == "Failed: HTTP 401 Unauthorized"
    page = error_from_response(response(502, b"<html>Bad gateway</html>", "text/html"), "Failed")
    assert str(page) == "Failed: HTTP 502 Bad Gateway"
