"""`Application`: the routes and settings of a web application, and the request entry point."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from . import autoreload
from ._builtin_handlers import ErrorHandler
from ._compression import GZipContentEncoding, OutputTransform
from ._handler_base import HandlerBase
from ._ui_modules import default_ui_modules, load_ui_methods, load_ui_modules
from .log import access_log
from .routing import AnyMatches, DefaultHostMatches, HostMatches, ReversibleRuleRouter, Rule
from .static import _static_routes

if TYPE_CHECKING:
    from ._request_handler import RequestHandler
    from .httputil import HTTPServerRequest
    from .routing import _RuleList

__all__ = ["Application"]

_INFO = logging.INFO
_WARNING = logging.WARNING
_ERROR = logging.ERROR


class Application:
    r"""A web application: routes from requests to handlers, plus settings.

    Routes are `~trinado.routing.Rule` objects or tuples ``(pattern, handler)``,
    ``(pattern, handler, kwargs)`` or ``(pattern, handler, kwargs, name)`` (or
    `~trinado.routing.url`). The first route whose pattern matches the whole path wins;
    its groups become the handler method's arguments (by keyword when named), and
    ``kwargs`` go to the handler's ``initialize``. A route's target may also be a list of
    routes (after a matcher such as `~trinado.routing.HostMatches`), or an async callable
    taking the request, such as another `Application`.

    Serve it with ``trio.run(app.serve)``, or ``await nursery.start(app.serve, 0)`` in
    tests (from ``examples/helloworld.py``)::

        class MainHandler(web.RequestHandler):
            async def get(self) -> None:
                self.write("Hello, world")


        def make_app() -> web.Application:
            return web.Application([(r"/", MainHandler)])


        def main() -> None:
            app = make_app()
            trio.run(app.serve)  # port 8888 on every interface; Ctrl-C stops it gracefully

    Virtual hosts are added with `add_handlers`; ``default_host`` names the host whose
    routes also answer requests for unknown hosts (not behind a proxy).

    Args:
        handlers: The routes.
        default_host: A host name for requests that no host pattern matches.
        transforms: Output transform classes (`~trinado.web.OutputTransform`); by default
            `~trinado.web.GZipContentEncoding` when ``compress_response`` (or ``gzip``) is
            set, else none.
        **settings: Application settings, as in Tornado: ``debug``, ``serve_traceback``,
            ``log_function``, ``default_handler_class``, ``default_handler_args``,
            ``login_url``, the template settings (``template_path``, ``template_loader``,
            ``autoescape``, ``compiled_template_cache``, ``template_whitespace``,
            ``ui_modules``, ``ui_methods``), the security settings (``cookie_secret``,
            ``key_version``, ``xsrf_cookies``, ``xsrf_cookie_version``, ``xsrf_cookie_name``,
            ``xsrf_cookie_kwargs``), the static file settings (``static_path``,
            ``static_url_prefix``, ``static_handler_class``, ``static_handler_args``,
            ``static_hash_cache``; ``static_path`` adds the routes ``static_url_prefix +
            "(.*)"``, ``/favicon.ico`` and ``/robots.txt``), ``compress_response`` (alias
            ``gzip``), and whatever the application itself uses.
            ``debug=True`` turns on ``serve_traceback`` (and sets ``autoreload``,
            ``compiled_template_cache`` and ``static_hash_cache`` as Tornado does) unless
            they are given. One setting is trinado's own: ``lifespan``, a function taking
            the application and returning an async context manager that `serve` enters
            before it starts listening and exits after serving has stopped (open a
            database pool or a message relay there; see `serve`).

    Attributes:
        transforms: The output transform classes; each request gets an instance of each.
        settings: The settings (a dict; handlers see it as ``self.settings``).
        default_host: As given.
        default_router: The top router: host rules, then the wildcard router.
        wildcard_router: The router of the routes given here (any host).
        ui_modules: The UI modules templates can use, by name: the built-in ``linkify``,
            ``xsrf_form_html`` and ``Template``, plus those of the ``ui_modules`` setting.
        ui_methods: The functions of the ``ui_methods`` setting, by name.
    """

    def __init__(
        self,
        handlers: _RuleList | None = None,
        default_host: str | None = None,
        transforms: list[type[OutputTransform]] | None = None,
        **settings: Any,
    ) -> None:
        if transforms is None:
            self.transforms: list[type[OutputTransform]] = []
            if settings.get("compress_response") or settings.get("gzip"):
                self.transforms.append(GZipContentEncoding)
        else:
            self.transforms = list(transforms)
        self.default_host = default_host
        self.settings: dict[str, Any] = settings
        if settings.get("debug"):
            settings.setdefault("autoreload", True)
            settings.setdefault("compiled_template_cache", False)
            settings.setdefault("static_hash_cache", False)
            settings.setdefault("serve_traceback", True)
        self.ui_modules = default_ui_modules()
        self.ui_methods: dict[str, Callable[..., Any]] = {}
        load_ui_modules(self.ui_modules, settings.get("ui_modules", {}))
        load_ui_methods(self.ui_methods, settings.get("ui_methods", {}))
        if settings.get("static_path"):
            handlers = [*_static_routes(settings), *(handlers or [])]
        self.wildcard_router = ReversibleRuleRouter(handlers)
        self.default_router = ReversibleRuleRouter([Rule(AnyMatches(), self.wildcard_router)])
        self._nurseries: list[trio.Nursery] = []

    @property
    def nursery(self) -> trio.Nursery:
        """A nursery for background tasks, open while `serve` runs.

        Tasks started here outlive the request that started them (send an e-mail after
        answering, say); when serving stops they are cancelled, after the connections have
        finished and before the ``lifespan`` context exits.

        Raises:
            RuntimeError: The application is not being served.
        """
        if not self._nurseries:
            raise RuntimeError("Application.nursery exists only while app.serve() runs")
        return self._nurseries[0]

    def add_transform(self, transform_class: type[OutputTransform]) -> None:
        """Adds an output transform class, applied to every response from now on.

        Args:
            transform_class: A subclass of `~trinado.web.OutputTransform`.
        """
        self.transforms.append(transform_class)

    def add_handlers(self, host_pattern: str, host_handlers: _RuleList) -> None:
        r"""Adds routes that apply only to requests for hosts matching ``host_pattern``.

        Host patterns are tried in the order they were added, before the routes given to
        the constructor (which apply to any host). When ``default_host`` is set and
        matches the pattern, these routes also serve requests whose host no pattern
        matches.

        Args:
            host_pattern: A regular expression for the host name (``r"www\.example\.com"``);
                it must match the whole name.
            host_handlers: The routes, as for the constructor.
        """
        host_matcher = HostMatches(host_pattern)
        rule = Rule(host_matcher, ReversibleRuleRouter(host_handlers))
        self.default_router.rules.insert(-1, rule)
        if self.default_host is not None:
            self.wildcard_router.add_rules(
                [(DefaultHostMatches(self, host_matcher.host_pattern), host_handlers)]
            )

    def reverse_url(self, name: str, *args: Any) -> str:
        """Builds the URL path of a named route.

        Args:
            name: The route's name (given with `~trinado.routing.url` or a 4-tuple).
            *args: Values for the route's groups; converted to str, UTF-8 encoded and
                percent-escaped.

        Returns:
            The URL path.

        Raises:
            KeyError: If no route has that name.
        """
        reversed_url = self.default_router.reverse_url(name, *args)
        if reversed_url is None:
            raise KeyError(f"{name} not found in named urls")
        return reversed_url

    def log_request(self, handler: RequestHandler) -> None:
        """Logs a finished request; override it or set ``log_function`` to change this.

        The default writes ``"<status> <method> <uri> (<ip>) <ms>ms"`` on ``trinado.access``:
        at INFO below 400, WARNING below 500, ERROR otherwise.

        Args:
            handler: The handler that served the request.
        """
        log_function = self.settings.get("log_function")
        if log_function is not None:
            log_function(handler)
            return
        status = handler.get_status()
        if status < 400:
            level = _INFO
        elif status < 500:
            level = _WARNING
        else:
            level = _ERROR
        if access_log.isEnabledFor(level):
            request = handler.request
            milliseconds = 1000.0 * request.request_time()
            access_log.log(
                level,
                "%d %s %.2fms",
                status,
                handler._request_summary(),
                milliseconds,
                extra={
                    "status": status,
                    "method": request.method,
                    "uri": request.uri,
                    "remote_ip": request.remote_ip,
                    "request_time_ms": round(milliseconds, 2),
                },
            )

    async def handle_request(self, request: HTTPServerRequest) -> None:
        """Serves one request: finds its handler and runs it.

        The server calls this with the request head parsed and the body not read yet.

        Args:
            request: The request.
        """
        rules = self.default_router.rules
        if len(rules) == 1 and rules[0].target is self.wildcard_router:
            # No host rules: skip the AnyMatches level.
            match = self.wildcard_router.find(request)
        else:
            match = self.default_router.find(request)
        if match is None:
            handler_class = self.settings.get("default_handler_class")
            if handler_class is not None:
                kwargs = self.settings.get("default_handler_args") or {}
            else:
                handler_class, kwargs = ErrorHandler, {"status_code": 404}
            handler = handler_class(self, request, **kwargs)
            await handler._execute((), {})
            return
        target = match.target
        if isinstance(target, type) and issubclass(target, HandlerBase):
            handler = target(self, request, **match.target_kwargs)
            await handler._execute(match.path_args, match.path_kwargs)
        else:
            callback: Callable[[HTTPServerRequest], Awaitable[None]] = target
            await callback(request)

    async def __call__(self, request: HTTPServerRequest) -> None:
        """Serves one request, as `handle_request` (so an application can be a target).

        Args:
            request: The request.
        """
        await self.handle_request(request)

    async def serve(
        self,
        port: int = 8888,
        host: str = "",
        *,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
        **server_options: Any,
    ) -> None:
        """Serves this application over HTTP until shut down or cancelled.

        ``trio.run(app.serve)`` serves on port 8888 until Ctrl-C or SIGTERM, which stop it
        gracefully; ``await nursery.start(app.serve, 0)`` returns once listening, with the
        `~trinado.httpserver.HTTPServer` (its ``port``, its ``shutdown()``).

        The nursery tree, outermost first: the ``lifespan`` setting's context (when set),
        then `nursery` (background tasks), then the server and its connections. Stopping
        unwinds it in the other order: connections finish (up to ``shutdown_timeout``),
        background tasks are cancelled, the lifespan context exits. As anywhere in Trio, an
        exception escaping a background task stops the whole application: catch and log
        what a task may raise.

        Args:
            port: The TCP port (0 picks a free one).
            host: The address to listen on (``""`` for all).
            task_status: For `trio.Nursery.start`.
            **server_options: Options of `trinado.httpserver.serve`: ``listeners`` (serve
                on sockets that are already listening), ``unix_socket``, ``reuse_port``,
                ``ssl_options``, ``xheaders``, timeouts and limits.
        """
        from .httpserver import _is_main_task, serve

        reload = (
            bool(self.settings.get("autoreload"))
            and not autoreload.is_supervised()
            and _is_main_task()
        )
        if reload:
            task_status = _StartReloader(self, task_status)
        lifespan = self.settings.get("lifespan")
        async with contextlib.AsyncExitStack() as stack:
            if lifespan is not None:
                await stack.enter_async_context(lifespan(self))
            failure: Exception | None = None
            async with trio.open_nursery() as nursery:
                self._nurseries.append(nursery)
                try:
                    await serve(
                        self, port=port, host=host, task_status=task_status, **server_options
                    )
                except Exception as exc:
                    # Kept out of the nursery so that it is not wrapped in an
                    # ExceptionGroup: a port in use is an OSError to the caller.
                    failure = exc
                finally:
                    self._nurseries.remove(nursery)
                    nursery.cancel_scope.cancel()
            if failure is not None:
                raise failure
        if reload:
            autoreload.exec_if_reload_requested()


class _StartReloader:
    """Passes on ``task_status.started`` and starts the autoreload watcher at that moment.

    The watcher needs the server (to shut it down gracefully on a change), which exists only
    once `~trinado.httpserver.serve` reports that it is listening.
    """

    def __init__(self, app: Application, outer: trio.TaskStatus[Any]) -> None:
        self._app = app
        self._outer = outer

    def started(self, value: Any = None) -> None:
        files = functools.partial(autoreload.watched_files, self._app)
        self._app.nursery.start_soon(autoreload.autoreload_task, value.shutdown, files)
        self._outer.started(value)
