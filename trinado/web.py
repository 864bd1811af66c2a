"""Tornado's ``tornado.web`` on Trio: applications, request handlers and their helpers.

A minimal application, ``examples/helloworld.py``::

    import trio

    from trinado import web


    class MainHandler(web.RequestHandler):
        async def get(self) -> None:
            self.write("Hello, world")


    def make_app() -> web.Application:
        return web.Application([(r"/", MainHandler)])


    def main() -> None:
        app = make_app()
        trio.run(app.serve)  # port 8888 on every interface; Ctrl-C stops it gracefully

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
from ._compression import GZipContentEncoding as GZipContentEncoding
from ._compression import OutputTransform as OutputTransform
from ._decorators import addslash as addslash
from ._decorators import authenticated as authenticated
from ._decorators import removeslash as removeslash
from ._decorators import stream_request_body as stream_request_body
from ._errors import Finish as Finish
from ._errors import HTTPError as HTTPError
from ._errors import MissingArgumentError as MissingArgumentError
from ._request_handler import RequestHandler as RequestHandler
from ._ui_modules import TemplateModule as TemplateModule
from ._ui_modules import UIModule as UIModule
from .routing import URLSpec as URLSpec
from .routing import url as url
from .security import DEFAULT_SIGNED_VALUE_MIN_VERSION as DEFAULT_SIGNED_VALUE_MIN_VERSION
from .security import DEFAULT_SIGNED_VALUE_VERSION as DEFAULT_SIGNED_VALUE_VERSION
from .security import MAX_SUPPORTED_SIGNED_VALUE_VERSION as MAX_SUPPORTED_SIGNED_VALUE_VERSION
from .security import MIN_SUPPORTED_SIGNED_VALUE_VERSION as MIN_SUPPORTED_SIGNED_VALUE_VERSION
from .security import create_signed_value as create_signed_value
from .security import decode_signed_value as decode_signed_value
from .security import get_signature_key_version as get_signature_key_version
from .static import StaticFileHandler as StaticFileHandler

__all__ = [
    "DEFAULT_SIGNED_VALUE_MIN_VERSION",
    "DEFAULT_SIGNED_VALUE_VERSION",
    "MAX_SUPPORTED_SIGNED_VALUE_VERSION",
    "MIN_SUPPORTED_SIGNED_VALUE_VERSION",
    "Application",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPError",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLSpec",
    "addslash",
    "authenticated",
    "create_signed_value",
    "decode_signed_value",
    "get_signature_key_version",
    "removeslash",
    "stream_request_body",
    "url",
]
