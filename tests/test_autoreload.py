"""trinado.autoreload: what is watched, change detection, syntax checks, the reload itself."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import trinado
from trinado import autoreload, web
from trinado.autoreload import ChangeDetector, syntax_errors, wait_for_change, watched_files


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autoreload, "_watched", set())
    monkeypatch.setattr(autoreload, "_reload_hooks", [])
    monkeypatch.setattr(autoreload, "_reload_requested", False)


def write(path: Path, text: str) -> str:
    """Writes ``path`` and moves its mtime a second on, so that no clock is too coarse."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    mtime = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(mtime, mtime))
    return str(path)


def fake_module(monkeypatch: pytest.MonkeyPatch, name: str, file: Any) -> None:
    module = types.ModuleType(name)
    module.__file__ = file
    monkeypatch.setitem(sys.modules, name, module)


# --------------------------------------------------------------------------- watched_files


def test_application_modules_are_watched_installed_ones_not() -> None:
    files = watched_files()
    assert __file__ in files
    assert trinado.__file__ in files  # installed in editable mode: its source tree
    assert autoreload.__file__ in files
    assert os.__file__ not in files  # the standard library
    assert trio.__file__ not in files  # an installed package
    assert pytest.__file__ not in files
    assert all(os.path.isabs(path) and path.endswith(".py") for path in files)


def test_module_files_are_classified(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mine = tmp_path / "app" / "models.py"
    installed = tmp_path / "lib" / "site-packages" / "dep.py"
    debian = tmp_path / "dist-packages" / "other.py"
    compiled = tmp_path / "app" / "speedups.so"
    legacy = tmp_path / "app" / "legacy.py"
    for path in (mine, installed, debian, compiled, legacy):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    fake_module(monkeypatch, "_t_mine", str(mine))
    fake_module(monkeypatch, "_t_installed", str(installed))
    fake_module(monkeypatch, "_t_debian", str(debian))
    fake_module(monkeypatch, "_t_compiled", str(compiled))
    fake_module(monkeypatch, "_t_legacy", str(legacy) + "c")  # a .pyc beside its .py
    fake_module(monkeypatch, "_t_gone", str(tmp_path / "gone.py"))
    fake_module(monkeypatch, "_t_no_file", None)
    files = watched_files()
    assert str(mine) in files
    assert str(legacy) in files
    assert not {str(installed), str(debian), str(compiled), str(tmp_path / "gone.py")} & files


def test_odd_objects_in_sys_modules_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Touchy:
        @property
        def __file__(self) -> str:
            raise RuntimeError("do not touch")

    monkeypatch.setitem(sys.modules, "_t_touchy", Touchy())
    monkeypatch.setitem(sys.modules, "_t_none", None)
    assert __file__ in watched_files()


def test_watch_adds_absolute_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    autoreload.watch("settings.toml")
    autoreload.watch(Path("data") / "words.txt")
    files = watched_files()
    assert str(tmp_path / "settings.toml") in files  # watched even before it exists
    assert str(tmp_path / "data" / "words.txt") in files


def test_templates_of_the_app(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "admin" / ".git").mkdir(parents=True)
    for name in ("base.html", "admin/users.html", "admin/.users.html.swp", "base.html~"):
        (templates / name).write_text("x")
    (templates / "admin" / ".git" / "HEAD").write_text("x")
    (templates / "#base.html#").write_text("x")
    app = web.Application([], template_path=str(templates))
    files = watched_files(app)
    mine = {path for path in files if path.startswith(str(templates))}
    assert mine == {str(templates / "base.html"), str(templates / "admin" / "users.html")}
    assert __file__ in files
    assert not {p for p in watched_files(web.Application([])) if p.startswith(str(templates))}


# --------------------------------------------------------------------------- ChangeDetector


def test_change_detector(tmp_path: Path) -> None:
    a, b, later = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "later.py"
    write(a, "a = 1\n")
    write(b, "b = 1\n")
    detector = ChangeDetector([str(a), str(b), str(later)])
    assert detector.changed() == []

    write(b, "b = 2\n")
    write(a, "a = 2\n")
    assert detector.changed() == [str(a), str(b)]  # sorted
    assert detector.changed() == []

    write(later, "")  # listed while missing: its creation is a change
    assert detector.changed() == [str(later)]
    a.unlink()
    assert detector.changed() == [str(a)]
    assert detector.changed() == []


def test_same_mtime_different_size_is_a_change(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    write(path, "x = 1\n")
    mtime = path.stat().st_mtime_ns
    detector = ChangeDetector([str(path)])
    path.write_text("x = 100\n")
    os.utime(path, ns=(mtime, mtime))
    assert detector.changed() == [str(path)]


def test_update_snapshots_new_files_and_keeps_pending_changes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    write(a, "")
    write(b, "")
    detector = ChangeDetector([str(a)])
    write(a, "a = 1\n")  # changed before update(): still reported after it
    detector.update([str(a), str(b)])
    assert detector.files == {str(a), str(b)}
    assert detector.changed() == [str(a)]  # b's arrival is not a change
    write(b, "b = 1\n")
    detector.update([str(b)])
    write(a, "a = 2\n")
    assert detector.changed() == [str(b)]  # a is no longer watched


# --------------------------------------------------------------------------- syntax_errors


def test_good_files_have_no_errors(tmp_path: Path) -> None:
    good = write(tmp_path / "good.py", "def f():\n    return '\\d'\n")  # a warning, no error
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    assert syntax_errors([good, str(latin)]) == []


def test_syntax_error_message(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.py", "x = 1\nif x:\n    def f(:\n        pass\n")
    [message] = syntax_errors([bad])
    assert message.split("\n") == [f"{bad}:3: invalid syntax", "    def f(:", "          ^"]
    assert not (tmp_path / "__pycache__").exists()  # compiled, not imported


def test_indentation_error_message(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.py", "x = 1\n    y = 2\n")
    [message] = syntax_errors([bad])
    assert message.split("\n") == [f"{bad}:2: unexpected indent", "    y = 2", "    ^"]


def test_nothing_is_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()\n"
    assert syntax_errors([write(tmp_path / "side_effect.py", code)]) == []
    assert not marker.exists()


def test_undecodable_and_nul_bytes_are_errors(tmp_path: Path) -> None:
    undecodable = tmp_path / "undecodable.py"
    undecodable.write_bytes(b"name = '\xff\xfe'\n")
    nul = tmp_path / "nul.py"
    nul.write_bytes(b"x = 1\x00\n")
    errors = syntax_errors([str(undecodable), str(nul)])
    assert len(errors) == 2
    assert errors[0].startswith(f"{undecodable}:1: ")
    assert "decode" in errors[0]
    assert errors[1].startswith(f"{nul}")


def test_other_files_and_vanished_files_are_skipped(tmp_path: Path) -> None:
    template = write(tmp_path / "page.html", "{% if %}")
    (tmp_path / "pkg.py").mkdir()
    assert syntax_errors([template, str(tmp_path / "gone.py"), str(tmp_path / "pkg.py")]) == []


# --------------------------------------------------------------------------- wait_for_change


class Watched:
    """A growing list of files, as watched_files() is while modules get imported."""

    def __init__(self, *paths: Path) -> None:
        self.paths = [str(path) for path in paths]
        self.calls = 0

    def __call__(self) -> list[str]:
        self.calls += 1
        return list(self.paths)


async def test_wait_for_change_returns_the_changed_files(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.html"
    write(a, "a = 1\n")
    write(b, "<p>")
    files = Watched(a, b)
    result: list[str] = []

    async def wait() -> None:
        result.extend(await wait_for_change(files, interval=0.5))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(10)
        assert not result
        assert files.calls > 10  # polled on every pass
        write(a, "a = 2\n")
        write(b, "<p>hi")
    assert result == [str(a), str(b)]
    assert trio.current_time() < 11


async def test_files_arriving_later_are_watched_not_reported(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    write(a, "")
    write(b, "")
    files = Watched(a)
    result: list[str] = []

    async def wait() -> None:
        result.extend(await wait_for_change(files))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(2)
        files.paths.append(str(b))  # imported later
        await trio.sleep(2)
        assert not result
        write(b, "b = 1\n")
    assert result == [str(b)]


async def test_syntax_error_keeps_waiting_and_is_logged(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    write(a, "a = 1\n")
    write(b, "b = 1\n")
    result: list[str] = []

    async def wait() -> None:
        result.extend(await wait_for_change(Watched(a, b)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(2)
        write(a, "def broken(:\n")
        await trio.sleep(5)
        assert not result
        errors = [r for r in caplog.records if r.name == "trinado.general"]
        assert [r.levelno for r in errors] == [logging.ERROR]
        assert f"{a}:1: " in errors[0].getMessage()

        write(b, "b = 2\n")  # another change while a is still broken: still waiting
        await trio.sleep(5)
        assert not result
        assert len([r for r in caplog.records if r.name == "trinado.general"]) == 2

        write(a, "def fixed():\n    pass\n")
    assert result == [str(a), str(b)]


async def test_a_burst_of_writes_is_one_change(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    write(a, "")
    write(b, "")
    result: list[str] = []

    async def wait() -> None:
        result.extend(await wait_for_change(Watched(a, b), interval=1))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        await trio.sleep(1.5)
        write(a, "a = 1\n")
        await trio.sleep(0.55)  # the first pass has seen a; b follows while it settles
        assert not result
        write(b, "b = 1\n")
    assert result == [str(a), str(b)]


async def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        await wait_for_change(list, interval=0)


# --------------------------------------------------------------------------- reloading


async def test_autoreload_task_asks_for_a_shutdown(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    a = tmp_path / "a.py"
    write(a, "")
    shutdowns: list[float] = []
    caplog.set_level(logging.INFO, logger="trinado.general")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            functools.partial(
                autoreload.autoreload_task,
                lambda: shutdowns.append(trio.current_time()),
                Watched(a),
                interval=0.25,
            )
        )
        await trio.sleep(3)
        assert not shutdowns
        assert not autoreload.reload_requested()
        write(a, "a = 1\n")
    assert len(shutdowns) == 1
    assert autoreload.reload_requested()
    assert f"Reloading: {a} changed" in caplog.messages


def test_exec_without_a_reload_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(os, "execv", lambda *args: calls.append(args))
    autoreload.add_reload_hook(lambda: calls.append("hook"))
    autoreload.exec_if_reload_requested()
    assert calls == []


def test_exec_runs_hooks_then_execs_the_same_command(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []

    def failing_hook() -> None:
        calls.append("failing")
        raise RuntimeError("hook trouble")

    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-X", "dev", "-m", "myapp", "--port=1"])
    monkeypatch.setattr(autoreload, "_reload_requested", True)
    autoreload.add_reload_hook(failing_hook)
    autoreload.add_reload_hook(lambda: calls.append("second"))
    autoreload.exec_if_reload_requested()
    assert calls == [
        "failing",
        "second",
        (sys.executable, [sys.executable, "-X", "dev", "-m", "myapp", "--port=1"]),
    ]
    assert any("hook trouble" in r.exc_text for r in caplog.records if r.exc_text)


def test_exec_needs_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "")
    monkeypatch.setattr(autoreload, "_reload_requested", True)
    with pytest.raises(RuntimeError, match="interpreter"):
        autoreload.exec_if_reload_requested()


def test_is_supervised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(autoreload.SUPERVISED_ENV, raising=False)
    assert not autoreload.is_supervised()
    monkeypatch.setenv(autoreload.SUPERVISED_ENV, "0")
    assert not autoreload.is_supervised()
    monkeypatch.setenv(autoreload.SUPERVISED_ENV, "1")
    assert autoreload.is_supervised()


# --------------------------------------------------------------------------- a real re-exec

PROGRAM = """\\
import contextlib, functools, os, sys
import trio
from trinado import autoreload, web
import helper

run = int(os.environ.get("RELOAD_TEST_RUN", "0")) + 1
os.environ["RELOAD_TEST_RUN"] = str(run)
print(f"run {run} {sys.argv[1:]} utf8={sys.flags.utf8_mode} {helper.VALUE}", flush=True)
if run == 2:
    sys.exit(0)
autoreload.add_reload_hook(lambda: print("hook", flush=True))


async def change_helper():
    await trio.sleep(0.3)
    with open(helper.__file__, "w") as file:
        file.write("VALUE = 'changed'  # a longer file\\n")


@contextlib.asynccontextmanager
async def lifespan(app):
    async with trio.open_nursery() as nursery:
        nursery.start_soon(change_helper)
        yield
        nursery.cancel_scope.cancel()
    print("served", flush=True)


# debug=True turns autoreload on; serve() is the main task, so it re-executes the program.
app = web.Application([], debug=True, lifespan=lifespan)
trio.run(functools.partial(app.serve, 0, "127.0.0.1"))
print("not reached", flush=True)
"""


@pytest.mark.parametrize("as_module", [False, True])
def test_the_process_reexecutes_itself(tmp_path: Path, as_module: bool) -> None:
    (tmp_path / "app_main.py").write_text(PROGRAM)
    (tmp_path / "helper.py").write_text("VALUE = 'original'\n")
    target = ["-m", "app_main"] if as_module else [str(tmp_path / "app_main.py")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELOAD_TEST", "TRINADO"))}
    result = subprocess.run(
        [sys.executable, "-X", "utf8", *target, "--flag"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "run 1 ['--flag'] utf8=1 original",
        "served",
        "hook",
        "run 2 ['--flag'] utf8=1 changed",
    ]
