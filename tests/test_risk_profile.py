"""The risk map's time profiles (hour × weekday, month) against independent DuckDB SQL on the real store."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from core import places
from core.filters import AccidentFilter
from core.formatting import format_count
from core.risk.facts import HexFacts
from core.risk.hexes import hex_risk
from core.risk.loading import load_facts
from core.risk.masks import filter_mask
from core.risk.profile import (
    TimeProfile,
    cell_mask,
    main_commune,
    picked_cell,
    profile_title,
    time_profile,
    view_mask,
)
from core.risk.profile_charts import hour_weekday_figure, month_figure


@pytest.fixture(scope="module")
def facts(store_con) -> HexFacts:
    return load_facts(store_con)


def _sql_profile(con, where: str, params: list) -> TimeProfile:
    """The profile counted by DuckDB over the located accidents (``h3_5`` set) that ``where`` keeps."""
    by_hour = con.execute(
        f"SELECT weekday, hour, count(*), count(*) FILTER (WHERE severe) FROM accidents "
        f"WHERE h3_5 IS NOT NULL AND hour IS NOT NULL AND weekday IS NOT NULL AND {where} GROUP BY ALL",
        params).fetchall()
    by_month = con.execute(
        f"SELECT month, count(*), count(*) FILTER (WHERE severe) FROM accidents WHERE h3_5 IS NOT NULL AND {where} "
        "GROUP BY ALL", params).fetchall()
    unknown = con.execute(
        f"SELECT count(*) FROM accidents WHERE h3_5 IS NOT NULL AND (hour IS NULL OR weekday IS NULL) AND {where}",
        params).fetchone()[0]
    accidents_by_hour, severe_by_hour = np.zeros((7, 24), int), np.zeros((7, 24), int)
    for weekday, hour, accidents, severe in by_hour:
        accidents_by_hour[weekday, hour], severe_by_hour[weekday, hour] = accidents, severe
    accidents_by_month, severe_by_month = np.zeros(12, int), np.zeros(12, int)
    for month, accidents, severe in by_month:
        accidents_by_month[month - 1], severe_by_month[month - 1] = accidents, severe
    return TimeProfile(accidents_by_hour, severe_by_hour, accidents_by_month, severe_by_month, unknown)


def _assert_same(got: TimeProfile, expected: TimeProfile) -> None:
    assert got.accidents == expected.accidents > 0
    np.testing.assert_array_equal(got.accidents_by_hour, expected.accidents_by_hour)
    np.testing.assert_array_equal(got.severe_by_hour, expected.severe_by_hour)
    np.testing.assert_array_equal(got.accidents_by_month, expected.accidents_by_month)
    np.testing.assert_array_equal(got.severe_by_month, expected.severe_by_month)
    assert got.unknown_time == expected.unknown_time


@pytest.mark.parametrize(("accident_filter", "where", "params"), [
    (AccidentFilter(deps=("13",), years=(2018, 2020)), "dep = ? AND year BETWEEN ? AND ?", ["13", 2018, 2020]),
    (AccidentFilter(deps=("69",), years=(2005, 2020), atm=(2, 3)), "dep = ? AND atm IN (?, ?)", ["69", 2, 3]),
], ids=["Bouches-du-Rhône 2018-2020", "Rhône in the rain"])
def test_profile_of_a_department_matches_sql(facts, store_con, accident_filter, where, params) -> None:
    got = time_profile(facts, filter_mask(facts, accident_filter))
    _assert_same(got, _sql_profile(store_con, where, params))
    # Monday 0 h is the first cell, Sunday 23 h the last: the weekday is the row, the hour the column.
    assert got.accidents_by_hour[6, 23] == store_con.execute(
        f"SELECT count(*) FROM accidents WHERE h3_5 IS NOT NULL AND weekday = 6 AND hour = 23 AND {where}",
        params).fetchone()[0]


def test_profile_of_the_busiest_hexagon_matches_sql(facts, store_con) -> None:
    # The cell is chosen by SQL, its accidents counted by SQL on the store's own h3_8 column.
    cell_int = store_con.execute(
        "SELECT h3_8 FROM accidents WHERE dep = ? AND year BETWEEN ? AND ? AND h3_8 IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", ["69", 2018, 2020]).fetchone()[0]
    cell = h3.int_to_str(cell_int)
    result = hex_risk(facts, AccidentFilter(deps=("69",), years=(2018, 2020)), metric="severe_per_year",
                      resolution=8)
    mask = result.mask & cell_mask(facts, cell)
    where = "h3_8 = ? AND dep = ? AND year BETWEEN ? AND ?"
    _assert_same(time_profile(facts, mask), _sql_profile(store_con, where, [cell_int, "69", 2018, 2020]))
    com = store_con.execute(
        f"SELECT com FROM accidents WHERE {where} AND com IS NOT NULL GROUP BY com ORDER BY count(*) DESC, com LIMIT 1",
        [cell_int, "69", 2018, 2020]).fetchone()[0]
    assert main_commune(facts, mask) == places.commune_name(com)
    assert profile_title(cell, main_commune(facts, mask)) == f"Quand ? Hexagone {cell} ({places.commune_name(com)})"


def test_a_coarser_cell_holds_its_children(facts, store_con) -> None:
    cell_int = store_con.execute("SELECT h3_5 FROM accidents WHERE dep = ? AND h3_5 IS NOT NULL LIMIT 1",
                                 ["2A"]).fetchone()[0]
    expected = store_con.execute("SELECT count(*) FROM accidents WHERE h3_5 = ?", [cell_int]).fetchone()[0]
    assert int(cell_mask(facts, h3.int_to_str(cell_int)).sum()) == expected > 0


def test_the_view_of_a_zoomed_map_is_its_cells_with_all_their_accidents(facts, store_con) -> None:
    bbox = (2.22, 48.81, 2.47, 48.90)  # Paris: the cells the view touches, each with all its accidents
    accident_filter = AccidentFilter(years=(2019, 2020))
    result = hex_risk(facts, accident_filter, metric="severity_rate", resolution=7, extent=bbox)
    profile = time_profile(facts, view_mask(facts, result))
    touched = ("h3_7 IN (SELECT h3_7 FROM accidents WHERE year BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
               "AND lat BETWEEN ? AND ?) AND year BETWEEN ? AND ?")
    params = [2019, 2020, bbox[0], bbox[2], bbox[1], bbox[3], 2019, 2020]
    _assert_same(profile, _sql_profile(store_con, touched, params))
    assert profile.accidents < result.located  # the rest of France is not in the view


def test_cells_that_are_not_stored_have_no_accident(facts) -> None:
    assert not cell_mask(facts, "8a1fb4662507fff").any()  # resolution 10: the store keeps 5 to 9
    assert not cell_mask(facts, "85283473fffffff").any()  # California
    with pytest.raises(ValueError, match="not an H3 cell"):
        cell_mask(facts, "zz")


def test_the_clicked_hexagon_is_read_from_the_layer_rows() -> None:
    assert picked_cell([["871fb4662ffffff", 3, 120, 40, "8,3 %", 1, 1]]) == "871fb4662ffffff"
    assert picked_cell([]) is None and picked_cell([[123]]) is None and picked_cell([["not-a-cell"]]) is None


def test_cells_hidden_under_the_minimum_leave_the_profile(facts, store_con) -> None:
    # « Masquer sous le minimum » on a rate: the view's profile counts only the cells drawn, those with at least
    # min_count accidents (counted here by SQL on the store's h3_7 cells).
    accident_filter = AccidentFilter(deps=("48",), years=(2018, 2020))
    result = hex_risk(facts, accident_filter, metric="severity_rate", resolution=7, min_count=5)
    kept = ("h3_7 IN (SELECT h3_7 FROM accidents WHERE dep = ? AND year BETWEEN ? AND ? GROUP BY h3_7 "
            "HAVING count(*) >= ?) AND dep = ? AND year BETWEEN ? AND ?")
    shown = time_profile(facts, view_mask(facts, result, hide_masked=True))
    _assert_same(shown, _sql_profile(store_con, kept, ["48", 2018, 2020, 5, "48", 2018, 2020]))
    assert shown.accidents < time_profile(facts, view_mask(facts, result)).accidents


def test_figures_carry_the_counts_in_french(facts) -> None:
    profile = time_profile(facts, filter_mask(facts, AccidentFilter()))
    heatmap = hour_weekday_figure(profile).data[0]
    np.testing.assert_array_equal(np.asarray(heatmap.z), profile.accidents_by_hour)
    assert list(heatmap.y) == ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
    busiest = np.unravel_index(profile.accidents_by_hour.argmax(), (7, 24))
    assert heatmap.customdata[busiest] == format_count(profile.accidents_by_hour.max())
    assert "\u202f" in heatmap.customdata[busiest]  # France has thousands of accidents in its busiest hour
    severe = hour_weekday_figure(profile, severe=True).data[0]
    np.testing.assert_array_equal(np.asarray(severe.z), profile.severe_by_hour)
    months = month_figure(profile)
    assert list(months.data[0].x)[0] == "Janvier" and list(months.data[1].y) == profile.severe_by_month.tolist()
    assert list(months.data[0].text) == [format_count(v) for v in profile.accidents_by_month]
