"""StaticFileHandler over real connections: bodies, ranges, caching headers, 304s, the routes
and settings the application adds, static_url, and the overridable hooks."""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import trio
import trio.lowlevel

from trinado.static import StaticFileHandler
from trinado.testing import open_test_client as client_for
from trinado.web import Application, HTTPError, RequestHandler

UTC = datetime.timezone.utc
TEXT = b"Hello, static world!\n" * 3
CSS = b"body { color: red }\n"


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


@pytest.fixture(autouse=True)
def _fresh_versions() -> Iterator[None]:
    # The version cache is class-wide: start and end each test with it empty.
    StaticFileHandler.reset()
    yield
    StaticFileHandler.reset()


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "dir").mkdir(parents=True)
    (root / "hello.txt").write_bytes(TEXT)
    (root / "site.css").write_bytes(CSS)
    (root / "data.bin").write_bytes(os.urandom(300_000))  # several 64 KiB chunks
    (root / "empty.txt").write_bytes(b"")
    (root / "archive.tar.gz").write_bytes(b"\x1f\x8b fake")
    (root / "archive.tar.bz2").write_bytes(b"BZh fake")
    (root / "noextension").write_bytes(b"?")
    (root / "data.json").write_bytes(b"{}")
    (root / "dir" / "index.html").write_bytes(b"<p>index</p>")
    (root / "robots.txt").write_bytes(b"User-agent: *\n")
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    return root


class UrlHandler(RequestHandler):
    def get(self) -> None:
        path = self.get_argument("path")
        include_host = self.get_argument("host", None)
        kwargs: dict[str, Any] = {}
        if self.get_argument("noversion", None):
            kwargs["include_version"] = False
        self.write(
            self.static_url(
                path, include_host=None if include_host is None else include_host == "1", **kwargs
            )
        )


def make_app(static_dir: Path, **settings: Any) -> Application:
    return Application([(r"/url", UrlHandler)], static_path=str(static_dir), **settings)


@pytest.fixture
async def client(static_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(static_dir)) as c:
        yield c


def http_date(path: Path) -> str:
    return email.utils.formatdate(int(path.stat().st_mtime), usegmt=True)


# --------------------------------------------------------------------------- bodies


async def test_serves_a_file_with_its_headers(client: httpx.AsyncClient, static_dir: Path) -> None:
    response = await client.get("/static/hello.txt")
    assert response.status_code == 200
    assert response.content == TEXT
    headers = response.headers
    assert headers["content-type"] == "text/plain"
    assert headers["content-length"] == str(len(TEXT))
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"] == f'"{sha512(TEXT)}"'
    assert headers["last-modified"] == http_date(static_dir / "hello.txt")
    # Not versioned: no long-lived caching.
    assert "cache-control" not in headers
    assert "expires" not in headers


async def test_serves_a_file_of_many_chunks(client: httpx.AsyncClient, static_dir: Path) -> None:
    data = (static_dir / "data.bin").read_bytes()
    response = await client.get("/static/data.bin")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(data))
    assert response.content == data


async def test_empty_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/empty.txt")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"


async def test_head_sends_the_headers_of_get_without_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/static/data.bin")
    head = await client.head("/static/data.bin")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "accept-ranges"):
        assert head.headers[name] == get.headers[name]


async def test_other_methods_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/static/hello.txt", content=b"x")
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("site.css", "text/css"),
        ("hello.txt", "text/plain"),
        ("data.json", "application/json"),
        ("dir/index.html", "text/html"),
        ("archive.tar.gz", "application/gzip"),
        ("archive.tar.bz2", "application/octet-stream"),
        ("noextension", "application/octet-stream"),
    ],
)
async def test_content_type_from_the_name(
    client: httpx.AsyncClient, name: str, content_type: str
) -> None:
    response = await client.get(f"/static/{name}")
    assert response.headers["content-type"] == content_type


async def test_missing_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/nope.txt")).status_code == 404
    assert (await client.get("/static/dir/nope/deeper")).status_code == 404


async def test_directory_without_default_filename_is_403(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/dir")).status_code == 403
    assert (await client.get("/static/dir/")).status_code == 403
    assert (await client.get("/static/")).status_code == 403


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "piece"),
    [
        ("bytes=0-9", 206, "bytes 0-9/300000", slice(0, 10)),
        ("bytes=10-10", 206, "bytes 10-10/300000", slice(10, 11)),
        ("bytes=-5", 206, "bytes 299995-299999/300000", slice(299995, None)),
        ("bytes=299990-", 206, "bytes 299990-299999/300000", slice(299990, None)),
        # Across chunk boundaries.
        ("bytes=60000-140000", 206, "bytes 60000-140000/300000", slice(60000, 140001)),
        # Past the end: capped at the end.
        ("bytes=299000-400000", 206, "bytes 299000-299999/300000", slice(299000, None)),
        # A suffix longer than the file is the whole file.
        ("bytes=-400000", 200, None, slice(None)),
        # The whole file as a range is a 200.
        ("bytes=0-", 200, None, slice(None)),
        ("bytes=0-299999", 200, None, slice(None)),
        # Malformed or unsupported: ignored.
        ("bytes=abc", 200, None, slice(None)),
        ("bytes=0-1,5-6", 200, None, slice(None)),
        ("items=0-5", 200, None, slice(None)),
        ("bytes=", 200, None, slice(None)),
    ],
)
async def test_ranges(
    client: httpx.AsyncClient,
    static_dir: Path,
    range_header: str,
    status: int,
    content_range: str | None,
    piece: slice,
) -> None:
    data = (static_dir / "data.bin").read_bytes()
    response = await client.get("/static/data.bin", headers={"Range": range_header})
    assert response.status_code == status
    assert response.headers.get("content-range") == content_range
    assert response.content == data[piece]
    assert response.headers["content-length"] == str(len(data[piece]))
    # The ETag is the whole file's, ranges or not.
    assert response.headers["etag"] == f'"{sha512(data)}"'


@pytest.mark.parametrize(
    "range_header", ["bytes=300000-", "bytes=400000-500000", "bytes=-0", "bytes=5-2"]
)
async def test_unsatisfiable_ranges_are_416(client: httpx.AsyncClient, range_header: str) -> None:
    response = await client.get("/static/data.bin", headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */300000"
    assert response.headers["content-type"] == "text/plain"


async def test_range_on_head(client: httpx.AsyncClient) -> None:
    response = await client.head("/static/data.bin", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["content-length"] == "100"
    assert response.content == b""


# --------------------------------------------------------------------------- caching


async def test_etag_match_is_304(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/static/hello.txt")).headers["etag"]
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get("/static/hello.txt", headers={"If-None-Match": value})
        assert response.status_code == 304, value
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "content-type" not in response.headers


async def test_if_modified_since(client: httpx.AsyncClient, static_dir: Path) -> None:
    mtime = int((static_dir / "hello.txt").stat().st_mtime)
    cases = {
        email.utils.formatdate(mtime, usegmt=True): 304,
        email.utils.formatdate(mtime + 3600, usegmt=True): 304,
        email.utils.formatdate(mtime - 3600, usegmt=True): 200,
        "not a date": 200,
        "": 200,
    }
    for value, status in cases.items():
        response = await client.get("/static/hello.txt", headers={"If-Modified-Since": value})
        assert response.status_code == status, value


async def test_if_none_match_takes_precedence(client: httpx.AsyncClient, static_dir: Path) -> None:
    mtime = int((static_dir / "hello.txt").stat().st_mtime)
    later = email.utils.formatdate(mtime + 3600, usegmt=True)
    response = await client.get(
        "/static/hello.txt", headers={"If-None-Match": '"stale"', "If-Modified-Since": later}
    )
    assert response.status_code == 200
    assert response.content == TEXT


async def test_versioned_url_is_cached_for_ten_years(client: httpx.AsyncClient) -> None:
    url = (await client.get("/url", params={"path": "hello.txt"})).text
    assert url == f"/static/hello.txt?v={sha512(TEXT)}"
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == TEXT
    assert response.headers["cache-control"] == "max-age=315360000"
    expires = email.utils.parsedate_to_datetime(response.headers["expires"])
    remaining = expires - datetime.datetime.now(UTC)
    assert datetime.timedelta(days=3649) < remaining <= datetime.timedelta(days=3651)


# --------------------------------------------------------------------------- directories


async def test_default_filename_redirects_then_serves(static_dir: Path) -> None:
    app = make_app(static_dir, static_handler_args={"default_filename": "index.html"})
    async with client_for(app) as client:
        response = await client.get("/static/dir")
        assert response.status_code == 301
        assert response.headers["location"] == "/static/dir/"
        response = await client.get("/static/dir/")
        assert response.status_code == 200
        assert response.content == b"<p>index</p>"
        assert response.headers["content-type"] == "text/html"


# --------------------------------------------------------------------------- routes, settings


async def test_favicon_and_robots_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/robots.txt")).content == b"User-agent: *\n"
    favicon = await client.get("/favicon.ico")
    assert favicon.content == b"\x00\x00\x01\x00"
    assert favicon.headers["content-type"] in ("image/vnd.microsoft.icon", "image/x-icon")


async def test_static_routes_come_before_the_application_routes(static_dir: Path) -> None:
    class CatchAll(RequestHandler):
        def get(self, path: str) -> None:
            self.write("catch-all")

    app = Application([(r"/(.*)", CatchAll)], static_path=str(static_dir))
    async with client_for(app) as client:
        assert (await client.get("/static/hello.txt")).content == TEXT
        assert (await client.get("/other")).content == b"catch-all"


async def test_static_url_prefix(static_dir: Path) -> None:
    app = make_app(static_dir, static_url_prefix="/assets/")
    async with client_for(app) as client:
        url = (await client.get("/url", params={"path": "site.css"})).text
        assert url.startswith("/assets/site.css?v=")
        assert (await client.get(url)).content == CSS
        assert (await client.get("/static/site.css")).status_code == 404


async def test_static_handler_class_serves_and_builds_urls(static_dir: Path) -> None:
    class Custom(StaticFileHandler):
        def set_extra_headers(self, path: str) -> None:
            self.set_header("X-Served-By", f"custom:{path}")

        @classmethod
        def make_static_url(
            cls, settings: dict[str, Any], path: str, include_version: bool = True
        ) -> str:
            return f"/static/{path}#custom"

    app = make_app(static_dir, static_handler_class=Custom)
    async with client_for(app) as client:
        assert (await client.get("/url", params={"path": "a.css"})).text == "/static/a.css#custom"
        response = await client.get("/static/site.css")
        assert response.headers["x-served-by"] == "custom:site.css"
        assert (await client.get("/robots.txt")).headers["x-served-by"] == "custom:robots.txt"


async def test_static_handler_args_are_not_mutated(static_dir: Path) -> None:
    args = {"default_filename": "index.html"}
    make_app(static_dir, static_handler_args=args)
    assert args == {"default_filename": "index.html"}


async def test_extra_route_with_its_own_directory(static_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_bytes(b"other")
    app = Application([(r"/content/(.*)", StaticFileHandler, {"path": str(other)})])
    async with client_for(app) as client:
        assert (await client.get("/content/x.txt")).content == b"other"
        assert (await client.get("/content/hello.txt")).status_code == 404


# --------------------------------------------------------------------------- static_url


async def test_static_url_options(client: httpx.AsyncClient) -> None:
    port = client.base_url.port
    plain = (await client.get("/url", params={"path": "site.css", "noversion": "1"})).text
    assert plain == "/static/site.css"
    absolute = (await client.get("/url", params={"path": "site.css", "host": "1"})).text
    assert absolute == f"http://127.0.0.1:{port}/static/site.css?v={sha512(CSS)}"
    missing = (await client.get("/url", params={"path": "nope.css"})).text
    assert missing == "/static/nope.css"  # no version for a missing file


async def test_static_url_include_host_attribute(static_dir: Path) -> None:
    class HostHandler(RequestHandler):
        include_host = True

        def get(self) -> None:
            self.write(self.static_url("site.css", include_version=False))

    app = Application([(r"/", HostHandler)], static_path=str(static_dir))
    async with client_for(app) as client:
        response = await client.get("/")
        assert response.text == f"http://127.0.0.1:{client.base_url.port}/static/site.css"


async def test_static_url_outside_the_directory_is_403(client: httpx.AsyncClient) -> None:
    response = await client.get("/url", params={"path": "../outside.txt"})
    assert response.status_code == 403


async def test_static_url_needs_static_path() -> None:
    class NoSetting(RequestHandler):
        def get(self) -> None:
            try:
                self.static_url("x.css")
            except Exception as exc:
                self.write(str(exc))

    async with client_for(Application([(r"/", NoSetting)])) as client:
        text = (await client.get("/")).text
    assert "static_path" in text


async def test_versions_are_cached_unless_static_hash_cache_is_off(static_dir: Path) -> None:
    for cached in (True, False):
        StaticFileHandler.reset()
        (static_dir / "site.css").write_bytes(CSS)
        app = make_app(static_dir, static_hash_cache=cached)
        async with client_for(app) as client:
            first = (await client.get("/url", params={"path": "site.css"})).text
            (static_dir / "site.css").write_bytes(b"changed")
            second = (await client.get("/url", params={"path": "site.css"})).text
            etag = (await client.get("/static/site.css")).headers["etag"]
        assert first == f"/static/site.css?v={sha512(CSS)}"
        if cached:
            assert second == first
            assert etag == f'"{sha512(CSS)}"'
        else:
            assert second == f"/static/site.css?v={sha512(b'changed')}"
            assert etag == f'"{sha512(b"changed")}"'


async def test_debug_turns_the_version_cache_off(static_dir: Path) -> None:
    app = make_app(static_dir, debug=True, autoreload=False)
    assert app.settings["static_hash_cache"] is False


def test_version_cache_keeps_the_most_recently_used(static_dir: Path) -> None:
    class Small(StaticFileHandler):
        MAX_CACHED_VERSIONS = 2
        _static_hashes: ClassVar[dict[str, str | None]] = {}  # the class's own cache

    settings = {"static_path": str(static_dir)}
    assert Small.get_version(settings, "site.css") == sha512(CSS)
    Small.get_version(settings, "hello.txt")
    Small.get_version(settings, "site.css")  # site.css is now the most recent
    Small.get_version(settings, "robots.txt")  # pushes hello.txt out
    cached = {Path(p).name for p in Small._static_hashes}
    assert cached == {"site.css", "robots.txt"}
    Small.reset()
    assert Small._static_hashes == {}


async def test_large_files_get_no_version(static_dir: Path) -> None:
    class Limited(StaticFileHandler):
        MAX_VERSION_CONTENT_SIZE = 100

    app = make_app(static_dir, static_handler_class=Limited)
    async with client_for(app) as client:
        url = (await client.get("/url", params={"path": "data.bin"})).text
        assert url == "/static/data.bin"
        response = await client.get("/static/data.bin")
        assert response.status_code == 200
        assert "etag" not in response.headers
        assert len(response.content) == 300_000
        # Small files still get one.
        assert (await client.get("/static/site.css")).headers["etag"] == f'"{sha512(CSS)}"'


# --------------------------------------------------------------------------- hooks


async def test_sync_generator_get_content_runs_in_worker_threads(static_dir: Path) -> None:
    threads: set[int] = set()

    class Generating(StaticFileHandler):
        @classmethod
        def get_content(
            cls, abspath: str, start: int | None = None, end: int | None = None
        ) -> Iterator[bytes]:
            for chunk in super().get_content(abspath, start, end):
                threads.add(threading.get_ident())
                yield chunk.upper()

    app = Application([(r"/(.*)", Generating, {"path": str(static_dir)})])
    async with client_for(app) as client:
        response = await client.get("/hello.txt")
        ranged = await client.get("/hello.txt", headers={"Range": "bytes=0-4"})
    assert response.content == TEXT.upper()
    assert ranged.content == b"HELLO"
    assert threads
    assert threading.get_ident() not in threads


async def test_get_content_may_return_bytes_or_an_async_iterable(static_dir: Path) -> None:
    class Whole(StaticFileHandler):
        @classmethod
        def get_content(  # type: ignore[override]
            cls, abspath: str, start: int | None = None, end: int | None = None
        ) -> bytes:
            return Path(abspath).read_bytes()[start:end]

    class Streamed(StaticFileHandler):
        _static_hashes: ClassVar[dict[str, str | None]] = {}  # its own version cache

        @classmethod
        async def get_content(  # type: ignore[override]
            cls, abspath: str, start: int | None = None, end: int | None = None
        ) -> AsyncIterator[bytes]:
            data = TEXT[start:end]
            for i in range(0, len(data), 7):
                await trio.lowlevel.checkpoint()
                yield data[i : i + 7]

        @classmethod
        def get_content_version(cls, abspath: str) -> str:
            return "fixed"

    app = Application(
        [
            (r"/whole/(.*)", Whole, {"path": str(static_dir)}),
            (r"/streamed/(.*)", Streamed, {"path": str(static_dir)}),
        ]
    )
    async with client_for(app) as client:
        for prefix in ("/whole", "/streamed"):
            assert (await client.get(f"{prefix}/hello.txt")).content == TEXT
            ranged = await client.get(f"{prefix}/hello.txt", headers={"Range": "bytes=-6"})
            assert ranged.content == TEXT[-6:]
        assert (await client.get("/streamed/hello.txt")).headers["etag"] == '"fixed"'


async def test_content_from_somewhere_else_than_files() -> None:
    pages = {"a.txt": b"page a", "b.txt": b"page b"}
    modified = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)

    class MemoryHandler(StaticFileHandler):
        @classmethod
        def get_absolute_path(cls, root: str, path: str) -> str:
            return path

        def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
            if absolute_path not in pages:
                raise HTTPError(404)
            return absolute_path

        @classmethod
        def get_content(  # type: ignore[override]
            cls, abspath: str, start: int | None = None, end: int | None = None
        ) -> bytes:
            return pages[abspath][start:end]

        @classmethod
        def get_content_version(cls, abspath: str) -> str:
            return hashlib.md5(pages[abspath]).hexdigest()

        def get_content_size(self) -> int:
            assert self.absolute_path is not None
            return len(pages[self.absolute_path])

        def get_modified_time(self) -> datetime.datetime | None:
            return modified

    app = Application([(r"/mem/(.*)", MemoryHandler, {"path": "unused"})])
    async with client_for(app) as client:
        response = await client.get("/mem/a.txt")
        assert response.content == b"page a"
        assert response.headers["etag"] == f'"{hashlib.md5(b"page a").hexdigest()}"'
        assert response.headers["last-modified"] == "Thu, 02 Jan 2020 03:04:05 GMT"
        assert response.headers["content-type"] == "text/plain"
        assert (await client.get("/mem/b.txt", headers={"Range": "bytes=5-"})).content == b"b"
        assert (await client.get("/mem/c.txt")).status_code == 404
        since = await client.get(
            "/mem/a.txt", headers={"If-Modified-Since": "Fri, 03 Jan 2020 00:00:00 GMT"}
        )
        assert since.status_code == 304


async def test_cache_time_and_extra_headers_hooks(static_dir: Path) -> None:
    seen: list[tuple[str, datetime.datetime | None, str]] = []

    class Hooks(StaticFileHandler):
        def get_cache_time(
            self, path: str, modified: datetime.datetime | None, mime_type: str
        ) -> int:
            seen.append((path, modified, mime_type))
            return 60

    app = Application([(r"/(.*)", Hooks, {"path": str(static_dir)})])
    async with client_for(app) as client:
        response = await client.get("/site.css")
    assert response.headers["cache-control"] == "max-age=60"
    assert seen[0][0] == "site.css"
    assert seen[0][2] == "text/css"
    assert seen[0][1] == datetime.datetime.fromtimestamp(
        int((static_dir / "site.css").stat().st_mtime), UTC
    )


# --------------------------------------------------------------------------- symlinks


async def test_symlinks_inside_the_root_are_followed(static_dir: Path) -> None:
    (static_dir / "alias.txt").symlink_to(static_dir / "hello.txt")
    (static_dir / "dirlink").symlink_to(static_dir / "dir", target_is_directory=True)
    async with client_for(make_app(static_dir)) as client:
        assert (await client.get("/static/alias.txt")).content == TEXT
        assert (await client.get("/static/dirlink/index.html")).content == b"<p>index</p>"


async def test_allowed_symlink_directory(static_dir: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lib.js").write_bytes(b"lib()")
    (static_dir / "lib.js").symlink_to(shared / "lib.js")
    for allowed, status in (
        (None, 403),
        (str(shared), 200),
        ([str(tmp_path / "x"), str(shared)], 200),
    ):
        args: dict[str, Any] = {"path": str(static_dir)}
        if allowed is not None:
            args["allowed_symlink_directory"] = allowed
        app = Application([(r"/(.*)", StaticFileHandler, args)])
        async with client_for(app) as client:
            assert (await client.get("/lib.js")).status_code == status, allowed


# --------------------------------------------------------------------------- the example


def _load_example() -> Any:
    import importlib.util
    import sys

    name = "_example_static_site"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "examples" / "static_site.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def test_example_site() -> None:
    example = _load_example()
    css = (example.HERE / "static" / "site.css").read_bytes()
    notes = (example.HERE / "downloads" / "notes.txt").read_bytes()
    async with client_for(example.make_app()) as client:
        page = await client.get("/")
        css_url = f"/static/site.css?v={sha512(css)}"
        assert f'href="{css_url}"' in page.text
        styled = await client.get(css_url)
        assert styled.content == css
        assert styled.headers["cache-control"] == "max-age=315360000"
        guide = await client.get("/static/guide")
        assert guide.status_code == 301
        assert guide.headers["location"] == "/static/guide/"
        assert b"default_filename" in (await client.get("/static/guide/")).content
        assert (await client.get("/robots.txt")).text.startswith("User-agent: *")
        ranged = await client.get("/downloads/notes.txt", headers={"Range": "bytes=0-41"})
        assert ranged.status_code == 206
        assert ranged.content == notes[:42]
        assert ranged.headers["content-disposition"] == 'attachment; filename="notes.txt"'
        assert ranged.headers["cache-control"] == "max-age=3600"
        compressed = await client.get("/downloads/notes.txt", headers={"Accept-Encoding": "gzip"})
        assert compressed.headers["content-encoding"] == "gzip"
        assert compressed.content == notes  # httpx decodes it
