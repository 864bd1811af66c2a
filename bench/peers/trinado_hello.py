"""Run ``examples/helloworld.py`` on a port chosen by the benchmark.

The example itself serves on its default port; this wrapper imports its ``make_app()`` and
calls ``app.serve(port, host)`` so the benchmark can pick a free port.

With ``--workers N`` it serves from N processes through `trinado.process.run_workers`, as
``python -m trinado --workers N`` does.

Run: ``python bench/peers/trinado_hello.py --port 8888 [--workers 2]``
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import trio

ROOT = Path(__file__).resolve().parents[2]


def load_example() -> ModuleType:
    """Import ``examples/helloworld.py`` from the repository this file lives in.

    Returns:
        The example module.

    Raises:
        ImportError: If the example cannot be loaded.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    path = ROOT / "examples" / "helloworld.py"
    spec = importlib.util.spec_from_file_location("helloworld", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1, help="processes (run_workers)")
    args = parser.parse_args()
    make_app = load_example().make_app
    if args.workers > 1:
        from trinado.process import run_workers

        sys.exit(run_workers(make_app, args.workers, port=args.port, host=args.host))
    else:
        trio.run(functools.partial(make_app().serve, args.port, args.host))
