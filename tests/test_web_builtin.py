"""Built-in handlers (RedirectHandler, ErrorHandler, FallbackHandler) and the decorators."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio.lowlevel

from trinado.testing import open_test_client as client_for
from trinado.web import (
    Application,
    ErrorHandler,
    FallbackHandler,
    RedirectHandler,
    RequestHandler,
    addslash,
    authenticated,
    removeslash,
)


class EchoHandler(RequestHandler):
    def initialize(self, name: str = "echo") -> None:
        self.name = name

    async def post(self, rest: str) -> None:
        self.write(f"{self.name}:{rest}:{self.request.body.decode()}")

    def get(self, rest: str) -> None:
        self.write(f"{self.name}:{rest}")


class SlashHandler(RequestHandler):
    @addslash
    def get(self) -> None:
        self.write(f"add {self.request.uri}")

    @removeslash
    async def post(self) -> None:
        self.write(f"remove {self.request.uri}")

    @removeslash
    async def put(self) -> None:
        self.write("put")

    @addslash
    async def delete(self) -> None:
        self.write("delete")


class RemoveSlashGetHandler(RequestHandler):
    @removeslash
    def get(self) -> None:
        self.write(f"remove {self.request.uri}")


class UserHandler(RequestHandler):
    def get_current_user(self) -> Any:
        return self.get_cookie("user")

    @authenticated
    async def get(self) -> None:
        self.write(f"hello {self.current_user}")

    @authenticated
    def post(self) -> None:
        self.write("posted")


class AbsoluteLoginHandler(UserHandler):
    def get_login_url(self) -> str:
        return "https://login.example.com/auth"


class QueryLoginHandler(UserHandler):
    def get_login_url(self) -> str:
        return "/login?from=app"


class PrepareUserHandler(RequestHandler):
    async def prepare(self) -> None:
        await trio.lowlevel.checkpoint()
        self.current_user = self.request.headers.get("X-User")

    @authenticated
    def get(self) -> None:
        self.write(f"user {self.current_user}")


def make_app() -> Application:
    fallback = Application([(r"/fb/(.*)", EchoHandler, {"name": "fallback"})])
    return Application(
        [
            (r"/old", RedirectHandler, {"url": "/new"}),
            (r"/temp", RedirectHandler, {"url": "/new", "permanent": False}),
            (r"/swap/(.*?)/(.*?)/(.*)", RedirectHandler, {"url": "/{1}/{0}/{2}"}),
            (r"/named/(?P<id>[0-9]+)", RedirectHandler, {"url": "/items/{id}"}),
            (r"/open/(.*)", RedirectHandler, {"url": "/{0}/b"}),
            (r"/abs/(.*)", RedirectHandler, {"url": "https://example.com/{0}"}),
            (r"/teapot", ErrorHandler, {"status_code": 418}),
            (r"/fb/.*", FallbackHandler, {"fallback": fallback}),
            (r"/slash/?", SlashHandler),
            (r"/rs/*", RemoveSlashGetHandler),
            (r"/user", UserHandler),
            (r"/abs_user", AbsoluteLoginHandler),
            (r"/query_user", QueryLoginHandler),
            (r"/prepare_user", PrepareUserHandler),
        ],
        login_url="/login",
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app()) as client:
        yield client


async def test_redirect_handler_permanent_and_temporary(client: httpx.AsyncClient) -> None:
    response = await client.get("/old")
    assert response.status_code == 301
    assert response.headers["location"] == "/new"
    response = await client.get("/temp")
    assert response.status_code == 302


async def test_redirect_handler_substitutes_groups_and_keeps_the_query(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/swap/a/b/c/d?x=1&x=2&y=%20")
    assert response.headers["location"] == "/b/a/c/d?x=1&x=2&y=+"
    response = await client.get("/named/42")
    assert response.headers["location"] == "/items/42"
    response = await client.get("/abs/path?q=1")
    assert response.headers["location"] == "https://example.com/path?q=1"


async def test_redirect_handler_refuses_to_change_the_host(client: httpx.AsyncClient) -> None:
    # "/{0}/b" with "/evil.example" would be "//evil.example/b": another host.
    response = await client.get("/open//evil.example")
    assert response.status_code == 400
    response = await client.get("/open/%5Cevil.example")
    assert response.status_code == 400
    response = await client.get("/open/fine")
    assert response.headers["location"] == "/fine/b"


async def test_redirect_handler_only_answers_get(client: httpx.AsyncClient) -> None:
    response = await client.post("/old")
    assert response.status_code == 405


async def test_error_handler(client: httpx.AsyncClient) -> None:
    response = await client.post("/teapot", content=b"x")
    assert response.status_code == 418


async def test_fallback_handler_passes_the_request_on(client: httpx.AsyncClient) -> None:
    response = await client.post("/fb/anything", content=b"the body")
    assert response.text == "fallback:anything:the body"
    response = await client.get("/fb/x%20y")
    assert response.text == "fallback:x y"


async def test_addslash(client: httpx.AsyncClient) -> None:
    response = await client.get("/slash?a=1")
    assert response.status_code == 301
    assert response.headers["location"] == "/slash/?a=1"
    response = await client.get("/slash/")
    assert response.text == "add /slash/"
    response = await client.delete("/slash")
    assert response.status_code == 404
    response = await client.delete("/slash/")
    assert response.text == "delete"


async def test_removeslash(client: httpx.AsyncClient) -> None:
    response = await client.get("/rs///?b=2")
    assert response.status_code == 301
    assert response.headers["location"] == "/rs?b=2"
    response = await client.get("/rs")
    assert response.text == "remove /rs"
    response = await client.post("/slash/")
    assert response.status_code == 404
    response = await client.post("/slash")
    assert response.text == "remove /slash"


async def test_slash_decorators_refuse_protocol_relative_redirects() -> None:
    app = Application([(r"/+.*", RemoveSlashGetHandler)])
    async with client_for(app) as client:
        response = await client.get(f"{client.base_url}//evil.example//")
        assert response.request.url.path == "//evil.example//"
    assert response.status_code == 403


def test_decorators_keep_coroutine_functions() -> None:
    assert inspect.iscoroutinefunction(SlashHandler.post)
    assert not inspect.iscoroutinefunction(SlashHandler.get)
    assert inspect.iscoroutinefunction(UserHandler.get)
    assert SlashHandler.post.__name__ == "post"


async def test_authenticated_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/user?x=1")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=%2Fuser%3Fx%3D1"
    response = await client.post("/user")
    assert response.status_code == 403
    response = await client.get("/user", headers={"Cookie": "user=ann"})
    assert response.text == "hello ann"
    response = await client.post("/user", headers={"Cookie": "user=ann"})
    assert response.text == "posted"


async def test_authenticated_absolute_login_url_gets_the_full_url(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/abs_user?x=1")
    port = client.base_url.port
    assert response.headers["location"] == (
        f"https://login.example.com/auth?next=http%3A%2F%2F127.0.0.1%3A{port}%2Fabs_user%3Fx%3D1"
    )


async def test_authenticated_login_url_with_query_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/query_user")
    assert response.headers["location"] == "/login?from=app"


async def test_current_user_set_in_async_prepare(client: httpx.AsyncClient) -> None:
    response = await client.get("/prepare_user", headers={"X-User": "bob"})
    assert response.text == "user bob"
    response = await client.get("/prepare_user")
    assert response.status_code == 302


async def test_authenticated_without_login_url_is_500(caplog: pytest.LogCaptureFixture) -> None:
    app = Application([(r"/user", UserHandler)])
    async with client_for(app) as client:
        response = await client.get("/user")
    assert response.status_code == 500
    assert "You must define the 'login_url' setting" in caplog.text
