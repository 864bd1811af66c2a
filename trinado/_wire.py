"""Pieces of the response head that are the same for many responses, computed once.

The Date header is formatted at most once a second, header names are checked against the
token grammar once per distinct name, and reason phrases are encoded once per status.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate

import h11

from .httputil import HTTPHeaders, responses

_NO_BODY = frozenset({204, 304})


class _DateCache:
    """The Date header value, formatted at most once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


date_cache = _DateCache()

# Header names seen before, already checked against RFC 9110's token grammar.
checked_names: dict[str, bytes] = {}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_reasons: dict[int, bytes] = {}


def check_header_name(name: str) -> bytes:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"Invalid header name {name!r}")
    raw = name.encode("ascii")
    if len(checked_names) < 1000:  # a bound, should names be generated per request
        checked_names[name] = raw
    return raw


def reason_bytes(status: int, reason: str | None) -> bytes:
    if reason:
        if "\n" in reason or "\r" in reason:
            raise ValueError(f"Unsafe reason phrase {reason!r}")
        return reason.encode("latin-1")
    cached = _reasons.get(status)
    if cached is None:
        cached = _reasons[status] = responses.get(status, "Unknown").encode("ascii")
    return cached


def head_size(event: h11.Request) -> int:
    size = len(event.method) + len(event.target) + 12
    for name, value in event.headers:
        size += len(name) + len(value) + 4
    return size


def encode_headers(
    headers: HTTPHeaders, status: int, length: int | None
) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Response headers as h11 takes them, checked, with Date and Content-Length added.

    Names are checked against the token grammar and values for CR, LF and NUL here, so
    that h11 can be spared its own (slower) checks; Content-Length and Transfer-Encoding
    are checked too, since h11 would refuse them only after changing its state.

    Args:
        headers: the headers the application set.
        status: the response status.
        length: the body's length when the whole body is known, else None.

    Returns:
        The header list and whether it has a Content-Length.

    Raises:
        ValueError: a name, value or framing header that must not be sent.
    """
    raw = []
    has_date = has_length = False
    names = checked_names
    for name, values in headers._as_list.items():
        raw_name = names.get(name)
        if raw_name is None:
            raw_name = check_header_name(name)
        if name == "Date":
            has_date = True
        elif name == "Content-Length":
            has_length = True
            _check_framing(name, values, "0123456789")
        elif name == "Transfer-Encoding":
            _check_framing(name, values, "chunked")
        for value in values:
            if "\n" in value or "\r" in value or "\0" in value:
                raise ValueError(f"Unsafe value for header {name}: {value!r}")
            raw.append((raw_name, value.encode("latin-1")))
    if not has_date:
        raw.append((b"Date", date_cache.get()))
    if not has_length and length is not None and status >= 200 and status not in _NO_BODY:
        raw.append((b"Content-Length", b"%d" % length))
        has_length = True
    return raw, has_length


def _check_framing(name: str, values: list[str], allowed: str) -> None:
    if allowed == "chunked":
        if values != ["chunked"]:
            raise ValueError(f"Unsupported {name}: {values!r} (only 'chunked' is allowed)")
    elif len(values) != 1 or not values[0] or values[0].strip(allowed):
        raise ValueError(f"Invalid {name}: {values!r}")
