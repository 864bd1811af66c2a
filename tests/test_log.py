"""trinado.log: Tornado's line format, JSON lines, and enable_pretty_logging's configuration."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from trinado import log, web
from trinado.log import JSONFormatter, LogFormatter, enable_pretty_logging
from trinado.testing import open_test_client

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LINE_RE = re.compile(
    r"^\[(?P<level>[DIWEC]) \d{6} \d\d:\d\d:\d\d (?P<where>\S+:\d+)\] (?P<msg>.*)$"
)
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def make_record(
    msg: str = "hello %s",
    args: tuple[Any, ...] = ("world",),
    level: int = logging.INFO,
    name: str = "trinado.general",
    exc_info: Any = None,
    **extra: Any,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, "/src/app/module.py", 42, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def exc_info_of(exc: BaseException) -> Any:
    try:
        raise exc
    except BaseException:
        return sys.exc_info()


@pytest.fixture(autouse=True)
def _access_level(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The access logger's level and what access_log=False remembered, restored after."""
    monkeypatch.setattr(log, "_access_level_before", None)
    level = log.access_log.level
    yield
    log.access_log.setLevel(level)


def pretty_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if type(h).__name__ == "_PrettyHandler"]


def remove_pretty_handlers(logger: logging.Logger) -> None:
    for handler in pretty_handlers(logger):
        logger.removeHandler(handler)


@pytest.fixture
def trinado_logger() -> Iterator[logging.Logger]:
    """The ``trinado`` logger, not propagating; its level and handlers restored after."""
    logger = logging.getLogger("trinado")
    level, propagate = logger.level, logger.propagate
    logger.propagate = False  # keep pytest's capture of the root logger out of the way
    yield logger
    remove_pretty_handlers(logger)
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger; its level restored and the handler tests add removed after."""
    root = logging.getLogger()
    level = root.level
    yield root
    remove_pretty_handlers(root)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")


# --------------------------------------------------------------------------- LogFormatter


def test_line_format_is_tornados() -> None:
    line = LogFormatter(color=False).format(make_record())
    match = LINE_RE.match(line)
    assert match, line
    assert match["level"] == "I"
    assert match["where"] == "module:42"
    assert match["msg"] == "hello world"


def test_level_letters() -> None:
    formatter = LogFormatter(color=False)
    letters = [
        formatter.format(make_record(level=level))[1]
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, 50)
    ]
    assert letters == ["D", "I", "W", "E", "C"]


def test_traceback_follows_indented() -> None:
    record = make_record("failed\nsecond line", (), exc_info=exc_info_of(KeyError("k")))
    lines = LogFormatter(color=False).format(record).split("\n")
    assert LINE_RE.match(lines[0])
    assert lines[0].endswith("] failed")
    assert lines[1] == "    second line"
    assert lines[2] == "    Traceback (most recent call last):"
    assert lines[-1] == "    KeyError: 'k'"
    assert all(line.startswith("    ") for line in lines[1:])


def test_bad_arguments_do_not_lose_the_record() -> None:
    line = LogFormatter(color=False).format(make_record("%d items", ("many",)))
    assert "Bad log message" in line
    assert "'%d items'" in line


def test_colour_only_on_a_terminal_and_when_asked() -> None:
    record = make_record(level=logging.ERROR)
    coloured = LogFormatter(stream=FakeTTY()).format(record)
    assert coloured.startswith("\033[31m[E ")
    assert "]\033[0m hello world" in coloured
    assert "\033" not in LogFormatter(stream=io.StringIO()).format(record)
    assert "\033" not in LogFormatter(color=False, stream=FakeTTY()).format(record)


def test_colour_per_level() -> None:
    formatter = LogFormatter(stream=FakeTTY())
    assert formatter.format(make_record(level=logging.INFO)).startswith("\033[32m")
    assert formatter.format(make_record(level=logging.WARNING)).startswith("\033[33m")
    assert formatter.format(make_record(level=logging.DEBUG)).startswith("\033[34m")


def test_no_color_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033" not in LogFormatter(stream=FakeTTY()).format(make_record())


def test_custom_format_and_style() -> None:
    formatter = LogFormatter("{levelname}|{name}|{message}", style="{", color=False)
    assert formatter.format(make_record()) == "INFO|trinado.general|hello world"


# --------------------------------------------------------------------------- JSONFormatter


def test_json_line() -> None:
    text = JSONFormatter().format(make_record())
    assert "\n" not in text
    entry = json.loads(text)
    assert list(entry) == ["time", "level", "logger", "message", "pid"]
    assert entry["pid"] == os.getpid()  # with several workers: which one logged
    assert TIME_RE.match(entry["time"]), entry["time"]
    assert entry["level"] == "INFO"
    assert entry["logger"] == "trinado.general"
    assert entry["message"] == "hello world"


def test_json_time_is_utc_with_milliseconds() -> None:
    record = make_record()
    record.created = 1714564800.1239  # 2024-05-01 12:00:00.123 UTC
    assert json.loads(JSONFormatter().format(record))["time"] == "2024-05-01T12:00:00.123Z"


def test_json_extras_that_json_can_carry() -> None:
    record = make_record(
        status=404, method="GET", tags=["a", 1], ok=None, widget=object(), logger="shadowed"
    )
    entry = json.loads(JSONFormatter().format(record))
    assert entry["status"] == 404
    assert entry["method"] == "GET"
    assert entry["tags"] == ["a", 1]
    assert entry["ok"] is None
    assert "widget" not in entry
    assert entry["logger"] == "trinado.general"


def test_json_traceback_and_unicode() -> None:
    record = make_record("caf\u00e9 \n ok", (), exc_info=exc_info_of(ValueError("bad")))
    text = JSONFormatter().format(record)
    assert "\n" not in text
    assert "caf\u00e9" in text
    entry = json.loads(text)
    assert entry["message"] == "caf\u00e9 \n ok"
    assert entry["exc_info"].startswith("Traceback (most recent call last):")
    assert entry["exc_info"].endswith("ValueError: bad")


# --------------------------------------------------------------------------- enable_pretty_logging


def test_enable_writes_lines(trinado_logger: logging.Logger) -> None:
    out = io.StringIO()
    enable_pretty_logging("debug", stream=out, logger=trinado_logger)
    assert trinado_logger.level == logging.DEBUG
    log.gen_log.debug("one %d", 1)
    match = LINE_RE.match(out.getvalue().rstrip("\n"))
    assert match, out.getvalue()
    assert match["level"] == "D"
    assert match["msg"] == "one 1"
    assert match["where"].startswith("test_log:")


def test_enable_twice_keeps_one_handler(trinado_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    enable_pretty_logging(stream=first, logger=trinado_logger)
    enable_pretty_logging("warning", stream=second, json=True, logger=trinado_logger)
    assert len(pretty_handlers(trinado_logger)) == 1
    log.gen_log.info("dropped: below warning")
    log.gen_log.warning("kept")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["message"] == "kept"


def test_enable_leaves_other_handlers(trinado_logger: logging.Logger) -> None:
    other = logging.StreamHandler(io.StringIO())
    trinado_logger.addHandler(other)
    try:
        before = list(trinado_logger.handlers)
        enable_pretty_logging(stream=io.StringIO(), logger=trinado_logger)
        enable_pretty_logging(stream=io.StringIO(), logger=trinado_logger)
        assert trinado_logger.handlers[:-1] == before
        assert len(pretty_handlers(trinado_logger)) == 1
    finally:
        trinado_logger.removeHandler(other)


def test_colour_follows_the_stream(trinado_logger: logging.Logger) -> None:
    tty, plain = FakeTTY(), io.StringIO()
    enable_pretty_logging(stream=tty, logger=trinado_logger)
    log.gen_log.info("on a terminal")
    enable_pretty_logging(stream=plain, logger=trinado_logger)
    log.gen_log.info("in a file")
    assert tty.getvalue().startswith("\033[32m")
    assert "\033" not in plain.getvalue()


def test_access_log_off_silences_only_access(trinado_logger: logging.Logger) -> None:
    out = io.StringIO()
    enable_pretty_logging(stream=out, access_log=False, logger=trinado_logger)
    assert not log.access_log.isEnabledFor(logging.ERROR)
    log.access_log.error("500 GET / (127.0.0.1) 1.00ms")
    log.app_log.error("still here")
    assert "500 GET" not in out.getvalue()
    assert "still here" in out.getvalue()

    enable_pretty_logging(stream=out, logger=trinado_logger)  # access_log=True undoes it
    log.access_log.info("200 GET / (127.0.0.1) 1.00ms")
    assert "200 GET /" in out.getvalue()


def test_access_log_off_then_on_restores_the_level(trinado_logger: logging.Logger) -> None:
    log.access_log.setLevel(logging.WARNING)
    enable_pretty_logging(stream=io.StringIO(), access_log=False, logger=trinado_logger)
    enable_pretty_logging(stream=io.StringIO(), access_log=False, logger=trinado_logger)
    enable_pretty_logging(stream=io.StringIO(), logger=trinado_logger)
    assert log.access_log.level == logging.WARNING


def test_levels(trinado_logger: logging.Logger) -> None:
    enable_pretty_logging("ERROR", stream=io.StringIO(), logger=trinado_logger)
    assert trinado_logger.level == logging.ERROR
    enable_pretty_logging(logging.WARNING, stream=io.StringIO(), logger=trinado_logger)
    assert trinado_logger.level == logging.WARNING
    with pytest.raises(ValueError, match="loud"):
        enable_pretty_logging("loud", logger=trinado_logger)


def test_none_leaves_logging_alone(trinado_logger: logging.Logger) -> None:
    trinado_logger.setLevel(logging.CRITICAL)
    enable_pretty_logging("none", logger=trinado_logger)
    assert trinado_logger.level == logging.CRITICAL
    assert pretty_handlers(trinado_logger) == []


def test_root_logger_by_default(root_logger: logging.Logger) -> None:
    out = io.StringIO()
    enable_pretty_logging(stream=out)
    enable_pretty_logging(stream=out)
    assert len(pretty_handlers(root_logger)) == 1
    assert root_logger.level == logging.INFO
    logging.getLogger("someone.else").info("to the root")
    assert out.getvalue().rstrip().endswith("] to the root")


# --------------------------------------------------------------------------- a real request


class Hello(web.RequestHandler):
    async def get(self) -> None:
        self.write("hi")


class Broken(web.RequestHandler):
    async def get(self) -> None:
        raise RuntimeError("kaboom")


async def test_json_lines_of_real_requests(trinado_logger: logging.Logger) -> None:
    out = io.StringIO()
    enable_pretty_logging(json=True, stream=out, logger=trinado_logger)
    app = web.Application([(r"/hello", Hello), (r"/broken", Broken)])
    async with open_test_client(app) as client:
        assert (await client.get("/hello?x=1")).status_code == 200
        assert (await client.get("/broken")).status_code == 500
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "trinado.access"]
    assert [e["level"] for e in access] == ["INFO", "ERROR"]
    assert access[0]["message"].startswith("200 GET /hello?x=1 (127.0.0.1) ")
    assert all(TIME_RE.match(e["time"]) for e in entries)
    error = next(e for e in entries if e["logger"] == "trinado.application")
    assert "RuntimeError: kaboom" in error["exc_info"]


async def test_json_access_lines_are_structured(trinado_logger: logging.Logger) -> None:
    out = io.StringIO()
    enable_pretty_logging(json=True, stream=out, logger=trinado_logger)
    async with open_test_client(web.Application([(r"/hello", Hello)])) as client:
        await client.get("/hello?x=1")
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    access = next(e for e in entries if e["logger"] == "trinado.access")
    assert access["status"] == 200
    assert access["method"] == "GET"
    assert access["uri"] == "/hello?x=1"
    assert access["remote_ip"] == "127.0.0.1"
    assert isinstance(access["request_time_ms"], float)
    assert access["request_time_ms"] >= 0


# --------------------------------------------------------------------------- the example


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_example_logging_setup", EXAMPLES / "logging_setup.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("production", [False, True])
async def test_the_example(
    production: bool, root_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example()
    example.configure_logging(production)
    app = example.make_app(production)
    assert app.settings["autoreload"] is not production
    async with open_test_client(app) as client:
        response = await client.get("/", params={"name": "Ada"})
    assert response.text == "Hello, Ada"
    lines = capsys.readouterr().err.splitlines()
    if production:
        entries = [json.loads(line) for line in lines]
        assert {"logger": "example", "message": "Greeting Ada", "visitor": "Ada"}.items() <= (
            entries[0].items()
        )
        assert not [e for e in entries if e["logger"] == "trinado.access"]
    else:
        greeting = next(line for line in lines if "Greeting" in line)
        assert LINE_RE.match(greeting)
        assert re.search(r" logging_setup:\d+\] Greeting Ada$", greeting)
        assert any(re.search(r"\] 200 GET /\?name=Ada \(127\.0\.0\.1\)", line) for line in lines)
