"""trinado.httpclient over TLS, against trinado's server with trustme certificates."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trustme

from trinado import web
from trinado.httpclient import HTTPClient, open_http_client
from trinado.httpserver import HTTPServer
from trinado.testing import open_test_server


class HelloHandler(web.RequestHandler):
    def get(self) -> None:
        cert = self.request.get_ssl_certificate()
        subject = dict(item[0] for item in cert["subject"]) if isinstance(cert, dict) else {}
        self.write(
            {
                "protocol": self.request.protocol,
                "client": subject.get("commonName", subject.get("organizationName")),
            }
        )


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA) -> Iterator[str]:
    with ca.cert_pem.tempfile() as path:
        yield path


def server_context(
    ca: trustme.CA, *names: str, client_ca: trustme.CA | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
    return context


@asynccontextmanager
async def serve(context: ssl.SSLContext) -> AsyncIterator[HTTPServer]:
    app = web.Application([(r"/", HelloHandler)])
    async with open_test_server(app, ssl_options=context) as server:
        yield server


@pytest.fixture
async def server(ca: trustme.CA) -> AsyncIterator[HTTPServer]:
    async with serve(server_context(ca, "127.0.0.1", "localhost", "example.test")) as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    async with open_http_client() as client:
        yield client


async def test_validated_with_ca_certs(
    client: HTTPClient, server: HTTPServer, ca_file: str
) -> None:
    response = await client.fetch(f"https://127.0.0.1:{server.port}/", ca_certs=ca_file)
    assert response.code == 200
    assert b'"protocol": "https"' in response.body
    # The TLS connection is kept alive like any other.
    await client.fetch(f"https://localhost:{server.port}/", ca_certs=ca_file)
    await client.fetch(f"https://127.0.0.1:{server.port}/", ca_certs=ca_file)
    assert client.connections_opened == 2  # 127.0.0.1 and localhost are different hosts


async def test_validated_with_an_ssl_context(
    client: HTTPClient, server: HTTPServer, ca: trustme.CA
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    response = await client.fetch(f"https://127.0.0.1:{server.port}/", ssl_context=context)
    assert response.code == 200
    response = await client.fetch(f"https://127.0.0.1:{server.port}/", ssl_options=context)
    assert response.code == 200
    assert client.connections_opened == 1


async def test_unknown_ca_is_refused(client: HTTPClient, server: HTTPServer) -> None:
    # The system's CAs do not know trustme's.
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await client.fetch(f"https://127.0.0.1:{server.port}/")
    other_ca = trustme.CA()
    with other_ca.cert_pem.tempfile() as wrong, pytest.raises(ssl.SSLCertVerificationError):
        await client.fetch(f"https://127.0.0.1:{server.port}/", ca_certs=wrong)


async def test_validate_cert_false(client: HTTPClient, server: HTTPServer, ca_file: str) -> None:
    response = await client.fetch(f"https://127.0.0.1:{server.port}/", validate_cert=False)
    assert response.code == 200
    # That unverified connection is never lent to a request that wants verification.
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.fetch(f"https://127.0.0.1:{server.port}/")
    assert client.idle_connections == 1


async def test_host_name_is_checked(ca: trustme.CA, ca_file: str) -> None:
    async with serve(server_context(ca, "example.test")) as server:
        async with open_http_client() as client:
            with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
                await client.fetch(f"https://127.0.0.1:{server.port}/", ca_certs=ca_file)
        # hostname_mapping connects elsewhere but checks the name from the URL.
        async with open_http_client(hostname_mapping={"example.test": "127.0.0.1"}) as client:
            response = await client.fetch(f"https://example.test:{server.port}/", ca_certs=ca_file)
            assert response.code == 200
            assert response.effective_url == f"https://example.test:{server.port}/"


async def test_client_certificate(ca: trustme.CA, ca_file: str, tmp_path: Path) -> None:
    client_ca = trustme.CA()
    client_cert = client_ca.issue_cert("client@example.test", common_name="test client")
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    client_cert.cert_chain_pems[0].write_to_path(str(cert_file))
    client_cert.private_key_pem.write_to_path(str(key_file))
    context = server_context(ca, "127.0.0.1", client_ca=client_ca)
    async with serve(context) as server, open_http_client() as client:
        response = await client.fetch(
            f"https://127.0.0.1:{server.port}/",
            ca_certs=ca_file,
            client_cert=str(cert_file),
            client_key=str(key_file),
        )
        assert b'"client": "test client"' in response.body
        # Tornado's dict form of ssl_options works too.
        response = await client.fetch(
            f"https://127.0.0.1:{server.port}/",
            ssl_options={
                "ca_certs": ca_file,
                "certfile": str(cert_file),
                "keyfile": str(key_file),
            },
        )
        assert response.code == 200
