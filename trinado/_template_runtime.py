"""What compiled templates call while they render, and the traceback they leave on errors.

Output pieces are ``str`` while a template renders and the page is encoded to UTF-8 once at
the end, which is cheaper than Tornado's encoding of every piece. The result is the same
bytes Tornado produces: values are turned into text the way Tornado's ``_tt_utf8`` does, and
``bytes`` that are not UTF-8 (which Tornado passes through untouched) travel as an
`Undecodable` piece that remembers them.

When a template raises, `rewrite_traceback` replaces the frames of the generated code with
frames that name the template files and lines (an ``{% include %}`` or a ``{% block %}``
appears as a call, like a function), so a traceback reads:

.. code-block:: text

    File "/app/templates/base.html", line 7, in <template>
      {% block body %}{% end %}
    File "/app/templates/page.html", line 12, in <block body>
      <td>{{ row.nme }}</td>
"""

from __future__ import annotations

import ast
import builtins
import functools
import linecache
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .escape import xhtml_escape

__all__ = [
    "HELPERS",
    "Chain",
    "Frame",
    "GeneratedSource",
    "SourceOwner",
    "Undecodable",
    "applied",
    "escape_html",
    "escape_with",
    "join",
    "raw",
    "resolve_escaper",
    "rewrite_traceback",
]

_MISSING: Any = object()


class Undecodable(str):
    """An output piece standing for ``bytes`` that are not UTF-8; ``raw`` holds them."""

    __slots__ = ("raw",)
    raw: bytes


def _piece(value: Any) -> str:
    """Text of what an escaping or ``apply`` function returned (str or bytes, as in Tornado)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            piece = Undecodable(value.decode("utf-8", "surrogateescape"))
            piece.raw = value
            return piece
    raise TypeError(
        f"template escaping and apply functions must return str or bytes, not {type(value)!r}"
    )


def raw(value: Any) -> str:
    """Text of a value output without escaping (``{% raw %}``, ``{% module %}``)."""
    if value.__class__ is str:
        return value
    if isinstance(value, (str, bytes)):
        return _piece(value)
    return str(value)


def escape_html(value: Any) -> str:
    """Text of a value, HTML-escaped as ``xhtml_escape`` does (the default autoescape)."""
    if value.__class__ is str:
        text: str = value
    elif value.__class__ is int or value.__class__ is float:
        return str(value)  # digits, signs, dots, "e", "inf" and "nan" need no escaping
    elif isinstance(value, str):
        # Tornado escapes a str subclass's characters (not its __str__); copying to a plain
        # str also keeps subclass methods out of it (markupsafe's replace() escapes).
        text = str.__str__(value)
    elif isinstance(value, bytes):
        text = value.decode("utf-8")
    else:
        text = str(value)
        if text.__class__ is not str:
            text = str.__str__(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "'" in text:
        text = text.replace("'", "&#x27;")
    return text


def escape_with(function: Callable[[bytes], Any], value: Any) -> str:
    """Text of a value escaped by any function, called exactly as Tornado calls it.

    The function gets the value as UTF-8 bytes (``str(value)`` for other types) and may
    return str or bytes.
    """
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, bytes):
        data = value
    else:
        data = str(value).encode("utf-8")
    return _piece(function(data))


def _missing_escaper(name: str, value: Any) -> str:
    raise NameError(f"name {name!r} is not defined")


def resolve_escaper(namespace: dict[str, Any], name: str) -> Callable[[Any], str]:
    """The escaping function a template's ``{{ }}`` calls for the autoescape name ``name``.

    Args:
        namespace: The template's namespace for this render.
        name: The autoescape setting, a name looked up in ``namespace`` then in builtins.

    Returns:
        A function from a value to its escaped text.
    """
    function = namespace.get(name, _MISSING)
    if function is _MISSING:
        function = builtins.__dict__.get(name, _MISSING)
    if function is xhtml_escape:
        return escape_html
    if function is _MISSING:
        return functools.partial(_missing_escaper, name)
    return functools.partial(escape_with, function)


def join(pieces: list[str]) -> bytes:
    """The UTF-8 bytes of the output pieces."""
    text = "".join(pieces)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Only bytes that are not UTF-8 (or a str that cannot be encoded, which raises here
        # as it does in Tornado) take this path.
        return b"".join(
            piece.raw if isinstance(piece, Undecodable) else piece.encode("utf-8")
            for piece in pieces
        )


def applied(function: Callable[[bytes], Any], pieces: list[str]) -> str:
    """The output of ``{% apply function %}``: the function of the body's UTF-8 bytes."""
    return _piece(function(join(pieces)))


#: The helpers a template function takes as parameters (after its escapers), by name.
HELPERS: dict[str, Callable[..., Any]] = {
    "_tt_raw": raw,
    "_tt_applied": applied,
    "_tt_escape_with": escape_with,
    "_tt_join": join,
}


class GeneratedSource:
    """A ``__loader__`` whose ``get_source`` returns fixed text, for `linecache`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def get_source(self, name: str) -> str:
        """Returns the source, whatever module name is asked for."""
        return self.source


# --- tracebacks -------------------------------------------------------------------------------


class SourceOwner(Protocol):
    """A template, as far as tracebacks are concerned."""

    name: str

    def _traceback_source(self) -> tuple[str, str]:
        """The file name to show in frames and the template's source text."""
        ...


#: (template, line, what the frame is: "<template>", "<include>" or "<block NAME>")
Frame = tuple[SourceOwner, int, str]
#: The frames from the outermost template down to the line where the code runs.
Chain = tuple[Frame, ...]


@functools.lru_cache(maxsize=1024)
def _raising_code(filename: str, line: int, label: str, width: int) -> types.CodeType:
    """Code that raises ``_tt_exc`` at ``filename:line``, in a frame named ``label``."""
    # The statement spans the whole template line, so tracebacks underline nothing.
    node = ast.Raise(
        exc=ast.Name("_tt_exc", ast.Load()),
        cause=None,
        lineno=line,
        col_offset=0,
        end_lineno=line,
        end_col_offset=width,
    )
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    code = compile(module, filename, "exec", dont_inherit=True)
    if sys.version_info >= (3, 11):
        return code.replace(co_name=label, co_qualname=label)
    return code.replace(co_name=label)  # pragma: no cover (Python 3.10)


class _FrameMaker:
    """Makes real frame objects located in template files, for one rewritten traceback."""

    def __init__(self, exc: BaseException, namespace: dict[str, Any]) -> None:
        self.exc = exc
        self.namespace = namespace
        self.globals: dict[int, dict[str, Any]] = {}

    def _globals_for(self, owner: SourceOwner) -> tuple[dict[str, Any], str, list[str]]:
        filename, source = owner._traceback_source()
        lines = source.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        found = self.globals.get(id(owner))
        if found is None:
            found = dict(self.namespace)
            found["__name__"] = filename
            found["__loader__"] = GeneratedSource(source)
            self.globals[id(owner)] = found
            # Give linecache the text that was compiled (the file may have changed since, or
            # not exist), so tracebacks show the template line.
            linecache.cache[filename] = (len(source), None, lines, filename)
        return found, filename, lines

    def make(
        self, frame: Frame, f_locals: dict[str, Any]
    ) -> tuple[types.FrameType, int, int] | None:
        owner, line, label = frame
        if line < 1:
            return None
        f_globals, filename, lines = self._globals_for(owner)
        text = lines[line - 1].rstrip("\r\n") if line <= len(lines) else ""
        code = _raising_code(filename, line, label, len(text.encode("utf-8", "replace")))
        exc = self.exc
        saved = (exc.__traceback__, exc.__context__)
        frame_locals = dict(f_locals)
        frame_locals["_tt_exc"] = exc
        tb: types.TracebackType | None = None
        try:
            exec(code, f_globals, frame_locals)
        except BaseException as raised:
            tb = raised.__traceback__
        finally:
            exc.__traceback__, exc.__context__ = saved
            del frame_locals["_tt_exc"]
        if tb is None or tb.tb_next is None:  # pragma: no cover (exec always raises)
            return None
        tb = tb.tb_next
        return tb.tb_frame, tb.tb_lasti, tb.tb_lineno


def _common_prefix(a: Chain, b: Chain) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x[0] is not y[0] or x[1] != y[1]:
            break
        count += 1
    return count


def _describe(chain: Chain) -> str:
    owner, line, _ = chain[-1]
    text = f"in template {owner.name!r}, line {line}"
    if len(chain) > 1:
        via = ", ".join(f"{outer.name}:{outer_line}" for outer, outer_line, _ in chain[-2::-1])
        text += f" (via {via})"
    return text


def rewrite_traceback(
    exc: BaseException,
    namespace: dict[str, Any],
    code_filename: str,
    origins: Sequence[Chain | None],
) -> None:
    """Replaces a rendering's generated-code frames by frames in the template files.

    Args:
        exc: The exception, caught in the frame that called the template function (the head
            of its traceback).
        namespace: The globals of that rendering; frames using them are the template's.
        code_filename: The file name the template's code was compiled with.
        origins: For each line of the generated code, the template frames it comes from.
    """
    head = exc.__traceback__
    if head is None:
        return
    maker = _FrameMaker(exc, namespace)
    entries: list[tuple[types.FrameType, int, int]] = []
    previous: Chain | None = None
    innermost: Chain | None = None
    tb = head.tb_next
    while tb is not None:
        frame = tb.tb_frame
        chain: Chain | None = None
        if (
            frame.f_globals is namespace
            and frame.f_code.co_filename == code_filename
            and 0 < tb.tb_lineno <= len(origins)
        ):
            chain = origins[tb.tb_lineno - 1]
        if chain is None:
            entries.append((frame, tb.tb_lasti, tb.tb_lineno))
            previous = None
        else:
            if previous is not None:
                start = _common_prefix(previous, chain)
            elif innermost is not None:
                start = len(chain) - 1  # back in the template after a call out of it
            else:
                start = 0
            f_locals = {k: v for k, v in frame.f_locals.items() if not k.startswith("_tt_")}
            for element in chain[start:]:
                made = maker.make(element, f_locals)
                if made is not None:
                    entries.append(made)
            previous = innermost = chain
        tb = tb.tb_next
    if innermost is None:
        return
    rebuilt: types.TracebackType | None = None
    for frame, lasti, lineno in reversed(entries):
        rebuilt = types.TracebackType(rebuilt, frame, lasti, lineno)
    head.tb_next = rebuilt
    if hasattr(exc, "add_note"):
        exc.add_note(_describe(innermost))
