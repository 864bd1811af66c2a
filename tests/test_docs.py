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
every public module must be listed there.
"""

from __future__ import annotations

import doctest
import json
import re
import textwrap
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
