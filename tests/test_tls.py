"""examples/tls.py: HTTPS with the example's context, HSTS, and HTTP redirected to HTTPS."""

from __future__ import annotations

import importlib.util
import ssl
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import trio
import trustme

GUARD = 10


def load_example() -> ModuleType:
    name = "_example_tls"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "examples" / "tls.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tls = load_example()


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
