"""``python -m trinado``: the flags, the messages for what goes wrong, the single process.

The servers run as real subprocesses (see ``tests/cli_apps/harness.py``) on 127.0.0.1; every
wait has a deadline and every process group is killed at the end of its test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.cli_apps.harness import (
    APPS,
    InFlight,
    Served,
    get,
    get_unix,
    poll,
    run_cli,
)
from trinado import _cli
from trinado._cli import (
    CLIError,
    apply_debug,
    build_parser,
    check_args,
    load_app,
    parse_app_spec,
    server_options,
)

# -- pure parts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("hello:app", ("hello", "app")),
        ("pkg.web:make_app", ("pkg.web", "make_app")),
        ("pkg.web:holder.app", ("pkg.web", "holder.app")),
        ("hello", ("hello", None)),
    ],
)
def test_parse_app_spec(spec: str, expected: tuple[str, str | None]) -> None:
    assert parse_app_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", ":app", "hello:", "a:b:c", "1st:app", "my-app:app", "a..b"])
def test_parse_app_spec_rejects(spec: str) -> None:
    with pytest.raises(CLIError, match="module:attr") as info:
        parse_app_spec(spec)
    assert info.value.status == 2


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args([*argv, "hello:app"])


def test_defaults_map_to_plain_options() -> None:
    args = parse()
    assert server_options(args) == {"shutdown_timeout": 10.0}
    assert (args.host, args.port, args.workers, args.reload, args.debug) == (
        None,
        None,
        None,
        False,
        False,
    )
    assert (args.log_level, args.access_log, args.log_format) == ("info", True, "pretty")


def test_flags_map_to_server_options() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    args = parse("--xheaders", "--shutdown-timeout", "2.5", "--no-access-log")
    assert server_options(args, context) == {
        "shutdown_timeout": 2.5,
        "xheaders": True,
        "ssl_options": context,
    }
    assert args.access_log is False


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "-1"],
        ["--port", "65536"],
        ["--port", "http"],
        ["--shutdown-timeout", "-1"],
        ["--shutdown-timeout", "nan"],
        ["--log-level", "loud"],
        ["--log-format", "xml"],
        ["--rel"],  # no abbreviations: the supervisor strips exactly --reload
    ],
)
def test_bad_flag_values_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        parse(*argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--unix-socket", "/tmp/x.sock", "--port", "80"], "--unix-socket cannot"),
        (["--unix-socket", "/tmp/x.sock", "--host", "::1"], "--unix-socket cannot"),
        (["--keyfile", "key.pem"], "--keyfile needs --certfile"),
    ],
)
def test_conflicting_flags(argv: list[str], message: str) -> None:
    with pytest.raises(CLIError, match=message):
        check_args(build_parser().parse_args([*argv, "hello:app"]))


def test_apply_debug_keeps_explicit_settings() -> None:
    settings: dict[str, object] = {"serve_traceback": False}
    apply_debug(settings)
    assert settings == {
        "serve_traceback": False,
        "debug": True,
        "autoreload": True,
        "compiled_template_cache": False,
        "static_hash_cache": False,
    }


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import the test apps in this process, and forget them afterwards."""
    monkeypatch.chdir(APPS)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.mark.usefixtures("isolated_imports")
def test_load_app_finds_app_factories_and_defaults() -> None:
    from trinado.web import Application

    assert isinstance(load_app("basic:app"), Application)
    made = load_app("basic:make_app")
    assert isinstance(made, Application)
    assert made is not load_app("basic:app")
    assert isinstance(load_app("basic"), Application)  # `app`
    assert isinstance(load_app("factory_only"), Application)  # then `make_app`
    assert sys.path[0] in ("", os.getcwd())


@pytest.mark.usefixtures("isolated_imports")
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module:app", "cannot import 'no_such_module': no module named"),
        ("no_such_package.web:app", "no module named 'no_such_package'"),
        ("needs_missing", r"error while importing 'needs_missing': ModuleNotFoundError: .*"),
        ("basic:missing", "module 'basic' has no attribute 'missing'"),
        ("basic:not_an_app", "basic:not_an_app is an int, not an Application"),
        ("basic:make_text", r"basic:make_text\(\) returned a str, not an Application"),
        ("basic:make_broken", r"calling basic:make_broken\(\) failed: LookupError: the factory"),
        ("basic:make_async", "is an async function"),
        ("raises_on_import", r"RuntimeError: failure at import time \(.*raises_on_import.py:3\)"),
        ("harness", "has no 'app' or 'make_app'"),
    ],
)
def test_load_app_errors(spec: str, message: str) -> None:
    with pytest.raises(CLIError, match=message) as info:
        load_app(spec)
    assert info.value.status == 2


def test_load_app_syntax_error_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo_app.py").write_text("x = 1\ndef broken(:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(CLIError, match=r"syntax error in .*typo_app.py:2: invalid syntax\n"):
            load_app("typo_app:app")
    finally:
        sys.modules.pop("typo_app", None)


def test_certificate_problems_are_runtime_errors(tmp_path: Path) -> None:
    with pytest.raises(CLIError, match="cannot read the certificate file") as info:
        _cli.make_ssl_context(str(tmp_path / "missing.pem"), None)
    assert info.value.status == 1
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(CLIError, match="cannot load the certificate and key") as info:
        _cli.make_ssl_context(str(garbage), None)
    assert info.value.status == 1


# -- errors from the real command ---------------------------------------------------------------


def test_help_is_readable() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    text = result.stdout
    assert "module:attr" in text
    assert "make_app" in text
    for flag in (
        "--host",
        "--port",
        "--unix-socket",
        "--workers",
        "--reload",
        "--debug",
        "--certfile",
        "--keyfile",
        "--xheaders",
        "--shutdown-timeout",
        "--log-level",
        "--no-access-log",
        "--log-format",
    ):
        assert flag in text, flag


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("trinado: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module:app", "no module named 'no_such_module'"),
        ("basic:missing", "has no attribute 'missing'"),
        ("basic:not_an_app", "is an int, not an Application"),
        ("raises_on_import:app", "RuntimeError: failure at import time"),
    ],
)
def test_import_errors_exit_2_in_one_line(spec: str, message: str) -> None:
    result = run_cli(spec)
    assert result.returncode == 2
    assert message in one_line_error(result)


def test_syntax_error_exits_2_with_the_place_and_the_line(tmp_path: Path) -> None:
    (tmp_path / "typo_app.py").write_text("x = 1\n\ndef broken(:\n    pass\n")
    result = run_cli("typo_app:app", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # As --reload reports it: the place, then the line with a caret under the error.
    first, code, caret = result.stderr.strip().splitlines()
    assert first == f"trinado: error: syntax error in {tmp_path / 'typo_app.py'}:3: invalid syntax"
    assert code.strip() == "def broken(:"
    assert caret.strip() == "^"
    assert code.index("(:") + 1 == caret.index("^")


def test_a_file_name_instead_of_a_module_gets_a_hint() -> None:
    result = run_cli("basic.py")
    assert result.returncode == 2
    assert "give the module's name, not its file: 'basic'" in one_line_error(result)


def test_a_certificate_without_its_key_says_so(tmp_path: Path, ca: trustme.CA) -> None:
    certfile = tmp_path / "cert.pem"
    ca.issue_cert("localhost").cert_chain_pems[0].write_to_path(str(certfile))
    result = run_cli("basic:app", "--certfile", str(certfile), "--port", "0")
    assert result.returncode == 1
    assert f"{certfile} holds no private key: give it with --keyfile" in one_line_error(result)


def test_debug_adds_the_traceback() -> None:
    result = run_cli("raises_on_import:app", "--debug")
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("trinado: error: error while")


def test_port_in_use_exits_1_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("basic:app", "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert f"127.0.0.1:{port}: it is already in use" in one_line_error(result)


def test_missing_certificate_exits_1_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    result = run_cli("basic:app", "--certfile", str(missing), "--port", "0")
    assert result.returncode == 1
    assert f"cannot read the certificate file {missing}" in one_line_error(result)


# -- serving ------------------------------------------------------------------------------------


def test_host_port_and_access_log() -> None:
    with Served("basic:app", "--host", "127.0.0.1", "--port", "0") as served:
        line = served.serving()
        assert line.host == "127.0.0.1"
        assert line.port > 0
        assert line.pid == served.proc.pid
        assert line.what == "1 process"
        assert get(line.port) == (200, "hello")
        # Without --xheaders the proxy headers are ignored.
        assert get(line.port, "/ip", headers={"X-Real-Ip": "203.0.113.9"}) == (
            200,
            "127.0.0.1 http",
        )
        served.wait_for(r"^\[I \d+ [\d:]+ \w+:\d+\] 200 GET / \(127\.0\.0\.1\)")
        served.signal(signal.SIGINT)  # Ctrl-C: graceful too
        assert served.wait() == 0


def test_xheaders_and_json_logs() -> None:
    args = ["basic:app", "--host", "127.0.0.1", "--port", "0", "--xheaders", "--log-format", "json"]
    with Served(*args) as served:
        line = served.serving()
        headers = {"X-Real-Ip": "203.0.113.9", "X-Scheme": "https"}
        assert get(line.port, "/ip", headers=headers) == (200, "203.0.113.9 https")
        served.wait_for("GET /ip")
        served.signal()
        assert served.wait() == 0
        records = [json.loads(text) for text in served.lines if text.strip()]
    assert any("trinado serving basic:app" in record["message"] for record in records)
    assert any("203.0.113.9" in record["message"] for record in records)


def test_log_level_warning_hides_info() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["basic:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with Served(*args) as served:
        poll(lambda: get(port) == (200, "hello"), what="the server")
        assert get(port, "/missing")[0] == 404
        served.wait_for(r"^\[W .*404 GET /missing")
        served.signal()
        assert served.wait() == 0
    assert "trinado serving" not in served.output
    assert "200 GET /" not in served.output


def test_no_access_log_and_factory_default() -> None:
    with Served("factory_only", "--host", "127.0.0.1", "--port", "0", "--no-access-log") as served:
        line = served.serving()
        assert get(line.port) == (200, "made by make_app")
        assert get(line.port, "/missing")[0] == 404
        served.signal()
        assert served.wait() == 0
    assert "trinado serving factory_only on" in served.output
    assert "GET /" not in served.output


def test_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "web.sock")
    with Served("basic:app", "--unix-socket", path) as served:
        line = served.serving()
        assert line.url == f"unix:{path}"
        assert get_unix(path) == (200, "hello")
        served.signal()
        assert served.wait() == 0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_https_with_certfile_and_keyfile(tmp_path: Path, ca: trustme.CA) -> None:
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    client = ssl.create_default_context()
    ca.configure_trust(client)
    args = ["basic:app", "--host", "127.0.0.1", "--port", "0"]
    with Served(*args, "--certfile", str(certfile), "--keyfile", str(keyfile)) as served:
        line = served.serving()
        assert line.url.startswith("https://127.0.0.1:")
        assert get(line.port, "/ip", context=client) == (200, "127.0.0.1 https")
        served.signal()
        assert served.wait() == 0


def test_debug_shows_tracebacks_and_supervises() -> None:
    with Served("basic:app", "--debug", "--host", "127.0.0.1", "--port", "0") as served:
        line = served.serving()
        assert line.pid != served.proc.pid  # --debug implies --reload: a supervised child
        status, body = get(line.port, "/fail")
        assert status == 500
        assert "Traceback" in body
        assert "ZeroDivisionError: handler failure for the test" in body
        served.signal()
        assert served.wait() == 0
        poll(lambda: not served.group_alive(), timeout=10, what="every process to exit")


def test_shutdown_timeout_lets_short_requests_finish_and_cuts_long_ones() -> None:
    args = ["basic:app", "--host", "127.0.0.1", "--port", "0", "--shutdown-timeout", "1"]
    with Served(*args) as served:
        line = served.serving()
        short = InFlight(line.port, "/sleep?s=0.4")
        long = InFlight(line.port, "/sleep?s=30")
        short.start()
        long.start()
        served.wait_for(r"sleeping 0\.4 in")
        served.wait_for(r"sleeping 30\.0 in")
        served.signal()
        assert short.outcome() == (200, "slept 0.4")
        cut = long.outcome(timeout=10)
        assert isinstance(cut, Exception) or cut[0] >= 500, cut
        assert served.wait(timeout=10) == 0


def test_ctrl_c_while_the_application_starts_exits_130_without_a_traceback() -> None:
    with Served("slow_start:app", "--host", "127.0.0.1", "--port", "0") as served:
        served.wait_for("starting slowly in")  # inside its lifespan, under trio.run
        served.signal(signal.SIGINT)
        assert served.wait(timeout=10) == 130
    assert "Traceback" not in served.output
