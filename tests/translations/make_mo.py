"""Compiles the test catalogs (``gettext/*/LC_MESSAGES/*.po``) into ``.mo`` files.

Python's standard library reads ``.mo`` files but has no ``msgfmt`` to write them, so this is
a small one covering the ``.po`` features the test catalogs use: ``msgctxt``, plurals,
strings continued over several lines, C escapes, comments, and ``#, fuzzy`` entries (left
out, as ``msgfmt`` does, like entries with no translation).

Run ``python tests/translations/make_mo.py`` after editing a ``.po`` file, or with
``--check`` to fail when a committed ``.mo`` file is out of date (tests/test_locale.py does).

The ``.mo`` layout (little-endian): a 28-byte header (magic ``0x950412de``, revision 0, the
number of entries N, the offsets of the key table and of the value table, the size and
offset of a hash table, left empty here); two tables of N (length, offset) pairs, keys
sorted; then the strings, each followed by a NUL byte that its length leaves out. A key is
``msgctxt`` + ``"\\x04"`` + ``msgid``, with ``"\\x00"`` + ``msgid_plural`` for plurals; a plural
value is its forms joined by ``"\\x00"``.
"""

from __future__ import annotations

import ast
import dataclasses
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAGIC = 0x950412DE
_HEADER = struct.Struct("<7I")


@dataclasses.dataclass
class Entry:
    """One message of a ``.po`` file."""

    context: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = dataclasses.field(default_factory=dict)
    fuzzy: bool = False

    def key(self) -> str:
        key = self.msgid if self.context is None else f"{self.context}\x04{self.msgid}"
        return key if self.msgid_plural is None else f"{key}\x00{self.msgid_plural}"

    def value(self) -> str:
        return "\x00".join(self.msgstr[i] for i in sorted(self.msgstr))


def parse_po(text: str) -> list[Entry]:
    """Reads the entries of a ``.po`` file.

    Raises:
        ValueError: a line is not understood.
    """
    entries: list[Entry] = []
    entry = Entry()
    field: tuple[str, int] | None = None  # the keyword that continuation lines extend
    flags_fuzzy = False

    def finish() -> None:
        nonlocal entry, flags_fuzzy
        if entry.msgstr:
            entry.fuzzy = flags_fuzzy
            entries.append(entry)
        entry, flags_fuzzy = Entry(), False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if entry.msgstr:
                finish()
            if line.startswith("#,") and "fuzzy" in {f.strip() for f in line[2:].split(",")}:
                flags_fuzzy = True
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        elif keyword in ("msgctxt", "msgid") and entry.msgstr:
            finish()
        try:
            value = ast.literal_eval(rest.strip())
        except (SyntaxError, ValueError):
            value = None
        if not isinstance(value, str):
            raise ValueError(f"line {number}: expected a quoted string: {raw!r}")
        if not keyword:
            target = field
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            target = ("msgstr", int(keyword[7:-1]))
        elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            target = (keyword, 0)
        else:
            raise ValueError(f"line {number}: unknown keyword {keyword!r}")
        if target is None:
            raise ValueError(f"line {number}: a string outside any entry")
        field = target
        _extend(entry, field, value)
    finish()
    return entries


def _extend(entry: Entry, field: tuple[str, int], value: str) -> None:
    name, index = field
    if name == "msgctxt":
        entry.context = (entry.context or "") + value
    elif name == "msgid":
        entry.msgid += value
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + value
    else:
        entry.msgstr[index] = entry.msgstr.get(index, "") + value


def compile_entries(entries: list[Entry]) -> bytes:
    """The ``.mo`` file for these entries (fuzzy and untranslated ones left out)."""
    messages = {
        entry.key().encode(): entry.value().encode()
        for entry in entries
        if any(entry.msgstr.values()) and (not entry.fuzzy or entry.msgid == "")
    }
    keys = sorted(messages)
    count = len(keys)
    keys_table = _HEADER.size
    values_table = keys_table + 8 * count
    data_start = values_table + 8 * count
    tables: list[int] = []
    data = b""
    for strings in (keys, [messages[k] for k in keys]):
        for string in strings:
            tables += [len(string), data_start + len(data)]
            data += string + b"\x00"
    header = _HEADER.pack(MAGIC, 0, count, keys_table, values_table, 0, data_start)
    return header + struct.pack(f"<{len(tables)}I", *tables) + data


def catalogs() -> list[Path]:
    """The ``.po`` files of the test tree."""
    return sorted(HERE.glob("gettext/*/LC_MESSAGES/*.po"))


def main(argv: list[str]) -> int:
    """Writes each ``.mo`` file, or with ``--check`` reports those that are out of date."""
    check = "--check" in argv
    stale = []
    for po in catalogs():
        mo = po.with_suffix(".mo")
        compiled = compile_entries(parse_po(po.read_text(encoding="utf-8")))
        if check:
            if not mo.exists() or mo.read_bytes() != compiled:
                stale.append(mo)
        else:
            mo.write_bytes(compiled)
    for mo in stale:
        print(f"out of date: {mo} (run {Path(__file__).name})", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
