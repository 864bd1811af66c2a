"""Tornado's ``tornado.web`` on Trio: applications, request handlers and their helpers.

A minimal application::

    import trio
    from trinado.web import Application, RequestHandler

    class MainHandler(RequestHandler):
        async def get(self):
            self.write("Hello, world")

    app = Application([(r"/", MainHandler)])
    trio.run(app.serve)

Handler methods may be ``async def`` or plain ``def``. Output methods (``write``,
``set_header``, ``finish``, ``redirect``, ...) buffer and need no ``await``; the response is
sent when the method returns, or earlier with ``await self.flush()`` /
``await self.finish()``.
"""

from __future__ import annotations

from ._application import Application as Application
from ._builtin_handlers import ErrorHandler as ErrorHandler
from ._builtin_handlers import FallbackHandler as FallbackHandler
from ._builtin_handlers import RedirectHandler as RedirectHandler
from ._decorators import addslash as addslash
from ._decorators import authenticated as authenticated
from ._decorators import removeslash as removeslash
from ._decorators import stream_request_body as stream_request_body
from ._errors import Finish as Finish
from ._errors import HTTPError as HTTPError
from ._errors import MissingArgumentError as MissingArgumentError
from ._request_handler import RequestHandler as RequestHandler
from .routing import URLSpec as URLSpec
from .routing import url as url

__all__ = [
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "HTTPError",
    "MissingArgumentError",
    "RedirectHandler",
    "RequestHandler",
    "URLSpec",
    "addslash",
    "authenticated",
    "removeslash",
    "stream_request_body",
    "url",
]
