"""Tests for trinado.escape: HTML, JSON and URL escaping, conversions and linkify."""

from __future__ import annotations

import json
import random
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from trinado import escape
from trinado.escape import (
    json_decode,
    json_encode,
    linkify,
    native_str,
    parse_qs_bytes,
    recursive_unicode,
    squeeze,
    to_basestring,
    to_unicode,
    url_escape,
    url_unescape,
    utf8,
    xhtml_escape,
    xhtml_unescape,
)

tornado_escape = pytest.importorskip("tornado.escape")


# --- conversions ----------------------------------------------------------------------------


def test_utf8() -> None:
    assert utf8("é") == b"\xc3\xa9"
    raw = b"\xff"
    assert utf8(raw) is raw
    assert utf8(None) is None
    with pytest.raises(TypeError, match="Expected bytes"):
        utf8(42)  # type: ignore[call-overload]


def test_to_unicode_and_aliases() -> None:
    assert to_unicode(b"\xc3\xa9") == "é"
    text = "x"
    assert to_unicode(text) is text
    assert to_unicode(None) is None
    assert native_str is to_unicode
    assert to_basestring is to_unicode
    with pytest.raises(TypeError):
        to_unicode(3.5)  # type: ignore[call-overload]
    with pytest.raises(UnicodeDecodeError):
        to_unicode(b"\xff")


def test_recursive_unicode() -> None:
    data = {b"k": [b"a", (b"b", 1)], "s": None}
    assert recursive_unicode(data) == {"k": ["a", ("b", 1)], "s": None}
    assert isinstance(recursive_unicode([b"x"]), list)
    assert isinstance(recursive_unicode((b"x",)), tuple)
    assert recursive_unicode(b"\xc3\xa9") == "é"


# --- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<foo>", "&lt;foo&gt;"),
        (b"<foo>", "&lt;foo&gt;"),
        ("<>&\"'", "&lt;&gt;&amp;&quot;&#x27;"),
        ("&amp;", "&amp;amp;"),
        ("<\u00e9>", "&lt;\u00e9&gt;"),
        (b"<\xc3\xa9>", "&lt;\u00e9&gt;"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_xhtml_escape(raw: str | bytes, escaped: str) -> None:
    assert xhtml_escape(raw) == escaped
    assert type(xhtml_escape(raw)) is str
    assert xhtml_unescape(escaped) == to_unicode(raw)


def test_xhtml_escape_matches_tornado() -> None:
    rnd = random.Random(7)
    alphabet = "<>&\"'ab é\u2028"
    for _ in range(200):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(12)))
        assert xhtml_escape(text) == tornado_escape.xhtml_escape(text)


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        ("foo&#32;bar", "foo bar"),
        ("foo&#x20;bar", "foo bar"),
        ("foo&#X20;bar", "foo bar"),
        ("foo&#xabc;bar", "foo\u0abcbar"),
        ("foo&#xyz;bar", "foo&#xyz;bar"),
        ("foo&#;bar", "foo&#;bar"),
        ("&eacute;&nbsp;", "é\xa0"),
        (b"&lt;b&gt;", "<b>"),
    ],
)
def test_xhtml_unescape(escaped: str | bytes, raw: str) -> None:
    assert xhtml_unescape(escaped) == raw


# --- JSON -----------------------------------------------------------------------------------


def test_json_encode_escapes_closing_tags() -> None:
    encoded = json_encode({"html": "</script><script>alert(1)</script>"})
    assert "</" not in encoded
    assert "<\\/script>" in encoded
    assert json.loads(encoded) == {"html": "</script><script>alert(1)</script>"}
    value = ["</b>", 1, None, "é"]
    assert json_encode(value) == tornado_escape.json_encode(value)


def test_json_encode_rejects_bytes() -> None:
    with pytest.raises(TypeError):
        json_encode(b"abc")


def test_json_decode() -> None:
    assert json_decode(b'"foo"') == "foo"
    assert json_decode('"foo"') == "foo"
    assert json_decode(utf8('"\u00e9"')) == "\u00e9"
    with pytest.raises(json.JSONDecodeError):
        json_decode("{")


def test_squeeze() -> None:
    assert squeeze("sequences     of    whitespace   chars") == "sequences of whitespace chars"
    assert squeeze("  \t a\r\n\x00b  ") == "a b"
    assert squeeze("a\u00a0b") == "a\u00a0b"


# --- URLs -----------------------------------------------------------------------------------


def test_url_escape() -> None:
    assert url_escape("+ #%/") == "%2B+%23%25%2F"
    assert url_escape("+ #%/", plus=False) == "%2B%20%23%25/"
    assert url_escape("\u00e9") == "%C3%A9"
    assert url_escape("\u00e9".encode("latin-1")) == "%E9"


def test_url_unescape() -> None:
    assert url_unescape("%2B+%23%25") == "+ #%"
    assert url_unescape("%2B%20%23%25", plus=False) == "+ #%"
    assert url_unescape("a+b", plus=False) == "a+b"
    assert url_unescape("%2B+%23%25", encoding=None) == b"+ #%"
    assert url_unescape(b"a+%C3%A9", encoding=None, plus=False) == b"a+\xc3\xa9"
    assert url_unescape(b"%C3%A9") == "\u00e9"
    assert url_unescape("%C3%A9", "latin1") == "\u00c3\u00a9"
    assert url_unescape("%E9", encoding=None) == b"\xe9"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a=b",
        b"%41%3d%3D%25",
        b"%%41",
        b"%%%",
        b"%zz%4",
        b"%",
        b"a%",
        b"%\r\nb",
        b"=%41=",
        b"%aF%Af%e9",
        bytes(range(256)),
    ],
)
def test_unquote_to_bytes_matches_stdlib(data: bytes) -> None:
    assert escape._unquote_to_bytes(data) == urllib.parse.unquote_to_bytes(data)


def test_unquote_to_bytes_chunk_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Large inputs are decoded in chunks; no cut may fall inside an escape.
    monkeypatch.setattr(escape, "_UNQUOTE_CHUNK", 5)
    rnd = random.Random(3)
    for _ in range(500):
        data = bytes(rnd.choice(b"%%4a1Fz") for _ in range(rnd.randrange(40)))
        assert escape._unquote_to_bytes(data) == urllib.parse.unquote_to_bytes(data)


def test_parse_qs_bytes() -> None:
    assert parse_qs_bytes(b"a=1&b=%41+%2B&a=2&&c&d=", keep_blank_values=True) == {
        "a": [b"1", b"2"],
        "b": [b"A +"],
        "c": [b""],
        "d": [b""],
    }
    assert parse_qs_bytes(b"c&d=") == {}
    # Names are latin-1 text, values raw bytes.
    assert parse_qs_bytes("%E9=%E9") == {"\xe9": [b"\xe9"]}
    assert parse_qs_bytes("%C3%A9=x") == {"\xc3\xa9": [b"x"]}
    # ";" is not a separator.
    assert parse_qs_bytes("a=1;b=2") == {"a": [b"1;b=2"]}
    assert parse_qs_bytes(b"") == {}


def test_parse_qs_bytes_strict_and_limits() -> None:
    with pytest.raises(ValueError, match="bad query field"):
        parse_qs_bytes(b"a=1&&b=2", strict_parsing=True)
    with pytest.raises(ValueError, match="bad query field"):
        parse_qs_bytes(b"a", strict_parsing=True)
    with pytest.raises(ValueError, match="Max number of fields exceeded"):
        parse_qs_bytes(b"a=1&b=2", max_num_fields=1)
    assert parse_qs_bytes(b"a=1&b=2", max_num_fields=2) == {"a": [b"1"], "b": [b"2"]}


def test_parse_qs_bytes_matches_tornado() -> None:
    samples: list[str | bytes] = [b"a=1&a=2&b", b"x=%zz&y=%41%42+c", b"&&=&=v&k=", "n%C3%A9=%FF"]
    for qs in samples:
        for blank in (True, False):
            assert parse_qs_bytes(qs, keep_blank_values=blank) == tornado_escape.parse_qs_bytes(
                qs, keep_blank_values=blank
            )


# --- linkify --------------------------------------------------------------------------------


def _internal_or_external(href: str) -> str:
    if href.startswith("http://www.internal-link.com"):
        return 'class="internal"'
    return 'rel="nofollow" class="external"'


LINKIFY_CASES: list[tuple[str | bytes, dict[str, Any], str]] = [
    ("hello http://world.com/!", {}, 'hello <a href="http://world.com/">http://world.com/</a>!'),
    (
        "hello http://world.com/with?param=true&stuff=yes",
        {},
        'hello <a href="http://world.com/with?param=true&amp;stuff=yes">'
        "http://world.com/with?param=true&amp;stuff=yes</a>",
    ),
    (
        "http://url.com/w(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        {},
        '<a href="http://url.com/w">http://url.com/w</a>(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    ),
    (
        "http://url.com/withmany.......................................",
        {},
        '<a href="http://url.com/withmany">http://url.com/withmany</a>'
        ".......................................",
    ),
    (
        "(Something like http://foo.com/blah_blah_(wikipedia))",
        {},
        '(Something like <a href="http://foo.com/blah_blah_(wikipedia)">'
        "http://foo.com/blah_blah_(wikipedia)</a>)",
    ),
    (
        "http://foo.com/blah_blah.",
        {},
        '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>.',
    ),
    (
        "<http://foo.com/blah_blah>",
        {},
        '&lt;<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>&gt;',
    ),
    (
        "rdar://1234",
        {"permitted_protocols": ["http", "rdar"]},
        '<a href="rdar://1234">rdar://1234</a>',
    ),
    ("rdar:/1234", {"permitted_protocols": ["rdar"]}, '<a href="rdar:/1234">rdar:/1234</a>'),
    (
        "http://userid:password@example.com:8080",
        {},
        '<a href="http://userid:password@example.com:8080">'
        "http://userid:password@example.com:8080</a>",
    ),
    (
        "http://\u27a1.ws/\u4a39",
        {},
        '<a href="http://\u27a1.ws/\u4a39">http://\u27a1.ws/\u4a39</a>',
    ),
    (
        "Just a www.example.com link.",
        {},
        'Just a <a href="http://www.example.com">www.example.com</a> link.',
    ),
    ("Just a www.example.com link.", {"require_protocol": True}, "Just a www.example.com link."),
    (
        "A http://reallylong.com/link/that/exceedsthelenglimit.html",
        {"require_protocol": True, "shorten": True},
        'A <a href="http://reallylong.com/link/that/exceedsthelenglimit.html"'
        ' title="http://reallylong.com/link/that/exceedsthelenglimit.html">'
        "http://reallylong.com/link...</a>",
    ),
    (
        "A http://reallylongdomainnamethatwillbetoolong.com/hi!",
        {"shorten": True},
        'A <a href="http://reallylongdomainnamethatwillbetoolong.com/hi"'
        ' title="http://reallylongdomainnamethatwillbetoolong.com/hi">'
        "http://reallylongdomainnametha...</a>!",
    ),
    (
        "A file:///passwords.txt and http://web.com link",
        {},
        'A file:///passwords.txt and <a href="http://web.com">http://web.com</a> link',
    ),
    (
        "A file:///passwords.txt and http://web.com link",
        {"permitted_protocols": ["file"]},
        'A <a href="file:///passwords.txt">file:///passwords.txt</a> and http://web.com link',
    ),
    ("javascript:alert(1)", {}, "javascript:alert(1)"),
    (
        "www.external-link.com",
        {"extra_params": '  rel="nofollow" class="external" '},
        '<a href="http://www.external-link.com" rel="nofollow" class="external">'
        "www.external-link.com</a>",
    ),
    (
        "www.external-link.com and www.internal-link.com/blogs extra",
        {"extra_params": _internal_or_external},
        '<a href="http://www.external-link.com" rel="nofollow" class="external">'
        'www.external-link.com</a> and <a href="http://www.internal-link.com/blogs" '
        'class="internal">www.internal-link.com/blogs</a> extra',
    ),
    (
        b"bytes http://x.com",
        {},
        'bytes <a href="http://x.com">http://x.com</a>',
    ),
]


@pytest.mark.parametrize(("text", "kwargs", "expected"), LINKIFY_CASES)
def test_linkify(text: str | bytes, kwargs: dict[str, Any], expected: str) -> None:
    assert linkify(text, **kwargs) == expected
    assert tornado_escape.linkify(text, **kwargs) == expected


def test_linkify_shorten_matches_tornado() -> None:
    texts = [
        "see http://example.com/a/very/long/path/that/goes/on/and/on?x=1&y=2&z=3 now",
        "http://example.com/" + "a&b" * 30,
        "https://sub.domain.example.org/path.with.dots/and?query=string&more=yes",
        "www.averyveryveryverylongdomainnamehere.com/" + "x" * 50,
        "ftp://x.com/" + "y" * 40,
    ]
    for text in texts:
        for kwargs in ({"shorten": True}, {"shorten": True, "extra_params": 'class="a"'}):
            assert linkify(text, **kwargs) == tornado_escape.linkify(text, **kwargs)


def test_linkify_escapes_html_and_is_linear() -> None:
    assert linkify('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"
    # Inputs that made older URL regexes backtrack exponentially finish at once.
    nasty: list[Callable[[], str]] = [
        lambda: linkify("http://a.com/" + "(" * 5000),
        lambda: linkify("http://a.com/x" + "." * 5000),
        lambda: linkify("www." + "&" * 5000),
    ]
    for call in nasty:
        assert call().startswith(("<a", "www."))
