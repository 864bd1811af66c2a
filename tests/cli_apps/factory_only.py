"""Has only ``make_app``: ``python -m trinado factory_only`` must find it."""

from __future__ import annotations

from trinado.web import Application, RequestHandler


class Hello(RequestHandler):
    async def get(self) -> None:
        self.write("made by make_app")


def make_app() -> Application:
    return Application([(r"/", Hello)])
