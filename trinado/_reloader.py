"""``--reload``: a supervisor that runs the server in a child process and replaces it on change.

The supervisor never imports the application (a syntax error must not kill it). It runs
``python -m trinado <the same arguments, without --reload>`` as a child, marked as supervised
(`trinado.autoreload.SUPERVISED_ENV`) and connected to it by a socket pair. Once serving, the
child sends one JSON line: its pid, its port, and the files it depends on
(`trinado.autoreload.watched_files`) with their mtime and size as it loaded them, so that an
edit made while it was starting is not missed. The supervisor then polls those files.

On a change:

1. the changed ``.py`` files are compiled (`trinado.autoreload.syntax_errors`); an error is
   printed and the old child keeps serving;
2. otherwise a new child starts; when it reports that it serves, the old one gets SIGTERM
   and finishes its requests in flight. A new child that exits before that (an exception at
   import) leaves the old one serving; what it printed (on the shared standard error) says why.

Both children listen at once during the hand-over: with SO_REUSEPORT on a TCP port (Linux),
or by replacing a Unix socket's file. Where neither works, the old child stops first.

The child sees EOF on its end of the socket pair when the supervisor dies, and shuts down.
"""

from __future__ import annotations

import contextlib
import json
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
from .log import gen_log
from .process import _STOP_MARGIN, _STOP_SIGNALS, _SignalWakeup

if TYPE_CHECKING:
    from ._application import Application

LINK_FD_ENV = "TRINADO_RELOAD_FD"
"""The child's end of the socket pair to the supervisor (a file descriptor number)."""
HANDOVER_ENV = "TRINADO_RELOAD_HANDOVER"
"""Set for every child but the first: an older child may still listen on the port."""

POLL_INTERVAL = 0.5
_MAX_LINE = 1 << 22  # bound on one report line from a child


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


_Snapshot = tuple[int, int] | None


def _snapshot(path: str) -> _Snapshot:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


@dataclass
class ChildLink:
    """The child's side: where to report that it serves, and whether it takes over a port."""

    fd: int
    handover: bool
    _files: dict[str, _Snapshot] = field(default_factory=dict)

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

    def record_files(self, app: Application) -> None:
        """Notes the files the application depends on, as they are now (right after import).

        Args:
            app: The application (its template files are watched too).
        """
        self._files = {path: _snapshot(path) for path in autoreload.watched_files(app)}

    def report_ready(self, port: int) -> None:
        """Tells the supervisor that this child serves, and the files noted by `record_files`.

        Args:
            port: The TCP port served (0 for a Unix socket).
        """
        message = {"ready": True, "pid": os.getpid(), "port": port, "files": self._files}
        data = json.dumps(message).encode() + b"\n"
        with contextlib.suppress(OSError):  # the supervisor is gone: EOF stops us soon
            while data:
                data = data[os.write(self.fd, data) :]


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen[bytes]
    link: socket.socket
    buffer: bytes = b""
    ready: bool = False
    files: dict[str, _Snapshot] = field(default_factory=dict)
    port: int | None = None
    eof: bool = False

    def read_messages(self) -> list[dict[str, Any]]:
        try:
            data = self.link.recv(65536)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            data = b""
        if not data:
            self.eof = True  # stop watching it; its exit shows through SIGCHLD
            return []
        self.buffer += data
        if len(self.buffer) > _MAX_LINE:
            self.buffer = b""
        messages = []
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
    """

    argv: Sequence[str]
    shutdown_timeout: float
    overlap: bool
    pin_port: bool
    exit_code: int = 0
    _current: _Child | None = None
    _pending: _Child | None = None
    _retiring: list[_Child] = field(default_factory=list)
    _port: int | None = None
    _detector: autoreload.ChangeDetector | None = None
    _missed: set[str] = field(default_factory=set)  # changes seen while a child was starting
    _start_when_retired: bool = False
    _stopping: bool = False
    _killed: bool = False
    _stop_deadline: float = 0.0
    _signals: _SignalWakeup = field(default_factory=lambda: _SignalWakeup(_STOP_SIGNALS))

    def run(self) -> int:
        """Supervises until SIGTERM or SIGINT, or until the first child fails to start.

        Returns:
            The exit status: 0 after a graceful stop; the first child's status when it could
            not start (an import error, a port in use); 1 if a child had to be killed.
        """
        self._signals.install()
        try:
            self._start(handover=False)
            next_poll = time.monotonic() + POLL_INTERVAL
            while self._children():
                timeout = max(0.0, next_poll - time.monotonic())
                if self._stopping and not self._killed:
                    timeout = min(timeout, max(0.0, self._stop_deadline - time.monotonic()))
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
                if self._stopping:
                    if not self._killed and now >= self._stop_deadline:
                        gen_log.warning("The server did not stop in time: killing it")
                        self._kill_all()
                elif now >= next_poll:
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

    def _start(self, *, handover: bool) -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        env = dict(os.environ)
        env[autoreload.SUPERVISED_ENV] = "1"
        env[LINK_FD_ENV] = str(theirs.fileno())
        if handover:
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
        self._pending = _Child(proc, ours)

    def _handle_messages(self, child: _Child) -> None:
        for message in child.read_messages():
            if not message.get("ready") or child.ready or self._stopping:
                continue
            child.ready = True
            child.files = _read_files(message.get("files"))
            port = message.get("port")
            if isinstance(port, int) and port > 0 and self._port is None:
                self._port = port
            if child is self._pending:
                self._promote(child)

    def _promote(self, child: _Child) -> None:
        old, self._current, self._pending = self._current, child, None
        # Files edited since the child loaded them: its code is already out of date.
        stale = {path for path, seen in child.files.items() if _snapshot(path) != seen}
        if self._detector is None:
            self._detector = autoreload.ChangeDetector(child.files)
        else:
            self._detector.update(child.files)
            stale.update(self._detector.changed())
        if old is not None:
            gen_log.info("Reloaded: pid %d serves now; pid %d stops", child.proc.pid, old.proc.pid)
            old.signal(signal.SIGTERM)
            self._retiring.append(old)
        self._after_start(stale)

    def _after_start(self, stale: set[str]) -> None:
        """Handles the changes seen while a child was starting, once it is settled."""
        changed, self._missed = self._missed | stale, set()
        if changed:
            self._changes(sorted(changed))

    def _exited(self, child: _Child) -> None:
        code = child.proc.returncode
        if code is None:
            return
        child.close()
        if child in self._retiring:
            self._retiring.remove(child)
            if not self._retiring and self._start_when_retired and not self._stopping:
                self._start_when_retired = False
                self._start(handover=False)
            return
        if child is self._pending:
            self._pending = None
            if self._stopping:
                return
            if self._detector is None:  # the very first child: nothing to fall back on
                self.exit_code = code if code > 0 else 1
                self._begin_stop()
                return
            still = "still serving the previous one" if self._current else "nothing is served"
            gen_log.error(
                "The new version %s before serving; %s. Waiting for the next change.",
                _exit_description(code),
                still,
            )
            self._after_start(set())
            return
        # The serving child ended by itself (or we are stopping).
        self._current = None
        if self._stopping:
            if code != 0 and code != -signal.SIGTERM:
                self.exit_code = 1
            return
        gen_log.error("The server %s; stopping", _exit_description(code))
        self.exit_code = code if code > 0 else 1
        self._begin_stop()

    # -- changes -----------------------------------------------------------------------------

    def _poll_files(self) -> None:
        if self._detector is None:
            return
        changed = self._detector.changed()
        if not changed:
            return
        if self._pending is not None or self._start_when_retired:
            self._missed.update(changed)  # reload again once this start is settled
            return
        self._changes(changed)

    def _changes(self, changed: list[str]) -> None:
        errors = autoreload.syntax_errors(changed)
        if errors:
            for error in errors:
                gen_log.error("Not reloading: %s", error)
            return
        others = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        gen_log.info("Reloading: %s changed%s", changed[0], others)
        self._reload()

    def _reload(self) -> None:
        if self.overlap or self._current is None:
            self._start(handover=self._current is not None)
            return
        old, self._current = self._current, None
        old.signal(signal.SIGTERM)
        self._retiring.append(old)
        self._start_when_retired = True

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
        self._stop_deadline = time.monotonic() + self.shutdown_timeout + _STOP_MARGIN
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
    argv: Sequence[str], *, shutdown_timeout: float, overlap: bool, pin_port: bool
) -> int:
    """Runs the reload supervisor (see :class:`Supervisor`).

    Args:
        argv: The command line's arguments.
        shutdown_timeout: Seconds a stopping child gets for its requests in flight.
        overlap: Whether an old and a new child can listen at the same time.
        pin_port: Whether later children get the first child's port.

    Returns:
        The exit status.
    """
    gen_log.info("Watching for changes (pid %d)", os.getpid())
    supervisor = Supervisor(
        argv, shutdown_timeout=shutdown_timeout, overlap=overlap, pin_port=pin_port
    )
    return supervisor.run()
