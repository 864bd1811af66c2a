"""Rendering templates from handlers: loaders, settings, UI modules and methods, errors, reload."""

from __future__ import annotations

import importlib.util
import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trinado import locale
from trinado.template import DictLoader
from trinado.testing import open_test_client
from trinado.web import Application, RequestHandler, TemplateModule, UIModule, url

TEMPLATES = Path(__file__).parent / "templates"
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(autouse=True)
def fresh_loaders() -> Iterator[None]:
    """Loaders are cached per template directory on the class, as in Tornado: start clean."""
    RequestHandler._template_loaders.clear()
    yield
    RequestHandler._template_loaders.clear()


async def fetch(app: Application, path: str = "/", **kwargs: Any) -> Any:
    async with open_test_client(app) as client:
        return await client.get(path, **kwargs)


class RenderHandler(RequestHandler):
    """Renders the template named by the route, with the query arguments as the namespace."""

    def initialize(self, name: str, **extra: Any) -> None:
        self.name = name
        self.extra = extra

    def get(self) -> None:
        values = {key: self.get_argument(key) for key in self.request.query_arguments}
        self.render(self.name, **self.extra, **values)


def dict_app(templates: dict[str, str], **settings: Any) -> Application:
    loader = DictLoader(templates)
    return Application(
        [url(r"/", RenderHandler, {"name": "page.html"}, name="home")],
        template_loader=loader,
        **settings,
    )


# --------------------------------------------------------------------------- rendering


async def test_render_with_a_dict_loader() -> None:
    app = dict_app({"page.html": "<p>{{ greeting }}, {{ who }}!</p>"})
    response = await fetch(app, "/", params={"greeting": "Hello", "who": "<world>"})
    assert response.status_code == 200
    assert response.text == "<p>Hello, &lt;world&gt;!</p>"
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    assert response.headers["content-length"] == str(len(response.content))


async def test_render_files_with_inheritance_and_include() -> None:
    app = Application(
        [(r"/items", RenderHandler, {"name": "page.html", "items": ["a", "<b>"]})],
        template_path=str(TEMPLATES),
    )
    response = await fetch(app, "/items", params={"title": "Things", "site": "Shop"})
    assert response.status_code == 200
    text = response.text
    assert "<title>Things</title>" in text
    assert "<ul><li>a</li><li>&lt;b&gt;</li></ul>" in text
    # The included footer sees the namespace of the page: its arguments and the request.
    assert "<footer>Shop for /items</footer>" in text
    assert "Default title" not in text


async def test_default_template_path_is_the_callers_directory() -> None:
    class Handler(RequestHandler):
        def get(self) -> None:
            # No template_path: names are relative to this file's directory.
            self.render("templates/footer.html", site="Here")

    response = await fetch(Application([(r"/x", Handler)]), "/x")
    assert response.text.strip() == "<footer>Here for /x</footer>"


async def test_render_string_returns_bytes_and_writes_nothing() -> None:
    seen: list[Any] = []

    class Handler(RequestHandler):
        def get(self) -> None:
            html = self.render_string("page.html", who="you")
            seen.append(html)
            self.write({"length": len(html)})

    app = Application(
        [(r"/", Handler)], template_loader=DictLoader({"page.html": "<i>{{ who }}</i>"})
    )
    response = await fetch(app)
    assert seen == [b"<i>you</i>"]
    assert response.json() == {"length": 10}


async def test_render_returns_the_finish_awaitable() -> None:
    events: list[str] = []

    class Handler(RequestHandler):
        async def get(self) -> None:
            await self.render("page.html", who="x")
            # Awaiting sent the response and ended the request already.
            events.append("after await")
            with pytest.raises(RuntimeError, match="after finish"):
                self.render("page.html", who="again")
            events.append("render refused")

        def on_finish(self) -> None:
            events.append("on_finish")

    app = Application([(r"/", Handler)], template_loader=DictLoader({"page.html": "{{ who }}"}))
    response = await fetch(app)
    assert response.text == "x"
    assert events == ["on_finish", "after await", "render refused"]


async def test_template_namespace() -> None:
    class User:
        name = "ann"

    class Handler(RequestHandler):
        def get_current_user(self) -> Any:
            return User()

        def static_url(self, path: str, include_host: bool | None = None, **kw: Any) -> str:
            return f"/static/{path}?v=1"

        def get_template_namespace(self) -> dict[str, Any]:
            namespace = super().get_template_namespace()
            namespace["extra"] = "added"
            return namespace

        def get(self) -> None:
            self.render("page.html", override="kwarg")

    page = (
        "{{ type(handler).__name__ }}|{{ request.path }}|{{ current_user.name }}|"
        "{{ locale.code }}|{{ _('Hello') }}|{{ pgettext('greeting', 'Hi') }}|"
        "{{ reverse_url('named', 7) }}|{{ static_url('a.css') }}|{{ extra }}|{{ override }}|"
        "{{ 'xsrf_form_html' in globals() }}|{{ json_encode([1]) }}"
    )
    app = Application(
        [(r"/", Handler), url(r"/named/(\d+)", Handler, name="named")],
        template_loader=DictLoader({"page.html": page}, autoescape=None),
    )
    response = await fetch(app)
    has_xsrf = hasattr(RequestHandler, "xsrf_form_html")  # given by the XSRF support
    assert response.text == (
        f"Handler|/|ann|en_US|Hello|Hi|/named/7|/static/a.css?v=1|added|kwarg|{has_xsrf}|[1]"
    )


async def test_render_kwargs_override_the_namespace() -> None:
    class Handler(RequestHandler):
        def get(self) -> None:
            self.render("page.html", request="not the request")

    app = Application([(r"/", Handler)], template_loader=DictLoader({"page.html": "{{ request }}"}))
    assert (await fetch(app)).text == "not the request"


# --------------------------------------------------------------------------- settings


async def test_autoescape_setting() -> None:
    def app(**settings: Any) -> Application:
        handler = (r"/", RenderHandler, {"name": "page.html", "value": "<b>&</b>"})
        return Application([handler], template_path=str(TEMPLATES / "settings"), **settings)

    # Loaders are made per directory: forget the first one before changing the setting.
    assert (await fetch(app())).text == "&lt;b&gt;&amp;&lt;/b&gt;\n"
    RequestHandler._template_loaders.clear()
    assert (await fetch(app(autoescape=None))).text == "<b>&</b>\n"


async def test_template_whitespace_setting() -> None:
    def app(**settings: Any) -> Application:
        handler = (r"/", RenderHandler, {"name": "spaces.html"})
        return Application([handler], template_path=str(TEMPLATES / "settings"), **settings)

    # .html files collapse whitespace by default ("single").
    assert (await fetch(app())).text == "<p>\na b\n</p>\n"
    RequestHandler._template_loaders.clear()
    assert (await fetch(app(template_whitespace="all"))).text == "<p>\n  a    b\n\n</p>\n"
    RequestHandler._template_loaders.clear()
    assert (await fetch(app(template_whitespace="oneline"))).text == "<p> a b </p> "


async def test_template_loader_setting_wins_over_template_path() -> None:
    app = Application(
        [(r"/", RenderHandler, {"name": "page.html", "title": "t", "items": []})],
        template_path=str(TEMPLATES),
        template_loader=DictLoader({"page.html": "from the dict"}),
    )
    assert (await fetch(app)).text == "from the dict"


async def test_get_template_path_and_create_template_loader_overrides() -> None:
    made: list[str] = []

    class Handler(RequestHandler):
        def get_template_path(self) -> str:
            return "/nowhere/on/disk"

        def create_template_loader(self, template_path: str) -> DictLoader:
            made.append(template_path)
            return DictLoader({"page.html": "custom {{ n }}"})

        def get(self) -> None:
            self.render("page.html", n=self.get_argument("n"))

    app = Application([(r"/", Handler)])
    async with open_test_client(app) as client:
        assert (await client.get("/", params={"n": "1"})).text == "custom 1"
        assert (await client.get("/", params={"n": "2"})).text == "custom 2"
    # One loader per directory, shared by later requests.
    assert made == ["/nowhere/on/disk"]
    assert isinstance(RequestHandler._template_loaders["/nowhere/on/disk"], DictLoader)


async def test_a_request_that_does_not_render_builds_nothing() -> None:
    handlers: list[RequestHandler] = []

    class Plain(RequestHandler):
        def get(self) -> None:
            self.write("plain")

        def on_finish(self) -> None:
            handlers.append(self)

    app = Application([(r"/", Plain)], template_path=str(TEMPLATES), debug=True)
    assert (await fetch(app)).text == "plain"
    assert RequestHandler._template_loaders == {}
    state = vars(handlers[0])
    for lazy in ("_ui", "_locale", "_active_modules", "_templates_reset"):
        assert lazy not in state


# --------------------------------------------------------------------------- reload


@pytest.mark.parametrize("debug", [False, True])
async def test_debug_reloads_changed_templates(tmp_path: Path, debug: bool) -> None:
    template = tmp_path / "page.html"
    template.write_text("version one")
    app = Application(
        [(r"/", RenderHandler, {"name": "page.html"})], template_path=str(tmp_path), debug=debug
    )
    assert app.settings.get("compiled_template_cache", True) is not debug
    async with open_test_client(app) as client:
        assert (await client.get("/")).text == "version one"
        template.write_text("version two")
        expected = "version two" if debug else "version one"
        assert (await client.get("/")).text == expected


async def test_compiled_template_cache_false_reloads_once_per_request(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("{{ n }}")
    texts: list[bytes] = []

    class Handler(RequestHandler):
        def get(self) -> None:
            texts.append(self.render_string("page.html", n=1))
            (tmp_path / "page.html").write_text("changed {{ n }}")
            # The same request keeps the templates it compiled.
            texts.append(self.render_string("page.html", n=2))
            self.write(b"|".join(texts))

    app = Application([(r"/", Handler)], template_path=str(tmp_path), compiled_template_cache=False)
    async with open_test_client(app) as client:
        assert (await client.get("/")).text == "1|2"
        texts.clear()
        assert (await client.get("/")).text == "changed 1|changed 2"


# --------------------------------------------------------------------------- errors


async def test_parse_error_is_a_500_naming_file_and_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Application(
        [(r"/", RenderHandler, {"name": "broken.html"})], template_path=str(TEMPLATES)
    )
    with caplog.at_level(logging.ERROR, logger="trinado.application"):
        response = await fetch(app)
    assert response.status_code == 500
    assert "fine" not in response.text
    logged = "\n".join(record.getMessage() + str(record.exc_text) for record in caplog.records)
    assert "broken.html:3" in logged


@pytest.mark.parametrize("write_first", [False, True])
async def test_runtime_error_is_a_500_naming_file_and_line(
    caplog: pytest.LogCaptureFixture, write_first: bool
) -> None:
    class Handler(RequestHandler):
        def get(self) -> None:
            if write_first:
                self.write("partial page")
            self.render("raises.html", zero=0)

    app = Application([(r"/", Handler)], template_path=str(TEMPLATES))
    with caplog.at_level(logging.ERROR, logger="trinado.application"):
        response = await fetch(app)
    assert response.status_code == 500
    assert "partial page" not in response.text
    assert "first line" not in response.text
    [record] = [r for r in caplog.records if r.name == "trinado.application"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ZeroDivisionError)
    formatted = logging.Formatter().formatException(record.exc_info)
    # The traceback has a frame for the template file and line.
    assert 'templates/raises.html", line 3' in formatted


async def test_serve_traceback_shows_the_template_line() -> None:
    app = Application(
        [(r"/", RenderHandler, {"name": "raises.html", "zero": 0})],
        template_path=str(TEMPLATES),
        serve_traceback=True,
    )
    response = await fetch(app)
    assert response.status_code == 500
    assert "ZeroDivisionError" in response.text
    assert "raises.html" in response.text


async def test_missing_template_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    app = Application(
        [(r"/", RenderHandler, {"name": "absent.html"})], template_path=str(TEMPLATES)
    )
    with caplog.at_level(logging.ERROR, logger="trinado.application"):
        response = await fetch(app)
    assert response.status_code == 500
    assert any("absent.html" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# --------------------------------------------------------------------------- UI modules


class Widget(UIModule):
    created = 0

    def __init__(self, handler: RequestHandler) -> None:
        super().__init__(handler)
        Widget.created += 1

    def render(self, label: str = "w") -> str:
        return f"<b>{label}</b>"

    def embedded_javascript(self) -> str:
        return "run();"

    def javascript_files(self) -> list[str]:
        return ["a.js", "/abs.js", "a.js"]

    def embedded_css(self) -> str:
        return "b { color: red }"

    def css_files(self) -> str:
        return "s.css"

    def html_head(self) -> str:
        return "<meta name=x>"

    def html_body(self) -> str:
        return "<i>end</i>"


class Bare(UIModule):
    def render(self) -> bytes:
        return b"<em>bare</em>"


_PAGE = (
    "<html><head><title>t</title></head>"
    "<body>{% module Widget() %}{% module Widget(label='again') %}</body></html>"
)


async def test_module_resources_are_inserted_in_place() -> None:
    class Handler(RequestHandler):
        def static_url(self, path: str, include_host: bool | None = None, **kw: Any) -> str:
            return f"/static/{path}?v=1&x=2"

        def get(self) -> None:
            self.render("page.html")

    Widget.created = 0
    app = Application(
        [(r"/", Handler)],
        template_loader=DictLoader({"page.html": _PAGE}),
        ui_modules={"Widget": Widget},
    )
    response = await fetch(app)
    assert response.text == (
        "<html><head><title>t</title>"
        '<link href="/static/s.css?v=1&amp;x=2" type="text/css" rel="stylesheet"/>\n'
        '<style type="text/css">\nb { color: red }\n</style>\n'
        "<meta name=x>\n"
        "</head><body><b>w</b><b>again</b>"
        '<script src="/static/a.js?v=1&amp;x=2" type="text/javascript"></script>'
        '<script src="/abs.js" type="text/javascript"></script>\n'
        '<script type="text/javascript">\n//<![CDATA[\nrun();\n//]]>\n</script>\n'
        "<i>end</i>\n"
        "</body></html>"
    )
    # One instance per module and request, so its resources appear once.
    assert Widget.created == 1


async def test_module_files_without_static_url_are_used_as_given() -> None:
    class Handler(RequestHandler):
        static_url = None  # type: ignore[assignment]  # as if the handler had none

        def get(self) -> None:
            self.render("page.html")

    app = Application(
        [(r"/", Handler)],
        template_loader=DictLoader({"page.html": _PAGE}),
        ui_modules={"Widget": Widget},
    )
    text = (await fetch(app)).text
    assert '<link href="s.css" type="text/css" rel="stylesheet"/>' in text
    assert '<script src="a.js" type="text/javascript"></script><script src="/abs.js"' in text


async def test_render_string_does_not_insert_resources() -> None:
    class Handler(RequestHandler):
        def get(self) -> None:
            self.write(self.render_string("page.html"))

    app = Application(
        [(r"/", Handler)],
        template_loader=DictLoader({"page.html": _PAGE}),
        ui_modules={"Widget": Widget},
    )
    assert (await fetch(app)).text == (
        "<html><head><title>t</title></head><body><b>w</b><b>again</b></body></html>"
    )


async def test_ui_modules_from_a_module_a_list_and_a_dict() -> None:
    python_module = types.ModuleType("widgets")
    python_module.Widget = Widget  # type: ignore[attr-defined]
    python_module.not_a_module = 42  # type: ignore[attr-defined]
    app = dict_app(
        {"page.html": "{% module Widget('m') %}{% module Bare() %}{% module Other() %}"},
        ui_modules=[python_module, {"Bare": Bare, "ignored": "not a class"}, {"Other": Bare}],
    )
    assert set(app.ui_modules) == {"linkify", "xsrf_form_html", "Template", "Widget", "Bare"} | {
        "Other"
    }
    # A page without </head> or </body>: Widget's resources have nowhere to go.
    response = await fetch(app)
    assert response.status_code == 500


async def test_modules_without_resources_need_no_head_or_body() -> None:
    app = dict_app(
        {"page.html": "{% module Bare() %}|{{ modules.Bare() }}"}, ui_modules={"Bare": Bare}
    )
    # modules.X(...) in an expression is escaped; {% module %} is not.
    assert (await fetch(app)).text == "<em>bare</em>|&lt;em&gt;bare&lt;/em&gt;"


async def test_builtin_linkify_module() -> None:
    app = dict_app({"page.html": "{% module linkify(text, shorten=True) %}"})
    response = await fetch(app, params={"text": "see http://example.com/ & <more>"})
    assert response.text == (
        'see <a href="http://example.com/">http://example.com/</a> &amp; &lt;more&gt;'
    )


async def test_builtin_xsrf_form_html_module_uses_the_handler() -> None:
    class Handler(RequestHandler):
        def xsrf_form_html(self) -> str:
            return '<input type="hidden" name="_xsrf" value="t"/>'

        def get(self) -> None:
            self.render("page.html")

    app = Application(
        [(r"/", Handler)],
        template_loader=DictLoader({"page.html": "<form>{% module xsrf_form_html() %}</form>"}),
    )
    response = await fetch(app)
    assert response.text == '<form><input type="hidden" name="_xsrf" value="t"/></form>'


async def test_template_module_renders_with_its_own_namespace_and_resources() -> None:
    page = (
        "<html><head></head><body>"
        "{{ outer }}"
        "{% module Template('entry.html', title='One') %}"
        "{% module Template('entry.html', title='<Two>') %}"
        "</body></html>"
    )
    entry = (
        "{{ set_resources(css_files='/entry.css', embedded_javascript='go();') }}"
        "<article>{{ title }} {{ globals().get('outer', 'own namespace') }}</article>"
    )
    app = dict_app({"page.html": page, "entry.html": entry})
    # The page's own arguments (outer) are not passed on to the module's template.
    assert (await fetch(app, params={"outer": "page"})).text == (
        '<html><head><link href="/entry.css" type="text/css" rel="stylesheet"/>\n</head><body>'
        "page<article>One own namespace</article>"
        "<article>&lt;Two&gt; own namespace</article>"
        '<script type="text/javascript">\n//<![CDATA[\ngo();\n//]]>\n</script>\n'
        "</body></html>"
    )


async def test_template_module_refuses_changing_resources() -> None:
    page = "{% module Template('entry.html', css='a.css') %}{% module Template('entry.html') %}"
    entry = "{{ set_resources(css_files=globals().get('css', 'b.css')) }}x"
    response = await fetch(dict_app({"page.html": page, "entry.html": entry}))
    assert response.status_code == 500


async def test_template_module_with_files() -> None:
    app = Application(
        [(r"/", RenderHandler, {"name": "wrapper.html"})],
        template_path=str(TEMPLATES),
    )
    text = (await fetch(app, params={"title": "T"})).text
    assert '<link href="/entry.css" type="text/css" rel="stylesheet"/>' in text
    assert "<article>T</article>" in text
    assert "entries.push(1);" in text


async def test_module_sees_handler_request_locale_and_user() -> None:
    class Who(UIModule):
        def render(self) -> str:
            assert self.ui is self.handler.ui
            return (
                f"{self.request.path} {self.locale.code} {self.current_user} "
                f"{self.render_string('inner.html', x=1).decode()}"
            )

    class Handler(RequestHandler):
        def get_current_user(self) -> str:
            return "bob"

        def get(self) -> None:
            self.render("page.html")

    app = Application(
        [(r"/who", Handler)],
        template_loader=DictLoader({"page.html": "{% module Who() %}", "inner.html": "i{{ x }}"}),
        ui_modules={"Who": Who},
    )
    assert (await fetch(app, "/who")).text == "/who en_US bob i1"


async def test_ui_modules_is_a_template_module_subclass_check() -> None:
    assert issubclass(TemplateModule, UIModule)
    app = Application([])
    assert app.ui_modules["Template"] is TemplateModule
    with pytest.raises(TypeError):
        Application([], ui_modules="widgets")


# --------------------------------------------------------------------------- UI methods


def shout(handler: RequestHandler, text: str, mark: str = "!") -> str:
    return f"{text.upper()}{mark} ({handler.request.path})"


def whisper(handler: RequestHandler, text: str) -> str:
    return text.lower()


async def test_ui_methods_get_the_handler() -> None:
    methods = types.ModuleType("methods")
    methods.shout = shout  # type: ignore[attr-defined]
    methods.Shout = shout  # type: ignore[attr-defined]  # capitalised: skipped
    methods._private = shout  # type: ignore[attr-defined]
    app = dict_app(
        {"page.html": "{{ shout('hi', mark='?') }} {{ whisper('LOW') }}"},
        ui_methods=[methods, {"whisper": whisper, "constant": 3}],
    )
    assert set(app.ui_methods) == {"shout", "whisper"}
    assert (await fetch(app, "/")).text == "HI? (/) low"


async def test_handler_ui_namespace() -> None:
    seen: dict[str, Any] = {}

    class Handler(RequestHandler):
        def get(self) -> None:
            seen["shout"] = self.ui.shout("x")
            seen["same"] = self.ui is self.ui
            seen["modules"] = self.ui["_tt_modules"] is self.ui.modules
            seen["linkify"] = self.ui.modules.linkify("www.example.com")
            with pytest.raises(AttributeError):
                self.ui.modules.Missing  # noqa: B018

    app = Application([(r"/ui", Handler)], ui_methods={"shout": shout})
    assert (await fetch(app, "/ui")).status_code == 200
    assert seen == {
        "shout": "X! (/ui)",
        "same": True,
        "modules": True,
        "linkify": '<a href="http://www.example.com">www.example.com</a>',
    }


# --------------------------------------------------------------------------- the example


def _load_rendering_example() -> types.ModuleType:
    name = "_example_rendering"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / "rendering.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class TestRenderingExample:
    """examples/rendering.py, which docs/rendering.md quotes."""

    @pytest.fixture(autouse=True)
    def locale_state(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("_translations", "_supported_locales", "_use_gettext", "_default_locale"):
            monkeypatch.setattr(locale, name, getattr(locale, name))
        monkeypatch.setattr(locale.Locale, "_cache", {})
        _load_rendering_example().load_translations()

    async def test_home_page(self) -> None:
        app = _load_rendering_example().make_app()
        response = await fetch(app)
        text = response.text
        assert response.status_code == 200
        assert '<html lang="en-US">' in text
        assert "<title>Notebook</title>" in text
        assert "<p>2 notes</p>" in text
        # The module's CSS once in the head, however many notes use it.
        assert text.count(".note { margin: 1em 0 }") == 1
        assert text.index("<style") < text.index("</head>")
        assert '<a href="/notes/trio">Why Trio</a> Structured concurre…' in text
        assert '<a href="/notes/tornado">Coming from Tornado</a>' in text

    async def test_spanish_home_page(self) -> None:
        app = _load_rendering_example().make_app()
        response = await fetch(app, headers={"Accept-Language": "es-ES,en;q=0.5"})
        assert '<html lang="es-ES">' in response.text
        assert "<title>Cuaderno</title>" in response.text
        assert "<p>2 notas</p>" in response.text

    async def test_note_page(self) -> None:
        app = _load_rendering_example().make_app(debug=True)
        async with open_test_client(app) as client:
            response = await client.get("/notes/trio")
            assert "<title>Why Trio</title>" in response.text
            assert (
                '<p>Structured concurrency: see <a href="https://trio.readthedocs.io/">'
                "https://trio.readthedocs.io/</a> &lt;3</p>"
            ) in response.text
            assert (await client.get("/notes/nothing")).status_code == 404
