"""Development sessions: ``nox -s lint typecheck tests`` is what CI runs."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = False

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def _installed_pythons() -> list[str]:
    """Every supported CPython that actually runs here, always including the current one.

    A pyenv shim answers ``which`` for versions that are not active and then fails, so each
    candidate is started once instead of trusting the PATH.
    """
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = []
    for version in SUPPORTED:
        exe = shutil.which(f"python{version}")
        if version == current:
            found.append(version)
        elif exe is not None:
            ok = (
                subprocess.run(
                    [exe, "-c", "import sys, venv"], capture_output=True, check=False
                ).returncode
                == 0
            )
            if ok:
                found.append(version)
    return found


@nox.session(python=_installed_pythons())
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[typecheck]")
    session.run("mypy", "--strict", "trinado")


@nox.session
def bench(session: nox.Session) -> None:
    """Hello world, trinado against Tornado, side by side (needs wrk and taskset)."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/http_hello.py", *session.posargs)
