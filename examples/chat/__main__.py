"""``python -m examples.chat [--host 127.0.0.1] [--port 8888]``: serve the chat demo.

``--store redis://127.0.0.1:6379/0`` keeps the rooms in Redis (``pip install 'trinado[redis]'``)
so that ``--workers N`` processes can serve them together.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import tempfile
from pathlib import Path

import trio

from trinado import web

from .app import Chat, make_app
from .store import ChatStore, MemoryStore


def cookie_secret() -> str:
    """A secret kept across restarts (so sign-ins survive one): the environment's, or a file's.

    ``TRINADO_CHAT_SECRET`` wins; otherwise a random secret is made once and kept, readable
    only by this user, in the temporary directory.
    """
    secret = os.environ.get("TRINADO_CHAT_SECRET")
    if secret:
        return secret
    path = Path(tempfile.gettempdir()) / f"trinado-chat-{os.getuid()}.secret"
    try:
        return path.read_text().strip() or _new_secret(path)
    except FileNotFoundError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


def make_store(spec: str) -> ChatStore:
    """The store named on the command line: ``memory`` or a ``redis://`` URL.

    Raises:
        ValueError: neither.
    """
    if spec == "memory":
        return MemoryStore()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from .redis_store import RedisStore  # (needs coredis: the "redis" extra)

        return RedisStore(spec)
    raise ValueError(f"--store takes 'memory' or a redis:// URL, not {spec!r}")


def build_app(args: argparse.Namespace, secret: str) -> web.Application:
    """The application for one process (each worker builds its own, with its own store)."""
    chat = Chat(make_store(args.store), poll_timeout=args.poll_timeout)
    return make_app(chat, cookie_secret=secret, debug=args.debug)


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and serves until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m examples.chat", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8888, help="TCP port")
    parser.add_argument("--poll-timeout", type=float, default=30.0, help="long-poll wait, s")
    parser.add_argument(
        "--store", default="memory", help="'memory' (the default) or redis://host:port/db"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (needs --store redis)"
    )
    parser.add_argument("--debug", action="store_true", help="reload templates, show errors")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers > 1 and args.store == "memory":
        parser.error(
            "--workers > 1 needs a shared store: each process would have rooms of its own;"
            " add --store redis://127.0.0.1:6379/0"
        )
    try:
        make_store(args.store)  # (checks the argument and that coredis is there, once)
    except (ValueError, ImportError) as exc:
        parser.error(str(exc))
    secret = cookie_secret()  # (read once: every worker signs with the same secret)
    where = f"http://{args.host}:{args.port}/"
    if args.workers == 1:
        app = build_app(args, secret)
        print(f"trinado chat on {where}  (Ctrl-C stops it)", flush=True)
        trio.run(functools.partial(app.serve, args.port, args.host))
        return
    from trinado.process import run_workers

    def ready(port: int) -> None:
        print(f"trinado chat on http://{args.host}:{port}/  ({args.workers} workers)", flush=True)

    code = run_workers(
        functools.partial(build_app, args, secret),
        args.workers,
        port=args.port,
        host=args.host,
        on_ready=ready,
    )
    raise SystemExit(code)


if __name__ == "__main__":
    main()
