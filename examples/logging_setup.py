"""Logging set up for development and for production, and reloading on code changes.

Run it with ``python examples/logging_setup.py`` for Tornado's one-line format (coloured on
a terminal) and a restart whenever this file or ``greeting.txt`` (optional) changes; run it with
``APP_ENV=production python examples/logging_setup.py`` for JSON lines and no reloading.
docs/logging.md walks through this file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import trio

from trinado import autoreload, log, web

GREETING_FILE = Path(__file__).with_name("greeting.txt")
logger = logging.getLogger("example")


class MainHandler(web.RequestHandler):
    async def get(self) -> None:
        name = self.get_argument("name", "world")
        logger.info("Greeting %s", name, extra={"visitor": name})
        self.write(f"{self.settings['greeting']}, {name}")


def read_greeting() -> str:
    """The greeting, read once at start-up: hence the restart when the file changes."""
    try:
        return GREETING_FILE.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "Hello"


def make_app(production: bool = False) -> web.Application:
    return web.Application(
        [(r"/", MainHandler)], greeting=read_greeting(), autoreload=not production
    )


def configure_logging(production: bool) -> None:
    if production:
        # One JSON object per line for the log collector; no line per request.
        log.enable_pretty_logging("info", json=True, access_log=False)
    else:
        log.enable_pretty_logging("debug")


def close_connections() -> None:
    logger.info("Restarting: closing what outlives the process")


def main() -> None:
    production = os.environ.get("APP_ENV") == "production"
    configure_logging(production)
    if not production:
        autoreload.watch(GREETING_FILE)  # not a module, but a change should restart too
        autoreload.add_reload_hook(close_connections)
    trio.run(make_app(production).serve)


if __name__ == "__main__":
    main()
