"""Tornado's template language: templates compiled to Python once, then rendered fast.

A template is text with Python inside ``{{ expression }}`` (output, HTML-escaped by default),
``{% directive %}`` (control flow, inheritance, includes, settings) and ``{# comment #}``:

>>> from trinado.template import Template
>>> page = Template("<ul>{% for item in items %}<li>{{ item }}</li>{% end %}</ul>{# a list #}")
>>> page.generate(items=["tea", "<milk>"])
b'<ul><li>tea</li><li>&lt;milk&gt;</li></ul>'

Templates written for Tornado work unchanged and render to the same bytes: the same
directives (``apply``, ``autoescape``, ``block``, ``comment``, ``extends``, ``for``,
``from``/``import``, ``if``/``elif``/``else``, ``include``, ``module``, ``raw``, ``set``,
``try``/``except``/``else``/``finally``, ``while``, ``break``, ``continue``,
``whitespace``, ``end``), the same namespace, the same whitespace handling. The
language is described in ``docs/templates.md``.

Use `Template` for a template in a string, a `Loader` for a directory of template files (it
caches compiled templates and resolves ``extends`` and ``include``), or a `DictLoader` for
templates held in a dict. Errors name the template file and line: `ParseError` when a
template cannot be compiled, and tracebacks whose frames point into the template files when
a template raises while rendering.

Templates run arbitrary Python: treat them as code, never as user input.
"""

from __future__ import annotations

import contextlib
import datetime
import os.path
import posixpath
import threading
import types
from typing import Any

from . import escape
from ._template_codegen import generate_code, local_names
from ._template_parse import WHITESPACE_MODES, ParsedFile, ParseError, filter_whitespace, parse
from ._template_runtime import (
    HELPERS,
    Chain,
    GeneratedSource,
    resolve_escaper,
    rewrite_traceback,
)

__all__ = [
    "BaseLoader",
    "DictLoader",
    "Loader",
    "ParseError",
    "Template",
    "filter_whitespace",
]

_DEFAULT_AUTOESCAPE = "xhtml_escape"


class _UnsetMarker:
    """The default of arguments for which ``None`` means something."""


_UNSET = _UnsetMarker()

_HELPER_FUNCTIONS = tuple(HELPERS.values())


class Template:
    """A compiled template.

    The template is parsed and compiled to Python when it is created; `generate` renders it.
    Create templates through a loader (`Loader`, `DictLoader`) to use ``{% extends %}`` and
    ``{% include %}`` and to have them cached.

    Attributes:
        name: The template's name (its path relative to the loader's root, for a `Loader`).
        autoescape: The name of the function ``{{ }}`` output goes through, or ``None``.
        namespace: Names the loader adds to every rendering.
        loader: The loader that made the template, or ``None``.
        code: The generated Python source (for debugging).
        compiled: The compiled code object of ``code``.
    """

    def __init__(
        self,
        template_string: str | bytes,
        name: str = "<string>",
        loader: BaseLoader | None = None,
        compress_whitespace: bool | _UnsetMarker = _UNSET,
        autoescape: str | _UnsetMarker | None = _UNSET,
        whitespace: str | None = None,
    ) -> None:
        """Parses and compiles a template.

        Args:
            template_string: The template source (bytes are decoded as UTF-8).
            name: The template's name, used in error messages and tracebacks.
            loader: The loader that ``{% extends %}`` and ``{% include %}`` load from; its
                ``autoescape``, ``namespace`` and ``whitespace`` are the defaults.
            compress_whitespace: Deprecated (as in Tornado): true means
                ``whitespace="single"``, false ``whitespace="all"``.
            autoescape: The name of the namespace function that ``{{ }}`` output goes
                through, or ``None`` to output it as it is. By default the loader's, or
                ``"xhtml_escape"`` without a loader.
            whitespace: ``"all"``, ``"single"`` or ``"oneline"`` (see `filter_whitespace`).
                By default the loader's, else ``"single"`` for names ending in ``.html`` or
                ``.js`` and ``"all"`` for others.

        Raises:
            ParseError: The template is malformed, holds invalid Python, or extends or
                includes a template that is (or that cannot be found without a loader).
            ValueError: An unknown whitespace mode, or both ``whitespace`` and
                ``compress_whitespace``.
        """
        self.name = name
        if not isinstance(compress_whitespace, _UnsetMarker):
            if whitespace is not None:
                raise ValueError("cannot set both whitespace and compress_whitespace")
            whitespace = "single" if compress_whitespace else "all"
        if whitespace is None:
            if loader is not None and loader.whitespace:
                whitespace = loader.whitespace
            elif self.name.endswith((".html", ".js")):
                whitespace = "single"
            else:
                whitespace = "all"
        if whitespace not in WHITESPACE_MODES:
            raise ValueError(f"invalid whitespace mode {whitespace}")
        if not isinstance(autoescape, _UnsetMarker):
            self.autoescape: str | None = autoescape
        elif loader is not None:
            self.autoescape = loader.autoescape
        else:
            self.autoescape = _DEFAULT_AUTOESCAPE
        self.namespace: dict[str, Any] = loader.namespace if loader is not None else {}
        self.loader = loader
        if isinstance(template_string, bytes):
            template_string = template_string.decode("utf-8")
        self._source = template_string
        # Set by Loader: the file the template was read from, for tracebacks.
        self._source_path: str | None = None
        self.file: ParsedFile = parse(self.name, template_string, whitespace, self)
        if self.file.sets_autoescape:
            # Like Tornado, the last {% autoescape %} directive holds for the whole file.
            self.autoescape = self.file.autoescape
        self._compile()

    def _compile(self) -> None:
        inline: frozenset[str] = frozenset()
        while True:
            generated = generate_code(self, self.loader, inline)
            filename = self.name.replace(".", "_") + ".generated.py"
            try:
                compiled = compile(generated.source, filename, "exec", dont_inherit=True)
            except SyntaxError as error:
                raise _compile_error(error, generated.origins, self.name) from error
            function_code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
            # An autoescape name the template assigns ({% set escape = ... %}) is a local:
            # look it up where each {{ }} stands, as Tornado's code does.
            shadowed = inline | (set(generated.escapers) & set(local_names(function_code)))
            if shadowed == inline:
                break
            inline = frozenset(shadowed)
        self.code: str = generated.source
        self.compiled: types.CodeType = compiled
        self._function_code = function_code
        self._code_filename = filename
        self._origins: list[Chain | None] = generated.origins
        self._escapers = generated.escapers
        self._base_namespace: dict[str, Any] = {
            "escape": escape.xhtml_escape,
            "xhtml_escape": escape.xhtml_escape,
            "url_escape": escape.url_escape,
            "json_encode": escape.json_encode,
            "squeeze": escape.squeeze,
            "linkify": escape.linkify,
            "datetime": datetime,
            "_tt_utf8": escape.utf8,
            "_tt_string_types": (str, bytes),
            # __name__ and __loader__ let linecache show the generated code in tracebacks.
            "__name__": self.name.replace(".", "_"),
            "__loader__": GeneratedSource(self.code),
        }

    def generate(self, **kwargs: Any) -> bytes:
        """Renders the template.

        The template sees Tornado's default namespace (``escape``, ``xhtml_escape``,
        ``url_escape``, ``json_encode``, ``squeeze``, ``linkify``, ``datetime``), then the
        loader's namespace, then ``kwargs``, each overriding the one before.

        Args:
            **kwargs: Names for the template.

        Returns:
            The output, UTF-8 encoded.

        Raises:
            Exception: Whatever the template's code raises. Its traceback shows the
                template files and lines the error passed through (an include or a block
                appears as a call), and on Python 3.11+ a note says where it happened.
        """
        namespace = {**self._base_namespace, **self.namespace, **kwargs}
        function = types.FunctionType(
            self._function_code, namespace, "_tt_execute", _HELPER_FUNCTIONS
        )
        escapers = [resolve_escaper(namespace, name) for name in self._escapers]
        try:
            output: bytes = function(*escapers)
        except Exception as exc:
            with contextlib.suppress(Exception):  # never hide the template's own error
                rewrite_traceback(exc, namespace, self._code_filename, self._origins)
            raise
        return output

    def _traceback_source(self) -> tuple[str, str]:
        if self._source_path is not None:
            return self._source_path, self._source
        name = self.name
        if name.startswith("<") and name.endswith(">"):
            # "<string>" is what Python calls all code compiled from strings.
            name = name[:-1] + " template>"
        return name, self._source


def _compile_error(error: SyntaxError, origins: list[Chain | None], name: str) -> ParseError:
    """The `ParseError` for a syntax error in generated code, located in its template."""
    lineno = error.lineno or 0
    chain = origins[lineno - 1] if 0 < lineno <= len(origins) else None
    if chain is None:
        return ParseError(f"invalid Python in template: {error.msg}", name, 0)
    owner, line, _ = chain[-1]
    return ParseError(f"invalid Python in template: {error.msg}", owner.name, line)


class BaseLoader:
    """Base class for template loaders: a cache of compiled templates, safe across threads.

    Subclasses implement `resolve_path` and ``_create_template(name)``.

    Attributes:
        autoescape: The default autoescape of the templates.
        namespace: Names added to every rendering of the templates.
        whitespace: The default whitespace mode of the templates, or ``None``.
        templates: The cache: resolved name to `Template`.
        lock: Guards ``templates`` (re-entrant, since compiling a template loads others).
    """

    def __init__(
        self,
        autoescape: str | None = _DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        """Creates a loader.

        Args:
            autoescape: The name of the namespace function ``{{ }}`` output goes through
                (``"xhtml_escape"``), or ``None`` to turn escaping off by default.
            namespace: Names to add to the templates' namespace.
            whitespace: The whitespace mode of the templates (see `filter_whitespace`); by
                default ``"single"`` for ``.html`` and ``.js`` files and ``"all"`` for others.
        """
        self.autoescape = autoescape
        self.namespace: dict[str, Any] = namespace or {}
        self.whitespace = whitespace
        self.templates: dict[str, Template] = {}
        self.lock = threading.RLock()
        self._loading: list[str] = []  # names being compiled, under the lock

    def reset(self) -> None:
        """Empties the cache, so templates are read and compiled again on their next use."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Turns a name, maybe relative to the template naming it, into the cache key.

        Args:
            name: The name, as given to `~BaseLoader.load` or in ``extends``/``include``.
            parent_path: The name of the template whose directive names it.

        Returns:
            The resolved name.

        Raises:
            NotImplementedError: Always; subclasses implement it.
        """
        raise NotImplementedError()

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Returns a compiled template, from the cache or made and cached now.

        Args:
            name: The template's name.
            parent_path: The name of the template this one is relative to.

        Returns:
            The template.

        Raises:
            ParseError: The template cannot be compiled, or it extends or includes itself
                (directly or through others).
            OSError: The template file cannot be read (`Loader`).
            KeyError: There is no template of that name (`DictLoader`).
        """
        name = self.resolve_path(name, parent_path=parent_path)
        with self.lock:
            template = self.templates.get(name)
            if template is not None:
                return template
            if name in self._loading:
                cycle = " -> ".join([*self._loading[self._loading.index(name) :], name])
                raise ParseError(
                    f"template {name!r} extends or includes itself ({cycle})",
                    self._loading[-1],
                    0,
                )
            self._loading.append(name)
            try:
                template = self._create_template(name)
            finally:
                self._loading.pop()
            self.templates[name] = template
            return template

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError()


class Loader(BaseLoader):
    """Loads templates from files under a root directory.

    Names given to `~BaseLoader.load` are relative to the root (absolute paths are used as
    they are); names in ``extends`` and ``include`` are relative to the directory of the template
    holding the directive.

    Attributes:
        root: The absolute path of the root directory.
    """

    def __init__(self, root_directory: str, **kwargs: Any) -> None:
        """Creates a loader for a directory.

        Args:
            root_directory: The directory holding the templates.
            **kwargs: ``autoescape``, ``namespace`` and ``whitespace``, as for `BaseLoader`.
        """
        super().__init__(**kwargs)
        self.root = os.path.abspath(root_directory)

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolves ``name`` against the directory of ``parent_path``, within the root.

        Args:
            name: The name, as given to `~BaseLoader.load` or in ``extends``/``include``.
            parent_path: The name of the template whose directive names it.

        Returns:
            The name relative to the root (when it resolves inside the root).
        """
        if (
            parent_path
            and not parent_path.startswith("<")
            and not parent_path.startswith("/")
            and not name.startswith("/")
        ):
            parent_file = os.path.join(self.root, parent_path)
            directory = os.path.dirname(os.path.abspath(parent_file))
            candidate = os.path.abspath(os.path.join(directory, name))
            if candidate.startswith(self.root):
                name = candidate[len(self.root) + 1 :]
        return name

    def _create_template(self, name: str) -> Template:
        path = os.path.join(self.root, name)
        with open(path, "rb") as f:
            source = f.read()
        template = Template(source, name=name, loader=self)
        template._source_path = os.path.abspath(path)
        return template


class DictLoader(BaseLoader):
    """Loads templates from a dict of names to sources.

    Attributes:
        dict: The templates' sources by name.
    """

    def __init__(self, dict: dict[str, str], **kwargs: Any) -> None:
        """Creates a loader for templates held in a dict.

        Args:
            dict: The templates' sources by name.
            **kwargs: ``autoescape``, ``namespace`` and ``whitespace``, as for `BaseLoader`.
        """
        super().__init__(**kwargs)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Resolves ``name`` against the directory part of ``parent_path``.

        Args:
            name: The name, as given to `~BaseLoader.load` or in ``extends``/``include``.
            parent_path: The name of the template whose directive names it.

        Returns:
            The normalised name.
        """
        if (
            parent_path
            and not parent_path.startswith("<")
            and not parent_path.startswith("/")
            and not name.startswith("/")
        ):
            directory = posixpath.dirname(parent_path)
            name = posixpath.normpath(posixpath.join(directory, name))
        return name

    def _create_template(self, name: str) -> Template:
        return Template(self.dict[name], name=name, loader=self)
