"""Tests for trinado.locale: loading translations, choosing a locale, and formatting.

Where Tornado is installed, the same inputs also go through ``tornado.locale`` and must give
the same strings. Both modules keep their translations in module-level state and
``format_date`` reads the clock, so every test runs with that state saved and restored, and
the clock of both is frozen by replacing what each reads the time from.
"""

from __future__ import annotations

import codecs
import datetime
import gettext
import importlib.util
import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trinado import locale
from trinado.locale import CSVLocale, GettextLocale, Locale

tornado_locale: Any = pytest.importorskip("tornado.locale")
# Tornado 6.6 is the reference; Python 3.10 gets 6.5, which formats future dates differently.
TORNADO_IS_THE_REFERENCE = tuple(
    int(part) for part in pytest.importorskip("tornado").version.split(".")[:2]
) >= (6, 6)

HERE = Path(__file__).resolve().parent
CSV_DIR = str(HERE / "translations" / "csv")
GETTEXT_DIR = str(HERE / "translations" / "gettext")
DOMAIN = "trinado_test"

UTC = datetime.timezone.utc
# A Thursday afternoon; Monday 16 March is three days back, 3 March two weeks and a bit.
NOW = datetime.datetime(2020, 3, 19, 15, 30, tzinfo=UTC)
_STATE = ("_default_locale", "_translations", "_supported_locales", "_use_gettext")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Saves and restores both modules' state, empties their caches and freezes their clocks."""
    for module in (locale, tornado_locale):
        for name in _STATE:
            monkeypatch.setattr(module, name, getattr(module, name))
        monkeypatch.setattr(module.Locale, "_cache", {})
    monkeypatch.setattr(locale, "_utc_now", lambda: NOW)
    frozen = types.SimpleNamespace(
        now=lambda tz=None: NOW,
        utcnow=lambda: NOW.replace(tzinfo=None),
        fromtimestamp=datetime.datetime.fromtimestamp,
    )
    # (Tornado 6.6 reads datetime.UTC; 6.5, which Python 3.10 gets, datetime.timezone.)
    fake_datetime_module = types.SimpleNamespace(
        datetime=frozen, timedelta=datetime.timedelta, UTC=UTC, timezone=datetime.timezone
    )
    monkeypatch.setattr(tornado_locale, "datetime", fake_datetime_module)


@pytest.fixture
def csv_loaded() -> None:
    locale.load_translations(CSV_DIR)
    tornado_locale.load_translations(CSV_DIR)


@pytest.fixture
def gettext_loaded() -> None:
    locale.load_gettext_translations(GETTEXT_DIR, DOMAIN)
    tornado_locale.load_gettext_translations(GETTEXT_DIR, DOMAIN)


def write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


# --- defaults and locale names ---------------------------------------------------------------


def test_without_translations_only_the_default_is_supported() -> None:
    assert locale.get_supported_locales() == frozenset({"en_US"})
    english = locale.get("fr_FR", "de")
    assert isinstance(english, CSVLocale)
    assert english.code == "en_US"
    assert english.translate("Sign out") == "Sign out"
    assert english.translate("%(n)d file", "%(n)d files", 2) == "%(n)d files"
    assert locale.get() is english  # cached: one object per code


def test_locale_names_match_tornado() -> None:
    ours = locale.LOCALE_NAMES
    theirs = tornado_locale.LOCALE_NAMES
    assert set(ours) == set(theirs)
    for code, names in theirs.items():
        assert ours[code]["name"] == names["name"], code
        if code != "uk_UA":  # Tornado's English name for it is misspelt "Ukraini "
            assert ours[code]["name_en"] == names["name_en"], code
    assert ours["uk_UA"]["name_en"] == "Ukrainian"
    assert ours["es_LA"]["name"] == "Espa\u00f1ol"


@pytest.mark.parametrize(
    ("code", "name", "rtl"),
    [
        ("fa_IR", "\u0641\u0627\u0631\u0633\u06cc", True),
        ("ar_AR", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", True),
        ("he_IL", "\u05e2\u05d1\u05e8\u05d9\u05ea", True),
        ("he", "Unknown", True),
        ("fr_FR", "Fran\u00e7ais", False),
        ("xx_YY", "Unknown", False),
    ],
)
def test_name_and_rtl(code: str, name: str, rtl: bool) -> None:
    ours = CSVLocale(code, {})
    theirs = tornado_locale.CSVLocale(code, {})
    assert (ours.code, ours.name, ours.rtl) == (code, name, rtl)
    assert (theirs.name, theirs.rtl) == (name, rtl)


# --- choosing a locale -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("es_LA",), "es_LA"),
        (("es-la",), "es_LA"),
        (("ES_la",), "es_LA"),
        (("de_DE", "fr_FR"), "fr_FR"),
        (("", "fr_FR"), "fr_FR"),
        (("fr_FR_x", "es_LA"), "es_LA"),  # three parts: skipped
        (("fr",), "en_US"),  # a language does not reach its regions
        (("fr_CA",), "en_US"),
        (("en_us",), "en_US"),
        (("de",), "en_US"),
        ((), "en_US"),
    ],
)
def test_get_closest(csv_loaded: None, codes: tuple[str, ...], expected: str) -> None:
    assert locale.get(*codes).code == expected
    assert Locale.get_closest(*codes).code == expected
    assert tornado_locale.get(*codes).code == expected


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (("fr_CA",), "fr"),  # a region falls back to its language
        (("FR",), "fr"),
        (("fr-be", "es_LA"), "fr"),
        (("pt_BR", "es_MX"), "en_US"),  # es is not supported, and es_LA is not a fallback
        (("pt", "es_LA"), "es_LA"),
    ],
)
def test_region_falls_back_to_language(
    tmp_path: Path, codes: tuple[str, ...], expected: str
) -> None:
    write(tmp_path / "fr.csv", '"school","\u00e9cole"\n')
    write(tmp_path / "es_LA.csv", '"school","escuela"\n')
    locale.load_translations(str(tmp_path))
    tornado_locale.load_translations(str(tmp_path))
    assert locale.get(*codes).code == expected
    assert tornado_locale.get(*codes).code == expected


def test_locale_get_needs_a_supported_code(csv_loaded: None) -> None:
    assert Locale.get("fr_FR") is Locale.get("fr_FR")
    with pytest.raises(ValueError, match="de_DE"):
        Locale.get("de_DE")
    with pytest.raises(ValueError, match="fr"):
        Locale.get("fr")  # exact codes only


def test_supported_locales(csv_loaded: None) -> None:
    assert locale.get_supported_locales() == frozenset({"en_US", "es_LA", "fr_FR"})
    assert set(tornado_locale.get_supported_locales()) == locale.get_supported_locales()


def test_set_default_locale(csv_loaded: None) -> None:
    locale.set_default_locale("fr_FR")
    assert locale.get("de_DE").code == "fr_FR"
    assert locale.get_supported_locales() == frozenset({"es_LA", "fr_FR"})
    locale.set_default_locale("pt_BR")
    assert locale.get_supported_locales() == frozenset({"es_LA", "fr_FR", "pt_BR"})
    brazilian = locale.get("de_DE")
    assert brazilian.code == "pt_BR"
    assert brazilian.name == "Portugu\u00eas (Brasil)"
    assert brazilian.translate("school") == "school"
    assert locale.get("pt").code == "pt_BR"


def test_default_is_kept_when_translations_load(tmp_path: Path) -> None:
    locale.set_default_locale("de_DE")
    write(tmp_path / "fr_FR.csv", '"a","b"\n')
    locale.load_translations(str(tmp_path))
    assert locale.get_supported_locales() == frozenset({"de_DE", "fr_FR"})
    assert locale.get("xx").code == "de_DE"


# --- CSV translations ------------------------------------------------------------------------


def test_csv_translations(csv_loaded: None) -> None:
    spanish = locale.get("es_LA")
    assert isinstance(spanish, CSVLocale)
    assert spanish.name == "Espa\u00f1ol"
    assert spanish.translate("I love you") == "Te amo"
    assert spanish.translate("school") == "escuela"  # an empty indicator means "unknown"
    assert spanish.translate("Nothing like it") == "Nothing like it"
    assert locale.get("fr_FR").translate("school") == "\u00e9cole"


def test_csv_plurals(csv_loaded: None) -> None:
    spanish = locale.get("es_LA")
    liked = "%(name)s liked this"
    assert spanish.translate(liked, liked, 1) == "A %(name)s le gust\u00f3 esto"
    assert spanish.translate(liked, liked, 2) == "A %(name)s les gust\u00f3 esto"
    french = locale.get("fr_FR")
    apples = ("%(count)d apple", "%(count)d apples")
    assert french.translate(*apples, 1) % {"count": 1} == "1 pomme"
    assert french.translate(*apples, 3) % {"count": 3} == "3 pommes"
    assert french.translate(*apples, 0) == "%(count)d pommes"  # CSV: count != 1 is plural
    # A message that only has an "unknown" row is not used for a counted message.
    assert spanish.translate("school", "schools", 1) == "school"
    assert spanish.translate("school", "schools", 2) == "schools"
    with pytest.raises(ValueError, match="count"):
        spanish.translate(liked, liked)


def test_csv_translations_match_tornado(csv_loaded: None) -> None:
    calls: list[tuple[Any, ...]] = [
        ("I love you",),
        ("school",),
        ("missing",),
        ("school", "schools", 1),
        ("%(name)s liked this", "%(name)s liked this", 1),
        ("%(name)s liked this", "%(name)s liked this", 7),
        ("%(count)d apple", "%(count)d apples", 0),
        ("%(count)d apple", "%(count)d apples", 1),
    ]
    for code in ("es_LA", "fr_FR", "en_US"):
        ours, theirs = locale.get(code), tornado_locale.get(code)
        for args in calls:
            assert ours.translate(*args) == theirs.translate(*args), (code, args)
        assert isinstance(ours, CSVLocale)
        assert ours.translations == theirs.translations


def test_csv_pgettext_ignores_the_context(
    csv_loaded: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="trinado.general"):
        assert locale.get("en_US").pgettext("law", "right") == "right"
        assert not caplog.records  # no translations, nothing lost
        spanish = locale.get("es_LA")
        assert spanish.pgettext("feeling", "I love you") == "Te amo"
        liked = "%(name)s liked this"
        assert spanish.pgettext("ctx", liked, liked, 2) == "A %(name)s les gust\u00f3 esto"
    assert "pgettext is not supported by CSVLocale" in caplog.text


def test_bad_csv_rows_are_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(
        tmp_path / "es_ES.csv",
        '"uno","one"\n'
        '"solo"\n'  # one cell: skipped quietly
        "\n"
        '"dos","two","dual"\n'  # bad indicator: logged
        " tres , three ,plural, extra\n"  # cells are stripped, extra cells ignored
        '"cuatro","four",\n',
    )
    with caplog.at_level(logging.DEBUG, logger="trinado.general"):
        locale.load_translations(str(tmp_path))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["Unrecognized plural indicator 'dual' in es_ES.csv line 4"]
    spanish = locale.get("es_ES")
    assert isinstance(spanish, CSVLocale)
    assert spanish.translations == {
        "unknown": {"uno": "one", "cuatro": "four"},
        "plural": {"tres": "three"},
    }
    tornado_locale.load_translations(str(tmp_path))
    assert tornado_locale.get("es_ES").translations == spanish.translations


def test_files_that_are_not_locales_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("EN.csv", "fr_fr.csv", "fr.FR.csv", "de-DE.csv"):
        write(tmp_path / name, '"a","b"\n')
    write(tmp_path / "notes.txt", '"a","b"\n')
    write(tmp_path / "it_IT.csv", '"a","b"\n')
    with caplog.at_level(logging.ERROR, logger="trinado.general"):
        locale.load_translations(str(tmp_path))
    assert locale.get_supported_locales() == frozenset({"en_US", "it_IT"})
    logged = caplog.text
    for code in ("'EN'", "'fr_fr'", "'fr.FR'", "'de-DE'"):
        assert f"Unrecognized locale {code}" in logged
    assert "notes" not in logged


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_csv_encoding_is_detected_from_the_bom(tmp_path: Path, encoding: str) -> None:
    text = '"school","\u00e9cole"\n"I love you","Je t\'aime"\n'
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # these codecs write no BOM: add one
        data = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + data
    (tmp_path / "fr_FR.csv").write_bytes(data)
    locale.load_translations(str(tmp_path))
    french = locale.get("fr_FR")
    assert french.translate("school") == "\u00e9cole"
    assert french.translate("I love you") == "Je t'aime"  # no BOM left in the first cell


def test_csv_encoding_is_detected_per_file(tmp_path: Path) -> None:
    write(tmp_path / "de_DE.csv", '"school","Schule"\n', "utf-16")
    write(tmp_path / "fr_FR.csv", '"school","\u00e9cole"\n', "utf-8")
    locale.load_translations(str(tmp_path))
    assert locale.get("de_DE").translate("school") == "Schule"
    assert locale.get("fr_FR").translate("school") == "\u00e9cole"


def test_csv_explicit_encoding(tmp_path: Path) -> None:
    write(tmp_path / "fr_FR.csv", '"school","\u00e9cole"\n', "latin-1")
    locale.load_translations(str(tmp_path), encoding="latin-1")
    assert locale.get("fr_FR").translate("school") == "\u00e9cole"
    with pytest.raises(UnicodeDecodeError):
        locale.load_translations(str(tmp_path))  # detected as UTF-8: it is not


def test_loading_twice_replaces_the_translations(csv_loaded: None, tmp_path: Path) -> None:
    before = locale.get("fr_FR")
    assert before.translate("school") == "\u00e9cole"
    write(tmp_path / "fr_FR.csv", '"school","\u00c9COLE"\n')
    write(tmp_path / "de_DE.csv", '"school","Schule"\n')
    locale.load_translations(str(tmp_path))
    assert locale.get_supported_locales() == frozenset({"en_US", "fr_FR", "de_DE"})
    assert locale.get("es_LA").code == "en_US"  # gone
    after = locale.get("fr_FR")
    assert after is not before
    assert after.translate("school") == "\u00c9COLE"
    assert before.translate("school") == "\u00e9cole"  # a locale already held keeps its table

    locale.load_translations(str(tmp_path))  # the same directory again: same result
    assert locale.get("de_DE").translate("school") == "Schule"


def test_loading_csv_after_gettext(gettext_loaded: None) -> None:
    assert isinstance(locale.get("fr_FR"), GettextLocale)
    locale.load_translations(CSV_DIR)
    french = locale.get("fr_FR")
    assert isinstance(french, CSVLocale)
    assert french.translate("%(count)d apple", "%(count)d apples", 0) == "%(count)d pommes"
    locale.load_gettext_translations(GETTEXT_DIR, DOMAIN)
    assert isinstance(locale.get("fr_FR"), GettextLocale)
    assert locale.get_supported_locales() == frozenset({"en_US", "fr_FR"})


# --- gettext translations --------------------------------------------------------------------


def test_gettext_translations(gettext_loaded: None) -> None:
    assert locale.get_supported_locales() == frozenset({"en_US", "fr_FR"})
    french = locale.get("fr_FR")
    assert isinstance(french, GettextLocale)
    assert french.name == "Fran\u00e7ais"
    assert french.translate("school") == "\u00e9cole"
    assert french.translate("Sign out") == "Se d\u00e9connecter"  # continued strings
    assert french.translate('Say "hi"\n') == "Dis \u00ab salut \u00bb\n"  # escapes
    assert french.translate("Not reviewed") == "Not reviewed"  # fuzzy: left out
    assert french.translate("Not translated") == "Not translated"
    # The default locale has no catalog: a plain CSVLocale.
    assert isinstance(locale.get("en_US"), CSVLocale)


def test_gettext_plurals_follow_the_catalog(gettext_loaded: None) -> None:
    french = locale.get("fr_FR")
    apples = ("%(count)d apple", "%(count)d apples")
    # Plural-Forms: plural=(n > 1), so French uses the singular for 0 too.
    assert french.translate(*apples, 0) % {"count": 0} == "0 pomme"
    assert french.translate(*apples, 1) % {"count": 1} == "1 pomme"
    assert french.translate(*apples, 2) % {"count": 2} == "2 pommes"
    assert french.translate("club", "clubs", 5) == "des clubs"
    assert french.translate("tree", "trees", 0) == "trees"  # untranslated: English rule
    assert french.translate("tree", "trees", 1) == "tree"
    with pytest.raises(ValueError, match="count"):
        french.translate("tree", "trees")


def test_gettext_pgettext(gettext_loaded: None) -> None:
    french = locale.get("fr_FR")
    assert french.pgettext("law", "right") == "le droit"
    assert french.pgettext("good", "right") == "le bien"
    assert french.pgettext("organization", "club", "clubs", 1) == "le club"
    assert french.pgettext("organization", "club", "clubs", 2) == "les clubs"
    assert french.pgettext("stick", "club", "clubs", 1) == "le b\u00e2ton"
    assert french.pgettext("stick", "club", "clubs", 2) == "les b\u00e2tons"
    assert french.pgettext("stick", "club", "clubs", 0) == "le b\u00e2ton"
    # An unknown context: plurals fall back to the context-free entry, singulars do not.
    assert french.pgettext("golf", "club", "clubs", 2) == "des clubs"
    assert french.pgettext("golf", "right") == "right"
    assert french.pgettext("golf", "tree", "trees", 2) == "trees"
    with pytest.raises(ValueError, match="count"):
        french.pgettext("stick", "club", "clubs")


def test_gettext_matches_tornado(gettext_loaded: None) -> None:
    ours, theirs = locale.get("fr_FR"), tornado_locale.get("fr_FR")
    assert isinstance(theirs, tornado_locale.GettextLocale)
    for message in ("school", "Sign out", "right", "Not reviewed", "March", "nothing"):
        assert ours.translate(message) == theirs.translate(message)
    for count in (0, 1, 2, 11):
        for plural in (("club", "clubs"), ("%(count)d apple", "%(count)d apples"), ("a", "b")):
            assert ours.translate(*plural, count) == theirs.translate(*plural, count)
            for context in ("organization", "stick", "golf"):
                args = (context, *plural, count)
                assert ours.pgettext(*args) == theirs.pgettext(*args), args
    for context in ("law", "good", "golf"):
        assert ours.pgettext(context, "right") == theirs.pgettext(context, "right")


def test_unreadable_catalogs_are_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "de_DE" / "LC_MESSAGES" / "app.mo", "not a catalog")
    good = Path(GETTEXT_DIR) / "fr_FR" / "LC_MESSAGES" / f"{DOMAIN}.mo"
    (tmp_path / "fr_FR" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr_FR" / "LC_MESSAGES" / "app.mo").write_bytes(good.read_bytes())
    write(tmp_path / "it_IT" / "LC_MESSAGES" / "other.mo", "another domain")
    with caplog.at_level(logging.ERROR, logger="trinado.general"):
        locale.load_gettext_translations(str(tmp_path), "app")
    assert "Cannot load translation for 'de_DE'" in caplog.text
    assert locale.get_supported_locales() == frozenset({"en_US", "fr_FR"})
    assert locale.get("fr_FR").translate("school") == "\u00e9cole"


def test_gettext_with_no_catalogs(tmp_path: Path) -> None:
    locale.load_gettext_translations(str(tmp_path), DOMAIN)
    assert locale.get_supported_locales() == frozenset({"en_US"})
    assert locale.get("fr_FR").code == "en_US"


def _load_make_mo() -> types.ModuleType:
    if "_make_mo" in sys.modules:
        return sys.modules["_make_mo"]
    spec = importlib.util.spec_from_file_location("_make_mo", HERE / "translations" / "make_mo.py")
    if spec is None or spec.loader is None:
        raise ImportError("cannot load make_mo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_make_mo"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_committed_mo_files_are_current() -> None:
    make_mo = _load_make_mo()
    assert make_mo.catalogs(), "no .po files found"
    assert make_mo.main(["--check"]) == 0, "run python tests/translations/make_mo.py"


def test_make_mo_output_reads_back(tmp_path: Path) -> None:
    make_mo = _load_make_mo()
    po = (
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n==2 ? 1 : 2);\\n"\n\n'
        'msgctxt "c"\nmsgid "one"\nmsgid_plural "many"\n'
        'msgstr[0] "\u00fan"\nmsgstr[1] "d\u00f3"\nmsgstr[2] "sok"\n'
    )
    mo = tmp_path / "x.mo"
    mo.write_bytes(make_mo.compile_entries(make_mo.parse_po(po)))
    with mo.open("rb") as f:
        catalog = gettext.GNUTranslations(f)
    assert [catalog.npgettext("c", "one", "many", n) for n in (1, 2, 3)] == [
        "\u00fan",
        "d\u00f3",
        "sok",
    ]
    with pytest.raises(ValueError, match="line 1"):
        make_mo.parse_po("msgid nope\n")


# --- format_date -----------------------------------------------------------------------------


def ago(**delta: float) -> datetime.datetime:
    return NOW - datetime.timedelta(**delta)


@pytest.mark.parametrize(
    ("date", "kwargs", "expected"),
    [
        (ago(seconds=0), {}, "0 seconds ago"),
        (ago(seconds=1), {}, "1 second ago"),
        (ago(seconds=49), {}, "49 seconds ago"),
        (ago(seconds=50), {}, "1 minute ago"),
        (ago(seconds=89), {}, "1 minute ago"),
        (ago(seconds=150), {}, "2 minutes ago"),  # round half to even, as Tornado
        (ago(minutes=49, seconds=59), {}, "50 minutes ago"),
        (ago(minutes=50), {}, "1 hour ago"),
        (ago(hours=2), {}, "2 hours ago"),
        (ago(hours=23, minutes=59), {}, "24 hours ago"),
        (ago(hours=2), {"relative": False}, "1:30 pm"),
        (ago(hours=15, minutes=30), {"relative": False}, "12:00 am"),
        (ago(hours=3), {"relative": False, "shorter": True}, "12:30 pm"),
        (ago(hours=29, minutes=30), {}, "yesterday at 10:00 am"),
        (ago(hours=29, minutes=30), {"shorter": True}, "yesterday"),
        (ago(hours=29, minutes=30), {"relative": False}, "Wednesday at 10:00 am"),
        (ago(hours=47, minutes=30), {}, "Tuesday at 4:00 pm"),  # 1 day, not yesterday's date
        (ago(days=3), {}, "Monday at 3:30 pm"),
        (ago(days=3), {"shorter": True}, "Monday"),
        (ago(days=4, hours=23), {}, "Saturday at 4:30 pm"),
        (ago(days=5), {}, "March 14 at 3:30 pm"),
        (datetime.datetime(2020, 3, 3, 9, 5), {"shorter": True}, "March 3"),
        (datetime.datetime(2020, 3, 3, 9, 5), {}, "March 3 at 9:05 am"),
        (ago(days=333), {"shorter": True}, "April 21"),
        (ago(days=334), {"shorter": True}, "April 20, 2019"),
        (datetime.datetime(2020, 3, 3, 9, 5), {"full_format": True}, "March 3, 2020 at 9:05 am"),
        (datetime.datetime(2020, 3, 3), {"full_format": True, "shorter": True}, "March 3, 2020"),
        (datetime.datetime(2013, 4, 28, 18, 35), {}, "April 28, 2013 at 6:35 pm"),
        (ago(seconds=2), {"full_format": True}, "March 19, 2020 at 3:29 pm"),
        # The future: under a minute ahead is "now" in relative mode, else a full date.
        (ago(seconds=-30), {}, "0 seconds ago"),
        (ago(seconds=-59), {}, "0 seconds ago"),
        (ago(seconds=-60), {}, "March 19, 2020 at 3:31 pm"),
        (ago(seconds=-30), {"relative": False}, "March 19, 2020 at 3:30 pm"),
        (ago(days=-2), {"shorter": True}, "March 21, 2020"),
        # Local time: gmt_offset minutes are subtracted.
        (ago(hours=2), {"relative": False, "gmt_offset": 300}, "8:30 am"),
        (ago(hours=2), {"relative": False, "gmt_offset": -120}, "3:30 pm"),
        (ago(days=3, hours=16), {"gmt_offset": -600}, "Monday at 9:30 am"),
        (ago(days=3, hours=15), {"gmt_offset": 60}, "Sunday at 11:30 pm"),
    ],
)
def test_format_date_english(date: datetime.datetime, kwargs: Any, expected: str) -> None:
    english = locale.get("en_US")
    assert english.format_date(date, **kwargs) == expected
    if TORNADO_IS_THE_REFERENCE:
        assert tornado_locale.get("en_US").format_date(date, **kwargs) == expected


def test_format_date_accepts_timestamps_and_aware_datetimes() -> None:
    english = locale.get("en_US")
    stamp = NOW.timestamp()
    assert english.format_date(int(stamp) - 120) == "2 minutes ago"
    assert english.format_date(stamp - 7200.0) == "2 hours ago"
    assert english.format_date(1367174100, full_format=True) == "April 28, 2013 at 6:35 pm"
    naive = NOW.replace(tzinfo=None) - datetime.timedelta(minutes=5)
    assert english.format_date(naive) == "5 minutes ago"
    paris = datetime.timezone(datetime.timedelta(hours=1))
    in_paris = (NOW - datetime.timedelta(hours=2)).astimezone(paris)
    assert english.format_date(in_paris) == "2 hours ago"
    assert english.format_date(in_paris, relative=False) == "2:30 pm"  # its own clock


@pytest.mark.parametrize(
    ("code", "date", "kwargs", "expected"),
    [
        ("fr_FR", ago(hours=29, minutes=30), {}, "hier \u00e0 10:00"),  # 24-hour clock
        ("fr_FR", ago(hours=2), {"relative": False}, "13:30"),
        ("fr_FR", datetime.datetime(2019, 3, 3, 21, 5), {}, "3 mars 2019 \u00e0 21:05"),
        ("es_LA", ago(days=3), {"shorter": True}, "lunes"),
        ("zh_CN", ago(hours=2), {"relative": False}, "\u4e0b\u53481:30"),
        ("zh_CN", ago(hours=15, minutes=30), {"relative": False}, "\u4e0a\u534812:00"),
        ("en", ago(hours=15), {"relative": False}, "12:30 am"),
        ("en_GB", ago(hours=15), {"relative": False}, "0:30"),
    ],
)
def test_format_date_other_locales(
    csv_loaded: None, code: str, date: datetime.datetime, kwargs: Any, expected: str
) -> None:
    def make(module: Any) -> Any:
        if code in module.get_supported_locales():
            return module.get(code)
        return module.CSVLocale(code, {})

    assert make(locale).format_date(date, **kwargs) == expected
    assert make(tornado_locale).format_date(date, **kwargs) == expected


def test_format_date_gettext(gettext_loaded: None) -> None:
    french = locale.get("fr_FR")
    assert french.format_date(ago(minutes=1)) == "il y a 1 minute"
    assert french.format_date(ago(minutes=5)) == "il y a 5 minutes"
    assert french.format_date(ago(days=3)) == "lundi \u00e0 15:30"
    assert french.format_date(datetime.datetime(2020, 3, 3, 9, 5), shorter=True) == "3 mars"


def _format_date_inputs() -> Iterator[tuple[Any, dict[str, Any]]]:
    deltas = [
        datetime.timedelta(seconds=s)
        for s in (-3600, -61, -60, -59, -1, 0, 1, 49, 50, 89, 90, 149, 150, 151, 2999, 3000)
    ]
    deltas += [datetime.timedelta(hours=h, minutes=m) for h in (1, 5, 12, 23) for m in (0, 29)]
    deltas += [
        datetime.timedelta(days=d, hours=h)
        for d in (1, 2, 4, 5, 6, 100, 333, 334, 335, 400, 3000)
        for h in (0, 7, 16, 23)
    ]
    hour = datetime.timezone(datetime.timedelta(hours=1))
    for delta in deltas:
        moment = NOW - delta
        dates: list[Any] = [moment, moment.replace(tzinfo=None), moment.timestamp()]
        dates += [int(moment.timestamp()), moment.astimezone(hour)]
        for date in dates:
            for relative in (True, False):
                for shorter in (True, False):
                    for full_format in (False, True):
                        for gmt_offset in (0, 300, -330, 960, -840):
                            yield (
                                date,
                                {
                                    "gmt_offset": gmt_offset,
                                    "relative": relative,
                                    "shorter": shorter,
                                    "full_format": full_format,
                                },
                            )


def test_format_date_matches_tornado_everywhere(csv_loaded: None) -> None:
    mismatches = []
    for code in ("en_US", "es_LA", "fr_FR", "zh_CN", "fa_IR"):
        ours = locale.get(code) if code in locale.get_supported_locales() else CSVLocale(code, {})
        theirs = (
            tornado_locale.get(code)
            if code in tornado_locale.get_supported_locales()
            else tornado_locale.CSVLocale(code, {})
        )
        for date, kwargs in _format_date_inputs():
            expected = theirs.format_date(date, **kwargs)
            if ours.format_date(date, **kwargs) != expected:
                mismatches.append((code, date, kwargs, expected))
    assert not mismatches, mismatches[:5]


# --- format_day, list, friendly_number -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "date", "kwargs", "expected"),
    [
        ("en_US", datetime.datetime(2020, 3, 16, 2), {}, "Monday, March 16"),
        ("en_US", datetime.datetime(2020, 3, 16, 2), {"dow": False}, "March 16"),
        ("en_US", datetime.datetime(2020, 3, 16, 2), {"gmt_offset": 300}, "Sunday, March 15"),
        ("en_US", datetime.datetime(2020, 3, 16, 22), {"gmt_offset": -180}, "Tuesday, March 17"),
        ("es_LA", datetime.datetime(2024, 1, 1, 12), {}, "lunes 1 de enero"),
        ("es_LA", datetime.datetime(2024, 1, 1, 12), {"dow": False}, "enero 1"),
    ],
)
def test_format_day(
    csv_loaded: None, code: str, date: datetime.datetime, kwargs: Any, expected: str
) -> None:
    assert locale.get(code).format_day(date, **kwargs) == expected
    assert tornado_locale.get(code).format_day(date, **kwargs) == expected


def test_format_day_gettext(gettext_loaded: None) -> None:
    french = locale.get("fr_FR")
    assert french.format_day(datetime.datetime(2020, 3, 16), dow=False) == "16 mars"
    assert french.format_day(datetime.datetime(2020, 3, 16)) == "lundi, mars 16"


@pytest.mark.parametrize(
    ("code", "parts", "expected"),
    [
        ("en_US", [], ""),
        ("en_US", ["A"], "A"),
        ("en_US", ["A", "B"], "A and B"),
        ("en_US", ["A", "B", "C"], "A, B and C"),
        ("en_US", ("A", "B", "C", "D"), "A, B, C and D"),
        ("es_LA", ["A", "B", "C"], "A, B y C"),
        ("fa_IR", ["A", "B", "C"], "A \u0648 B and C"),
    ],
)
def test_list(csv_loaded: None, code: str, parts: list[str], expected: str) -> None:
    def make(module: Any) -> Any:
        return module.get(code) if code != "fa_IR" else module.CSVLocale(code, {})

    assert make(locale).list(parts) == expected
    assert make(tornado_locale).list(parts) == expected


def test_list_gettext(gettext_loaded: None) -> None:
    assert locale.get("fr_FR").list(["A", "B", "C"]) == "A, B et C"


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ("en_US", 0, "0"),
        ("en_US", 999, "999"),
        ("en_US", 1000, "1,000"),
        ("en_US", 1234567, "1,234,567"),
        ("en", 12345, "12,345"),
        ("fr_FR", 1234567, "1234567"),
        ("en_GB", 1234567, "1234567"),
    ],
)
def test_friendly_number(code: str, value: int, expected: str) -> None:
    assert CSVLocale(code, {}).friendly_number(value) == expected
    assert tornado_locale.CSVLocale(code, {}).friendly_number(value) == expected


def test_friendly_number_negative() -> None:
    english = CSVLocale("en_US", {})
    assert english.friendly_number(-1234567) == "-1,234,567"
    assert english.friendly_number(-123) == "-123"  # Tornado gives "-,123"
