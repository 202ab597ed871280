"""The explorer page run by Streamlit's AppTest on the real store.

Expected figures come from the Parquet files read with pandas: code that
shares nothing with the page's DuckDB queries.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import codebook, config
from core.explore.table import PAGE_SIZE
from core.filter_fields import AGE_GROUPS
from core.formatting import format_count
from tests.apptest import run_page

PAGE = str(config.ROOT / "app_pages" / "explorer.py")
GRAV = {"killed": codebook.GRAV_KILLED, "hospitalised": codebook.GRAV_HOSPITALISED, "light": codebook.GRAV_LIGHT}


@pytest.fixture(scope="module")
def parquet(full_store: Path) -> dict[str, pd.DataFrame]:
    return {
        "accidents": pd.read_parquet(full_store / config.ACCIDENTS_FILE, columns=["acc_id", "year", "dep", "lat"]),
        "users": pd.read_parquet(full_store / config.USERS_FILE, columns=["acc_id", "catu", "grav", "birth_year"]),
        "vehicles": pd.read_parquet(full_store / config.VEHICLES_FILE, columns=["acc_id", "catv"]),
    }


def _expected(parquet: dict[str, pd.DataFrame], acc_ids: pd.Series) -> dict[str, str]:
    """The metric values the page should show for these accidents, counted from the Parquet users."""
    victims = parquet["users"][parquet["users"]["acc_id"].isin(acc_ids)]
    counts = {name: int((victims["grav"] == code).sum()) for name, code in GRAV.items()}
    return {"Accidents": format_count(acc_ids.nunique()), "Tués": format_count(counts["killed"]),
            "Blessés hospitalisés": format_count(counts["hospitalised"]),
            "Blessés légers": format_count(counts["light"])}


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def _run(query: dict[str, str] | None = None, tab: str | None = None) -> AppTest:
    return run_page(PAGE, query=query, state={"explorer_tab": tab} if tab else None)


def test_no_filter_shows_the_official_totals_counted_from_the_parquet_files(parquet) -> None:
    app = _run()
    shown = _metrics(app)
    expected = _expected(parquet, parquet["accidents"]["acc_id"])
    assert {k: shown[k] for k in expected} == expected

    (yearly,) = (d.value.set_index("Année") for d in app.dataframe)
    users = parquet["users"].merge(parquet["accidents"][["acc_id", "year"]], on="acc_id")
    killed = users[users["grav"] == codebook.GRAV_KILLED].groupby("year").size()
    assert {year: int(yearly.loc[str(year), "Tués"]) for year in range(2005, 2021)} == killed.to_dict()
    assert (killed[2019], killed[2020]) == (3498, 2780)  # the ONISR figures
    accidents = parquet["accidents"].groupby("year").size()
    assert yearly["Accidents"].tolist() == accidents.tolist()


def test_trend_chart_marks_the_2018_break() -> None:
    app = _run()
    (trend,) = app.get("plotly_chart")
    layout = json.loads(trend.proto.spec)["layout"]
    assert [a["text"] for a in layout["annotations"]][:2] == ["Accidents et blessés", "Tués"]
    assert sorted(s["xref"] for s in layout["shapes"] if s["x0"] == 2017.5) == ["x", "x2"]
    assert any("2018" in a["text"] and "blessé hospitalisé" in a["text"] for a in layout["annotations"])


def test_extended_filters_from_the_url(parquet) -> None:
    """2019-2020 accidents with a pedestrian, someone aged 75+ and a light vehicle, read from the URL."""
    app = _run({"years": "2019-2020", "user_categories": "3", "age_groups": "75+", "vehicle_groups": "light_vehicle"})
    accidents, users, vehicles = parquet["accidents"], parquet["users"], parquet["vehicles"]
    low, high = AGE_GROUPS["75+"]
    in_period = accidents.loc[accidents["year"].between(2019, 2020), "acc_id"]
    age = users["acc_id"] // 100_000_000 - users["birth_year"]
    pedestrians = users.loc[users["catu"] == 3, "acc_id"]
    elderly = users.loc[age.between(low, high), "acc_id"]
    light_vehicles = vehicles.loc[vehicles["catv"].isin(codebook.LIGHT_VEHICLE_CATV), "acc_id"]
    chosen = in_period[in_period.isin(pedestrians) & in_period.isin(elderly) & in_period.isin(light_vehicles)]
    assert len(chosen) > 100

    shown = _metrics(app)
    expected = _expected(parquet, chosen)
    assert {k: shown[k] for k in expected} == expected
    deltas = {m.label: m.delta for m in app.metric}
    assert deltas["Blessés hospitalisés"] == "non comparable (2018)"  # 2017-2018 against 2019-2020
    assert deltas["Tués"].endswith("%")
    assert "comparée à 2017–2018" in " ".join(c.value for c in app.caption)


def test_submitting_the_form_puts_the_filter_in_the_url(parquet) -> None:
    app = _run()
    app.multiselect(key="explorer_deps").set_value(["48"])
    app.multiselect(key="explorer_user_categories").set_value([3])
    app.button(key="FormSubmitter:explorer_filters-Appliquer").click()
    app.run()
    assert not app.exception
    assert {k: app.query_params[k] for k in ("deps", "user_categories")} == {"deps": "48", "user_categories": "3"}
    accidents, users = parquet["accidents"], parquet["users"]
    lozere = accidents.loc[accidents["dep"] == "48", "acc_id"]
    chosen = lozere[lozere.isin(users.loc[users["catu"] == 3, "acc_id"])]
    assert _metrics(app)["Accidents"] == format_count(len(chosen))


@pytest.mark.parametrize("tab", ["Calendrier", "Usagers et véhicules", "Départements"])
def test_chart_tabs_draw_their_charts(tab: str) -> None:
    app = _run({"years": "2020-2020"}, tab=tab)
    charts = app.get("plotly_chart")
    assert len(charts) == {"Calendrier": 2, "Usagers et véhicules": 2, "Départements": 1}[tab]
    spec = json.loads(charts[0].proto.spec)
    assert spec["data"], spec
    if tab == "Départements":
        assert app.radio(key="explorer_choropleth_metric").value == "accidents"
        (table,) = (d.value for d in app.dataframe)
        assert format_count(table["Accidents"].sum()) == _metrics(app)["Accidents"]


def test_map_tab_says_how_many_accidents_are_drawn(parquet) -> None:
    app = _run(tab="Carte des accidents")
    located = int(parquet["accidents"]["lat"].notna().sum())
    assert f"{format_count(located)} accidents localisés correspondent" in app.info[0].value
    assert "5\u202f000 sont dessinés" in app.info[0].value
    small = _run({"deps": "48", "years": "2020-2020"}, tab="Carte des accidents")
    assert not small.info  # all drawn


def test_table_tab_pages_through_the_accidents() -> None:
    app = _run({"deps": "48"}, tab="Tableau")
    first = app.dataframe[0].value
    assert len(first) == PAGE_SIZE
    app.number_input(key="explorer_table_page").set_value(2).run()
    second = app.dataframe[0].value
    assert not set(first["Accident"]) & set(second["Accident"])
    assert "Page 2 sur 25" in " ".join(c.value for c in app.caption)


def test_export_tab_offers_files_only_under_the_limit() -> None:
    everything = _run(tab="Export")
    assert not everything.get("download_button")
    assert "limité à 100\u202f000 accidents" in everything.warning[0].value
    lozere = _run({"deps": "48"}, tab="Export")
    assert [b.label for b in lozere.get("download_button")] == [
        "Télécharger (Excel)", "Télécharger (CSV, ZIP)", "Télécharger (Parquet)"]
    assert "noms de colonnes anglais" in " ".join(m.value for m in lozere.markdown)  # Parquet: for programs
