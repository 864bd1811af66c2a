"""AFTER: examples/test_porting_tornado.py ported to trinado's pytest plugin.

Run it with ``pytest examples/test_porting_trinado.py``: it needs pytest-trio with
``trio_mode = true`` in the pytest configuration, and httpx.
"""

from __future__ import annotations

import httpx
import pytest
import trio
from porting_trinado import make_app

from trinado import web


@pytest.fixture
def app(nursery: trio.Nursery) -> web.Application:
    return make_app(nursery)


async def test_count(http_client: httpx.AsyncClient) -> None:
    response = await http_client.get("/count", params={"n": "3"})
    assert response.text == "1\n2\n3\n"
