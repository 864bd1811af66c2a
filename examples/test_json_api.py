"""Tests for examples/json_api.py, as the tutorial shows them.

Run them with ``pytest examples/test_json_api.py`` (see docs/testing.md for the setup).
"""

from __future__ import annotations

import httpx
import pytest
from json_api import make_app

from trinado import web


@pytest.fixture
def app() -> web.Application:
    return make_app()


async def test_create_then_read(http_client: httpx.AsyncClient) -> None:
    response = await http_client.post("/items", json={"name": "tea", "price": 3.5})
    assert response.status_code == 201
    response = await http_client.get(response.headers["Location"])
    assert response.json() == {"id": 1, "name": "tea", "price": 3.5}


async def test_missing_item(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/items/7")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "No item 7"}}
