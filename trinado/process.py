"""Worker processes: several processes serving one port, each restarted when it dies.

Two levels, both Unix-only (they need :func:`os.fork`):

* :func:`run_workers` is what ``python -m trinado --workers N`` uses: the parent binds the
  port, forks N workers that each run ``trio.run(app.serve, ...)``, restarts a worker that
  dies, and stops them all gracefully on SIGTERM or SIGINT (from ``examples/workers.py``)::

      def make_app() -> Application:
          return Application([(r"/", MainHandler)])
      ...
          return run_workers(
              make_app,
              args.workers,
              port=args.port,
              host="127.0.0.1",
              max_body_size=1024 * 1024,  # no flag for this one
              shutdown_timeout=20,
              on_ready=announce,
          )

* :func:`fork_processes` is Tornado's building block: it forks and returns the task id in each
  child, while the parent stays inside it, restarting children that fail.

Call either before anything has started Trio: a process must not fork while ``trio.run`` is
running in it. The parent never runs Trio; it waits on signals and on its children.

How workers share the port: on Linux every worker listens on its own socket bound with
SO_REUSEPORT, and the kernel spreads new connections between them. The parent binds the port
first, without listening and without SO_REUSEPORT: that fails if any server listens there
already (even one using SO_REUSEPORT), resolves port 0 once, and keeps the port from being
handed out as another program's port 0. Elsewhere, and for Unix sockets, the parent opens one
listening socket and the workers inherit it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ._worker_sockets import BoundSockets, bind_sockets
from .autoreload import is_supervised
from .log import gen_log

if TYPE_CHECKING:
    from ._application import Application
    from .httpserver import HTTPServer

__all__ = ["cpu_count", "fork_processes", "run_workers", "task_id"]

_task_id: int | None = None

# Restart back-off, per task id: a worker that dies within _STABLE_UPTIME seconds of its start
# has failed "quickly"; after the first quick failure in a row, each restart waits twice as
# long as the one before (1, 2, 4... seconds, up to _MAX_BACKOFF). A worker that stayed up
# longer than that had started fine: its death is restarted at once.
_STABLE_UPTIME = 10.0
_MAX_BACKOFF = 30.0
# Extra time, past the shutdown timeout, that a stopping worker gets before SIGKILL.
_STOP_MARGIN = 5.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SIGCHLD: int = getattr(signal, "SIGCHLD", 0)  # only wakes the parent's wait; Unix only


def cpu_count() -> int:
    """The number of CPUs this process may run on (at least 1).

    Returns:
        The CPUs in this process's affinity mask where the OS tells, else all of them.
    """
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def task_id() -> int | None:
    """The task id of this process, if :func:`fork_processes` or :func:`run_workers` made it.

    Returns:
        A number from 0 to N - 1 in a child, None elsewhere (also in the parent).
    """
    return _task_id


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Forks worker processes; returns the task id in each child, never in the parent.

    Each child gets a task id from 0 to ``num_processes - 1`` and continues from here. The
    parent stays inside this function: a child that dies from a signal or exits with a
    non-zero status is started again with the same id (after a growing delay when it keeps
    dying within 10 seconds of its start, as in `run_workers`); a child that exits with
    status 0 has finished. When every child has finished, the parent exits with status 0.
    On SIGTERM or SIGINT the parent sends SIGTERM to every child, waits for them (SIGKILL
    after 30 seconds, or at once on a second signal) and exits (status 1 if one had to be
    killed).

    Call this before ``trio.run``, then start Trio in each child.

    Args:
        num_processes: How many children; None or 0 (or less) means one per CPU.
        max_restarts: How many restarts, in all, before giving up (100 when None).

    Returns:
        The task id, in a child.

    Raises:
        RuntimeError: ``os.fork`` is not available, Trio is running, this process already
            called it, or (in the parent) children kept failing past ``max_restarts``.
        OSError: A child could not be forked at the first start (the children already
            started are stopped first). Later, a failed fork is retried after a delay.
    """
    _check_can_fork()
    if _task_id is not None:
        raise RuntimeError("fork_processes() was already called in this process")
    if num_processes is None or num_processes <= 0:
        num_processes = cpu_count()
    gen_log.info("Starting %d processes", num_processes)
    pool = _Pool(
        num_processes,
        max_restarts=100 if max_restarts is None else max_restarts,
        stop_timeout=30.0,
    )
    child = pool.run()
    if child is not None:
        return child
    if pool.gave_up:
        raise RuntimeError("Too many child restarts, giving up")
    sys.exit(pool.exit_code)


def run_workers(
    make_app: Callable[[], Application],
    workers: int | None = None,
    *,
    port: int = 8888,
    host: str = "",
    unix_socket: str | None = None,
    reuse_port: bool | None = None,
    backlog: int | None = None,
    shutdown_timeout: float = 10.0,
    max_restarts: int | None = None,
    on_ready: Callable[[int], None] | None = None,
    **server_options: Any,
) -> int:
    """Serves an application from several processes on one port until SIGTERM or SIGINT.

    The port is bound here, in the parent, before any worker exists: port 0 resolves once,
    and a port in use fails here, once, with :class:`OSError`. Then ``workers`` processes are
    forked; each calls ``make_app()`` and serves it with ``app.serve`` on the shared port.

    The parent restarts a worker that dies (killed by a signal or exiting non-zero). A
    worker that keeps dying within 10 seconds of its start is restarted at once the first
    time, then after 1, 2, 4... seconds (up to 30); once it stays up 10 seconds, its next
    death is restarted at once again. The first failure of a worker is logged with its
    traceback, the ones in a row after it in one line each. A worker's death never affects
    the others. A worker stopped by Ctrl-C (SIGINT) exits cleanly, even while starting.

    Each worker listens only once its application is ready (after the ``lifespan``
    setting's startup), so that with SO_REUSEPORT no connection waits on a worker that is
    still starting.

    SIGTERM or SIGINT to the parent stops every worker gracefully: each stops accepting and
    gives its requests in flight ``shutdown_timeout`` seconds to finish. A worker still
    running 5 seconds after that, or any worker after a second signal, is killed. Workers
    also stop gracefully by themselves if the parent dies. Repeated signals sent to a
    worker directly (as a terminal's Ctrl-C or systemd's stop do) do not hurry it.

    Args:
        make_app: Builds the application; called in each worker (a function returning an
            application built before the call works too).
        workers: How many worker processes; None or 0 means one per CPU.
        port: The TCP port; 0 picks a free one (see ``on_ready``).
        host: The address to listen on; ``""`` means every interface.
        unix_socket: Serve on this Unix socket path instead of TCP (an old socket file there
            is replaced).
        reuse_port: Give each worker its own SO_REUSEPORT socket (True) or share one
            inherited socket (False). None: SO_REUSEPORT on Linux, the shared socket elsewhere.
        backlog: The listen queue length.
        shutdown_timeout: Seconds requests in flight get to finish when stopping.
        max_restarts: Give up (stop everything, return 1) after this many restarts in all;
            None: never give up.
        on_ready: Called in the parent, with the TCP port (0 for a Unix socket), once every
            worker accepts connections (each of the ``workers`` task ids has a worker that
            is serving).
        **server_options: Options of :meth:`Application.serve <trinado.web.Application.serve>`
            (``xheaders``, ``ssl_options``, timeouts, limits...).

    Returns:
        The exit status for the parent: 0 after a graceful stop, 1 if a worker had to be
        killed or restarts were given up.

    Raises:
        RuntimeError: ``os.fork`` is not available or Trio is already running here.
        ValueError: ``workers`` is negative, or ``reuse_port=True`` where the OS lacks it.
        OSError: The port or socket path cannot be bound (in use, no permission...), or
            the first fork of a worker fails.
    """
    return _run_workers(
        make_app,
        workers,
        bind=functools.partial(
            bind_sockets,
            port=port,
            host=host,
            unix_socket=unix_socket,
            reuse_port=reuse_port,
            backlog=backlog,
        ),
        shutdown_timeout=shutdown_timeout,
        max_restarts=max_restarts,
        on_ready=on_ready,
        server_options=server_options,
    )


def _run_workers(
    make_app: Callable[[], Application],
    workers: int | None,
    *,
    bind: Callable[[], BoundSockets],
    shutdown_timeout: float,
    max_restarts: int | None,
    on_ready: Callable[[int], None] | None,
    server_options: dict[str, Any],
    stop_on_eof: int | None = None,
) -> int:
    """:func:`run_workers`, with the socket binding given and a file descriptor whose EOF
    (the supervisor has gone away) stops the workers, for the command line."""
    _check_can_fork()
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be 0 or more, not {workers}")
    count = workers or cpu_count()
    bound = bind()
    ready_r, ready_w = os.pipe()
    alive_r, alive_w = os.pipe()  # a worker sees EOF on alive_r when the parent is gone

    def all_ready() -> None:
        bound.publish()
        if on_ready is not None:
            on_ready(bound.port)

    pool = _Pool(
        count,
        max_restarts=max_restarts,
        stop_timeout=shutdown_timeout + _STOP_MARGIN,
        ready_fd=ready_r,
        on_ready=all_ready,
        eof_fds=[] if stop_on_eof is None else [stop_on_eof],
        child_closes=[ready_r, alive_w],
    )
    try:
        worker = pool.run()
        if worker is None:
            return pool.exit_code
    finally:
        if _task_id is None:  # the parent
            for fd in (ready_r, ready_w, alive_r, alive_w):
                os.close(fd)
            bound.close()
    # A worker: serve, then leave without unwinding the parent's stack.
    code = 1
    try:
        sockets = bound.worker_sockets()
        app = make_app()
        trio.run(
            functools.partial(
                _serve_sockets,
                app,
                sockets,
                server_options,
                backlog=bound.backlog,
                quiet_signals=True,
                stop_on_eof=alive_r,
                on_serving=lambda _server: _tell_parent(ready_w, worker),
            )
        )
        code = 0
    except BaseException as exc:
        if _is_interrupt(exc):  # Ctrl-C reached this worker while it started: a clean stop
            code = 0
        elif pool.failed_before(worker):  # its previous life failed quickly too: one line
            gen_log.error("Worker %d (pid %d) failed again: %s", worker, os.getpid(), _line(exc))
        else:
            gen_log.error("Worker %d (pid %d) failed", worker, os.getpid(), exc_info=exc)
    finally:
        _flush_stdio()
        os._exit(code)


def _tell_parent(fd: int, task: int) -> None:
    with contextlib.suppress(OSError):  # the parent is gone: EOF on alive_r stops us
        os.write(fd, f"{task} {os.getpid()}\n".encode())


def _is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a KeyboardInterrupt, perhaps in (nested) exception groups."""
    grouped = getattr(exc, "exceptions", None)
    if isinstance(grouped, tuple) and grouped:
        return all(isinstance(e, BaseException) and _is_interrupt(e) for e in grouped)
    return isinstance(exc, KeyboardInterrupt)


def _line(exc: BaseException) -> str:
    """An exception in one line: its type, message and where it was raised."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        text += f" ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})"
    return text


def _check_can_fork() -> None:
    if not hasattr(os, "fork"):
        raise RuntimeError("worker processes need os.fork(), which this platform lacks")
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return
    raise RuntimeError("worker processes must be forked before trio.run(), not inside it")


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        return f"was killed by {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _is_clean_stop(status: int) -> bool:
    """A child's status after we asked it to stop: exit 0 or the stop signal itself."""
    if os.WIFSIGNALED(status):
        return os.WTERMSIG(status) in _STOP_SIGNALS
    return os.WEXITSTATUS(status) == 0


@dataclass
class _Pool:
    """The parent's loop: fork children, restart the ones that fail, stop them on a signal.

    :meth:`run` returns a task id in each child; in the parent it returns None once every
    child is gone, with :attr:`exit_code` set.
    """

    count: int
    max_restarts: int | None
    stop_timeout: float
    ready_fd: int | None = None
    on_ready: Callable[[], None] | None = None
    eof_fds: list[int] = field(default_factory=list)
    child_closes: list[int] = field(default_factory=list)
    exit_code: int = 0
    gave_up: bool = False
    _children: dict[int, int] = field(default_factory=dict)  # pid -> task id
    _due: dict[int, float] = field(default_factory=dict)  # task id -> restart time
    _started: dict[int, float] = field(default_factory=dict)  # task id -> last fork time
    _failures: dict[int, int] = field(default_factory=dict)  # task id -> quick deaths in a row
    _ready: set[int] = field(default_factory=set)  # task ids whose worker serves
    _ready_buffer: bytes = b""
    _restarts: int = 0
    _stopping: bool = False
    _killed: bool = False
    _stop_deadline: float = 0.0
    _signals: _SignalWakeup = field(default_factory=lambda: _SignalWakeup(_STOP_SIGNALS))

    def run(self) -> int | None:
        self._signals.install()
        try:
            start_error: OSError | None = None
            for task in range(self.count):
                try:
                    if self._spawn(task):
                        return task
                except OSError as exc:
                    # Stop the ones already started; the caller reports the error.
                    reason = exc.strerror or str(exc)
                    start_error = OSError(exc.errno, f"cannot start worker {task}: {reason}")
                    self._begin_stop()
                    break
            while self._children or (self._due and not self._stopping):
                child = self._step()
                if child is not None:
                    return child
            if start_error is not None:
                raise start_error
            return None
        finally:
            if _task_id is None:
                self._signals.restore()

    def failed_before(self, task: int) -> bool:
        """Whether the previous worker of ``task`` died within seconds of its start."""
        return self._failures.get(task, 0) > 0

    # -- children --------------------------------------------------------------------------

    def _spawn(self, task: int) -> bool:
        """Forks child ``task``; returns True in the child.

        Raises:
            OSError: The fork failed (too many processes, no memory).
        """
        self._started[task] = time.monotonic()
        pid = os.fork()
        if pid == 0:
            global _task_id
            _task_id = task
            self._signals.restore()
            for fd in (*self.child_closes, *self.eof_fds):
                with contextlib.suppress(OSError):
                    os.close(fd)
            return True
        self._children[pid] = task
        return False

    def _restart(self, task: int) -> bool:
        """Forks child ``task`` again; returns True in the child. A failed fork is retried."""
        try:
            return self._spawn(task)
        except OSError as exc:
            delay = max(1.0, self._restart_delay(task))
            gen_log.error(
                "Cannot start worker %d: %s; trying again in %.0f s",
                *(task, exc.strerror or exc, delay),
            )
            self._due[task] = time.monotonic() + delay
            return False

    def _step(self) -> int | None:
        """Waits for something to happen and handles it; returns a task id in a new child."""
        now = time.monotonic()
        deadlines = [] if self._stopping else list(self._due.values())
        if self._stopping and not self._killed:
            deadlines.append(self._stop_deadline)
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        watched = [self._signals.fd, *self.eof_fds]
        if self.ready_fd is not None:
            watched.append(self.ready_fd)
        readable, _, _ = select.select(watched, [], [], timeout)
        if self._signals.fd in readable:
            self._handle_signals()
        if self.ready_fd is not None and self.ready_fd in readable:
            self._read_ready(os.read(self.ready_fd, 4096))
        for fd in [fd for fd in self.eof_fds if fd in readable]:
            with contextlib.suppress(OSError):
                if os.read(fd, 4096):
                    continue
            self.eof_fds.remove(fd)
            gen_log.warning("The supervising process has gone away: stopping")
            self._begin_stop()
        self._reap()
        now = time.monotonic()
        if self._stopping:
            if not self._killed and self._children and now >= self._stop_deadline:
                gen_log.warning(
                    "%d worker(s) still running %.1f s after SIGTERM: killing them",
                    len(self._children),
                    self.stop_timeout,
                )
                self._kill_all()
            return None
        for task, when in sorted(self._due.items(), key=lambda item: item[1]):
            if when <= now:
                del self._due[task]
                if self._restart(task):
                    return task
        return None

    def _read_ready(self, data: bytes) -> None:
        """Notes the workers that serve (lines of ``"task pid"``); calls on_ready once all do.

        A line from a worker that has died meanwhile (its pid is no longer a child) is ignored.
        """
        *lines, self._ready_buffer = (self._ready_buffer + data).split(b"\n")
        for line in lines:
            try:
                task, pid = (int(part) for part in line.split())
            except ValueError:
                continue
            if self._children.get(pid) == task:
                self._ready.add(task)
        if self.on_ready is not None and not self._stopping and len(self._ready) >= self.count:
            callback, self.on_ready = self.on_ready, None
            callback()

    def _handle_signals(self) -> None:
        for signum in self._signals.received():
            name = signal.Signals(signum).name
            if not self._stopping:
                gen_log.info("Got %s: stopping %d worker(s) gracefully", name, len(self._children))
                self._begin_stop()
            elif is_supervised():
                # A terminal's Ctrl-C reaches this process directly and again through the
                # --reload supervisor: one request to stop. The supervisor escalates itself.
                gen_log.debug("Got %s again: already stopping", name)
            elif not self._killed:
                gen_log.warning("Got %s again: killing the workers now", name)
                self._kill_all()

    def _begin_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._due.clear()
        self._stop_deadline = time.monotonic() + self.stop_timeout
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _kill_all(self) -> None:
        self._killed = True
        self.exit_code = 1
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            task = self._children.pop(pid, None)
            if task is None:
                continue
            self._ready.discard(task)
            self._child_died(task, pid, status)

    def _child_died(self, task: int, pid: int, status: int) -> None:
        how = _describe_status(status)
        if self._stopping:
            if not _is_clean_stop(status):
                self.exit_code = 1
            gen_log.info("Worker %d (pid %d) %s", task, pid, how)
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            gen_log.info("Worker %d (pid %d) exited normally", task, pid)
            return
        self._restarts += 1
        if self.max_restarts is not None and self._restarts > self.max_restarts:
            gen_log.error("Worker %d (pid %d) %s; too many restarts, giving up", task, pid, how)
            self.gave_up = True
            self._begin_stop()
            self.exit_code = 1
            return
        delay = self._restart_delay(task)
        if delay:
            gen_log.warning(
                "Worker %d (pid %d) %s; it keeps dying (%d times in a row, each within %.0f s "
                "of starting): restarting it in %.0f s",
                *(task, pid, how, self._failures[task], _STABLE_UPTIME, delay),
            )
        else:
            gen_log.warning("Worker %d (pid %d) %s; restarting it", task, pid, how)
        self._due[task] = time.monotonic() + delay

    def _restart_delay(self, task: int) -> float:
        """Counts a failure of ``task`` and returns how long to wait before restarting it."""
        now = time.monotonic()
        if now - self._started.get(task, now) >= _STABLE_UPTIME:
            self._failures[task] = 0  # it had started fine: this death is not a crash loop
            return 0.0
        failures = self._failures[task] = self._failures.get(task, 0) + 1
        return 0.0 if failures <= 1 else min(_MAX_BACKOFF, 2.0 ** (failures - 2))


class _SignalWakeup:
    """Signals as bytes on a pipe, for a process that waits in :func:`select.select`.

    While installed, the given signals (and SIGCHLD, which only wakes the wait) no longer
    interrupt the program: :meth:`received` lists those that arrived.
    """

    def __init__(self, signals: Iterable[int]) -> None:
        self.signals = tuple(signals)
        self.fd = -1
        self._write_fd = -1
        self._saved: dict[int, Any] = {}
        self._saved_wakeup = -1

    def install(self) -> None:
        """Routes the signals to the pipe (:attr:`fd` becomes readable when one arrives)."""
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._saved_wakeup = signal.set_wakeup_fd(self._write_fd)
        for signum in (*self.signals, _SIGCHLD) if _SIGCHLD else self.signals:
            self._saved[signum] = signal.signal(signum, _note_signal)

    def restore(self) -> None:
        """Puts the previous handlers back (also right after a fork, in the child)."""
        signal.set_wakeup_fd(self._saved_wakeup)
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()
        os.close(self.fd)
        os.close(self._write_fd)

    def received(self) -> list[int]:
        """The watched signals that arrived since the last call (SIGCHLD left out)."""
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return []
        return [signum for signum in data if signum in self.signals]


def _note_signal(signum: int, frame: object) -> None:
    """A Python-level handler, so that the wakeup fd receives the signal number."""


# -- serving, in a worker or a single process --------------------------------------------------


async def _serve_sockets(
    app: Application,
    sockets: Iterable[socket.socket],
    server_options: dict[str, Any],
    *,
    backlog: int | None,
    quiet_signals: bool,
    stop_on_eof: int | None = None,
    on_serving: Callable[[HTTPServer], object] | None = None,
) -> None:
    """Serves ``app`` on already-bound sockets until it is stopped.

    The sockets listen (with ``backlog``) only once the application's lifespan has started;
    sockets that listen already (inherited from the parent) are served as they are.
    ``quiet_signals``: SIGINT and SIGTERM start a graceful shutdown and further ones are
    ignored (a supervising parent escalates); otherwise the server's own handling applies
    (a second signal stops at once). ``stop_on_eof``: a file descriptor whose EOF (the
    supervising process has gone away) starts a graceful shutdown.
    """
    serve = functools.partial(
        app.serve,
        sockets=list(sockets),
        backlog=backlog,
        handle_signals=not quiet_signals,
        **server_options,
    )
    async with trio.open_nursery() as nursery:
        server: HTTPServer = await nursery.start(_serve_then_cancel, serve, nursery.cancel_scope)
        if quiet_signals:
            nursery.start_soon(_shutdown_on_signals, server)
        if stop_on_eof is not None:
            nursery.start_soon(_shutdown_on_eof, server, stop_on_eof)
        if on_serving is not None:
            on_serving(server)


async def _serve_then_cancel(
    serve: Callable[..., Any],
    scope: trio.CancelScope,
    task_status: trio.TaskStatus[HTTPServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    await serve(task_status=task_status)
    scope.cancel()  # serving is over: end the watchers next to it


async def _shutdown_on_signals(server: HTTPServer) -> None:
    with trio.open_signal_receiver(*_STOP_SIGNALS) as signals:
        async for signum in signals:
            gen_log.info("Got %s: shutting down gracefully", signal.Signals(signum).name)
            server.shutdown()


async def _shutdown_on_eof(server: HTTPServer, fd: int) -> None:
    while True:
        await trio.lowlevel.wait_readable(fd)
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            gen_log.warning("The supervising process has gone away: shutting down")
            server.shutdown()
            return
