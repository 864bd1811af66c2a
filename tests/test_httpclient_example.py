"""examples/http_client.py does what docs/httpclient.md says, against a fake upstream API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from tests.example_loader import load_example
from trinado import web
from trinado.httpclient import HTTPClient, open_http_client
from trinado.testing import open_test_server

TARBALL = bytes(range(256)) * 1000


example = load_example("http_client")


class FakeRepo(web.RequestHandler):
    def get(self, owner: str, name: str) -> None:
        if name == "missing":
            raise web.HTTPError(404)
        if name == "broken":
            raise web.HTTPError(500)
        self.write({"full_name": f"{owner}/{name}", "stargazers_count": 42, "other": "..."})


class FakeTarball(web.RequestHandler):
    def get(self, owner: str, name: str) -> None:
        self.redirect(f"/files/{owner}-{name}.tar.gz")  # as GitHub redirects to its CDN


class FakeFile(web.RequestHandler):
    async def get(self, filename: str) -> None:
        self.set_header("Content-Type", "application/x-gzip")
        for i in range(0, len(TARBALL), 10_000):
            self.write(TARBALL[i : i + 10_000])
            await self.flush()


def fake_upstream() -> web.Application:
    return web.Application(
        [
            (r"/repos/([\w.-]+)/([\w.-]+)", FakeRepo),
            (r"/repos/([\w.-]+)/([\w.-]+)/tarball", FakeTarball),
            (r"/files/(.+)", FakeFile),
        ]
    )


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with open_test_server(fake_upstream()) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def app_url(upstream: str) -> AsyncIterator[str]:
    async with (
        open_http_client() as app_client,
        open_test_server(example.make_app(app_client, upstream)) as server,
    ):
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    async with open_http_client() as client:
        yield client


async def test_repo_info(client: HTTPClient, app_url: str) -> None:
    response = await client.fetch(f"{app_url}/repos/python-trio/trio")
    assert response.body == b'{"name": "python-trio/trio", "stars": 42}'


async def test_upstream_errors_become_404_and_502(client: HTTPClient, app_url: str) -> None:
    response = await client.fetch(f"{app_url}/repos/python-trio/missing", raise_error=False)
    assert response.code == 404
    response = await client.fetch(f"{app_url}/repos/python-trio/broken", raise_error=False)
    assert response.code == 502


async def test_download_is_passed_through(client: HTTPClient, app_url: str) -> None:
    pieces: list[bytes] = []
    async with client.stream(f"{app_url}/download/python-trio/trio") as response:
        assert response.headers["Content-Type"] == "application/x-gzip"
        assert response.headers["Transfer-Encoding"] == "chunked"
        async for piece in response.aiter_bytes():
            pieces.append(piece)
    assert b"".join(pieces) == TARBALL


async def test_show_prints_the_response(upstream: str, capsys: pytest.CaptureFixture[str]) -> None:
    await example.show(f"{upstream}/repos/a/b")
    out = capsys.readouterr().out
    assert out.startswith("200 OK (")
    assert "Content-Type: application/json; charset=UTF-8" in out
    assert f"bytes from {upstream}/repos/a/b" in out


async def test_serve_runs_until_cancelled() -> None:
    with trio.move_on_after(0.2) as scope:
        await example.serve(0)
    assert scope.cancelled_caught
