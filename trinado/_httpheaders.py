"""HTTPHeaders and header-value parsing; re-exported by :mod:`trinado.httputil`.

Kept apart from the request and body parsing so each module stays small. Import these names
from :mod:`trinado.httputil`.
"""

from __future__ import annotations

import collections.abc
import functools
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["HTTPHeaders", "HTTPInputError", "HTTPOutputError"]


class HTTPInputError(Exception):
    """A request or response from the network is malformed (the server answers 400)."""


class HTTPOutputError(Exception):
    """The application tried to send something HTTP does not allow."""


# --- grammar (RFC 9110 / 9112 / 3986), as far as we check it ------------------------------

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A byte outside field-vchar, space and tab (strings here carry bytes as latin-1 characters).
_BAD_VALUE_CHAR_RE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
# For multipart part headers, which are UTF-8 text: only control characters are refused.
_BAD_TEXT_VALUE_CHAR_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@functools.lru_cache(1000)
def _normalize_header(name: str) -> str:
    """Returns ``name`` in Http-Header-Case (``"coNtent-TYPE"`` -> ``"Content-Type"``)."""
    return "-".join([word.capitalize() for word in name.split("-")])


@functools.lru_cache(1000)
def _normalize_h11_name(name: bytes) -> str:
    return _normalize_header(name.decode("latin-1"))


class HTTPHeaders(collections.abc.MutableMapping[str, str]):
    """A case-insensitive mapping of header names to values that keeps repeated headers.

    Names are stored in ``Http-Header-Case``. Indexing returns all the values of a header
    joined by commas; :meth:`add`, :meth:`get_list` and :meth:`get_all` work with the
    separate values (needed for ``Set-Cookie``):

    >>> from trinado.httputil import HTTPHeaders
    >>> h = HTTPHeaders({"content-type": "text/html"})
    >>> h.add("Set-Cookie", "A=B")
    >>> h.add("Set-Cookie", "C=D")
    >>> h["set-cookie"]
    'A=B,C=D'
    >>> h.get_list("set-cookie")
    ['A=B', 'C=D']
    >>> list(h.get_all())
    [('Content-Type', 'text/html'), ('Set-Cookie', 'A=B'), ('Set-Cookie', 'C=D')]

    It accepts what :class:`dict` accepts: a mapping, ``(name, value)`` pairs, keyword
    arguments, or another :class:`HTTPHeaders` (copied with all its values). Assigning with
    ``h[name] = value`` replaces every value and does not validate; :meth:`add` and the
    parsers validate names and values.
    """

    def __init__(
        self,
        arg: Mapping[str, str] | Mapping[str, list[str]] | Iterable[tuple[str, str]] | None = None,
        /,
        **kwargs: str,
    ) -> None:
        # Every value of each header, in arrival order; names already normalized.
        self._as_list: dict[str, list[str]] = {}
        # Comma-joined values, filled lazily and dropped whenever a header changes.
        self._combined_cache: dict[str, str] = {}
        if isinstance(arg, HTTPHeaders) and not kwargs:
            self._as_list = {name: list(values) for name, values in arg._as_list.items()}
            self._combined_cache = dict(arg._combined_cache)
            return
        if isinstance(arg, Mapping):
            for name, value in arg.items():
                if isinstance(value, list):
                    # A list gives the header several values (Tornado's type hints allow it).
                    self._set_values(name, [str(v) for v in value])
                else:
                    self[name] = value
        elif arg is not None:
            # Like dict(): each pair replaces what an earlier pair with that name set.
            for name, value in arg:
                self[name] = value
        for name, value in kwargs.items():
            self[name] = value

    def _set_values(self, name: str, values: list[str]) -> None:
        norm_name = _normalize_header(name)
        self._combined_cache.pop(norm_name, None)
        self._as_list[norm_name] = values

    @classmethod
    def _from_h11(cls, raw: Iterable[tuple[bytes, bytes]]) -> HTTPHeaders:
        """Builds headers from h11's list of ``(name, value)`` byte pairs, without validation.

        h11 has already checked the syntax; names arrive lowercase and values are decoded
        as latin-1, as HTTP requires.
        """
        self = cls.__new__(cls)
        as_list: dict[str, list[str]] = {}
        combined: dict[str, str] = {}
        normalize = _normalize_h11_name
        for raw_name, raw_value in raw:
            name = normalize(raw_name)
            value = raw_value.decode("latin-1")
            values = as_list.get(name)
            if values is None:
                as_list[name] = [value]
                combined[name] = value
            else:
                values.append(value)
                combined.pop(name, None)
        self._as_list = as_list
        self._combined_cache = combined
        return self

    # --- Tornado's multi-value API ---

    def add(self, name: str, value: str, *, _chars_are_bytes: bool = True) -> None:
        """Adds one more value for ``name``, keeping the ones already there.

        Args:
            name: the header name (any case); it must be an HTTP token.
            value: the value. It may not contain control characters other than tab, nor
                start or end with whitespace, nor hold characters beyond latin-1.
            _chars_are_bytes: private; false checks ``value`` as UTF-8 text (for multipart
                part headers), refusing only control characters.

        Raises:
            HTTPInputError: ``name`` or ``value`` is not allowed in a header.
        """
        if not _TOKEN_RE.fullmatch(name):
            raise HTTPInputError(f"Invalid header name {name!r}")
        if _chars_are_bytes:
            if value and (
                _BAD_VALUE_CHAR_RE.search(value) is not None
                or value[0] in " \t"
                or value[-1] in " \t"
            ):
                raise HTTPInputError(f"Invalid header value {value!r}")
        elif _BAD_TEXT_VALUE_CHAR_RE.search(value) is not None:
            raise HTTPInputError(f"Invalid header value {value!r}")
        norm_name = _normalize_header(name)
        values = self._as_list.get(norm_name)
        if values is None:
            self._as_list[norm_name] = [value]
            self._combined_cache[norm_name] = value
        else:
            values.append(value)
            self._combined_cache.pop(norm_name, None)

    def get_list(self, name: str) -> list[str]:
        """Returns every value of a header, in order.

        Args:
            name: the header name, in any case.

        Returns:
            The values (the stored list itself); an empty list if the header is absent.
        """
        return self._as_list.get(_normalize_header(name), [])

    def get_all(self) -> Iterator[tuple[str, str]]:
        """Yields every ``(name, value)`` pair; a repeated header yields one pair per value.

        Returns:
            An iterator of pairs, names in Http-Header-Case.
        """
        for name, values in self._as_list.items():
            for value in values:
                yield name, value

    def parse_line(self, line: str, *, _chars_are_bytes: bool = True) -> None:
        """Adds the header on one ``Name: value`` line.

        A trailing CRLF (or bare LF) is ignored, and so is an empty line.

        Args:
            line: the header line.
            _chars_are_bytes: private; see :meth:`add`.

        Raises:
            HTTPInputError: the line is malformed. Folded continuation lines (starting with
                whitespace) are refused, as in Tornado 6.6.
        """
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        self._add_line(line, _chars_are_bytes)

    def _add_line(self, line: str, chars_are_bytes: bool) -> None:
        """Adds the header on one line whose terminator has been removed."""
        if not line:
            return
        if line[0] in " \t":
            raise HTTPInputError("header line cannot start with whitespace, folding not supported")
        name, colon, value = line.partition(":")
        if not colon:
            raise HTTPInputError("no colon in header line")
        self.add(name, value.strip(" \t"), _chars_are_bytes=chars_are_bytes)

    @classmethod
    def parse(cls, headers: str, *, _chars_are_bytes: bool = True) -> HTTPHeaders:
        """Parses a block of header lines, separated by CRLF (or a bare LF).

        Args:
            headers: the header block, bytes decoded as latin-1.
            _chars_are_bytes: private; see :meth:`add`.

        Returns:
            The parsed headers.

        Raises:
            HTTPInputError: a line is malformed, a name or value holds forbidden characters
                (including a bare CR), or a line is folded.
        """
        result = cls()
        lines = headers.split("\n")
        last = lines.pop()  # the text after the final LF (usually empty) keeps any CR
        for line in lines:
            result._add_line(line[:-1] if line.endswith("\r") else line, _chars_are_bytes)
        result._add_line(last, _chars_are_bytes)
        return result

    # --- MutableMapping ---

    def __setitem__(self, name: str, value: str) -> None:
        norm_name = _normalize_header(name)
        self._as_list[norm_name] = [value]
        self._combined_cache[norm_name] = value

    def __getitem__(self, name: str) -> str:
        norm_name = _normalize_header(name)
        try:
            return self._combined_cache[norm_name]
        except KeyError:
            joined = ",".join(self._as_list[norm_name])
            self._combined_cache[norm_name] = joined
            return joined

    def __delitem__(self, name: str) -> None:
        norm_name = _normalize_header(name)
        del self._as_list[norm_name]
        self._combined_cache.pop(norm_name, None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _normalize_header(name) in self._as_list

    def __len__(self) -> int:
        return len(self._as_list)

    def __iter__(self) -> Iterator[str]:
        return iter(self._as_list)

    def copy(self) -> HTTPHeaders:
        """Returns a copy whose value lists are independent of this one's.

        Returns:
            The new :class:`HTTPHeaders`.
        """
        return HTTPHeaders(self)

    __copy__ = copy

    def __str__(self) -> str:
        return "".join([f"{name}: {value}\n" for name, value in self.get_all()])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.get_all())!r})"


# --- header parameters (Content-Type, Content-Disposition, WebSocket extensions) ------------

_PARAM_SPECIALS_RE = re.compile(r'[;"\\]')
_QUOTED_PAIR_RE = re.compile(r'\\([\\"])')
_RFC2231_NAME_RE = re.compile(r"(\w+)\*(?:([0-9]+)\*?)?", re.ASCII)


def _split_params(line: str) -> list[str]:
    """Splits ``line`` at the semicolons that are not inside a quoted string (linear time)."""
    pieces = []
    start = 0
    in_quotes = False
    escaped_at = -1
    for match in _PARAM_SPECIALS_RE.finditer(line):
        pos = match.start()
        if pos == escaped_at:
            continue
        char = line[pos]
        if char == "\\":
            if in_quotes:
                escaped_at = pos + 1
        elif char == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            pieces.append(line[start:pos])
            start = pos + 1
    pieces.append(line[start:])
    return pieces


def _unquote_param(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return _QUOTED_PAIR_RE.sub(r"\1", value[1:-1])
    return value


def _join_rfc2231(pieces: list[tuple[int, str, bool]]) -> str:
    """Joins RFC 2231 continuations and decodes ``charset'language'%XX`` values."""
    pieces.sort(key=lambda piece: piece[0])
    extended = False
    texts = []
    for _, text, encoded in pieces:
        if encoded:
            extended = True
            text = urllib.parse.unquote(text, encoding="latin-1")
        texts.append(text)
    joined = "".join(texts)
    if not extended:
        return joined
    fields = joined.split("'", 2)
    if len(fields) < 3:
        charset, payload = "us-ascii", joined
    else:
        charset, _, payload = fields
    try:
        return payload.encode("raw-unicode-escape").decode(charset, "replace")
    except (LookupError, UnicodeError):
        return payload


def _parse_header(line: str) -> tuple[str, dict[str, str]]:
    r"""Parses a header with parameters, such as Content-Type or Content-Disposition.

    Parameter names are lowercased; quoted values are unquoted (``\"`` and ``\\`` escapes
    undone); RFC 2231 values (``name*=utf-8''T%C3%A4st``, continuations ``name*0``...) are
    decoded and win over the plain parameter of the same name. Parameters without ``=``
    are dropped.

    Args:
        line: the header value.

    Returns:
        The main value (as written) and a dict of the parameters.
    """
    pieces = _split_params(line)
    key = pieces[0].strip()
    params: dict[str, str] = {}
    extended: dict[str, list[tuple[int, str, bool]]] = {}
    for piece in pieces[1:]:
        name, eq, value = piece.strip().partition("=")
        if not eq:
            continue
        name = name.strip().lower()
        value = _unquote_param(value.strip())
        match = _RFC2231_NAME_RE.fullmatch(name)
        if match is None:
            params[name] = _unquote_param(value)
        else:
            number = int(match.group(2)) if match.group(2) else 0
            extended.setdefault(match.group(1), []).append((number, value, name.endswith("*")))
    for name, continuations in extended.items():
        params[name] = _join_rfc2231(continuations)
    return key, params


def _encode_header(key: str, pdict: Mapping[str, object]) -> str:
    """Builds a header value from a main value and parameters: the inverse of _parse_header.

    Parameters are sorted by name; one whose value is ``None`` is written bare.
    """
    out = [key]
    for name, value in sorted(pdict.items()):
        out.append(name if value is None else f"{name}={value}")
    return "; ".join(out)


# Public under trinado.httputil: report (and pickle) them by that name.
for _cls in (HTTPInputError, HTTPOutputError, HTTPHeaders):
    _cls.__module__ = "trinado.httputil"
del _cls
