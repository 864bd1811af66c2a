"""The documentation's code runs: every Python block in docs/ is an excerpt of a file under
examples/ that a test exercises, or a doctest that runs here.

Rules, for each Markdown page under docs/ (any depth, except folders starting with ``_``):

- A ``python`` (or ``py``, ``pycon``) block that starts with ``>>>`` is a doctest: the
  page's doctests run in order, sharing one namespace, from the repository's root.
- Any other ``python`` block is an excerpt of a ``.py`` file under examples/ (any depth):
  its lines appear in that file in the same order, dedented alike. A line ``...`` (or
  ``...  # a comment``) stands for lines left out. The file must be exercised by a test.
- An HTML template block (``html``, ``html+jinja``) of more than five lines is an excerpt of
  an ``.html`` file under examples/.
- ``json`` blocks parse. Other languages (sh, text, nginx, ini...) are free.

The reference is generated from docstrings (docs/reference/index.md lists the modules);
every public module must be listed there. The literal blocks of the docstrings follow the
same rules (see test_docstring_blocks_follow_the_rules), in every docstring of trinado/*.py:

- A bare ``::`` block is Python, as Sphinx highlights it. A block that is not Python is
  written ``.. code-block:: LANG`` (``text`` for wire formats, traces and diagrams).
- A Python block is an excerpt of a file under examples/ that a test exercises, or a
  ``>>>`` doctest; every doctest in a docstring runs here, in a copy of its module's
  namespace, from the repository's root.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from trinado import locale

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

PYTHON = {"python", "py", "python3", "pycon"}
HTML = {"html", "html+jinja", "jinja"}
# HTML blocks with more lines than this must be excerpts of a template file.
MAX_FREE_HTML_LINES = 5

_FENCE_RE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^(?P=indent)```[ ]*$",
    re.MULTILINE | re.DOTALL,
)
_ELISION_RE = re.compile(r"(# )?\.\.\.(\s+#.*)?")


def pages() -> list[Path]:
    """The Markdown pages of the site (not the _build, _intersphinx... folders)."""
    found = []
    for page in DOCS.rglob("*.md"):
        parts = page.relative_to(DOCS).parts
        if not any(part.startswith("_") for part in parts) and page.name != "README.md":
            found.append(page)
    return sorted(found)


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """The fenced code blocks of a page: (language, dedented code, line number)."""
    text = page.read_text()
    found = []
    for match in _FENCE_RE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        code = textwrap.dedent(match.group("code"))
        found.append((match.group("lang").lower(), code, line))
    return found


def _segments(block: str) -> list[list[str]]:
    """A code block cut at its elision lines (``...``), each piece dedented."""
    segments: list[list[str]] = [[]]
    for line in block.splitlines():
        if _ELISION_RE.fullmatch(line.strip()):
            segments.append([])
        else:
            segments[-1].append(line)
    pieces = [textwrap.dedent("\n".join(s)).strip("\n") for s in segments]
    return [piece.splitlines() for piece in pieces if piece]


def _find(segment: list[str], lines: list[str], start: int) -> int | None:
    """Index after the first window of ``lines`` (from ``start``) equal to ``segment``."""
    size = len(segment)
    for i in range(start, len(lines) - size + 1):
        if lines[i].strip() != segment[0].strip():
            continue
        window = textwrap.dedent("\n".join(lines[i : i + size])).splitlines()
        if window == segment:
            return i + size
    return None


def is_excerpt(block: str, source: str) -> bool:
    """True when ``block``'s pieces appear in ``source`` in order, each dedented alike."""
    lines = source.splitlines()
    position = 0
    segments = _segments(block)
    if not segments:
        return False
    for segment in segments:
        found = _find(segment, lines, position)
        if found is None:
            return False
        position = found
    return True


def example_files(suffix: str) -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(EXAMPLES.rglob(f"*{suffix}"))}


def _is_doctest(code: str) -> bool:
    return code.lstrip().startswith(">>>")


def _sources_of(block: str, files: dict[Path, str]) -> list[Path]:
    return [path for path, source in files.items() if is_excerpt(block, source)]


def _test_sources() -> str:
    tests = [*sorted((ROOT / "tests").glob("*.py")), *sorted(EXAMPLES.rglob("test_*.py"))]
    return "\n".join(path.read_text() for path in tests)


def is_exercised(example: Path, tests: str) -> bool:
    """Whether some test loads, imports or runs ``example`` (a file under examples/)."""
    relative = example.relative_to(EXAMPLES)
    if example.name.startswith("test_"):
        return True  # tests/test_examples.py runs ``pytest examples``
    stem = example.stem
    dotted = ".".join(("examples", *relative.parent.parts))
    patterns = [
        f'"{example.name}"',
        f'load_example("{stem}")',
        f"{dotted}.{stem}" if stem not in {"__init__", "__main__"} else dotted,
        f"{dotted} import",
    ]
    if relative.parent != Path():
        # A test beside it imports it by name (pytest puts the test's folder on sys.path).
        patterns += [f"\nimport {stem}\n", f"\nfrom {stem} import"]
    return any(pattern in tests for pattern in patterns)


# --------------------------------------------------------------------------- the rules


def test_the_site_has_its_sections() -> None:
    names = {page.relative_to(DOCS).as_posix() for page in pages()}
    assert {
        "index.md",
        "tutorial/index.md",
        "tutorial/live.md",
        "howto/long-polling.md",
        "howto/server-sent-events.md",
        "howto/streaming-uploads.md",
        "howto/static-files.md",
        "howto/tls.md",
        "howto/testing.md",
        "discussion/architecture.md",
        "discussion/timeouts.md",
        "discussion/backpressure.md",
        "discussion/security-model.md",
        "migrating.md",
        "reference/index.md",
    } <= names


def test_python_blocks_are_excerpts_of_examples_or_doctests() -> None:
    sources = example_files(".py")
    orphans = []
    count = 0
    for page in pages():
        for language, code, line in blocks(page):
            if language not in PYTHON or _is_doctest(code):
                continue
            count += 1
            if not _sources_of(code, sources):
                where = page.relative_to(DOCS)
                orphans.append(f"docs/{where}:{line}:\n{textwrap.indent(code, '    ')}")
    assert count > 50
    assert not orphans, "Not taken from examples/:\n\n" + "\n\n".join(orphans)


def test_template_blocks_are_excerpts_of_template_files() -> None:
    templates = example_files(".html")
    orphans = []
    for page in pages():
        for language, code, line in blocks(page):
            long = len([x for x in code.splitlines() if x.strip()]) > MAX_FREE_HTML_LINES
            if language in HTML and long and not _sources_of(code, templates):
                orphans.append(f"docs/{page.relative_to(DOCS)}:{line}:\n{code}")
    assert not orphans, "Not taken from a template under examples/:\n\n" + "\n\n".join(orphans)


def test_the_examples_the_docs_quote_are_exercised_by_tests() -> None:
    sources = example_files(".py")
    tests = _test_sources()
    quoted: set[Path] = set()
    for page in pages():
        for language, code, _ in blocks(page):
            if language in PYTHON and not _is_doctest(code):
                quoted.update(_sources_of(code, sources))
    assert len(quoted) > 10
    unexercised = sorted(str(p.relative_to(ROOT)) for p in quoted if not is_exercised(p, tests))
    assert not unexercised, f"Quoted in docs/ but run by no test: {unexercised}"


def _doctest_pages() -> list[Path]:
    return [
        page
        for page in pages()
        if any(lang in PYTHON and _is_doctest(code) for lang, code, _ in blocks(page))
    ]


@pytest.fixture
def isolated_locales(monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctests load translations: restore trinado.locale's process-wide state after."""
    for name in ("_default_locale", "_translations", "_supported_locales", "_use_gettext"):
        monkeypatch.setattr(locale, name, getattr(locale, name))
    monkeypatch.setattr(locale.Locale, "_cache", {})


@pytest.mark.usefixtures("isolated_locales")
@pytest.mark.parametrize("page", _doctest_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_doctests_pass(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    globs: dict[str, object] = {"__name__": "__docs__"}
    name = str(page.relative_to(ROOT))
    for language, code, line in blocks(page):
        if language in PYTHON and _is_doctest(code):
            test = parser.get_doctest(code, globs, name, str(page), line)
            runner.run(test, clear_globs=False)
            globs.update(test.globs)  # (a DocTest runs on a copy of the namespace)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0, f"{results.failed} doctest example(s) failed in {name}"


def test_json_blocks_are_valid() -> None:
    for page in pages():
        for language, code, _ in blocks(page):
            if language == "json":
                json.loads(code)


# --------------------------------------------------------------------------- the reference

# Public modules being written: their reference pages are added (one line each in
# docs/reference/index.md) once they are. Empty this set then.
PENDING_REFERENCE: set[str] = set()


def _public_modules() -> set[str]:
    names = {f"trinado.{p.stem}" for p in (ROOT / "trinado").glob("*.py")}
    return {"trinado"} | {name for name in names if not name.split(".")[1].startswith("_")}


def test_every_public_module_has_a_reference_page() -> None:
    index = (DOCS / "reference" / "index.md").read_text()
    listed = set(re.findall(r"^   (trinado(?:\.\w+)?)$", index, re.MULTILINE))
    missing = _public_modules() - listed - PENDING_REFERENCE
    assert not missing, f"Add to docs/reference/index.md: {sorted(missing)}"
    assert not (listed - _public_modules()), f"Not public modules: {listed - _public_modules()}"


# --------------------------------------------------------------------------- the docstrings

# The reference (docs/reference/) shows the docstrings of the package. Their literal blocks
# follow the rules of the Markdown pages; see test_docstring_blocks_follow_the_rules.

PACKAGE = ROOT / "trinado"
# What a bare ``::`` block is: Sphinx highlights it in ``highlight_language``, whose default
# is Python (docs/conf.py keeps it).
DEFAULT_LANGUAGE = "python"

_CODE_DIRECTIVE_RE = re.compile(
    r"(?P<indent>[ ]*)\.\.[ ]+(?:code-block|code|sourcecode)::[ ]*(?P<lang>[\w+-]*)[ ]*"
)
_LIST_MARKER_RE = re.compile(r"(?:[-*+]|[0-9]+\.|#\.)[ ]+")

# Blocks that break the rules for now, as (file, first line of the block): the file is being
# rewritten by someone else. A listed block that passes, or is gone, fails the test: remove
# its entry then.
PENDING_DOCSTRING_BLOCKS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Docstring:
    """A string statement of a module under trinado/, as Sphinx would show it."""

    path: Path
    line: int  # of the string's first line, in the file
    text: str  # cleaned as inspect.getdoc cleans

    @property
    def module(self) -> str:
        return "trinado" if self.path.stem == "__init__" else f"trinado.{self.path.stem}"

    def where(self, offset: int = 0) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line + offset}"


@dataclass(frozen=True)
class LiteralBlock:
    docstring: Docstring
    language: str
    code: str  # dedented
    offset: int  # of the line that introduces it, from the docstring's first line

    @property
    def where(self) -> str:
        return self.docstring.where(self.offset)

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.docstring.path.relative_to(ROOT)), self.code.splitlines()[0].strip())


def docstrings() -> list[Docstring]:
    """Every string literal that stands as a statement in trinado/*.py, in source order.

    That is every module, class and function docstring and every attribute docstring (a
    string after an assignment), public or not.
    """
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Constant):
                continue
            raw = node.value.value
            if not isinstance(raw, str):
                continue
            # inspect.cleandoc drops the leading blank lines: keep the line numbers right.
            skipped = len(raw) - len(raw.lstrip("\n"))
            text = inspect.cleandoc(raw)
            if text:
                found.append(Docstring(path, node.lineno + skipped, text))
    return sorted(found, key=lambda d: (str(d.path), d.line))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _paragraph_indent(lines: list[str], index: int) -> int:
    """The indentation of the text of the paragraph that ends at ``lines[index]``.

    The paragraph starts after the last blank line; a list item's text starts after its
    marker (``* ``, ``- ``, ``1. ``...).
    """
    start = index
    while start > 0 and lines[start - 1].strip():
        start -= 1
    first = lines[start]
    marker = _LIST_MARKER_RE.match(first.lstrip(" "))
    return _indent(first) + (len(marker.group()) if marker else 0)


def _block_end(lines: list[str], start: int, outer: int) -> int:
    """Where the block indented deeper than ``outer`` from ``lines[start]`` on ends."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > outer):
        end += 1
    return end


def literal_blocks(docstring: Docstring) -> list[LiteralBlock]:
    """The literal blocks of a docstring, with their language, as reStructuredText reads them.

    A paragraph ending with ``::`` (``::`` alone included) introduces a literal block in
    `DEFAULT_LANGUAGE`: the lines after it indented deeper than the paragraph's text. A
    ``.. code-block:: LANG`` (or ``code``, ``sourcecode``) directive's content is in LANG.
    The ``::`` of any other directive (``.. note::``) introduces no block. Blocks are not
    searched for blocks.
    """
    lines = docstring.text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _CODE_DIRECTIVE_RE.fullmatch(line)
        if directive:
            language = directive.group("lang").lower() or DEFAULT_LANGUAGE
            outer = len(directive.group("indent"))
            start = index + 1
            while start < len(lines) and lines[start].lstrip().startswith(":"):
                start += 1  # the directive's options
        elif line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            language = DEFAULT_LANGUAGE
            outer = _paragraph_indent(lines, index)
            start = index + 1
        else:
            index += 1
            continue
        end = _block_end(lines, start, outer)
        code = textwrap.dedent("\n".join(lines[start:end])).strip("\n")
        if code:
            found.append(LiteralBlock(docstring, language, code + "\n", index))
        index = max(end, index + 1)
    return found


def docstring_blocks() -> list[LiteralBlock]:
    return [block for docstring in docstrings() for block in literal_blocks(docstring)]


def _docstring_problem(block: LiteralBlock, sources: dict[Path, str]) -> str | None:
    """Why ``block`` breaks the Markdown pages' rules, or None."""
    language, code = block.language, block.code
    if language in PYTHON and not _is_doctest(code) and not _sources_of(code, sources):
        return "not taken from a .py file under examples/ (nor a >>> doctest)"
    long = len([x for x in code.splitlines() if x.strip()]) > MAX_FREE_HTML_LINES
    if language in HTML and long and not _sources_of(code, example_files(".html")):
        return "not taken from an .html file under examples/"
    if language == "json":
        try:
            json.loads(code)
        except ValueError as error:
            return f"not JSON: {error}"
    return None


def test_docstring_blocks_follow_the_rules() -> None:
    """The literal blocks of the docstrings follow the rules of the Markdown pages' blocks.

    Which docstrings: every string statement in trinado/*.py, found with `ast` (see
    `docstrings`), private modules and private names included. That is a superset of what
    the reference shows, which draws on private modules for re-exported classes and on
    private base classes for inherited members: checking all of them needs no copy of
    autodoc's choices, and misses nothing when a name becomes public.

    Which blocks (see `literal_blocks`): a bare ``::`` block is Python, since Sphinx
    highlights it as Python. A block that is not Python says what it is with a
    ``.. code-block:: LANG`` directive (``text`` for wire formats, traces and diagrams;
    ``html+jinja``, ``json``, ``sh``...); ``python`` may be written too.

    The rules, as for the pages: a Python block is a ``>>>`` doctest (every doctest of the
    docstrings runs in test_docstring_doctests_pass) or an excerpt of a .py file under
    examples/ that a test exercises (test_examples_quoted_by_docstrings_are_exercised);
    a long ``html`` block is an excerpt of an .html file there; a ``json`` block parses.
    """
    sources = example_files(".py")
    found = docstring_blocks()
    problems, pending = [], set()
    for block in found:
        problem = _docstring_problem(block, sources)
        if problem and block.key in PENDING_DOCSTRING_BLOCKS:
            pending.add(block.key)
        elif problem:
            code = textwrap.indent(block.code, "    ")
            problems.append(f"{block.where} ({block.language}): {problem}:\n{code}")
    assert len([b for b in found if b.language in PYTHON]) > 20
    assert not problems, "\n\n".join(problems)
    stale = set(PENDING_DOCSTRING_BLOCKS) - pending
    assert not stale, f"Fixed or gone: remove from PENDING_DOCSTRING_BLOCKS: {sorted(stale)}"


def test_docstrings_keep_the_default_language() -> None:
    # A ``.. highlight::`` directive would change what a bare ``::`` block is.
    changed = [d.where() for d in docstrings() if ".. highlight::" in d.text]
    assert not changed


def test_examples_quoted_by_docstrings_are_exercised() -> None:
    sources = example_files(".py")
    tests = _test_sources()
    quoted: set[Path] = set()
    for block in docstring_blocks():
        if block.language in PYTHON and not _is_doctest(block.code):
            quoted.update(_sources_of(block.code, sources))
    assert len(quoted) > 5
    unexercised = sorted(str(p.relative_to(ROOT)) for p in quoted if not is_exercised(p, tests))
    assert not unexercised, f"Quoted in docstrings but run by no test: {unexercised}"


def _docstrings_with_doctests() -> list[Docstring]:
    return [d for d in docstrings() if doctest.DocTestParser().get_examples(d.text)]


@pytest.mark.usefixtures("isolated_locales")
@pytest.mark.parametrize("docstring", _docstrings_with_doctests(), ids=lambda d: d.where())
def test_docstring_doctests_pass(docstring: Docstring, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each docstring's doctests run in a copy of its module's namespace, as doctest's own.

    They run from the repository's root, so that they can load files under examples/.
    """
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(docstring.module)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    name = docstring.where()
    test = doctest.DocTestParser().get_doctest(
        docstring.text, dict(vars(module)), name, str(docstring.path), docstring.line - 1
    )
    results = runner.run(test)
    assert results.attempted > 0
    assert results.failed == 0, f"{results.failed} doctest example(s) failed in {name}"


def test_docstring_doctests_are_found() -> None:
    assert len(_docstrings_with_doctests()) >= 4


def test_literal_blocks_are_found_with_their_language() -> None:
    text = textwrap.dedent(
        """\
        Summary::

            x = 1

              y = 2
        back in the text.

        * an item::

              in_the_item()
          item text again.

        .. note::

            Not a block.

        .. code-block:: text
           :caption: wire

           GET / HTTP/1.1

        ::

            >>> 1 + 1
            2
        """
    )
    found = literal_blocks(Docstring(PACKAGE / "x.py", 1, text))
    assert [(b.language, b.code, b.offset) for b in found] == [
        ("python", "x = 1\n\n  y = 2\n", 0),
        ("python", "in_the_item()\n", 7),
        ("text", "GET / HTTP/1.1\n", 16),
        ("python", ">>> 1 + 1\n2\n", 21),
    ]


# --------------------------------------------------------------------------- the checker


def test_excerpt_check_rejects_changed_code() -> None:
    source = "def f():\n    a = 1\n    b = 2\n    return a + b\n"
    assert is_excerpt("a = 1\nb = 2", source)
    assert is_excerpt("def f():\n    ...\n    return a + b", source)
    assert is_excerpt("def f():\n    ...  # the middle\n    return a + b", source)
    assert not is_excerpt("a = 1\nb = 3", source)
    assert not is_excerpt("b = 2\n...\na = 1", source)
    assert not is_excerpt("...", source)


def test_blocks_are_found_with_their_language(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text\n\n```python\nx = 1\n```\n\n- item:\n\n  ```pycon\n  >>> 1\n  1\n  ```\n")
    assert blocks(page) == [("python", "x = 1\n", 3), ("pycon", ">>> 1\n1\n", 9)]
