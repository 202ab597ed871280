"""Risk map timings: hexagon aggregation vs naive pandas + h3, and a 40,000-hexagon page rerun vs stock pydeck;
and the figure behind the per-year method's 70 % threshold (core/coverage.py).

Run: ``.venv/bin/python bench/risk_map.py``. Prints each figure with its target and its
ratio to the baseline measured in the same run. A script, not a test.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import h3  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core import coverage, store  # noqa: E402
from core.filters import AccidentFilter  # noqa: E402
from core.risk.counts import aggregate_hexes  # noqa: E402
from core.risk.facts import HexFacts  # noqa: E402
from core.risk.loading import load_facts  # noqa: E402
from core.risk.masks import filter_mask  # noqa: E402

REPEATS = 41
# Six filters over 2005-2020 a planner would use, each at the resolution its extent gives.
SCENARIOS = [
    ("France, all accidents", AccidentFilter(), 5),
    ("France, rain", AccidentFilter(atm=(2, 3)), 5),
    ("France, night 22h-4h, weekend", AccidentFilter(hours=(22, 4), weekdays=(5, 6)), 5),
    ("Provence-Alpes-Côte d'Azur, severe", AccidentFilter(regions=("93",), outcome="severe"), 7),
    ("Rhône, two-wheelers, wet road", AccidentFilter(deps=("69",), involves=("two_wheeler",), surf=(2, 3, 4)), 7),
    ("Paris, night without lighting or lit", AccidentFilter(deps=("75",), lum=(3, 4, 5)), 9),
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(round(0.95 * (len(ordered) - 1)))]


def bench_aggregation(con, facts: HexFacts) -> None:
    print("## Hexagon aggregation (filter + counts, severe, rain, most frequent weather and light)")
    located = con.execute(
        "SELECT acc_id, lat, lon, severe, atm, lum FROM accidents WHERE lat IS NOT NULL"
    ).fetch_df()
    all_ours: list[float] = []
    for name, accident_filter, resolution in SCENARIOS:
        samples = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            mask = filter_mask(facts, accident_filter)
            counts = aggregate_hexes(facts, mask, resolution, condition="rain")
            samples.append((time.perf_counter() - start) * 1000)
        p50, p95 = _percentiles(samples)
        all_ours += samples
        # Naive baseline: the same accidents, one h3.latlng_to_cell per row, then a pandas groupby.
        ids = facts.columns["acc_id"][mask]
        rows = located[located["acc_id"].isin(ids)]
        start = time.perf_counter()
        cells = [h3.latlng_to_cell(lat, lon, resolution) for lat, lon in zip(rows["lat"], rows["lon"], strict=True)]
        naive = rows.assign(cell=cells, rain=rows["atm"].isin([2, 3])).groupby("cell").agg(
            accidents=("acc_id", "size"), severe=("severe", "sum"), rain=("rain", "sum"),
            atm=("atm", lambda s: s.mode().min() if s.notna().any() else 0),
            lum=("lum", lambda s: s.mode().min() if s.notna().any() else 0))
        naive_ms = (time.perf_counter() - start) * 1000
        print(f"{name:40s} res {resolution}: {len(counts):6d} hexes ({len(naive)} naive)  p50 {p50:6.1f} ms  "
              f"p95 {p95:6.1f} ms  naive {naive_ms:8.1f} ms  ratio {naive_ms / p50:6.0f}x")
    p50, p95 = _percentiles(all_ours)
    print(f"{'all six':40s}        p50 {p50:6.1f} ms (target <= 10)  p95 {p95:6.1f} ms (target <= 25)")


PAGE_PARAMS = {"years": "2017-2020", "res": "7", "metric": "severity_rate"}


def _stock_page() -> None:
    """The stock path: the same hexagons, cached, as a DataFrame through pydeck.Deck and st.pydeck_chart."""
    import pydeck as pdk
    import streamlit as st

    from core import store
    from core.filters import AccidentFilter
    from core.h3cells import cell_ids
    from core.risk.hexes import hex_risk
    from core.risk.loading import load_facts

    @st.cache_resource
    def facts():
        return load_facts(store.connect())

    @st.cache_data
    def hexagons(accident_filter):
        scored = hex_risk(facts(), accident_filter, metric="severity_rate", resolution=7).scored
        return scored.assign(h3=cell_ids(scored["cell"].to_numpy()))[
            ["h3", "accidents", "severe", "rate", "rate_low", "rate_high", "atm_mode", "lum_mode", "value"]]

    frame = hexagons(AccidentFilter.from_params(dict(st.query_params))).copy()
    frame["colour"] = [[68, 1, 84, 190]] * len(frame)
    layer = pdk.Layer("H3HexagonLayer", frame, get_hexagon="h3", get_fill_color="colour", pickable=True)
    st.pydeck_chart(pdk.Deck(layers=[layer], initial_view_state=pdk.ViewState(latitude=46.6, longitude=2.4, zoom=5),
                             tooltip={"html": "{accidents} accidents"}, map_style=None))


def _rerun_samples(app, repeats: int, *, cold: bool) -> list[float]:
    import streamlit as st

    samples = []
    for _ in range(repeats):
        if cold:
            st.cache_data.clear()
        start = time.perf_counter()
        app.run()
        samples.append((time.perf_counter() - start) * 1000)
        assert not app.exception, [e.value for e in app.exception]
    return samples


def _payload_bytes(app) -> int:
    total = 0
    for node in app._tree.children.values():
        stack = [node]
        while stack:
            element = stack.pop()
            proto = getattr(element, "proto", None)
            if proto is not None and hasattr(proto, "ByteSize"):
                total += proto.ByteSize()
            stack.extend(getattr(element, "children", {}).values())
    return total


def bench_page() -> None:
    from streamlit.testing.v1 import AppTest

    print("\n## Server-side rerun of the page, 2017-2020 at resolution 7 (AppTest, its own overhead included)")
    ours = AppTest.from_file(str(ROOT / "app_pages" / "risk_map.py"), default_timeout=120)
    for key, value in PAGE_PARAMS.items():
        ours.query_params[key] = value
    ours.run()
    hexes = len([layer for layer in __import__("json").loads(ours.get("deck_gl_json_chart")[0].proto.json)["layers"]
                 if layer["@@type"] == "H3HexagonLayer"][0]["data"])
    warm = _rerun_samples(ours, 15, cold=False)
    cold = _rerun_samples(ours, 9, cold=True)
    payload = _payload_bytes(ours)
    stock = AppTest.from_function(_stock_page, default_timeout=120)
    for key, value in PAGE_PARAMS.items():
        stock.query_params[key] = value
    stock.run()
    stock_samples = _rerun_samples(stock, 9, cold=False)
    stock_payload = _payload_bytes(stock)
    stock_ms = statistics.median(stock_samples)
    for label, samples in (("ours, cached filter", warm), ("ours, caches cleared", cold)):
        p50, p95 = _percentiles(samples)
        print(f"{label:24s} {hexes} hexes: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms (target <= 150)  "
              f"stock/ours {stock_ms / p50:5.1f}x")
    print(f"{'stock st.pydeck_chart':24s} {hexes} hexes: p50 {stock_ms:6.1f} ms (hexagons cached, as ours warm)")
    print(f"payload: ours {payload / 1e6:.2f} MB (target <= 2), stock {stock_payload / 1e6:.2f} MB, "
          f"ratio {stock_payload / payload:.1f}x")


SHARE_BINS = [0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001]


def bench_location_coverage(con) -> None:
    """How well the located accidents of a department-year stand for all of them, by its located share.

    Every accident has a commune, located or not: the per-year method (weights by department, year, built-up
    area and severity) applied to communes instead of hexagons can be checked against their true counts. The
    baseline is the same estimate where locating is drawn at random with the same stratum shares.
    """
    print("\n## Per-year method: error of a commune's estimated accidents (communes with 30+ in a year)")
    frame = con.execute("SELECT dep, com, year, agg, severe, h3_5 IS NOT NULL AS located FROM accidents").fetch_df()
    keys = ["dep", "year", "agg", "severe"]
    stratum = frame.groupby(keys)["located"]
    total, located = stratum.transform("size"), stratum.transform("sum")
    frame["weight"] = np.where(frame["located"], total / located.clip(lower=1), 0.0)
    drawn = np.random.default_rng(0).random(len(frame)) < located / total
    drawn_count = pd.Series(drawn).groupby([frame[k] for k in keys]).transform("sum").to_numpy()
    frame["random_weight"] = np.where(drawn, total / np.maximum(drawn_count, 1), 0.0)
    frame["share"] = frame.groupby(["dep", "year"])["located"].transform("mean")
    communes = frame.groupby(["dep", "year", "com"]).agg(true=("located", "size"), estimate=("weight", "sum"),
                                                         random=("random_weight", "sum"), share=("share", "first"))
    communes = communes[communes["true"] >= 30]
    communes["bin"] = pd.cut(communes["share"], SHARE_BINS, right=False)
    for interval, group in communes.groupby("bin", observed=True):
        error = np.median(np.abs(np.log((group["estimate"] + 0.5) / (group["true"] + 0.5))))
        chance = np.median(np.abs(np.log((group["random"] + 0.5) / (group["true"] + 0.5))))
        counted = "counted" if interval.left >= coverage.COVERED_SHARE else "left out"
        print(f"located {interval.left:4.0%}-{min(interval.right, 1):4.0%} ({counted:8s}): {len(group):5d} "
              f"commune-years, median error {_ratio_text(error)}, random locating {_ratio_text(chance)}")


def _ratio_text(log_error: float) -> str:
    """A median absolute log error as "x77" when the estimate is off by a factor, else as "17.1 %"."""
    ratio = float(np.exp(log_error))
    return f"x{ratio:5.0f}" if ratio >= 2 else f"{ratio - 1:6.1%}"


def main() -> None:
    con = store.connect()
    start = time.perf_counter()
    facts = load_facts(con)
    seconds = time.perf_counter() - start
    print(f"load_facts: {facts.size} located accidents in {seconds * 1000:.0f} ms (once per server)")
    bench_aggregation(con, facts)
    bench_page()
    bench_location_coverage(con)


if __name__ == "__main__":
    main()
