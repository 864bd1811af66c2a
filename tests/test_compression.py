"""compress_response: the gzip output transform, over real connections and on its own."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from trinado._compression import _accepts_gzip
from trinado.httputil import HTTPHeaders, HTTPServerRequest
from trinado.static import StaticFileHandler
from trinado.testing import open_test_client as client_for
from trinado.web import Application, GZipContentEncoding, OutputTransform, RequestHandler

BIG_TEXT = "".join(f"line {i}: the quick brown fox\n" for i in range(200))  # ~6 KB
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(autouse=True)
def _fresh_versions() -> Iterator[None]:
    StaticFileHandler.reset()
    yield
    StaticFileHandler.reset()


class TextHandler(RequestHandler):
    def get(self) -> None:
        size = int(self.get_argument("size", str(len(BIG_TEXT))))
        content_type = self.get_argument("type", None)
        if content_type:
            self.set_header("Content-Type", content_type)
        if self.get_argument("encoded", None):
            self.set_header("Content-Encoding", "br")
        if self.get_argument("vary", None):
            self.set_header("Vary", self.get_argument("vary"))
        self.write(BIG_TEXT[:size])

    head = get


class JsonHandler(RequestHandler):
    def get(self) -> None:
        self.write({"items": [BIG_TEXT] * 2})


class StatusHandler(RequestHandler):
    def get(self, code: str) -> None:
        self.set_status(int(code))
        if code == "200":
            self.write(BIG_TEXT)


class StreamHandler(RequestHandler):
    """Writes three pieces, waiting between them until the test says go."""

    go: trio.Event

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain")
        for i in range(3):
            self.write(f"piece {i} " * 100)
            await self.flush()
            if i < 2:
                await StreamHandler.go.wait()
                StreamHandler.go = trio.Event()


def make_app(**settings: Any) -> Application:
    return Application(
        [
            (r"/text", TextHandler),
            (r"/json", JsonHandler),
            (r"/status/(\d+)", StatusHandler),
            (r"/stream", StreamHandler),
        ],
        **settings,
    )


async def raw(client: httpx.AsyncClient, url: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (not decompressed)."""
    async with client.stream("GET", url, **kwargs) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize("setting", ["compress_response", "gzip"])
async def test_compresses_text(setting: str) -> None:
    async with client_for(make_app(**{setting: True})) as client:
        response, body = await raw(client, "/text", headers=GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert int(response.headers["content-length"]) == len(body) < len(BIG_TEXT) // 4
    assert gzip.decompress(body).decode() == BIG_TEXT


async def test_json_is_compressible() -> None:
    async with client_for(make_app(compress_response=True)) as client:
        response, body = await raw(client, "/json", headers=GZIP)
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b'{"items"')


async def test_off_by_default() -> None:
    async with client_for(make_app()) as client:
        response, body = await raw(client, "/text", headers=GZIP)
        handler_transforms = (await client.get("/text")).headers.get("vary")
    assert "content-encoding" not in response.headers
    assert body.decode() == BIG_TEXT
    assert handler_transforms is None


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("identity", False),
        ("br", False),
        ("", False),
    ],
)
async def test_follows_accept_encoding(accept: str, compressed: bool) -> None:
    async with client_for(make_app(compress_response=True)) as client:
        response, body = await raw(client, "/text", headers={"Accept-Encoding": accept})
    assert ("content-encoding" in response.headers) is compressed
    assert response.headers["vary"] == "Accept-Encoding"
    assert (gzip.decompress(body) if compressed else body).decode() == BIG_TEXT


@pytest.mark.parametrize(
    ("query", "compressed"),
    [
        ({"size": "1023"}, False),  # below MIN_LENGTH
        ({"size": "1024"}, True),
        ({"type": "image/png"}, False),
        ({"type": "application/octet-stream"}, False),
        ({"type": "image/svg+xml"}, True),
        ({"type": "text/css; charset=UTF-8"}, True),
        ({"type": "application/javascript"}, True),
        ({"encoded": "1"}, False),  # already encoded
    ],
)
async def test_what_is_compressed(query: dict[str, str], compressed: bool) -> None:
    async with client_for(make_app(compress_response=True)) as client:
        response, _ = await raw(client, "/text", params=query, headers=GZIP)
    assert (response.headers.get("content-encoding") == "gzip") is compressed
    assert "Accept-Encoding" in response.headers["vary"]


async def test_vary_is_merged() -> None:
    async with client_for(make_app(compress_response=True)) as client:
        cookie, _ = await raw(client, "/text", params={"vary": "Cookie"}, headers=GZIP)
        twice, _ = await raw(client, "/text", params={"vary": "accept-encoding"}, headers=GZIP)
        star, _ = await raw(client, "/text", params={"vary": "*"}, headers=GZIP)
    assert cookie.headers["vary"] == "Cookie, Accept-Encoding"
    assert twice.headers["vary"] == "accept-encoding"
    assert star.headers["vary"] == "*"


async def test_no_compression_for_204_and_304() -> None:
    async with client_for(make_app(compress_response=True)) as client:
        no_content, body = await raw(client, "/status/204", headers=GZIP)
        assert no_content.status_code == 204
        assert body == b""
        assert "content-encoding" not in no_content.headers
        assert no_content.headers["vary"] == "Accept-Encoding"
        full = await client.get("/status/200", headers=GZIP)
        assert full.headers["content-encoding"] == "gzip"
        etag = full.headers["etag"]
        cached, body = await raw(client, "/status/200", headers={**GZIP, "If-None-Match": etag})
        assert cached.status_code == 304
        assert body == b""
        assert "content-encoding" not in cached.headers
        assert cached.headers["vary"] == "Accept-Encoding"


async def test_head_gets_the_headers_of_get() -> None:
    async with client_for(make_app(compress_response=True)) as client:
        get, body = await raw(client, "/text", headers=GZIP)
        head = await client.head("/text", headers=GZIP)
    assert head.headers["content-encoding"] == "gzip"
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(body))
    assert head.content == b""


async def test_streamed_response_is_compressed_piece_by_piece() -> None:
    StreamHandler.go = trio.Event()
    async with (
        client_for(make_app(compress_response=True)) as client,
        client.stream("GET", "/stream", headers=GZIP) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        text = ""
        pieces = response.aiter_raw()
        for i in range(3):
            # Each flush arrives, decodable, before the handler writes the next piece.
            expected = text + f"piece {i} " * 100
            with trio.fail_after(5):
                while text != expected:
                    text += decompressor.decompress(await anext(pieces)).decode()
            StreamHandler.go.set()
        rest = b"".join([chunk async for chunk in pieces])
        assert decompressor.decompress(rest) == b""
        assert decompressor.eof  # the gzip stream was ended properly


async def test_static_files_are_compressed_but_not_ranges(tmp_path: Path) -> None:
    big = (BIG_TEXT * 20).encode()  # ~120 KB: several chunks
    (tmp_path / "big.txt").write_bytes(big)
    (tmp_path / "small.txt").write_bytes(b"tiny")
    (tmp_path / "image.png").write_bytes(b"\x89PNG" + bytes(5000))
    app = Application(static_path=str(tmp_path), compress_response=True)
    async with client_for(app) as client:
        response, body = await raw(client, "/static/big.txt", headers=GZIP)
        assert response.headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == big
        ranged, body = await raw(
            client, "/static/big.txt", headers={**GZIP, "Range": "bytes=100-199"}
        )
        assert ranged.status_code == 206
        assert "content-encoding" not in ranged.headers
        assert body == big[100:200]
        assert ranged.headers["vary"] == "Accept-Encoding"
        small, body = await raw(client, "/static/small.txt", headers=GZIP)
        assert "content-encoding" not in small.headers
        assert body == b"tiny"
        png, _ = await raw(client, "/static/image.png", headers=GZIP)
        assert "content-encoding" not in png.headers
        unsatisfiable, _ = await raw(
            client, "/static/big.txt", headers={**GZIP, "Range": "bytes=999999-"}
        )
        assert unsatisfiable.status_code == 416
        assert "content-encoding" not in unsatisfiable.headers


class Upper(OutputTransform):
    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        headers["X-Upper"] = "1"
        if "Content-Length" in headers and not finishing:
            del headers["Content-Length"]
        return status_code, headers, chunk.upper()

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return chunk.upper()


async def test_custom_transforms() -> None:
    StreamHandler.go = trio.Event()
    app = make_app(compress_response=True, transforms=None)
    app.add_transform(Upper)
    async with client_for(app) as client:
        response, body = await raw(client, "/text", params={"size": "10"}, headers=GZIP)
        assert response.headers["x-upper"] == "1"
        assert body == BIG_TEXT[:10].upper().encode()
    # An explicit list replaces the default (no gzip here, as in Tornado).
    explicit = Application([(r"/stream", StreamHandler)], transforms=[Upper], gzip=True)
    async with client_for(explicit) as client:
        async with client.stream("GET", "/stream", headers=GZIP) as response:
            StreamHandler.go.set()
            body = b""
            async for chunk in response.aiter_raw():
                body += chunk
                StreamHandler.go.set()
        assert "content-encoding" not in response.headers
        assert body == b"".join(f"PIECE {i} ".encode() * 100 for i in range(3))


async def test_no_transform_objects_without_transforms() -> None:
    seen: list[RequestHandler] = []

    class Spy(RequestHandler):
        def get(self) -> None:
            seen.append(self)
            self.write("x")

    async with client_for(Application([(r"/", Spy)])) as client:
        await client.get("/")
    async with client_for(Application([(r"/", Spy)], compress_response=True)) as client:
        await client.get("/")
    plain, compressing = seen
    assert "_transforms" not in vars(plain)
    assert compressing._transforms is not None
    assert isinstance(compressing._transforms[0], GZipContentEncoding)


# --------------------------------------------------------------------------- unit


def test_accepts_gzip() -> None:
    assert _accepts_gzip("gzip, deflate, br")
    assert _accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1")
    assert not _accepts_gzip("gzip;q=0, identity")
    assert not _accepts_gzip("gzip;q=nonsense")
    assert not _accepts_gzip("gzipped")
    assert not _accepts_gzip("*")


def _request(accept: str | None) -> HTTPServerRequest:
    headers = HTTPHeaders()
    if accept is not None:
        headers["Accept-Encoding"] = accept
    return HTTPServerRequest(method="GET", uri="/", headers=headers)


def test_transform_whole_body() -> None:
    body = BIG_TEXT.encode()
    headers = HTTPHeaders({"Content-Type": "text/html", "Content-Length": str(len(body))})
    status, headers, out = GZipContentEncoding(_request("gzip")).transform_first_chunk(
        200, headers, body, finishing=True
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Length"] == str(len(out))
    assert gzip.decompress(out) == body


def test_transform_streamed_body() -> None:
    transform = GZipContentEncoding(_request("gzip"))
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Length": "99"})
    _, headers, first = transform.transform_first_chunk(200, headers, b"a" * 10, finishing=False)
    assert "Content-Length" not in headers
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decompressor.decompress(first) == b"a" * 10  # flushed: decodable at once
    assert transform.transform_chunk(b"", finishing=False) == b""
    middle = transform.transform_chunk(b"b" * 10, finishing=False)
    assert decompressor.decompress(middle) == b"b" * 10
    last = transform.transform_chunk(b"c", finishing=True)
    assert decompressor.decompress(last) == b"c"
    assert decompressor.eof


def test_transform_leaves_partial_content_alone() -> None:
    headers = HTTPHeaders({"Content-Type": "text/plain", "Content-Range": "bytes 0-1/9"})
    _, headers, out = GZipContentEncoding(_request("gzip")).transform_first_chunk(
        206, headers, b"ab" * 1000, finishing=False
    )
    assert out == b"ab" * 1000
    assert "Content-Encoding" not in headers
    assert headers["Vary"] == "Accept-Encoding"
