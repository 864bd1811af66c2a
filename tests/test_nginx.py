"""docs/deployment.md "Behind nginx": its nginx configuration and command, run for real.

The nginx block and the ``python -m trinado`` command are read from the docs themselves, so
the docs cannot drift from what is tested. Only what cannot run here is adapted: the
``listen`` address (a free port on 127.0.0.1, TLS kept with a trustme certificate), the
certificate files, the Unix socket path and the static directory; a minimal top-level
configuration around it keeps everything nginx writes in a temporary directory.

Debian's ``nginx`` package provides ``/usr/sbin/nginx``; without it the tests that run it skip.
backend runs as the docs say (two workers here), nginx as a subprocess; both are killed at
the end, also when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from websockets.sync.client import connect

from tests.cli_apps.harness import APPS, ROOT, Served, connection, get, get_unix, poll
from tests.ports import free_port

NGINX = Path("/usr/sbin/nginx")
DOCS = ROOT / "docs" / "deployment.md"
STATIC_TEXT = "served by nginx from the alias directory\n"

NO_NGINX = f"{NGINX} is missing (Debian package `nginx`): the nginx deployment is not run"


# -- what the docs say --------------------------------------------------------------------------


def nginx_section() -> str:
    """The "Behind nginx" section of docs/deployment.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"^## Behind nginx\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no '## Behind nginx' section in {DOCS}"
    return match.group(1)


def fenced(section: str, language: str) -> list[str]:
    """The bodies of the ```language blocks of ``section``."""
    return re.findall(rf"^```{language}\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def docs_config() -> str:
    blocks = fenced(nginx_section(), "nginx")
    assert len(blocks) == 1, f"expected one ```nginx block in 'Behind nginx', got {len(blocks)}"
    return blocks[0]


def docs_command() -> list[str]:
    """The ``python -m trinado ...`` command of the section, split into words."""
    commands = [
        shlex.split(line)
        for block in fenced(nginx_section(), "bash")
        for line in block.splitlines()
        if line.startswith("python -m trinado ")
    ]
    assert len(commands) == 1, f"expected one `python -m trinado` command, got {commands}"
    return commands[0]


def option(words: list[str], name: str) -> str:
    assert name in words, f"the docs' command has no {name}: {shlex.join(words)}"
    return words[words.index(name) + 1]


def upstream_socket(config: str) -> str:
    match = re.search(r"^\s*server\s+unix:(\S+?);", config, re.MULTILINE)
    assert match, "the nginx block has no `server unix:...;` upstream"
    return match.group(1)


def replace_once(config: str, pattern: str, replacement: str) -> str:
    """Substitutes the one match of ``pattern``; fails if the docs no longer have it."""
    result, count = re.subn(pattern, lambda _: replacement, config, flags=re.MULTILINE)
    if count != 1:
        pytest.fail(f"expected one match of {pattern!r} in the docs' nginx block, got {count}")
    return result


def adapted_config(
    config: str, *, port: int, socket_path: Path, static: Path, certfile: Path, keyfile: Path
) -> str:
    """The docs' configuration with only what cannot run here changed."""
    config = replace_once(config, r"\blisten\s+443\s+ssl\s*;", f"listen 127.0.0.1:{port} ssl;")
    config = replace_once(config, r"\bssl_certificate\s+\S+;", f"ssl_certificate {certfile};")
    config = replace_once(
        config, r"\bssl_certificate_key\s+\S+;", f"ssl_certificate_key {keyfile};"
    )
    config = replace_once(config, r"\bserver\s+unix:\S+;", f"server unix:{socket_path};")
    return replace_once(config, r"\balias\s+\S+;", f"alias {static}/;")


def top_level(http_block: str, tmp: Path) -> str:
    """A minimal nginx.conf around ``http_block``: everything nginx writes stays in ``tmp``."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / ('temp-' + kind)};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, the workers would switch to "nobody", who cannot reach the temporary files.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\n"
        "worker_processes 1;\n"
        f"pid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} notice;\n"
        "events {\n    worker_connections 64;\n}\n"
        "http {\n"
        f"    access_log {tmp / 'access.log'};\n"
        f"{temp_paths}\n"
        f"{http_block}\n"
        "}\n"
    )


def test_command_and_upstream_agree() -> None:
    """The socket the docs' command serves on is the one the docs' nginx connects to."""
    command = docs_command()
    assert command[:3] == ["python", "-m", "trinado"]
    assert "--xheaders" in command
    assert option(command, "--unix-socket") == upstream_socket(docs_config())


# -- running it ---------------------------------------------------------------------------------


@dataclass
class Proxy:
    port: int
    client: ssl.SSLContext
    socket_path: str
    tmp: Path

    def get_json(self, path: str, headers: dict[str, str] | None = None) -> dict[str, object]:
        status, body = get(self.port, path, headers=headers, timeout=5, context=self.client)
        assert status == 200, body
        result: dict[str, object] = json.loads(body)
        return result


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops nginx quickly (SIGTERM), then kills whatever of its group is left."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(5)


def start_nginx(
    stack: contextlib.ExitStack,
    tmp: Path,
    make_config: Callable[[int], str],
    client: ssl.SSLContext,
) -> int:
    """Starts nginx on a free port (a few tries, as the port may be taken meanwhile)."""
    log = tmp / "error.log"
    for _ in range(3):
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(make_config(port), encoding="utf-8")
        log.write_text("", encoding="utf-8")
        process = subprocess.Popen(
            [str(NGINX), "-c", str(conf), "-p", f"{tmp}/", "-e", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        stack.callback(stop, process)

        def answers(port: int = port, process: subprocess.Popen[bytes] = process) -> bool:
            if process.poll() is not None:
                return True
            return get(port, "/static/hello.txt", timeout=2, context=client)[0] == 200

        poll(answers, timeout=10, what="nginx to answer")
        if process.poll() is None:
            return port
        errors = log.read_text(encoding="utf-8")
        if "Address already in use" not in errors:
            raise AssertionError(f"nginx exited with {process.returncode}:\n{errors}\n{conf}")
    raise AssertionError(f"no free port for nginx:\n{log.read_text(encoding='utf-8')}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if not NGINX.exists():
        pytest.skip(NO_NGINX)
    tmp = tmp_path_factory.mktemp("nginx")
    socket_path = tmp / "web.sock"
    static = tmp / "static"
    static.mkdir()
    (static / "hello.txt").write_text(STATIC_TEXT, encoding="utf-8")

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp / "cert.pem", tmp / "key.pem"
    certfile.write_bytes(b"".join(pem.bytes() for pem in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(keyfile))
    client = ssl.create_default_context()
    ca.configure_trust(client)

    # The docs' command, with this test's application, two workers and socket.
    command = docs_command()[3:]
    command[0] = "proxied:app"
    command[command.index("--workers") + 1] = "2"
    command[command.index("--unix-socket") + 1] = str(socket_path)

    def make_config(port: int) -> str:
        http_block = adapted_config(
            docs_config(),
            port=port,
            socket_path=socket_path,
            static=static,
            certfile=certfile,
            keyfile=keyfile,
        )
        return top_level(http_block, tmp)

    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(Served(*command, cwd=APPS))
        backend.serving(timeout=15)
        poll(lambda: get_unix(str(socket_path), "/client")[0] == 200, timeout=10, what="backend")
        port = start_nginx(stack, tmp, make_config, client)
        yield Proxy(port, client, str(socket_path), tmp)


# -- what goes through --------------------------------------------------------------------------


def test_client_address_and_scheme_come_from_nginx(proxy: Proxy) -> None:
    # Straight to the socket, the application sees Unix-socket placeholders...
    status, body = get_unix(proxy.socket_path, "/client")
    assert status == 200
    direct = json.loads(body)
    assert (direct["remote_ip"], direct["protocol"]) == ("0.0.0.0", "http")

    # ...through nginx (TLS), the client's address and scheme, from nginx's headers.
    seen = proxy.get_json("/client")
    assert (seen["remote_ip"], seen["protocol"]) == ("127.0.0.1", "https")
    assert (seen["x_real_ip"], seen["x_scheme"]) == ("127.0.0.1", "https")
    assert seen["host"] == "127.0.0.1"  # `Host $host`: the name the client asked for


def test_client_cannot_claim_another_address_or_scheme(proxy: Proxy) -> None:
    spoofed = {"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "198.51.100.7", "X-Scheme": "http"}
    seen = proxy.get_json("/client", headers=spoofed)
    # nginx replaces X-Real-IP and X-Scheme, and appends the real address to X-Forwarded-For.
    assert (seen["remote_ip"], seen["protocol"]) == ("127.0.0.1", "https")
    assert seen["x_forwarded_for"] == "198.51.100.7, 127.0.0.1"


def test_upstream_connections_are_kept_alive(proxy: Proxy) -> None:
    # `keepalive 32` works only with HTTP/1.1 upstream and no "Connection: close" (the map's
    # '' for requests without Upgrade): then nginx sends request after request on one
    # connection to the application, even from new client connections.
    upstream = {proxy.get_json("/client")["connection"] for _ in range(6)}
    assert len(upstream) == 1, upstream


def test_websocket_echo_through_nginx(proxy: Proxy) -> None:
    url = f"wss://127.0.0.1:{proxy.port}/ws"
    with connect(url, ssl=proxy.client, open_timeout=5, close_timeout=2) as ws:
        assert ws.response is not None
        assert ws.response.headers["Server"].startswith("nginx")
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\xff binary")
        assert ws.recv(timeout=5) == b"\x00\xff binary"


def test_events_arrive_before_the_response_ends(proxy: Proxy) -> None:
    release = proxy.tmp / "release-events"
    conn = connection(proxy.port, timeout=5, context=proxy.client)
    try:
        conn.request("GET", f"/events?release={release}")
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        started = time.monotonic()
        # The handler waits for `release` to exist: this event got through unbuffered.
        assert response.readline() == b"data: first\n"
        assert response.readline() == b"\n"
        assert time.monotonic() - started < 4
        assert not release.exists()
        release.touch()
        assert response.read() == b"data: second\n\n"
    finally:
        conn.close()


def test_static_files_are_served_by_nginx(proxy: Proxy) -> None:
    conn = connection(proxy.port, timeout=5, context=proxy.client)
    try:
        conn.request("GET", "/static/hello.txt")
        response = conn.getresponse()
        assert (response.status, response.read().decode()) == (200, STATIC_TEXT)
        assert response.getheader("Cache-Control") == "max-age=31536000"  # `expires 1y`
    finally:
        conn.close()
    assert get_unix(proxy.socket_path, "/static/hello.txt")[0] == 404  # not the application's
    assert get(proxy.port, "/static/missing.txt", context=proxy.client)[0] == 404


def test_nginx_logged_no_error(proxy: Proxy) -> None:
    errors = (proxy.tmp / "error.log").read_text(encoding="utf-8")
    assert not re.search(r"\[(emerg|alert|crit)\]|upstream", errors), errors
