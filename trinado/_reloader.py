"""``--reload``: a supervisor that runs the server in a child process and replaces it on change.

The supervisor never imports the application (a syntax error must not kill it). It runs
``python -m trinado <the same arguments, without --reload>`` as a child, marked as supervised
(`trinado.autoreload.SUPERVISED_ENV`) and connected to it by a socket pair, on which the child
sends JSON lines:

* ``loaded``, once the application is imported and built: the files it depends on
  (`trinado.autoreload.watched_files`) with their mtime and size as it loaded them, so that
  an edit made while it was starting is not missed;
* ``ready``, once it serves (after the application's lifespan has started): its pid and port;
* ``failed``, when it could not start: the files it had loaded, and those of the traceback
  (a module that failed to import is no longer in `sys.modules`), so that fixing them
  reloads.

The supervisor polls the files it has heard of. On a change:

1. the changed ``.py`` files, and those that no serving version has loaded yet, are compiled
   (`trinado.autoreload.syntax_errors`); an error is printed and nothing else happens;
2. otherwise a new child starts (a child still starting is killed first: its code is out of
   date); when it reports that it serves, the old one gets SIGTERM and finishes its requests
   in flight (it is killed if still running ``shutdown_timeout`` + 5 seconds later). A new
   child that exits before serving (an exception at import) leaves the old one serving;
   what it printed (on the shared standard error) says why. One that does not serve within
   `START_TIMEOUT` seconds is killed.

Both children listen at once during the hand-over: with SO_REUSEPORT on a TCP port (Linux),
the new one listening only once it is ready; or with a Unix socket bound at a temporary path
and moved over the old one's once ready. Where neither works, the old child stops first.

When the serving child dies by itself, or a start fails, the supervisor waits for the next
change. Only a failure of the very first start ends it (with that child's exit status), as
does SIGTERM or SIGINT. The child sees EOF on its end of the socket pair when the supervisor
dies, and shuts down.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import autoreload
from ._worker_sockets import staged_unix_path
from .log import gen_log
from .process import _STOP_MARGIN, _STOP_SIGNALS, _SignalWakeup

if TYPE_CHECKING:
    from ._application import Application

LINK_FD_ENV = "TRINADO_RELOAD_FD"
"""The child's end of the socket pair to the supervisor (a file descriptor number)."""
HANDOVER_ENV = "TRINADO_RELOAD_HANDOVER"
"""Set for every child but the first: an older child may still listen on the port."""

POLL_INTERVAL = 0.5
START_TIMEOUT = 30.0
"""Seconds a new child gets to serve before it is killed (the previous one keeps serving)."""
_MAX_LINE = 1 << 22  # bound on one report line from a child
_CLEAN_EXITS = (0, 130, -signal.SIGTERM, -signal.SIGINT)  # a child stopped by a signal


def child_argv(argv: Sequence[str], port: int | None) -> list[str]:
    """The arguments of a child: ours without ``--reload``, with the port pinned once known.

    Args:
        argv: The command line's arguments (after ``python -m trinado``).
        port: The port the first child got (for ``--port 0``), or None.

    Returns:
        The arguments after ``python -m trinado``.
    """
    args = [arg for arg in argv if arg != "--reload"]
    if port is not None:
        args += ["--port", str(port)]
    return args


# (mtime_ns, size) of a file, None when missing: what autoreload compares.
_Snapshot = autoreload._Snapshot
_snapshot = autoreload._snapshot


@dataclass
class ChildLink:
    """The child's side: what it reports to the supervisor, and whether it takes over a port."""

    fd: int
    handover: bool

    @classmethod
    def from_environ(cls) -> ChildLink | None:
        """The link set up by a supervisor, taken out of the environment (None without one).

        Returns:
            The link, or None when this process is not a supervised child.
        """
        fd = os.environ.pop(LINK_FD_ENV, None)
        handover = os.environ.pop(HANDOVER_ENV, None) is not None
        if fd is None or not autoreload.is_supervised():
            return None
        try:
            number = int(fd)
            os.fstat(number)
        except (ValueError, OSError):
            return None
        os.set_inheritable(number, False)
        return cls(number, handover)

    def report_loaded(self, app: Application) -> None:
        """Tells the supervisor the files the application depends on, as they are now.

        Call it right after the import, before serving starts.

        Args:
            app: The application (its template files are watched too).
        """
        files = {path: _snapshot(path) for path in autoreload.watched_files(app)}
        self._send({"event": "loaded", "pid": os.getpid(), "files": files})

    def report_ready(self, port: int) -> None:
        """Tells the supervisor that this child serves.

        Args:
            port: The TCP port served (0 for a Unix socket).
        """
        self._send({"event": "ready", "pid": os.getpid(), "port": port})

    def report_failed(self, exc: BaseException) -> None:
        """Tells the supervisor the files to watch after this child failed to start.

        These are the application's files loaded so far, and those named by the exception's
        traceback (and by a `SyntaxError`), its causes and contexts included.

        Args:
            exc: Why the child could not start.
        """
        paths = autoreload.watched_files() | _traceback_files(exc)
        files = {path: _snapshot(path) for path in paths}
        self._send({"event": "failed", "pid": os.getpid(), "files": files})

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with contextlib.suppress(OSError):  # the supervisor is gone: EOF stops us soon
            while data:
                data = data[os.write(self.fd, data) :]


def _traceback_files(exc: BaseException) -> set[str]:
    """The application's source files in the tracebacks of ``exc`` and the exceptions
    chained to it or grouped in it."""
    names: set[str] = set()
    seen: set[int] = set()
    todo = [exc]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, SyntaxError) and error.filename:
            names.add(error.filename)
        tb = error.__traceback__
        while tb is not None:
            names.add(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)
        grouped = getattr(error, "exceptions", None)  # an exception group (a Trio nursery's)
        if isinstance(grouped, tuple):
            todo.extend(e for e in grouped if isinstance(e, BaseException))
    found = set()
    for name in names:
        source = autoreload._application_source(name)
        if source is not None:
            found.add(source)
    return found


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen[bytes]
    link: socket.socket
    deadline: float = math.inf  # to serve, while starting; to exit, once retiring
    buffer: bytes = b""
    ready: bool = False
    killed: bool = False
    files: dict[str, _Snapshot] = field(default_factory=dict)
    eof: bool = False

    def read_messages(self) -> list[dict[str, Any]]:
        """The complete messages received so far (reads until nothing more is waiting)."""
        messages = []
        while not self.eof:
            try:
                data = self.link.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                self.eof = True  # stop watching it; its exit shows through SIGCHLD
                break
            self.buffer += data
            if len(self.buffer) > _MAX_LINE:
                self.buffer = b""
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if isinstance(message, dict):
                        messages.append(message)
        return messages

    def signal(self, signum: int) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.killed = True

    def close(self) -> None:
        self.link.close()


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class Supervisor:
    """Runs and replaces the server's child process; see the module's docstring.

    Args:
        argv: The command line's arguments (``--reload`` is dropped for the children).
        shutdown_timeout: Seconds a stopping child gets for its requests in flight.
        overlap: Whether an old and a new child can listen at the same time.
        pin_port: Whether to pass the first child's port to later ones (TCP, not a Unix socket).
        unix_socket: The Unix socket path served, if any (to remove the temporary socket file
            of a child killed before it took over the path).
        start_timeout: Seconds a new child gets to serve before it is killed.
        stop_margin: Seconds past ``shutdown_timeout`` before a stopping child is killed.
    """

    argv: Sequence[str]
    shutdown_timeout: float
    overlap: bool
    pin_port: bool
    unix_socket: str | None = None
    start_timeout: float = START_TIMEOUT
    stop_margin: float = _STOP_MARGIN
    exit_code: int = 0
    _current: _Child | None = None
    _pending: _Child | None = None
    _retiring: list[_Child] = field(default_factory=list)
    _port: int | None = None
    _detector: autoreload.ChangeDetector | None = None
    _served: bool = False  # some child has served: failures no longer end the supervisor
    _start_when_retired: bool = False
    _stopping: bool = False
    _killed: bool = False
    _stop_deadline: float = 0.0
    _signals: _SignalWakeup = field(default_factory=lambda: _SignalWakeup(_STOP_SIGNALS))

    def run(self) -> int:
        """Supervises until SIGTERM or SIGINT, or until the first child fails to start.

        Returns:
            The exit status: 0 after a graceful stop; the first child's status when it could
            not start (an import error, a port in use), 1 when it did not serve in time; 1
            if a child had to be killed while stopping.
        """
        self._signals.install()
        try:
            self._start()
            next_poll = time.monotonic() + POLL_INTERVAL
            while self._children() or not self._stopping:
                deadlines = self._deadlines() if self._stopping else [next_poll, *self._deadlines()]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                links = [child.link.fileno() for child in self._children() if not child.eof]
                readable, _, _ = select.select([self._signals.fd, *links], [], [], timeout)
                if self._signals.fd in readable:
                    self._handle_signals()
                for child in self._children():
                    if not child.eof and child.link.fileno() in readable:
                        self._handle_messages(child)
                for child in self._children():
                    if child.proc.poll() is not None:
                        self._exited(child)
                now = time.monotonic()
                self._check_deadlines(now)
                if not self._stopping and now >= next_poll:
                    next_poll = now + POLL_INTERVAL
                    self._poll_files()
            return self.exit_code
        finally:
            for child in self._children():
                child.signal(signal.SIGKILL)
                child.proc.wait()
                child.close()
            self._signals.restore()

    def _children(self) -> list[_Child]:
        found = [c for c in (self._current, self._pending) if c is not None]
        return found + self._retiring

    # -- children ----------------------------------------------------------------------------

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        env = dict(os.environ)
        env[autoreload.SUPERVISED_ENV] = "1"
        env[LINK_FD_ENV] = str(theirs.fileno())
        if self._children():  # an older child may still listen there
            env[HANDOVER_ENV] = "1"
        else:
            env.pop(HANDOVER_ENV, None)
        port = self._port if self.pin_port else None
        command = [sys.executable, "-m", "trinado", *child_argv(self.argv, port)]
        try:
            proc = subprocess.Popen(
                command, env=env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._pending = _Child(proc, ours, deadline=time.monotonic() + self.start_timeout)

    def _retire(self, child: _Child, *, kill: bool = False) -> None:
        """Stops a child that is no longer wanted: gracefully, or at once with ``kill``."""
        if kill:
            child.kill()
        else:
            child.signal(signal.SIGTERM)
            child.deadline = time.monotonic() + self.shutdown_timeout + self.stop_margin
        self._retiring.append(child)

    def _handle_messages(self, child: _Child) -> None:
        for message in child.read_messages():
            event = message.get("event")
            if self._stopping or child.ready:
                continue
            if event in ("loaded", "failed"):
                files = _read_files(message.get("files"))
                if event == "loaded":
                    child.files = files
                stale = self._learn(files)
                if stale and child is self._pending:
                    # Edited since this child loaded it: its code is already out of date.
                    self._changes(sorted(stale))
            elif event == "ready" and child is self._pending:
                child.ready = True
                port = message.get("port")
                if isinstance(port, int) and port > 0 and self._port is None:
                    self._port = port
                self._promote(child)

    def _learn(self, files: dict[str, _Snapshot]) -> set[str]:
        """Watches these files too; returns the watched files changed since last looked at
        (those of ``files`` since the child read them)."""
        stale = {path for path, seen in files.items() if _snapshot(path) != seen}
        if self._detector is None:
            self._detector = autoreload.ChangeDetector(files)
        else:
            self._detector.update(self._detector.files | set(files))
            stale.update(self._detector.changed())
        return stale

    def _promote(self, child: _Child) -> None:
        old, self._current, self._pending = self._current, child, None
        self._served = True
        child.deadline = math.inf
        if self._detector is None:
            self._detector = autoreload.ChangeDetector(child.files)
        else:  # from now on, the files of the version that serves
            self._detector.update(child.files)
        if old is not None:
            gen_log.info("Reloaded: pid %d serves now; pid %d stops", child.proc.pid, old.proc.pid)
            self._retire(old)

    def _exited(self, child: _Child) -> None:
        code = child.proc.returncode
        if code is None:
            return
        self._handle_messages(child)  # what it said just before exiting
        child.close()
        if not child.ready and self.unix_socket is not None:
            with contextlib.suppress(OSError):  # a killed child leaves its socket file
                os.unlink(staged_unix_path(self.unix_socket, child.proc.pid))
        if child in self._retiring:
            self._retiring.remove(child)
            if not self._retiring and self._start_when_retired and not self._stopping:
                self._start_when_retired = False
                self._start()
            return
        if child is self._pending:
            self._pending = None
            if self._stopping:
                return
            if not self._served:  # the very first start: nothing to fall back on
                self.exit_code = code if code > 0 else 1
                self._begin_stop()
                return
            gen_log.error(
                "The new version %s before serving; %s. Waiting for the next change.",
                _exit_description(code),
                self._still_serving(),
            )
            return
        # The serving child ended by itself (or we are stopping).
        self._current = None
        if self._stopping:
            if code not in _CLEAN_EXITS:
                self.exit_code = 1
            return
        gen_log.error("The server %s; it starts again at the next change", _exit_description(code))

    def _still_serving(self) -> str:
        return "still serving the previous one" if self._current else "nothing is served"

    def _deadlines(self) -> list[float]:
        if self._stopping:
            return [] if self._killed else [self._stop_deadline]
        children = [self._pending] if self._pending is not None else []
        children += [child for child in self._retiring if not child.killed]
        return [child.deadline for child in children]

    def _check_deadlines(self, now: float) -> None:
        if self._stopping:
            if not self._killed and now >= self._stop_deadline:
                gen_log.warning("The server did not stop in time: killing it")
                self._kill_all()
            return
        pending = self._pending
        if pending is not None and now >= pending.deadline:
            self._pending = None
            self._retire(pending, kill=True)
            if not self._served:
                gen_log.error(
                    "The server did not serve within %g s of its start: stopping",
                    self.start_timeout,
                )
                self.exit_code = 1
                self._begin_stop()
                return
            gen_log.error(
                "The new version (pid %d) did not serve within %g s of its start: killed it; "
                "%s. Waiting for the next change.",
                *(pending.proc.pid, self.start_timeout, self._still_serving()),
            )
        for child in self._retiring:
            if not child.killed and now >= child.deadline:
                gen_log.warning(
                    "The previous version (pid %d) still runs %g s after SIGTERM: killing it",
                    *(child.proc.pid, self.shutdown_timeout + self.stop_margin),
                )
                child.kill()

    # -- changes -----------------------------------------------------------------------------

    def _poll_files(self) -> None:
        if self._detector is None:
            return
        changed = self._detector.changed()
        if not changed:
            return
        # As autoreload.wait_for_change does: let a burst of writes (an editor saving several
        # files) end, so that a new version does not start on half-saved code.
        for _ in range(autoreload._SETTLE_ROUNDS):
            time.sleep(autoreload._SETTLE_DELAY)
            more = self._detector.changed()
            if not more:
                break
            changed = sorted(set(changed) | set(more))
        self._changes(changed)

    def _changes(self, changed: list[str]) -> None:
        # Files no serving version has loaded (those of a version that failed) may hold the
        # error that made it fail: check them again too.
        proven = set(self._current.files) if self._current is not None else set()
        unproven = self._detector.files - proven if self._detector is not None else set()
        errors = autoreload.syntax_errors(sorted(set(changed) | unproven))
        if errors:
            for error in errors:
                gen_log.error("Not reloading: %s", error)
            return
        others = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        gen_log.info("Reloading: %s changed%s", changed[0], others)
        self._reload()

    def _reload(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            if pending.proc.poll() is None:
                gen_log.info("Killing the new version still starting (pid %d)", pending.proc.pid)
            self._retire(pending, kill=True)
        if self.overlap:
            self._start()
            return
        if self._current is not None:
            old, self._current = self._current, None
            self._retire(old)
        if self._retiring:
            self._start_when_retired = True
        else:
            self._start()

    # -- stopping ----------------------------------------------------------------------------

    def _handle_signals(self) -> None:
        for signum in self._signals.received():
            name = signal.Signals(signum).name
            if not self._stopping:
                gen_log.info("Got %s: stopping the server gracefully", name)
                self._begin_stop()
            elif not self._killed:
                gen_log.warning("Got %s again: killing the server now", name)
                self._kill_all()

    def _begin_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._start_when_retired = False
        self._stop_deadline = time.monotonic() + self.shutdown_timeout + self.stop_margin
        for child in self._children():
            child.signal(signal.SIGTERM)

    def _kill_all(self) -> None:
        self._killed = True
        self.exit_code = 1
        for child in self._children():
            child.signal(signal.SIGKILL)


def _read_files(value: object) -> dict[str, _Snapshot]:
    """The files of a child's report: ``{path: [mtime_ns, size] or null}``."""
    files: dict[str, _Snapshot] = {}
    if isinstance(value, dict):
        for path, seen in value.items():
            if isinstance(seen, list) and len(seen) == 2 and all(type(n) is int for n in seen):
                files[path] = (seen[0], seen[1])
            else:
                files[path] = None
    return files


def run_supervisor(
    argv: Sequence[str],
    *,
    shutdown_timeout: float,
    overlap: bool,
    pin_port: bool,
    unix_socket: str | None = None,
) -> int:
    """Runs the reload supervisor (see :class:`Supervisor`).

    Args:
        argv: The command line's arguments.
        shutdown_timeout: Seconds a stopping child gets for its requests in flight.
        overlap: Whether an old and a new child can listen at the same time.
        pin_port: Whether later children get the first child's port.
        unix_socket: The Unix socket path served, if any.

    Returns:
        The exit status.
    """
    gen_log.info("Watching for changes (pid %d)", os.getpid())
    supervisor = Supervisor(
        argv,
        shutdown_timeout=shutdown_timeout,
        overlap=overlap,
        pin_port=pin_port,
        unix_socket=unix_socket,
    )
    return supervisor.run()
