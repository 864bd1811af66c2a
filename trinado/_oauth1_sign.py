"""OAuth 1.0 and 1.0a request signing with HMAC-SHA1 (RFC 5849, section 3.4); no I/O.

The two signature functions take the arguments of Tornado's ``_oauth_signature`` and
``_oauth10a_signature`` and give the same result on the inputs Tornado handles: 1.0a
percent-encodes the secrets in the key, 1.0 does not. Beyond Tornado, and as RFC 5849 asks,
parameter names are percent-encoded too, parameters may repeat (pass ``(name, value)``
pairs), a default port is left out of the base URL, an empty path becomes ``/`` and an
``oauth_signature`` parameter is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

_DEFAULT_PORTS = {"http": 80, "https": 443}

Parameters = Mapping[str, Any] | Iterable[tuple[str, Any]]


def percent_encode(value: str | bytes) -> str:
    """Percent-encodes UTF-8 text as RFC 5849 wants: all but letters, digits and ``-._~``.

    Args:
        value: The text (bytes are taken as they are).

    Returns:
        The encoded text.
    """
    return urllib.parse.quote(value, safe="~")


def _text(value: Any) -> str | bytes:
    return value if isinstance(value, (str, bytes)) else str(value)


def base_string_uri(url: str) -> str:
    """The URL as it enters the signature: scheme and host in lower case, no default port,
    no query or fragment.

    Args:
        url: The request's URL (its query is not read: pass those parameters separately).

    Returns:
        The base string URI, such as ``"http://example.com/r%20v/X"``.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def signature_base_string(method: str, url: str, parameters: Parameters) -> str:
    """The text that is signed: method, URL and the sorted, encoded parameters.

    Args:
        method: The HTTP method.
        url: The request's URL (see `base_string_uri`).
        parameters: Every query, form and ``oauth_*`` parameter, as a mapping or as
            ``(name, value)`` pairs; ``oauth_signature`` is left out.

    Returns:
        The signature base string.
    """
    items = parameters.items() if isinstance(parameters, Mapping) else parameters
    pairs = sorted(
        (percent_encode(_text(name)), percent_encode(_text(value)))
        for name, value in items
        if name != "oauth_signature"
    )
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join(
        percent_encode(part) for part in (method.upper(), base_string_uri(url), normalized)
    )


def _secret(token: Mapping[str, Any] | None) -> str | bytes:
    if not token:
        return ""
    return _text(token["secret"])


def _hmac_sha1(key: bytes, base_string: str) -> bytes:
    digest = hmac.new(key, base_string.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest)


def _utf8(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def oauth10_signature(
    consumer_token: Mapping[str, Any],
    method: str,
    url: str,
    parameters: Parameters = (),
    token: Mapping[str, Any] | None = None,
) -> bytes:
    """The HMAC-SHA1 signature of a request, for OAuth 1.0 (the secrets go in raw).

    Args:
        consumer_token: ``{"key": ..., "secret": ...}`` of the application.
        method: The HTTP method.
        url: The URL, without the query (see `signature_base_string`).
        parameters: All parameters of the request but ``oauth_signature``.
        token: ``{"key": ..., "secret": ...}`` of the request or access token, if any.

    Returns:
        The signature, base64 (ASCII bytes).
    """
    key = _utf8(_text(consumer_token["secret"])) + b"&" + _utf8(_secret(token))
    return _hmac_sha1(key, signature_base_string(method, url, parameters))


def oauth10a_signature(
    consumer_token: Mapping[str, Any],
    method: str,
    url: str,
    parameters: Parameters = (),
    token: Mapping[str, Any] | None = None,
) -> bytes:
    """The HMAC-SHA1 signature of a request, for OAuth 1.0a and RFC 5849.

    The key is the percent-encoded consumer secret, ``&``, the percent-encoded token
    secret (empty without a token).

    Args:
        consumer_token: ``{"key": ..., "secret": ...}`` of the application.
        method: The HTTP method.
        url: The URL, without the query (see `signature_base_string`).
        parameters: All parameters of the request but ``oauth_signature``.
        token: ``{"key": ..., "secret": ...}`` of the request or access token, if any.

    Returns:
        The signature, base64 (ASCII bytes).
    """
    key = percent_encode(_text(consumer_token["secret"])) + "&" + percent_encode(_secret(token))
    return _hmac_sha1(key.encode("ascii"), signature_base_string(method, url, parameters))
