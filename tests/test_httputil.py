"""Tests for trinado.httputil: headers, requests, body parsing and the small helpers."""

from __future__ import annotations

import copy
import datetime
import pickle
import ssl
import time
import types
from typing import Any

import pytest
import trio
import trio.testing

from trinado import httputil
from trinado.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    HTTPOutputError,
    HTTPServerRequest,
    ParseUrlEncodedConfig,
    RequestStartLine,
    ResponseStartLine,
    _get_content_range,
    _parse_request_range,
    encode_username_password,
    format_timestamp,
    parse_cookie,
    parse_request_start_line,
    parse_response_start_line,
    qs_to_qsl,
    responses,
    split_host_and_port,
    url_concat,
)

tornado_httputil = pytest.importorskip("tornado.httputil")
# Tornado 6.6 is the reference; pip installs 6.5 on Python 3.10, which still accepted folded
# header lines.
TORNADO_66_IS_INSTALLED = pytest.mark.skipif(
    tuple(int(p) for p in pytest.importorskip("tornado").version.split(".")[:2]) < (6, 6),
    reason="needs Tornado 6.6 (the reference; Python 3.10 gets 6.5, which accepts folding)",
)

Args = dict[str, list[bytes]]
Files = dict[str, list[HTTPFile]]


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def make_request(uri: str = "/", **kwargs: Any) -> HTTPServerRequest:
    version = kwargs.pop("version", "HTTP/1.1")
    headers = kwargs.pop("headers", None)
    if headers is None:
        headers = HTTPHeaders({"Host": "example.com"})
    return HTTPServerRequest(
        start_line=RequestStartLine(kwargs.pop("method", "GET"), uri, version),
        headers=headers,
        **kwargs,
    )


# --- HTTPHeaders ----------------------------------------------------------------------------


def test_headers_case_insensitive_and_multi_valued() -> None:
    h = HTTPHeaders({"content-type": "text/html"})
    assert list(h.keys()) == ["Content-Type"]
    assert h["CONTENT-TYPE"] == "text/html"
    h.add("Set-Cookie", "A=B")
    h.add("set-cookie", "C=D")
    assert h["SET-COOKIE"] == "A=B,C=D"
    assert h.get_list("Set-Cookie") == ["A=B", "C=D"]
    assert sorted(h.get_all()) == [
        ("Content-Type", "text/html"),
        ("Set-Cookie", "A=B"),
        ("Set-Cookie", "C=D"),
    ]
    assert len(h) == 2
    assert "set-COOKIE" in h
    not_a_name: object = 42
    assert not_a_name not in h
    assert h.get("X-Missing") is None
    assert h.get("x-missing", "d") == "d"
    assert h.get_list("X-Missing") == []


def test_headers_setitem_replaces_all_values() -> None:
    h = HTTPHeaders()
    h.add("X-A", "1")
    h.add("X-A", "2")
    assert h["x-a"] == "1,2"
    h["X-A"] = "3"
    assert h.get_list("X-A") == ["3"]
    assert h["X-A"] == "3"
    h.add("x-a", "4")
    assert h["X-A"] == "3,4"


def test_headers_setitem_does_not_validate_but_add_does() -> None:
    # Tornado's HTTPHeaders checks in add() and the parsers only; RequestHandler.set_header
    # is where outgoing values are checked.
    h = HTTPHeaders()
    h["X-Raw"] = "a\r\nb"
    assert h["X-Raw"] == "a\r\nb"
    with pytest.raises(HTTPInputError, match="Invalid header value"):
        h.add("X-Bad", "a\r\nb")
    with pytest.raises(HTTPInputError, match="Invalid header value"):
        h.add("X-Bad", "trailing ")
    with pytest.raises(HTTPInputError, match="Invalid header value"):
        h.add("X-Bad", "\u6d4b")  # beyond latin-1
    h.add("X-Ok", "")
    h.add("X-Ok", "a \t b\xe9")
    assert h.get_list("X-Ok") == ["", "a \t b\xe9"]


@pytest.mark.parametrize("name", ["", "foo bar", "foo\tbar", "foo\nbar", "foo\x00bar", " foo", "é"])
def test_headers_invalid_names(name: str) -> None:
    with pytest.raises(HTTPInputError, match="Invalid header name"):
        HTTPHeaders().add(name, "bar")


def test_headers_init_forms() -> None:
    assert HTTPHeaders([("a", "1"), ("B", "2")])["b"] == "2"
    assert HTTPHeaders(content_type="x")["Content_type"] == "x"
    assert HTTPHeaders({"x": "1"}, y="2")["Y"] == "2"
    listed = HTTPHeaders({"Canary": ["Coal Mine", "Bird"]})
    assert listed.get_list("canary") == ["Coal Mine", "Bird"]
    assert listed["canary"] == "Coal Mine,Bird"


def test_headers_normalization() -> None:
    h = HTTPHeaders()
    h["coNtent-TYPE"] = "x"
    h["x-requested-with"] = "y"
    h["WWW-authenticate"] = "z"
    assert list(h) == ["Content-Type", "X-Requested-With", "Www-Authenticate"]


def test_headers_delete() -> None:
    h = HTTPHeaders()
    h.add("Set-Cookie", "a=b")
    h.add("Set-Cookie", "c=d")
    del h["set-cookie"]
    assert list(h.get_all()) == []
    with pytest.raises(KeyError):
        del h["set-cookie"]
    with pytest.raises(KeyError):
        h["set-cookie"]


def test_headers_setdefault_and_equality() -> None:
    h = HTTPHeaders()
    h["foo"] = "bar"
    assert h.setdefault("foo", "baz") == "bar"
    assert h.setdefault("quux", "xyzzy") == "xyzzy"
    assert sorted(h.get_all()) == [("Foo", "bar"), ("Quux", "xyzzy")]
    assert h == HTTPHeaders({"FOO": "bar", "quux": "xyzzy"})
    assert h != HTTPHeaders({"FOO": "bar"})


def test_headers_copies_are_independent() -> None:
    h1 = HTTPHeaders()
    for name, value in [("A", "1"), ("A", "2"), ("B", "c")]:
        h1.add(name, value)
    for other in (h1.copy(), copy.copy(h1), copy.deepcopy(h1), HTTPHeaders(h1)):
        assert type(other) is HTTPHeaders
        assert sorted(other.get_all()) == [("A", "1"), ("A", "2"), ("B", "c")]
        assert other.get_list("A") is not h1.get_list("A")
        other.add("A", "3")
        assert h1["A"] == "1,2"


def test_headers_pickle_roundtrip() -> None:
    h = HTTPHeaders()
    h.add("Set-Cookie", "a=b")
    h.add("Set-Cookie", "c=d")
    restored = pickle.loads(pickle.dumps(h))
    assert sorted(restored.get_all()) == sorted(h.get_all())


def test_headers_str_roundtrip_and_repr() -> None:
    h = HTTPHeaders()
    for value in ("1", "2", "3"):
        h.add("Foo", value)
    assert str(h) == "Foo: 1\nFoo: 2\nFoo: 3\n"
    assert HTTPHeaders.parse(str(h)) == h
    assert HTTPHeaders.parse(str(h)).get_list("foo") == ["1", "2", "3"]
    assert "Foo" in repr(h)


def test_headers_parse() -> None:
    h = HTTPHeaders.parse("Content-Type: text/html\r\nContent-Length:42\r\nX-Sp:  a b \t\r\n\r\n")
    assert sorted(h.items()) == [
        ("Content-Length", "42"),
        ("Content-Type", "text/html"),
        ("X-Sp", "a b"),
    ]
    # LF alone is accepted; the CR of a CRLF is never part of a value.
    h = HTTPHeaders.parse("CRLF: crlf\r\nLF: lf\nMore: more\r\n")
    assert sorted(h.get_all()) == [("Crlf", "crlf"), ("Lf", "lf"), ("More", "more")]
    # A value may hold a colon.
    assert HTTPHeaders.parse("Host: example.com:8080")["host"] == "example.com:8080"


def test_headers_parse_line() -> None:
    h = HTTPHeaders()
    h.parse_line("Content-Type: text/html")
    h.parse_line("Content-Length: 42\r\n")
    h.parse_line("\r\n")
    h.parse_line("")
    assert h == HTTPHeaders({"Content-Type": "text/html", "Content-Length": "42"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Foo: bar\r\n\tasdf", "folding not supported"),
        ("Foo: bar\r\n continued\r\n", "folding not supported"),
        ("NoColonHere\r\n", "no colon"),
        ("CR: cr\rMore: more\r\n", "Invalid header value"),
        ("Bad Name: x\r\n", "Invalid header name"),
        ("X: a\x00b\r\n", "Invalid header value"),
    ],
)
def test_headers_parse_rejects(data: str, message: str) -> None:
    with pytest.raises(HTTPInputError, match=message):
        HTTPHeaders.parse(data)


@TORNADO_66_IS_INSTALLED
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("Foo: bar\r\n\tasdf", "folding not supported"),
        ("Foo: bar\r\n continued\r\n", "folding not supported"),
        ("NoColonHere\r\n", "no colon"),
        ("CR: cr\rMore: more\r\n", "Invalid header value"),
        ("Bad Name: x\r\n", "Invalid header name"),
        ("X: a\x00b\r\n", "Invalid header value"),
    ],
)
def test_tornado_rejects_the_same_headers(data: str, message: str) -> None:
    with pytest.raises(tornado_httputil.HTTPInputError):
        tornado_httputil.HTTPHeaders.parse(data)


def test_headers_parse_character_rules_match_tornado() -> None:
    for code in range(0x100):
        data = f"Foo: bar{chr(code)}baz\r\n"
        try:
            expected: list[tuple[str, str]] | None = list(
                tornado_httputil.HTTPHeaders.parse(data).get_all()
            )
        except tornado_httputil.HTTPInputError:
            expected = None
        if expected is None:
            with pytest.raises(HTTPInputError):
                HTTPHeaders.parse(data)
        else:
            assert list(HTTPHeaders.parse(data).get_all()) == expected


@pytest.mark.parametrize("newline", ["\x85", "\u2028", "\u2029"])
def test_headers_unicode_newlines_are_not_separators(newline: str) -> None:
    for encoded in {newline.encode("utf-8"), newline.encode("utf-8", "ignore")}:
        text = "Cookie: foo=" + encoded.decode("latin-1") + "bar"
        assert list(HTTPHeaders.parse(text).get_all()) == [
            ("Cookie", "foo=" + encoded.decode("latin-1") + "bar")
        ]
    # Only space and tab are stripped from values.
    assert HTTPHeaders.parse("X: \xa0v")["X"] == "\xa0v"


def test_headers_from_h11() -> None:
    raw = [
        (b"host", b"example.com"),
        (b"content-type", b"text/plain"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"x-latin", b"caf\xe9"),
    ]
    h = HTTPHeaders._from_h11(raw)
    assert list(h) == ["Host", "Content-Type", "Set-Cookie", "X-Latin"]
    assert h["HOST"] == "example.com"
    assert h["Set-Cookie"] == "a=1,b=2"
    assert h.get_list("set-cookie") == ["a=1", "b=2"]
    assert h["x-latin"] == "café"
    h.add("Set-Cookie", "c=3")
    assert h["set-cookie"] == "a=1,b=2,c=3"
    h.add("Host", "other")
    assert h["Host"] == "example.com,other"
    assert h == HTTPHeaders.parse(str(h))
    assert len(HTTPHeaders._from_h11([])) == 0


# --- HTTPServerRequest ----------------------------------------------------------------------


def test_request_defaults() -> None:
    request = HTTPServerRequest(uri="/")
    assert (request.method, request.uri, request.version) == ("GET", "/", "HTTP/1.0")
    assert request.body == b""
    assert isinstance(request.headers, HTTPHeaders)
    assert request.host == "127.0.0.1"
    assert request.host_name == "127.0.0.1"
    assert request.remote_ip is None
    assert request.protocol == "http"
    assert request.files == {}
    assert request.arguments == {}
    assert request.query_arguments == {}
    assert request.body_arguments == {}
    assert request.connection is None
    assert request.server_connection is None
    assert HTTPServerRequest().uri == "/"


def test_request_start_line_wins() -> None:
    request = HTTPServerRequest(
        method="POST",
        uri="/ignored",
        start_line=RequestStartLine("PUT", "/a/b?c=d", "HTTP/1.0"),
    )
    assert (request.method, request.path, request.query) == ("PUT", "/a/b", "c=d")


def test_request_query_arguments() -> None:
    request = make_request("/p?a=1&a=2&b=%41+x&c&=z")
    assert request.path == "/p"
    assert request.query == "a=1&a=2&b=%41+x&c&=z"
    assert request.arguments == {"a": [b"1", b"2"], "b": [b"A x"], "c": [b""], "": [b"z"]}
    assert request.query_arguments == request.arguments
    request.arguments["a"].append(b"3")
    assert request.query_arguments["a"] == [b"1", b"2"]


def test_request_empty_query_skips_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("query parser called")

    monkeypatch.setattr(httputil, "parse_qs_bytes", boom)
    request = make_request("/path?")
    assert (request.path, request.query, request.arguments) == ("/path", "", {})
    with pytest.raises(AssertionError):
        make_request("/path?x=1")


def test_request_query_limits() -> None:
    limit = ParseUrlEncodedConfig().max_arguments
    ok = make_request("/?" + "&".join(f"a={i}" for i in range(limit)))
    assert len(ok.arguments["a"]) == limit
    with pytest.raises(HTTPInputError, match="Max number of fields exceeded"):
        make_request("/?" + "&".join(f"a={i}" for i in range(limit + 1)))
    with pytest.raises(HTTPInputError, match="Invalid query string"):
        make_request("/?a=\u6d4b")


@pytest.mark.parametrize(
    ("host", "host_name", "url"),
    [
        ("Example.COM", "example.com", "http://Example.COM/x?y=1"),
        ("example.com:8080", "example.com", "http://example.com:8080/x?y=1"),
        ("[::1]:8888", "[::1]", "http://[::1]:8888/x?y=1"),
        ("[FE80::1]", "[fe80::1]", "http://[FE80::1]/x?y=1"),
        ("127.0.0.1:80", "127.0.0.1", "http://127.0.0.1:80/x?y=1"),
        ("xn--bcher-kva.example%2E", "xn--bcher-kva.example%2e", None),
    ],
)
def test_request_host_and_full_url(host: str, host_name: str, url: str | None) -> None:
    request = make_request("/x?y=1", headers=HTTPHeaders({"Host": host}))
    assert request.host == host
    assert request.host_name == host_name
    if url is not None:
        assert request.full_url() == url


def test_request_host_argument_sets_header() -> None:
    request = HTTPServerRequest(uri="/", host="a.example:81")
    assert request.headers["Host"] == "a.example:81"
    assert request.host_name == "a.example"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("a.com, b.com", "Invalid Host header"),
        ("a.com,b.com", "Multiple host headers"),
        ("a b", "Invalid Host header"),
        ("a.com/x", "Invalid Host header"),
        ("a%zz", "Invalid Host header"),
        ("a.com@b", "Invalid Host header"),
    ],
)
def test_request_bad_host(host: str, message: str) -> None:
    with pytest.raises(HTTPInputError, match=message):
        make_request(headers=HTTPHeaders({"Host": host}))


def test_request_repeated_host_from_h11() -> None:
    headers = HTTPHeaders._from_h11([(b"host", b"a.com"), (b"host", b"b.com")])
    with pytest.raises(HTTPInputError, match="Multiple host headers"):
        make_request(headers=headers)


def test_request_missing_host() -> None:
    with pytest.raises(HTTPInputError, match="Missing Host header"):
        make_request(headers=HTTPHeaders(), version="HTTP/1.1")
    assert make_request(headers=HTTPHeaders(), version="HTTP/1.0").host == "127.0.0.1"


def test_request_context_supplies_remote_ip_and_protocol() -> None:
    context = types.SimpleNamespace(remote_ip="10.1.2.3", protocol="https")
    connection = types.SimpleNamespace(context=context)
    request = make_request("/a", connection=connection)
    assert request.remote_ip == "10.1.2.3"
    assert request.protocol == "https"
    assert request.full_url() == "https://example.com/a"
    assert request.connection is connection
    partial = make_request(connection=types.SimpleNamespace(context=object()))
    assert (partial.remote_ip, partial.protocol) == (None, "http")
    rep = repr(request)
    assert "remote_ip='10.1.2.3'" in rep
    assert "protocol='https'" in rep
    assert "uri='/a'" in rep


def test_request_repr_has_no_headers() -> None:
    request = make_request(headers=HTTPHeaders({"Host": "h", "Canary": "Coal Mine"}))
    assert "Canary" not in repr(request)
    assert repr(request).startswith("HTTPServerRequest(protocol='http', host='h'")


def test_request_cookies() -> None:
    headers = HTTPHeaders({"Host": "h"})
    headers.add("Cookie", 'a=1; b="quoted \\"v\\""; expires=x; bad name=2; =3; lone')
    request = make_request(headers=headers)
    cookies = request.cookies
    assert sorted(cookies) == ["a", "b"]
    assert cookies["a"].value == "1"
    assert cookies["b"].value == 'quoted "v"'
    assert request.cookies is cookies
    assert make_request().cookies == {}


def test_request_time() -> None:
    request = make_request()
    assert 0 <= request.request_time() < 5
    request._finish_time = request._start_time + 1.5
    assert request.request_time() == pytest.approx(1.5)


def test_request_attributes_are_assignable() -> None:
    request = make_request()
    request.custom = 1  # type: ignore[attr-defined]
    request.remote_ip = "1.2.3.4"
    assert request.custom == 1  # type: ignore[attr-defined]


def test_request_ssl_certificate_without_tls() -> None:
    assert make_request().get_ssl_certificate() is None
    plain = types.SimpleNamespace(stream=object())
    assert make_request(connection=plain).get_ssl_certificate() is None


def test_request_ssl_certificate_before_handshake() -> None:
    transport, _ = trio.testing.memory_stream_pair()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    stream = trio.SSLStream(transport, context, server_side=True)
    request = make_request(connection=types.SimpleNamespace(stream=stream))
    assert request.get_ssl_certificate() is None


def test_request_ssl_certificate_after_handshake() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    ca.issue_cert("client@example.org").configure_cert(client_ctx)
    results: list[Any] = []

    async def main() -> None:
        left, right = trio.testing.memory_stream_pair()
        server = trio.SSLStream(left, server_ctx, server_side=True)
        client = trio.SSLStream(right, client_ctx, server_hostname="localhost")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.do_handshake)
            nursery.start_soon(client.do_handshake)
        request = make_request(connection=types.SimpleNamespace(stream=server))
        results.append(request.get_ssl_certificate())
        results.append(request.get_ssl_certificate(binary_form=True))

    trio.run(main)
    cert, der = results
    assert isinstance(cert, dict)
    assert "subjectAltName" in cert
    assert isinstance(der, bytes)
    assert der


def test_request_parse_body_urlencoded() -> None:
    headers = HTTPHeaders({"Host": "h", "Content-Type": "application/x-www-form-urlencoded"})
    request = make_request("/?a=q", method="POST", headers=headers, body=b"a=b1&c=%41")
    request._parse_body()
    assert request.body_arguments == {"a": [b"b1"], "c": [b"A"]}
    assert request.query_arguments == {"a": [b"q"]}
    assert request.arguments == {"a": [b"q", b"b1"], "c": [b"A"]}


def test_request_parse_body_multipart() -> None:
    body = crlf(
        "--xyz\n"
        'Content-Disposition: form-data; name="f"; filename="a.txt"\n'
        "Content-Type: text/plain\n\n"
        "hello\n"
        "--xyz\n"
        'Content-Disposition: form-data; name="n"\n\n'
        "v\n"
        "--xyz--\n"
    )
    headers = HTTPHeaders({"Host": "h", "Content-Type": "multipart/form-data; boundary=xyz"})
    request = make_request("/", method="POST", headers=headers, body=body)
    request._parse_body()
    upload = request.files["f"][0]
    assert (upload.filename, upload.body, upload.content_type) == ("a.txt", b"hello", "text/plain")
    assert request.arguments == {"n": [b"v"]}


def test_request_parse_body_other_types_ignored() -> None:
    headers = HTTPHeaders({"Host": "h", "Content-Type": "application/json"})
    request = make_request("/", method="POST", headers=headers, body=b'{"a": 1}')
    request._parse_body()
    assert request.arguments == {}
    assert request.files == {}


# --- start lines ----------------------------------------------------------------------------


def test_parse_request_start_line() -> None:
    line = parse_request_start_line("GET /foo?a=b HTTP/1.1")
    assert line == RequestStartLine("GET", "/foo?a=b", "HTTP/1.1")
    assert (line.method, line.path, line.version) == ("GET", "/foo?a=b", "HTTP/1.1")
    for bad in ["GET /foo", "GET  /foo HTTP/1.1", "GET /f oo HTTP/1.1", "G(T / HTTP/1.1", ""]:
        with pytest.raises(HTTPInputError, match="Malformed HTTP request line"):
            parse_request_start_line(bad)
    with pytest.raises(HTTPInputError, match="Unexpected HTTP version"):
        parse_request_start_line("GET / HTTP/2.0")


def test_parse_response_start_line() -> None:
    line = parse_response_start_line("HTTP/1.1 200 OK")
    assert line == ResponseStartLine("HTTP/1.1", 200, "OK")
    assert line.code == 200
    assert parse_response_start_line("HTTP/1.0 404 Not  Found").reason == "Not  Found"
    assert parse_response_start_line("HTTP/1.1 204 ").reason == ""
    for bad in ["HTTP/1.1 200", "HTTP/1.1 20 OK", "HTTP/1.1 OK", "HTTP/1.1 200 O\rK"]:
        with pytest.raises(HTTPInputError, match="Error parsing response start line"):
            parse_response_start_line(bad)
    with pytest.raises(HTTPInputError, match="Unexpected HTTP version"):
        parse_response_start_line("HTTP/2.0 200 OK")


def test_responses_and_errors() -> None:
    assert responses[200] == "OK"
    assert responses[404] == "Not Found"
    assert responses[418] == "I'm a Teapot"
    assert issubclass(HTTPInputError, Exception)
    assert issubclass(HTTPOutputError, Exception)


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "args", "expected"),
    [
        ("https://localhost/path", [("y", "y"), ("z", "z")], "https://localhost/path?y=y&z=z"),
        ("https://localhost/path", [("y", "/y"), ("z", "z")], "https://localhost/path?y=%2Fy&z=z"),
        ("https://localhost/path?", [("y", "y")], "https://localhost/path?y=y"),
        ("https://localhost/path?x", [("y", "y")], "https://localhost/path?x=&y=y"),
        ("https://localhost/path?x&", [("y", "y")], "https://localhost/path?x=&y=y"),
        ("https://localhost/path?a=1&b=2", [("y", "y")], "https://localhost/path?a=1&b=2&y=y"),
        ("https://localhost/path?r=1&t=2", [], "https://localhost/path?r=1&t=2"),
        ("https://localhost/path?r=1&t=2", None, "https://localhost/path?r=1&t=2"),
        ("https://localhost/path#tab", [("y", "y")], "https://localhost/path?y=y#tab"),
        ("https://localhost/p?a=1#frag", {"b": "2"}, "https://localhost/p?a=1&b=2#frag"),
        ("https://localhost/path", [("y", "y1"), ("y", "y2")], "https://localhost/path?y=y1&y=y2"),
        ("https://localhost/path?r=1&r=2", (("y", "y"),), "https://localhost/path?r=1&r=2&y=y"),
        ("https://localhost/path", {"y": "a b&c"}, "https://localhost/path?y=a+b%26c"),
        ("/relative", {"n": 1}, "/relative?n=1"),
    ],
)
def test_url_concat(url: str, args: Any, expected: str) -> None:
    assert url_concat(url, args) == expected
    assert tornado_httputil.url_concat(url, args) == expected


def test_url_concat_bad_args() -> None:
    with pytest.raises(TypeError, match="should be dict, list or tuple"):
        url_concat("http://x", "a=b")  # type: ignore[arg-type]


TIMESTAMP = 1359312200.503611
EXPECTED_DATE = "Sun, 27 Jan 2013 18:43:20 GMT"


@pytest.mark.parametrize(
    "value",
    [
        TIMESTAMP,
        int(TIMESTAMP),
        time.gmtime(TIMESTAMP),
        tuple(time.gmtime(TIMESTAMP)),
        datetime.datetime.fromtimestamp(TIMESTAMP, datetime.timezone.utc),
        datetime.datetime.fromtimestamp(TIMESTAMP, datetime.timezone.utc).replace(tzinfo=None),
        datetime.datetime.fromtimestamp(TIMESTAMP, datetime.timezone(datetime.timedelta(hours=-4))),
    ],
)
def test_format_timestamp(value: Any) -> None:
    assert format_timestamp(value) == EXPECTED_DATE


def test_format_timestamp_matches_tornado() -> None:
    for ts in [0, 1, 86399.9999999, 951782400, 4102444800.25, -1]:
        assert format_timestamp(ts) == tornado_httputil.format_timestamp(ts)


def test_format_timestamp_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="unknown timestamp type"):
        format_timestamp("2013-01-27")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_timestamp(datetime.date(2013, 1, 27))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("chips=ahoy; vienna=finger", {"chips": "ahoy", "vienna": "finger"}),
        (
            'keebler="E=mc2; L=\\"Loves\\"; fudge=\\012;"',
            {"keebler": '"E=mc2', "L": '\\"Loves\\"', "fudge": "\\012", "": '"'},
        ),
        ("keebler=E=mc2", {"keebler": "E=mc2"}),
        ("key:term=value:term", {"key:term": "value:term"}),
        ("a=b; c=[; d=r; f=h", {"a": "b", "c": "[", "d": "r", "f": "h"}),
        ("a=b; Domain=example.com", {"a": "b", "Domain": "example.com"}),
        ("a=b; h=i; a=c", {"a": "c", "h": "i"}),
        (
            "abc=def; unnamed; django_language=en",
            {"abc": "def", "": "unnamed", "django_language": "en"},
        ),
        ('a=b; "; c=d', {"a": "b", "": '"', "c": "d"}),
        ("a b c=d e = f; gh=i", {"a b c": "d e = f", "gh": "i"}),
        ("saint=André Bessette", {"saint": "André Bessette"}),
        ("  =  b  ;  ;  =  ;   c  =  ;  ", {"": "b", "c": ""}),
        ('q="a \\"quoted\\" value"', {"q": 'a "quoted" value'}),
        ("", {}),
    ],
)
def test_parse_cookie(header: str, expected: dict[str, str]) -> None:
    assert parse_cookie(header) == expected
    assert tornado_httputil.parse_cookie(header) == expected


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (r'a="b=\""', 'b="'),
        (r'a="b=\\"', "b=\\"),
        (r'a="b=\="', "b=="),
        (r'a="b=\n"', "b=n"),
        (r'a="b=\042"', 'b="'),
        (r'a="b=\134"', "b=\\"),
        (r'a="b=\377"', "b=\xff"),
        (r'a="b=\400"', "b=400"),
        (r'a="b=\42"', "b=42"),
        (r'a="b=\\042"', "b=\\042"),
        (r'a="b=\134\042"', 'b=\\"'),
        ('a="', '"'),
        ('a=""', ""),
    ],
)
def test_parse_cookie_unquote(encoded: str, decoded: str) -> None:
    assert parse_cookie(encoded)["a"] == decoded


@pytest.mark.parametrize(
    ("netloc", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("example.com:8080", ("example.com", 8080)),
        ("[::1]:8888", ("[::1]", 8888)),
        ("[::1]", ("[::1]", None)),
        ("host:", ("host:", None)),
        ("host:abc", ("host:abc", None)),
    ],
)
def test_split_host_and_port(netloc: str, expected: tuple[str, int | None]) -> None:
    assert split_host_and_port(netloc) == expected


def test_qs_to_qsl() -> None:
    pairs = list(qs_to_qsl({"a": ["1", "3"], "b": ["2"]}))
    assert pairs == [("a", "1"), ("a", "3"), ("b", "2")]
    assert list(qs_to_qsl({"x": [b"y"]})) == [("x", b"y")]


def test_encode_username_password() -> None:
    assert encode_username_password("user", "pass") == b"user:pass"
    # NFC: a decomposed e + combining acute becomes the single code point.
    assert encode_username_password("e\u0301", b"\xff") == "\u00e9".encode() + b":\xff"


def test_http_file_attribute_and_item_access() -> None:
    upload = HTTPFile(filename="a", body=b"b", content_type="c")
    assert upload.filename == upload["filename"] == "a"
    upload.body = b"new"
    assert upload["body"] == b"new"
    with pytest.raises(AttributeError):
        upload.missing  # noqa: B018
    assert pickle.loads(pickle.dumps(upload)) == upload


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=1-2", (1, 3)),
        ("bytes=6-", (6, None)),
        ("bytes=-6", (-6, None)),
        ("bytes=-0", (None, 0)),
        ("bytes=", (None, None)),
        ("foo=42", None),
        ("bytes=1-2,6-10", None),
        ("bytes=a-b", None),
    ],
)
def test_parse_request_range(header: str, expected: tuple[int | None, int | None] | None) -> None:
    assert _parse_request_range(header) == expected


def test_get_content_range() -> None:
    assert _get_content_range(None, 1, 4) == "bytes 0-0/4"
    assert _get_content_range(1, 3, 4) == "bytes 1-2/4"
    assert _get_content_range(None, None, 4) == "bytes 0-3/4"


def test_public_names_import() -> None:
    for name in httputil.__all__:
        assert getattr(httputil, name) is not None
