"""A throwaway redis-server for the tests: its own process, loopback, a free port, no disk.

`open_redis_server` is what a fixture wraps; without the binary the tests that use it are
skipped and say so. The server can be stopped and started again on
the same port within a test, to see what a client does while Redis is away.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

__all__ = ["RedisServer", "free_port", "open_redis_server"]


def _binary() -> str | None:
    found = shutil.which("redis-server")
    if found is None and Path("/usr/bin/redis-server").exists():
        found = "/usr/bin/redis-server"
    return found


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server on 127.0.0.1, in ``directory``, not saving anything.

    Args:
        binary: the redis-server executable.
        directory: its working directory (and where its log goes).
    """

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's ``redis://`` URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, deadline: float = 10.0) -> None:
        """Starts the server and waits until it answers PING.

        Raises:
            RuntimeError: it exited, or did not answer within ``deadline`` seconds.
        """
        if self.process is not None:
            raise RuntimeError("redis-server is running already")
        log = (self.directory / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                [
                    *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        end = time.monotonic() + deadline
        while not _pings(self.port):
            if self.process.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"redis-server did not start; see {self.directory}/redis.log")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 5 s); it loses its data."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def open_redis_server(directory: Path) -> Iterator[RedisServer]:
    """A running redis-server of its own, stopped at the end (also when the block fails).

    Skips the test when redis-server is not installed.
    """
    binary = _binary()
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
