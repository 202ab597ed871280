"""The risk map's « Quand ? » section and its report button, run by Streamlit's AppTest on the real store."""

from __future__ import annotations

import base64
import json

import h3
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import config, places
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "risk_map.py")


def _figures(app: AppTest) -> dict[str, dict]:
    """The page's plotly figures by title."""
    figures = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return {figure["layout"]["title"]["text"]: figure for figure in figures}


def _array(value: object) -> np.ndarray:
    """A figure's numbers: plotly writes numpy arrays as base64 typed arrays ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).reshape(shape)
    return np.asarray(value)


def _sql_grid(con, where: str, params: list, *, severe: bool = False) -> np.ndarray:
    extra = " AND severe" if severe else ""
    grid = np.zeros((7, 24), dtype=int)
    for weekday, hour, accidents in con.execute(
            f"SELECT weekday, hour, count(*) FROM accidents WHERE h3_5 IS NOT NULL AND {where}{extra} GROUP BY ALL",
            params).fetchall():
        grid[weekday, hour] = accidents
    return grid


def _heading(app: AppTest) -> str:
    return next(s.value for s in app.subheader if s.value.startswith("Quand ?"))


@pytest.mark.parametrize(("query", "where", "params", "counted"), [
    ({"deps": "59"}, "dep = ? AND year BETWEEN ? AND ?", ["59", 2018, 2020], "(filtres)"),
    ({"deps": "59", "cond": "rain"}, "dep = ? AND year BETWEEN ? AND ? AND atm IN (?, ?)", ["59", 2018, 2020, 2, 3],
     "(filtres et condition « Pluie »)"),
    ({"deps": "59", "cond": "rain", "metric": "relative_risk"}, "dep = ? AND year BETWEEN ? AND ?", ["59", 2018, 2020],
     "(filtres)"),  # a relative risk compares its condition: every accident of the filters is on the map
], ids=["Nord", "Nord in the rain", "relative risk of rain in the Nord"])
def test_whole_view_profile_of_a_department(full_store, store_con, query, where, params, counted) -> None:
    app = run_page(PAGE, query=query)  # the page's default years, 2018-2020
    assert _heading(app) == "Quand ? Toute la vue"
    figures = _figures(app)
    hours = figures["Accidents par jour et heure"]["data"][0]
    np.testing.assert_array_equal(_array(hours["z"]), _sql_grid(store_con, where, params))
    assert hours["y"][0] == "Lundi" and hours["x"][0] == "0 h"
    severe = figures["Accidents graves (tué ou hospitalisé) par jour et heure"]["data"][0]
    np.testing.assert_array_equal(_array(severe["z"]), _sql_grid(store_con, where, params, severe=True))
    months = figures["Accidents et accidents graves par mois"]["data"]
    by_month = dict(store_con.execute(f"SELECT month, count(*) FROM accidents WHERE h3_5 IS NOT NULL AND {where} "
                                      "GROUP BY 1", params).fetchall())
    assert _array(months[0]["y"]).tolist() == [by_month.get(m, 0) for m in range(1, 13)]
    total = f"{sum(by_month.values()):,}".replace(",", "\u202f")
    caption = next(c.value for c in app.caption if "accidents géolocalisés de la sélection" in c.value)
    assert caption.startswith(f"{total} accidents géolocalisés de la sélection {counted}")
    assert not [b for b in app.button if b.label == "Toute la vue"]


def test_the_chosen_hotspot_gets_the_profile_and_toute_la_vue_lets_it_go(full_store, store_con) -> None:
    app = run_page(PAGE, query={"deps": "69", "metric": "accidents_per_year"})
    table = next(t for t in app.table if "Hexagone" in t.value.columns).value
    first = table["Hexagone"].iloc[0]
    app.selectbox(key="risk_centre").set_value(first).run()
    assert not app.exception
    cell_int = h3.str_to_int(first)
    resolution = h3.get_resolution(first)
    where = f"h3_{resolution} = ? AND dep = ? AND year BETWEEN ? AND ?"
    commune = store_con.execute(f"SELECT com FROM accidents WHERE {where} AND com IS NOT NULL GROUP BY com "
                                "ORDER BY count(*) DESC, com LIMIT 1", [cell_int, "69", 2018, 2020]).fetchone()[0]
    assert _heading(app) == f"Quand ? Hexagone {first} ({places.commune_name(commune)})"
    hours = _figures(app)["Accidents par jour et heure"]["data"][0]
    np.testing.assert_array_equal(_array(hours["z"]), _sql_grid(store_con, where, [cell_int, "69", 2018, 2020]))
    next(b for b in app.button if b.label == "Toute la vue").click().run()
    assert not app.exception
    assert _heading(app) == "Quand ? Toute la vue"
    assert "mark" not in app.query_params  # the outline goes with the hotspot; the view stays where it was
    assert "view" in app.query_params


def test_report_button_makes_the_pdf_on_click_only(full_store) -> None:
    app = run_page(PAGE, query={"deps": "2A"})
    button = next(b for b in app.get("download_button") if b.proto.label == "Rapport PDF")
    assert button.proto.deferred_file_id  # made on click, not on every run (the e2e test downloads it)
    assert button.proto.ignore_rerun  # on_click="ignore": downloading does not rerun the page
