"""``python -m examples.chat [--host 127.0.0.1] [--port 8888]``: serve the chat demo."""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import tempfile
from pathlib import Path

import trio

from .app import Chat, make_app


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


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and serves until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m examples.chat", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8888, help="TCP port")
    parser.add_argument("--poll-timeout", type=float, default=30.0, help="long-poll wait, s")
    parser.add_argument("--debug", action="store_true", help="reload templates, show errors")
    args = parser.parse_args(argv)
    app = make_app(
        Chat(poll_timeout=args.poll_timeout), cookie_secret=cookie_secret(), debug=args.debug
    )
    print(f"trinado chat on http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    trio.run(functools.partial(app.serve, args.port, args.host))


if __name__ == "__main__":
    main()
