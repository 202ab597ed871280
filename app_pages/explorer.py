"""Explorer: filter the 2005-2020 accidents, read their trends, see them on maps, export them.

Only the open tab is computed (``st.tabs(on_change="rerun")``): the map of
individual accidents alone costs about as much as every chart together.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from core import queries
from core.accidents_table import ExplorerStoreError, check_explorer_tables
from core.codebook import HOSPITALISED_NOT_COMPARABLE
from core.explore import (
    accidents_map,
    breakdowns,
    charts,
    choropleth,
    counts,
    departments,
    export,
    periods,
    points,
    table,
)
from core.filters import AccidentFilter
from core.maps import basemap
from ui import data
from ui.compare import compare_tab
from ui.filter_form import data_years, filter_form
from ui.leaflet import leaflet_url
from ui.views import save_view_control

TABS = ("Tendances", "Calendrier", "Usagers et véhicules", "Départements", "Carte des accidents", "Tableau",
        "Export", "Comparer")


def export_file(accident_filter: AccidentFilter, file_format: str, store_years: tuple[int, int]):
    con = data.connection()
    return lambda: export.export_accidents(con, accident_filter, file_format=file_format, data_years=store_years)


st.title("Explorer les accidents")
try:
    check_explorer_tables(data.connection())
except ExplorerStoreError as error:
    st.error(str(error))
    st.stop()

accident_filter = filter_form("explorer", extended=True)
save_view_control("explorer")
store_years = data_years()

comparison = data.cached(periods.compare_periods, accident_filter, data_years=store_years)
now = comparison.current
st.caption(periods.period_caption(comparison, data_years=store_years))
for column, metric in zip(st.columns(5), periods.headline_metrics(comparison), strict=True):
    column.metric(metric.label, metric.value, metric.delta, delta_color=metric.delta_color,
                  delta_arrow=metric.delta_arrow, help=metric.help)

tabs = dict(zip(TABS, st.tabs(TABS, key="explorer_tab", on_change="rerun", bind="query-params"), strict=True))

with tabs["Tendances"]:
    if tabs["Tendances"].open:
        st.plotly_chart(charts.yearly_trend_figure(comparison.by_year), key="explorer_trend")
        st.dataframe(table.french_numbers(periods.yearly_table(comparison.by_year)), hide_index=True,
                     key="explorer_yearly")
        st.caption(f"{HOSPITALISED_NOT_COMPARABLE} La courbe est coupée à la rupture.")

with tabs["Calendrier"]:
    if tabs["Calendrier"].open:
        dates = data.cached(counts.calendar, accident_filter)
        st.plotly_chart(charts.month_year_heatmap(dates.by_month), key="explorer_month_year")
        st.plotly_chart(charts.hour_weekday_heatmap(dates.by_hour), key="explorer_hour_weekday")

with tabs["Usagers et véhicules"]:
    if tabs["Usagers et véhicules"].open:
        parts = data.cached(breakdowns.breakdowns, accident_filter)
        st.plotly_chart(charts.people_figure(parts.people), key="explorer_people")
        st.plotly_chart(charts.vehicles_figure(parts.vehicles), key="explorer_vehicles")
        st.caption("Occupants : conducteurs et passagers du véhicule (un piéton est rattaché au véhicule qui "
                   "l'a heurté et n'est pas compté ici).")

with tabs["Départements"]:
    if tabs["Départements"].open:
        metric = st.radio("Indicateur", list(choropleth.CHOROPLETH_METRICS), horizontal=True,
                          format_func=choropleth.CHOROPLETH_METRICS.get, key="explorer_choropleth_metric")
        by_dep = data.cached(counts.department_counts, accident_filter)
        st.plotly_chart(choropleth.department_choropleth(departments.department_map_frame(by_dep), metric=metric),
                        key="explorer_choropleth")
        st.dataframe(table.french_numbers(departments.department_table(by_dep)), hide_index=True,
                     key="explorer_departments")

with tabs["Carte des accidents"]:
    if tabs["Carte des accidents"].open:
        drawn = data.cached_rows(points.map_points, accident_filter)
        st.caption(points.located_caption(now, data.cached(queries.located_by_year)))
        if notice := points.sample_notice(now.located, len(drawn)):
            st.info(notice)
        accidents = accidents_map.accidents_map(drawn, leaflet_url=leaflet_url())
        st_folium(basemap.add_offline_base(accidents, outlines=data.outlines()), key="explorer_map", height=600,
                  use_container_width=True, returned_objects=[], render=False)

with tabs["Tableau"]:
    if tabs["Tableau"].open:
        page = min(int(st.number_input("Page", min_value=1, value=1, step=1, key="explorer_table_page")),
                   table.page_count(now.accidents))
        st.caption(table.page_caption(page, now.accidents))
        st.dataframe(table.french_numbers(data.cached_rows(table.table_page, accident_filter, page=page)),
                     hide_index=True, key="explorer_table")

with tabs["Export"]:
    if tabs["Export"].open:
        st.markdown(export.export_summary(now.accidents))
        if warning := export.limit_warning(now.accidents):
            st.warning(warning)
        else:
            for column, (file_format, file) in zip(st.columns(3), export.EXPORT_FILES.items(), strict=True):
                column.download_button(file.label, export_file(accident_filter, file_format, store_years),
                                       file_name=file.file_name, mime=file.mime, on_click="ignore",
                                       key=f"explorer_export_{file_format}", icon=":material/download:")

with tabs["Comparer"]:
    if tabs["Comparer"].open:
        compare_tab(accident_filter, store_years)
