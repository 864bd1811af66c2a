"""``python -m trinado module:app``: serve an application from the command line.

This module parses the arguments, imports the application, maps the flags onto server
options and serves in one process. ``--workers`` hands over to :mod:`trinado.process`,
``--reload`` to :mod:`trinado._reloader`.

Exit status: 0 after a graceful stop, 2 for a usage error or an application that cannot be
imported, 1 when it cannot serve (port in use, a certificate that does not load).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import importlib
import inspect
import os
import socket
import ssl
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import trio

from . import _reloader, _worker_sockets, autoreload, process
from ._application import Application
from .log import enable_pretty_logging, gen_log

USAGE_ERROR = 2
RUNTIME_ERROR = 1

_DESCRIPTION = """\
Serve a trinado Application over HTTP.

APP names the application as module:attr, for example myproject.web:app. The module is
imported with the current directory first on sys.path; attr is an Application, or a function
that takes no argument and returns one (such as make_app). Without :attr, the module's `app`
is used, else its `make_app`.
"""

_EPILOG = """\
examples:
  python -m trinado hello:app                      port 8888, every interface
  python -m trinado hello:make_app --port 8080 --host 127.0.0.1
  python -m trinado hello:app --reload             restart when the code changes
  python -m trinado hello:app --workers 4          four processes on one port
  python -m trinado hello:app --xheaders --unix-socket /run/hello.sock   behind nginx

SIGTERM or Ctrl-C stops the server gracefully: it stops accepting, and requests in flight
get --shutdown-timeout seconds to finish. A second signal stops it at once.
"""


class CLIError(Exception):
    """An error to report in one line, with the exit status to use.

    Args:
        message: What went wrong, for the user.
        status: The exit status (`USAGE_ERROR` or `RUNTIME_ERROR`).
    """

    def __init__(self, message: str, status: int = USAGE_ERROR) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m trinado``.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m trinado",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("app", metavar="APP", help="the application, as module:attr")
    where = parser.add_argument_group("where to listen")
    where.add_argument(
        "--host", default=None, help="address to listen on (default: every interface)"
    )
    where.add_argument(
        "--port",
        type=_port,
        default=None,
        help="TCP port (default: 8888; 0 picks a free one, printed when serving starts)",
    )
    where.add_argument(
        "--unix-socket",
        metavar="PATH",
        default=None,
        help="listen on this Unix socket instead of a TCP port (not with --host/--port)",
    )
    where.add_argument("--certfile", default=None, help="serve HTTPS with this certificate")
    where.add_argument(
        "--keyfile",
        default=None,
        help="the certificate's private key (default: read from --certfile)",
    )
    running = parser.add_argument_group("how to run")
    running.add_argument(
        "--workers",
        type=_count,
        default=None,
        metavar="N",
        help="serve from N processes sharing the port, each restarted if it dies "
        "(0: one per CPU; default: serve from this process)",
    )
    running.add_argument(
        "--reload",
        action="store_true",
        help="restart when a source file or a template changes (for development)",
    )
    running.add_argument(
        "--debug",
        action="store_true",
        help="the application's debug mode: tracebacks in error pages, templates and "
        "static files read again on change, --reload",
    )
    running.add_argument(
        "--xheaders",
        action="store_true",
        help="behind a proxy: take the client's address and scheme from X-Real-Ip, "
        "X-Forwarded-For, X-Scheme and X-Forwarded-Proto",
    )
    running.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="when stopping, how long requests in flight get to finish (default: 10)",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="the least severe messages shown (default: info)",
    )
    logs.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line per request (default: on)",
    )
    logs.add_argument(
        "--log-format",
        choices=["pretty", "json"],
        default="pretty",
        help="pretty: one readable line per message; json: one JSON object per line",
    )
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range (0 to 65535): {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more: {text}")
    return value


# -- the application -----------------------------------------------------------------------------


def parse_app_spec(spec: str) -> tuple[str, str | None]:
    """Splits ``module:attr`` (the attribute may be dotted; without it, None).

    Args:
        spec: What the user typed.

    Returns:
        The module name and the attribute path.

    Raises:
        CLIError: ``spec`` is not of that form.
    """
    module, colon, attr = spec.partition(":")
    if not _dotted_name(module) or (colon and not _dotted_name(attr)):
        raise CLIError(f"APP must look like module:attr (such as myproject.web:app), not {spec!r}")
    return module, attr if colon else None


def _dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def load_app(spec: str) -> Application:
    """Imports ``module:attr`` and returns the application it names.

    The attribute is an `Application`, or a function returning one, called with no
    argument. Without an attribute, ``app`` then ``make_app`` are looked for.

    Args:
        spec: ``module:attr`` or ``module``.

    Returns:
        The application.

    Raises:
        CLIError: The module cannot be imported, the attribute is missing or is not an
            application, or the function raised (the original exception is the cause).
    """
    module_name, attr = parse_app_spec(spec)
    cwd = os.getcwd()
    if sys.path[:1] not in ([""], [cwd]):
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            hint = ""
            if module_name.endswith(".py"):
                hint = f"; give the module's name, not its file: {module_name[:-3]!r}"
            raise CLIError(
                f"cannot import {module_name!r}: no module named {missing!r} "
                f"(looked in {cwd} and on sys.path){hint}"
            ) from exc
        raise CLIError(f"error while importing {module_name!r}: {_describe(exc)}") from exc
    except SyntaxError as exc:
        # The same report as --reload gives: the place, then the line with a caret.
        raise CLIError(
            f"syntax error in {autoreload._describe_syntax_error(exc.filename or '?', exc)}"
        ) from exc
    except Exception as exc:
        raise CLIError(f"error while importing {module_name!r}: {_describe(exc)}") from exc
    if attr is None:
        for candidate in ("app", "make_app"):
            if hasattr(module, candidate):
                attr = candidate
                break
        else:
            raise CLIError(
                f"module {module_name!r} has no 'app' or 'make_app': name the application "
                f"as {module_name}:NAME"
            )
    where = f"{module_name}:{attr}"
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(target, Application):
        return target
    if not callable(target):
        raise CLIError(f"{where} is {_a(target)}, not an Application or a function returning one")
    try:
        result = target()
    except Exception as exc:
        raise CLIError(f"calling {where}() failed: {_describe(exc)}") from exc
    if inspect.iscoroutine(result):
        result.close()
        raise CLIError(
            f"{where} is an async function: make it a plain function returning the "
            "Application (async setup goes in the lifespan setting)"
        )
    if not isinstance(result, Application):
        raise CLIError(f"{where}() returned {_a(result)}, not an Application")
    return result


def _a(value: object) -> str:
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        text += f" ({frames[-1].filename}:{frames[-1].lineno})"
    return text


def _holds_private_key(path: str) -> bool:
    """Whether a PEM file has a private key block (OpenSSL's own error does not say)."""
    try:
        with open(path, "rb") as file:
            return b"PRIVATE KEY-----" in file.read()
    except OSError:
        return True  # (then the error to show is OpenSSL's)


def apply_debug(settings: dict[str, Any]) -> None:
    """Turns on ``debug`` in an application's settings, as ``debug=True`` would have.

    Settings the application gave explicitly are kept, as in Tornado (``serve_traceback``,
    ``autoreload``, ``compiled_template_cache``, ``static_hash_cache``). All of these are
    read while serving, so changing them after the application was built works.

    Args:
        settings: The application's settings, changed in place.
    """
    settings["debug"] = True
    settings.setdefault("autoreload", True)
    settings.setdefault("compiled_template_cache", False)
    settings.setdefault("static_hash_cache", False)
    settings.setdefault("serve_traceback", True)


# -- flags to options ---------------------------------------------------------------------------


def check_args(args: argparse.Namespace) -> None:
    """Checks the combinations argparse cannot.

    Args:
        args: The parsed arguments.

    Raises:
        CLIError: ``--unix-socket`` with ``--host`` or ``--port``, or ``--keyfile`` without
            ``--certfile``.
    """
    if args.unix_socket is not None and (args.host is not None or args.port is not None):
        raise CLIError("--unix-socket cannot be combined with --host or --port")
    if args.keyfile is not None and args.certfile is None:
        raise CLIError("--keyfile needs --certfile")


def make_ssl_context(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """Loads a certificate and its key into a server context, up front.

    Args:
        certfile: The certificate chain (PEM); it may hold the key too.
        keyfile: The private key (PEM), or None when it is in ``certfile``.

    Returns:
        The context.

    Raises:
        CLIError: A file is missing or unreadable, or does not hold a matching certificate
            and key (status `RUNTIME_ERROR`).
    """
    for label, path in (("certificate", certfile), ("key", keyfile)):
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CLIError(f"cannot read the {label} file {path}: {reason}", RUNTIME_ERROR) from exc
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        files = certfile if keyfile is None else f"{certfile} and {keyfile}"
        reason = str(exc)
        if keyfile is None and not _holds_private_key(certfile):
            reason = f"{certfile} holds no private key: give it with --keyfile"
        raise CLIError(
            f"cannot load the certificate and key from {files}: {reason}", RUNTIME_ERROR
        ) from exc
    return context


def server_options(
    args: argparse.Namespace, ssl_context: ssl.SSLContext | None = None
) -> dict[str, Any]:
    """The ``app.serve`` options that the flags ask for.

    Args:
        args: The parsed arguments.
        ssl_context: The context built from ``--certfile``/``--keyfile``, if any.

    Returns:
        Keyword arguments for `Application.serve`.
    """
    options: dict[str, Any] = {"shutdown_timeout": args.shutdown_timeout}
    if args.xheaders:
        options["xheaders"] = True
    if ssl_context is not None:
        options["ssl_options"] = ssl_context
    return options


def _url(args: argparse.Namespace, port: int) -> str:
    if args.unix_socket is not None:
        return f"unix:{args.unix_socket}"
    scheme = "https" if args.certfile else "http"
    host = args.host or "0.0.0.0"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}/"


# -- running --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``python -m trinado`` with these arguments.

    Args:
        argv: The arguments after ``python -m trinado`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    link = _reloader.ChildLink.from_environ()
    try:
        check_args(args)
        enable_pretty_logging(
            args.log_level, access_log=args.access_log, json=args.log_format == "json"
        )
        return _run(args, argv, link)
    except CLIError as exc:
        if args.debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__)
        _fail(exc)
    except BaseException as exc:
        if process._is_interrupt(exc):  # Ctrl-C, perhaps while the application started
            return 130
        raise


def _fail(exc: CLIError) -> NoReturn:
    print(f"trinado: error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(exc.status)


def _run(args: argparse.Namespace, argv: list[str], link: _reloader.ChildLink | None) -> int:
    try:
        return _load_and_serve(args, argv, link)
    except Exception as exc:
        if link is not None:  # so that the supervisor watches the files involved
            link.report_failed(exc)
        raise


def _load_and_serve(
    args: argparse.Namespace, argv: list[str], link: _reloader.ChildLink | None
) -> int:
    # Decided before the import: the supervisor must never load the application.
    if (args.reload or args.debug) and link is None and not autoreload.is_supervised():
        return _supervise(args, argv)
    app = load_app(args.app)
    if link is not None:
        link.report_loaded(app)
    if args.debug:
        apply_debug(app.settings)
    if app.settings.get("autoreload") and link is None and not autoreload.is_supervised():
        return _supervise(args, argv)
    ssl_context = None
    if args.certfile is not None:
        ssl_context = make_ssl_context(args.certfile, args.keyfile)
    options = server_options(args, ssl_context)
    bind = functools.partial(
        _worker_sockets.bind_sockets,
        port=8888 if args.port is None else args.port,
        host=args.host or "",
        unix_socket=args.unix_socket,
        handover=link is not None and link.handover,
    )
    if args.workers is not None:
        return _run_workers(app, args, options, bind, link)
    return _run_single(app, args, options, bind, link)


def _supervise(args: argparse.Namespace, argv: list[str]) -> int:
    if sys.platform == "win32":
        raise CLIError("--reload (and the autoreload setting) needs a Unix system for now")
    return _reloader.run_supervisor(
        argv,
        shutdown_timeout=args.shutdown_timeout,
        overlap=args.unix_socket is not None or _worker_sockets.default_reuse_port(),
        pin_port=args.unix_socket is None,
        unix_socket=args.unix_socket,
    )


def _announce(args: argparse.Namespace, port: int, workers: int | None) -> None:
    what = "1 process" if workers is None else f"{workers} worker{'s' if workers != 1 else ''}"
    gen_log.info(
        "trinado serving %s on %s (%s, pid %d)", args.app, _url(args, port), what, os.getpid()
    )


def _bind_or_fail(
    bind: functools.partial[_worker_sockets.BoundSockets],
) -> _worker_sockets.BoundSockets:
    try:
        return bind()
    except ValueError as exc:
        raise CLIError(str(exc), RUNTIME_ERROR) from exc
    except socket.gaierror as exc:
        host = bind.keywords.get("host")
        raise CLIError(f"cannot resolve {host!r}: {exc.strerror}", RUNTIME_ERROR) from exc
    except OSError as exc:
        where = bind.keywords.get("unix_socket") or (
            f"{bind.keywords.get('host') or '*'}:{bind.keywords.get('port')}"
        )
        if exc.errno == errno.EADDRINUSE:
            message = f"cannot listen on {where}: it is already in use by another server"
        else:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
        raise CLIError(message, RUNTIME_ERROR) from exc


def _run_single(
    app: Application,
    args: argparse.Namespace,
    options: dict[str, Any],
    bind: functools.partial[_worker_sockets.BoundSockets],
    link: _reloader.ChildLink | None,
) -> int:
    if link is not None:  # bound with SO_REUSEPORT, so that the next version can overlap
        bind = functools.partial(bind, reuse_port=_worker_sockets.default_reuse_port())
    else:
        bind = functools.partial(bind, reuse_port=False)
    bound = _bind_or_fail(bind)

    def on_serving(server: Any) -> None:
        bound.publish()  # a Unix socket taking over from the previous version (--reload)
        _announce(args, bound.port, None)
        if link is not None:
            link.report_ready(bound.port)

    try:
        try:
            sockets = bound.worker_sockets()
        except OSError as exc:
            raise CLIError(f"cannot listen: {exc.strerror or exc}", RUNTIME_ERROR) from exc
        # The sockets listen once the application's lifespan has started, not before.
        trio.run(
            functools.partial(
                process._serve_sockets,
                app,
                sockets,
                options,
                backlog=bound.backlog,
                quiet_signals=link is not None,
                stop_on_eof=None if link is None else link.fd,
                on_serving=on_serving,
            )
        )
    finally:
        bound.close()
    return 0


def _run_workers(
    app: Application,
    args: argparse.Namespace,
    options: dict[str, Any],
    bind: functools.partial[_worker_sockets.BoundSockets],
    link: _reloader.ChildLink | None,
) -> int:
    if not hasattr(os, "fork"):
        raise CLIError("--workers needs os.fork(), which this platform lacks")
    count = args.workers or process.cpu_count()

    def on_ready(port: int) -> None:
        _announce(args, port, count)
        if link is not None:
            link.report_ready(port)

    with contextlib.suppress(KeyboardInterrupt):
        try:
            return process._run_workers(
                lambda: app,
                count,
                bind=functools.partial(_bind_or_fail, bind),
                shutdown_timeout=args.shutdown_timeout,
                max_restarts=None,
                on_ready=on_ready,
                server_options=options,
                stop_on_eof=None if link is None else link.fd,
            )
        except OSError as exc:  # a fork that failed at the first start
            raise CLIError(str(exc.strerror or exc), RUNTIME_ERROR) from exc
    return 130
