"""The template language's parser: source text in, a tree of nodes out.

The rules follow Tornado's template language exactly (which braces open a tag, how the
``!`` escapes work, which directives take a body, where ``else``/``except`` may appear), so a
template file written for Tornado parses to the same structure here. Line numbers are kept on
every node that can fail at run time, pointing at the first line of the Python text inside the
tag, so errors can name the template line that caused them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "ApplyBlock",
    "ControlBlock",
    "Expression",
    "ExtendsBlock",
    "IncludeBlock",
    "IntermediateBlock",
    "NamedBlock",
    "Node",
    "ParseError",
    "ParsedFile",
    "Statement",
    "TemplateLike",
    "Text",
    "filter_whitespace",
    "parse",
]


class ParseError(Exception):
    """A template could not be parsed or compiled.

    Attributes:
        message: What is wrong.
        filename: The name of the template, or ``None`` when unknown.
        lineno: The line of the template (1-based; 0 when unknown).
    """

    def __init__(self, message: str, filename: str | None = None, lineno: int = 0) -> None:
        """Creates the error.

        Args:
            message: What is wrong.
            filename: The name of the template.
            lineno: The line of the template the error is on.
        """
        super().__init__(message, filename, lineno)
        self.message = message
        self.filename = filename
        self.lineno = lineno

    def __str__(self) -> str:
        return f"{self.message} at {self.filename}:{self.lineno}"


_TABS_AND_SPACES = re.compile(r"[\t ]+")
_SPACE_AROUND_NEWLINES = re.compile(r"\s*\n\s*")
_ANY_WHITESPACE = re.compile(r"\s+")
WHITESPACE_MODES = ("all", "single", "oneline")


def filter_whitespace(mode: str, text: str) -> str:
    """Transforms the whitespace of template text according to a whitespace mode.

    Args:
        mode: ``"all"`` keeps every whitespace character; ``"single"`` turns each run of
            spaces and tabs into one space and each run of whitespace holding a newline into
            one newline; ``"oneline"`` turns every run of whitespace into one space.
        text: The text to transform.

    Returns:
        The transformed text.

    Raises:
        ValueError: ``mode`` is not one of the modes above.
    """
    if mode == "all":
        return text
    if mode == "single":
        return _SPACE_AROUND_NEWLINES.sub("\n", _TABS_AND_SPACES.sub(" ", text))
    if mode == "oneline":
        return _ANY_WHITESPACE.sub(" ", text)
    raise ValueError(f"invalid whitespace mode {mode}")


class TemplateLike(Protocol):
    """What the parser and code generator need to know about a template."""

    name: str
    autoescape: str | None


# --- nodes ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Text:
    """Literal text, already filtered for whitespace."""

    value: str


@dataclass(eq=False)
class Expression:
    """``{{ expr }}`` (escaped unless ``raw``), ``{% raw expr %}`` and ``{% module expr %}``."""

    expr: str
    line: int
    raw: bool = False


@dataclass(eq=False)
class Statement:
    """A line of Python run as it is: ``set``, ``import``, ``from``, ``break``, ``continue``."""

    code: str
    line: int


@dataclass(eq=False)
class ControlBlock:
    """``if``, ``for``, ``while`` and ``try``: a Python compound statement with a body."""

    code: str
    line: int
    body: list[Node]


@dataclass(eq=False)
class IntermediateBlock:
    """``else``, ``elif``, ``except`` and ``finally`` inside a control block's body."""

    code: str
    line: int


@dataclass(eq=False)
class ApplyBlock:
    """``{% apply fn %}...{% end %}``: the body's output, passed through ``fn``."""

    function: str
    line: int
    body: list[Node]


@dataclass(eq=False)
class NamedBlock:
    """``{% block name %}...{% end %}``: a part a child template may replace."""

    name: str
    line: int
    body: list[Node]
    owner: TemplateLike


@dataclass(eq=False)
class ExtendsBlock:
    """``{% extends "parent" %}``."""

    name: str
    line: int


@dataclass(eq=False)
class IncludeBlock:
    """``{% include "name" %}``: another template's body, inlined."""

    name: str
    line: int
    owner: TemplateLike


Node = (
    Text
    | Expression
    | Statement
    | ControlBlock
    | IntermediateBlock
    | ApplyBlock
    | NamedBlock
    | ExtendsBlock
    | IncludeBlock
)


@dataclass(eq=False)
class ParsedFile:
    """A parsed template: its top-level nodes and what its directives set for the whole file.

    Attributes:
        body: The top-level nodes.
        sets_autoescape: Whether the file has an ``{% autoescape %}`` directive.
        autoescape: The value of the last one (``None`` for ``{% autoescape None %}``).
    """

    body: list[Node] = field(default_factory=list)
    sets_autoescape: bool = False
    autoescape: str | None = None


# --- the parser -------------------------------------------------------------------------------

# Directives that continue the enclosing block, and the blocks each may continue.
_INTERMEDIATE = {
    "else": ("if", "for", "while", "try"),
    "elif": ("if",),
    "except": ("try",),
    "finally": ("try",),
}
_WITH_BODY = ("apply", "block", "try", "if", "for", "while")
_LOOPS = ("for", "while")
_LOOP_EXITS = ("break", "continue")


class _Reader:
    """The template text with a position and the line number at that position."""

    def __init__(self, name: str, text: str, whitespace: str) -> None:
        self.name = name
        self.text = text
        self.whitespace = whitespace
        self.pos = 0
        self.line = 1

    def advance(self, new_pos: int) -> str:
        """Moves to ``new_pos``, returning the text passed over."""
        passed = self.text[self.pos : new_pos]
        self.line += passed.count("\n")
        self.pos = new_pos
        return passed

    def error(self, message: str, line: int | None = None) -> ParseError:
        return ParseError(message, self.name, self.line if line is None else line)

    def text_node(self, value: str) -> Text:
        # Tornado's heuristic: leave whitespace alone in text holding preformatted content.
        if "<pre>" not in value:
            value = filter_whitespace(self.whitespace, value)
        return Text(value)

    def next_tag(self) -> int:
        """Offset of the next ``{{``, ``{%`` or ``{#`` from the position, or -1 for none.

        In a run of more than two ``{``, the last two start the tag (so ``{{{x}}}`` outputs
        ``{`` + ``x`` + ``}``, handy when writing LaTeX).
        """
        text = self.text
        size = len(text)
        curly = self.pos
        while True:
            curly = text.find("{", curly)
            if curly == -1 or curly + 1 == size:
                return -1
            following = text[curly + 1]
            if following not in "{%#":
                curly += 1
                continue
            if following == "{" and curly + 2 < size and text[curly + 2] == "{":
                curly += 1
                continue
            return curly


def _stripped(reader: _Reader, start: int, end: int) -> tuple[str, int]:
    """The tag contents between ``start`` and ``end``, stripped, and the line they start on."""
    raw = reader.text[start:end]
    contents = raw.strip()
    leading = raw[: len(raw) - len(raw.lstrip())]
    return contents, reader.line + leading.count("\n")


def _suffix_line(contents: str, suffix: str, line: int) -> int:
    """The line ``suffix`` (the stripped text after a directive's name) starts on."""
    if not suffix:
        return line
    return line + contents[: contents.index(suffix)].count("\n")


def parse(name: str, text: str, whitespace: str, owner: TemplateLike) -> ParsedFile:
    """Parses template source.

    Args:
        name: The template's name, for error messages.
        text: The template source.
        whitespace: The initial whitespace mode (see `filter_whitespace`).
        owner: The template being parsed; ``block`` and ``include`` nodes refer to it.

    Returns:
        The parsed file.

    Raises:
        ParseError: The template is malformed.
    """
    reader = _Reader(name, text, whitespace)
    parsed = ParsedFile()
    parsed.body = _parse_body(reader, owner, parsed, None, None, 0)
    return parsed


def _parse_body(
    reader: _Reader,
    owner: TemplateLike,
    parsed: ParsedFile,
    in_block: str | None,
    in_loop: str | None,
    block_line: int,
) -> list[Node]:
    body: list[Node] = []
    text = reader.text
    while True:
        curly = reader.next_tag()
        if curly == -1:
            if in_block:
                raise reader.error(f"Missing {{% end %}} block for {in_block}", block_line)
            body.append(reader.text_node(reader.advance(len(text))))
            return body
        if curly > reader.pos:
            body.append(reader.text_node(reader.advance(curly)))
        start_brace = text[curly : curly + 2]
        reader.advance(curly + 2)
        tag_line = reader.line

        # "{{!", "{%!" and "{#!" output the two braces as they are.
        if reader.pos < len(text) and text[reader.pos] == "!":
            reader.advance(reader.pos + 1)
            body.append(reader.text_node(start_brace))
            continue

        if start_brace == "{#":
            end = text.find("#}", reader.pos)
            if end == -1:
                raise reader.error("Missing end comment #}")
            reader.advance(end + 2)
            continue

        closing = "}}" if start_brace == "{{" else "%}"
        end = text.find(closing, reader.pos)
        if end == -1:
            what = "expression }}" if start_brace == "{{" else "block %}"
            raise reader.error(f"Missing end {what}")
        contents, line = _stripped(reader, reader.pos, end)
        reader.advance(end + 2)

        if start_brace == "{{":
            if not contents:
                raise reader.error("Empty expression", tag_line)
            body.append(Expression(contents, line))
            continue

        if not contents:
            raise reader.error("Empty block tag ({% %})", tag_line)
        operator, _, suffix = contents.partition(" ")
        suffix = suffix.strip()
        suffix_line = _suffix_line(contents, suffix, line)

        allowed_parents = _INTERMEDIATE.get(operator)
        if allowed_parents is not None:
            if not in_block:
                parents = "/".join(allowed_parents)
                raise reader.error(f"{operator} outside {parents} block", line)
            if in_block not in allowed_parents:
                raise reader.error(f"{operator} block cannot be attached to {in_block} block", line)
            body.append(IntermediateBlock(contents, line))
        elif operator == "end":
            if not in_block:
                raise reader.error("Extra {% end %} block", line)
            return body
        elif operator == "comment":
            pass
        elif operator in ("extends", "include"):
            path = suffix.strip('"').strip("'")
            if not path:
                raise reader.error(f"{operator} missing file path", line)
            if operator == "extends":
                body.append(ExtendsBlock(path, line))
            else:
                body.append(IncludeBlock(path, line, owner))
        elif operator in ("import", "from"):
            if not suffix:
                raise reader.error("import missing statement", line)
            body.append(Statement(contents, line))
        elif operator == "set":
            if not suffix:
                raise reader.error("set missing statement", line)
            body.append(Statement(suffix, suffix_line))
        elif operator == "autoescape":
            parsed.sets_autoescape = True
            parsed.autoescape = None if suffix == "None" else suffix
        elif operator == "whitespace":
            if suffix not in WHITESPACE_MODES:
                raise reader.error(f"invalid whitespace mode {suffix}", line)
            reader.whitespace = suffix
        elif operator == "raw":
            body.append(Expression(suffix, suffix_line, raw=True))
        elif operator == "module":
            body.append(Expression("_tt_modules." + suffix, suffix_line, raw=True))
        elif operator in _WITH_BODY:
            if operator in _LOOPS:
                loop: str | None = operator
            elif operator == "apply":
                loop = None  # the body becomes a nested function: no break/continue across it
            else:
                loop = in_loop
            block_body = _parse_body(reader, owner, parsed, operator, loop, line)
            if operator == "apply":
                if not suffix:
                    raise reader.error("apply missing method name", line)
                body.append(ApplyBlock(suffix, suffix_line, block_body))
            elif operator == "block":
                if not suffix:
                    raise reader.error("block missing name", line)
                body.append(NamedBlock(suffix, line, block_body, owner))
            else:
                body.append(ControlBlock(contents, line, block_body))
        elif operator in _LOOP_EXITS:
            if not in_loop:
                raise reader.error(f"{operator} outside for/while block", line)
            body.append(Statement(contents, line))
        else:
            raise reader.error(f"unknown operator: {operator!r}", line)
