"""Tests of examples/tutorial/todo.py, the tutorial's last program (docs/tutorial/live.md).

Run them with ``pytest examples/tutorial``: they need pytest-trio with ``trio_mode = true``
in the pytest configuration, and httpx.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import todo
import trio

from trinado.websocket import WebSocketHandshakeError, websocket_connect

GUARD = 20


@pytest.fixture
def todo_list() -> Any:
    return todo.TodoList()


@pytest.fixture
def app(todo_list: Any) -> Any:
    return todo.make_app(todo_list)


async def sign_in(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    """Signs in through the login form, XSRF token included; returns the login's answer."""
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="_xsrf"' in page.text
    return await client.post(
        "/login",
        data={"name": name, "password": password, "_xsrf": client.cookies["_xsrf"]},
    )


@pytest.fixture
async def ada(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url) as client:
        response = await sign_in(client, "ada", "lovelace")
        assert response.status_code == 302
        yield client


async def test_pages_need_a_user(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=%2F"


async def test_wrong_password_is_refused(http_client: httpx.AsyncClient) -> None:
    response = await sign_in(http_client, "ada", "babbage")
    assert response.status_code == 403
    assert "Wrong name or password." in response.text
    assert "user" not in http_client.cookies


async def test_the_list_is_a_template(ada: httpx.AsyncClient) -> None:
    await ada.post("/", data={"text": "<b>tea</b>", "_xsrf": ada.cookies["_xsrf"]})
    page = await ada.get("/")
    assert page.status_code == 200
    assert "<title>To do</title>" in page.text  # from base.html
    assert "Signed in as ada." in page.text
    assert "<li>&lt;b&gt;tea&lt;/b&gt; <small>(ada)</small></li>" in page.text  # escaped
    assert '<script src="/static/live.js?v=' in page.text
    script = await ada.get("/static/live.js")
    assert script.status_code == 200
    assert "new WebSocket" in script.text


async def test_forms_need_the_xsrf_token(ada: httpx.AsyncClient, todo_list: Any) -> None:
    response = await ada.post("/", data={"text": "tea"})
    assert response.status_code == 403
    assert todo_list.items == []


async def test_sign_out(ada: httpx.AsyncClient) -> None:
    response = await ada.post("/logout", data={"_xsrf": ada.cookies["_xsrf"]})
    assert response.headers["location"] == "/login"
    assert (await ada.get("/")).status_code == 302


async def test_items_reach_every_open_page_live(
    ada: httpx.AsyncClient, server_url: str, todo_list: Any
) -> None:
    url = server_url.replace("http://", "ws://") + "/live"
    cookie = {"Cookie": f"user={ada.cookies['user']}"}
    with trio.fail_after(GUARD):
        async with (
            websocket_connect(url, headers=cookie) as one,
            websocket_connect(url, headers=cookie) as two,
        ):
            while len(todo_list.pages) < 2:  # noqa: ASYNC110 (open() runs server-side)
                await trio.sleep(0.01)
            # An item sent over one page's WebSocket...
            await one.write_message(json.dumps({"text": "tea"}))
            expected = {"id": 1, "text": "tea", "author": "ada"}
            assert json.loads(await one.read_message() or "") == expected
            assert json.loads(await two.read_message() or "") == expected
            # ...and one posted with the form, both reach every page.
            await ada.post("/", data={"text": "milk", "_xsrf": ada.cookies["_xsrf"]})
            expected = {"id": 2, "text": "milk", "author": "ada"}
            assert json.loads(await two.read_message() or "") == expected
        while todo_list.pages:  # noqa: ASYNC110 (on_close runs server-side)
            await trio.sleep(0.01)
    assert [item.text for item in todo_list.items] == ["tea", "milk"]


async def test_no_websocket_without_signing_in(server_url: str) -> None:
    url = server_url.replace("http://", "ws://") + "/live"
    with trio.fail_after(GUARD), pytest.raises(WebSocketHandshakeError) as caught:
        await websocket_connect(url)
    assert caught.value.code == 403
