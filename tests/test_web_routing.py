"""Arguments, path arguments, routing, methods and the application's own handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from trinado.httputil import HTTPServerRequest
from trinado.routing import HostMatches, url
from trinado.testing import open_test_client as client_for
from trinado.web import Application, MissingArgumentError, RequestHandler


class ArgsHandler(RequestHandler):
    def post(self) -> None:
        self.write(
            {
                "argument": self.get_argument("a"),
                "arguments": self.get_arguments("a"),
                "query": self.get_query_argument("a"),
                "query_all": self.get_query_arguments("a"),
                "body": self.get_body_argument("a"),
                "body_all": self.get_body_arguments("a"),
                "default": self.get_argument("missing", "dflt"),
                "none": self.get_argument("missing", None),
                "unstripped": self.get_argument("s", strip=False),
                "stripped": self.get_argument("s"),
                "controls": self.get_argument("c", strip=False),
            }
        )

    def get(self) -> None:
        name = self.get_argument("which")
        try:
            self.get_query_argument(name)
        except MissingArgumentError as exc:
            self.write(f"{exc.arg_name} {exc.status_code} {exc}")


class RequiredHandler(RequestHandler):
    def get(self) -> None:
        self.write(self.get_argument("needed"))


class Latin1Handler(RequestHandler):
    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        return value.decode("latin-1")

    def get(self, part: str) -> None:
        self.write(f"{part}|{self.get_argument('q')}")


class PathHandler(RequestHandler):
    def get(self, *args: Any, **kwargs: Any) -> None:
        self.write({"args": list(args), "kwargs": kwargs, "path_args": self.path_args})


class InitHandler(RequestHandler):
    def initialize(self, word: str, times: int = 1) -> None:
        self.word = word
        self.times = times

    def get(self) -> None:
        self.write(self.word * self.times)


class ReverseHandler(RequestHandler):
    def get(self) -> None:
        self.write(
            {
                "item": self.reverse_url("item", 42),
                "escaped": self.reverse_url("item", "a b/c"),
                "app": self.application.reverse_url("plain"),
            }
        )


class GetOnlyHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PATCH")

    def get(self) -> None:
        self.write("get")


class PrepareHandler(RequestHandler):
    def prepare(self) -> None:
        self.prepared = True

    def put(self) -> None:
        self.write("put")


class OptionsHandler(RequestHandler):
    def options(self) -> None:
        self.set_header("Allow", "GET, OPTIONS")
        self.set_status(204)


def make_app(**settings: Any) -> Application:
    return Application(
        [
            (r"/args", ArgsHandler),
            (r"/required", RequiredHandler),
            (r"/latin1/(.*)", Latin1Handler),
            (r"/unnamed/([^/]+)/([^/]+)", PathHandler),
            (r"/named/(?P<first>[^/]+)/(?P<second>[^/]+)", PathHandler),
            (r"/optional/([a-z]+)?", PathHandler),
            (r"/init", InitHandler, {"word": "ab", "times": 3}),
            url(r"/items/([0-9a-z %/]+)", PathHandler, name="item"),
            url(r"/plain", PathHandler, name="plain"),
            (r"/reverse", ReverseHandler),
            (r"/get_only", GetOnlyHandler),
            (r"/prepare", PrepareHandler),
            (r"/options", OptionsHandler),
        ],
        **settings,
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app()) as client:
        yield client


async def test_argument_precedence_query_then_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/args?a=q1&a=q2&s=%20pad%20&c=x%01y%1fz%09t",
        data={"a": ["b1", "b2"]},
    )
    assert response.json() == {
        "argument": "b2",
        "arguments": ["q1", "q2", "b1", "b2"],
        "query": "q2",
        "query_all": ["q1", "q2"],
        "body": "b2",
        "body_all": ["b1", "b2"],
        "default": "dflt",
        "none": None,
        "unstripped": " pad ",
        "stripped": "pad",
        "controls": "x y z\tt",
    }


async def test_missing_argument_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/args", params={"which": "nope"})
    assert response.text == "nope 400 HTTP 400: Bad Request (Missing argument nope)"


async def test_missing_argument_is_400(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/required")
    assert response.status_code == 400
    assert "400: Bad Request" in response.text
    messages = [r.getMessage() for r in caplog.records if r.name == "trinado.general"]
    assert messages == ["400 GET /required (127.0.0.1): Missing argument needed"]


async def test_invalid_utf8_argument_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/required?needed=%FF")
    assert response.status_code == 400


async def test_decode_argument_override(client: httpx.AsyncClient) -> None:
    response = await client.get("/latin1/%E9t%E9?q=%E9")
    assert response.text == "été|é"


async def test_unnamed_path_arguments_are_unescaped(client: httpx.AsyncClient) -> None:
    response = await client.get("/unnamed/a%20b/%C3%A9%2F")
    assert response.json() == {"args": ["a b", "é/"], "kwargs": {}, "path_args": ["a b", "é/"]}


async def test_named_path_arguments(client: httpx.AsyncClient) -> None:
    response = await client.get("/named/one/t%77o")
    assert response.json() == {
        "args": [],
        "kwargs": {"first": "one", "second": "two"},
        "path_args": [],
    }


async def test_optional_group_that_does_not_match_is_none(client: httpx.AsyncClient) -> None:
    response = await client.get("/optional/")
    assert response.json()["args"] == [None]


async def test_invalid_utf8_in_path_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/unnamed/%FF/x")
    assert response.status_code == 400


async def test_initialize_receives_route_kwargs(client: httpx.AsyncClient) -> None:
    response = await client.get("/init")
    assert response.text == "ababab"


async def test_reverse_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/reverse")
    assert response.json() == {"item": "/items/42", "escaped": "/items/a%20b/c", "app": "/plain"}
    with pytest.raises(KeyError, match="nope not found in named urls"):
        make_app().reverse_url("nope")


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/nowhere", content=b"ignored body")
    assert response.status_code == 404
    assert response.text == "<html><title>404: Not Found</title><body>404: Not Found</body></html>"


async def test_unimplemented_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/get_only")
    assert response.status_code == 405
    assert response.reason_phrase == "Method Not Allowed"
    response = await client.delete("/get_only")
    assert response.status_code == 405
    response = await client.request("PROPFIND", "/get_only")
    assert response.status_code == 405
    response = await client.get("/get_only")
    assert response.text == "get"


async def test_405_comes_after_prepare_for_a_supported_method(client: httpx.AsyncClient) -> None:
    response = await client.get("/prepare")
    assert response.status_code == 405
    response = await client.put("/prepare", content=b"")
    assert response.text == "put"


async def test_options_handler(client: httpx.AsyncClient) -> None:
    response = await client.options("/options")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS"


class HostHandler(RequestHandler):
    def initialize(self, name: str) -> None:
        self.name = name

    def get(self) -> None:
        self.write(self.name)


def host_app(default_host: str | None = None) -> Application:
    app = Application(
        [(r"/", HostHandler, {"name": "wildcard"})],
        default_host=default_host,
    )
    app.add_handlers(r"www\.example\.com", [(r"/", HostHandler, {"name": "www"})])
    app.add_handlers(r".*\.example\.com", [(r"/", HostHandler, {"name": "any-example"})])
    app.add_handlers(r"only\.example\.org", [(r"/only", HostHandler, {"name": "only"})])
    return app


async def test_host_rules_in_order() -> None:
    async with client_for(host_app()) as client:
        assert (await client.get("/", headers={"Host": "www.example.com"})).text == "www"
        assert (await client.get("/", headers={"Host": "WWW.example.com:80"})).text == "www"
        assert (await client.get("/", headers={"Host": "api.example.com"})).text == "any-example"
        assert (await client.get("/", headers={"Host": "other.net"})).text == "wildcard"
        # A host rule without a matching path falls through to the wildcard rules.
        assert (await client.get("/", headers={"Host": "only.example.org"})).text == "wildcard"
        response = await client.get("/only", headers={"Host": "only.example.org"})
        assert response.text == "only"


async def test_default_host_serves_its_routes_for_unknown_hosts() -> None:
    async with client_for(host_app(default_host="only.example.org")) as client:
        assert (await client.get("/only", headers={"Host": "other.net"})).text == "only"
        behind_proxy = await client.get(
            "/only", headers={"Host": "other.net", "X-Real-Ip": "10.0.0.1"}
        )
        assert behind_proxy.status_code == 404


class NotFoundHandler(RequestHandler):
    def initialize(self, message: str) -> None:
        self.message = message

    def prepare(self) -> None:
        self.set_status(404)
        self.finish(self.message)


async def test_default_handler_class() -> None:
    app = Application(
        [(r"/", HostHandler, {"name": "home"})],
        default_handler_class=NotFoundHandler,
        default_handler_args={"message": "custom not found"},
    )
    async with client_for(app) as client:
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.text == "custom not found"


async def test_nested_rules_and_callable_targets() -> None:
    inner = Application([(r"/inner/x", HostHandler, {"name": "inner app"})], inner_setting=1)

    async def raw_target(request: HTTPServerRequest) -> None:
        await inner.handle_request(request)

    app = Application(
        [
            (HostMatches(r"nested\.test"), [(r"/", HostHandler, {"name": "nested"})]),
            (r"/inner/.*", inner),
            (r"/raw/(.*)", raw_target),
        ]
    )
    async with client_for(app) as client:
        assert (await client.get("/", headers={"Host": "nested.test"})).text == "nested"
        assert (await client.get("/inner/x")).text == "inner app"
        assert (await client.get("/inner/y")).status_code == 404
        assert (await client.get("/raw/z")).status_code == 404


def test_transforms_default_to_gzip_only_when_compress_response_is_set() -> None:
    # (The transforms themselves are tested in test_compression.py.)
    from trinado.web import GZipContentEncoding, OutputTransform

    assert Application().transforms == []
    assert Application(compress_response=True).transforms == [GZipContentEncoding]
    assert Application(gzip=True).transforms == [GZipContentEncoding]
    assert Application(transforms=[OutputTransform], gzip=True).transforms == [OutputTransform]


def test_web_exports() -> None:
    import trinado.web

    for name in trinado.web.__all__:
        assert getattr(trinado.web, name) is not None
    assert trinado.web.url is trinado.web.URLSpec
