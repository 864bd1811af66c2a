"""Development sessions: ``nox -s lint typecheck tests docs`` is what CI runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = False

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def _add_pyenv_versions_to_path() -> None:
    """Make CPythons that pyenv installed but did not activate visible as ``pythonX.Y``.

    Their shims only answer for active versions, so each version's own bin directory goes
    on the PATH (after what is there already).
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not root.is_dir():
        return
    extra = []
    for version in SUPPORTED:
        candidates = sorted(root.glob(f"{version}.*/bin/python{version}"), reverse=True)
        if candidates:
            extra.append(str(candidates[0].parent))
    if extra:
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *extra])


def _installed_pythons() -> list[str]:
    """Every supported CPython that actually runs here, always including the current one.

    A pyenv shim answers ``which`` for versions that are not active and then fails, so each
    candidate is started once instead of trusting the PATH.
    """
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [v for v in SUPPORTED if v == current or _find_python(v) is not None]


def _find_python(version: str) -> str | None:
    """The first ``pythonX.Y`` on the PATH that actually starts (shims may not)."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        exe = shutil.which(f"python{version}", path=directory)
        if exe is None:
            continue
        ok = subprocess.run([exe, "-c", "import sys, venv"], capture_output=True, check=False)
        if ok.returncode == 0:
            return exe
    return None


_add_pyenv_versions_to_path()


# Debian packages some tests drive: each test skips, saying why, where its program is missing.
DEBIAN_PROGRAMS = {
    "chromium": "/usr/bin/chromium",  # the chat demo's browser test
    "redis-server": "/usr/bin/redis-server",  # the chat demo's shared store
    "nginx": "/usr/sbin/nginx",  # docs/deployment.md's "Behind nginx", run in test_nginx.py
}


@nox.session(python=_installed_pythons())
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install("-e", ".[test]")
    _install_debian_programs(session)
    session.run("pytest", *session.posargs)


def _install_debian_programs(session: nox.Session) -> None:
    """Install the programs of `DEBIAN_PROGRAMS` that are missing, when we may."""
    missing = [name for name, path in DEBIAN_PROGRAMS.items() if not os.path.exists(path)]
    if not missing:
        return
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        session.log(f"{', '.join(missing)} missing and not installable here: their tests skip")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", external=True, env=env)
    session.run(
        "apt-get", "install", "-y", "--no-install-recommends", *missing, external=True, env=env
    )


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
def docs(session: nox.Session) -> None:
    """Build the documentation site with Sphinx; any warning fails the build."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Hello world, trinado against Tornado, side by side (needs wrk and taskset)."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/http_hello.py", *session.posargs)
