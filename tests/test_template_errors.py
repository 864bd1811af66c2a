"""Template errors name the template and line: ParseError when compiling, tracebacks at run time."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pytest

from trinado.template import DictLoader, Loader, ParseError, Template


def formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def raised_by(template: Template, **kwargs: object) -> BaseException:
    with pytest.raises(Exception) as info:  # noqa: PT011 (each test checks the type itself)
        template.generate(**kwargs)
    return info.value


# --- parse errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\n{% if x %}\nb\n", "Missing {% end %} block for if", 2),
        ("{% for x in y %}\n{% if x %}{% end %}\n", "Missing {% end %} block for for", 1),
        ("\n\n{% frobnicate %}", "unknown operator: 'frobnicate'", 3),
        ("a\n{% end %}", "Extra {% end %} block", 2),
        ("\n{{ 1 + }}", "invalid Python in template", 2),
        ("{{ a }}\n{{\n  b c\n}}", "invalid Python in template", 3),
        ("\n{% set x = ( %}\n{{ 1 }}\n{{ 2 }}", "invalid Python in template", 2),
        ("{% for x in %}{% end %}", "invalid Python in template", 1),
        ("{% if 1 %}\n{% elif ) %}{% end %}", "invalid Python in template", 2),
        ("{% try %}\n{% except ( %}{% end %}", "invalid Python in template", 2),
        ("\n{% apply f( %}{% end %}", "invalid Python in template", 2),
        ("{% set nonlocal q %}", "invalid Python in template", 1),
        ("\n{% elif x %}", "elif outside if block", 2),
        ("{% for x in y %}{% except %}{% end %}", "except block cannot be attached to for", 1),
        ("{% break %}", "break outside for/while block", 1),
        ("{% for x in y %}{% apply f %}{% continue %}{% end %}{% end %}", "continue outside", 1),
        ("\n{{ }}", "Empty expression", 2),
        ("{% %}", "Empty block tag", 1),
        ("a\n{{ x", "Missing end expression }}", 2),
        ("{# x", "Missing end comment #}", 1),
        ("{% if", "Missing end block %}", 1),
        ("{% whitespace tidy %}", "invalid whitespace mode tidy", 1),
        ("{% set %}", "set missing statement", 1),
        ("{% import %}", "import missing statement", 1),
        ("{% apply %}{% end %}", "apply missing method name", 1),
        ("{% block %}{% end %}", "block missing name", 1),
        ("{% include %}", "include missing file path", 1),
        ("{% extends '' %}", "extends missing file path", 1),
        ("\n{% extends 'base.html' %}", "{% extends %} block found, but no template loader", 2),
        ("{% include 'x.html' %}", "{% include %} block found, but no template loader", 1),
    ],
)
def test_parse_error_names_template_and_line(source: str, message: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        Template(source, name="bad.html")
    error = info.value
    assert message in error.message
    assert (error.filename, error.lineno) == ("bad.html", line)
    assert str(error) == f"{error.message} at bad.html:{line}"


def test_parse_error_attributes_and_str() -> None:
    error = ParseError("oops", "t.html", 4)
    assert (error.message, error.filename, error.lineno) == ("oops", "t.html", 4)
    assert str(error) == "oops at t.html:4"
    assert str(ParseError("oops")) == "oops at None:0"


def test_invalid_python_error_keeps_the_syntax_error_as_cause() -> None:
    with pytest.raises(ParseError) as info:
        Template("{{ 1 + }}")
    assert isinstance(info.value.__cause__, SyntaxError)


def test_parse_error_in_an_included_or_parent_template_names_that_template() -> None:
    loader = DictLoader(
        {
            "page.html": "{% extends 'base.html' %}",
            "base.html": "ok\n{% include 'part.html' %}",
            "part.html": "\n\n{% if x %}",
        }
    )
    with pytest.raises(ParseError) as info:
        loader.load("page.html")
    assert (info.value.filename, info.value.lineno) == ("part.html", 3)


def test_invalid_python_in_a_child_block_names_the_child() -> None:
    loader = DictLoader(
        {
            "page.html": "{% extends 'base.html' %}\n{% block b %}\n{{ 1 + }}{% end %}",
            "base.html": "{% block b %}{% end %}",
        }
    )
    with pytest.raises(ParseError) as info:
        loader.load("page.html")
    assert (info.value.filename, info.value.lineno) == ("page.html", 3)


def test_extends_inside_a_block_is_an_error() -> None:
    loader = DictLoader({"t.html": "{% if 1 %}\n{% extends 'b.html' %}{% end %}", "b.html": ""})
    with pytest.raises(ParseError, match="top level") as info:
        loader.load("t.html")
    assert info.value.lineno == 2


def test_include_cycle_is_an_error() -> None:
    loader = DictLoader({"a.html": "{% include 'b.html' %}", "b.html": "x\n{% include 'a.html' %}"})
    with pytest.raises(ParseError, match=r"a\.html -> b\.html -> a\.html") as info:
        loader.load("a.html")
    assert (info.value.filename, info.value.lineno) == ("b.html", 2)
    assert loader.templates == {}


# --- runtime errors ---------------------------------------------------------------------------


def test_runtime_error_traceback_names_template_and_line() -> None:
    template = Template(
        "<ul>\n  <li>{{ items[0] }}</li>\n  <li>{{ items[5] }}</li>\n</ul>", name="list.html"
    )
    exc = raised_by(template, items=[1])
    assert isinstance(exc, IndexError)
    text = formatted(exc)
    assert 'File "list.html", line 3, in <template>' in text
    assert "<li>{{ items[5] }}</li>" in text
    assert "generated.py" not in text


def test_runtime_error_in_an_include() -> None:
    loader = DictLoader(
        {
            "page.html": "<table>\n{% for row in rows %}\n  {% include 'row.html' %}\n{% end %}",
            "row.html": "<tr>\n  <td>{{ row.nme }}</td>\n</tr>",
        }
    )
    exc = raised_by(loader.load("page.html"), rows=[object()])
    assert isinstance(exc, AttributeError)
    text = formatted(exc)
    page_at = text.index('File "page.html", line 3, in <template>')
    row_at = text.index('File "row.html", line 2, in <include>')
    assert page_at < row_at
    assert "<td>{{ row.nme }}</td>" in text


def test_runtime_error_in_a_parent_templates_block_and_code() -> None:
    loader = DictLoader(
        {
            "page.html": "{% extends 'base.html' %}\n{% block body %}\nfine\n{% end %}",
            "base.html": "<title>{% block title %}{{ title.upper() }}{% end %}</title>\n"
            "{% block body %}{% end %}\n{{ footer() }}",
        }
    )
    page = loader.load("page.html")

    # The parent's own block content (not overridden by page.html) raises.
    text = formatted(raised_by(page, title=None, footer=str))
    assert 'File "base.html", line 1, in <template>' in text
    assert 'File "base.html", line 1, in <block title>' in text

    # The parent's top-level code raises.
    text = formatted(raised_by(page, title="t", footer=None))
    assert 'File "base.html", line 3, in <template>' in text
    assert "page.html" not in text


def test_runtime_error_in_a_child_block() -> None:
    loader = DictLoader(
        {
            "page.html": "{% extends 'base.html' %}\n{% block body %}\n<p>{{ 1 / zero }}</p>\n"
            "{% end %}",
            "base.html": "<html>\n<body>\n{% block body %}{% end %}\n</body>",
        }
    )
    exc = raised_by(loader.load("page.html"), zero=0)
    assert isinstance(exc, ZeroDivisionError)
    text = formatted(exc)
    assert text.index('File "base.html", line 3, in <template>') < text.index(
        'File "page.html", line 3, in <block body>'
    )
    assert "<p>{{ 1 / zero }}</p>" in text
    if sys.version_info >= (3, 11):
        assert exc.__notes__ == ["in template 'page.html', line 3 (via base.html:3)"]


def test_loader_tracebacks_show_the_template_file(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("line one\n{{ boom() }}\n")

    def boom() -> None:
        raise RuntimeError("kaboom")

    exc = raised_by(Loader(str(tmp_path)).load("t.html"), boom=boom)
    text = formatted(exc)
    assert f'File "{tmp_path / "t.html"}", line 2, in <template>' in text
    assert "{{ boom() }}" in text
    # The called function's frame follows the template's.
    assert text.index("t.html") < text.index("in boom")
    assert "RuntimeError: kaboom" in text


def test_runtime_error_in_an_apply_block_and_a_lambda() -> None:
    template = Template("{% apply f %}\nx\n{{ g(lambda: 1 / 0) }}\n{% end %}", name="a.html")
    exc = raised_by(template, f=str, g=lambda fn: fn())
    text = formatted(exc)
    assert 'File "a.html", line 1, in <template>' in text
    assert 'File "a.html", line 3, in <template>' in text


def test_template_frames_carry_the_templates_variables() -> None:
    template = Template("{% for i, x in enumerate(xs) %}{% set y = x * 2 %}{{ 10 // x }}{% end %}")
    exc = raised_by(template, xs=[5, 0])
    tb = exc.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_filename == "<string template>"
    assert {k: tb.tb_frame.f_locals[k] for k in ("i", "x", "y")} == {"i": 1, "x": 0, "y": 0}


def test_error_in_a_nested_render_names_both_templates() -> None:
    inner = Template("\n{{ missing }}", name="inner.html")
    outer = Template("{{ inner.generate() }}", name="outer.html")
    exc = raised_by(outer, inner=inner)
    assert isinstance(exc, NameError)
    text = formatted(exc)
    assert text.index('File "outer.html", line 1') < text.index('File "inner.html", line 2')


def test_tracebacks_of_escaping_errors_point_at_the_expression() -> None:
    template = Template("a\n{{ b'\\xff' }}", name="bytes.html")
    exc = raised_by(template)
    assert isinstance(exc, UnicodeDecodeError)
    assert 'File "bytes.html", line 2' in formatted(exc)


def test_generated_code_keeps_template_line_comments() -> None:
    loader = DictLoader({"a.html": "{% include 'b.html' %}", "b.html": "\n{{ x }}"})
    assert "# b.html:2 (via a.html:1)" in loader.load("a.html").code
