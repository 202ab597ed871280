"""Explorer queries and charts on the real 2005-2020 store (core.explore, core.accidents_table)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from core import codebook
from core.accidents_table import (
    META_TABLE,
    ExplorerStoreError,
    check_explorer_tables,
    explorer_columns,
    explorer_definitions,
)
from core.explore.accidents_map import accidents_map, markers_json
from core.explore.breakdowns import breakdowns
from core.explore.charts import hour_weekday_heatmap, month_year_heatmap, yearly_trend_figure
from core.explore.choropleth import CHOROPLETH_CLASSES, department_choropleth
from core.explore.counts import Figures, calendar, department_counts, figures
from core.explore.departments import (
    department_geojson,
    department_map_frame,
    department_shapes,
    department_table,
    is_overseas,
)
from core.explore.periods import (
    change_text,
    compare_periods,
    headline_metrics,
    period_caption,
    previous_period,
    relative_change,
    share_change_text,
)
from core.explore.points import (
    MARKER_FIELDS,
    MAX_POINTS,
    located_caption,
    location_note,
    map_points,
    sample_notice,
)
from core.explore.table import PAGE_SIZE, page_caption, page_count, table_page
from core.filter_fields import INVOLVED_COLUMNS
from core.filters import AccidentFilter
from core.formatting import format_count, format_percent
from core.queries import located_by_year

DATA_YEARS = (2005, 2020)
# One real accident: 30/01/2020 18:25 in Chanac (Lozère), a cyclist killed, no other user.
LOZERE_FATAL_JANUARY_2020 = AccidentFilter(deps=("48",), years=(2020, 2020), months=(1,), outcome="fatal")

EXTENDED_FILTERS = [
    AccidentFilter(user_categories=(3,)),
    AccidentFilter(user_categories=(4,), years=(2005, 2010)),
    AccidentFilter(vehicle_groups=("bicycle",)),
    AccidentFilter(vehicle_groups=("hgv", "other"), outcome="fatal"),
    AccidentFilter(age_groups=("0-17",)),
    AccidentFilter(age_groups=("75+", "65-74"), deps=("13",)),
    AccidentFilter(user_categories=(1, 2), vehicle_groups=("two_wheeler", "light_vehicle"),
                   age_groups=("18-24",), col=(1,), hours=(22, 4)),
]


def _count_with_filter_sql(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> tuple[int, int]:
    """Accidents and killed through the filter's own SQL (subqueries over users and vehicles)."""
    where, params = accident_filter.to_sql()
    return tuple(con.execute(f"SELECT count(*), coalesce(sum(n_killed), 0) FROM accidents WHERE {where}",
                             params).fetchall()[0])


def test_the_store_holds_an_explorer_table_built_from_todays_definitions(store_con) -> None:
    check_explorer_tables(store_con)


@pytest.mark.parametrize("accident_filter", EXTENDED_FILTERS, ids=lambda f: ",".join(f.to_params()))
def test_masks_select_the_same_accidents_as_the_filter_sql(store_con, accident_filter: AccidentFilter) -> None:
    shown = figures(store_con, accident_filter)
    expected = _count_with_filter_sql(store_con, accident_filter)
    assert expected[0] > 0
    assert (shown.accidents, shown.killed) == expected


def test_filter_sql_with_bits_tests_masks_instead_of_subqueries() -> None:
    where, params = AccidentFilter(user_categories=(3,), vehicle_groups=("hgv",), age_groups=("75+",)).to_sql(bits=True)
    assert "users" not in where and "vehicles" not in where
    assert params == [1 << 3, 1 << 3, 1 << 6]


def test_official_killed_2019_and_2020(store_con) -> None:
    assert figures(store_con, AccidentFilter(years=(2019, 2019))).killed == 3498
    assert figures(store_con, AccidentFilter(years=(2020, 2020))).killed == 2780


def test_one_real_accident_figures_and_masks(store_con) -> None:
    shown = figures(store_con, LOZERE_FATAL_JANUARY_2020)
    assert shown == Figures(accidents=1, severe_accidents=1, killed=1, hospitalised=0, light=0, located=1)
    # The cyclist is a driver (catu 1), on a bicycle, 65-74 years old.
    for accident_filter, matches in [
        (LOZERE_FATAL_JANUARY_2020.with_changes(user_categories=(1,)), 1),
        (LOZERE_FATAL_JANUARY_2020.with_changes(user_categories=(2, 3)), 0),
        (LOZERE_FATAL_JANUARY_2020.with_changes(vehicle_groups=("bicycle",)), 1),
        (LOZERE_FATAL_JANUARY_2020.with_changes(vehicle_groups=("light_vehicle",)), 0),
        (LOZERE_FATAL_JANUARY_2020.with_changes(age_groups=("65-74",)), 1),
        (LOZERE_FATAL_JANUARY_2020.with_changes(age_groups=("75+",)), 0),
    ]:
        assert figures(store_con, accident_filter).accidents == matches, accident_filter


def test_previous_period_of_the_same_length() -> None:
    assert previous_period((2019, 2020), first_year=2005) == (2017, 2018)
    assert previous_period((2013, 2020), first_year=2005) == (2005, 2012)
    assert previous_period((2012, 2020), first_year=2005) is None
    assert previous_period((2005, 2020), first_year=2005) is None


def test_compare_periods_counts_each_period_like_its_own_filter(store_con) -> None:
    accident_filter = AccidentFilter(years=(2019, 2020), atm=(2,))
    periods = compare_periods(store_con, accident_filter, data_years=DATA_YEARS)
    assert periods.previous_years == (2017, 2018)
    assert periods.current == figures(store_con, accident_filter)
    assert periods.previous == figures(store_con, accident_filter.with_changes(years=(2017, 2018)))
    assert periods.current.accidents != periods.previous.accidents
    assert not periods.hospitalisation_comparable  # 2017-2018 straddles the 2018 break
    assert periods.by_year["year"].tolist() == [2019, 2020]
    assert periods.by_year["accidents"].sum() == periods.current.accidents
    assert compare_periods(store_con, AccidentFilter(years=(2015, 2016)),
                                   data_years=DATA_YEARS).hospitalisation_comparable
    assert compare_periods(store_con, AccidentFilter(years=(2020, 2020)),
                                   data_years=DATA_YEARS).hospitalisation_comparable


def test_no_year_filter_means_the_whole_store_and_no_previous_period(store_con) -> None:
    periods = compare_periods(store_con, AccidentFilter(), data_years=DATA_YEARS)
    assert periods.years == DATA_YEARS and periods.previous is None
    total = store_con.execute("SELECT count(*) FROM accidents").fetchall()[0][0]
    assert periods.current.accidents == total


def test_relative_change() -> None:
    assert relative_change(2780, 3498) == pytest.approx(-0.2053, abs=1e-4)
    assert relative_change(5, 0) is None and relative_change(None, 3) is None


def _by_year(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter):
    return compare_periods(con, accident_filter, data_years=DATA_YEARS).by_year


def test_yearly_counts_of_a_comparison_cover_every_year_even_without_accidents(store_con) -> None:
    # Saint-Pierre-et-Miquelon appears in the files from 2019 only.
    by_year = _by_year(store_con, AccidentFilter(deps=("975",)))
    assert by_year["year"].tolist() == list(range(2005, 2021))
    assert by_year.loc[by_year["year"] < 2019, "accidents"].sum() == 0
    assert by_year["accidents"].sum() == 7
    whole = _by_year(store_con, AccidentFilter()).set_index("year")
    assert whole.loc[2019, "killed"] == 3498 and whole.loc[2020, "killed"] == 2780


def test_headline_metrics_of_a_real_comparison(store_con) -> None:
    """2019-2020 against 2017-2018: changes of the counts, none for hospitalisations across the 2018 break."""
    comparison = compare_periods(store_con, AccidentFilter(years=(2019, 2020)), data_years=DATA_YEARS)
    shown = {m.label: m for m in headline_metrics(comparison)}
    assert list(shown) == ["Accidents", "Tués", "Blessés hospitalisés", "Blessés légers", "Part d'accidents graves"]
    killed = {year: store_con.execute("SELECT sum(n_killed) FROM accidents WHERE year = ?", [year]).fetchall()[0][0]
              for year in (2017, 2018, 2019, 2020)}
    now, before = killed[2019] + killed[2020], killed[2017] + killed[2018]
    assert shown["Tués"].value == format_count(now)
    assert shown["Tués"].delta == format_percent(now / before - 1)  # a fall: no plus sign
    assert shown["Blessés hospitalisés"].delta == shown["Part d'accidents graves"].delta == "non comparable (2018)"
    assert "2018" in shown["Blessés hospitalisés"].help and shown["Accidents"].help is None
    assert period_caption(comparison, data_years=DATA_YEARS) == "Période 2019–2020, comparée à 2017–2018."
    whole = compare_periods(store_con, AccidentFilter(), data_years=DATA_YEARS)
    assert {m.delta for m in headline_metrics(whole)} == {None}  # no previous period: nothing compared
    assert period_caption(whole, data_years=DATA_YEARS) == (
        "Période 2005–2020. Pas de comparaison : la période précédente de même durée sort des données (2005–2020).")


def test_change_texts() -> None:
    assert change_text(110, 100) == "+10,0\u00a0%" and change_text(90, 100) == "-10,0\u00a0%"
    assert change_text(100, 100) == "0,0\u00a0%" and change_text(5, 0) is None and change_text(5, None) is None
    assert change_text(5, 4, comparable=False) == "non comparable (2018)"
    assert share_change_text(0.30, 0.25, comparable=True) == "+5,0\u00a0pt"
    assert share_change_text(0.2, 0.25, comparable=True) == "-5,0\u00a0pt"
    assert share_change_text(None, 0.25, comparable=True) is None
    assert share_change_text(0.2, 0.25, comparable=False) == "non comparable (2018)"


def test_calendar_and_departments_add_up_to_the_figures(store_con) -> None:
    accident_filter = AccidentFilter(years=(2016, 2020), involves=("bicycle",))
    total = figures(store_con, accident_filter)
    dates = calendar(store_con, accident_filter)
    assert dates.by_month["accidents"].sum() == total.accidents
    assert len(dates.by_month) == 5 * 12
    assert dates.by_hour["accidents"].sum() == total.accidents
    assert set(dates.by_hour["weekday"]) == set(range(7)) and set(dates.by_hour["hour"]) <= set(range(24))
    by_dep = department_counts(store_con, accident_filter)
    assert by_dep["killed"].sum() == total.killed
    table = department_table(by_dep)
    assert table["Accidents"].is_monotonic_decreasing
    assert "75 – Paris" in set(table["Département"])


def test_department_map_frame_has_every_outline_with_zeros(store_con) -> None:
    by_dep = department_counts(store_con, AccidentFilter(deps=("2A", "2B")))
    frame = department_map_frame(by_dep)
    assert len(frame) == len(department_shapes()) >= 101
    corsica = frame.set_index("code").loc[["2A", "2B"], "accidents"]
    assert corsica.sum() == by_dep["accidents"].sum() > 0
    assert frame.loc[~frame["code"].isin(["2A", "2B"]), "accidents"].eq(0).all()
    features = department_geojson()["features"]
    assert len(features) == 96 and not any(is_overseas(f["properties"]["code"]) for f in features)


def test_breakdowns_match_the_people_and_vehicles_tables(store_con) -> None:
    accident_filter = AccidentFilter(years=(2018, 2020), deps=("69",))
    where, params = accident_filter.to_sql(alias="a")
    chosen = f"SELECT a.acc_id FROM accidents a WHERE {where}"
    people = dict(((c, g), n) for c, g, n in store_con.execute(
        f"SELECT catu, grav, count(*) FROM users WHERE acc_id IN ({chosen}) GROUP BY ALL", params).fetchall())
    vehicles = store_con.execute(f"SELECT count(*) FROM vehicles WHERE acc_id IN ({chosen})", params).fetchall()[0][0]
    occupants_killed = store_con.execute(
        f"SELECT count(*) FROM users u JOIN vehicles v ON u.acc_id = v.acc_id AND u.veh = v.veh "
        f"WHERE u.acc_id IN ({chosen}) AND u.catu IN (1, 2) AND u.grav = 2", params).fetchall()[0][0]

    parts = breakdowns(store_con, accident_filter)
    shown = {(r.catu, r.grav): r.people for r in parts.people.itertuples() if r.people}
    assert shown == people
    assert parts.people.loc[parts.people["catu"] == 3, "catu_label"].iloc[0] == "Piéton"
    assert parts.vehicles["vehicles"].sum() == vehicles
    assert parts.vehicles["occupants_killed"].sum() == occupants_killed
    assert parts.vehicles.set_index("group").loc["light_vehicle", "label"] == "Véhicule léger"


def test_map_points_are_a_fixed_sample_of_located_accidents(store_con) -> None:
    everything = AccidentFilter()
    points = map_points(store_con, everything)
    assert len(points) == MAX_POINTS
    assert points["lat"].notna().all() and points["lon"].notna().all()
    assert points["acc_id"].is_unique
    assert points["acc_id"].tolist() == map_points(store_con, everything)["acc_id"].tolist()
    years = {json.loads(marker)[2][6:10] for marker in points["marker"]}
    assert len(years) >= 10  # spread over the years, not the first ids
    lozere = AccidentFilter(deps=("48",))
    assert len(map_points(store_con, lozere)) == figures(store_con, lozere).located == 564


def test_location_note_is_read_from_the_store(store_con) -> None:
    by_year = located_by_year(store_con)
    assert location_note(by_year) == "aucune coordonnée en 2009, une minorité avant 2016"
    share = by_year.set_index("year").eval("located / accidents")
    assert share[2009] == 0 and (share[share.index < 2016] < 0.5).all() and (share[share.index >= 2016] > 0.5).all()
    lozere = figures(store_con, AccidentFilter(deps=("48",)))
    assert located_caption(lozere, by_year) == (
        f"564 accidents localisés sur {format_count(1238)} (aucune coordonnée en 2009, une minorité avant 2016).")


def test_location_note_of_other_coverages() -> None:
    import pandas as pd

    def note(located: list[int]) -> str:
        return location_note(pd.DataFrame({"year": range(2005, 2005 + len(located)), "accidents": 10,
                                           "located": located}))

    assert note([10, 10, 10]) == ""
    assert note([0, 0, 10]) == "aucune coordonnée en 2005 et 2006, une minorité avant 2007"
    assert note([10, 4, 0, 10]) == "aucune coordonnée en 2007, une minorité en 2006 et 2007"
    assert note([1, 4, 0, 10]) == "aucune coordonnée en 2007, une minorité avant 2008"


def test_sample_notice_only_when_points_are_left_out() -> None:
    assert sample_notice(564, 564) is None
    assert sample_notice(12_345, 5_000) == ("12\u202f345 accidents localisés correspondent : 5\u202f000 sont dessinés "
                                            "(échantillon fixe). Affinez les filtres pour les voir tous.")


def test_table_page_of_a_real_accident(store_con) -> None:
    page = table_page(store_con, LOZERE_FATAL_JANUARY_2020)
    assert page.to_dict("records") == [{
        "Accident": "202000009335", "Date": "30/01/2020", "Heure": "18:25", "Département": "48 – Lozère",
        "Commune": "Chanac", "Localisation": "En agglomération", "Lumière": "Nuit avec éclairage public allumé",
        "Conditions atmosphériques": "Pluie légère", "État de la surface": "Mouillée",
        "Catégorie de route": "Route Départementale", "Type de collision": "Sans collision",
        "Véhicules": "Bicyclette", "Usagers": 1, "Tués": 1,
        "Blessés hospitalisés": 0, "Blessés légers": 0,
    }]


def test_table_pages_run_most_recent_first_without_overlap(store_con) -> None:
    accident_filter = AccidentFilter(deps=("48",))
    first = table_page(store_con, accident_filter, page=1)
    second = table_page(store_con, accident_filter, page=2)
    assert len(first) == len(second) == PAGE_SIZE
    assert not set(first["Accident"]) & set(second["Accident"])
    assert first["Date"].iloc[0].endswith("2020")
    last_page = -(-1238 // PAGE_SIZE)
    assert len(table_page(store_con, accident_filter, page=last_page)) == 1238 % PAGE_SIZE
    with pytest.raises(ValueError):
        table_page(store_con, accident_filter, page=0)
    assert page_count(1238) == last_page == 25 and page_count(0) == 1 and page_count(PAGE_SIZE) == 1
    assert page_caption(2, 1238) == "Page 2 sur 25 — 1\u202f238 accidents, les plus récents d'abord."


@pytest.mark.parametrize("group", ["bicycle", "two_wheeler", "hgv"])
def test_vehicle_flags_follow_the_codebook_groups(store_con, group: str) -> None:
    """``has_<group>`` is set exactly when a vehicle of the accident is in the codebook's group (2020)."""
    codes = [c for c in codebook.valid_codes("catv") if codebook.vehicle_group(c) == group]
    flagged = store_con.execute(
        f"SELECT count(*) FROM accidents WHERE year = 2020 AND {INVOLVED_COLUMNS[group]}").fetchall()[0][0]
    expected = store_con.execute(
        "SELECT count(DISTINCT acc_id) FROM vehicles WHERE acc_id // 100000000 = 2020 AND list_contains(?, catv)",
        [codes]).fetchall()[0][0]
    assert flagged == expected > 0


def test_a_store_without_the_explorer_table_asks_for_a_rebuild() -> None:
    con = duckdb.connect()
    with pytest.raises(ExplorerStoreError, match="python -m core store"):
        check_explorer_tables(con)
    with pytest.raises(ExplorerStoreError, match="python -m core store"):
        figures(con, AccidentFilter())


def test_a_store_built_from_other_definitions_asks_for_a_rebuild() -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE accidents (acc_id BIGINT, {explorer_columns()[0]} USMALLINT)")
    definitions = explorer_definitions() | {"age_groups": {"0-99": [0, 99]}}
    con.execute(f"CREATE TABLE {META_TABLE} (definitions VARCHAR)")
    con.execute(f"INSERT INTO {META_TABLE} VALUES (?)", [json.dumps(definitions, sort_keys=True)])
    with pytest.raises(ExplorerStoreError, match="other filter definitions"):
        check_explorer_tables(con)


def test_explorer_table_of_the_2021_excerpt(excerpt_store) -> None:
    """The table is built with the store, here from the 20 real accidents of the 2021 excerpt."""
    from core import store

    con = store.connect(excerpt_store)
    try:
        check_explorer_tables(con)
        for accident_filter in [AccidentFilter(), AccidentFilter(user_categories=(3,)),
                                AccidentFilter(vehicle_groups=("two_wheeler",)), AccidentFilter(age_groups=("25-34",))]:
            expected, _ = _count_with_filter_sql(con, accident_filter)
            assert figures(con, accident_filter).accidents == expected
        users = con.execute("SELECT count(*) FROM users").fetchall()[0][0]
        assert breakdowns(con, AccidentFilter()).people["people"].sum() == users
    finally:
        con.close()


# --------------------------------------------------------------------------- #
# Charts
# --------------------------------------------------------------------------- #


def test_yearly_trend_marks_the_2018_break(store_con) -> None:
    fig = yearly_trend_figure(_by_year(store_con, AccidentFilter()))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert {(s.xref, s.x0) for s in lines} == {("x", 2017.5), ("x2", 2017.5)}
    assert any("2018" in a.text and "hospitalisé" in a.text for a in fig.layout.annotations)
    hospitalised = [t for t in fig.data if t.name.startswith("Blessés hospitalisés")]
    assert [max(t.x) for t in hospitalised] == [2017, 2020] and min(hospitalised[1].x) == 2018
    killed = next(t for t in fig.data if t.name == "Tués")
    assert dict(zip(killed.x, killed.y, strict=True))[2019] == 3498


def test_yearly_trend_after_the_break_has_no_break_line(store_con) -> None:
    by_year = _by_year(store_con, AccidentFilter(years=(2019, 2020)))
    fig = yearly_trend_figure(by_year)
    assert not fig.layout.shapes
    assert [t.name for t in fig.data if t.name.startswith("Blessés hospitalisés")] == [
        "Blessés hospitalisés (depuis 2018)"]


def test_heatmaps_use_french_labels_and_full_grids(store_con) -> None:
    dates = calendar(store_con, AccidentFilter(years=(2020, 2020), deps=("48",)))
    months = month_year_heatmap(dates.by_month).data[0]
    assert list(months.y) == ["Janvier", "Février", "Mars", "Avril", "Mai", "Juin", "Juillet", "Août",
                              "Septembre", "Octobre", "Novembre", "Décembre"]
    hours = hour_weekday_heatmap(dates.by_hour).data[0]
    assert hours.y[0] == "Lundi" and len(hours.x) == 24
    assert sum(map(sum, hours.z)) == sum(map(sum, months.z)) == figures(
        store_con, AccidentFilter(years=(2020, 2020), deps=("48",))).accidents


def test_choropleth_draws_metropolitan_departments(store_con) -> None:
    frame = department_map_frame(department_counts(store_con, AccidentFilter(years=(2020, 2020))))
    fig = department_choropleth(frame, metric="killed")
    (markers,) = [trace for trace in fig.data if trace.mode == "markers"]
    assert len(markers.customdata) == 96 and "971" not in markers.customdata
    killed = frame.set_index("code")["killed"]
    at = {code: i for i, code in enumerate(markers.customdata)}
    assert markers.text[at["75"]] == f"75 Paris : {killed['75']}"
    assert list(markers.marker.color) == [killed[code] for code in markers.customdata]
    # Every department's outline is filled, once, in the colour class of its count.
    fills = [trace for trace in fig.data if trace.fill == "toself"]
    rings = sum(int(np.isnan(np.asarray(trace.y, dtype=float)).sum()) for trace in fills)
    polygons = {f["properties"]["code"]: 1 if f["geometry"]["type"] == "Polygon" else len(f["geometry"]["coordinates"])
                for f in department_geojson()["features"]}
    assert rings == sum(polygons[code] for code in markers.customdata)
    darkest = fills[-1]
    top = killed[list(markers.customdata)].max()
    assert darkest.name == f"classe {CHOROPLETH_CLASSES - 1}"
    assert markers.marker.cmax == top
    # No geo subplot: nothing to download from plotly's CDN before drawing.
    assert not fig.layout.geo.to_plotly_json() and all(trace.type == "scatter" for trace in fig.data)
    with pytest.raises(ValueError):
        department_choropleth(frame, metric="rate")


def test_accidents_map_carries_every_point_and_its_popup_data(store_con) -> None:
    points = map_points(store_con, AccidentFilter(deps=("48",), years=(2020, 2020)))
    markers = json.loads(markers_json(points))
    assert len(markers) == len(points) > 0
    cyclist = json.loads(points.set_index("acc_id").loc[202000009335, "marker"])
    assert dict(zip(MARKER_FIELDS, cyclist, strict=True)) == {
        "lat": 44.46588, "lon": 3.34494, "when": "30/01/2020 18:25", "lum": 5, "atm": 2, "surf": 2, "col": 7,
        "catv": [1], "killed": 1, "hospitalised": 0, "light": 0, "unharmed": 0,
    }
    html = accidents_map(points, leaflet_url="../leaflet/").get_root().render()
    assert markers_json(points) in html
    # Circle markers on a canvas (Leaflet.markercluster would have to come from a CDN).
    assert "L.canvas(" in html and "L.circleMarker(" in html and "markerClusterGroup" not in html
    assert "Nuit avec éclairage public allumé" in html


def test_markers_json_cannot_close_the_script_element() -> None:
    import pandas as pd

    text = markers_json(pd.DataFrame({"marker": ['["</script><b>&"]']}))
    assert "<" not in text and ">" not in text and json.loads(text) == [["</script><b>&"]]
