"""Pieces of the response head that are the same for many responses, computed once.

The Date header is formatted at most once a second, header names are checked against the
token grammar once per distinct name, and reason phrases are encoded once per status.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate

import h11

from .httputil import responses


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
