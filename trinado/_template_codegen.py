"""The template compiler: parsed templates in, the Python source of one function out.

A template (with everything it extends and includes inlined, as Tornado does) becomes one
function ``_tt_execute`` whose locals are the template's ``{% set %}`` variables and loop
variables, and whose globals are the render's namespace. It is faster than Tornado's code:

- Output is ``str`` pieces appended to ``_tt_buffer``, encoded once at the end.
- ``{{ expr }}`` is one call, ``_tt_e0(expr)``, to an escaper chosen once per render (a
  specialised ``xhtml_escape`` when the namespace has the standard one).
- Text and expressions between two statements go into the buffer in one step,
  ``_tt_buffer += (text, _tt_e0(a), text, ...)``, except inside ``{% try %}``, where output
  written before an exception must stay (Tornado appends piece by piece).

Every line of the generated code records which template lines it comes from (its `Chain`),
so errors can be reported in template terms: `ParseError` for invalid Python at compile time,
`rewrite_traceback` at run time.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ._template_parse import (
    ApplyBlock,
    ControlBlock,
    Expression,
    ExtendsBlock,
    IncludeBlock,
    IntermediateBlock,
    NamedBlock,
    Node,
    ParsedFile,
    ParseError,
    Statement,
    Text,
)
from ._template_runtime import HELPERS, Chain, Frame

__all__ = [
    "CompilableTemplate",
    "GeneratedCode",
    "TemplateLoader",
    "ancestors",
    "generate_code",
    "local_names",
]


class CompilableTemplate(Protocol):
    """What the compiler reads from a template."""

    name: str
    autoescape: str | None
    file: ParsedFile

    def _traceback_source(self) -> tuple[str, str]: ...


class TemplateLoader(Protocol):
    """What the compiler needs from a loader: `BaseLoader.load`."""

    def load(self, name: str, parent_path: str | None = None) -> Any: ...


@dataclass
class GeneratedCode:
    """The compiler's output.

    Attributes:
        source: Python source defining ``_tt_execute``.
        origins: For each line of ``source``, the template frames it comes from (or ``None``
            for the function's own housekeeping).
        escapers: The autoescape names whose escapers are ``_tt_execute``'s first parameters
            (``_tt_e0``, ``_tt_e1``, ...), in order.
    """

    source: str
    origins: list[Chain | None]
    escapers: tuple[str, ...]


def _load(
    loader: TemplateLoader | None, node: IncludeBlock | ExtendsBlock, owner_name: str
) -> CompilableTemplate:
    """The template an ``extends`` or ``include`` directive names."""
    directive = "extends" if isinstance(node, ExtendsBlock) else "include"
    if loader is None:
        raise ParseError(
            f"{{% {directive} %}} block found, but no template loader", owner_name, node.line
        )
    try:
        template: CompilableTemplate = loader.load(node.name, owner_name)
    except ParseError as error:
        if error.lineno == 0 and error.filename in (None, owner_name):
            error.filename, error.lineno = owner_name, node.line
        raise
    return template


def ancestors(template: CompilableTemplate, loader: TemplateLoader | None) -> list[Any]:
    """The template followed by what it extends, nearest parent first (as Tornado orders)."""
    found: list[Any] = [template]
    for node in template.file.body:
        if isinstance(node, ExtendsBlock):
            parent = _load(loader, node, template.name)
            found.extend(ancestors(parent, loader))
    return found


def _collect_blocks(
    nodes: list[Node], loader: TemplateLoader | None, found: dict[str, NamedBlock]
) -> None:
    """Finds the named blocks, a later definition replacing an earlier one of the same name."""
    for node in nodes:
        if isinstance(node, NamedBlock):
            found[node.name] = node
            _collect_blocks(node.body, loader, found)
        elif isinstance(node, (ControlBlock, ApplyBlock)):
            _collect_blocks(node.body, loader, found)
        elif isinstance(node, IncludeBlock):
            included = _load(loader, node, node.owner.name)
            _collect_blocks(included.file.body, loader, found)


# --- validating the Python inside tags --------------------------------------------------------


def _check(
    source: str, skip_lines: int, owner: CompilableTemplate, line: int, mode: str = "exec"
) -> None:
    """Raises `ParseError` at the template line of the first syntax error in ``source``."""
    try:
        ast.parse(source, mode=mode)
    except SyntaxError as error:
        offset = max((error.lineno or 1) - 1 - skip_lines, 0)
        raise ParseError(
            f"invalid Python in template: {error.msg}", owner.name, line + offset
        ) from error


def _parses_as_expression(expr: str) -> bool:
    try:
        ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    return True


def _check_block_head(node: ControlBlock | IntermediateBlock, owner: CompilableTemplate) -> None:
    code = node.code
    operator = code.split(None, 1)[0]
    if isinstance(node, ControlBlock):
        tail = "\n pass\nfinally:\n pass" if operator == "try" else "\n pass"
        _check(code + ":" + tail, 0, owner, node.line)
    elif operator in ("except", "finally"):
        _check("try:\n pass\n" + code + ":\n pass", 2, owner, node.line)
    else:
        _check("if 0:\n pass\n" + code + ":\n pass", 2, owner, node.line)


def _wrap(expr: str) -> str:
    """``expr`` in parentheses, with a newline before the closing one after a comment."""
    return f"({expr}\n)" if "#" in expr else f"({expr})"


# --- the writer -------------------------------------------------------------------------------


@dataclass
class _Item:
    """A piece of output waiting to be written: literal text, or code producing text."""

    text: str | None = None
    code: str = ""
    line: int = 0
    span: int = 1
    chain: Chain = ()


class _Writer:
    def __init__(
        self,
        root: CompilableTemplate,
        loader: TemplateLoader | None,
        blocks: dict[str, NamedBlock],
        inline_escapers: frozenset[str],
    ) -> None:
        self.loader = loader
        self.blocks = blocks
        self.inline_escapers = inline_escapers
        self.lines: list[str] = []
        self.origins: list[Chain | None] = []
        self.indent = 1
        self.stack: Chain = ()
        self.current = root
        self.label = "<template>"
        self.pending: list[_Item] = []
        self.try_depth = 0
        self.apply_count = 0
        self.escapers: dict[str, int] = {}

    # -- low level

    def chain(self, line: int) -> Chain:
        frame: Frame = (self.current, line, self.label)
        return (*self.stack, frame)

    def write(
        self,
        code: str,
        line: int | None,
        span: int = 1,
        indent: int | None = None,
        chain: Chain | None = None,
    ) -> None:
        """Writes ``code`` (maybe several physical lines) coming from template ``line``.

        The first ``span`` physical lines map to consecutive template lines (the user's
        code, copied as it is); any further ones to the last of those. ``chain`` gives the
        template frames of ``line`` when they are not the writer's current ones.
        """
        physical = code.split("\n")
        level = self.indent if indent is None else indent
        if line is None:
            for i, text in enumerate(physical):
                self.lines.append("    " * level + text if i == 0 else text)
                self.origins.append(None)
            return
        base = self.chain(line) if chain is None else chain
        *outer, (owner, _, label) = base
        via = ", ".join(f"{t.name}:{n}" for t, n, _ in reversed(outer))
        physical[-1] += f"  # {owner.name}:{line}" + (f" (via {via})" if via else "")
        for i, text in enumerate(physical):
            self.lines.append("    " * level + text if i == 0 else text)
            self.origins.append((*outer, (owner, line + min(i, span - 1), label)))

    # -- output items

    def add(self, item: _Item) -> None:
        self.pending.append(item)
        if self.try_depth:
            self.flush()

    def flush(self) -> None:
        items = self._merged()
        self.pending = []
        if not items:
            return
        if len(items) == 1:
            item = items[0]
            if item.text is not None:
                self.write(f"_tt_append({item.text!r})", None)
            else:
                self.write(f"_tt_append({item.code})", item.line, item.span, chain=item.chain)
            return
        self.write("_tt_buffer += (", None)
        for item in items:
            if item.text is not None:
                self.write(f"{item.text!r},", None, indent=self.indent + 1)
            else:
                self.write(f"{item.code},", item.line, item.span, self.indent + 1, item.chain)
        self.write(")", None)

    def _merged(self) -> list[_Item]:
        merged: list[_Item] = []
        for item in self.pending:
            if item.text is not None and merged and merged[-1].text is not None:
                merged[-1] = _Item(text=merged[-1].text + item.text)
            else:
                merged.append(item)
        return merged

    # -- nodes

    def generate(self, nodes: list[Node]) -> None:
        for node in nodes:
            self.node(node)

    def node(self, node: Node) -> None:
        if isinstance(node, Text):
            if node.value:
                self.add(_Item(text=node.value))
        elif isinstance(node, Expression):
            self.expression(node)
        elif isinstance(node, Statement):
            _check(node.code, 0, self.current, node.line)
            self.flush()
            self.write(node.code, node.line, node.code.count("\n") + 1)
        elif isinstance(node, ControlBlock):
            _check_block_head(node, self.current)
            self.flush()
            self.write(node.code + ":", node.line, node.code.count("\n") + 1)
            is_try = node.code.split(None, 1)[0] == "try"
            self.indent += 1
            self.try_depth += is_try
            self.generate(node.body)
            self.flush()
            self.write("pass", None)
            self.try_depth -= is_try
            self.indent -= 1
        elif isinstance(node, IntermediateBlock):
            _check_block_head(node, self.current)
            self.flush()
            self.write("pass", None)
            self.write(node.code + ":", node.line, node.code.count("\n") + 1, self.indent - 1)
        elif isinstance(node, ApplyBlock):
            self.apply(node)
        elif isinstance(node, NamedBlock):
            block = self.blocks[node.name]
            with self.entering(block.owner, node.line, f"<block {node.name}>"):
                self.generate(block.body)
        elif isinstance(node, IncludeBlock):
            included = _load(self.loader, node, node.owner.name)
            with self.entering(included, node.line, "<include>"):
                self.generate(included.file.body)
        else:
            raise ParseError(
                "{% extends %} must be at the top level of the template, outside "
                "any block, and not in an included template",
                self.current.name,
                node.line,
            )

    def entering(self, template: Any, line: int, label: str) -> _Entering:
        return _Entering(self, template, line, label)

    def expression(self, node: Expression) -> None:
        expr = node.expr
        span = expr.count("\n") + 1
        autoescape = None if node.raw else self.current.autoescape
        if not _parses_as_expression(expr):
            # Not an expression: Tornado's "_tt_tmp = EXPR" may still be valid Python (a
            # chained assignment, a bare yield); write it that way, or report the error.
            _check("_tt_tmp = " + expr, 0, self.current, node.line)
            self.flush()
            self.write("_tt_tmp = " + expr, node.line, span)
            self.finish_inline("_tt_tmp", node.line, autoescape)
            return
        if not autoescape:
            self.add(
                _Item(
                    code=f"_tt_raw({_wrap(expr)})",
                    line=node.line,
                    span=span,
                    chain=self.chain(node.line),
                )
            )
        elif autoescape in self.inline_escapers or not _is_name(autoescape):
            self.flush()
            self.write("_tt_tmp = " + _wrap(expr), node.line, span)
            self.finish_inline("_tt_tmp", node.line, autoescape)
        else:
            index = self.escapers.setdefault(autoescape, len(self.escapers))
            self.add(
                _Item(
                    code=f"_tt_e{index}({_wrap(expr)})",
                    line=node.line,
                    span=span,
                    chain=self.chain(node.line),
                )
            )

    def finish_inline(self, variable: str, line: int, autoescape: str | None) -> None:
        """Appends ``variable``, escaped by evaluating ``autoescape`` where it stands."""
        if autoescape:
            _check(autoescape, 0, self.current, line, mode="eval")
            code = f"_tt_append(_tt_escape_with({_wrap(autoescape)}, {variable}))"
        else:
            code = f"_tt_append(_tt_raw({variable}))"
        self.write(code, line)

    def apply(self, node: ApplyBlock) -> None:
        _check(node.function, 0, self.current, node.line, mode="eval")
        self.flush()
        name = f"_tt_apply{self.apply_count}"
        self.apply_count += 1
        self.write(f"def {name}():", node.line)
        self.indent += 1
        self.write("_tt_buffer = []", None)
        self.write("_tt_append = _tt_buffer.append", None)
        self.generate(node.body)
        self.flush()
        self.write("return _tt_buffer", None)
        self.indent -= 1
        self.add(
            _Item(
                code=f"_tt_applied({_wrap(node.function)}, {name}())",
                line=node.line,
                span=node.function.count("\n") + 1,
                chain=self.chain(node.line),
            )
        )


class _Entering:
    """Generates an included template or a block as if ``template`` were being compiled."""

    def __init__(self, writer: _Writer, template: Any, line: int, label: str) -> None:
        self.writer = writer
        self.template = template
        self.line = line
        self.label = label
        self.saved: tuple[Chain, Any, str] = ((), None, "")

    def __enter__(self) -> None:
        w = self.writer
        self.saved = (w.stack, w.current, w.label)
        w.stack = w.chain(self.line)
        w.current = self.template
        w.label = self.label

    def __exit__(self, *exc_info: object) -> None:
        w = self.writer
        w.stack, w.current, w.label = self.saved


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def generate_code(
    template: CompilableTemplate,
    loader: TemplateLoader | None,
    inline_escapers: frozenset[str] = frozenset(),
) -> GeneratedCode:
    """Compiles a template, with its parents and includes, to Python source.

    Args:
        template: The template.
        loader: Its loader, to find what it extends and includes.
        inline_escapers: Autoescape names to look up where each ``{{ }}`` stands instead of
            once per render (names the template itself assigns).

    Returns:
        The generated code.

    Raises:
        ParseError: ``extends`` or ``include`` without a loader, or invalid Python in a tag.
    """
    family = ancestors(template, loader)
    family.reverse()
    blocks: dict[str, NamedBlock] = {}
    for member in family:
        _collect_blocks(member.file.body, loader, blocks)
    root = family[0]
    writer = _Writer(root, loader, blocks, inline_escapers)
    writer.write("_tt_buffer = []", None)
    writer.write("_tt_append = _tt_buffer.append", None)
    writer.generate(root.file.body)
    writer.flush()
    writer.write("return _tt_join(_tt_buffer)", None)
    escapers = tuple(sorted(writer.escapers, key=writer.escapers.__getitem__))
    # The helpers come last: Template binds them as the parameters' defaults.
    parameters = [f"_tt_e{i}" for i in range(len(escapers))] + list(HELPERS)
    header = f"def _tt_execute({', '.join(parameters)}):  # {root.name}"
    return GeneratedCode(
        source="\n".join([header, *writer.lines]) + "\n",
        origins=[None, *writer.origins],
        escapers=escapers,
    )


def local_names(code: Any) -> Iterator[str]:
    """Every local or cell variable name of a code object and the code objects inside it."""
    yield from code.co_varnames
    yield from code.co_cellvars
    for const in code.co_consts:
        if hasattr(const, "co_varnames"):
            yield from local_names(const)
