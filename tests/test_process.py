"""Worker processes: ``--workers``, `run_workers` and `fork_processes`, in real subprocesses.

What must hold: N workers answer on one port (SO_REUSEPORT sockets, or one inherited socket);
a worker killed with SIGKILL is replaced while the others keep their connections; SIGTERM to
the parent lets a request in flight finish, then every process exits with status 0.
"""

from __future__ import annotations

import errno
import http.client
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_apps.harness import (
    APPS,
    InFlight,
    Served,
    connection,
    environment,
    get,
    pid_alive,
    poll,
)
from trinado import _worker_sockets, process
from trinado.process import cpu_count, fork_processes, run_workers, task_id

# -- the parent and its workers ----------------------------------------------------------------


def request_pid(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/pid")
    response = conn.getresponse()
    assert response.status == 200
    return int(response.read())


def kill_one_and_stop(served: Served, port: int, victim: int, survivor: int) -> None:
    """SIGKILL ``victim``: it is replaced, ``survivor``'s connection is untouched, the port
    keeps answering; then SIGTERM the parent with a request in flight."""
    kept = connection(port)
    poll(lambda: request_pid(kept) == survivor or kept.close(), what="a connection to survivor")
    os.kill(victim, signal.SIGKILL)
    served.wait_for(rf"Worker \d \(pid {victim}\) was killed by SIGKILL; restarting it")
    assert request_pid(kept) == survivor  # same connection, same worker, still served
    for _ in range(5):
        assert get(port) == (200, "hello")

    def replacement() -> int | None:
        pid = int(get(port, "/pid")[1])
        return pid if pid not in (victim, survivor) else None

    new = poll(replacement, what="the replacement worker to answer")
    assert not pid_alive(victim)
    kept.close()

    slow = InFlight(port, "/sleep?s=1")
    slow.start()
    served.wait_for(r"sleeping 1\.0 in")
    served.signal(signal.SIGTERM)
    assert slow.outcome() == (200, "slept 1.0")
    assert served.wait(timeout=15) == 0
    poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")
    for pid in (survivor, new):
        assert not pid_alive(pid)
    assert "Got SIGTERM: stopping 2 worker(s) gracefully" in served.output


def test_workers_with_reuse_port() -> None:
    args = ["basic:app", "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args) as served:
        line = served.serving()
        assert line.what == "2 workers"
        assert line.pid == served.proc.pid  # the parent announces, once every worker serves
        seen: set[int] = set()

        def both() -> bool:
            seen.add(int(get(line.port, "/pid")[1]))  # a new connection each time
            return len(seen) == 2

        poll(both, timeout=20, interval=0, what="both workers to answer")
        assert served.proc.pid not in seen
        victim, survivor = sorted(seen)
        kill_one_and_stop(served, line.port, victim, survivor)


def test_workers_sharing_one_inherited_socket() -> None:
    script = [sys.executable, str(APPS / "workers_script.py"), "inherit"]
    with Served(command=script) as served:
        line = served.serving()
        # A worker stuck in a blocking call cannot accept: the other one must.
        blocked = InFlight(line.port, "/block?s=1")
        blocked.start()
        _, match = served.wait_for(r"blocking in (\d+)")
        stuck = int(match.group(1))
        other = int(get(line.port, "/pid", timeout=5)[1])
        assert other != stuck
        outcome = blocked.outcome()
        assert outcome == (200, str(stuck))
        kill_one_and_stop(served, line.port, victim=stuck, survivor=other)


def test_a_second_signal_kills_the_workers_at_once() -> None:
    args = ["basic:app", "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args, "--shutdown-timeout", "60") as served:
        line = served.serving()
        stuck = InFlight(line.port, "/sleep?s=60")
        stuck.start()
        served.wait_for(r"sleeping 60\.0 in")
        served.signal(signal.SIGTERM)
        served.wait_for("Got SIGTERM: stopping 2 worker")
        served.signal(signal.SIGINT)
        assert served.wait(timeout=10) == 1  # not a clean stop: a worker was killed
        served.wait_for("Got SIGINT again: killing the workers now")
        poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")
        assert isinstance(stuck.outcome(timeout=5), Exception)


def test_workers_stop_when_their_parent_dies() -> None:
    args = ["basic:app", "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args) as served:
        line = served.serving()
        assert get(line.port) == (200, "hello")
        served.signal(signal.SIGKILL)
        served.wait(timeout=5)
        poll(lambda: not served.group_alive(), timeout=15, what="the orphaned workers to exit")
        served.wait_for("The supervising process has gone away: shutting down")


def test_run_workers_reports_a_port_in_use_before_forking() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{port} is already in use"):
            run_workers(_never_called, 2, port=port, host="127.0.0.1")


def _never_called() -> object:
    raise AssertionError("no worker may start")


def test_run_workers_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        run_workers(_never_called, -1, port=0)  # type: ignore[arg-type]


async def test_forking_inside_trio_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"before trio\.run"):
        fork_processes(2)
    with pytest.raises(RuntimeError, match=r"before trio\.run"):
        run_workers(_never_called, 2, port=0)  # type: ignore[arg-type]


def test_cpu_count_and_task_id_here() -> None:
    assert cpu_count() >= 1
    assert task_id() is None  # not a forked child


# -- fork_processes ----------------------------------------------------------------------------


def run_fork_script(tmp_path: Path, mode: str, max_restarts: int) -> Served:
    marker = tmp_path / "marker"
    script = [sys.executable, str(APPS / "fork_script.py"), str(marker), mode, str(max_restarts)]
    return Served(command=script)


def test_fork_processes_restarts_a_failed_child_and_exits_when_all_are_done(
    tmp_path: Path,
) -> None:
    with run_fork_script(tmp_path, "once", 5) as served:
        assert served.wait() == 0
        served.wait_for(r"Worker 0 \(pid \d+\) exited with status 3; restarting it")
        served.wait_for("child 0 done")
        served.wait_for("child 1 done")
        assert not served.group_alive()


def test_fork_processes_backs_off_then_gives_up(tmp_path: Path) -> None:
    with run_fork_script(tmp_path, "always", 2) as served:
        assert served.wait() == 1
        served.wait_for(r"Worker 1 \(pid \d+\) exited with status 1; restarting it$")
        served.wait_for(
            r"keeps dying \(2 times in a row, each within 10 s of starting\): "
            r"restarting it in 1 s"
        )
        served.wait_for("too many restarts, giving up")
        served.wait_for("RuntimeError: Too many child restarts, giving up")


def test_restart_delay_grows_per_task_and_resets_only_after_a_stable_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(process.time, "monotonic", lambda: now[0])
    pool = process._Pool(2, max_restarts=None, stop_timeout=1)

    def dies_after(task: int, uptime: float, waited: float = 0.0) -> float:
        now[0] += waited  # the restart delay, before the fork
        pool._started[task] = now[0]
        now[0] += uptime
        return pool._restart_delay(task)

    # Each restart waits as long as the delay says, which must not reset the back-off.
    delays = [dies_after(0, 0.5)]
    for _ in range(8):
        delays.append(dies_after(0, 0.5, waited=delays[-1]))
    assert delays == [0, 1, 2, 4, 8, 16, 30, 30, 30]
    assert pool.failed_before(0)
    # Another task has its own history.
    assert not pool.failed_before(1)
    assert dies_after(1, 0.1) == 0
    assert dies_after(1, 0.1) == 1
    # A worker that stayed up 10 seconds had started fine: restarted at once, history gone.
    assert dies_after(0, 10) == 0
    assert not pool.failed_before(0)
    assert dies_after(0, 0.1) == 0
    assert dies_after(0, 0.1) == 1


def test_a_worker_failing_again_logs_one_line_not_the_traceback_again() -> None:
    with Served(command=[sys.executable, str(APPS / "workers_script.py"), "broken"]) as served:
        assert served.wait() == 1
        served.wait_for("too many restarts, giving up")
    output = served.output
    assert output.count("Traceback") == 1
    again = [line for line in served.lines if "failed again" in line]
    assert len(again) == 2
    assert "failed again: RuntimeError: broken factory (" in again[0]
    assert "workers_script.py:" in again[0]


def test_on_ready_waits_for_every_task_id_and_forgets_dead_workers() -> None:
    calls: list[int] = []
    pool = process._Pool(2, max_restarts=None, stop_timeout=1, on_ready=lambda: calls.append(1))
    pool._children = {100: 0, 101: 1}
    pool._read_ready(b"0 100\n")
    del pool._children[100]  # worker 0 dies: reaped
    pool._ready.discard(0)
    pool._children[102] = 0  # and is replaced
    pool._read_ready(b"0 102\n0 100\n1 9")  # a late line from the dead one is ignored
    assert calls == []  # two lines from task 0: not both workers
    pool._read_ready(b"99\n")  # the rest of "1 999": not a child
    assert calls == []
    pool._read_ready(b"1 101\n")
    assert calls == [1]
    pool._read_ready(b"1 101\n")
    assert calls == [1]  # once


def test_a_failed_fork_is_retried_later(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(process.os, "fork", failing_fork)
    pool = process._Pool(2, max_restarts=None, stop_timeout=1)
    now = process.time.monotonic()
    assert pool._restart(1) is False  # no exception: the parent lives on
    assert pool._due[1] >= now + 1
    assert pool._children == {}


def test_a_failed_fork_at_the_first_start_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(process.os, "fork", failing_fork)
    pool = process._Pool(2, max_restarts=None, stop_timeout=1)
    with pytest.raises(OSError, match="cannot start worker 0: Resource temporarily") as info:
        pool.run()
    assert info.value.errno == errno.EAGAIN


WORKERS_ARGS = ["--workers", "2", "--host", "127.0.0.1", "--port", "0"]


def test_the_cli_reports_a_failed_fork_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, str(APPS / "fork_fails.py"), "basic:app", *WORKERS_ARGS],
        cwd=APPS,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"trinado: error: cannot start worker 0: {os.strerror(errno.EAGAIN)}"
    ]


def test_ctrl_c_while_workers_start_is_a_clean_stop() -> None:
    args = ["slow_start:app", "--workers", "2", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args) as served:
        index, match = served.wait_for(r"starting slowly in (\d+)")
        served.wait_for("starting slowly in", after=index + 1)
        # SIGINT to a worker still in its lifespan: it stops cleanly (status 0, so it has
        # finished and is not restarted), without a traceback.
        pid = int(match.group(1))
        os.kill(pid, signal.SIGINT)
        served.wait_for(rf"Worker \d \(pid {pid}\) exited normally")
        os.killpg(served.pgid, signal.SIGINT)  # then a terminal's Ctrl-C: the whole group
        assert served.wait(timeout=15) == 0
        poll(lambda: not served.group_alive(), timeout=5, what="every process to exit")
    assert "Traceback" not in served.output
    assert "failed" not in served.output


# -- binding before the fork -------------------------------------------------------------------


def accepts(sock: socket.socket, port: int, unix_path: str | None = None) -> bool:
    if unix_path is not None:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(5)
        client.connect(unix_path)
    else:
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
    with client:
        sock.settimeout(5)
        accepted, _ = sock.accept()
        accepted.close()
    return True


@pytest.mark.skipif(not _worker_sockets.default_reuse_port(), reason="needs Linux's SO_REUSEPORT")
def test_reuse_port_binding_and_what_counts_as_in_use() -> None:
    bound = _worker_sockets.bind_sockets(port=0, host="127.0.0.1", reuse_port=True)
    try:
        assert bound.reuse_port
        assert bound.port > 0  # port 0 resolved once, in the parent
        (held,) = bound.held
        assert not held.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        (worker,) = bound.worker_sockets()  # in a worker: its own socket...
    finally:
        bound.close()
    with worker:
        # ...that listens only when serve() says so, after the application's lifespan: the
        # kernel must not hand connections to a worker that is still starting.
        assert not worker.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        worker.listen()
        assert worker.getsockname()[1] == bound.port
        assert accepts(worker, bound.port)
        # A listener there, even one with SO_REUSEPORT, means "in use" for a new server...
        for reuse_port in (False, True):
            with pytest.raises(OSError, match="already in use") as info:
                _worker_sockets.bind_sockets(
                    port=bound.port, host="127.0.0.1", reuse_port=reuse_port
                )
            assert info.value.errno == errno.EADDRINUSE
        # ...but not for the next generation of the same server (--reload), which overlaps.
        handover = _worker_sockets.bind_sockets(port=bound.port, host="127.0.0.1", handover=True)
        try:
            (second,) = handover.worker_sockets()
        finally:
            handover.close()
        with second:
            assert second.getsockname()[1] == bound.port
            second.listen()  # both listen: the hand-over of --reload


def test_inherited_binding_listens_in_the_parent() -> None:
    bound = _worker_sockets.bind_sockets(port=0, host="127.0.0.1", reuse_port=False)
    try:
        (sock,) = bound.held
        assert bound.worker_sockets() == [sock]
        assert sock.get_inheritable()
        assert accepts(sock, bound.port)
    finally:
        bound.close()


def test_unix_socket_binding(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    bound = _worker_sockets.bind_sockets(unix_socket=path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666  # nginx may connect, as with app.serve
    try:
        with pytest.raises(OSError, match="already in use by a running server"):
            _worker_sockets.bind_sockets(unix_socket=path)
    finally:
        bound.close()
    stale = _worker_sockets.bind_sockets(unix_socket=path)  # nobody answers there now: replaced
    stale.close()
    regular = tmp_path / "file"
    regular.write_text("data")
    with pytest.raises(ValueError, match="not a socket"):
        _worker_sockets.bind_sockets(unix_socket=str(regular))


def test_unix_socket_handover_takes_the_path_only_when_published(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    old = _worker_sockets.bind_sockets(unix_socket=path)
    try:
        new = _worker_sockets.bind_sockets(unix_socket=path, handover=True)
        staged = _worker_sockets.staged_unix_path(path, os.getpid())
        try:
            assert os.path.exists(staged)
            assert stat.S_IMODE(os.stat(staged).st_mode) == 0o666
            assert accepts(old.held[0], 0, path)  # the old server still owns the path
            new.publish()
            assert not os.path.exists(staged)
            assert accepts(new.held[0], 0, path)  # now the new one does
        finally:
            new.close()
        assert os.path.exists(path)  # published: closing leaves the path alone
        unpublished = _worker_sockets.bind_sockets(unix_socket=path, handover=True)
        unpublished.close()  # a version that never served removes its staged file
        assert not os.path.exists(staged)
    finally:
        old.close()


def test_harness_environment_puts_this_checkout_first() -> None:
    assert environment()["PYTHONPATH"].split(os.pathsep)[0] == str(APPS.parent.parent)
