"""The HTTP client's pure parts: request and response objects, errors, request heads,
redirect rules, body decoding and TLS context selection. Plain synchronous tests."""

from __future__ import annotations

import datetime
import gzip
import io
import ssl
import zlib

import pytest

from tests.test_docstrings import _module_problems
from trinado import httpclient
from trinado._client_body import BodyDecoder
from trinado._client_prepare import (
    SSLContexts,
    build_head,
    parse_url,
    redirect_request,
    resolve,
)
from trinado.httpclient import (
    HTTPClientError,
    HTTPError,
    HTTPRequest,
    HTTPResponse,
    HTTPStreamClosedError,
    HTTPTimeoutError,
)
from trinado.httputil import HTTPHeaders, HTTPInputError


def head_of(request: HTTPRequest) -> dict[str, str]:
    resolved = resolve(request, {})
    head = build_head(resolved, parse_url(resolved.url))
    return {name.decode(): value.decode("latin-1") for name, value in head.headers.raw_items()}


def test_public_names_are_documented() -> None:
    assert not sorted(set(_module_problems(httpclient)))
    assert set(httpclient.__all__) >= {"HTTPRequest", "HTTPResponse", "fetch", "open_http_client"}


# --------------------------------------------------------------------------- HTTPRequest


def test_request_defaults_and_conversions() -> None:
    request = HTTPRequest("http://example.com/", headers={"x-a": "1"}, body="caf\u00e9")
    assert isinstance(request.headers, HTTPHeaders)
    assert request.headers["X-A"] == "1"
    assert request.body == "caf\u00e9".encode()
    assert request.method == "GET"
    assert request.request_timeout is None  # left to the client's defaults
    resolved = resolve(request, {"request_timeout": 5})
    assert resolved.request_timeout == 5
    assert resolved.connect_timeout == 20.0
    assert resolved.follow_redirects is True
    assert resolved.max_redirects == 5
    assert resolved.decompress_response is True
    assert resolved.validate_cert is True
    assert resolved.headers is not request.headers
    assert request.request_timeout is None


def test_request_aliases() -> None:
    assert HTTPRequest("http://x/", use_gzip=False).decompress_response is False
    assert HTTPRequest("http://x/", use_gzip=False, decompress_response=True).decompress_response
    context = ssl.create_default_context()
    request = HTTPRequest("https://x/", ssl_context=context)
    assert request.ssl_options is context
    assert request.ssl_context is context
    with pytest.raises(ValueError, match="not both"):
        HTTPRequest("https://x/", ssl_context=context, ssl_options=context)


def test_if_modified_since() -> None:
    when = datetime.datetime(2013, 1, 27, 18, 43, 20, tzinfo=datetime.timezone.utc)
    request = HTTPRequest("http://x/", if_modified_since=when)
    assert request.headers["If-Modified-Since"] == "Sun, 27 Jan 2013 18:43:20 GMT"


# --------------------------------------------------------------------------- responses and errors


def test_response_body_and_error() -> None:
    request = HTTPRequest("http://example.com/")
    ok = HTTPResponse(request, 200, buffer=io.BytesIO(b"body"))
    assert ok.body == b"body"
    assert ok.error is None
    assert ok.reason == "OK"
    assert ok.effective_url == "http://example.com/"
    ok.rethrow()  # nothing to raise
    missing = HTTPResponse(request, 404)
    assert missing.body == b""
    assert isinstance(missing.error, HTTPClientError)
    assert missing.error.response is missing
    with pytest.raises(HTTPClientError, match="404"):
        missing.rethrow()
    custom = HTTPResponse(request, 200, error=ValueError("boom"), reason="Fine")
    assert custom.reason == "Fine"
    with pytest.raises(ValueError, match="boom"):
        custom.rethrow()
    assert repr(missing) == "HTTPResponse(404 Not Found, http://example.com/)"


def test_errors() -> None:
    assert HTTPError is HTTPClientError
    error = HTTPClientError(404)
    assert (error.code, error.message, error.response) == (404, "Not Found", None)
    assert str(error) == repr(error) == "HTTP 404: Not Found"
    timeout = HTTPTimeoutError("Timeout while connecting")
    assert isinstance(timeout, HTTPClientError)
    assert timeout.code == 599
    assert str(timeout) == "Timeout while connecting"
    closed = HTTPStreamClosedError("")
    assert closed.code == 599
    assert str(closed) == "Unknown"  # the standard phrase stands in for an empty message


# --------------------------------------------------------------------------- URLs and heads


def test_parse_url() -> None:
    target = parse_url("https://user:p%40ss@[::1]:8443/a b?q=\u00e9#frag")
    assert target.scheme == "https"
    assert target.host == "::1"
    assert target.port == 8443
    assert target.netloc == "[::1]:8443"
    assert target.target == "/a%20b?q=%C3%A9"
    assert (target.username, target.password) == ("user", "p@ss")
    assert parse_url("http://Example.COM").target == "/"
    assert parse_url("http://Example.COM").host == "example.com"
    assert parse_url("http://example.com").port == 80
    with pytest.raises(ValueError, match="scheme"):
        parse_url("file:///etc/passwd")
    with pytest.raises(ValueError, match="No host"):
        parse_url("http:///path")
    with pytest.raises(ValueError, match="Port"):
        parse_url("http://example.com:notaport/")


def test_head_headers() -> None:
    headers = head_of(HTTPRequest("http://example.com:8080/x", method="POST", body="a=1"))
    assert headers["Host"] == "example.com:8080"
    assert headers["Content-Length"] == "3"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert headers["User-Agent"].startswith("trinado/")
    headers = head_of(
        HTTPRequest("http://example.com/", headers={"User-Agent": "mine", "Host": "other"})
    )
    assert headers["User-Agent"] == "mine"
    assert headers["Host"] == "other"
    assert "Content-Length" not in headers


def test_head_for_body_producer() -> None:
    async def producer(write: object) -> None:
        pass

    headers = head_of(HTTPRequest("http://x/", method="PUT", body_producer=producer))
    assert headers["Transfer-Encoding"] == "chunked"
    headers = head_of(
        HTTPRequest(
            "http://x/",
            method="PUT",
            body_producer=producer,
            headers={"Content-Length": "10"},
            expect_100_continue=True,
        )
    )
    assert "Transfer-Encoding" not in headers
    assert headers["Expect"] == "100-continue"
    with pytest.raises(ValueError, match="not both"):
        head_of(HTTPRequest("http://x/", method="PUT", body=b"", body_producer=producer))


def test_head_auth() -> None:
    headers = head_of(HTTPRequest("http://x/", auth_username="a", auth_password=None))
    assert headers["Authorization"] == "Basic YTo="  # "a:"
    headers = head_of(HTTPRequest("http://u:p@x/", auth_username="a", auth_password="b"))
    assert headers["Authorization"] == "Basic dTpw"  # the URL's credentials win
    with pytest.raises(ValueError, match="auth_mode"):
        head_of(HTTPRequest("http://x/", auth_username="a", auth_mode="digest"))


def test_head_refuses_what_http_cannot_carry() -> None:
    with pytest.raises(ValueError, match="latin-1"):
        head_of(HTTPRequest("http://x/", headers={"X-Name": "\u2603"}))
    with pytest.raises(ValueError, match="Invalid request"):
        head_of(HTTPRequest("http://x/", headers={"Bad Name": "v"}))
    with pytest.raises(ValueError, match="Unknown method"):
        head_of(HTTPRequest("http://x/", method="PURGE"))
    assert head_of(HTTPRequest("http://x/", method="PURGE", allow_nonstandard_methods=True))


# --------------------------------------------------------------------------- redirects


def redirected(code: int, location: str, **options: object) -> HTTPRequest:
    request = resolve(HTTPRequest("http://a.example/start", **options), {})  # type: ignore[arg-type]
    return redirect_request(request, code, location)


def test_redirect_method_rules() -> None:
    for code, method, new_method in [
        (301, "POST", "GET"),
        (302, "POST", "GET"),
        (303, "POST", "GET"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (307, "POST", "POST"),
        (308, "POST", "POST"),
        (301, "PUT", "PUT"),
        (302, "DELETE", "DELETE"),
    ]:
        body = b"data" if method in ("POST", "PUT") else None
        new = redirected(code, "/next", method=method, body=body, headers={"Content-Type": "x/y"})
        assert new.method == new_method, (code, method)
        if new_method == "GET" and method != "GET":
            assert new.body is None
            assert "Content-Type" not in new.headers
        else:
            assert new.body == body


def test_redirect_urls_and_counts() -> None:
    new = redirected(302, "next?x=1", max_redirects=3, headers={"Host": "a.example"})
    assert new.url == "http://a.example/next?x=1"
    assert new.max_redirects == 2
    assert "Host" not in new.headers
    assert redirected(302, "//b.example/p").url == "http://b.example/p"
    with pytest.raises(ValueError, match="scheme"):
        redirected(302, "ftp://b.example/")


def test_cross_origin_redirect_drops_credentials() -> None:
    secrets = {"Authorization": "Bearer t", "Cookie": "a=b", "X-Other": "kept"}
    same = redirected(302, "/p", headers=secrets, auth_username="u", auth_password="p")
    assert same.headers["Cookie"] == "a=b"
    assert same.auth_username == "u"
    for location in (
        "http://b.example/p",
        "https://a.example/p",
        "http://a.example:8080/p",
        "http://user:pw@b.example/p",
    ):
        new = redirected(302, location, headers=secrets, auth_username="u", auth_password="p")
        assert "Authorization" not in new.headers, location
        assert "Cookie" not in new.headers
        assert new.headers["X-Other"] == "kept"
        assert new.auth_username is None
        assert new.auth_password is None
        assert "user" not in new.url


# --------------------------------------------------------------------------- decoding


def decode_all(decoder: BodyDecoder, data: bytes, step: int) -> bytes:
    out = b"".join(
        piece for i in range(0, len(data), step) for piece in decoder.feed(data[i : i + step])
    )
    return out + decoder.flush()


@pytest.mark.parametrize("step", [1, 7, 100_000])
def test_decoder_formats(step: int) -> None:
    data = b"some text " * 5000
    assert decode_all(BodyDecoder("gzip", 10**6), gzip.compress(data), step) == data
    assert decode_all(BodyDecoder("x-gzip", 10**6), gzip.compress(data), step) == data
    assert decode_all(BodyDecoder("deflate", 10**6), zlib.compress(data), step) == data
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_data = raw.compress(data) + raw.flush()
    assert decode_all(BodyDecoder("deflate", 10**6), raw_data, step) == data


def test_decoder_pieces_and_limits() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    decoder = BodyDecoder("gzip", 20_000_000)
    pieces = list(decoder.feed(bomb))
    assert max(len(piece) for piece in pieces) <= 65536
    assert sum(len(piece) for piece in pieces) == 10_000_000
    with pytest.raises(HTTPInputError, match="max_body_size"):
        list(BodyDecoder("gzip", 1_000_000).feed(bomb))
    with pytest.raises(HTTPInputError, match="Invalid compressed"):
        list(BodyDecoder("gzip", 1000).feed(b"not gzip at all"))


# --------------------------------------------------------------------------- TLS contexts


def test_ssl_contexts_are_cached_per_settings() -> None:
    contexts = SSLContexts()
    verified, key1 = contexts.get(resolve(HTTPRequest("https://x/"), {}))
    again, key2 = contexts.get(resolve(HTTPRequest("https://y/"), {}))
    assert verified is again
    assert key1 == key2
    assert verified.verify_mode == ssl.CERT_REQUIRED
    assert verified.check_hostname
    unverified, key3 = contexts.get(resolve(HTTPRequest("https://x/", validate_cert=False), {}))
    assert unverified.verify_mode == ssl.CERT_NONE
    assert not unverified.check_hostname
    assert key3 != key1
    mine = ssl.create_default_context()
    assert contexts.get(resolve(HTTPRequest("https://x/", ssl_context=mine), {})) == (mine, mine)
    loose, key4 = contexts.get(
        resolve(HTTPRequest("https://x/", ssl_options={"cert_reqs": ssl.CERT_NONE}), {})
    )
    assert loose.verify_mode == ssl.CERT_NONE
    assert key4 not in (key1, key3)
    with pytest.raises(TypeError, match="ssl_options"):
        contexts.get(resolve(HTTPRequest("https://x/", ssl_options="nope"), {}))
