"""The loggers trinado writes to, named as Tornado's are, and formatters for them.

* ``trinado.access``: one line per finished request (status, method, URI, remote IP, time).
* ``trinado.application``: errors from application code, such as uncaught handler exceptions.
* ``trinado.general``: everything else the framework has to say (bad requests, timeouts,
  connection trouble, autoreload).

Nothing is configured on import: attach handlers with :mod:`logging` as usual, or call
`enable_pretty_logging` for Tornado's one-line format on standard error (or JSON lines).
"""

from __future__ import annotations

import datetime
import json as _json
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TextIO

__all__ = [
    "JSONFormatter",
    "LogFormatter",
    "access_log",
    "app_log",
    "enable_pretty_logging",
    "gen_log",
]

access_log = logging.getLogger("trinado.access")
app_log = logging.getLogger("trinado.application")
gen_log = logging.getLogger("trinado.general")

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName", "color", "end_color"}
)


def _supports_color(stream: Any) -> bool:
    """Whether ``stream`` is a terminal that understands ANSI colour codes."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except Exception:  # closed, or not a real stream
        return False
    if sys.platform == "win32":  # classic consoles print the escape codes verbatim
        return bool(os.environ.get("WT_SESSION") or os.environ.get("TERM"))
    return True


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as exc:  # bad %-arguments must not lose the record
        return f"Bad log message ({exc!r}): {record.msg!r} % {record.args!r}"


class LogFormatter(logging.Formatter):
    """Tornado's log format: ``[I 240501 12:00:00 web:123] message``, in colour on a terminal.

    The part between ``%(color)s`` and ``%(end_color)s`` is coloured by level (debug blue,
    info green, warning yellow, error red, critical magenta) when ``color`` is true and the
    stream is a terminal (and the ``NO_COLOR`` environment variable is unset). A traceback
    (and a stack from ``stack_info``) follows the message; every line after the first is
    indented by four spaces, so each record stands apart. Its constructor takes what
    `logging.config.dictConfig` passes.

    Args:
        fmt: The format, in ``style``, of the record's attributes plus ``color`` and
            ``end_color``.
        datefmt: The `time.strftime` format of ``asctime``.
        style: ``"%"``, ``"{"`` or ``"$"``, as for `logging.Formatter`.
        color: Whether colours may be used.
        colors: ANSI colour numbers (0 to 7) by level.
        stream: The stream the lines go to, whose being a terminal decides colour
            (standard error by default, as in Tornado).
    """

    DEFAULT_FORMAT = (
        "%(color)s[%(levelname)1.1s %(asctime)s %(module)s:%(lineno)d]%(end_color)s %(message)s"
    )
    DEFAULT_DATE_FORMAT = "%y%m%d %H:%M:%S"
    DEFAULT_COLORS: Mapping[int, int] = {
        logging.DEBUG: 4,
        logging.INFO: 2,
        logging.WARNING: 3,
        logging.ERROR: 1,
        logging.CRITICAL: 5,
    }

    def __init__(
        self,
        fmt: str = DEFAULT_FORMAT,
        datefmt: str = DEFAULT_DATE_FORMAT,
        style: Literal["%", "{", "$"] = "%",
        color: bool = True,
        colors: Mapping[int, int] = DEFAULT_COLORS,
        *,
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(fmt, datefmt, style)
        self._colors: dict[int, str] = {}
        self._normal = ""
        if color and _supports_color(sys.stderr if stream is None else stream):
            self._colors = {level: f"\033[3{code}m" for level, code in colors.items()}
            self._normal = "\033[0m"

    def format(self, record: logging.LogRecord) -> str:
        """Formats one record.

        Args:
            record: The record.

        Returns:
            The text, without a final newline.
        """
        record.message = _message(record)
        record.asctime = self.formatTime(record, self.datefmt)
        color = self._colors.get(record.levelno, "")
        record.color = color
        record.end_color = self._normal if color else ""
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        parts = [text.rstrip()] if record.exc_text or record.stack_info else [text]
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        return "\n".join(parts).replace("\n", "\n    ")


# Values JSON represents as they are (a float's NaN aside, which json.dumps writes anyway).
_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line: logs for machines.

    The keys are ``time`` (ISO 8601 in UTC, to the millisecond: ``2024-05-01T12:00:00.123Z``),
    ``level`` (``"INFO"``), ``logger`` (``"trinado.access"``), ``message`` (the formatted
    message), ``pid`` (the process that logged: with several workers, which one served),
    ``exc_info`` (the traceback text, when there is one; ``stack_info`` likewise),
    then every field given with ``extra=`` whose value JSON can represent (others are left
    out; an extra named like one of the keys above is left out too). Access-log records carry
    ``status``, ``method``, ``uri``, ``remote_ip`` and ``request_time_ms`` this way.
    Non-ASCII text is written as is (UTF-8).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Formats one record.

        Args:
            record: The record.

        Returns:
            A JSON object on one line.
        """
        record.message = _message(record)
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        entry: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
            "pid": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRIBUTES or key in entry or key.startswith("_"):
                continue
            if type(value) not in _JSON_SCALARS:  # (the access log's fields all are)
                try:
                    _json.dumps(value)
                except (TypeError, ValueError, RecursionError):
                    continue
            entry[key] = value
        return _json.dumps(entry, ensure_ascii=False, default=str)


if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:  # not subscriptable at run time before Python 3.11
    _StreamHandler = logging.StreamHandler


class _PrettyHandler(_StreamHandler):
    """The handler `enable_pretty_logging` adds (recognised so it is added only once)."""


# The level the access logger had before ``access_log=False`` silenced it.
_access_level_before: int | None = None
_SILENT = logging.CRITICAL + 1


def enable_pretty_logging(
    level: str | int = "info",
    *,
    access_log: bool = True,
    json: bool = False,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Sends log records to standard error, one line each, in Tornado's format or as JSON.

    Sets the level of the root logger (or ``logger``) and gives it one stream handler with
    `LogFormatter` (coloured on a terminal) or `JSONFormatter`. Calling it again
    reconfigures that handler instead of adding another, so it is safe to call from code
    that may run twice. Handlers already there are left alone.

    Tornado's version reads ``tornado.options.options``; this one takes keyword arguments.

    Args:
        level: A level name (``"debug"``, ``"info"``, ``"warning"``, ``"error"``, any case)
            or number; ``"none"`` leaves logging untouched, as Tornado's ``--logging=none``.
        access_log: False silences ``trinado.access`` (one line per request) everywhere,
            at no cost per request; True undoes an earlier False.
        json: Write `JSONFormatter` lines instead (for log collectors in production).
        stream: Where to write; standard error by default.
        logger: The logger to configure, instead of the root logger.

    Raises:
        ValueError: If ``level`` is not a known level name.
    """
    global _access_level_before
    if isinstance(level, str):
        if level.lower() == "none":
            return
        number = logging.getLevelName(level.upper())
        if not isinstance(number, int):
            raise ValueError(f"Unknown logging level {level!r}")
        level = number
    target = logging.getLogger() if logger is None else logger
    target.setLevel(level)
    out = sys.stderr if stream is None else stream
    formatter: logging.Formatter = JSONFormatter() if json else LogFormatter(stream=out)
    handler = next((h for h in target.handlers if isinstance(h, _PrettyHandler)), None)
    if handler is None:
        handler = _PrettyHandler(out)
        target.addHandler(handler)
    elif handler.stream is not out:
        handler.setStream(out)
    handler.setFormatter(formatter)

    access = logging.getLogger("trinado.access")
    if not access_log:
        if _access_level_before is None:
            _access_level_before = access.level
        access.setLevel(_SILENT)
    elif _access_level_before is not None:
        access.setLevel(_access_level_before)
        _access_level_before = None
