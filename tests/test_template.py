"""trinado.template: every directive, autoescaping, whitespace, namespaces and the loaders.

Outputs are compared with literal expected bytes; test_template_compat.py checks the same
kind of templates against Tornado's own template module.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path
from typing import Any

import pytest

from trinado import escape
from trinado.template import (
    BaseLoader,
    DictLoader,
    Loader,
    Template,
    filter_whitespace,
)


def render(source: str, name: str = "t.txt", **kwargs: Any) -> bytes:
    return Template(source, name=name).generate(**kwargs)


def render_dict(templates: dict[str, str], **kwargs: Any) -> bytes:
    loader = DictLoader(templates)
    return loader.load(next(iter(templates))).generate(**kwargs)


# --- expressions and text ---------------------------------------------------------------------


def test_expression_is_escaped_and_utf8_encoded() -> None:
    assert render("<p>{{ s }}</p>", s="<a href='x'>&\"é") == (
        "<p>&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;é</p>".encode()
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, b"42"),
        (-1.5, b"-1.5"),
        (None, b"None"),
        (True, b"True"),
        (b"<b>", b"&lt;b&gt;"),
        ((1, "<"), b"(1, &#x27;&lt;&#x27;)"),
        (datetime.date(2024, 1, 2), b"2024-01-02"),
    ],
)
def test_expression_values_become_text(value: object, expected: bytes) -> None:
    assert render("{{ v }}", v=value) == expected


def test_expression_is_any_python_expression() -> None:
    assert render("{{ ', '.join(str(x * 2) for x in xs if x) }}", xs=[0, 1, 2]) == b"2, 4"
    assert render("{{ a, b }}", a=1, b=2) == b"(1, 2)"
    assert render("{{ f(\n 1,\n 2) }}", f=lambda a, b: a + b) == b"3"


def test_expression_may_end_with_a_comment() -> None:
    assert render("{{ x  # the x }}!", x=1) == b"1!"


def test_text_is_output_as_is() -> None:
    assert render("a { b } c %} d #} e {") == b"a { b } c %} d #} e {"


def test_literal_escapes() -> None:
    assert render("{{! x }} {%! if %} {#! y #}") == b"{{ x }} {% if %} {# y #}"


def test_more_than_two_braces_use_the_innermost() -> None:
    assert render("\\frac{{{ a }}}{{{ b }}}", a=1, b=2) == b"\\frac{1}{2}"


def test_comments_are_removed() -> None:
    assert render("a{# {{ x }} {% if %} #}b{% comment whatever %}c") == b"abc"


# --- control flow -----------------------------------------------------------------------------


def test_if_elif_else() -> None:
    source = "{% if n == 0 %}zero{% elif n == 1 %}one{% else %}many{% end %}"
    assert [render(source, n=n) for n in (0, 1, 5)] == [b"zero", b"one", b"many"]


def test_for_with_else_break_and_continue() -> None:
    source = (
        "{% for i in xs %}{% if i == 2 %}{% continue %}{% end %}"
        "{% if i == 4 %}{% break %}{% end %}{{ i }}{% else %}(done){% end %}"
    )
    assert render(source, xs=[1, 2, 3]) == b"13(done)"
    assert render(source, xs=[1, 2, 3, 4, 5]) == b"13"


def test_while_with_set() -> None:
    source = (
        "{% set i = 0 %}{% while True %}{% set i += 1 %}{% if i > 3 %}{% break %}{% end %}"
        "{{ i }}{% end %}"
    )
    assert render(source) == b"123"


def test_set_import_and_from() -> None:
    source = (
        "{% import math %}{% from os import path as p %}{% set x, y = 2, math.sqrt(16) %}"
        "{{ x }} {{ y }} {{ p.basename('a/b') }}"
    )
    assert render(source) == b"2 4.0 b"


def test_try_except_else_finally() -> None:
    source = (
        "{% try %}[{{ 1 // d }}]{% except ZeroDivisionError as e %}({{ type(e).__name__ }})"
        "{% else %}ok{% finally %}!{% end %}"
    )
    assert render(source, d=1) == b"[1]ok!"
    assert render(source, d=0) == b"[(ZeroDivisionError)!"  # "[" was output before the error


def test_output_before_an_exception_in_try_is_kept() -> None:
    assert render("{% try %}a{{ 'b' }}{{ 1 / 0 }}c{% except %}E{% end %}") == b"abE"


def test_apply_passes_the_body_as_utf8_bytes() -> None:
    seen: list[object] = []

    def upper(data: bytes) -> str:
        seen.append(data)
        return data.decode().upper()

    assert render("{% apply upper %}a{{ s }}é{% end %}!", upper=upper, s="<x>") == (
        "A&LT;X&GT;É!".encode()
    )
    assert seen == ["a&lt;x&gt;é".encode()]


def test_apply_with_linkify_and_in_loop() -> None:
    source = "{% for i in range(2) %}{% apply linkify %}http://x.org/{{ i }} {% end %}{% end %}"
    assert render(source) == (
        b'<a href="http://x.org/0">http://x.org/0</a> <a href="http://x.org/1">http://x.org/1</a> '
    )


def test_module_compiles_to_tt_modules() -> None:
    class Modules:
        def Entry(self, title: str, n: int = 0) -> str:
            return f"<h2>{title}</h2>{n}"

    template = Template("{% module Entry('<t>', n=2) %}")
    assert "_tt_modules.Entry('<t>', n=2)" in template.code
    # Module output is not escaped.
    assert template.generate(_tt_modules=Modules()) == b"<h2><t></h2>2"


def test_raw_skips_escaping() -> None:
    assert render("{% raw s %}{{ s }}", s="<b>") == b"<b>&lt;b&gt;"


def test_raw_bytes_pass_through_even_when_not_utf8() -> None:
    assert render("a{% raw b %}{{ 'é' }}", b=b"\xff\x00<") == b"a\xff\x00<" + "é".encode()


# --- autoescape -------------------------------------------------------------------------------


def test_autoescape_none_directive() -> None:
    assert render("{% autoescape None %}{{ s }}", s="<b>") == b"<b>"


def test_autoescape_directive_names_a_function() -> None:
    def shout(data: bytes) -> bytes:
        return data.upper()

    assert render("{% autoescape shout %}{{ s }}{% raw s %}", s="ab", shout=shout) == b"ABab"


def test_autoescape_argument_and_loader_setting() -> None:
    assert Template("{{ s }}", autoescape=None).generate(s="<") == b"<"
    loader = DictLoader({"a.html": "{{ s }}"}, autoescape=None)
    assert loader.load("a.html").autoescape is None
    assert loader.load("a.html").generate(s="<") == b"<"
    assert Template("{{ s }}").autoescape == "xhtml_escape"


def test_overriding_xhtml_escape_in_the_namespace_changes_escaping() -> None:
    assert render("{{ s }}", s="ab", xhtml_escape=lambda b: b"[" + b + b"]") == b"[ab]"


def test_autoescape_name_set_in_the_template_is_used() -> None:
    source = "{% set xhtml_escape = lambda b: b.upper() %}{{ s }}"
    assert render(source, s="ab") == b"AB"


def test_autoescape_holds_through_extends_and_include() -> None:
    templates = {
        "page.html": "{% extends 'base.html' %}{% block body %}{{ s }}|{% include 'inc.html' %}"
        "{% end %}",
        "base.html": "{{ s }}|{% block body %}{% end %}",
        "inc.html": "{{ s }}",
    }
    assert render_dict(templates, s="<") == b"&lt;|&lt;|&lt;"


def test_autoescape_directive_is_per_file() -> None:
    templates = {
        "page.html": "{% extends 'base.html' %}{% autoescape None %}{% block body %}{{ s }}"
        "{% include 'inc.html' %}{% end %}",
        "base.html": "{{ s }}{% block body %}{% end %}",
        "inc.html": "{{ s }}",
    }
    # base.html and inc.html keep the loader's escaping; page.html's block does not escape.
    assert render_dict(templates, s="<") == b"&lt;<&lt;"


# --- inheritance and includes -----------------------------------------------------------------


def test_extends_replaces_blocks_and_ignores_the_rest() -> None:
    templates = {
        "page.html": "{% extends 'base.html' %}ignored{% block title %}Mine{% end %}",
        "base.html": "<title>{% block title %}Default{% end %}</title>{% block foot %}F{% end %}",
    }
    assert render_dict(templates) == b"<title>Mine</title>F"


def test_multi_level_inheritance_and_nested_blocks() -> None:
    templates = {
        "c.html": "{% extends 'b.html' %}{% block z %}Cz{% end %}",
        "b.html": "{% extends 'a.html' %}{% block y %}<{% block z %}Bz{% end %}>{% end %}",
        "a.html": "{% block x %}Ax{% end %}|{% block y %}Ay{% end %}",
    }
    assert render_dict(templates) == b"Ax|<Cz>"


def test_include_sees_and_sets_the_includers_variables() -> None:
    templates = {
        "main.html": "{% for i in range(2) %}{% include 'item.html' %}{% end %}{{ last }}",
        "item.html": "[{{ i }}]{% set last = i %}",
    }
    assert render_dict(templates) == b"[0][1]1"


def test_include_and_extends_paths_are_relative_to_the_template() -> None:
    templates = {
        "a/page.html": "{% extends '../base.html' %}"
        "{% block b %}{% include 'part.html' %}{% end %}",
        "base.html": "<{% block b %}{% end %}>",
        "a/part.html": "part",
    }
    assert render_dict(templates) == b"<part>"


# --- whitespace -------------------------------------------------------------------------------


def test_filter_whitespace_modes() -> None:
    text = "  a \t b  \n\n \t c \n"
    assert filter_whitespace("all", text) == text
    assert filter_whitespace("single", text) == " a b\nc\n"
    assert filter_whitespace("oneline", text) == " a b c "
    with pytest.raises(ValueError, match="invalid whitespace mode"):
        filter_whitespace("none", text)


def test_whitespace_default_depends_on_the_name() -> None:
    source = "a  \n\n  b"
    assert render(source, name="x.html") == b"a\nb"
    assert render(source, name="x.js") == b"a\nb"
    assert render(source, name="x.txt") == b"a  \n\n  b"


def test_whitespace_argument_loader_setting_and_compress_whitespace() -> None:
    source = "a  \n\n  b"
    assert Template(source, name="x.html", whitespace="all").generate() == b"a  \n\n  b"
    assert Template(source, whitespace="oneline").generate() == b"a b"
    assert Template(source, compress_whitespace=True).generate() == b"a\nb"
    assert Template(source, name="x.html", compress_whitespace=False).generate() == source.encode()
    assert DictLoader({"x.html": source}, whitespace="all").load("x.html").generate() == (
        source.encode()
    )
    with pytest.raises(ValueError, match="both"):
        Template(source, whitespace="all", compress_whitespace=True)
    with pytest.raises(ValueError, match="invalid whitespace mode"):
        Template(source, whitespace="compact")


def test_whitespace_directive_changes_the_rest_of_the_file() -> None:
    source = "a  \n b{% whitespace oneline %} c \n d {% whitespace all %} e \n\n"
    assert render(source, name="x.html") == b"a\nb c d  e \n\n"


def test_text_with_pre_keeps_its_whitespace() -> None:
    assert render("<pre>  a\n\n b</pre>  c", name="x.html") == b"<pre>  a\n\n b</pre>  c"


# --- namespace --------------------------------------------------------------------------------


def test_default_namespace() -> None:
    source = (
        "{{ escape('<') }} {{ xhtml_escape('&') }} {{ url_escape('a b') }} "
        "{% raw json_encode('</') %} {{ squeeze(' a  b ') }} {% raw linkify('http://a.b') %} "
        "{{ datetime.date(2000, 1, 1).year }} {{ _tt_utf8('x') }} {{ _tt_string_types }}"
    )
    assert render(source, name="a.b.txt") == (
        b'&amp;lt; &amp;amp; a+b "<\\/" a b <a href="http://a.b">http://a.b</a> 2000 '
        b"x (&lt;class &#x27;str&#x27;&gt;, &lt;class &#x27;bytes&#x27;&gt;)"
    )
    assert render("{{ __name__ }}", name="a.b.txt") == b"a_b_txt"


def test_namespace_precedence_defaults_then_loader_then_arguments() -> None:
    loader = DictLoader({"t": "{{ squeeze }}/{{ x }}/{{ y }}"}, namespace={"squeeze": 1, "x": 2})
    assert loader.load("t").generate(x=3, y=4) == b"1/3/4"


def test_generate_is_repeatable_and_isolated() -> None:
    template = Template("{% set m = n + 1 %}{{ m }}")
    assert template.generate(n=1) == b"2"
    assert template.generate(n=10) == b"11"
    with pytest.raises(NameError):
        template.generate()


def test_template_attributes() -> None:
    template = Template(b"{{ 1 }}", name="t.html")
    assert template.name == "t.html"
    assert template.loader is None
    assert template.namespace == {}
    assert "# t.html:1" in template.code
    assert template.compiled.co_filename == "t_html.generated.py"


# --- loaders ----------------------------------------------------------------------------------


def test_loader_reads_files_and_caches(tmp_path: Path) -> None:
    (tmp_path / "base.html").write_text("<b>{% block x %}{% end %}</b>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "page.html").write_text(
        "{% extends '../base.html' %}{% block x %}{% include 'part.html' %}{% end %}"
    )
    (tmp_path / "sub" / "part.html").write_text("{{ v }}")
    loader = Loader(str(tmp_path))
    page = loader.load("sub/page.html")
    assert page.generate(v="é<") == "<b>é&lt;</b>".encode()
    assert loader.load("sub/page.html") is page
    assert set(loader.templates) == {"sub/page.html", "base.html", "sub/part.html"}
    assert loader.root == str(tmp_path)

    (tmp_path / "sub" / "part.html").write_text("changed")
    assert loader.load("sub/page.html").generate(v="x") == b"<b>x</b>"
    loader.reset()
    assert loader.templates == {}
    assert loader.load("sub/page.html").generate(v="") == b"<b>changed</b>"


def test_loader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Loader(str(tmp_path)).load("nope.html")


def test_loader_resolve_path() -> None:
    loader = Loader("/srv/templates")
    assert loader.resolve_path("b.html", "dir/a.html") == "dir/b.html"
    assert loader.resolve_path("../b.html", "dir/a.html") == "b.html"
    assert loader.resolve_path("/abs.html", "dir/a.html") == "/abs.html"
    assert loader.resolve_path("b.html", "<string>") == "b.html"
    assert loader.resolve_path("../../etc/passwd", "a.html") == "../../etc/passwd"


def test_dict_loader_resolve_path_and_missing_name() -> None:
    loader = DictLoader({})
    assert loader.resolve_path("b.html", "x/y/a.html") == "x/y/b.html"
    assert loader.resolve_path("../b.html", "x/y/a.html") == "x/b.html"
    assert loader.resolve_path("b.html") == "b.html"
    with pytest.raises(KeyError):
        loader.load("missing.html")


def test_base_loader_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BaseLoader().load("x")


def test_loader_compiles_each_template_once_across_threads() -> None:
    created: list[str] = []

    class CountingLoader(DictLoader):
        def _create_template(self, name: str) -> Template:
            created.append(name)
            return super()._create_template(name)

    loader = CountingLoader({"t.html": "{% for i in range(3) %}{{ i }}{% end %}"})
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(loader.load("t.html").generate())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created == ["t.html"]
    assert results == [b"012"] * 8


def test_loader_namespace_reaches_included_templates() -> None:
    loader = DictLoader(
        {"a": "{% include 'b' %}", "b": "{{ greet() }}"}, namespace={"greet": lambda: "hi"}
    )
    assert loader.load("a").generate() == b"hi"


def test_default_namespace_functions_are_trinado_escape() -> None:
    template = Template(
        "{{ escape is x and xhtml_escape is x and url_escape is u and json_encode is j }}"
    )
    assert template.generate(x=escape.xhtml_escape, u=escape.url_escape, j=escape.json_encode) == (
        b"True"
    )


def test_apply_or_escape_function_must_return_text() -> None:
    with pytest.raises(TypeError, match="must return str or bytes"):
        render("{% apply f %}x{% end %}", f=lambda data: None)
    with pytest.raises(TypeError, match="must return str or bytes"):
        render("{% autoescape f %}{{ 1 }}", f=len)


def test_text_that_cannot_be_utf8_raises() -> None:
    with pytest.raises(UnicodeEncodeError):
        render("{% raw s %}", s="\udcff")
    with pytest.raises(UnicodeDecodeError):
        render("{{ b }}", b=b"\xff")  # escaping reads bytes as UTF-8, as Tornado does
