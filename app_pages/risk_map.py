"""Risk map for SAMU planners: H3 hexagons of accidents and severity, by weather, light and time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pandas as pd
import streamlit as st

from core import coverage, queries
from core.filters import AccidentFilter
from core.formatting import format_count, format_percent
from core.maps import deck, hexagons
from core.maps.options import MIN_COUNT_RANGE, MapOptions
from core.place_data import FRENCH_TIME
from core.report.content import ReportContent, store_date
from core.report.map_image import screen_towns
from core.report.pdf import report_pdf
from core.risk import choices, export, hotspots, profile_charts, texts
from core.risk.facts import HexFacts
from core.risk.hexes import hex_risk
from core.risk.loading import load_facts
from core.risk.profile import (
    TimeProfile,
    area_profile,
    picked_cell,
    profile_caption,
    profile_title,
    restricting_condition,
)
from core.risk.result import HexRisk
from ui import data
from ui.filter_form import data_years, filter_form
from ui.text import warn_link
from ui.url import read_params, write_params
from ui.views import save_view_control


@st.cache_resource(show_spinner="Chargement des accidents géolocalisés…")
def _facts() -> HexFacts:
    return load_facts(data.connection())


@st.cache_data(show_spinner=False, max_entries=32)
def _hex_risk(accident_filter: AccidentFilter, options: MapOptions) -> tuple[HexRisk, tuple[float, float, float]]:
    """The counted and scored hexagons, and the view; ``options`` are :meth:`MapOptions.counted` ones."""
    view, extent, resolution = options.framing(accident_filter.department_codes())
    result = hex_risk(_facts(), accident_filter, metric=options.metric, resolution=resolution,
                      condition=options.condition_in_force, min_count=options.min_count, extent=extent,
                      con=data.connection())
    return result, view


@st.cache_data(show_spinner=False, max_entries=32)
def _deck(accident_filter: AccidentFilter, options: MapOptions) -> tuple[deck.DeckJson, str]:
    result, view = _hex_risk(accident_filter, options.counted())
    return hexagons.risk_deck(result.scored, metric=options.metric, metric_label=options.metric_label,
                              min_count=options.min_count, view=view, hide_masked=options.hide_masked,
                              outlines=data.outlines(), marked=options.marked)


@st.cache_data(show_spinner=False, max_entries=32)
def _hotspots(accident_filter: AccidentFilter, options: MapOptions) -> pd.DataFrame:
    result, _ = _hex_risk(accident_filter, options)  # options.counted(): hotspots depend on nothing else
    top = hotspots.hotspots(result.scored, _facts(), result.mask, result.resolution, metric=options.metric)
    return hotspots.hotspot_table(top, metric=options.metric)


@st.cache_data(show_spinner=False, max_entries=64)
def _profile(accident_filter: AccidentFilter, options: MapOptions, cell: str | None) -> tuple[TimeProfile, str | None]:
    """The time profile of the map's accidents in ``cell`` (None: in the cells shown) and the cell's main commune."""
    result, _ = _hex_risk(accident_filter, options.counted())
    return area_profile(_facts(), result, cell, hide_masked=options.hide_masked)


def _map_key(shown: pd.DataFrame) -> str:
    """The map's widget key, the same as long as the same cells are drawn in the same rows.

    Streamlit keeps a clicked row's index when the map's data change, and
    would then read it against the new rows: another hexagon. Keyed by its
    cells, a map with other cells is a new chart, with no click; one with the
    same cells (another metric) keeps the click and the user's zoom.
    « Toute la vue » bumps the generation to let the click go.
    """
    digest = hashlib.blake2b(shown["cell"].to_numpy().tobytes(), digest_size=8).hexdigest()
    return f"risk_map_{digest}_{st.session_state.get('risk_map_generation', 0)}"


def _whole_view() -> None:
    """Callback of « Toute la vue »: the profile back on the whole view, the clicked hexagon and the hotspot let go."""
    st.session_state["risk_map_generation"] = st.session_state.get("risk_map_generation", 0) + 1
    options = _url_options()[0]
    if options.marked:
        _write_options(replace(options, marked=None))


def _url_options() -> tuple[MapOptions, list[str]]:
    return MapOptions.read_params(read_params(MapOptions.PARAMS))


def _write_options(options: MapOptions) -> None:
    write_params(options.to_params(), owned=MapOptions.PARAMS)


def _centre_on_hotspot() -> None:
    """Callback of the hotspot picker: view on the chosen cell, at its own resolution, the cell outlined."""
    cell = st.session_state.get("risk_centre")
    if cell:
        options = _url_options()[0].centred_on(cell)
        st.session_state["risk_resolution"] = options.resolution
        _write_options(options)
    st.session_state["risk_centre"] = None


def _reset_view() -> None:
    """Callback of "Vue France entière": the whole selection at the automatic resolution, no hotspot marked."""
    st.session_state["risk_resolution"] = None
    _write_options(_url_options()[0].whole_selection())


def _draw_side(result: HexRisk, options: MapOptions, accident_filter: AccidentFilter,
               located_years: pd.DataFrame) -> None:
    st.metric("Hexagones affichés", format_count(len(result.shown(hide_masked=options.hide_masked))))
    st.metric("Accidents géolocalisés", format_count(result.located),
              help="Accidents de la sélection qui ont des coordonnées.")
    st.caption(texts.located_caption(result, int(data.aggregate(accident_filter)["accidents"].iloc[0])))
    if note := texts.early_years_note(options.metric, (accident_filter.years or data_years())[0], located_years):
        st.caption(note)
    if warning := texts.coarsened_warning(result):
        st.warning(warning)
    if result.national_share is not None:
        st.caption(f"Part nationale de la condition : {format_percent(result.national_share)}.")
    if options.marked:
        st.caption(f"Point chaud choisi, entouré en magenta : {options.marked}.")
    if options.view:
        st.button("Vue France entière", key="risk_reset_view", on_click=_reset_view)


def _draw_profile(accident_filter: AccidentFilter, options: MapOptions, cell: str | None) -> tuple[TimeProfile, str]:
    """« Quand ? »: hour × weekday and month profiles of the view, or of ``cell``; the profile and its title."""
    profile, commune = _profile(accident_filter, replace(options.counted(), hide_masked=options.hide_masked), cell)
    title = profile_title(cell, commune)
    st.subheader(title)
    hint = "" if cell else " Cliquez un hexagone de la carte (ou choisissez un point chaud) pour le sien."
    condition = restricting_condition(options.metric, options.condition_in_force)
    st.caption(profile_caption(profile, condition=condition) + hint)
    if cell:
        st.button("Toute la vue", key="risk_whole_view", on_click=_whole_view, icon=":material/zoom_out_map:")
    columns = st.columns(2)
    columns[0].plotly_chart(profile_charts.hour_weekday_figure(profile), key="risk_profile_hours")
    columns[1].plotly_chart(profile_charts.hour_weekday_figure(profile, severe=True), key="risk_profile_severe")
    st.plotly_chart(profile_charts.month_figure(profile), key="risk_profile_months")
    return profile, title


def _draw_hotspots(accident_filter: AccidentFilter, options: MapOptions) -> pd.DataFrame:
    """The hotspot table and its picker; the table (empty when there is no hotspot)."""
    st.subheader("Points chauds")
    table = _hotspots(accident_filter, options.counted())
    if options.metric == "relative_risk":
        st.caption(texts.RELATIVE_RISK_HOTSPOTS)
    if table.empty:
        st.info(texts.no_hotspot_text(options.metric))
        return table
    st.selectbox("Centrer la carte sur un point chaud", table["Hexagone"].tolist(), index=None,
                 format_func=hotspots.hotspot_names(table).get, placeholder="Choisir un point chaud",
                 key="risk_centre", on_change=_centre_on_hotspot)
    st.table(table)
    return table


def _report_maker(accident_filter: AccidentFilter, options: MapOptions, result: HexRisk, table: pd.DataFrame,
                  profile: TimeProfile, profile_heading: str, located_years: pd.DataFrame) -> Callable[[], bytes]:
    """The PDF report of this view, made on click in a server thread: it uses only the values taken here."""
    view = options.framing(accident_filter.department_codes())[0]
    selected = int(data.aggregate(accident_filter)["accidents"].iloc[0])
    years, outlines = data_years(), data.outlines()

    def make() -> bytes:
        content = ReportContent(accident_filter, options, result, view, table, profile, profile_heading, selected,
                                located_years, years, store_date(), datetime.now(FRENCH_TIME).replace(tzinfo=None))
        return report_pdf(content, outlines=outlines, towns=screen_towns(view))

    return make


def _draw_exports(scored: pd.DataFrame) -> None:
    downloads = st.columns(2)
    downloads[0].download_button("Exporter les hexagones (CSV)", lambda: export.export_csv(scored), "hexagones.csv",
                                 "text/csv", key="risk_csv", on_click="ignore")
    downloads[1].download_button("Exporter les hexagones (GeoJSON)", lambda: export.export_geojson(scored),
                                 "hexagones.geojson", "application/geo+json", key="risk_geojson", on_click="ignore")


def _read_controls(url_options: MapOptions, located_years: pd.DataFrame) -> MapOptions:
    # Two rows: on one, the six condition buttons and the toggle's label were cut at 1,400 px.
    top = st.columns([2, 3])
    metrics = list(choices.METRICS)
    metric_help = texts.metric_help(located_years)
    metric = top[0].selectbox("Indicateur", metrics, index=metrics.index(url_options.metric),
                              format_func=choices.METRICS.get, key="risk_metric", help=metric_help)
    condition = top[1].segmented_control(
        "Conditions (pluie / sec, nuit / jour)", ["", *choices.CONDITIONS], default=url_options.condition or "",
        format_func=lambda c: choices.CONDITIONS[c].label if c else "Toutes", key="risk_condition",
    )
    bottom = st.columns([2, 2, 3], vertical_alignment="bottom")
    # No default once the hotspot picker or the view reset has set the resolution (Streamlit warns of both).
    resolutions = [None, *choices.EDGE_KM]
    resolution = bottom[0].selectbox(
        "Résolution H3", resolutions,
        index=None if "risk_resolution" in st.session_state else resolutions.index(url_options.resolution),
        format_func=choices.resolution_label, key="risk_resolution",
    )
    min_count = bottom[1].number_input(
        "Minimum d'accidents", *MIN_COUNT_RANGE, url_options.min_count, key="risk_min_count",
        help="En dessous, pas de taux ni de risque relatif : l'hexagone est grisé ou masqué.",
    )
    hide_masked = bottom[2].toggle("Masquer sous le minimum", url_options.hide_masked, key="risk_hide")
    return MapOptions(metric=metric, condition=condition or None, resolution=resolution, min_count=int(min_count),
                      hide_masked=hide_masked, view=url_options.view, marked=url_options.marked)


st.title("Carte des risques")
accident_filter = filter_form("risk", default_years=coverage.DEFAULT_YEARS)
url_options, notes = _url_options()
if notes:
    warn_link(notes, applied="le reste de la carte est appliqué")
located_years = data.cached(queries.located_by_year)
options = _read_controls(url_options, located_years)
_write_options(options)
if options.metric == "relative_risk" and not options.condition:
    st.info("Risque relatif : choisissez une condition ; la pluie est utilisée par défaut.")

reason = texts.meaningless_reason(accident_filter, options.metric, options.condition_in_force)
result = None if reason else _hex_risk(accident_filter, options.counted())[0]
reason = reason or texts.empty_reason(result, options.metric, options.condition_in_force)
if reason:
    st.info(reason, icon=":material/info:")
else:
    chart, legend = _deck(accident_filter, options)
    shown = result.shown(hide_masked=options.hide_masked)
    map_column, side = st.columns([3, 1])
    with map_column:
        clicked = st.pydeck_chart(chart, height=600, key=_map_key(shown), on_select="rerun",
                                  selection_mode="single-object")
        st.html(legend)
    with side:
        _draw_side(result, options, accident_filter, located_years)
    profiled = picked_cell(clicked.selection.objects.get("hexagones", [])) or options.marked
    profile, profile_heading = _draw_profile(accident_filter, options, profiled)
    table = _draw_hotspots(accident_filter, options)
    _draw_exports(shown)
    side.download_button(
        "Rapport PDF", _report_maker(accident_filter, options, result, table, profile, profile_heading, located_years),
        f"gravite-carte-des-risques-{datetime.now(FRENCH_TIME):%Y-%m-%d}.pdf", "application/pdf", key="risk_report",
        on_click="ignore", icon=":material/picture_as_pdf:",
        help="La vue actuelle en PDF A4 : carte et légende, filtres, options, points chauds, profil horaire, limites.",
    )
save_view_control("risk-map")
