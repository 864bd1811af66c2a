"""Every public name of the public modules has a docstring (the reference docs are built from them).

Public modules are found, not listed: ``trinado`` and every ``trinado/*.py`` not starting
with ``_``. Public names are a module's ``__all__`` (which each must define); for a class,
also the public methods and properties that trinado defines on it or on a trinado base
class. A method that overrides a documented one may leave its docstring out (Sphinx shows
the inherited one, as `inspect.getdoc` does). An attribute documented by a string literal
right after its assignment in the class body counts as documented, since Sphinx reads
those too."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import itertools
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "trinado"


def public_modules() -> list[str]:
    """The package itself and every ``trinado/*.py`` module whose name has no leading ``_``."""
    names = [f"trinado.{path.stem}" for path in PACKAGE.glob("*.py")]
    return ["trinado", *sorted(name for name in names if not name.split(".")[1].startswith("_"))]


PUBLIC_MODULES = public_modules()


def _is_trinado(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "trinado"


@functools.cache
def _attribute_docstrings(cls: type) -> frozenset[str]:
    """Names assigned in ``cls``'s body and followed by a string literal (Sphinx's convention)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return frozenset()
    tree = ast.parse(source)
    class_def = tree.body[0]
    if not isinstance(class_def, ast.ClassDef):
        return frozenset()
    documented: set[str] = set()
    for statement, following in itertools.pairwise(class_def.body):
        documents = (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        )
        if not documents:
            continue
        if isinstance(statement, ast.Assign):
            documented.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            documented.add(statement.target.id)
    return frozenset(documented)


def _has_doc(obj: Any) -> bool:
    return bool((inspect.getdoc(obj) or "").strip())


def _member_problems(cls: type, public: dict[type, str]) -> Iterator[str]:
    """Public methods and properties that trinado defines for ``cls`` and leaves undocumented.

    Each is named after the class that defines it: its public name when it has one.
    """
    seen = set()
    for klass in cls.__mro__:
        if not _is_trinado(klass):
            continue
        for name, raw in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(raw, property):
                documented = _has_doc(raw)
            elif isinstance(raw, (staticmethod, classmethod)):
                documented = _has_doc(raw.__func__)
            elif inspect.isfunction(raw):
                # getattr so that inspect.getdoc can find a documented base method.
                documented = _has_doc(getattr(cls, name))
            else:
                continue  # plain class attributes are described in the class's docstring
            if not documented and name not in _attribute_docstrings(klass):
                where = public.get(klass, f"{klass.__module__}.{klass.__qualname__}")
                yield f"{where}.{name}"


def _module_problems(module: ModuleType) -> Iterator[str]:
    if not (module.__doc__ or "").strip():
        yield f"{module.__name__} (module docstring)"
    names = getattr(module, "__all__", None)
    if names is None:
        yield f"{module.__name__}.__all__ (missing)"
        return
    public = {
        obj: f"{module.__name__}.{name}"
        for name in names
        if inspect.isclass(obj := getattr(module, name, None))
    }
    for name in names:
        qualname = f"{module.__name__}.{name}"
        obj = getattr(module, name, None)
        if obj is None:
            yield f"{qualname} (in __all__ but not defined)"
            continue
        if inspect.isclass(obj):
            # A class's own __doc__: class docstrings are not inherited.
            if not (obj.__doc__ or "").strip():
                yield qualname
            if _is_trinado(obj):
                yield from _member_problems(obj, public)
        elif callable(obj) and not _has_doc(obj):
            yield qualname
        # Other values (loggers, dicts, constants) cannot carry a docstring.


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_names_have_docstrings(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = sorted(set(_module_problems(module)))
    assert not missing, "Missing docstrings:\n  " + "\n  ".join(missing)


def test_public_modules_are_discovered() -> None:
    assert {"trinado", "trinado.web", "trinado.websocket", "trinado.auth"} <= set(PUBLIC_MODULES)
    assert not [name for name in PUBLIC_MODULES if "._" in name]


def test_the_checker_notices_a_missing_docstring() -> None:
    module = ModuleType("trinado._fake", "A fake module.")

    class Documented:
        """Has a docstring."""

        def method(self) -> None:
            """Has one too."""

        def bare(self) -> None:
            pass

    class Bare:
        pass

    def function() -> None:
        pass

    for obj in (Documented, Bare):
        obj.__module__ = "trinado._fake"
    module.__all__ = ["Bare", "Documented", "function"]  # type: ignore[attr-defined]
    module.Bare = Bare  # type: ignore[attr-defined]
    module.Documented = Documented  # type: ignore[attr-defined]
    module.function = function  # type: ignore[attr-defined]
    assert sorted(_module_problems(module)) == [
        "trinado._fake.Bare",
        "trinado._fake.Documented.bare",
        "trinado._fake.function",
    ]
