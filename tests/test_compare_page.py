"""The explorer's « Comparer » tab run by Streamlit's AppTest on the real store.

Expected figures come from SQL over the store's ``users`` table (victims by
their own ``grav``), not from the counts the tab reads.
"""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from core import config
from core.formatting import format_count, format_decimal
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "explorer.py")


def _run(query: dict[str, str]) -> AppTest:
    return run_page(PAGE, query=query, state={"explorer_tab": "Comparer"})


def _comparer(app: AppTest):
    (tab,) = (t for t in app.tabs if t.label == "Comparer")
    return tab


def _side_metrics(app: AppTest) -> list[dict[str, str]]:
    """Each side's metrics, A then B (the tab's two bordered columns, each holding two columns of metrics)."""
    sides = [c for c in _comparer(app).columns if len(c.metric) == 6]
    return [{m.label: m.value for m in side.metric} for side in sides]


def _killed_and_accidents(con, dep: str, years: tuple[int, int]) -> tuple[int, int]:
    return con.execute(
        "SELECT count(DISTINCT a.acc_id), count(*) FILTER (WHERE u.grav = 2) FROM accidents a "
        "LEFT JOIN users u USING (acc_id) WHERE a.dep = ? AND a.year BETWEEN ? AND ?", [dep, *years]).fetchone()


def test_two_departments_side_by_side_from_the_link(store_con) -> None:
    app = _run({"cmp": "area", "cmp_a_deps": "59", "cmp_b_deps": "62", "years": "2019-2020"})
    a, b = _side_metrics(app)
    for shown, dep in ((a, "59"), (b, "62")):
        accidents, killed = _killed_and_accidents(store_con, dep, (2019, 2020))
        assert (shown["Accidents"], shown["Tués"]) == (format_count(accidents), format_count(killed))
        assert shown["Accidents par an"] == format_decimal(accidents / 2)
    subheaders = [s.value for s in _comparer(app).subheader]
    assert subheaders == ["A · Nord", "B · Pas\\-de\\-Calais"]
    table = _comparer(app).dataframe[0].value
    assert table["Indicateur"].tolist() == ["Accidents par an", "Tués par an", "Blessés hospitalisés par an",
                                            "Tués pour 100 accidents", "Part d'accidents graves"]
    assert set(table["Au-delà du hasard"]) <= {"oui", "non"}
    (chart,) = _comparer(app).get("plotly_chart")
    names = [trace.get("name") for trace in json.loads(chart.proto.spec)["data"]]
    assert names[0] == "A · Nord" and names[2] == "B · Pas-de-Calais"
    assert "Filtres communs à A et B : Années : 2019–2020." in [c.value for c in _comparer(app).caption]


def test_two_periods_across_2018_do_not_compare_hospitalised() -> None:
    app = _run({"cmp": "period", "cmp_a_years": "2016-2017", "cmp_b_years": "2019-2020", "deps": "69"})
    table = _comparer(app).dataframe[0].value.set_index("Indicateur")
    assert table.loc["Blessés hospitalisés par an", "Au-delà du hasard"] == "non comparable (2018)"
    assert table.loc["Part d'accidents graves", "A par rapport à B"] == "non comparable (2018)"
    assert table.loc["Accidents par an", "Au-delà du hasard"] in {"oui", "non"}
    assert "Départements : 69 – Rhône" in _comparer(app).caption[0].value


def test_choosing_the_sides_writes_the_comparison_into_the_link(store_con) -> None:
    app = _run({"years": "2020-2020"})
    assert app.query_params.get("cmp") is None  # nothing written before a choice
    app.radio(key="explorer_cmp_mode").set_value("area").run()
    assert app.query_params["cmp"] == "area"
    assert "Choisissez les régions ou départements" in app.info[0].value
    app.multiselect(key="explorer_cmp_a_deps").set_value(["48"])
    app.multiselect(key="explorer_cmp_b_regions").set_value(["94"])
    app.button(key="FormSubmitter:explorer_cmp_form-Comparer").click().run()
    assert not app.exception
    assert {k: app.query_params[k] for k in ("cmp", "cmp_a_deps", "cmp_b_regions", "years")} == {
        "cmp": "area", "cmp_a_deps": "48", "cmp_b_regions": "94", "years": "2020-2020"}
    a, b = _side_metrics(app)
    assert a["Accidents"] == format_count(_killed_and_accidents(store_con, "48", (2020, 2020))[0])
    corsica = sum(_killed_and_accidents(store_con, dep, (2020, 2020))[0] for dep in ("2A", "2B"))
    assert b["Accidents"] == format_count(corsica)


def test_a_wrong_comparison_link_is_set_aside_with_a_french_note() -> None:
    app = _run({"cmp": "area", "cmp_a_deps": "59,[x](https://e.example)", "cmp_b_deps": "62"})
    (warning,) = app.warning
    assert "Lien partiellement invalide" in warning.value and "A – Départements" in warning.value
    assert "](https" not in warning.value  # the link's text shows as typed, not as a link
    assert app.query_params["cmp_a_deps"] == "59"
    assert len(_side_metrics(app)) == 2
