"""An application for the command-line tests; each handler shows one behaviour."""

from __future__ import annotations

import os
import sys
import time

import trio

from trinado.web import Application, RequestHandler


class Hello(RequestHandler):
    async def get(self) -> None:
        self.write("hello")


class Pid(RequestHandler):
    async def get(self) -> None:
        self.write(str(os.getpid()))


class Sleep(RequestHandler):
    """Sleeps ``s`` seconds; says so on stderr first, so a test knows it is in flight."""

    async def get(self) -> None:
        seconds = float(self.get_argument("s"))
        print(f"sleeping {seconds} in {os.getpid()}", file=sys.stderr, flush=True)
        await trio.sleep(seconds)
        self.write(f"slept {seconds}")


class Block(RequestHandler):
    """Blocks the whole process (no await) for ``s`` seconds: it accepts nothing meanwhile."""

    def get(self) -> None:
        print(f"blocking in {os.getpid()}", file=sys.stderr, flush=True)
        time.sleep(float(self.get_argument("s")))
        self.write(str(os.getpid()))


class RemoteIp(RequestHandler):
    async def get(self) -> None:
        self.write(f"{self.request.remote_ip} {self.request.protocol}")


class Fail(RequestHandler):
    async def get(self) -> None:
        raise ZeroDivisionError("handler failure for the test")


def make_app() -> Application:
    return Application(
        [
            (r"/", Hello),
            (r"/pid", Pid),
            (r"/sleep", Sleep),
            (r"/block", Block),
            (r"/ip", RemoteIp),
            (r"/fail", Fail),
        ]
    )


app = make_app()
not_an_app = 42


def make_text() -> str:
    return "not an application"


def make_broken() -> Application:
    raise LookupError("the factory failed")


async def make_async() -> Application:
    return make_app()
