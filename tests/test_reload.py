"""``--reload``: the supervisor replaces the server when its code or templates change.

The application is a copy of ``tests/cli_apps/reloadapp.py`` in a temporary directory, edited
by the tests. After each edit the file's mtime is moved forward, so that the change is seen
(and Python's bytecode cache is not fooled) even when an edit keeps the file's size.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.cli_apps.harness import (
    APPS,
    InFlight,
    Served,
    get,
    get_unix,
    pid_alive,
    poll,
    run_cli,
)
from trinado import _worker_sockets
from trinado._reloader import child_argv

HOST_PORT = ["--host", "127.0.0.1", "--port", "0"]

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


def supervised(
    app_dir: Path,
    *args: str,
    start_timeout: float = 30,
    stop_margin: float = 5,
    overlap: bool = True,
) -> Served:
    """The supervisor with short deadlines (``tests/cli_apps/reload_script.py``)."""
    script = APPS / "reload_script.py"
    flag = "1" if overlap else "0"
    command = [sys.executable, str(script), str(start_timeout), str(stop_margin), flag]
    return Served(cwd=app_dir, command=[*command, "reloadapp:app", *HOST_PORT, *args])


def hanging(original: str, version: str) -> str:
    return original.replace('"v1"', f'"{version}"').replace(
        "HANG_AT_START = False", "HANG_AT_START = True"
    )


@pytest.mark.skipif(not _worker_sockets.default_reuse_port(), reason="needs Linux's SO_REUSEPORT")
def test_a_version_that_hangs_at_start_gets_no_connection_and_is_replaced_or_killed(
    app_dir: Path,
) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    with supervised(app_dir, start_timeout=4) as served:
        first = served.serving()
        port = first.port

        # A version stuck in its lifespan: it must not listen, so that every new connection
        # still goes to the serving version (and none waits on the stuck one).
        edit(source, hanging(original, "v2"))
        index, match = served.wait_for(r"hanging at start in (\d+)")
        stuck = int(match.group(1))
        for _ in range(20):
            status, body = get(port, timeout=2)
            assert (status, body) == (200, f"v1 {first.pid}")

        # A change while it starts: it is killed, and the newest code starts instead.
        edit(source, original.replace('"v1"', '"v3"'))
        served.wait_for(rf"Killing the new version still starting \(pid {stuck}\)", after=index)
        third = served.serving(after=index)
        served_by(port, f"v3 {third.pid}", first.pid)
        assert not pid_alive(stuck)

        # Stuck again, and nothing changes: killed at the start deadline; v3 serves on.
        edit(source, hanging(original, "v4"))
        index, match = served.wait_for(r"hanging at start in (\d+)", after=third.index)
        stuck = int(match.group(1))
        served.wait_for(
            rf"The new version \(pid {stuck}\) did not serve within 4 s of its start: killed "
            r"it; still serving the previous one",
            after=index,
        )
        poll(lambda: not pid_alive(stuck), timeout=5, what="the stuck child to die")
        assert answer(port) == f"v3 {third.pid}"
        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0


@pytest.mark.skipif(not _worker_sockets.default_reuse_port(), reason="needs Linux's SO_REUSEPORT")
def test_a_previous_version_that_does_not_stop_is_killed(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    args = ["--shutdown-timeout", "0.2"]
    with supervised(app_dir, *args, stop_margin=0.5) as served:
        first = served.serving()
        blocked = InFlight(first.port, "/block?s=20", timeout=30)
        blocked.start()
        served.wait_for(rf"blocking in {first.pid}")  # it cannot even see SIGTERM now
        edit(source, original.replace('"v1"', '"v2"'))
        served.serving(after=first.index + 1)
        served.wait_for(
            rf"The previous version \(pid {first.pid}\) still runs 0.7 s after SIGTERM: "
            "killing it"
        )
        poll(lambda: not pid_alive(first.pid), timeout=5, what="the blocked child to die")
        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0


def test_without_overlap_failures_and_crashes_wait_for_the_next_change(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    with supervised(app_dir, overlap=False) as served:
        first = served.serving()
        port = first.port
        # The old version stops first; the new one fails at import: nothing serves, but the
        # supervisor stays, and the next change starts a fixed version.
        edit(source, original + '\nraise RuntimeError("broken on edit")\n')
        index, _ = served.wait_for(
            r"The new version exited with status 2 before serving; nothing is served\. "
            "Waiting for the next change"
        )
        edit(source, original.replace('"v1"', '"v2"'))
        second = served.serving(after=index)
        assert second.port == port
        assert answer(port) == f"v2 {second.pid}"

        # The serving child dies by itself: logged, and the next change starts it again.
        os.kill(second.pid, signal.SIGKILL)
        index, _ = served.wait_for(
            r"The server was killed by SIGKILL; it starts again at the next change",
            after=second.index,
        )
        assert served.proc.poll() is None
        edit(source, original.replace('"v1"', '"v3"'))
        third = served.serving(after=index)
        assert answer(port) == f"v3 {third.pid}"
        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0


def test_files_only_a_failed_version_imported_are_watched_and_checked(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    helper = app_dir / "helper.py"
    original = source.read_text()
    with Served("reloadapp:app", "--reload", *HOST_PORT, cwd=app_dir) as served:
        first = served.serving()
        port = first.port
        # A new module, with a syntax error, imported by the new version: it fails.
        edit(helper, "VALUE = (\n")
        edit(source, original.replace('VERSION = "v1"', "from helper import VALUE as VERSION"))
        index, _ = served.wait_for("The new version exited with status 2 before serving")
        # helper.py is known now: another edit elsewhere is checked against it too...
        edit(source, original.replace('VERSION = "v1"', "from helper import VALUE as VERSION\n"))
        index, _ = served.wait_for(r"Not reloading: .*helper\.py:1: ", after=index)
        assert answer(port) == f"v1 {first.pid}"
        # ...and fixing it, though no serving version ever loaded it, reloads.
        edit(helper, 'VALUE = "v2"\n')
        second = served.serving(after=index)
        served_by(port, f"v2 {second.pid}", first.pid)
        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0


def test_reload_on_a_unix_socket_hands_the_path_over_when_ready(app_dir: Path) -> None:
    source = app_dir / "reloadapp.py"
    original = source.read_text()
    path = str(app_dir / "web.sock")
    with Served("reloadapp:app", "--reload", "--unix-socket", path, cwd=app_dir) as served:
        first = served.serving()
        assert get_unix(path) == (200, f"v1 {first.pid}")
        # A version stuck at start: the path stays the old one's, and the stuck one's
        # temporary socket file goes when a change kills it.
        edit(source, hanging(original, "v2"))
        index, match = served.wait_for(r"hanging at start in (\d+)")
        staged = _worker_sockets.staged_unix_path(path, int(match.group(1)))
        assert os.path.exists(staged)
        assert get_unix(path, timeout=2) == (200, f"v1 {first.pid}")
        edit(source, original.replace('"v1"', '"v3"'))
        third = served.serving(after=index)
        poll(lambda: get_unix(path, timeout=2) == (200, f"v3 {third.pid}"), what="v3")
        poll(lambda: not pid_alive(first.pid), timeout=15, what="the old child to exit")
        assert not os.path.exists(staged)
        assert sorted(p.name for p in app_dir.glob("web.sock*")) == ["web.sock"]
        served.signal(signal.SIGTERM)
        assert served.wait(timeout=15) == 0


def test_a_first_start_that_fails_ends_the_supervisor() -> None:
    result = run_cli("no_such_module:app", "--reload")
    assert result.returncode == 2
    assert "no module named 'no_such_module'" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_in_a_terminal_stops_reload_with_workers_gracefully() -> None:
    # A terminal's Ctrl-C sends SIGINT to the whole process group: the supervisor, the
    # workers' parent and the workers. The SIGTERM the supervisor passes on afterwards is the
    # same request to stop, not a second one that kills requests in flight.
    args = ["basic:app", "--reload", "--workers", "2", *HOST_PORT]
    with Served(*args) as served:
        line = served.serving()
        slow = InFlight(line.port, "/sleep?s=1")
        slow.start()
        served.wait_for(r"sleeping 1\.0 in")
        os.killpg(served.pgid, signal.SIGINT)
        assert slow.outcome() == (200, "slept 1.0")
        assert served.wait(timeout=15) == 0
        poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")
        assert "killing" not in served.output


def test_debug_reloads_without_importing_the_app_in_the_supervisor(tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(
        "import os, sys\n"
        "from trinado.web import Application\n"
        "print(f'imported in {os.getpid()}', file=sys.stderr, flush=True)\n"
        "app = Application([])\n"
    )
    with Served("noisy:app", "--debug", *HOST_PORT, cwd=tmp_path) as served:
        line = served.serving()
        assert line.pid != served.proc.pid  # --debug reloads: the server is a child
        assert re.findall(r"imported in (\d+)", served.output) == [str(line.pid)]
