"""Tests for trinado.httputil's body parsing: urlencoded and multipart forms, limits, and
header parameters (Content-Type / Content-Disposition)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from trinado import httputil
from trinado.httputil import (
    HTTPFile,
    HTTPHeaders,
    HTTPInputError,
    HTTPServerRequest,
    ParseBodyConfig,
    ParseMultipartConfig,
    ParseUrlEncodedConfig,
    RequestStartLine,
    _encode_header,
    _parse_header,
    parse_body_arguments,
    parse_multipart_form_data,
    set_parse_body_config,
)

tornado_httputil = pytest.importorskip("tornado.httputil")

Args = dict[str, list[bytes]]
Files = dict[str, list[HTTPFile]]


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def make_request(uri: str = "/") -> HTTPServerRequest:
    return HTTPServerRequest(
        start_line=RequestStartLine("GET", uri, "HTTP/1.1"), headers=HTTPHeaders({"Host": "h"})
    )


# --- form bodies ----------------------------------------------------------------------------


def test_urlencoded_body() -> None:
    args: Args = {"a": [b"0"]}
    files: Files = {}
    parse_body_arguments("application/x-www-form-urlencoded", b"a=1&b=2&a=3&e=", args, files)
    assert args == {"a": [b"0", b"1", b"3"], "b": [b"2"], "e": [b""]}
    assert files == {}


def test_urlencoded_body_limit() -> None:
    data = b"".join(b"a=1&" for _ in range(1001))
    with pytest.raises(HTTPInputError, match="Max number of fields exceeded"):
        parse_body_arguments("application/x-www-form-urlencoded", data, {}, {})
    small = ParseBodyConfig(urlencoded=ParseUrlEncodedConfig(max_arguments=2))
    with pytest.raises(HTTPInputError, match="x-www-form-urlencoded"):
        parse_body_arguments("application/x-www-form-urlencoded", b"a&b&c", {}, {}, config=small)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b"],
)
def test_form_body_content_encoding(content_type: str) -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n"
    if content_type.startswith("application"):
        body = b"a=x"
    gzipped = HTTPHeaders({"Content-Encoding": "gzip"})
    with pytest.raises(HTTPInputError, match="Unsupported Content-Encoding: gzip"):
        parse_body_arguments(content_type, body, {}, {}, gzipped)
    args: Args = {}
    parse_body_arguments(
        content_type, body, args, {}, HTTPHeaders({"Content-Encoding": "identity"})
    )
    assert args == {"a": [b"x"]}


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("multipart/form-dataxyz; boundary=b", "bad content type"),
        ("multipart/form-data", "boundary not found"),
        ("multipart/form-data; boundary=", "boundary not found"),
        ("multipart/form-data; charset=utf-8", "boundary not found"),
    ],
)
def test_multipart_content_type_errors(content_type: str, message: str) -> None:
    with pytest.raises(HTTPInputError, match=message):
        parse_body_arguments(content_type, b"--b--", {}, {})


def test_multipart_quoted_boundary_in_content_type() -> None:
    body = crlf('--a;b\nContent-Disposition: form-data; name="x"\n\n1\n--a;b--')
    args: Args = {}
    parse_body_arguments('multipart/form-data; boundary="a;b"', body, args, {})
    assert args == {"x": [b"1"]}


FILE_UPLOAD = crlf(
    '--1234\nContent-Disposition: form-data; name="files"; filename="ab.txt"\n\nFoo\n--1234--'
)


def test_multipart_file_upload() -> None:
    args: Args = {}
    files: Files = {}
    parse_multipart_form_data(b"1234", FILE_UPLOAD, args, files)
    upload = files["files"][0]
    assert upload["filename"] == upload.filename == "ab.txt"
    assert upload["body"] == upload.body == b"Foo"
    assert upload.content_type == "application/unknown"
    assert args == {}


def test_multipart_quoted_boundary_argument() -> None:
    files: Files = {}
    parse_multipart_form_data(b'"1234"', FILE_UPLOAD, {}, files)
    assert files["files"][0].filename == "ab.txt"


def test_multipart_several_parts_and_values() -> None:
    body = crlf(
        "preamble to ignore\n"
        "--B\n"
        "Content-Disposition: form-data; name=a\n\n"
        "1\n"
        "--B\n"
        "Content-Disposition: form-data; name=a\n\n"
        "line one\nline two\n"
        "--B\n"
        "Content-Disposition: form-data; name=up; filename=x.bin\n"
        "Content-Type: application/octet-stream\n\n"
        "\x00\x01\n"
        "--B\n"
        "Content-Disposition: form-data; name=empty\n\n"
        "\n"
        "--B--\n"
        "epilogue to ignore"
    )
    args: Args = {}
    files: Files = {}
    parse_multipart_form_data(b"B", body, args, files)
    assert args == {"a": [b"1", b"line one\r\nline two"], "empty": [b""]}
    assert files["up"][0] == {
        "filename": "x.bin",
        "body": b"\x00\x01",
        "content_type": "application/octet-stream",
    }


def test_multipart_unquoted_names() -> None:
    body = crlf(
        "--1234\nContent-Disposition: form-data; name=files; filename=ab.txt\n\nFoo\n--1234--"
    )
    files: Files = {}
    parse_multipart_form_data(b"1234", body, {}, files)
    assert files["files"][0].filename == "ab.txt"


@pytest.mark.parametrize(
    "filename",
    ["a;b.txt", 'a"b.txt', 'a";b.txt', 'a;"b.txt', 'a";";.txt', 'a\\"b.txt', "a\\b.txt", "a b.txt"],
)
def test_multipart_special_filenames(filename: str) -> None:
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    body = crlf(
        f'--1234\nContent-Disposition: form-data; name="files"; filename="{quoted}"\n\nFoo\n'
        "--1234--"
    )
    files: Files = {}
    parse_multipart_form_data(b"1234", body, {}, files)
    assert files["files"][0].filename == filename
    theirs: dict[str, Any] = {}
    tornado_httputil.parse_multipart_form_data(b"1234", body, {}, theirs)
    assert theirs["files"][0].filename == filename


@pytest.mark.parametrize("filename", ["a\rb.txt", "a\x00b.txt", "a\x08b.txt"])
def test_multipart_control_characters_in_headers(filename: str) -> None:
    body = (
        b'--1234\r\nContent-Disposition: form-data; name="files"; filename="'
        + filename.encode()
        + b'"\r\n\r\nFoo\r\n--1234--'
    )
    with pytest.raises(HTTPInputError, match="Invalid header value"):
        parse_multipart_form_data(b"1234", body, {}, {})


def test_multipart_rfc2231_filename() -> None:
    body = crlf(
        "--1234\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''%C3%A1b.txt;"
        ' filename="ab.txt"\n\nFoo\n--1234--'
    )
    files: Files = {}
    parse_multipart_form_data(b"1234", body, {}, files)
    # filename* wins over filename whatever their order.
    assert files["files"][0].filename == "áb.txt"


def test_multipart_raw_utf8_filename() -> None:
    body = crlf(
        '--1234\nContent-Disposition: form-data; name="files"; filename="测试.txt"\n\nFoo\n--1234--'
    )
    files: Files = {}
    parse_multipart_form_data(b"1234", body, {}, files)
    assert files["files"][0].filename == "测试.txt"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("--1234\n\nFoo\n--1234--", "missing headers"),
        ("--1234\nContent-Disposition: form-data; name=f\nFoo\n--1234--", "missing headers"),
        ('--1234\nContent-Disposition: invalid; name="f"\n\nFoo\n--1234--', "not form-data"),
        ("--1234\nX-Other: 1\n\nFoo\n--1234--", "not form-data"),
        ('--1234\nContent-Disposition: form-data; name="f"\n\nFoo--1234--', "does not end"),
        ('--1234\nContent-Disposition: form-data; filename="ab.txt"\n\nFoo\n--1234--', "name"),
        ('--1234\nContent-Disposition: form-data; name=""\n\nFoo\n--1234--', "missing name"),
        ('--1234\nContent-Disposition: form-data; name="f"\n\nFoo\n--1234', "no final boundary"),
        ('--1234\nContent-Disposition: form-data; name="f"\n\nFoo\n', "no final boundary"),
        ("--1234\nBad Header Line\n\nFoo\n--1234--", "no colon"),
    ],
)
def test_multipart_malformed(body: str, message: str) -> None:
    files: Files = {}
    with pytest.raises(HTTPInputError, match=message):
        parse_multipart_form_data(b"1234", crlf(body), {}, files)
    assert files == {}


def test_multipart_non_utf8_part_headers() -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=\xff\r\n\r\nx\r\n--b--"
    with pytest.raises(HTTPInputError, match="UTF-8"):
        parse_multipart_form_data(b"b", body, {}, {})


def test_multipart_data_after_final_boundary() -> None:
    files: Files = {}
    parse_multipart_form_data(b"1234", FILE_UPLOAD + b"\r\ntrailing junk\r\n", {}, files)
    assert files["files"][0].body == b"Foo"


def _parts(count: int) -> bytes:
    part = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
    return part * count + b"--b--\r\n"


def test_multipart_part_limit() -> None:
    config = ParseMultipartConfig(max_parts=3)
    args: Args = {}
    parse_multipart_form_data(b"b", _parts(3), args, {}, config=config)
    assert args == {"a": [b"x", b"x", b"x"]}
    with pytest.raises(HTTPInputError, match="too many parts"):
        parse_multipart_form_data(b"b", _parts(4), {}, {}, config=config)
    with pytest.raises(HTTPInputError, match="too many parts"):
        parse_multipart_form_data(b"b", _parts(101), {}, {})
    with pytest.raises(HTTPInputError, match="too many parts"):
        parse_multipart_form_data(b"b", _parts(1), {}, {}, config=ParseMultipartConfig(max_parts=0))


def test_multipart_part_header_limit() -> None:
    header = b"Content-Disposition: form-data; name=a"
    config = ParseMultipartConfig(max_part_header_size=len(header))
    args: Args = {}
    parse_multipart_form_data(b"b", _parts(1), args, {}, config=config)
    assert args == {"a": [b"x"]}
    tight = ParseMultipartConfig(max_part_header_size=len(header) - 1)
    with pytest.raises(HTTPInputError, match="header too large"):
        parse_multipart_form_data(b"b", _parts(1), {}, {}, config=tight)


def test_multipart_disabled_and_global_config() -> None:
    with pytest.raises(HTTPInputError, match="disabled"):
        parse_multipart_form_data(
            b"1234", FILE_UPLOAD, {}, {}, config=ParseMultipartConfig(enabled=False)
        )
    original = httputil._DEFAULT_PARSE_BODY_CONFIG
    try:
        set_parse_body_config(ParseBodyConfig(multipart=ParseMultipartConfig(enabled=False)))
        with pytest.raises(HTTPInputError, match="disabled"):
            parse_body_arguments("multipart/form-data; boundary=1234", FILE_UPLOAD, {}, {})
        set_parse_body_config(ParseBodyConfig(urlencoded=ParseUrlEncodedConfig(max_arguments=1)))
        with pytest.raises(HTTPInputError, match="Max number of fields"):
            make_request("/?a=1&b=2")
    finally:
        set_parse_body_config(original)
    assert make_request("/?a=1&b=2").arguments == {"a": [b"1"], "b": [b"2"]}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="negative"):
        ParseMultipartConfig(max_parts=-1)
    with pytest.raises(ValueError, match="negative"):
        ParseUrlEncodedConfig(max_arguments=-1)
    assert ParseBodyConfig().multipart.max_part_header_size == 10 * 1024


def test_multipart_matches_tornado() -> None:
    body = crlf(
        "--B\nContent-Disposition: form-data; name=a\n\n1\n"
        '--B\nContent-Disposition: form-data; name="f"; filename="x y.txt"\n'
        "Content-Type: text/plain\n\nhi\n"
        "--B--\n"
    )
    ours_args: Args = {}
    ours_files: Files = {}
    theirs_args: dict[str, Any] = {}
    theirs_files: dict[str, Any] = {}
    parse_body_arguments("multipart/form-data; boundary=B", body, ours_args, ours_files)
    tornado_httputil.parse_body_arguments(
        "multipart/form-data; boundary=B", body, theirs_args, theirs_files
    )
    assert ours_args == theirs_args
    assert ours_files == theirs_files


# --- header parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        'form-data; foo="b\\\\a\\"r"; file*=utf-8\'\'T%C3%A4st',
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
        'form-data; name="a;b"; x="\\""',
        "form-data; filename*0=\"x\"; filename*1*=%C3%A9; filename*2*=''",
        "form-data; filename*=iso-8859-1'en'%E9t",
        "form-data; filename*=bogus''%C3%A9",
        "form-data; filename*=x%C3%A9",
        ' Form-Data ;NAME=  "  a  "  ',
        'a; n="unterminated; x=1',
        "a;;b=1;",
        "",
    ],
)
def test_parse_header_matches_tornado(line: str) -> None:
    assert _parse_header(line) == tornado_httputil._parse_header(line)


def test_parse_header_values() -> None:
    key, params = _parse_header('form-data; foo="b\\\\a\\"r"; file*=utf-8\'\'T%C3%A4st')
    assert key == "form-data"
    assert params == {"foo": 'b\\a"r', "file": "Täst"}


def test_parse_header_is_linear_in_semicolons() -> None:
    line = 'form-data; x="' + ";" * 200_000 + '"; name="files"'
    start = time.perf_counter()
    assert _parse_header(line)[1]["name"] == "files"
    assert time.perf_counter() - start < 2


def test_encode_header() -> None:
    assert _encode_header("permessage-deflate", {}) == "permessage-deflate"
    assert (
        _encode_header(
            "permessage-deflate", {"client_max_window_bits": 15, "client_no_context_takeover": None}
        )
        == "permessage-deflate; client_max_window_bits=15; client_no_context_takeover"
    )
