"""The risk map page run by Streamlit's AppTest on the real store."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core import config, places
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "risk_map.py")


def _run(params: dict[str, str] | None = None) -> AppTest:
    return run_page(PAGE, query=params)


def _deck(app: AppTest) -> dict:
    charts = app.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def _hotspots(app: AppTest):
    frames = [t for t in app.table if "Département" in t.value.columns]
    assert len(frames) == 1
    return frames[0].value


def test_default_page_draws_france_at_resolution_5(full_store, store_con) -> None:
    app = _run()
    assert app.title[0].value == "Carte des risques"
    deck = _deck(app)
    hexes = next(layer for layer in deck["layers"] if layer["@@type"] == "H3HexagonLayer")
    expected = store_con.execute("SELECT count(DISTINCT h3_5) FROM accidents").fetchall()[0][0]
    assert len(hexes["data"]) == expected
    assert any(layer["@@type"] == "GeoJsonLayer" for layer in deck["layers"])
    assert any("Accidents graves par an" in h.proto.body for h in app.get("html"))
    located = store_con.execute("SELECT count(*) FROM accidents WHERE lat IS NOT NULL").fetchall()[0][0]
    assert any(m.value == f"{located:,}".replace(",", "\u202f") for m in app.metric)
    assert len(_hotspots(app)) == 20


def test_shared_link_restores_filter_and_view(full_store, store_con) -> None:
    app = _run({"deps": "75", "atm": "2,3", "metric": "severity_rate", "min": "5", "res": "9"})
    assert app.multiselect(key="risk_deps").value == ["75"]
    assert app.multiselect(key="risk_atm").value == [2, 3]
    assert app.selectbox(key="risk_metric").value == "severity_rate"
    assert app.selectbox(key="risk_resolution").value == 9
    assert app.number_input(key="risk_min_count").value == 5
    expected = store_con.execute(
        "SELECT count(DISTINCT h3_9) FROM accidents WHERE dep = '75' AND atm IN (2, 3) AND h3_9 IS NOT NULL"
    ).fetchall()[0][0]
    hexes = next(layer for layer in _deck(app)["layers"] if layer["@@type"] == "H3HexagonLayer")
    assert len(hexes["data"]) == expected
    assert set(_hotspots(app)["Département"]) == {places.department_name("75")}


def test_relative_risk_of_night_uses_a_diverging_legend(full_store) -> None:
    app = _run({"metric": "relative_risk", "cond": "night"})
    legend = next(h.proto.body for h in app.get("html") if "risk-legend" in h.proto.body)
    assert "Risque relatif" in legend and "nuit" in legend
    assert "#2166ac" in legend  # the blue end of the diverging scale
    assert any("Part nationale" in c.value for c in app.caption)


def test_changing_the_metric_writes_it_to_the_url(full_store) -> None:
    app = _run()
    app.selectbox(key="risk_metric").set_value("severity_rate").run()
    assert not app.exception
    assert app.query_params["metric"] == ["severity_rate"] or app.query_params["metric"] == "severity_rate"


@pytest.mark.parametrize("bad", [{"atm": "99"}, {"view": "x,y"}])
def test_bad_links_fall_back_without_error(full_store, bad) -> None:
    app = _run(bad)
    assert _deck(app)["layers"]
