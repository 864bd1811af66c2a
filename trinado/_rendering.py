"""Template rendering for request handlers: `render`, `render_string` and their settings.

`RenderingMixin` gives `RequestHandler` Tornado's rendering API. Nothing here runs for a
request that does not render: the template loader is made on the first render for its
directory, and the template namespace, the UI namespace and the UI modules are built when a
template asks for them.

Settings read here: ``template_path``, ``template_loader``, ``autoescape``,
``template_whitespace`` and ``compiled_template_cache`` (``False``, which ``debug=True``
implies, reloads every template once per request that renders).
"""

from __future__ import annotations

import os.path
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from . import escape
from ._handler_base import HandlerBase
from ._ui_modules import UIModule, _ObjectDict, _UIModuleNamespace

if TYPE_CHECKING:
    from ._request_handler import RequestHandler, _FinishAwaitable
    from .template import BaseLoader

__all__ = ["RenderingMixin"]

# Frames of these files are skipped when looking for the file that asked for a template.
_OWN_FILES = frozenset(
    os.path.join(os.path.dirname(__file__), name) for name in ("_rendering.py", "_ui_modules.py")
)


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "http:", "https:"))


def _caller_directory() -> str:
    """The directory of the first file up the stack that is not part of rendering itself."""
    frame = sys._getframe(1)
    while frame.f_code.co_filename in _OWN_FILES and frame.f_back is not None:
        frame = frame.f_back
    return os.path.dirname(frame.f_code.co_filename)


def _add_paths(into: list[str], part: str | bytes | Iterable[str]) -> None:
    if isinstance(part, (str, bytes)):
        into.append(escape.to_unicode(part))
    else:
        into.extend(part)


def _insert_before(html: bytes, tag: bytes, content: bytes, *, last: bool) -> bytes:
    where = html.rindex(tag) if last else html.index(tag)
    return html[:where] + content + b"\n" + html[where:]


class RenderingMixin(HandlerBase):
    """The template half of `RequestHandler`: rendering pages, UI modules and UI methods."""

    _template_loaders: ClassVar[dict[str, BaseLoader]] = {}
    _template_loader_lock: ClassVar[threading.Lock] = threading.Lock()
    # Set on the handler once it has reset the loaders (compiled_template_cache=False).
    _templates_reset: bool = False
    _ui: _ObjectDict
    _active_modules: dict[str, UIModule]

    if TYPE_CHECKING:
        _finished: bool

        def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> _FinishAwaitable:
            """Declared here for the type checker; `RequestHandler` defines it."""

    # ----------------------------------------------------------------------------------
    # Rendering

    def render(self, template_name: str, **kwargs: Any) -> _FinishAwaitable:
        """Renders a template as the response, and finishes it.

        The CSS and JavaScript that the page's UI modules declare are inserted: files and
        ``embedded_css`` before ``</head>``, then ``html_head``; files and
        ``embedded_javascript`` before the last ``</body>``, then ``html_body``. Like
        `~trinado.web.RequestHandler.finish`, it buffers: awaiting the result is optional
        and sends the response at once.

        Args:
            template_name: The template's name, relative to the template path.
            **kwargs: Values for the template's namespace (they win over
                `get_template_namespace`).

        Returns:
            What `~trinado.web.RequestHandler.finish` returns.

        Raises:
            RuntimeError: If the response is finished already.
            ValueError: If modules declared resources and the page has no ``</head>`` or
                ``</body>`` to put them before.
        """
        if self._finished:
            raise RuntimeError("Cannot render() after finish()")
        html = self.render_string(template_name, **kwargs)
        modules: dict[str, UIModule] | None = getattr(self, "_active_modules", None)
        if modules:
            html = self._insert_module_resources(html, modules.values())
        return self.finish(html)

    def _insert_module_resources(self, html: bytes, modules: Iterable[UIModule]) -> bytes:
        js_embed: list[bytes] = []
        js_files: list[str] = []
        css_embed: list[bytes] = []
        css_files: list[str] = []
        heads: list[bytes] = []
        bodies: list[bytes] = []
        for module in modules:
            if embedded := module.embedded_javascript():
                js_embed.append(escape.utf8(embedded))
            if files := module.javascript_files():
                _add_paths(js_files, files)
            if embedded := module.embedded_css():
                css_embed.append(escape.utf8(embedded))
            if files := module.css_files():
                _add_paths(css_files, files)
            if head := module.html_head():
                heads.append(escape.utf8(head))
            if body := module.html_body():
                bodies.append(escape.utf8(body))
        if js_files:
            linked = escape.utf8(self.render_linked_js(js_files))
            html = _insert_before(html, b"</body>", linked, last=True)
        if js_embed:
            html = _insert_before(html, b"</body>", self.render_embed_js(js_embed), last=True)
        if css_files:
            linked = escape.utf8(self.render_linked_css(css_files))
            html = _insert_before(html, b"</head>", linked, last=False)
        if css_embed:
            html = _insert_before(html, b"</head>", self.render_embed_css(css_embed), last=False)
        if heads:
            html = _insert_before(html, b"</head>", b"".join(heads), last=False)
        if bodies:
            html = _insert_before(html, b"</body>", b"".join(bodies), last=False)
        return html

    def _resource_urls(self, paths: Iterable[str]) -> list[str]:
        """Relative paths through ``static_url`` (if the handler has it), duplicates dropped."""
        static_url: Callable[[str], str] | None = getattr(self, "static_url", None)
        urls: dict[str, None] = {}
        for path in paths:
            if static_url is not None and not _is_absolute(path):
                path = static_url(path)
            urls[path] = None
        return list(urls)

    def render_linked_js(self, js_files: Iterable[str]) -> str:
        """Makes the ``<script src=...>`` tags for the modules' JavaScript files.

        Override it to change them.

        Args:
            js_files: The paths, in order; relative ones go through ``static_url`` when the
                handler has it.

        Returns:
            The tags, one per distinct URL.
        """
        return "".join(
            f'<script src="{escape.xhtml_escape(url)}" type="text/javascript"></script>'
            for url in self._resource_urls(js_files)
        )

    def render_embed_js(self, js_embed: Iterable[bytes]) -> bytes:
        """Makes the ``<script>`` block for the modules' embedded JavaScript.

        Override it to change it.

        Args:
            js_embed: The scripts, UTF-8 encoded.

        Returns:
            The block.
        """
        return (
            b'<script type="text/javascript">\n//<![CDATA[\n'
            + b"\n".join(js_embed)
            + b"\n//]]>\n</script>"
        )

    def render_linked_css(self, css_files: Iterable[str]) -> str:
        """Makes the ``<link rel="stylesheet">`` tags for the modules' CSS files.

        Override it to change them.

        Args:
            css_files: The paths, in order; relative ones go through ``static_url`` when
                the handler has it.

        Returns:
            The tags, one per distinct URL.
        """
        return "".join(
            f'<link href="{escape.xhtml_escape(url)}" type="text/css" rel="stylesheet"/>'
            for url in self._resource_urls(css_files)
        )

    def render_embed_css(self, css_embed: Iterable[bytes]) -> bytes:
        """Makes the ``<style>`` block for the modules' embedded CSS.

        Override it to change it.

        Args:
            css_embed: The style sheets, UTF-8 encoded.

        Returns:
            The block.
        """
        return b'<style type="text/css">\n' + b"\n".join(css_embed) + b"\n</style>"

    def render_string(self, template_name: str, **kwargs: Any) -> bytes:
        """Renders a template and returns the result, without writing it.

        The template is looked up by the loader of `get_template_path` (made once per
        directory with `create_template_loader`, then shared by every handler class). With
        no template path, the directory of the file calling this is used.

        Args:
            template_name: The template's name, relative to the template path.
            **kwargs: Values for the template's namespace (they win over
                `get_template_namespace`).

        Returns:
            The rendered template, UTF-8 encoded.

        Raises:
            trinado.template.ParseError: If the template (or one it extends or includes)
                has a syntax error.
            Exception: Whatever the template's code raises.
        """
        template_path = self.get_template_path() or _caller_directory()
        loaders = RenderingMixin._template_loaders
        with RenderingMixin._template_loader_lock:
            if not self._templates_reset and not self.settings.get("compiled_template_cache", True):
                self._templates_reset = True
                for known in loaders.values():
                    known.reset()
            loader = loaders.get(template_path)
            if loader is None:
                loader = loaders[template_path] = self.create_template_loader(template_path)
        template = loader.load(template_name)
        namespace = self.get_template_namespace()
        namespace.update(kwargs)
        return template.generate(**namespace)

    def get_template_namespace(self) -> dict[str, Any]:
        """Returns the names every template rendered by this handler sees.

        Override it to add names. It holds ``handler``, ``request``, ``current_user``,
        ``locale``, ``_`` (``locale.translate``), ``pgettext``, ``reverse_url``,
        ``static_url`` and ``xsrf_form_html`` (when the handler has them), the UI methods
        and the UI modules (``modules``). The template module adds its own defaults
        (``escape``, ``json_encode``, ...) and `render`'s keyword arguments come last.

        Returns:
            A new dict.
        """
        locale = self.locale
        namespace: dict[str, Any] = {
            "handler": self,
            "request": self.request,
            "current_user": self.current_user,
            "locale": locale,
            "_": locale.translate,
            "pgettext": locale.pgettext,
            "reverse_url": self.reverse_url,
        }
        for optional in ("static_url", "xsrf_form_html"):
            method = getattr(self, optional, None)
            if method is not None:
                namespace[optional] = method
        namespace.update(self.ui)
        return namespace

    def create_template_loader(self, template_path: str) -> BaseLoader:
        """Makes the template loader for a directory; override it to load otherwise.

        Args:
            template_path: The directory.

        Returns:
            The ``template_loader`` setting if there is one, else a
            `trinado.template.Loader` on ``template_path`` with the ``autoescape`` and
            ``template_whitespace`` settings (when given).
        """
        settings = self.settings
        if "template_loader" in settings:
            loader: BaseLoader = settings["template_loader"]
            return loader
        from .template import Loader

        options: dict[str, Any] = {}
        if "autoescape" in settings:
            # None is a value here: it turns escaping off.
            options["autoescape"] = settings["autoescape"]
        if "template_whitespace" in settings:
            options["whitespace"] = settings["template_whitespace"]
        return Loader(template_path, **options)

    def get_template_path(self) -> str | None:
        """Returns the directory templates are loaded from; override to choose per handler.

        Returns:
            The ``template_path`` setting, or ``None`` to use the directory of the file
            that calls `render_string`.
        """
        path: str | None = self.settings.get("template_path")
        return path

    # ----------------------------------------------------------------------------------
    # UI modules and methods

    @property
    def ui(self) -> _ObjectDict:
        """The UI namespace of this handler's templates, made on first use.

        It maps each ``ui_methods`` function's name to the function bound to this handler,
        and ``modules`` (also ``_tt_modules``, which ``{% module %}`` uses) to the UI
        modules. Keys can be read as attributes (``self.ui.modules.Entry(...)``).
        """
        try:
            return self._ui
        except AttributeError:
            pass
        ui = _ObjectDict(
            (name, self._ui_method(method)) for name, method in self.application.ui_methods.items()
        )
        modules = _UIModuleNamespace(self._as_request_handler(), self.application.ui_modules)
        ui["_tt_modules"] = modules
        ui["modules"] = modules
        self._ui = ui
        return ui

    def _as_request_handler(self) -> RequestHandler:
        # UI modules are made for RequestHandler, the only class that mixes this in.
        return self  # type: ignore[return-value]

    def _ui_module(self, name: str, module: type[UIModule]) -> Callable[..., str]:
        """A renderer for ``{% module name(...) %}``; one module instance per request."""

        def render(*args: Any, **kwargs: Any) -> str:
            active: dict[str, UIModule] | None = getattr(self, "_active_modules", None)
            if active is None:
                active = self._active_modules = {}
            instance = active.get(name)
            if instance is None:
                instance = active[name] = module(self._as_request_handler())
            return escape.to_unicode(instance.render(*args, **kwargs))

        return render

    def _ui_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """``method`` with this handler as its first argument."""

        def bound(*args: Any, **kwargs: Any) -> Any:
            return method(self, *args, **kwargs)

        return bound
