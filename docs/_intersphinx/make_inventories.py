"""Rebuild the intersphinx inventories in this folder, without reaching the projects' sites.

Sphinx links names such as `trio.Nursery` to other projects' documentation through their
``objects.inv``. The build must work offline (CI has no network but the package indexes),
so the inventories are kept here and refreshed by hand when a dependency changes much:

    python docs/_intersphinx/make_inventories.py

For trio, h11 and wsproto it downloads the installed version's source distribution from
PyPI (``pip download --no-binary :all:``), builds its ``docs/source`` with the installed
Sphinx (with the project's own ``conf.py``, minus extensions that are not installed and
minus network access) and keeps only the resulting ``objects.inv``. Python's inventory is
the one Debian's ``python3.X-doc`` package installs under ``/usr/share/doc``.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECTS = ["trio", "h11", "wsproto"]

# Appended to each project's conf.py: no network, no theme or extension we do not have.
_WRAPPER = """
import importlib.util as _util
import sys as _sys

def _installed(name):
    try:
        return _util.find_spec(name) is not None
    except ImportError:
        return False


_original = {conf!r}
__file__ = _original
_sys.path.insert(0, {source!r})
exec(compile(open(_original).read(), _original, "exec"))
# trio's "typevars" resolves links through the python inventory, which is left out here.
extensions = [
    e for e in extensions if e != "typevars" and _installed(e)
]
if "sphinx.ext.intersphinx" not in extensions:
    extensions.append("sphinx.ext.intersphinx")
intersphinx_mapping = {{}}
html_theme = "basic"
html_theme_options = {{}}
html_static_path = []
nitpicky = False
setup = None  # their own hooks: styling, and fixes that assume network inventories
"""


def build_inventory(project: str, work: Path) -> Path:
    """Download ``project``'s sdist, build its docs and return the path of objects.inv."""
    version = importlib.metadata.version(project)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"{project}=={version}",
            "-d",
            str(work),
        ],
        check=True,
    )
    archive = next(work.glob(f"{project}-{version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    source = work / f"{project}-{version}" / "docs" / "source"
    confdir = work / f"{project}-conf"
    confdir.mkdir()
    conf = source / "conf.py"
    (confdir / "conf.py").write_text(_WRAPPER.format(conf=str(conf), source=str(source)))
    out = work / f"{project}-html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            "-c",
            str(confdir),
            str(source),
            str(out),
        ],
        cwd=source,
        check=False,  # their docs warn about what we left out; the inventory is still made
    )
    inventory = out / "objects.inv"
    if not inventory.exists():
        raise SystemExit(f"no objects.inv for {project}")
    return inventory


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for project in PROJECTS:
            work = Path(tmp) / project
            work.mkdir()
            shutil.copy(build_inventory(project, work), HERE / f"{project}.inv")
            print(f"{project}.inv")
    python = Path(f"/usr/share/doc/python3.{sys.version_info.minor}/html/objects.inv")
    if not python.exists():
        raise SystemExit(f"{python} missing: apt-get install python3.{sys.version_info.minor}-doc")
    shutil.copy(python, HERE / "python.inv")
    print("python.inv")


if __name__ == "__main__":
    main()
