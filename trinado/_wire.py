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

# Header names seen before, already checked against RFC 9110's token grammar: each maps to
# the name as sent and its lowercase form (h11 keeps both).
checked_names: dict[str, tuple[bytes, bytes]] = {}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_reasons: dict[int, bytes] = {}
# h11 refuses longer Content-Length values (h11._headers.CONTENT_LENGTH_MAX_DIGITS).
_MAX_LENGTH_DIGITS = 20
_DATE = (b"Date", b"date")
_CONTENT_LENGTH = (b"Content-Length", b"content-length")

#: One response header as h11 stores it: name as sent, lowercase name, value.
HeaderItem = tuple[bytes, bytes, bytes]


def check_header_name(name: str) -> tuple[bytes, bytes]:
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"Invalid header name {name!r}")
    raw = name.encode("ascii")
    names = raw, raw.lower()
    if len(checked_names) < 1000:  # a bound, should names be generated per request
        checked_names[name] = names
    return names


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
) -> tuple[list[HeaderItem], bool, bool]:
    """Response headers as h11 stores them, checked, with Date and Content-Length added.

    Names are checked against the token grammar and values for CR, LF and NUL here, and
    Content-Length and Transfer-Encoding as h11 would check them (it would refuse them only
    after changing its state), so that h11 can take the list as it is, without checking
    and copying it again.

    Args:
        headers: the headers the application set.
        status: the response status.
        length: the body's length when the whole body is known, else None.

    Returns:
        The header items ``(name, lowercase name, value)``, whether they have a
        Content-Length, and whether they have a Transfer-Encoding.

    Raises:
        ValueError: a name, value or framing header that must not be sent.
    """
    raw: list[HeaderItem] = []
    has_date = has_length = has_te = False
    names = checked_names
    for name, values in headers._as_list.items():
        pair = names.get(name)
        if pair is None:
            pair = check_header_name(name)
        raw_name, lower_name = pair
        if name == "Date":
            has_date = True
        elif name == "Content-Length":
            has_length = True
            _check_framing(name, values, "0123456789")
        elif name == "Transfer-Encoding":
            has_te = True
            _check_framing(name, values, "chunked")
        for value in values:
            if "\n" in value or "\r" in value or "\0" in value:
                raise ValueError(f"Unsafe value for header {name}: {value!r}")
            raw.append((raw_name, lower_name, value.encode("latin-1")))
    if not has_date:
        raw.append((*_DATE, date_cache.get()))
    if not has_length and length is not None and status >= 200 and status not in _NO_BODY:
        raw.append((*_CONTENT_LENGTH, b"%d" % length))
        has_length = True
    return raw, has_length, has_te


def _check_framing(name: str, values: list[str], allowed: str) -> None:
    if allowed == "chunked":
        if values != ["chunked"]:
            raise ValueError(f"Unsupported {name}: {values!r} (only 'chunked' is allowed)")
    elif (
        len(values) != 1
        or not values[0]
        or values[0].strip(allowed)
        or len(values[0]) > _MAX_LENGTH_DIGITS
    ):
        raise ValueError(f"Invalid {name}: {values!r}")
