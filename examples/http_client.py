"""Calling other services with trinado.httpclient: from a handler, streamed, and on its own.

The application asks GitHub's API about repositories and passes downloads through without
keeping them in memory. Run it with ``python examples/http_client.py`` and try::

    curl -i localhost:8888/repos/python-trio/trio
    curl -o trio.tar.gz localhost:8888/download/python-trio/trio

``python examples/http_client.py https://example.com/`` fetches one URL and prints what
came back. docs/httpclient.md explains this file.
"""

from __future__ import annotations

import json
import sys

import trio

from trinado import web
from trinado.httpclient import (
    HTTPClient,
    HTTPClientError,
    HTTPTimeoutError,
    fetch,
    open_http_client,
)

UPSTREAM = "https://api.github.com"


class RepoHandler(web.RequestHandler):
    """Answers with a repository's name and star count, asked of the upstream API."""

    def initialize(self, client: HTTPClient, upstream: str) -> None:
        self.client = client
        self.upstream = upstream

    async def get(self, owner: str, name: str) -> None:
        try:
            response = await self.client.fetch(
                f"{self.upstream}/repos/{owner}/{name}",
                headers={"Accept": "application/vnd.github+json"},
                request_timeout=10,
            )
        except HTTPTimeoutError:
            raise web.HTTPError(504, "upstream timed out") from None
        except HTTPClientError as error:
            # error.code is the upstream's status; error.response has its body.
            status = 404 if error.code == 404 else 502
            raise web.HTTPError(status, "upstream answered %d", error.code) from None
        repo = json.loads(response.body)
        self.write({"name": repo["full_name"], "stars": repo["stargazers_count"]})


class DownloadHandler(web.RequestHandler):
    """Passes a repository's tarball through, piece by piece, as it arrives."""

    def initialize(self, client: HTTPClient, upstream: str) -> None:
        self.client = client
        self.upstream = upstream

    async def get(self, owner: str, name: str) -> None:
        url = f"{self.upstream}/repos/{owner}/{name}/tarball"
        # Redirects are followed; a large download needs a larger request_timeout.
        async with self.client.stream(url, request_timeout=300) as response:
            self.set_header("Content-Type", response.headers.get("Content-Type", "x/unknown"))
            async for chunk in response.aiter_bytes():
                self.write(chunk)
                await self.flush()  # waits while our own client reads slowly


def make_app(client: HTTPClient, upstream: str = UPSTREAM) -> web.Application:
    """The application; every handler shares ``client`` and its connection pool."""
    routes = [
        (r"/repos/([\w.-]+)/([\w.-]+)", RepoHandler),
        (r"/download/([\w.-]+)/([\w.-]+)", DownloadHandler),
    ]
    kwargs = {"client": client, "upstream": upstream}
    return web.Application([(pattern, handler, kwargs) for pattern, handler in routes])


async def serve(port: int = 8888) -> None:
    """Opens one client for the whole program and serves the application with it."""
    async with open_http_client(
        max_connections_per_host=20,
        defaults={"user_agent": "trinado-example/1.0", "connect_timeout": 5},
    ) as client:
        await make_app(client).serve(port)


async def show(url: str) -> None:
    """Fetches one URL with a client of its own and prints the status and headers."""
    response = await fetch(url, raise_error=False)
    print(response.code, response.reason, f"({response.request_time:.3f}s)")
    for name, value in response.headers.get_all():
        print(f"{name}: {value}")
    print(f"\n{len(response.body)} bytes from {response.effective_url}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        trio.run(show, sys.argv[1])
    else:
        trio.run(serve)
