"""What the explorer and the risk map show, as French readers read it: numbers, changes, titles, column order.

Expected figures come from plain SQL on the store's ``users`` table; expected texts are written here by hand
(French typography: decimal comma, narrow no-break space between digit groups).
"""

from __future__ import annotations

from io import StringIO

import pandas as pd
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from core import config
from core.explore.charts import hour_weekday_heatmap, month_year_heatmap
from core.explore.counts import calendar
from core.explore.periods import compare_periods, headline_metrics, yearly_table
from core.explore.table import french_numbers, table_page
from core.filters import AccidentFilter
from core.risk.choices import EDGE_KM, resolution_label
from tests.apptest import run_page

DATA_YEARS = (2005, 2020)
NNBSP = "\u202f"


def _french_count(n: int) -> str:
    """An independent writing of a French count: digit groups of three, narrow no-break spaces."""
    digits, groups = str(n), []
    while digits:
        digits, group = digits[:-3], digits[-3:]
        groups.insert(0, group)
    return NNBSP.join(groups)


def _shown(styled) -> pd.DataFrame:
    """The texts a Styler shows, cell by cell."""
    return pd.read_csv(StringIO(styled.to_string(delimiter="\t")), sep="\t", dtype=str, index_col=0)


def _yearly_from_users(con, years: tuple[int, int]) -> dict[int, tuple[int, int]]:
    """Accidents and severe accidents (someone killed or hospitalised) per year, from the people."""
    rows = con.execute("""
        SELECT acc_id // 100000000 AS year, count(DISTINCT acc_id),
               count(DISTINCT acc_id) FILTER (WHERE grav IN (2, 3))
        FROM users WHERE acc_id // 100000000 BETWEEN ? AND ? GROUP BY year""", list(years)).fetchall()
    return {int(year): (accidents, severe) for year, accidents, severe in rows}


def test_yearly_table_shows_french_numbers_and_keeps_numbers_beneath(store_con) -> None:
    comparison = compare_periods(store_con, AccidentFilter(years=(2017, 2020)), data_years=DATA_YEARS)
    table = yearly_table(comparison.by_year)
    shown = _shown(french_numbers(table)).set_index("Année")
    for year, (accidents, severe) in _yearly_from_users(store_con, (2017, 2020)).items():
        assert shown.loc[str(year), "Accidents"] == _french_count(accidents)
        assert shown.loc[str(year), "Accidents graves (%)"] == f"{100 * severe / accidents:.1f}".replace(".", ",")
    assert not shown.apply(lambda column: column.str.contains(r"\d\.\d")).any().any()
    assert table["Accidents"].dtype.kind == "i"  # a click on the header sorts by value, not as text


def test_french_numbers_writes_missing_values_as_a_dash() -> None:
    frame = pd.DataFrame({"Part (%)": [12.34, float("nan")], "Nombre": pd.array([1234567, None], "Int64")})
    shown = _shown(french_numbers(frame))
    assert shown["Part (%)"].tolist() == ["12,3", "–"]
    assert shown["Nombre"].tolist() == [f"1{NNBSP}234{NNBSP}567", "–"]


def test_not_comparable_changes_have_neither_arrow_nor_colour(store_con) -> None:
    across_break = {m.label: m for m in headline_metrics(
        compare_periods(store_con, AccidentFilter(years=(2019, 2020)), data_years=DATA_YEARS))}
    for label in ("Blessés hospitalisés", "Part d'accidents graves"):
        assert (across_break[label].delta, across_break[label].delta_color, across_break[label].delta_arrow) == (
            "non comparable (2018)", "off", "off")
    assert (across_break["Tués"].delta_color, across_break["Tués"].delta_arrow) == ("inverse", "auto")
    before_break = {m.label: m for m in headline_metrics(
        compare_periods(store_con, AccidentFilter(years=(2011, 2014)), data_years=DATA_YEARS))}
    hospitalised = before_break["Blessés hospitalisés"]
    assert hospitalised.delta.endswith("%") and hospitalised.delta_arrow == "auto"


def test_explorer_page_draws_not_comparable_in_grey_without_arrow() -> None:
    app = run_page(str(config.ROOT / "app_pages" / "explorer.py"), query={"years": "2019-2020"})
    metrics = {m.label: m.proto for m in app.metric}
    hospitalised = metrics["Blessés hospitalisés"]
    assert hospitalised.delta == "non comparable (2018)"
    assert (hospitalised.color, hospitalised.direction) == (MetricProto.GRAY, MetricProto.NONE)
    killed = metrics["Tués"]  # 2019-2020 against 2017-2018: fewer killed, a green arrow down
    assert (killed.color, killed.direction) == (MetricProto.GREEN, MetricProto.DOWN)


def test_table_puts_the_toll_right_after_the_place(store_con) -> None:
    page = table_page(store_con, AccidentFilter(deps=("48",), years=(2020, 2020)))
    assert list(page.columns)[:10] == ["Accident", "Date", "Heure", "Département", "Commune", "Tués",
                                      "Blessés hospitalisés", "Blessés légers", "Usagers", "Véhicules"]
    assert "État de la surface" in page.columns  # the filter's (and the codebook's) name of ``surf``


def test_heatmaps_have_titles_and_year_columns(store_con) -> None:
    dates = calendar(store_con, AccidentFilter(years=(2017, 2020)))
    months = month_year_heatmap(dates.by_month)
    hours = hour_weekday_heatmap(dates.by_hour)
    assert months.layout.title.text == "Accidents par mois et par année"
    assert hours.layout.title.text == "Accidents par jour de la semaine et par heure"
    assert months.layout.xaxis.type == "category"  # no half-year ticks between the years
    assert months.layout.separators == hours.layout.separators == "," + NNBSP
    assert months.data[0].colorbar.tickformat == ",d"  # 12 000, not 12k


def test_resolution_list_speaks_french() -> None:
    assert [resolution_label(r) for r in (None, *EDGE_KM)] == [
        "Auto (selon l'étendue)", "5 (arête ~8,5\u00a0km)", "6 (arête ~3,2\u00a0km)", "7 (arête ~1,2\u00a0km)",
        "8 (arête ~460\u00a0m)", "9 (arête ~170\u00a0m)",
    ]


def test_risk_map_page_offers_the_french_resolution_list() -> None:
    app = run_page(str(config.ROOT / "app_pages" / "risk_map.py"))
    options = app.selectbox(key="risk_resolution").options
    assert options[1] == "5 (arête ~8,5\u00a0km)" and len(options) == 6
    assert not any("." in option for option in options)
