"""Runs ``python -m trinado`` in a subprocess and talks HTTP to it, for the CLI tests.

Every wait has a deadline; :class:`Served` kills its whole process group when closed, so a
failing test leaves no process behind.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

APPS = Path(__file__).resolve().parent
ROOT = APPS.parent.parent
SERVING = re.compile(r"trinado serving (\S+) on (\S+) \((.*), pid (\d+)\)")


def trinado_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "trinado", *args]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("TRINADO_SUPERVISED", None)
    env["NO_COLOR"] = "1"
    return env


def run_cli(*args: str, cwd: Path = APPS, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Runs the CLI to completion (for the error cases)."""
    return subprocess.run(
        trinado_command(*args),
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Served:
    """A ``python -m trinado`` process in its own process group, its output collected."""

    def __init__(self, *args: str, cwd: Path = APPS, command: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            command if command is not None else trinado_command(*args),
            cwd=cwd,
            env=environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.proc.pid
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str | re.Pattern[str], *, after: int = 0, timeout: float = 20):
        """The first output line from index ``after`` on that matches; (index, match)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            index = after
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    if match:
                        return index, match
                    index += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    so_far = "\n".join(self.lines)
                    raise AssertionError(f"no {regex.pattern!r} in the output:\n{so_far}")
                self._changed.wait(min(left, 0.1))

    def serving(self, *, after: int = 0, timeout: float = 20) -> Serving:
        """Waits for the "trinado serving" line (the next one from ``after``)."""
        index, match = self.wait_for(SERVING, after=after, timeout=timeout)
        return Serving(index, match.group(2), int(match.group(4)), match.group(3))

    def signal(self, signum: int = signal.SIGTERM) -> None:
        os.kill(self.proc.pid, signum)

    def wait(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> Served:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Serving:
    """What a "trinado serving" line says."""

    def __init__(self, index: int, url: str, pid: int, what: str) -> None:
        self.index = index
        self.url = url
        self.pid = pid
        self.what = what
        match = re.match(r"(https?)://([^/]+):(\d+)/$", url)
        self.host = match.group(2) if match else ""
        self.port = int(match.group(3)) if match else 0


def connection(
    port: int, *, timeout: float = 10, context: ssl.SSLContext | None = None
) -> http.client.HTTPConnection:
    if context is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def get(
    port: int,
    path: str = "/",
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
    context: ssl.SSLContext | None = None,
) -> tuple[int, str]:
    """One request on a new connection: (status, body)."""
    conn = connection(port, timeout=timeout, context=context)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def get_unix(path: str, target: str = "/", timeout: float = 10) -> tuple[int, str]:
    """One request over a Unix socket."""

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(path)
            self.sock = sock

    conn = UnixConnection("localhost", timeout=timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def poll(check, *, timeout: float = 20, interval: float = 0.05, what: str = "condition"):
    """Calls ``check()`` until it returns something true (errors count as false)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (OSError, http.client.HTTPException) as exc:
            last = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class InFlight(threading.Thread):
    """A request running in a thread, so that the test can act while it is in flight."""

    def __init__(self, port: int, path: str, timeout: float = 30) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.path = path
        self.timeout = timeout
        self.result: tuple[int, str] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = get(self.port, self.path, timeout=self.timeout)
        except BaseException as exc:
            self.error = exc

    def outcome(self, timeout: float = 30) -> tuple[int, str] | BaseException:
        self.join(timeout)
        assert not self.is_alive(), "the request did not finish"
        if self.error is not None:
            return self.error
        assert self.result is not None
        return self.result
