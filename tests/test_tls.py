"""examples/tls.py: HTTPS with the example's context, HSTS, and HTTP redirected to HTTPS."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from tests.example_loader import load_example

GUARD = 10


tls = load_example("tls")


async def test_https_and_the_redirect(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    certfile = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            https, http = await nursery.start(tls.serve, str(certfile), None, 0, 0)
            async with httpx.AsyncClient(verify=client_context) as client:
                response = await client.get(f"https://localhost:{https.port}/")
                assert response.text == "Hello over https"
                assert response.headers["strict-transport-security"] == "max-age=31536000"

                response = await client.get(f"http://localhost:{http.port}/a/b?c=d")
                assert response.status_code == 301
                location = f"https://localhost:{https.port}/a/b?c=d"
                assert response.headers["location"] == location

            # A client that does not trust the CA cannot connect.
            async with httpx.AsyncClient() as untrusting:
                with pytest.raises(httpx.ConnectError):
                    await untrusting.get(f"https://localhost:{https.port}/")
            nursery.cancel_scope.cancel()
