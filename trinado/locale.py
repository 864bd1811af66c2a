"""Translations and locale-aware formatting, with the API of ``tornado.locale``.

Load the translations once at start-up, with :func:`load_translations` (a directory of CSV
files) or :func:`load_gettext_translations` (a tree of compiled gettext ``.mo`` files), then
ask :func:`get` for the best :class:`Locale` for a user (here with the Spanish translations
of the examples, from the repository's root):

>>> from trinado import locale
>>> locale.load_translations("examples/translations")  # es_ES.csv
>>> user_locale = locale.get("es_ES", "en_US")
>>> user_locale.code, user_locale.translate("Notebook")
('es_ES', 'Cuaderno')
>>> locale.get("es_MX", "en_US").code
'en_US'

:func:`get` returns the closest supported locale, which is not always the one asked for: a
region falls back to its bare language (``es_MX`` to ``es``) and, when nothing matches, to
the default locale (``en_US`` unless :func:`set_default_locale` says otherwise). Strings in
the code are written in the default locale's language; a locale with no translation for a
string returns it unchanged.

The loaded translations, the supported locales and the default locale are module-level
state shared by the whole process, as in Tornado: load them before serving requests.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import gettext
import glob
import os
import re
from collections.abc import Sequence
from typing import ClassVar

from .log import gen_log

__all__ = [
    "CONTEXT_SEPARATOR",
    "LOCALE_NAMES",
    "CSVLocale",
    "GettextLocale",
    "Locale",
    "get",
    "get_supported_locales",
    "load_gettext_translations",
    "load_translations",
    "set_default_locale",
]

CONTEXT_SEPARATOR = "\x04"
"""Joins a message context and a message into one gettext key, as ``msgfmt`` does."""

# One locale per line: code, English name, name in the language itself. The names are those
# Tornado ships, so `Locale.name` reads the same in both (Tornado spells the English name of
# uk_UA "Ukraini "; it is written out in full here).
_NAME_TABLE = """
af_ZA|Afrikaans|Afrikaans
am_ET|Amharic|አማርኛ
ar_AR|Arabic|العربية
bg_BG|Bulgarian|Български
bn_IN|Bengali|বাংলা
bs_BA|Bosnian|Bosanski
ca_ES|Catalan|Català
cs_CZ|Czech|Čeština
cy_GB|Welsh|Cymraeg
da_DK|Danish|Dansk
de_DE|German|Deutsch
el_GR|Greek|Ελληνικά
en_GB|English (UK)|English (UK)
en_US|English (US)|English (US)
es_ES|Spanish (Spain)|Español (España)
es_LA|Spanish|Español
et_EE|Estonian|Eesti
eu_ES|Basque|Euskara
fa_IR|Persian|فارسی
fi_FI|Finnish|Suomi
fr_CA|French (Canada)|Français (Canada)
fr_FR|French|Français
ga_IE|Irish|Gaeilge
gl_ES|Galician|Galego
he_IL|Hebrew|עברית
hi_IN|Hindi|हिन्दी
hr_HR|Croatian|Hrvatski
hu_HU|Hungarian|Magyar
id_ID|Indonesian|Bahasa Indonesia
is_IS|Icelandic|Íslenska
it_IT|Italian|Italiano
ja_JP|Japanese|日本語
ko_KR|Korean|한국어
lt_LT|Lithuanian|Lietuvių
lv_LV|Latvian|Latviešu
mk_MK|Macedonian|Македонски
ml_IN|Malayalam|മലയാളം
ms_MY|Malay|Bahasa Melayu
nb_NO|Norwegian (bokmal)|Norsk (bokmål)
nl_NL|Dutch|Nederlands
nn_NO|Norwegian (nynorsk)|Norsk (nynorsk)
pa_IN|Punjabi|ਪੰਜਾਬੀ
pl_PL|Polish|Polski
pt_BR|Portuguese (Brazil)|Português (Brasil)
pt_PT|Portuguese (Portugal)|Português (Portugal)
ro_RO|Romanian|Română
ru_RU|Russian|Русский
sk_SK|Slovak|Slovenčina
sl_SI|Slovenian|Slovenščina
sq_AL|Albanian|Shqip
sr_RS|Serbian|Српски
sv_SE|Swedish|Svenska
sw_KE|Swahili|Kiswahili
ta_IN|Tamil|தமிழ்
te_IN|Telugu|తెలుగు
th_TH|Thai|ภาษาไทย
tl_PH|Filipino|Filipino
tr_TR|Turkish|Türkçe
uk_UA|Ukrainian|Українська
vi_VN|Vietnamese|Tiếng Việt
zh_CN|Chinese (Simplified)|中文(简体)
zh_TW|Chinese (Traditional)|中文(繁體)
"""


def _parse_name_table(table: str) -> dict[str, dict[str, str]]:
    names = {}
    for line in table.strip().splitlines():
        code, english, native = line.split("|")
        names[code] = {"name_en": english, "name": native}
    return names


LOCALE_NAMES: dict[str, dict[str, str]] = _parse_name_table(_NAME_TABLE)
"""Language names by locale code, as in ``{"name_en": "French", "name": "Français"}``."""

# CSV translations are {plural indicator: {message: translation}}; gettext ones are catalogs.
_CSVTranslations = dict[str, dict[str, str]]

_default_locale = "en_US"
_translations: dict[str, _CSVTranslations | gettext.NullTranslations] = {}
_supported_locales: frozenset[str] = frozenset([_default_locale])
# Set by load_gettext_translations as in Tornado; Locale.get looks at the loaded objects.
_use_gettext = False

_LOCALE_CODE_RE = re.compile(r"[a-z]+(_[A-Z]+)?\Z")
_PLURAL_INDICATORS = ("plural", "singular", "unknown")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# English locales write "6:35 pm" and "1,234"; others "18:35" (zh_CN: "下午6:35") and "1234".
_ENGLISH_LOCALES = frozenset({"en", "en_US"})
_RTL_PREFIXES = ("fa", "ar", "he")


def get(*locale_codes: str) -> Locale:
    """Returns the closest supported locale for the given codes (see `Locale.get_closest`).

    Args:
        *locale_codes: locale codes in order of preference, such as ``"fr_CA"``, ``"fr"`` or
            ``"en-us"`` (dashes and any letter case are accepted).

    Returns:
        The locale of the first code that is supported, or whose language alone is; the
        default locale when none is.
    """
    return Locale.get_closest(*locale_codes)


def set_default_locale(code: str) -> None:
    """Sets the locale that the strings in the code are written in.

    Translations map strings of the default locale to other locales, so the default locale
    needs no translation file. It is always supported and is what `get` falls back to.

    Args:
        code: the locale code, such as ``"en_US"``.
    """
    global _default_locale, _supported_locales
    _default_locale = code
    _supported_locales = frozenset([*_translations, _default_locale])


def load_translations(directory: str, encoding: str | None = None) -> None:
    """Loads translations from the ``LOCALE.csv`` files of a directory, such as ``es_GT.csv``.

    Each row holds a string, its translation and optionally a plural indicator, in the
    ``csv`` module's default ("excel") dialect, with no spaces after the commas:

    .. code-block:: text

        "I love you","Te amo"
        "%(name)s liked this","A %(name)s les gustó esto","plural"
        "%(name)s liked this","A %(name)s le gustó esto","singular"

    The indicator is ``plural`` or ``singular`` for the two forms of a string passed to
    `Locale.translate` with a count, and ``unknown`` or empty (or left out) otherwise. A row
    with another indicator is logged and skipped; rows with fewer than two cells are skipped.
    Cells are stripped of surrounding whitespace.

    Replaces whatever translations were loaded before. Files whose name is not a locale code
    (lowercase language, optionally ``_`` and an uppercase region) are logged and skipped.

    Args:
        directory: the directory to read; files not ending in ``.csv`` are ignored.
        encoding: the files' encoding. When ``None``, each file is read as UTF-16 if it
            starts with a UTF-16 byte-order mark, else as UTF-8 (with or without a BOM, as
            spreadsheets write it).

    Raises:
        OSError: the directory or a file cannot be read.
        UnicodeDecodeError: a file is not in its encoding.
    """
    global _translations, _supported_locales, _use_gettext
    loaded: dict[str, _CSVTranslations | gettext.NullTranslations] = {}
    for filename in os.listdir(directory):
        if not filename.endswith(".csv"):
            continue
        path = os.path.join(directory, filename)
        code = filename[: -len(".csv")]
        if not _LOCALE_CODE_RE.match(code):
            gen_log.error("Unrecognized locale %r (path: %s)", code, path)
            continue
        loaded[code] = _read_csv_translations(path, encoding or _detect_encoding(path))
    _translations = loaded
    _use_gettext = False
    _supported_locales = frozenset([*_translations, _default_locale])
    Locale._cache = {}
    gen_log.debug("Supported locales: %s", sorted(_supported_locales))


def _detect_encoding(path: str) -> str:
    with open(path, "rb") as f:
        start = f.read(2)
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    return "utf-8-sig"  # UTF-8 with an optional BOM


def _read_csv_translations(path: str, encoding: str) -> _CSVTranslations:
    table: _CSVTranslations = {}
    with open(path, encoding=encoding, newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if len(row) < 2:
                continue
            cells = [cell.strip() for cell in row[:3]]
            indicator = (cells[2] if len(cells) > 2 else "") or "unknown"
            if indicator not in _PLURAL_INDICATORS:
                gen_log.error(
                    "Unrecognized plural indicator %r in %s line %d",
                    indicator,
                    os.path.basename(path),
                    number,
                )
                continue
            table.setdefault(indicator, {})[cells[0]] = cells[1]
    return table


def load_gettext_translations(directory: str, domain: str) -> None:
    """Loads compiled gettext catalogs laid out as ``{directory}/{locale}/LC_MESSAGES/{domain}.mo``.

    This is the layout of ``/usr/share/locale``. The usual workflow: extract the strings
    with ``xgettext --language=Python --keyword=_:1,2 --keyword=pgettext:1c,2
    --keyword=pgettext:1c,2,3``, merge them into each locale's ``.po`` file with
    ``msgmerge``, and compile each with ``msgfmt``. Plural forms follow each catalog's
    ``Plural-Forms`` header, and `Locale.pgettext` finds entries with a ``msgctxt``.

    Replaces whatever translations were loaded before. A catalog that cannot be read is
    logged and skipped.

    Args:
        directory: the root of the tree.
        domain: the catalog name, without ``.mo``.
    """
    global _translations, _supported_locales, _use_gettext
    loaded: dict[str, _CSVTranslations | gettext.NullTranslations] = {}
    pattern = os.path.join(glob.escape(directory), "*", "LC_MESSAGES", glob.escape(domain) + ".mo")
    for path in glob.glob(pattern):
        code = os.path.basename(os.path.dirname(os.path.dirname(path)))
        try:
            loaded[code] = gettext.translation(domain, directory, languages=[code])
        except Exception as e:
            gen_log.error("Cannot load translation for '%s': %s", code, e)
    _translations = loaded
    _use_gettext = True
    _supported_locales = frozenset([*_translations, _default_locale])
    Locale._cache = {}
    gen_log.debug("Supported locales: %s", sorted(_supported_locales))


def get_supported_locales() -> frozenset[str]:
    """Returns the codes of the locales with translations, plus the default locale.

    Returns:
        The supported locale codes.
    """
    return _supported_locales


def _utc_now() -> datetime.datetime:
    """The current time, aware, in UTC (tests replace this to freeze the clock)."""
    return datetime.datetime.now(datetime.timezone.utc)


class Locale:
    """A locale: translates strings and formats dates, lists and numbers for its language.

    Get one with `get` (or `Locale.get_closest`, `Locale.get`) after loading translations;
    locales are cached, one object per code. The subclasses `CSVLocale` and `GettextLocale`
    implement `translate` and `pgettext` for each kind of translation.

    Attributes:
        code: the locale code, such as ``"fr_FR"``.
        name: the language's name in that language (``"Français"``), or ``"Unknown"`` for a
            code missing from `LOCALE_NAMES`.
        rtl: whether the language is written right to left (Persian, Arabic, Hebrew).
    """

    _cache: ClassVar[dict[str, Locale]] = {}

    @classmethod
    def get_closest(cls, *locale_codes: str) -> Locale:
        """Returns the closest supported locale for the given codes.

        Codes are tried in order. Each is normalised (``-`` becomes ``_``, a two-part code
        becomes ``ll_RR``); it matches if it is supported, or if its language alone is
        (``fr_CA`` matches a supported ``fr``). Empty codes and codes of more than two parts
        are skipped.

        Args:
            *locale_codes: locale codes in order of preference.

        Returns:
            The first match, or the default locale.
        """
        for code in locale_codes:
            if not code:
                continue
            parts = code.replace("-", "_").split("_")
            if len(parts) > 2:
                continue
            language = parts[0].lower()
            full = f"{language}_{parts[1].upper()}" if len(parts) == 2 else parts[0]
            for candidate in (full, language):
                if candidate in _supported_locales:
                    return cls.get(candidate)
        return cls.get(_default_locale)

    @classmethod
    def get(cls, code: str) -> Locale:
        """Returns the locale for a supported code, exactly as written.

        Args:
            code: a code listed by `get_supported_locales`.

        Returns:
            The cached locale: a `GettextLocale` after `load_gettext_translations`, else a
            `CSVLocale` (with no translations for the default locale).

        Raises:
            ValueError: the code is not supported.
        """
        cached = cls._cache.get(code)
        if cached is not None:
            return cached
        if code not in _supported_locales:
            raise ValueError(f"Unsupported locale {code!r}")
        translations = _translations.get(code)
        locale: Locale
        if isinstance(translations, gettext.NullTranslations):
            locale = GettextLocale(code, translations)
        else:
            locale = CSVLocale(code, translations or {})
        cls._cache[code] = locale
        return locale

    def __init__(self, code: str) -> None:
        """Creates the locale; use `get` instead, which caches them.

        Args:
            code: the locale code.
        """
        self.code = code
        self.name = LOCALE_NAMES.get(code, {}).get("name", "Unknown")
        self.rtl = code.startswith(_RTL_PREFIXES)
        self._months = [self.translate(month) for month in _MONTH_NAMES]
        self._weekdays = [self.translate(day) for day in _WEEKDAY_NAMES]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        """Translates a message into this locale.

        With ``plural_message``, give ``count`` too: the singular form is used when
        ``count == 1`` and the plural one otherwise (a gettext catalog may have its own rule
        and more forms). A message with no translation comes back as given (the plural one
        when the count asks for it).

        Args:
            message: the message, in the default locale's language.
            plural_message: its plural form, if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translated message.

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        raise NotImplementedError

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translates a message that reads differently in different contexts.

        For example ``pgettext("law", "right")`` and ``pgettext("good", "right")``, or with
        plurals ``pgettext("stick", "club", "clubs", len(clubs))``. Only gettext catalogs
        carry contexts (``msgctxt``); CSV translations ignore the context (with a warning).

        Args:
            context: what the message is about.
            message: the message, in the default locale's language.
            plural_message: its plural form, if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translation for this context, else the message translated as if it had no
            context (a singular message comes back untranslated).

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        raise NotImplementedError

    def format_date(
        self,
        date: int | float | datetime.datetime,
        gmt_offset: int = 0,
        relative: bool = True,
        shorter: bool = False,
        full_format: bool = False,
    ) -> str:
        """Formats a moment in the past, relative to now by default.

        With ``relative``, the last day reads "2 seconds ago", "5 minutes ago", "3 hours
        ago"; older dates read "yesterday at 6:35 pm", "Monday at 6:35 pm" (within 5 days),
        "April 28 at 6:35 pm" (within 334 days), then "April 28, 2013 at 6:35 pm". Without
        ``relative``, today's dates give only the time and yesterday's its weekday.
        ``shorter`` leaves the time out of the dated forms; ``full_format`` always gives the
        full date. Dates in the future get the full date too, except those less than a
        minute ahead in relative mode (clock skew), which count as now.

        Times read "6:35 pm" for English, "下午6:35" for ``zh_CN`` and "18:35" otherwise.

        Args:
            date: a timestamp, a naive datetime in UTC, or an aware datetime (shown on its
                own zone's clock).
            gmt_offset: minutes to subtract to get the user's local time, as JavaScript's
                ``Date.getTimezoneOffset()`` gives them (300 for UTC-5).
            relative: use the relative forms.
            shorter: leave the time out where the form allows.
            full_format: always give the full date.

        Returns:
            The formatted date, translated.
        """
        when = _as_aware(date)
        now = _utc_now()
        if when > now:
            if relative and (when - now).total_seconds() < 60:
                when = now
            else:
                full_format = True
        offset = datetime.timedelta(minutes=gmt_offset)
        local_when = when - offset
        local_now = now - offset
        age = now - when
        if not full_format and relative and age.days == 0:
            return self._time_ago(age.seconds)

        _ = self.translate
        pattern = None
        if not full_format:
            pattern = self._recent_pattern(age.days, local_when, local_now, relative, shorter)
        if pattern is None:
            if shorter:
                pattern = _("%(month_name)s %(day)s, %(year)s")
            else:
                pattern = _("%(month_name)s %(day)s, %(year)s at %(time)s")
        return pattern % {
            "month_name": self._months[local_when.month - 1],
            "weekday": self._weekdays[local_when.weekday()],
            "day": str(local_when.day),
            "year": str(local_when.year),
            "time": self._clock_time(local_when),
        }

    def _time_ago(self, seconds: int) -> str:
        _ = self.translate
        if seconds < 50:
            return _("1 second ago", "%(seconds)d seconds ago", seconds) % {"seconds": seconds}
        if seconds < 50 * 60:
            minutes = round(seconds / 60)
            return _("1 minute ago", "%(minutes)d minutes ago", minutes) % {"minutes": minutes}
        hours = round(seconds / 3600)
        return _("1 hour ago", "%(hours)d hours ago", hours) % {"hours": hours}

    def _recent_pattern(
        self,
        days: int,
        local_when: datetime.datetime,
        local_now: datetime.datetime,
        relative: bool,
        shorter: bool,
    ) -> str | None:
        """The pattern for a date less than 334 days old, or None for the full date."""
        _ = self.translate
        if days == 0:
            return _("%(time)s")
        day_before = local_now - datetime.timedelta(days=1)
        if days == 1 and relative and local_when.day == day_before.day:
            return _("yesterday") if shorter else _("yesterday at %(time)s")
        if days < 5:
            return _("%(weekday)s") if shorter else _("%(weekday)s at %(time)s")
        if days < 334:  # past 11 months, "March 3" could be this year's or last year's
            return (
                _("%(month_name)s %(day)s") if shorter else _("%(month_name)s %(day)s at %(time)s")
            )
        return None

    def _clock_time(self, local: datetime.datetime) -> str:
        hour12 = local.hour % 12 or 12
        if self.code in _ENGLISH_LOCALES:
            return f"{hour12}:{local.minute:02d} {'pm' if local.hour >= 12 else 'am'}"
        if self.code == "zh_CN":
            return f"{'下午' if local.hour >= 12 else '上午'}{hour12}:{local.minute:02d}"
        return f"{local.hour}:{local.minute:02d}"

    def format_day(self, date: datetime.datetime, gmt_offset: int = 0, dow: bool = True) -> str:
        """Formats a date as its day: "Monday, January 22", or "January 22" without ``dow``.

        Args:
            date: the date (a datetime, shown on its own clock).
            gmt_offset: minutes to subtract to get the user's local time (see `format_date`).
            dow: include the day of the week.

        Returns:
            The formatted day, translated.
        """
        local = date - datetime.timedelta(minutes=gmt_offset)
        values = {
            "month_name": self._months[local.month - 1],
            "weekday": self._weekdays[local.weekday()],
            "day": str(local.day),
        }
        if dow:
            return self.translate("%(weekday)s, %(month_name)s %(day)s") % values
        return self.translate("%(month_name)s %(day)s") % values

    def list(self, parts: Sequence[str]) -> str:
        """Joins parts into a phrase: "A", "A and B", "A, B and C".

        Args:
            parts: the items, already formatted.

        Returns:
            The phrase (empty for no parts), translated through ``"%(commas)s and %(last)s"``.
        """
        if not parts:
            return ""
        if len(parts) == 1:
            return parts[0]
        separator = " \u0648 " if self.code.startswith("fa") else ", "
        return self.translate("%(commas)s and %(last)s") % {
            "commas": separator.join(parts[:-1]),
            "last": parts[-1],
        }

    def friendly_number(self, value: int) -> str:
        """Formats an integer with thousands separators in English ("1,234,567").

        Other locales get the plain digits.

        Args:
            value: the number.

        Returns:
            The formatted number.
        """
        if self.code in _ENGLISH_LOCALES:
            return f"{value:,}"
        return str(value)


def _as_aware(date: int | float | datetime.datetime) -> datetime.datetime:
    if isinstance(date, datetime.datetime):
        return date if date.tzinfo is not None else date.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(date, datetime.timezone.utc)


def _require_count(plural_message: str | None, count: int | None) -> int | None:
    if plural_message is not None and count is None:
        raise ValueError("a plural message needs a count")
    return count


class CSVLocale(Locale):
    """A locale translated by the CSV files of `load_translations`.

    Attributes:
        translations: the locale's table, ``{plural indicator: {message: translation}}``
            with the indicators ``"singular"``, ``"plural"`` and ``"unknown"``.
    """

    def __init__(self, code: str, translations: dict[str, dict[str, str]]) -> None:
        """Creates the locale; use `Locale.get` instead, which caches them.

        Args:
            code: the locale code.
            translations: the locale's table, as `load_translations` builds it.
        """
        self.translations = translations
        super().__init__(code)

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        """Translates a message; the singular form is used when ``count == 1``.

        Args:
            message: the message, in the default locale's language.
            plural_message: its plural form, if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translation from the table of the form chosen, or the chosen form as given.

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        count = _require_count(plural_message, count)
        if plural_message is None:
            indicator = "unknown"
        elif count == 1:
            indicator = "singular"
        else:
            indicator, message = "plural", plural_message
        return self.translations.get(indicator, {}).get(message, message)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translates as `translate` does: CSV files have no contexts.

        A warning is logged when the locale has translations, since the context is lost.

        Args:
            context: ignored.
            message: the message, in the default locale's language.
            plural_message: its plural form, if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translated message.

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        if self.translations:
            gen_log.warning("pgettext is not supported by CSVLocale")
        return self.translate(message, plural_message, count)


class GettextLocale(Locale):
    """A locale translated by a gettext catalog, from `load_gettext_translations`.

    Attributes:
        gettext: the catalog's ``gettext``.
        ngettext: the catalog's ``ngettext``.
    """

    def __init__(self, code: str, translations: gettext.NullTranslations) -> None:
        """Creates the locale; use `Locale.get` instead, which caches them.

        Args:
            code: the locale code.
            translations: the catalog.
        """
        self.gettext = translations.gettext
        self.ngettext = translations.ngettext
        super().__init__(code)

    def translate(
        self, message: str, plural_message: str | None = None, count: int | None = None
    ) -> str:
        """Translates a message; plural forms follow the catalog's ``Plural-Forms`` rule.

        Args:
            message: the message (the ``msgid``).
            plural_message: its plural form (the ``msgid_plural``), if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translated message; an untranslated one uses the singular for a count of 1.

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        count = _require_count(plural_message, count)
        if plural_message is None or count is None:
            return self.gettext(message)
        return self.ngettext(message, plural_message, count)

    def pgettext(
        self,
        context: str,
        message: str,
        plural_message: str | None = None,
        count: int | None = None,
    ) -> str:
        """Translates a message in a context (the catalog's ``msgctxt``).

        Args:
            context: the message context.
            message: the message (the ``msgid``).
            plural_message: its plural form (the ``msgid_plural``), if it has one.
            count: the number that chooses between the forms.

        Returns:
            The translation for this context. Without one, a plural message is translated as
            if it had no context and a singular message comes back unchanged.

        Raises:
            ValueError: ``plural_message`` is given without ``count``.
        """
        count = _require_count(plural_message, count)
        prefix = context + CONTEXT_SEPARATOR
        if plural_message is None or count is None:
            found = self.gettext(prefix + message)
            return message if CONTEXT_SEPARATOR in found else found
        found = self.ngettext(prefix + message, prefix + plural_message, count)
        if CONTEXT_SEPARATOR in found:
            return self.ngettext(message, plural_message, count)
        return found
