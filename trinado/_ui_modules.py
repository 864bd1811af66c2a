"""UI modules and UI methods: reusable page pieces that templates call by name.

A `UIModule` subclass renders a piece of a page (``{% module Entry(entry) %}`` in a template)
and may declare the CSS and JavaScript it needs; `RequestHandler.render` gathers those from
every module used on the page and inserts them into the ``<head>`` and ``<body>``. UI methods
are plain functions whose first argument is the handler; templates call them without it.

The ``ui_modules`` and ``ui_methods`` application settings accept a Python module, a dict or a
list of these, as in Tornado. Three modules are always there: ``linkify``,
``xsrf_form_html`` and ``Template``.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import escape

if TYPE_CHECKING:
    from ._request_handler import RequestHandler

__all__ = ["TemplateModule", "UIModule"]

_ResourceList = Iterable[str] | None


class UIModule:
    """A reusable piece of a page, rendered with ``{% module Name(...) %}``.

    Subclasses override `render`, and may override the methods that declare resources
    (`javascript_files`, `embedded_css`, ...): `RequestHandler.render` inserts what every
    module used on the page returned, once per module class. A module instance is created
    the first time a page uses it and serves every later use in the same request.

    Register modules with the ``ui_modules`` application setting (a dict from name to class,
    a Python module whose `UIModule` subclasses are taken, or a list of these).

    Args:
        handler: The handler rendering the page.

    Attributes:
        handler: The handler rendering the page.
        request: The handler's request.
        ui: The handler's UI namespace (``ui.modules``, the UI methods).
        locale: The handler's locale.
    """

    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.request = handler.request
        self.ui = handler.ui
        self.locale = handler.locale

    @property
    def current_user(self) -> Any:
        """The handler's `~RequestHandler.current_user`."""
        return self.handler.current_user

    def render(self, *args: Any, **kwargs: Any) -> str | bytes:
        """Returns this module's HTML; subclasses must override it.

        Args:
            *args: The positional arguments given in the template.
            **kwargs: The keyword arguments given in the template.

        Returns:
            The HTML, inserted without escaping.

        Raises:
            NotImplementedError: In this base class.
        """
        raise NotImplementedError()

    def embedded_javascript(self) -> str | None:
        """Override to add JavaScript in a ``<script>`` block at the end of the body.

        Returns:
            The script's source, or ``None`` (the default) for none.
        """
        return None

    def javascript_files(self) -> Iterable[str] | None:
        """Override to add ``<script src=...>`` tags at the end of the body.

        Relative paths go through the handler's ``static_url`` (when it has one); paths
        starting with ``/``, ``http:`` or ``https:`` are used as they are.

        Returns:
            A path, a list of paths, or ``None`` (the default) for none.
        """
        return None

    def embedded_css(self) -> str | None:
        """Override to add CSS in a ``<style>`` block at the end of the head.

        Returns:
            The style sheet's text, or ``None`` (the default) for none.
        """
        return None

    def css_files(self) -> Iterable[str] | None:
        """Override to add ``<link rel="stylesheet">`` tags at the end of the head.

        Paths are treated as for `javascript_files`.

        Returns:
            A path, a list of paths, or ``None`` (the default) for none.
        """
        return None

    def html_head(self) -> str | None:
        """Override to add HTML at the end of the ``<head>`` element.

        Returns:
            The HTML, or ``None`` (the default) for none.
        """
        return None

    def html_body(self) -> str | None:
        """Override to add HTML at the end of the ``<body>`` element.

        Returns:
            The HTML, or ``None`` (the default) for none.
        """
        return None

    def render_string(self, path: str, **kwargs: Any) -> bytes:
        """Renders a template with the handler's namespace (`RequestHandler.render_string`).

        Args:
            path: The template's name.
            **kwargs: Values for the template's namespace.

        Returns:
            The rendered template, UTF-8 encoded.
        """
        return self.handler.render_string(path, **kwargs)


class _linkify(UIModule):
    """``{% module linkify(text) %}``: `trinado.escape.linkify` as a module."""

    def render(self, text: str, **kwargs: Any) -> str:
        """Escapes ``text`` and turns its URLs into links.

        Args:
            text: Plain text.
            **kwargs: The options of `trinado.escape.linkify`.

        Returns:
            The HTML.
        """
        return escape.linkify(text, **kwargs)


class _xsrf_form_html(UIModule):
    """``{% module xsrf_form_html() %}``: the handler's hidden XSRF form field."""

    def render(self) -> str:
        """Returns the handler's ``xsrf_form_html()``.

        Returns:
            The ``<input type="hidden" ...>`` element.

        Raises:
            NotImplementedError: If the handler has no ``xsrf_form_html`` method.
        """
        method: Callable[[], str] | None = getattr(self.handler, "xsrf_form_html", None)
        if method is None:
            raise NotImplementedError("this handler has no xsrf_form_html()")
        return method()


class TemplateModule(UIModule):
    """``{% module Template("name.html", **kwargs) %}``: renders another template.

    Unlike ``{% include %}``, the template gets a namespace of its own (the handler's
    namespace plus the keyword arguments), not the including template's. It may declare
    resources as modules do, by calling ``set_resources`` with keyword arguments named after
    the `UIModule` methods: ``{{ set_resources(css_files="entry.css") }}``. Resources are
    kept once per template file, so they must not depend on the arguments.
    """

    def __init__(self, handler: RequestHandler) -> None:
        super().__init__(handler)
        # First declaration per template, in the order the templates were rendered.
        self._resources: dict[str, dict[str, Any]] = {}

    def render(self, path: str, **kwargs: Any) -> bytes:
        """Renders the template ``path``.

        Args:
            path: The template's name.
            **kwargs: Values for its namespace.

        Returns:
            The rendered template.

        Raises:
            ValueError: If the template calls ``set_resources`` with other resources than
                it did before.
        """
        resources = self._resources

        def set_resources(**declared: Any) -> str:
            known = resources.setdefault(path, declared)
            if known != declared:
                raise ValueError(
                    f"set_resources() called with other resources for the template {path!r}"
                )
            return ""

        return self.render_string(path, set_resources=set_resources, **kwargs)

    def _declared(self, key: str) -> list[Any]:
        return [found[key] for found in self._resources.values() if key in found]

    def _paths(self, key: str) -> list[str]:
        paths: list[str] = []
        for value in self._declared(key):
            if isinstance(value, (str, bytes)):
                paths.append(escape.to_unicode(value))
            else:
                paths.extend(value)
        return paths

    def embedded_javascript(self) -> str:
        """Returns the ``embedded_javascript`` the rendered templates declared, joined.

        Returns:
            The scripts, one per line.
        """
        return "\n".join(self._declared("embedded_javascript"))

    def javascript_files(self) -> list[str]:
        """Returns the ``javascript_files`` the rendered templates declared.

        Returns:
            The paths, in declaration order.
        """
        return self._paths("javascript_files")

    def embedded_css(self) -> str:
        """Returns the ``embedded_css`` the rendered templates declared, joined.

        Returns:
            The style sheets, one per line.
        """
        return "\n".join(self._declared("embedded_css"))

    def css_files(self) -> list[str]:
        """Returns the ``css_files`` the rendered templates declared.

        Returns:
            The paths, in declaration order.
        """
        return self._paths("css_files")

    def html_head(self) -> str:
        """Returns the ``html_head`` the rendered templates declared, concatenated.

        Returns:
            The HTML.
        """
        return "".join(self._declared("html_head"))

    def html_body(self) -> str:
        """Returns the ``html_body`` the rendered templates declared, concatenated.

        Returns:
            The HTML.
        """
        return "".join(self._declared("html_body"))


class _ObjectDict(dict[str, Any]):
    """A dict whose keys can also be read as attributes (``handler.ui.modules``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class _UIModuleNamespace:
    """``_tt_modules`` / ``modules`` in templates: module name to a renderer bound to a handler.

    Nothing is created until a template asks for a module.
    """

    __slots__ = ("handler", "ui_modules")

    def __init__(self, handler: RequestHandler, ui_modules: Mapping[str, type[UIModule]]) -> None:
        self.handler = handler
        self.ui_modules = ui_modules

    def __getitem__(self, key: str) -> Callable[..., str]:
        return self.handler._ui_module(key, self.ui_modules[key])

    def __getattr__(self, key: str) -> Callable[..., str]:
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None


def default_ui_modules() -> dict[str, type[UIModule]]:
    """Returns the modules every application has: ``linkify``, ``xsrf_form_html``, ``Template``."""
    return {"linkify": _linkify, "xsrf_form_html": _xsrf_form_html, "Template": TemplateModule}


def _members(module: types.ModuleType) -> dict[str, Any]:
    return {name: getattr(module, name) for name in dir(module)}


def load_ui_modules(into: dict[str, type[UIModule]], modules: Any) -> None:
    """Adds the `UIModule` subclasses found in ``modules`` to ``into``.

    Args:
        into: The application's module table.
        modules: A dict (name to class; values that are not `UIModule` subclasses are
            skipped), a Python module (its `UIModule` subclasses, by attribute name) or a list
            of these.

    Raises:
        TypeError: If ``modules`` is none of these.
    """
    if isinstance(modules, types.ModuleType):
        load_ui_modules(into, _members(modules))
    elif isinstance(modules, list):
        for item in modules:
            load_ui_modules(into, item)
    elif isinstance(modules, Mapping):
        for name, cls in modules.items():
            if isinstance(cls, type) and issubclass(cls, UIModule):
                into[name] = cls
    else:
        raise TypeError(f"ui_modules must be a module, a dict or a list, not {modules!r}")


def load_ui_methods(into: dict[str, Callable[..., Any]], methods: Any) -> None:
    """Adds the UI methods found in ``methods`` to ``into``.

    Args:
        into: The application's method table.
        methods: A dict, a Python module or a list of these. Callables whose name starts
            with a lower-case letter (not ``_``) are taken; others are skipped, so that a
            module's classes and private helpers are left out.

    Raises:
        TypeError: If ``methods`` is none of these.
    """
    if isinstance(methods, types.ModuleType):
        load_ui_methods(into, _members(methods))
    elif isinstance(methods, list):
        for item in methods:
            load_ui_methods(into, item)
    elif isinstance(methods, Mapping):
        for name, function in methods.items():
            if not name.startswith("_") and callable(function) and name[0].lower() == name[0]:
                into[name] = function
    else:
        raise TypeError(f"ui_methods must be a module, a dict or a list, not {methods!r}")
