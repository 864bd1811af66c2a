"""Locales in handlers: Accept-Language negotiation, user locales, translations in templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trinado import locale
from trinado.template import DictLoader
from trinado.testing import open_test_client
from trinado.web import Application, RequestHandler, UIModule

CSV_ES = """\
"Hello","Hola"
"Sign out","Cerrar sesión"
"%(n)d apple","%(n)d manzana","singular"
"%(n)d apples","%(n)d manzanas","plural"
"""

CSV_FR = """\
"Hello","Bonjour"
"""


@pytest.fixture(autouse=True)
def locale_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The locale module keeps process-wide state: put it back after each test."""
    for name in ("_translations", "_supported_locales", "_use_gettext", "_default_locale"):
        monkeypatch.setattr(locale, name, getattr(locale, name))
    monkeypatch.setattr(locale.Locale, "_cache", {})
    RequestHandler._template_loaders.clear()
    yield
    RequestHandler._template_loaders.clear()


@pytest.fixture
def translations(tmp_path: Path) -> None:
    (tmp_path / "es_ES.csv").write_text(CSV_ES, encoding="utf-8")
    (tmp_path / "fr.csv").write_text(CSV_FR, encoding="utf-8")
    (tmp_path / "de_DE.csv").write_text('"Hello","Hallo"\n', encoding="utf-8")
    locale.load_translations(str(tmp_path))


class LocaleHandler(RequestHandler):
    def get(self) -> None:
        self.write({"code": self.locale.code, "hello": self.locale.translate("Hello")})


async def get_json(app: Application, headers: dict[str, str] | None = None) -> Any:
    async with open_test_client(app) as client:
        response = await client.get("/", headers=headers or {})
    assert response.status_code == 200
    return response.json()


@pytest.mark.usefixtures("translations")
@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        (None, "en_US"),
        ("es-ES", "es_ES"),
        ("es-es", "es_ES"),
        ("es", "en_US"),  # no bare "es" translation; es_ES is not a fallback for "es"
        ("fr-CA", "fr"),  # the language alone is supported
        ("en-US,en;q=0.8", "en_US"),
        ("de;q=0.2, es-ES;q=0.9, fr;q=0.5", "es_ES"),  # by quality, not by position
        ("fr;q=0.5, de-DE;q=0.5", "fr"),  # equal qualities keep their order
        ("es-ES;q=0, fr", "fr"),  # q=0 means "not this one"
        ("es-ES;q=-1, fr;q=0.1", "fr"),  # a negative quality counts as 0
        ("es-ES;q=high, fr;q=0.1", "fr"),  # so does an invalid one
        ("ja, pt-BR;q=0.9", "en_US"),  # nothing supported: the default locale
        ("*", "en_US"),
        ("", "en_US"),
    ],
)
async def test_browser_locale_from_accept_language(
    accept_language: str | None, expected: str
) -> None:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    answer = await get_json(Application([(r"/", LocaleHandler)]), headers)
    assert answer["code"] == expected


@pytest.mark.usefixtures("translations")
async def test_browser_locale_default_argument_and_default_locale() -> None:
    class Handler(RequestHandler):
        def get(self) -> None:
            self.write({"code": self.get_browser_locale("fr_FR").code})

    app = Application([(r"/", Handler)])
    # No header: the code given as default (closest supported: "fr").
    assert (await get_json(app))["code"] == "fr"
    # A header with nothing supported falls back to the default locale instead.
    assert (await get_json(app, {"Accept-Language": "ja"}))["code"] == "en_US"
    locale.set_default_locale("de_DE")
    assert (await get_json(app, {"Accept-Language": "ja"}))["code"] == "de_DE"


@pytest.mark.usefixtures("translations")
async def test_user_locale_wins_and_is_asked_once() -> None:
    calls: list[str] = []

    class Handler(LocaleHandler):
        def get_user_locale(self) -> locale.Locale | None:
            calls.append("user")
            if self.get_query_argument("lang", None):
                return locale.get(self.get_query_argument("lang"))
            return None

        def get(self) -> None:
            assert self.locale is self.locale
            super().get()

    app = Application([(r"/", Handler)])
    async with open_test_client(app) as client:
        response = await client.get("/", params={"lang": "fr"}, headers={"Accept-Language": "es"})
        assert response.json() == {"code": "fr", "hello": "Bonjour"}
        response = await client.get("/", headers={"Accept-Language": "es-ES"})
        assert response.json() == {"code": "es_ES", "hello": "Hola"}
    assert calls == ["user", "user"]


@pytest.mark.usefixtures("translations")
async def test_locale_can_be_set() -> None:
    class Handler(LocaleHandler):
        def prepare(self) -> None:
            self.locale = locale.get("de_DE")

    answer = await get_json(Application([(r"/", Handler)]), {"Accept-Language": "es-ES"})
    assert answer == {"code": "de_DE", "hello": "Hallo"}


PAGE = (
    "<p>{{ _('Hello') }} / {{ _('%(n)d apple', '%(n)d apples', n) % {'n': n} }} / "
    "{{ pgettext('menu', 'Sign out') }} / {{ locale.code }} / {{ locale.name }}</p>"
)


class PageHandler(RequestHandler):
    def get(self) -> None:
        self.render("page.html", n=int(self.get_argument("n", "1")))


@pytest.mark.usefixtures("translations")
@pytest.mark.parametrize(
    ("accept_language", "n", "expected"),
    [
        ("es-ES", 1, "<p>Hola / 1 manzana / Cerrar sesión / es_ES / Español (España)</p>"),
        ("es-ES", 3, "<p>Hola / 3 manzanas / Cerrar sesión / es_ES / Español (España)</p>"),
        ("fr", 2, "<p>Bonjour / 2 apples / Sign out / fr / Unknown</p>"),
        ("en", 1, "<p>Hello / 1 apple / Sign out / en_US / English (US)</p>"),
    ],
)
async def test_translations_in_templates(accept_language: str, n: int, expected: str) -> None:
    app = Application([(r"/", PageHandler)], template_loader=DictLoader({"page.html": PAGE}))
    async with open_test_client(app) as client:
        response = await client.get(
            "/", params={"n": str(n)}, headers={"Accept-Language": accept_language}
        )
    assert response.text == expected


@pytest.mark.usefixtures("translations")
async def test_ui_modules_share_the_handler_locale() -> None:
    class Greeting(UIModule):
        def render(self) -> str:
            assert self.locale is self.handler.locale
            return self.locale.translate("Hello")

    app = Application(
        [(r"/", PageHandler)],
        template_loader=DictLoader({"page.html": "{% module Greeting() %}"}),
        ui_modules={"Greeting": Greeting},
    )
    async with open_test_client(app) as client:
        response = await client.get("/", headers={"Accept-Language": "de-de"})
    assert response.text == "Hallo"
