"""Template rendering: trinado.template against tornado.template, side by side.

Both libraries load the same files from ``bench/templates/`` with their own ``Loader``: a
page that extends a base layout (four blocks), includes a navigation partial, and loops over
a few hundred table rows with seven ``{{ }}`` expressions each (escaped strings, numbers, a
formatted float, ``url_escape``) and an ``{% if %}``.

The script first checks that both render byte-identical pages, then runs rounds that
alternate the libraries (trinado, tornado, trinado, ...). Each run renders the page a fixed
number of times (calibrated so a run lasts about ``--duration`` seconds) and reports
renders per second; the ratio trinado/tornado is taken per round and the median over the
rounds is reported, so slow drifts in machine load hit both sides of a ratio alike.

Run: ``python bench/template_render.py [--rounds N] [--rows R] [--duration S] [--quick]``
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from tornado import template as tornado_template  # noqa: E402

from trinado import template as trinado_template  # noqa: E402

PAGE = "page.html"
_WORDS = ["widget", "gadget", "gizmo", "doohickey", "sprocket", "thingamajig", "bolt", "nut"]
_NAMES = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Fatima", "Günter", "Hiro"]


def make_namespace(rows: int, seed: int = 42) -> dict[str, Any]:
    """The values the page is rendered with: ``rows`` orders, some with HTML to escape."""
    rng = random.Random(seed)
    orders: list[dict[str, Any]] = []
    for i in range(rows):
        item = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"
        if i % 7 == 0:
            item += ' <deluxe> & "more"'
        buyer = rng.choice(_NAMES) + (" O'Brien" if i % 5 == 0 else "")
        orders.append(
            {
                "id": 10_000 + i,
                "slug": item.replace(" ", "-"),
                "item": item,
                "buyer": buyer,
                "quantity": rng.randint(1, 20),
                "price": rng.random() * 500,
                "shipped": rng.random() < 0.6,
            }
        )
    return {
        "site_name": "Bench & Co",
        "year": 2026,
        "customer": "ACME <Corp>",
        "static_prefix": "/static",
        "nav": [("Home", "/"), ("Orders", "/orders"), ("Account", "/account")],
        "current": "/orders",
        "user": "ann@example.com",
        "rows": orders,
        "total": sum(o["price"] * o["quantity"] for o in orders),
        "note": "Prices include VAT & shipping.",
    }


def make_renderers(namespace: dict[str, Any]) -> dict[str, Callable[[], bytes]]:
    """One render function per library, each with its own loader on ``bench/templates``."""
    renderers: dict[str, Callable[[], bytes]] = {}
    for name, module in (("trinado", trinado_template), ("tornado", tornado_template)):
        page = module.Loader(str(TEMPLATES)).load(PAGE)

        def render(page: Any = page) -> bytes:
            output: bytes = page.generate(**namespace)
            return output

        renderers[name] = render
    return renderers


def timed(render: Callable[[], bytes], number: int) -> float:
    """Seconds taken by ``number`` renders."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        render()
    return time.perf_counter() - start


def calibrate(render: Callable[[], bytes], duration: float) -> int:
    """How many renders take about ``duration`` seconds."""
    number = 1
    while True:
        elapsed = timed(render, number)
        if elapsed >= 0.2:
            return max(1, int(number * duration / elapsed))
        number *= 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds per run")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 0.3 s")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 3, 0.3

    namespace = make_namespace(args.rows)
    renderers = make_renderers(namespace)
    outputs = {name: render() for name, render in renderers.items()}
    if outputs["trinado"] != outputs["tornado"]:
        print("FAIL: trinado and tornado render different bytes", file=sys.stderr)
        return 1
    size = len(outputs["trinado"])
    print(f"page: {PAGE}, {args.rows} rows, {size} bytes; outputs are byte-identical")

    # Warm up, then fix the number of renders per run from the slower library.
    for render in renderers.values():
        timed(render, 20)
    number = min(calibrate(render, args.duration) for render in renderers.values())
    print(f"{args.rounds} rounds, {number} renders per run\n")

    rates: dict[str, list[float]] = {name: [] for name in renderers}
    ratios: list[float] = []
    print(f"{'round':>5}  {'trinado/s':>10}  {'tornado/s':>10}  {'ratio':>6}")
    for round_number in range(1, args.rounds + 1):
        for name, render in renderers.items():
            rates[name].append(number / timed(render, number))
        ratio = rates["trinado"][-1] / rates["tornado"][-1]
        ratios.append(ratio)
        print(
            f"{round_number:>5}  {rates['trinado'][-1]:>10.1f}  {rates['tornado'][-1]:>10.1f}"
            f"  {ratio:>6.2f}"
        )
    median = {name: statistics.median(values) for name, values in rates.items()}
    ratio_median = statistics.median(ratios)
    print(
        f"\nmedian: trinado {median['trinado']:.1f} renders/s, tornado "
        f"{median['tornado']:.1f} renders/s, ratio trinado/tornado {ratio_median:.2f} "
        f"(per-round ratios {min(ratios):.2f}-{max(ratios):.2f})"
    )

    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"template_render-{stamp}.json"
        result = {
            "settings": vars(args),
            "python": platform.python_version(),
            "tornado": importlib.metadata.version("tornado"),
            "page_bytes": size,
            "renders_per_run": number,
            "rates": rates,
            "ratios": ratios,
            "median_rates": median,
            "median_ratio": ratio_median,
        }
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results: {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
