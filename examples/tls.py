"""Serving HTTPS: a TLS context, HSTS, and plain HTTP redirected to HTTPS.

Run it with a certificate and its private key in PEM files (for a try on your own machine,
``python -m trustme`` writes a test CA and a certificate for localhost)::

    python examples/tls.py server.pem server.key

then open https://localhost:8443/ (or http://localhost:8080/, which redirects there).
docs/howto/tls.md explains it.
"""

from __future__ import annotations

import functools
import ssl
import sys

import trio

from trinado import web
from trinado.httpserver import HTTPServer


def make_ssl_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server-side TLS context with Python's secure defaults and this certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    return context


class MainHandler(web.RequestHandler):
    def set_default_headers(self) -> None:
        # Browsers that saw this once use HTTPS for this host, for a year, whatever the link.
        self.set_header("Strict-Transport-Security", "max-age=31536000")

    def get(self) -> None:
        self.write(f"Hello over {self.request.protocol}")


class RedirectToHTTPSHandler(web.RequestHandler):
    """Sends every plain HTTP request to the same URL over HTTPS."""

    def initialize(self, https_port: int) -> None:
        self.https_port = https_port

    def prepare(self) -> None:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        self.redirect(f"https://{self.request.host_name}{port}{self.request.uri}", permanent=True)


def make_app() -> web.Application:
    return web.Application([(r"/", MainHandler)])


def make_redirect_app(https_port: int) -> web.Application:
    return web.Application([(r".*", RedirectToHTTPSHandler, {"https_port": https_port})])


async def serve(
    certfile: str,
    keyfile: str | None = None,
    https_port: int = 8443,
    http_port: int = 8080,
    *,
    task_status: trio.TaskStatus[tuple[HTTPServer, HTTPServer]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serves HTTPS on ``https_port`` and the redirect on ``http_port``, in one nursery."""
    context = make_ssl_context(certfile, keyfile)
    async with trio.open_nursery() as nursery:
        https: HTTPServer = await nursery.start(
            functools.partial(make_app().serve, https_port, ssl_options=context)
        )
        http: HTTPServer = await nursery.start(
            functools.partial(make_redirect_app(https.port).serve, http_port)
        )
        task_status.started((https, http))


def main() -> None:
    certfile, keyfile = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    trio.run(serve, certfile, keyfile)


if __name__ == "__main__":
    main()
