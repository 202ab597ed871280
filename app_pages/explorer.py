"""Explorer: filter the 2005-2020 accidents, read their trends, see them on maps, export them.

Only the open tab is computed (``st.tabs(on_change="rerun")``): the map of
individual accidents alone costs about as much as every chart together.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from core import explore, explore_charts
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal, format_percent
from ui import data
from ui.filter_form import filter_form

TABS = ("Tendances", "Calendrier", "Usagers et véhicules", "Départements", "Carte des accidents", "Tableau",
        "Export")


@st.cache_data(show_spinner=False, max_entries=64)
def comparison(accident_filter: AccidentFilter, data_years: tuple[int, int]) -> explore.PeriodComparison:
    return explore.compare_periods(data.connection(), accident_filter, data_years=data_years)


@st.cache_data(show_spinner=False, max_entries=64)
def calendar(accident_filter: AccidentFilter) -> explore.Calendar:
    return explore.calendar(data.connection(), accident_filter)


@st.cache_data(show_spinner=False, max_entries=64)
def department_counts(accident_filter: AccidentFilter):
    return explore.department_counts(data.connection(), accident_filter)


@st.cache_data(show_spinner=False, max_entries=64)
def breakdowns(accident_filter: AccidentFilter) -> explore.Breakdowns:
    return explore.breakdowns(data.connection(), accident_filter)


@st.cache_data(show_spinner=False, max_entries=16)
def map_points(accident_filter: AccidentFilter):
    return explore.map_points(data.connection(), accident_filter)


@st.cache_data(show_spinner=False, max_entries=64)
def table_page(accident_filter: AccidentFilter, page: int):
    return explore.table_page(data.connection(), accident_filter, page=page)


def change(current: float | None, previous: float | None, *, comparable: bool = True) -> str | None:
    """Relative change as ``'+4,2 %'``; None without a previous period."""
    if not comparable:
        return "non comparable (2018)"
    ratio = explore.relative_change(current, previous)
    return None if ratio is None else ("+" if ratio > 0 else "") + format_percent(ratio)


def share_change(current: float | None, previous: float | None, *, comparable: bool) -> str | None:
    """Change of a share in percentage points, as ``'-1,3 pt'``."""
    if not comparable:
        return "non comparable (2018)"
    if current is None or previous is None:
        return None
    points = (current - previous) * 100
    return ("+" if points > 0 else "") + format_decimal(points) + "\u00a0pt"


def export_file(accident_filter: AccidentFilter, file_format: str):
    con = data.connection()
    return lambda: explore.export_accidents(con, accident_filter, file_format=file_format)


st.title("Explorer les accidents")
try:
    explore.check_explorer_tables(data.connection())
except explore.ExplorerStoreError as error:
    st.error(str(error))
    st.stop()

accident_filter = filter_form("explorer", extended=True)
summary = data.store_summary()
data_years = (summary["first_year"], summary["last_year"])

periods = comparison(accident_filter, data_years)
now, before = periods.current, periods.previous
period_text = f"{periods.years[0]}–{periods.years[1]}"
if before is None:
    st.caption(f"Période {period_text}. Pas de comparaison : la période précédente de même durée sort des "
               f"données ({data_years[0]}–{data_years[1]}).")
else:
    st.caption(f"Période {period_text}, comparée à {periods.previous_years[0]}–{periods.previous_years[1]}.")
hosp_ok = periods.hospitalisation_comparable or before is None
cols = st.columns(5)
cols[0].metric("Accidents", format_count(now.accidents), change(now.accidents, before and before.accidents),
               delta_color="inverse")
cols[1].metric("Tués", format_count(now.killed), change(now.killed, before and before.killed), delta_color="inverse")
cols[2].metric("Blessés hospitalisés", format_count(now.hospitalised),
               change(now.hospitalised, before and before.hospitalised, comparable=hosp_ok), delta_color="inverse",
               help="Définition changée en 2018 : pas de comparaison de part et d'autre.")
cols[3].metric("Blessés légers", format_count(now.light), change(now.light, before and before.light),
               delta_color="inverse")
cols[4].metric("Part d'accidents graves", format_percent(now.severe_share),
               share_change(now.severe_share, before and before.severe_share, comparable=hosp_ok),
               delta_color="inverse",
               help="Accidents avec au moins un tué ou un blessé hospitalisé.")

tabs = dict(zip(TABS, st.tabs(TABS, key="explorer_tab", on_change="rerun"), strict=True))

with tabs["Tendances"]:
    if tabs["Tendances"].open:
        by_year = periods.by_year
        st.plotly_chart(explore_charts.yearly_trend_figure(by_year), key="explorer_trend")
        st.dataframe(explore.yearly_table(by_year), hide_index=True, key="explorer_yearly")
        st.caption(f"« Blessé hospitalisé » n'est pas comparable avant et après {explore.HOSPITALISATION_BREAK_YEAR} "
                   "(changement de définition par l'ONISR) : la courbe est coupée à la rupture.")

with tabs["Calendrier"]:
    if tabs["Calendrier"].open:
        dates = calendar(accident_filter)
        st.plotly_chart(explore_charts.month_year_heatmap(dates.by_month), key="explorer_month_year")
        st.plotly_chart(explore_charts.hour_weekday_heatmap(dates.by_hour), key="explorer_hour_weekday")

with tabs["Usagers et véhicules"]:
    if tabs["Usagers et véhicules"].open:
        parts = breakdowns(accident_filter)
        st.plotly_chart(explore_charts.people_figure(parts.people), key="explorer_people")
        st.plotly_chart(explore_charts.vehicles_figure(parts.vehicles), key="explorer_vehicles")
        st.caption("Occupants : conducteurs et passagers du véhicule (un piéton est rattaché au véhicule qui "
                   "l'a heurté et n'est pas compté ici).")

with tabs["Départements"]:
    if tabs["Départements"].open:
        metric = st.radio("Indicateur", list(explore_charts.CHOROPLETH_METRICS), horizontal=True,
                          format_func=explore_charts.CHOROPLETH_METRICS.get, key="explorer_choropleth_metric")
        by_dep = department_counts(accident_filter)
        st.plotly_chart(explore_charts.department_choropleth(explore.department_map_frame(by_dep), metric=metric),
                        key="explorer_choropleth")
        st.dataframe(explore.department_table(by_dep), hide_index=True, key="explorer_departments")

with tabs["Carte des accidents"]:
    if tabs["Carte des accidents"].open:
        points = map_points(accident_filter)
        st.caption(
            f"{format_count(now.located)} accidents localisés sur {format_count(now.accidents)} "
            "(aucune coordonnée en 2009, une minorité avant 2016)."
        )
        if now.located > len(points):
            st.info(f"{format_count(now.located)} accidents localisés correspondent : {format_count(len(points))} "
                    "sont dessinés (échantillon fixe). Affinez les filtres pour les voir tous.")
        st_folium(explore_charts.accidents_map(points), key="explorer_map", height=600, use_container_width=True,
                  returned_objects=[], render=False)

with tabs["Tableau"]:
    if tabs["Tableau"].open:
        pages = max(1, -(-now.accidents // explore.PAGE_SIZE))
        page = min(int(st.number_input("Page", min_value=1, value=1, step=1, key="explorer_table_page")), pages)
        st.caption(f"Page {page} sur {format_count(pages)} — {format_count(now.accidents)} accidents, "
                   "les plus récents d'abord.")
        st.dataframe(table_page(accident_filter, page), hide_index=True, key="explorer_table")

with tabs["Export"]:
    if tabs["Export"].open:
        st.write(f"{format_count(now.accidents)} accidents, avec leurs usagers et leurs véhicules (codes BAAC). "
                 "Une ligne par accident ; dans le CSV (séparateur « ; »), usagers et véhicules sont en JSON.")
        if now.accidents > explore.EXPORT_LIMIT:
            st.warning(f"L'export est limité à {format_count(explore.EXPORT_LIMIT)} accidents : affinez les filtres. "
                       "Les fichiers complets sont publiés sur data.gouv.fr (BAAC).")
        else:
            cols = st.columns(2)
            cols[0].download_button("Télécharger (CSV)", export_file(accident_filter, "csv"),
                                    file_name="accidents.csv", mime="text/csv", on_click="ignore",
                                    key="explorer_export_csv", icon=":material/download:")
            cols[1].download_button("Télécharger (Parquet)", export_file(accident_filter, "parquet"),
                                    file_name="accidents.parquet", mime="application/vnd.apache.parquet",
                                    on_click="ignore", key="explorer_export_parquet", icon=":material/download:")
