"""BEFORE: the Tornado application's test, as docs/migrating.md starts from.

examples/test_porting_trinado.py is the same test after the port. Run both with
``pytest examples``.
"""

from __future__ import annotations

import tornado.testing
import tornado.web
from porting_tornado import make_app


class CountTest(tornado.testing.AsyncHTTPTestCase):
    def get_app(self) -> tornado.web.Application:
        return make_app()

    def test_count(self) -> None:
        response = self.fetch("/count?n=3")
        assert response.body == b"1\n2\n3\n"
