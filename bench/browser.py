"""Each page's load and filter-rerun times in Chromium (p50 / p95), beside the server's own run times.

Targets (issue 14): a page loads in <= 2 s and a filter rerun takes <= 1 s at
p95, measured in Debian's Chromium on this machine against a real server
(``make run``'s), with every request off the server blocked, as on a network
without internet.

1. **Load**: from ``goto`` to the page's script finished and its key element
   drawn, ``--loads`` times per page on a warmed server (the first visit after
   the server starts, with Streamlit's caches empty, is printed apart as the
   naive baseline: what a page costs when nothing is cached).
2. **Filter rerun**: on the Nord (59), from the click on « Appliquer » (a new
   period each time, so that no cache answers) to the page settled and redrawn.
3. **Server side**: the same page scripts run by Streamlit's AppTest in this
   process, warm, with the same links: what the server spends of the browser's
   time; the rest is the browser drawing (deck.gl, Plotly, Leaflet) and the
   websocket.

Usage: ``python bench/browser.py [--loads 7] [--reruns 6]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit.logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, block_outside, serve_app, settle  # noqa: E402

TARGET_LOAD_P95_S = 2.0
TARGET_RERUN_P95_S = 1.0
TIMEOUT_MS = 120_000
# Department given in the link of the reruns' page, so that their maps are those a planner reads.
RERUN_DEPARTMENT = "59"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    ready: str  # CSS selector of what must be drawn for the page to count as loaded
    script: str  # page file for AppTest
    filters: bool  # has the shared filter form (sidebar) and so a filter rerun


PAGES = (
    Page("Accueil", "/", "[data-testid='stTable']", "app_pages/home.py", False),
    Page("Carte des risques", "/risk-map", "[data-testid='stDeckGlJsonChart'] canvas", "app_pages/risk_map.py",
         True),
    Page("Explorer les accidents", "/explorer", "[data-testid='stPlotlyChart']", "app_pages/explorer.py", True),
    Page("Estimation de gravité", "/severity", "button:has-text('Estimer la gravité')", "app_pages/severity.py",
         False),
    Page("Fiabilité du modèle", "/model", "[data-testid='stTable'], [data-testid='stDataFrame']",
         "app_pages/model.py", False),
)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(round(0.95 * (len(ordered) - 1)))]


def _no_error(page) -> None:
    errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count()
    if errors:
        raise RuntimeError(f"{page.url}: {errors} error box(es) on the page")


def _load(page, url: str, spec: Page) -> float:
    start = time.perf_counter()
    page.goto(url + spec.path)
    page.locator(spec.ready).first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    elapsed = time.perf_counter() - start
    _no_error(page)
    return elapsed


def _move_first_year(page, key: str) -> float:
    """Move the first year of the sidebar's « Années » by one (``key``: an arrow), apply; seconds from the click on
    « Appliquer » to the page settled. Each move is a period not asked before, so no cache answers."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("slider").first.focus()
    page.keyboard.press(key)
    page.wait_for_timeout(300)  # the form takes the new value a moment after the key (not counted)
    before = page.url
    start = time.perf_counter()
    sidebar.get_by_role("button", name="Appliquer").click()
    page.wait_for_function("(before) => location.href !== before", arg=before, timeout=TIMEOUT_MS)
    page.wait_for_timeout(50)  # the run has begun once the URL moved; settle() then waits for its end
    settle(page, TIMEOUT_MS)
    elapsed = time.perf_counter() - start
    _no_error(page)
    return elapsed


def browser_figures(url: str, loads: int, reruns: int) -> dict[str, dict[str, object]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, dict[str, object]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        outside = block_outside(page, url)
        for spec in PAGES:
            print(f"… {spec.name}", file=sys.stderr, flush=True)
            first = _load(page, url, spec)
            samples = [_load(page, url, spec) for _ in range(loads)]
            entry: dict[str, object] = {"first": first, "loads": samples}
            if spec.filters:
                _load(page, url, replace(spec, path=f"{spec.path}?deps={RERUN_DEPARTMENT}"))
                # Earlier years on the risk map (2018-2020 by default), later ones on the explorer (all years).
                key = "ArrowLeft" if spec.path == "/risk-map" else "ArrowRight"
                entry["reruns"] = [_move_first_year(page, key) for _ in range(reruns)]
            figures[spec.name] = entry
        browser.close()
    figures["_outside"] = {"requests": outside}
    return figures


def _timed_run(app: AppTest) -> float:
    start = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - start
    if app.exception:
        raise RuntimeError(app.exception[0].message)
    return elapsed


def server_figures(loads: int, reruns: int) -> dict[str, dict[str, list[float]]]:
    """AppTest runs of each page script, warm: the first run warms the caches and is not counted."""
    streamlit.logger.set_log_level("error")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    figures: dict[str, dict[str, list[float]]] = {}
    for spec in PAGES:
        app = AppTest.from_file(str(ROOT / spec.script), default_timeout=300)
        _timed_run(app)
        runs = [_timed_run(app) for _ in range(loads)]
        entry = {"loads": runs}
        if spec.filters:
            entry["reruns"] = []
            for i in range(reruns):
                first = 2017 - i if spec.path == "/risk-map" else 2006 + i
                app.query_params.update({"deps": RERUN_DEPARTMENT, "years": f"{first}-2020"})
                entry["reruns"].append(_timed_run(app))
        figures[spec.name] = entry
    return figures


def _line(label: str, samples: list[float], target: float | None, baseline: float | None = None) -> str:
    p50, p95 = _percentiles(samples)
    text = f"  {label:<26} p50 {p50 * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms"
    if target is not None:
        text += f"   target p95 <= {target * 1000:.0f} ms: {'met' if p95 <= target else 'NOT MET'}"
    if baseline is not None:
        text += f"   baseline {baseline * 1000:.0f} ms ({baseline / p50:.1f}x p50)"
    return text


def report(browser: dict, server: dict) -> None:
    print("## Pages in Chromium (1400 x 1000, outside requests blocked) and on the server (AppTest, warm)")
    for spec in PAGES:
        seen, ran = browser[spec.name], server[spec.name]
        print(f"### {spec.name} ({spec.path})")
        print(_line("load, Chromium", seen["loads"], TARGET_LOAD_P95_S, baseline=seen["first"]))
        print(_line("load, server script", ran["loads"], None))
        if spec.filters:
            print(_line("filter rerun, Chromium", seen["reruns"], TARGET_RERUN_P95_S))
            print(_line("filter rerun, server", ran["reruns"], None))
    outside = browser["_outside"]["requests"]
    print(f"Requests off the server (blocked): {len(outside)}" + (f", e.g. {outside[:3]}" if outside else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--reruns", type=int, default=6)
    args = parser.parse_args(argv)
    with serve_app(log_name="gravite-bench-browser.log") as url:
        browser = browser_figures(url, args.loads, args.reruns)
    server = server_figures(args.loads, args.reruns)
    report(browser, server)


if __name__ == "__main__":
    main()
