"""The risk map page run by Streamlit's AppTest on the real store."""

from __future__ import annotations

import json
import re

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
    # Default period 2018-2020, the years where 90 % of accidents or more are located (see core/coverage.py).
    app = _run()
    assert app.title[0].value == "Carte des risques"
    assert app.slider(key="risk_years").value == (2018, 2020)
    deck = _deck(app)
    hexes = next(layer for layer in deck["layers"] if layer["@@type"] == "H3HexagonLayer")
    expected = store_con.execute("SELECT count(DISTINCT h3_5) FROM accidents WHERE year >= 2018").fetchall()[0][0]
    assert len(hexes["data"]) == expected
    assert any(layer["@@type"] == "GeoJsonLayer" for layer in deck["layers"])
    # The prebuilt deck goes through st.pydeck_chart's public argument with its tooltip.
    tooltip = json.loads(app.get("deck_gl_json_chart")[0].proto.tooltip)
    assert "accidents géolocalisés" in tooltip["html"]
    assert any("Accidents graves par an" in h.proto.body for h in app.get("html"))
    located = store_con.execute("SELECT count(*) FROM accidents WHERE lat IS NOT NULL AND year >= 2018").fetchone()[0]
    assert any(m.value == f"{located:,}".replace(",", "\u202f") for m in app.metric)
    assert len(_hotspots(app)) == 20
    assert not app.warning


def test_all_years_chosen_on_the_map_stay_in_the_link(full_store) -> None:
    app = _run()
    app.slider(key="risk_years").set_value((2005, 2020))
    next(b for b in app.button if b.label == "Appliquer").click().run()
    assert not app.exception
    assert app.query_params["years"] in (["2005-2020"], "2005-2020")
    assert _run({"years": "2005-2020"}).slider(key="risk_years").value == (2005, 2020)


def test_shared_link_restores_filter_and_view(full_store, store_con) -> None:
    app = _run({"deps": "75", "atm": "2,3", "metric": "severity_rate", "min": "5", "res": "9"})
    assert app.multiselect(key="risk_deps").value == ["75"]
    assert app.multiselect(key="risk_atm").value == [2, 3]
    assert app.selectbox(key="risk_metric").value == "severity_rate"
    assert app.selectbox(key="risk_resolution").value == 9
    assert app.number_input(key="risk_min_count").value == 5
    expected = store_con.execute(
        "SELECT count(DISTINCT h3_9) FROM accidents WHERE dep = '75' AND atm IN (2, 3) AND h3_9 IS NOT NULL "
        "AND year >= 2018"
    ).fetchall()[0][0]
    hexes = next(layer for layer in _deck(app)["layers"] if layer["@@type"] == "H3HexagonLayer")
    assert len(hexes["data"]) == expected
    assert set(_hotspots(app)["Département"]) == {places.department_name("75")}


def test_relative_risk_of_night_uses_a_diverging_legend(full_store) -> None:
    app = _run({"metric": "relative_risk", "cond": "night"})
    legend = next(h.proto.body for h in app.get("html") if "risk-legend" in h.proto.body)
    assert "Risque relatif" in legend and "nuit" in legend
    assert "#4575b4" in legend  # the blue end of the diverging scale
    assert "#ffffbf" in legend and "#ffffff" not in legend  # RR about 1 in pale yellow, not the page's white
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


def _french_number(text: str) -> float:
    return float(text.replace("\u202f", "").replace(",", "."))


def test_relative_risk_hotspots_are_above_one_beyond_chance(full_store) -> None:
    table = _hotspots(_run({"metric": "relative_risk", "cond": "rain"}))
    assert len(table) == 20
    assert all(_french_number(v) > 1 for v in table["RR IC 95 % bas"])
    assert all(_french_number(v) > 1 for v in table["Risque relatif de la condition"])


def test_no_relative_risk_hotspot_is_said_in_french(full_store) -> None:
    app = _run({"deps": "2A", "years": "2020-2020", "metric": "relative_risk", "cond": "night", "res": "5"})
    assert not [t for t in app.table if "Département" in t.value.columns]
    assert any("Aucun hexagone dont l'intervalle à 95 % du risque relatif est au-dessus de 1" in i.value
               for i in app.info)


@pytest.mark.parametrize("params", [{}, {"deps": "2A", "res": "8", "years": "2005-2020"},
                                    {"metric": "severity_rate", "deps": "59"}], ids=["France", "2A res 8", "Nord"])
def test_legend_classes_are_unique(full_store, params) -> None:
    legend = next(h.proto.body for h in _run(params).get("html") if "risk-legend" in h.proto.body)
    labels = re.findall(r"</span>([^<]+)</span>", legend)
    assert len(labels) >= 3
    assert len(labels) == len(set(labels))
    for label in labels:
        if " – " in label:
            low, high = label.split(" – ")
            assert low != high, label


@pytest.mark.parametrize(("params", "start"), [
    ({"metric": "severity_rate", "outcome": "severe"}, "Taux de gravité sans objet"),
    ({"metric": "severity_rate", "outcome": "fatal"}, "Taux de gravité sans objet"),
    ({"metric": "relative_risk", "cond": "rain", "atm": "2,3"}, "Risque relatif de « Pluie » sans objet"),
    ({"metric": "relative_risk", "cond": "night", "lum": "3,4,5"}, "Risque relatif de « Nuit » sans objet"),
    ({"metric": "relative_risk", "atm": "2"}, "Risque relatif de « Pluie » sans objet"),  # rain by default
    ({"metric": "accidents_per_year", "cond": "rain", "atm": "1"}, "Aucun accident"),
], ids=lambda p: str(p)[:50])
def test_meaningless_combinations_are_explained_instead_of_a_grey_map(full_store, params, start) -> None:
    app = _run(params)
    assert not app.get("deck_gl_json_chart")
    assert [i.value for i in app.info if i.value.startswith(start)]


def test_out_of_range_minimum_is_clamped_with_a_warning(full_store) -> None:
    app = _run({"min": "1001"})  # raised StreamlitValueAboveMaxError, with server paths, before
    assert app.number_input(key="risk_min_count").value == 1000
    assert app.query_params["min"] in (["1000"], "1000")
    assert len(app.warning) == 1 and "1001" in app.warning[0].value and "1000" in app.warning[0].value
    assert _deck(app)["layers"]


@pytest.mark.parametrize("params", [{"min": "0"}, {"res": "42"}, {"view": "48.85,2.35,99"},
                                    {"metric": "inconnu"}, {"cond": "grele"}, {"mark": "zzz"}],
                         ids=lambda p: str(p))
def test_other_bad_map_values_warn_and_fall_back(full_store, params) -> None:
    app = _run(params)
    assert len(app.warning) == 1 and app.warning[0].value.startswith("Lien partiellement invalide")
    assert _deck(app)["layers"]


def test_link_text_in_a_warning_is_shown_as_text(full_store) -> None:
    app = _run({"metric": "[cliquez](https://x.example) **gras**"})
    body = app.warning[0].value
    assert "\\[cliquez\\]" in body and "\\*\\*gras\\*\\*" in body
    assert "](" not in body


def test_centring_on_hotspot_one_keeps_it_coloured_and_marked(full_store) -> None:
    app = _run()
    first = _hotspots(app)["Hexagone"].iloc[0]
    app.selectbox(key="risk_centre").set_value(first).run()
    assert not app.exception
    assert app.query_params["mark"] in ([first], first)
    assert app.query_params["res"] in (["5"], "5")  # the hotspot table's resolution, kept with the view
    deck = _deck(app)
    hexes = next(layer for layer in deck["layers"] if layer["id"] == "hexagones")["data"]
    marked = next(layer for layer in deck["layers"] if layer["id"] == "point-chaud")["data"]
    assert marked == [[first]]
    assert [row[1] for row in hexes if row[0] == first][0] >= 0  # coloured, not grey
    assert sum(row[1] >= 0 for row in hexes) > len(hexes) / 2
    assert first in set(_hotspots(app)["Hexagone"])
    assert "point chaud choisi" in next(h.proto.body for h in app.get("html") if "risk-legend" in h.proto.body)
