"""The severity page timed as an operator lives it (Chromium) and as the server sees it (AppTest).

1. **A typical call, from opening the page to the answer**, in Debian's Chromium
   on a real server (warmed by one visit, as after ``make run``), with every
   operator action counted (a click, a typed text, a key): a car and a motorbike
   in the Nord, out of town, two people, now. Target: under 8 s and under 10
   actions. Baseline in the same run: the same call through the full BAAC
   list, the department typed by name, the button clicked (what a form
   without everyday words and shortcuts costs).
2. **Choosing a department**: from Enter in the department box to the
   commune list ready (the place section reruns alone, as a fragment, and the
   map stays folded until asked for), over 8 departments. Target: p95 <= 300
   ms. Baseline in the same run: the same choices with the map unfolded (what a
   page that always draws the map costs the browser).
3. **Submit -> result drawn, server side**: the page script run by Streamlit's
   AppTest on real 2020 accidents (some fields unknown at random), p95 <= 100
   ms; baselines: the same page with every cache cleared, and the similar
   accidents read by one SQL query per submit instead of the in-memory index.

Usage: ``python bench/severity_page.py [--calls 5] [--submits 60] [--cold 5]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
import streamlit.logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from core import codebook, store  # noqa: E402
from core.dispatch import intake, nearby  # noqa: E402
from core.features import words  # noqa: E402
from core.features.training import incident_from_row, training_frame  # noqa: E402
from core.incident.parse import parse_incident  # noqa: E402
from core.model.loading import load_model  # noqa: E402
from core.model.predict import predict_one  # noqa: E402
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402
from tests.key_facts_sql import KEY_FACTS_WHERE, key_fact_params  # noqa: E402
from ui import severity_form  # noqa: E402

PAGE = ROOT / "app_pages" / "severity.py"
TARGET_CALL_S = 8.0
TARGET_ACTIONS = 10
TARGET_DEPARTMENT_P95_MS = 300.0
TARGET_SUBMIT_P95_MS = 100.0
TIMEOUT_MS = 90_000
DEPARTMENTS = ("59", "13", "2A", "974", "75", "29", "67", "33")
SEED = 5
UNKNOWN_RATE = 0.3
_WRAPPER = f"""
import runpy, time
import streamlit as st
_start, _cpu = time.perf_counter(), time.thread_time()
runpy.run_path({str(PAGE)!r}, run_name="__main__")
st.session_state["bench_script_seconds"] = time.perf_counter() - _start
st.session_state["bench_script_cpu_seconds"] = time.thread_time() - _cpu
"""


# --------------------------------------------------------------------------- #
# 1. A typical call in Chromium
# --------------------------------------------------------------------------- #


class Operator:
    """Drives the page and counts what an operator does: clicks, typed texts, keys."""

    def __init__(self, page) -> None:
        self.page = page
        self.actions: list[str] = []

    def click(self, locator, what: str) -> None:
        locator.click()
        self.actions.append(f"clic {what}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.actions.append(f"saisie « {text} »")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.actions.append(f"touche {key}")


def _open(page, url: str) -> None:
    page.goto(f"{url}/severity")
    page.get_by_role("button", name="Estimer la gravité").wait_for(timeout=TIMEOUT_MS)


def _wait_communes(page, dep: str) -> None:
    page.wait_for_function(
        "(dep) => { const box = document.querySelector('input[aria-label=\"Commune\"]');"
        " const chosen = document.querySelector('input[aria-label=\"Département\"]');"
        " return box && !box.disabled && chosen && chosen.value.startsWith(dep + ' '); }",
        arg=dep, timeout=TIMEOUT_MS)


def _wait_for_cursor(page) -> None:
    """Until the cursor waits in "Département", as the page puts it at the end of its first run."""
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === 'Département'",
                           timeout=TIMEOUT_MS)


def _step_up(page, label: str):
    field = page.locator("[data-testid=stNumberInput]").filter(has=page.get_by_label(label, exact=True))
    return field.locator("[data-testid=stNumberInputStepUp]")


def _option(page, group: str, option: str):
    """The clickable label of one option of a row of radio buttons."""
    return page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True)


def typical_call(op: Operator) -> None:
    """Nord, a car and a motorbike, out of town, two people, now: the everyday path."""
    page = op.page
    _wait_for_cursor(page)
    op.type("59")
    op.press("Enter")
    _wait_communes(page, "59")
    op.click(_step_up(page, "Voiture"), "Voiture +")
    op.click(_step_up(page, "Moto"), "Moto +")
    op.click(_option(page, "Agglomération", "Hors agglomération"), "Hors agglomération")
    op.click(page.get_by_label("Personnes impliquées (piétons compris)"), "Personnes impliquées")
    op.type("2")
    op.press("Enter")  # Enter in a field submits the form


def long_way_call(op: Operator) -> None:
    """The same call without everyday words or shortcuts: BAAC categories, the department by name, the button."""
    page = op.page
    op.click(page.get_by_role("combobox", name="Département", exact=True), "Département")
    op.type("Nord")
    op.press("Enter")
    _wait_communes(page, "59")
    op.click(page.get_by_text("Liste BAAC complète (catégorie précise)"), "Liste BAAC complète")
    for code in (7, 33):
        op.click(page.get_by_label(words.vehicle_label(code), exact=True), words.vehicle_label(code))
        op.type("1")
    op.click(page.get_by_label("Personnes impliquées (piétons compris)"), "Personnes impliquées")
    op.type("2")
    op.click(_option(page, "Agglomération", "Hors agglomération"), "Hors agglomération")
    op.click(page.get_by_role("button", name="Estimer la gravité"), "Estimer la gravité")


def timed_call(browser, url: str, fill: Callable[[Operator], None]) -> tuple[float, list[str], bool]:
    """Seconds from opening the page to the answer drawn, the actions, and whether the answer is in view."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        op = Operator(page)
        started = time.perf_counter()
        _open(page, url)
        fill(op)
        answer = page.get_by_test_id("severity-estimate")
        answer.wait_for(timeout=TIMEOUT_MS)
        seconds = time.perf_counter() - started
        box = answer.bounding_box()
        in_view = box is not None and 0 <= box["y"] < 900
        if page.locator("[data-testid='stException']").count():
            raise RuntimeError("the page showed an exception")
        return seconds, op.actions, in_view
    finally:
        context.close()


def department_times(browser, url: str, *, with_map: bool = False) -> np.ndarray:
    """Milliseconds from Enter on a department to its commune list ready, one per department."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _open(page, url)
        _wait_for_cursor(page)  # the page's first run is over
        if with_map:
            page.get_by_text("Placer sur la carte").click()
            page.get_by_test_id("stDeckGlJsonChart").locator("canvas").first.wait_for(timeout=TIMEOUT_MS)
        box = page.get_by_role("combobox", name="Département", exact=True)
        times = []
        for dep in DEPARTMENTS:
            box.click()
            page.keyboard.type(dep)
            page.get_by_role("option").first.wait_for(timeout=TIMEOUT_MS)
            started = time.perf_counter()
            page.keyboard.press("Enter")
            _wait_communes(page, dep)
            times.append(time.perf_counter() - started)
        return np.array(times) * 1000
    finally:
        context.close()


def browser_figures(calls: int) -> dict:
    from playwright.sync_api import sync_playwright

    with serve_app(log_name="gravite-bench-severity.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        timed_call(browser, url, typical_call)  # warm-up: the server loads the model and the past accidents once
        department_times(browser, url)  # and each department's communes and map
        typical = [timed_call(browser, url, typical_call) for _ in range(calls)]
        long_way = [timed_call(browser, url, long_way_call) for _ in range(calls)]
        departments = np.concatenate([department_times(browser, url) for _ in range(2)])
        with_map = np.concatenate([department_times(browser, url, with_map=True) for _ in range(2)])
        browser.close()
    return {"typical": typical, "long_way": long_way, "departments": departments, "with_map": with_map}


# --------------------------------------------------------------------------- #
# 2 and 3. Server side (AppTest)
# --------------------------------------------------------------------------- #

_RETIRED_CATV = {code for code, text in codebook.codes_of("catv").items() if text.startswith("Référence inutilisée")}


def call_incidents(n: int) -> list[dict]:
    """Real 2020 accidents the form can express, each field left unknown with probability 0.3."""
    con = store.connect()
    frame = training_frame(con, first_year=2020, last_year=2020)
    con.close()
    rng = np.random.default_rng(SEED)
    incidents = []
    for row in frame.sample(n * 3, random_state=SEED).to_dict(orient="records"):
        incident = incident_from_row(row)
        if set(incident.get("vehicles") or []) & _RETIRED_CATV or incident.get("vma") not in (None,
                                                                                                *intake.SPEED_LIMITS):
            continue
        kept = {k: v for k, v in incident.items() if rng.random() >= UNKNOWN_RATE or k in ("lat", "lon")}
        if "lat" in kept and rng.random() < UNKNOWN_RATE:
            kept.pop("lat"), kept.pop("lon")
        if "lat" not in incident:
            kept.pop("lat", None), kept.pop("lon", None)
        if "com" in kept and "dep" not in kept:
            kept.pop("com")
        incidents.append(kept)
        if len(incidents) == n:
            break
    return incidents


def fill(app: AppTest, incident: dict) -> None:
    """Type an incident into the page as an operator would: the place (each answer reruns), then the form."""
    app.selectbox(key=severity_form.DEP_KEY).set_value(incident.get("dep")).run()
    if incident.get("dep"):
        app.selectbox(key=severity_form.COM_KEY).set_value(incident.get("com")).run()
    coordinates = f"{incident['lat']!r}, {incident['lon']!r}" if "lat" in incident else ""
    app.text_input(key=severity_form.COORDINATES_KEY).set_value(coordinates).run()
    if "datetime" in incident:
        when = dt.datetime.fromisoformat(incident["datetime"])
        app.radio(key=severity_form.MOMENT_KEY).set_value(intake.MOMENT_OTHER)
        app.date_input(key=severity_form.DATE_KEY).set_value(when.date())
        app.time_input(key=severity_form.TIME_KEY).set_value(when.time())
    else:
        app.radio(key=severity_form.MOMENT_KEY).set_value(intake.MOMENT_UNKNOWN)
    counts: dict[int, int] = {}
    for code in incident.get("vehicles") or []:
        counts[code] = counts.get(code, 0) + 1
    for code in intake.BAAC_VEHICLES:
        app.number_input(key=severity_form.BAAC_KEY.format(code=code)).set_value(counts.get(code, 0))
    app.number_input(key=severity_form.PEDESTRIANS_KEY).set_value(incident.get("n_pedestrians"))
    app.number_input(key=severity_form.PEOPLE_KEY).set_value(incident.get("n_people"))
    for name in severity_form.CODED_KEYS:
        widget = app.radio if name == "agg" else app.selectbox
        widget(key=severity_form.coded_key(name)).set_value(incident.get(name))
    app.radio(key=severity_form.VMA_KEY).set_value(incident.get("vma"))


def submit(app: AppTest) -> tuple[float, float, float]:
    """Click the button; script wall, script CPU and AppTest wall seconds of the run that draws the result."""
    started = time.perf_counter()
    app.button(key="severity_submit").click().run()
    wall = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(app.exception[0].message)
    if not [h for h in app.get("html") if 'data-testid="severity-' in h.proto.body]:
        raise RuntimeError("no answer drawn")
    return (float(app.session_state["bench_script_seconds"]), float(app.session_state["bench_script_cpu_seconds"]),
            wall)


def page_times(incidents: list[dict], wrapper: Path, *, cold: bool) -> np.ndarray:
    """Per submit: script wall, script CPU and AppTest wall milliseconds (one row each)."""
    app = AppTest.from_file(str(wrapper), default_timeout=300)
    app.run()
    times = []
    for incident in incidents:
        fill(app, incident)
        if cold:
            st.cache_resource.clear()
            st.cache_data.clear()
        times.append(submit(app))
    return np.array(times) * 1000


#: The baseline's query: the past accidents sharing the incident's known key facts, same department first.
_SIMILAR_SQL = f"""
    WITH v AS (
        SELECT acc_id, list(coalesce(catv, 0) ORDER BY veh) AS vehicles, bool_or(obs > 0) AS obstacle
        FROM vehicles WHERE acc_id IN (SELECT acc_id FROM accidents WHERE year BETWEEN $first AND $last)
        GROUP BY acc_id
    )
    SELECT a.acc_id, a.year, a.month, a.day, a.hour, a.minute, a.dep, a.com, a.agg, a.catr, a.lum,
           v.vehicles, a.n_users AS n_people, a.n_killed, a.n_hospitalised, a.n_light, a.severe,
           count(*) OVER () AS matching
    FROM accidents a JOIN v USING (acc_id)
    WHERE {KEY_FACTS_WHERE}
    ORDER BY (a.dep = $dep) DESC NULLS LAST, a.acc_id DESC
    LIMIT $limit
"""


def similar_by_sql(con, incident: dict, *, years: tuple[int, int], limit: int):
    """The naive baseline: similar past accidents read by one SQL query per submit (no in-memory index)."""
    params = key_fact_params(incident)
    params.update({"first": years[0], "last": years[1], "dep": parse_incident(incident)["dep"], "limit": limit})
    cursor = con.cursor()
    try:
        return cursor.execute(_SIMILAR_SQL, params).fetch_df()
    finally:
        cursor.close()


def compute_times(incidents: list[dict], *, naive: bool) -> np.ndarray:
    """Prediction + similar accidents of a submit, outside Streamlit."""
    model = load_model()
    con = store.connect()
    first, last = model.card.years.history
    past = None if naive else nearby.load_past_accidents(con, first_year=first, last_year=last)
    times = []
    for incident in incidents:
        started = time.perf_counter()
        predict_one(model, incident)
        if naive:
            similar_by_sql(con, incident, years=model.card.years.training, limit=8)
        else:
            nearby.similar_table(nearby.similar_nearby(past, incident, limit=8))
        times.append(time.perf_counter() - started)
    con.close()
    return np.array(times) * 1000


def describe(name: str, ms: np.ndarray) -> str:
    return (f"{name:<56} n={len(ms):>3}  p50 {np.percentile(ms, 50):8.1f} ms  p95 {np.percentile(ms, 95):8.1f} ms"
            f"  max {ms.max():8.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5, help="typical calls timed in Chromium (and long-way calls)")
    parser.add_argument("--submits", type=int, default=60)
    parser.add_argument("--cold", type=int, default=5, help="submits of the cold-page baseline")
    args = parser.parse_args()
    streamlit.logger.set_log_level("error")
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    browser = browser_figures(args.calls)
    typical_s = np.array([seconds for seconds, _, _ in browser["typical"]])
    long_way_s = np.array([seconds for seconds, _, _ in browser["long_way"]])
    typical_actions, long_way_actions = browser["typical"][0][1], browser["long_way"][0][1]
    in_view = all(seen for _, _, seen in browser["typical"])

    incidents = call_incidents(args.submits)
    with tempfile.TemporaryDirectory() as folder:
        wrapper = Path(folder) / "severity_bench_page.py"
        wrapper.write_text(_WRAPPER)
        warm = page_times(incidents[:3], wrapper, cold=False)  # loads the model and the past accidents once
        page = page_times(incidents, wrapper, cold=False)
        cold = page_times(incidents[: args.cold], wrapper, cold=True)
    script_ms, cpu_ms, wall_ms, cold_script_ms = page[:, 0], page[:, 1], page[:, 2], cold[:, 0]
    ours = compute_times(incidents, naive=False)
    naive = compute_times(incidents[:15], naive=True)

    print(f"1. typical call in Chromium, page open -> answer ({args.calls} calls, 1400x900 window)")
    print(f"   everyday path: {len(typical_actions)} actions: " + " · ".join(typical_actions))
    print(f"   long way:      {len(long_way_actions)} actions: " + " · ".join(long_way_actions))
    print(f"   {'everyday path, seconds':<40} p50 {np.median(typical_s):6.2f}  max {typical_s.max():6.2f}"
          f"   answer in view after submit: {'yes' if in_view else 'NO'}")
    print(f"   {'long way (baseline), seconds':<40} p50 {np.median(long_way_s):6.2f}  max {long_way_s.max():6.2f}")
    print(f"   ratio long way / everyday (p50): {np.median(long_way_s) / np.median(typical_s):.2f}x, "
          f"actions {len(long_way_actions)} -> {len(typical_actions)}")
    departments, with_map = browser["departments"], browser["with_map"]
    print("2. choosing a department, in Chromium: Enter -> commune list ready")
    print(describe("   map folded (as the page opens)", departments))
    print(describe("   baseline: map unfolded (drawn at every choice)", with_map))
    print(f"   ratio unfolded / folded (p50 / p95): {np.median(with_map) / np.median(departments):.1f}x / "
          f"{np.percentile(with_map, 95) / np.percentile(departments, 95):.1f}x")
    print(f"3. submit -> result, {len(incidents)} real 2020 accidents (each field unknown with p={UNKNOWN_RATE})")
    print(describe("   page script, submit -> result drawn (server side)", script_ms))
    print(describe("     same, CPU time of the script thread", cpu_ms))
    print(describe("     same, AppTest wall time (adds its own overhead)", wall_ms))
    print(describe("     first submits of a fresh session (warm-up)", warm[:, 0]))
    print(describe("   baseline: same page, no cache (cold every submit)", cold_script_ms))
    print(describe("   compute only: predict + similar (in-memory index)", ours))
    print(describe("   baseline: predict + similar by SQL per submit", naive))
    p50, p95 = float(np.percentile(script_ms, 50)), float(np.percentile(script_ms, 95))
    print(f"   ratio cold page / page (p50 / p95): {np.percentile(cold_script_ms, 50) / p50:.1f}x / "
          f"{np.percentile(cold_script_ms, 95) / p95:.1f}x; SQL similar / in-memory (p50): "
          f"{np.percentile(naive, 50) / np.percentile(ours, 50):.1f}x")
    checks = {
        f"typical call <= {TARGET_CALL_S:.0f} s": float(np.median(typical_s)) <= TARGET_CALL_S,
        f"typical call < {TARGET_ACTIONS} actions": len(typical_actions) < TARGET_ACTIONS,
        f"department p95 <= {TARGET_DEPARTMENT_P95_MS:.0f} ms": np.percentile(departments, 95)
        <= TARGET_DEPARTMENT_P95_MS,
        f"submit p95 <= {TARGET_SUBMIT_P95_MS:.0f} ms": p95 <= TARGET_SUBMIT_P95_MS,
        "answer in view": in_view,
    }
    for name, ok in checks.items():
        print(f"{'OK   ' if ok else 'MISS '} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
