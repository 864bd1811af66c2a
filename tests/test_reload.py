"""``--reload``: the supervisor replaces the server when its code or templates change.

The application is a copy of ``tests/cli_apps/reloadapp.py`` in a temporary directory, edited
by the tests. After each edit the file's mtime is moved forward, so that the change is seen
(and Python's bytecode cache is not fooled) even when an edit keeps the file's size.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.cli_apps.harness import APPS, Served, get, pid_alive, poll, run_cli
from trinado._reloader import child_argv

_bumps = [0]


def edit(path: Path, text: str) -> None:
    """Rewrites a file and moves its mtime past any earlier one."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    _bumps[0] += 1
    stamp = max(time.time_ns(), before) + 2_000_000_000 + _bumps[0]
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    shutil.copy(APPS / "reloadapp.py", tmp_path / "reloadapp.py")
    shutil.copytree(APPS / "templates", tmp_path / "templates")
    return tmp_path


def answer(port: int, path: str = "/") -> str:
    status, body = get(port, path, timeout=5)
    assert status == 200, (status, body)
    return body


def served_by(port: int, expected: str, old_pid: int) -> None:
    """Waits until the new child answers and the old one is gone (they overlap briefly)."""
    poll(lambda: answer(port) == expected, timeout=15, what=repr(expected))
    poll(lambda: not pid_alive(old_pid), timeout=15, what="the old child to exit")


def test_child_argv_drops_reload_and_pins_the_port() -> None:
    argv = ["app:app", "--reload", "--port", "0", "--workers", "2"]
    assert child_argv(argv, None) == ["app:app", "--port", "0", "--workers", "2"]
    assert child_argv(argv, 4321)[-2:] == ["--port", "4321"]


def test_reload_on_change_keeps_serving_through_errors(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    args = ["reloadapp:app", "--reload", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args, cwd=app_dir) as served:
        first = served.serving()
        assert first.pid != served.proc.pid  # the supervisor runs the server as a child
        port = first.port
        assert answer(port) == f"v1 {first.pid}"
        assert answer(port, "/page").strip() == "template one"

        # A change: a new child serves it, on the same port; the old one stops.
        edit(source, original.replace('"v1"', '"v2"'))
        second = served.serving(after=first.index + 1)
        assert second.port == port
        served_by(port, f"v2 {second.pid}", first.pid)

        # A syntax error: reported, and the running version keeps serving.
        edit(source, original.replace('VERSION = "v1"', 'VERSION = ("v3"'))
        index, match = served.wait_for(r"Not reloading: (.*reloadapp\.py):(\d+): ")
        assert match.group(1) == str(source)
        assert answer(port) == f"v2 {second.pid}"

        # Fixed: served again.
        edit(source, original.replace('"v1"', '"v3"'))
        third = served.serving(after=index)
        served_by(port, f"v3 {third.pid}", second.pid)

        # A template change restarts too.
        edit(app_dir / "templates" / "page.html", "template two\n")
        fourth = served.serving(after=third.index + 1)
        served_by(port, f"v3 {fourth.pid}", third.pid)
        assert answer(port, "/page").strip() == "template two"

        # An exception at import: the new child fails, its error shows, the old one serves.
        edit(source, original.replace('"v1"', '"v4"') + '\nraise RuntimeError("boom on edit")\n')
        served.wait_for(r"trinado: error: error while importing 'reloadapp': RuntimeError: boom")
        served.wait_for(r"The new version exited with status 2 before serving; still serving")
        assert answer(port) == f"v3 {fourth.pid}"

        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0
        poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")


def test_reload_with_workers(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    args = ["reloadapp:app", "--reload", "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args, cwd=app_dir) as served:
        first = served.serving()
        assert first.what == "2 workers"
        assert answer(first.port).startswith("v1 ")
        edit(source, original.replace('"v1"', '"v2"'))
        second = served.serving(after=first.index + 1)
        assert second.pid != first.pid
        poll(lambda: not pid_alive(first.pid), timeout=15, what="the old workers' parent to exit")
        for _ in range(5):  # new connections: only the new workers are left
            assert answer(first.port).startswith("v2 ")
        served.signal(signal.SIGINT)
        assert served.wait(timeout=15) == 0
        poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")


def test_debug_setting_supervises_and_the_child_outlives_no_supervisor() -> None:
    with Served("debug_app:app", "--host", "127.0.0.1", "--port", "0") as served:
        line = served.serving()
        assert line.pid != served.proc.pid  # debug=True in the app implies --reload
        status, body = get(line.port, "/fail")
        assert status == 500
        assert "ZeroDivisionError: debug app failure" in body
        # The supervisor dies without a word: the child notices and shuts down.
        served.signal(signal.SIGKILL)
        served.wait(timeout=5)
        poll(lambda: not pid_alive(line.pid), timeout=15, what="the orphaned child to exit")
        served.wait_for("The supervising process has gone away")


def test_a_first_start_that_fails_ends_the_supervisor() -> None:
    result = run_cli("no_such_module:app", "--reload")
    assert result.returncode == 2
    assert "no module named 'no_such_module'" in result.stderr
    assert "Traceback" not in result.stderr
