"""Server-side time of the severity page from "Estimer la gravité" to the rendered result.

Runs pages/severity.py in Streamlit's own script runner (AppTest) on the real
store and model, fills the form with real 2020 accidents (some fields left
"Inconnu" at random, as on a real call), clicks the button and times the script
run that draws the result: everything the server does for a submit except
sending the messages. The page is run through a two-line wrapper that records
``time.perf_counter()`` around it.

Two baselines, measured in the same run:

* cold page: the same page path with every Streamlit cache cleared before
  each submit (model, connection and past accidents loaded again), as a page
  that caches nothing would do;
* naive similar accidents: the compute of a submit (prediction + the similar
  accidents) with the similar accidents read by one SQL query per submit
  (``core.model.similar.similar_accidents``) instead of the in-memory index.

Usage: ``python bench/severity_page.py [--submits 60] [--cold 5]``. Target: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
import streamlit.logger  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from core import features as F  # noqa: E402
from core import store  # noqa: E402
from core.dispatch import intake, nearby  # noqa: E402
from core.model.loading import load_model  # noqa: E402
from core.model.predict import predict_one  # noqa: E402
from core.model.similar import similar_accidents  # noqa: E402

PAGE = ROOT / "app_pages" / "severity.py"
TARGET_P95_MS = 100.0
SEED = 5
UNKNOWN_RATE = 0.3
CODED = ("obs", "col", "atm", "lum", "surf", "agg", "catr", "int")
_WRAPPER = f"""
import runpy, time
import streamlit as st
_start, _cpu = time.perf_counter(), time.thread_time()
runpy.run_path({str(PAGE)!r}, run_name="__main__")
st.session_state["bench_script_seconds"] = time.perf_counter() - _start
st.session_state["bench_script_cpu_seconds"] = time.thread_time() - _cpu
"""


def call_incidents(n: int) -> list[dict]:
    """Real 2020 accidents the form can express, each field left unknown with probability 0.3."""
    con = store.connect()
    frame = F.training_frame(con, first_year=2020, last_year=2020)
    con.close()
    rng = np.random.default_rng(SEED)
    incidents = []
    for row in frame.sample(n * 3, random_state=SEED).to_dict(orient="records"):
        incident = F.incident_from_row(row)
        vehicles = incident.get("vehicles") or []
        others = [c for c in vehicles if c not in intake.MAIN_VEHICLES]
        if len(others) != len(set(others)) or incident.get("vma") not in (None, *intake.SPEED_LIMITS):
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
    # Outside the form each answer reruns the page, as in the browser; those runs are not timed.
    app.selectbox(key="severity_dep").set_value(incident.get("dep")).run()
    if incident.get("dep"):
        app.selectbox(key="severity_com").set_value(incident.get("com")).run()
    coordinates = f"{incident['lat']!r}, {incident['lon']!r}" if "lat" in incident else ""
    app.text_input(key="severity_coordinates").set_value(coordinates).run()
    if "datetime" in incident:
        when = dt.datetime.fromisoformat(incident["datetime"])
        app.radio(key="severity_moment").set_value(intake.MOMENT_OTHER)
        app.date_input(key="severity_date").set_value(when.date())
        app.time_input(key="severity_time").set_value(when.time())
    else:
        app.radio(key="severity_moment").set_value(intake.MOMENT_UNKNOWN)
    counts: dict[int, int] = {}
    for code in incident.get("vehicles") or []:
        counts[code] = counts.get(code, 0) + 1
    for code in intake.MAIN_VEHICLES:
        app.number_input(key=f"severity_catv_{code}").set_value(counts.get(code, 0))
    app.multiselect(key="severity_other_vehicles").set_value([c for c in counts if c not in intake.MAIN_VEHICLES])
    app.number_input(key="severity_pedestrians").set_value(incident.get("n_pedestrians"))
    app.number_input(key="severity_people").set_value(incident.get("n_people"))
    for name in CODED:
        app.selectbox(key=f"severity_{name}").set_value(incident.get(name))
    app.selectbox(key="severity_vma").set_value(incident.get("vma"))


def submit(app: AppTest) -> tuple[float, float, float]:
    """Click the button; script wall, script CPU and AppTest wall seconds of the run that draws the result."""
    started = time.perf_counter()
    app.button(key="severity_submit").click().run()
    wall = time.perf_counter() - started
    if app.exception:
        raise RuntimeError(app.exception[0].message)
    if not [h for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]:
        raise RuntimeError("no estimate drawn")
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


def compute_times(incidents: list[dict], *, naive: bool) -> np.ndarray:
    """Prediction + similar accidents of a submit, outside Streamlit."""
    model = load_model()
    con = store.connect()
    first, last = model.card["years"]["history"]
    past = None if naive else nearby.load_past_accidents(con, first_year=first, last_year=last)
    times = []
    for incident in incidents:
        started = time.perf_counter()
        predict_one(model, incident)
        if naive:
            similar_accidents(con, model, incident, limit=8)
        else:
            nearby.similar_table(nearby.similar_nearby(past, incident, limit=8))
        times.append(time.perf_counter() - started)
    con.close()
    return np.array(times) * 1000


def describe(name: str, ms: np.ndarray) -> str:
    return (f"{name:<52} n={len(ms):>3}  p50 {np.percentile(ms, 50):8.1f} ms  p95 {np.percentile(ms, 95):8.1f} ms"
            f"  max {ms.max():8.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=60)
    parser.add_argument("--cold", type=int, default=5, help="submits of the cold-page baseline")
    args = parser.parse_args()
    streamlit.logger.set_log_level("error")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
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

    p95 = float(np.percentile(script_ms, 95))
    print(f"severity page, {len(incidents)} real 2020 accidents typed in (each field unknown with p={UNKNOWN_RATE})")
    print(describe("page script, submit -> result drawn (server side)", script_ms))
    print(describe("  same, CPU time of the script thread", cpu_ms))
    print(describe("  same, AppTest wall time (adds its own overhead)", wall_ms))
    print(describe("  first submits of a fresh session (warm-up)", warm[:, 0]))
    print(describe("baseline: same page, no cache (cold every submit)", cold_script_ms))
    print(describe("compute only: predict + similar (in-memory index)", ours))
    print(describe("baseline: predict + similar by SQL per submit", naive))
    p50 = float(np.percentile(script_ms, 50))
    print(f"ratio cold page / page (p50):          {np.percentile(cold_script_ms, 50) / p50:7.1f}x")
    print(f"ratio cold page / page (p95):          {np.percentile(cold_script_ms, 95) / p95:7.1f}x")
    print(f"ratio SQL similar / in-memory (p50):   {np.percentile(naive, 50) / np.percentile(ours, 50):7.1f}x")
    verdict = "OK" if p95 <= TARGET_P95_MS else "ABOVE TARGET"
    print(f"p95 {p95:.1f} ms vs target {TARGET_P95_MS:.0f} ms: {verdict}")
    return 0 if p95 <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
