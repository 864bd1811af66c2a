"""Sets ``debug=True`` itself: serving it must run under the reload supervisor."""

from __future__ import annotations

from trinado.web import Application, RequestHandler


class Fail(RequestHandler):
    async def get(self) -> None:
        raise ZeroDivisionError("debug app failure")


app = Application([(r"/fail", Fail)], debug=True)
