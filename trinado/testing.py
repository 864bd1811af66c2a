"""Testing trinado applications with pytest: fixtures that serve your app for real.

Installing trinado registers this module as a pytest plugin. Define an ``app`` fixture
and use ``http_client``; the server runs on 127.0.0.1, port 0, inside the test's own
nursery, and stops when the test ends (from ``examples/test_helloworld.py``)::

    @pytest.fixture
    def app() -> web.Application:
        return make_app()


    async def test_home(http_client: httpx.AsyncClient) -> None:
        response = await http_client.get("/")
        assert response.text == "Hello, world"

Tests need pytest-trio (``trio_mode = true``) and, for ``http_client``, httpx.

Fixtures:
    http_server: the running :class:`~trinado.httpserver.HTTPServer` serving ``app``.
    http_server_options: override to pass options (timeouts, limits, ...) to the server.
    server_url: ``"http://127.0.0.1:<port>"`` of that server.
    http_client: an ``httpx.AsyncClient`` whose ``base_url`` is the server.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
import trio

from .httpserver import HTTPServer, serve

if TYPE_CHECKING:
    import httpx

__all__ = [
    "http_client",
    "http_server",
    "http_server_options",
    "open_test_client",
    "open_test_server",
    "server_url",
]


@asynccontextmanager
async def open_test_server(app: Any, **server_options: Any) -> AsyncIterator[HTTPServer]:
    """Serve ``app`` on 127.0.0.1 on a free port for the duration of the block.

    Args:
        app: an Application or an async request callable.
        **server_options: passed to :func:`trinado.httpserver.serve`.

    Yields:
        The running server; ``server.port`` is the port it listens on.
    """
    error: Exception | None = None
    async with trio.open_nursery() as nursery:
        server: HTTPServer = await nursery.start(
            functools.partial(serve, app, 0, "127.0.0.1", handle_signals=False, **server_options)
        )
        try:
            yield server
        except Exception as exc:
            # Raised again below, outside the nursery, so that it is not wrapped in an
            # exception group: `pytest.raises(KeyError)` around the block keeps working.
            error = exc
        finally:
            nursery.cancel_scope.cancel()
    if error is not None:
        raise error


@asynccontextmanager
async def open_test_client(
    app: Any, *, server_options: dict[str, Any] | None = None, **client_options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve ``app`` as :func:`open_test_server` does and give an httpx client for it.

    Args:
        app: an Application or an async request callable.
        server_options: passed to :func:`trinado.httpserver.serve`.
        **client_options: passed to ``httpx.AsyncClient``.

    Yields:
        A client whose relative URLs go to the server.
    """
    import httpx

    async with (
        open_test_server(app, **(server_options or {})) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", **client_options) as client,
    ):
        yield client


@pytest.fixture
def http_server_options() -> dict[str, Any]:
    """Options for the test server; override this fixture to change them."""
    return {}


@pytest.fixture
async def http_server(
    app: Any, nursery: trio.Nursery, http_server_options: dict[str, Any]
) -> HTTPServer:
    """Serve the ``app`` fixture on 127.0.0.1 in the test's nursery."""
    server: HTTPServer = await nursery.start(
        functools.partial(serve, app, 0, "127.0.0.1", handle_signals=False, **http_server_options)
    )
    return server


@pytest.fixture
def server_url(http_server: HTTPServer) -> str:
    """The URL of the test server, without a trailing slash.

    (Not named ``base_url``: pytest-base-url, which browser-testing plugins use, has a
    fixture of that name.)
    """
    return f"http://127.0.0.1:{http_server.port}"


@pytest.fixture
async def http_client(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose relative URLs go to the test server."""
    import httpx

    async with httpx.AsyncClient(base_url=server_url) as client:
        yield client
