"""Restart the server when a source file or a template changes.

Most programs never touch this module: ``Application(..., autoreload=True)`` (or
``debug=True``) turns it on, and ``python -m trinado --reload module:app`` does the same from
the command line, from a supervising process that also survives import-time errors.

How it works: every half second, the files of the loaded modules that belong to the
application (not to the standard library or to an installed package), the files given to
`watch`, and the templates under the ``template_path`` setting are checked with `os.stat`.
When some have changed, the changed Python files are compiled first; if one of them has a
syntax error, the error is logged on ``trinado.general`` and the old code keeps serving
until the next change. Otherwise the server shuts down gracefully, the hooks given to
`add_reload_hook` run, and the process re-executes itself with the same command line.

No threads are involved: the polling is a Trio task (`autoreload_task`) that sleeps between
passes. One pass over the modules of a sizeable program (trinado, Tornado, httpx and the
standard library they import) costs a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import site
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import trio

from .log import gen_log

if TYPE_CHECKING:
    from ._application import Application

__all__ = [
    "SUPERVISED_ENV",
    "ChangeDetector",
    "add_reload_hook",
    "autoreload_task",
    "exec_if_reload_requested",
    "is_supervised",
    "reload_requested",
    "syntax_errors",
    "wait_for_change",
    "watch",
    "watched_files",
]

SUPERVISED_ENV = "TRINADO_SUPERVISED"
"""The environment variable set by the ``--reload`` supervisor in the process it runs."""

_watched: set[str] = set()
_reload_hooks: list[Callable[[], None]] = []
_reload_requested = False

# Module file -> its source file when it is the application's, else None (cached: module
# files do not move).
_app_sources: dict[str, str | None] = {}
_excluded_roots: tuple[str, ...] | None = None
_INSTALL_DIRS = frozenset({"site-packages", "dist-packages"})

# Editors' scratch files next to templates (vim's .x.swp, emacs' #x# and x~, .DS_Store).
_SKIP_PREFIXES = (".", "#")
_SKIP_SUFFIXES = ("~", ".swp", ".swx", ".tmp")

# After a change is seen, wait this long for the burst of writes to end (an editor saving
# several files, a file written in pieces), and at most this many times.
_SETTLE_DELAY = 0.1
_SETTLE_ROUNDS = 10

_Snapshot = tuple[int, int] | None


# --------------------------------------------------------------------------- what to watch


def watch(filename: str | os.PathLike[str]) -> None:
    """Adds a file to the watched set (a configuration file, a data file).

    The Python files of the application's modules are watched without this.

    Args:
        filename: The file; a relative path is taken from the current directory now.
    """
    _watched.add(os.path.abspath(os.fspath(filename)))


def add_reload_hook(fn: Callable[[], None]) -> None:
    """Adds a function to call just before the process re-executes itself.

    Hooks run after the server has stopped serving, in the order they were added; one that
    raises is logged and the others still run. They do not run in a process restarted by
    the ``--reload`` supervisor, which stops its child with a signal instead. Sockets and
    files opened by Python are not inherited across the re-exec anyway, so hooks are for
    things outside the process (a lock file, a registration with another service).

    Args:
        fn: A function taking no argument.
    """
    _reload_hooks.append(fn)


def watched_files(app: Application | None = None) -> set[str]:
    """The files whose change should restart the application.

    These are the ``.py`` files of the loaded modules (in `sys.modules`) that are neither in
    the standard library nor in an installed package (under ``site-packages`` or
    ``dist-packages``, or anywhere inside the running virtual environment), the files given
    to `watch`, and, with ``app``, every file under its ``template_path`` setting (editors'
    scratch files such as ``.x.swp`` and ``x~`` excepted). A package installed in editable
    mode (``pip install -e``) has its files in its source tree, so it is watched: that is
    what its developers want, and the check costs next to nothing.

    Args:
        app: An application whose templates to include.

    Returns:
        Absolute paths.
    """
    files = set(_watched)
    for path in _module_files():
        source = _app_sources.get(path, "")
        if source == "":
            source = _app_sources[path] = _application_source(path)
        if source is not None:
            files.add(source)
    if app is not None:
        template_path = app.settings.get("template_path")
        if template_path:
            files.update(_tree_files(os.path.abspath(os.fspath(template_path))))
    return files


def _module_files() -> list[str]:
    paths = []
    for module in list(sys.modules.values()):
        try:
            path = module.__file__
        except Exception:  # some objects in sys.modules are not modules and misbehave
            continue
        if isinstance(path, str) and path:
            paths.append(path)
    return paths


def _application_source(path: str) -> str | None:
    if path.endswith((".pyc", ".pyo")):
        path = path[:-1]
    if not path.endswith(".py") or not os.path.isfile(path):
        return None  # extension modules, sourceless bytecode, files inside zip archives
    path = os.path.abspath(path)
    roots = _install_roots()
    for candidate in (path, os.path.realpath(path)):
        if _INSTALL_DIRS.intersection(candidate.split(os.sep)):
            return None
        if candidate.startswith(roots):
            return None
    return path


def _install_roots() -> tuple[str, ...]:
    global _excluded_roots
    if _excluded_roots is None:
        paths = sysconfig.get_paths()
        roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots.update(getattr(site, "getsitepackages", list)())
        roots.add(site.getusersitepackages())
        if sys.prefix != sys.base_prefix:  # a virtual environment: nothing in it is ours
            roots.update({sys.prefix, sys.exec_prefix})
        normalised = set()
        for root in roots:
            for form in (os.path.abspath(root), os.path.realpath(root)):
                normalised.add(form.rstrip(os.sep) + os.sep)
        _excluded_roots = tuple(sorted(normalised))
    return _excluded_roots


def _tree_files(root: str) -> list[str]:
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(_SKIP_PREFIXES)]
        for name in filenames:
            if not name.startswith(_SKIP_PREFIXES) and not name.endswith(_SKIP_SUFFIXES):
                found.append(os.path.join(directory, name))
    return found


# --------------------------------------------------------------------------- detecting changes


class ChangeDetector:
    """Tells which of a set of files changed between two calls, by their size and mtime.

    A file listed but missing is remembered as missing: its creation is a change, as is the
    removal of a file that existed.

    Args:
        files: The files to watch; they are looked at now.
    """

    def __init__(self, files: Iterable[str]) -> None:
        self._snapshots: dict[str, _Snapshot] = {path: _snapshot(path) for path in files}

    @property
    def files(self) -> set[str]:
        """The watched files."""
        return set(self._snapshots)

    def changed(self) -> list[str]:
        """Looks at every file again.

        Returns:
            The files modified, created or removed since the previous call (or since they
            were added), sorted.
        """
        changed = []
        snapshots = self._snapshots
        for path, before in snapshots.items():
            now = _snapshot(path)
            if now != before:
                snapshots[path] = now
                changed.append(path)
        changed.sort()
        return changed

    def update(self, files: Iterable[str]) -> None:
        """Replaces the watched set.

        Files new to the set are looked at now (so their next change is reported, not their
        arrival); files still in it keep their snapshot, so a change made before this call
        is reported by the next `changed`.

        Args:
            files: The files to watch from now on.
        """
        old = self._snapshots
        self._snapshots = {
            path: old[path] if path in old else _snapshot(path) for path in set(files)
        }


def _snapshot(path: str) -> _Snapshot:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def syntax_errors(paths: Iterable[str]) -> list[str]:
    """Compiles Python files to find syntax errors, without importing them.

    Nothing is executed and no bytecode is written. Files not ending in ``.py`` and files
    that no longer exist are skipped. The source encoding is honoured as Python does it
    (UTF-8 unless declared); undecodable bytes count as an error.

    Args:
        paths: The files.

    Returns:
        One message per file that does not compile: ``"path:line: message"`` followed, when
        known, by the offending line and a caret under the error.
    """
    errors = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        try:
            with open(path, "rb") as file:
                source = file.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "invalid escape sequence" and the like
                compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            errors.append(_describe_syntax_error(path, exc))
        except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, deep nesting
            errors.append(f"{path}: {exc}")
    return errors


def _describe_syntax_error(path: str, exc: SyntaxError) -> str:
    where = f"{exc.filename or path}:{exc.lineno}" if exc.lineno else (exc.filename or path)
    message = f"{where}: {exc.msg}"
    if exc.text:
        line = exc.text.rstrip("\r\n")
        stripped = line.lstrip()
        message += f"\n    {stripped}"
        if exc.offset and exc.offset > 0:
            column = exc.offset - 1 - (len(line) - len(stripped))
            message += "\n    " + " " * min(max(column, 0), len(stripped)) + "^"
    return message


async def wait_for_change(
    files: Callable[[], Iterable[str]], *, interval: float = 0.5
) -> list[str]:
    """Waits until watched files change and their Python code compiles.

    ``files()`` is called on every pass, so modules imported later and templates added
    later are picked up (their arrival is not a change). After a change, the files get a
    moment to settle (an editor saving several at once). If a changed ``.py`` file has a
    syntax error, each error is logged on ``trinado.general`` at ERROR and waiting goes on:
    the running code keeps serving, and the broken files are compiled again at the next
    change, whichever file it touches.

    Args:
        files: Returns the files to watch, such as ``functools.partial(watched_files, app)``.
        interval: Seconds between two passes.

    Returns:
        Every file changed since the call, sorted.

    Raises:
        ValueError: If ``interval`` is not positive.
    """
    if not interval > 0:
        raise ValueError(f"interval must be positive, not {interval!r}")
    detector = ChangeDetector(files())
    changed: set[str] = set()
    while True:
        await trio.sleep(interval)
        detector.update(files())
        fresh = detector.changed()
        if not fresh:
            continue
        changed.update(fresh)
        for _ in range(_SETTLE_ROUNDS):
            await trio.sleep(min(interval, _SETTLE_DELAY))
            more = detector.changed()
            if not more:
                break
            changed.update(more)
        errors = syntax_errors(sorted(changed))
        if not errors:
            return sorted(changed)
        for error in errors:
            gen_log.error("Not reloading: %s", error)


# --------------------------------------------------------------------------- reloading


def is_supervised() -> bool:
    """Whether the ``--reload`` supervisor runs this process (and restarts it itself).

    Returns:
        True when the ``TRINADO_SUPERVISED`` environment variable is set (and not ``0``).
    """
    return os.environ.get(SUPERVISED_ENV, "") not in ("", "0")


def reload_requested() -> bool:
    """Whether `autoreload_task` has seen a change and asked the server to stop.

    Returns:
        True once a reload is due.
    """
    return _reload_requested


async def autoreload_task(
    server_shutdown: Callable[[], None],
    files: Callable[[], Iterable[str]] = watched_files,
    *,
    interval: float = 0.5,
) -> None:
    """Watches files and, when they change (and compile), asks the server to stop.

    Run it next to the server, in a nursery that is cancelled when serving stops for any
    other reason (``app.nursery``). On a change it logs ``Reloading: <file> changed`` on
    ``trinado.general``, records that a reload is due (`reload_requested`) and calls
    ``server_shutdown`` for a graceful shutdown; once serving has ended, the caller calls
    `exec_if_reload_requested`.

    Args:
        server_shutdown: Starts a graceful shutdown, such as ``HTTPServer.shutdown``.
        files: Returns the files to watch (see `wait_for_change`).
        interval: Seconds between two looks at the files.
    """
    global _reload_requested
    changed = await wait_for_change(files, interval=interval)
    others = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    gen_log.info("Reloading: %s changed%s", changed[0], others)
    _reload_requested = True
    server_shutdown()


def exec_if_reload_requested() -> None:
    """Replaces the process with a fresh run of the same command, if a reload is due.

    Call it once serving has stopped. Without a pending reload it returns at once. With
    one, it runs the reload hooks, flushes standard output and error, and executes the
    interpreter again with the arguments it was started with (`sys.orig_argv`, so ``-m
    package``, ``-c`` and interpreter options such as ``-X dev`` carry over, and ``sys.path``
    comes out the same). The environment, ``PYTHONPATH`` included, is inherited. On Windows,
    where `os.execv` mangles arguments, a new process is started and this one exits. A
    script given by a relative path is found again only if the working directory is the
    one it was started from.

    Raises:
        RuntimeError: If the interpreter's path is unknown (an embedded Python), so that
            it cannot be executed again.
        OSError: If the execution fails.
    """
    if not _reload_requested:
        return
    for hook in _reload_hooks:
        try:
            hook()
        except Exception:
            gen_log.error("Exception in reload hook %r", hook, exc_info=True)
    argv = _reexec_argv()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or replaced stream must not stop it
            stream.flush()
    if sys.platform == "win32":
        subprocess.Popen(argv)
        os._exit(0)
    os.execv(argv[0], argv)


def _reexec_argv() -> list[str]:
    if not sys.executable:
        raise RuntimeError("Cannot reload: the path of the Python interpreter is unknown")
    original = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return [sys.executable, *original[1:]]
