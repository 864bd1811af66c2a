"""Sphinx configuration for trinado's documentation.

Build with ``nox -s docs`` (warnings are errors), or directly::

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html

Pages are Markdown (MyST); the reference is generated from docstrings (Google style) by
autodoc, one page per module listed in ``reference/index.md``. Links to Python, Trio, h11
and wsproto go through inventories kept in ``_intersphinx/``, so the build needs no
network (see ``_intersphinx/README.md``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

import trinado  # noqa: E402 (the checkout, not an installed copy, when run from here)

project = "trinado"
author = "the trinado authors"
copyright = "the trinado authors"
release = trinado.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinxcontrib_trio",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_intersphinx", "_templates", "**/README.md"]
templates_path = ["_templates"]

# -- Markdown --------------------------------------------------------------------------------

# "#graceful-shutdown" style links to headings, down to ### level.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# -- API reference ---------------------------------------------------------------------------

# In docstrings (reStructuredText), `name` is a cross-reference to a Python object.
default_role = "py:obj"
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
    # Filtered by _skip_inherited: only what a class gets from private trinado bases.
    "inherited-members": True,
}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- Links to other projects -----------------------------------------------------------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_intersphinx/python.inv"),
    "trio": ("https://trio.readthedocs.io/en/stable/", "_intersphinx/trio.inv"),
    "h11": ("https://h11.readthedocs.io/en/latest/", "_intersphinx/h11.inv"),
    "wsproto": (
        "https://python-hyper.org/projects/wsproto/en/stable/",
        "_intersphinx/wsproto.inv",
    ),
}
intersphinx_disabled_reftypes = ["std:doc"]

# Names in signatures that no inventory has: private names (helpers and type aliases that
# are not part of the API, shown unlinked), projects without Sphinx inventories (httpx,
# pytest), and classes Python 3.11's own inventory lacks.
nitpick_ignore_regex = [
    ("py:.*", r"(.*\.)?_[A-Za-z]\w*(\..*)?"),
    ("py:class", r"httpx\..*"),
    ("py:class", r"(_)?pytest\..*"),
    ("py:class", r"re\.(Pattern|Match)"),
    # The annotation of WebSocketHandler.ws_connection: the protocol object is internal.
    ("py:class", r"WebSocketProtocol"),
]

# -- HTML ------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"trinado {release}"
html_static_path: list[str] = []

# -- Each public object documented once ------------------------------------------------------

PUBLIC_MODULES = sorted(
    ["trinado"]
    + [
        f"trinado.{path.stem}"
        for path in (DOCS.parent / "trinado").glob("*.py")
        if not path.stem.startswith("_")
    ]
)


def _assigns(module: Any, name: str) -> bool:
    """True when ``module``'s own source assigns ``name`` (it is not imported there)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    return any(line.startswith((f"{name} =", f"{name}:")) for line in source.splitlines())


def _home(module_name: str, name: str, obj: Any) -> str:
    """The public module whose reference page documents ``obj``, exported as ``name``.

    A class or function is documented with the public module that defines it, or, when a
    private module defines it, with the first public module that exports it; a constant,
    with the public module that assigns it.
    """
    defining = getattr(obj, "__module__", None)
    exporters = [
        candidate
        for candidate in PUBLIC_MODULES
        if name in getattr(importlib.import_module(candidate), "__all__", ())
        and getattr(sys.modules[candidate], name, None) is obj
    ]
    if defining in exporters:
        return str(defining)
    if defining is None:
        exporters = [m for m in exporters if _assigns(sys.modules[m], name)] or exporters
    return exporters[0] if exporters else module_name


def _documented_elsewhere() -> dict[str, list[str]]:
    """For each public module, the names of its ``__all__`` documented on another page."""
    elsewhere: dict[str, list[str]] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        elsewhere[module_name] = [
            name
            for name in getattr(module, "__all__", ())
            if _home(module_name, name, getattr(module, name)) != module_name
        ]
    return elsewhere


ELSEWHERE = _documented_elsewhere()
# reference/_templates/autosummary/module.rst excludes these from each module's page.
autosummary_context = {"elsewhere": ELSEWHERE}


def _list_reexports(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Ends a module's docstring with the names it re-exports from other public modules."""
    if what != "module" or not ELSEWHERE.get(name):
        return
    links = []
    for export in ELSEWHERE[name]:
        home = _home(name, export, getattr(obj, export))
        links.append(f"`{export} <{home}.{export}>`")
    lines.extend(["", "Also importable from here: " + ", ".join(links) + ".", ""])


def _public_class(cls: type) -> bool:
    """True for a trinado class that a public module exports (it has a page of its own)."""
    return any(
        _home(module, cls.__name__, cls) == module
        for module in PUBLIC_MODULES
        if getattr(sys.modules[module], cls.__name__, None) is cls
    )


def _skip_inherited(
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Keeps the inherited members of a class only when they come from a private base.

    What a class inherits from a public trinado class is documented there (and linked from
    "Bases"); what it inherits from Python's own classes is Python's.
    """
    if what not in {"class", "exception"}:
        return None
    document = app.env.current_document
    module = sys.modules.get(document.autodoc_module)
    cls = getattr(module, document.autodoc_class, None)
    if not isinstance(cls, type):
        return None
    definer = next((k for k in cls.__mro__ if name in vars(k)), None)
    if definer is None or definer is cls:
        return None
    if not definer.__module__.startswith("trinado"):
        return True
    # A public base that has it documents it (with everything it inherits privately).
    documented_above = any(_public_class(base) and hasattr(base, name) for base in cls.__mro__[1:])
    return True if documented_above else None


def _public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """Shows a private base class as the public classes it derives from."""
    replaced: list[type] = []
    pending = list(bases)
    while pending:
        base = pending.pop(0)
        if base.__module__.startswith("trinado") and not _public_class(base):
            pending[:0] = [b for b in base.__bases__ if b is not object]
        elif base not in replaced:
            replaced.append(base)
    bases[:] = replaced


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-docstring", _list_reexports)
    app.connect("autodoc-skip-member", _skip_inherited)
    app.connect("autodoc-process-bases", _public_bases)
