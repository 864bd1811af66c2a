"""trinado.template renders Tornado's templates to the same bytes as tornado.template.

Each case is a dict of templates (rendered through a `DictLoader` of each library, so
``extends`` and ``include`` work) plus the namespace to render the first one with.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from tornado import template as tornado_template

from trinado import template


class _Markup(str):
    """A str subclass overriding methods, like markupsafe.Markup."""

    def replace(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("escaping must not call a subclass's replace()")

    def __str__(self) -> str:
        return "not this"


class _Obj:
    def __str__(self) -> str:
        return "<obj & 'co'>"


def _upper(data: bytes) -> bytes:
    return data.upper()


def _shout(data: bytes) -> str:
    return data.decode().upper() + "!"


class _Modules:
    """Stands in for the web layer's ``_tt_modules``."""

    def Box(self, text: str) -> str:
        return f"<div>{text}</div>"

    def Bytes(self) -> bytes:
        return b"<b>bytes</b>"


CASES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "text only": ({"t.txt": "hello\n  world  \n\n\tend"}, {}),
    "expressions": (
        {"t.txt": "{{ s }}|{{ n }}|{{ f }}|{{ b }}|{{ none }}|{{ obj }}|{{ t }}|{{ flag }}"},
        {
            "s": "<a href='x'>&\"</a>",
            "n": 42,
            "f": 1.5,
            "b": b"<bytes>",
            "none": None,
            "obj": _Obj(),
            "t": (1, "<"),
            "flag": True,
        },
    ),
    "str subclass is escaped by content": ({"t.txt": "{{ m }}{% raw m %}"}, {"m": _Markup("<i>")}),
    "unicode": ({"t.html": "<p>{{ s }} é ü {{ b }}</p>"}, {"s": "ça < ✓", "b": "ü".encode()}),
    "raw": (
        {"t.txt": "{% raw s %}{% raw n %}{% raw b %}"},
        {"s": "<b>", "n": 3, "b": b"\xff\xfe<"},
    ),
    "raw bytes that are not utf-8": ({"t.txt": "a{% raw b %}b{{ 1 }}"}, {"b": b"\x80\xff"}),
    "autoescape None": ({"t.txt": "{% autoescape None %}{{ s }}{{ n }}"}, {"s": "<b>", "n": 5}),
    "autoescape empty is raw": ({"t.txt": "{% autoescape %}{{ s }}"}, {"s": "<b>"}),
    "autoescape custom bytes": (
        {"t.txt": "{% autoescape upper %}{{ s }}-{{ n }}"},
        {"s": "abc<", "n": 7, "upper": _upper},
    ),
    "autoescape custom str": (
        {"t.txt": "{% autoescape shout %}{{ s }}"},
        {"s": "hi", "shout": _shout},
    ),
    "autoescape later in file applies to all": (
        {"t.txt": "{{ s }}{% autoescape None %}{{ s }}"},
        {"s": "<b>"},
    ),
    "autoescape dotted": ({"t.txt": "{% autoescape esc.xhtml_escape %}{{ s }}"}, {"s": "<"}),
    "autoescape name assigned in template": (
        {"t.txt": "{% set xhtml_escape = upper %}{{ s }}"},
        {"s": "a<b", "upper": _upper},
    ),
    "xhtml_escape overridden in namespace": (
        {"t.txt": "{{ s }}"},
        {"s": "a<b", "xhtml_escape": _upper},
    ),
    "comments": ({"t.txt": "a{# comment {{ x }} #}b{% comment anything here %}c"}, {}),
    "literal escapes": ({"t.txt": "{{! x }} {%! if %} {#! c #}"}, {}),
    "triple curly": ({"t.txt": "{{{ x }}} {{{{ y }}}}"}, {"x": 1, "y": 2}),
    "lonely braces": ({"t.txt": "{ } {x} }} %} #} {"}, {}),
    "if elif else": (
        {
            "t.txt": "{% for i in range(4) %}{% if i == 0 %}zero{% elif i == 1 %}one"
            "{% else %}many{% end %},{% end %}"
        },
        {},
    ),
    "for else, break, continue": (
        {
            "t.txt": "{% for i in range(10) %}{% if i % 2 %}{% continue %}{% end %}"
            "{% if i > 6 %}{% break %}{% end %}{{ i }}{% else %}none{% end %}"
            "{% for j in [] %}x{% else %}empty{% end %}"
        },
        {},
    ),
    "while": ({"t.txt": "{% set i = 0 %}{% while i < 5 %}{{ i }}{% set i += 1 %}{% end %}"}, {}),
    "set, import, from": (
        {
            "t.txt": "{% import math %}{% from os import path %}{% set x = math.floor(2.5) %}"
            "{{ x }} {{ path.join('a', 'b') }}"
        },
        {},
    ),
    "try except else finally": (
        {
            "t.txt": "{% try %}a{{ 1 }}b{{ 1 / 0 }}c{% except ZeroDivisionError %}e"
            "{% else %}never{% finally %}f{% end %}"
            "{% try %}ok{% except Exception %}no{% else %}else{% end %}"
        },
        {},
    ),
    "try inside loop keeps partial output": (
        {
            "t.txt": "{% for d in [1, 0, 2] %}{% try %}<{{ 10 // d }}>{% except %}!{% end %}"
            "{% end %}"
        },
        {},
    ),
    "apply": (
        {
            "t.txt": "{% apply upper %}a{{ s }}b{% end %}|"
            "{% apply linkify %}see http://x.org/<a>{% end %}"
        },
        {"s": "<q>", "upper": _upper},
    ),
    "apply returning str, nested": (
        {"t.txt": "{% apply shout %}x{% apply upper %}y{{ 1 }}{% end %}z{% end %}"},
        {"shout": _shout, "upper": _upper},
    ),
    "apply in loop": (
        {"t.txt": "{% for i in range(3) %}{% apply upper %}r{{ i }}{% end %}{% end %}"},
        {"upper": _upper},
    ),
    "module": (
        {"t.txt": "{% module Box('<x>') %}{% module Bytes() %}"},
        {"_tt_modules": _Modules()},
    ),
    "whitespace single by extension": ({"t.html": "  a  \n\n   b\t\tc  \n  "}, {}),
    "whitespace all for other names": ({"t.txt": "  a  \n\n   b\t\tc  \n  "}, {}),
    "whitespace directive": (
        {
            "t.html": "{% whitespace oneline %}a \n b {% whitespace all %} c \n\n d"
            "{% whitespace single %}  e \n\n f"
        },
        {},
    ),
    "pre is left alone": ({"t.html": "<pre>  a \n\n b</pre>  x \n\n y"}, {}),
    "js single": ({"t.js": "var  a = 1;\n\n\n  var b;"}, {}),
    "default namespace": (
        {
            "t.txt": "{{ escape('<') }}{{ url_escape('a b/') }}{{ json_encode({'a': '</'}) }}"
            "{{ squeeze(' a   b ') }}{% raw linkify('http://a.b/c') %}"
            "{{ datetime.date(2020, 1, 2) }}"
            "{{ __name__ }}"
        },
        {},
    ),
    "datetime value": ({"t.txt": "{{ d }}"}, {"d": datetime.datetime(2024, 5, 6, 7, 8, 9)}),
    "multi-line expression": ({"t.txt": "{{ f(\n  1,\n  2) }}"}, {"f": lambda a, b: a + b}),
    "expression with comment": ({"t.txt": "{{ x  # a comment }}!"}, {"x": "<"}),
    "tuple expression": ({"t.txt": "{{ a, b }}"}, {"a": 1, "b": "<"}),
    "chained assignment expression": ({"t.txt": "{{ y = 3 }}{{ y }}"}, {}),
    "lambda and comprehension": (
        {"t.txt": "{{ sorted(xs, key=lambda v: -v) }}{{ [v * 2 for v in xs] }}"},
        {"xs": [1, 3, 2]},
    ),
    "extends": (
        {
            "page.html": "{% extends 'base.html' %}ignored{% block title %}T<{{ t }}>{% end %}"
            "{% block body %}B{{ super_x }}{% end %}",
            "base.html": "<title>{% block title %}default{% end %}</title>\n"
            "<body>{% block body %}{% end %}</body>{% block foot %}F{% end %}",
        },
        {"t": "&", "super_x": 1},
    ),
    "three levels of extends": (
        {
            "c.html": "{% extends 'b.html' %}{% block x %}C{% end %}",
            "b.html": "{% extends 'a.html' %}{% block x %}B{% end %}{% block y %}B{% block z %}"
            "Bz{% end %}{% end %}",
            "a.html": "[{% block x %}A{% end %}|{% block y %}A{% end %}]",
        },
        {},
    ),
    "child block in parent's loop": (
        {
            "c.html": "{% extends 'p.html' %}{% block item %}<{{ i }}>{% end %}",
            "p.html": "{% for i in range(3) %}{% block item %}{{ i }}{% end %}{% end %}",
        },
        {},
    ),
    "include shares locals": (
        {
            "main.html": "{% set who = '<w>' %}{% for i in range(2) %}{% include 'part.html' %}"
            "{% end %}{{ after }}",
            "part.html": "[{{ who }}{{ i }}]{% set after = 'set in include' %}",
        },
        {},
    ),
    "include relative path": (
        {
            "dir/main.html": "{% include 'sub/part.html' %}{% include '../top.html' %}",
            "dir/sub/part.html": "part",
            "top.html": "top",
        },
        {},
    ),
    "autoescape per file through include and extends": (
        {
            "page.html": "{% extends 'base.html' %}{% autoescape None %}{% block b %}{{ s }}"
            "{% include 'inc.html' %}{% end %}",
            "base.html": "{{ s }}{% block b %}{% end %}",
            "inc.html": "{{ s }}",
        },
        {"s": "<>"},
    ),
    "blocks in an include": (
        {
            "c.html": "{% extends 'p.html' %}{% block inner %}child{% end %}",
            "p.html": "<{% include 'inc.html' %}>",
            "inc.html": "{% block inner %}inc{% end %}",
        },
        {},
    ),
    "latex-like braces": ({"t.tex": "\\frac{{{ a }}}{{{ b }}}"}, {"a": 1, "b": 2}),
    "windows newlines": ({"t.html": "a  \r\n\r\n  b{{ 1 }}\r\n"}, {}),
}


def _render(module: Any, templates: dict[str, str], namespace: dict[str, Any]) -> bytes:
    loader = module.DictLoader(templates)
    output: bytes = loader.load(next(iter(templates))).generate(**namespace)
    return output


@pytest.mark.parametrize("case", list(CASES))
def test_same_output_as_tornado(case: str) -> None:
    templates, namespace = CASES[case]
    namespace = dict(namespace)
    if "esc" not in namespace:
        import tornado.escape

        namespace["esc"] = tornado.escape
    expected = _render(tornado_template, templates, namespace)
    assert _render(template, templates, namespace) == expected


@pytest.mark.parametrize("autoescape", [None, "xhtml_escape", "upper"])
def test_loader_autoescape_same_as_tornado(autoescape: str | None) -> None:
    templates = {"a.html": "{{ s }}{% include 'b.html' %}", "b.html": "{{ s }}"}
    namespace = {"s": "<x>", "upper": _upper}
    outputs = [
        module.DictLoader(templates, autoescape=autoescape).load("a.html").generate(**namespace)
        for module in (tornado_template, template)
    ]
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("whitespace", ["all", "single", "oneline"])
def test_whitespace_modes_same_as_tornado(whitespace: str) -> None:
    source = " a  \n\n\t b \n {{ x }} \n\n"
    outputs = [
        module.Template(source, whitespace=whitespace).generate(x=" y  \n z ")
        for module in (tornado_template, template)
    ]
    assert outputs[0] == outputs[1]
