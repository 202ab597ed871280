"""Risk map for SAMU planners: H3 hexagons of accidents and severity, by weather, light and time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import coverage, queries
from core.filters import AccidentFilter
from core.formatting import format_count, format_percent
from core.maps import deck, hexagons
from core.maps.options import MIN_COUNT_RANGE, MapOptions
from core.risk import choices, export, hotspots, texts
from core.risk.facts import HexFacts
from core.risk.hexes import hex_risk
from core.risk.loading import load_facts
from core.risk.result import HexRisk
from ui import data
from ui.filter_form import data_years, filter_form
from ui.text import warn_link
from ui.url import read_params, write_params


@st.cache_resource(show_spinner="Chargement des accidents géolocalisés…")
def _facts() -> HexFacts:
    return load_facts(data.connection())


@st.cache_resource(show_spinner=False)
def _outlines() -> dict:
    return deck.load_outlines()


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
                              outlines=_outlines(), marked=options.marked)


@st.cache_data(show_spinner=False, max_entries=32)
def _hotspots(accident_filter: AccidentFilter, options: MapOptions) -> pd.DataFrame:
    result, _ = _hex_risk(accident_filter, options)  # options.counted(): hotspots depend on nothing else
    top = hotspots.hotspots(result.scored, _facts(), result.mask, result.resolution, metric=options.metric)
    return hotspots.hotspot_table(top, metric=options.metric)


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


def _draw_hotspots(accident_filter: AccidentFilter, options: MapOptions) -> None:
    st.subheader("Points chauds")
    table = _hotspots(accident_filter, options.counted())
    if options.metric == "relative_risk":
        st.caption(texts.RELATIVE_RISK_HOTSPOTS)
    if table.empty:
        st.info(texts.no_hotspot_text(options.metric))
        return
    st.selectbox("Centrer la carte sur un point chaud", table["Hexagone"].tolist(), index=None,
                 format_func=hotspots.hotspot_names(table).get, placeholder="Choisir un point chaud",
                 key="risk_centre", on_change=_centre_on_hotspot)
    st.table(table)


def _draw_exports(scored: pd.DataFrame) -> None:
    downloads = st.columns(2)
    downloads[0].download_button("Exporter les hexagones (CSV)", lambda: export.export_csv(scored), "hexagones.csv",
                                 "text/csv", key="risk_csv", on_click="ignore")
    downloads[1].download_button("Exporter les hexagones (GeoJSON)", lambda: export.export_geojson(scored),
                                 "hexagones.geojson", "application/geo+json", key="risk_geojson", on_click="ignore")


def _read_controls(url_options: MapOptions, located_years: pd.DataFrame) -> MapOptions:
    controls = st.columns([3, 4, 2, 2, 2])
    metrics = list(choices.METRICS)
    metric_help = texts.metric_help(located_years)
    metric = controls[0].selectbox("Indicateur", metrics, index=metrics.index(url_options.metric),
                                   format_func=choices.METRICS.get, key="risk_metric", help=metric_help)
    condition = controls[1].segmented_control(
        "Conditions (pluie / sec, nuit / jour)", ["", *choices.CONDITIONS], default=url_options.condition or "",
        format_func=lambda c: choices.CONDITIONS[c].label if c else "Toutes", key="risk_condition",
    )
    # No default once the hotspot picker or the view reset has set the resolution (Streamlit warns of both).
    resolutions = [None, *choices.EDGE_KM]
    resolution = controls[2].selectbox(
        "Résolution H3", resolutions,
        index=None if "risk_resolution" in st.session_state else resolutions.index(url_options.resolution),
        format_func=lambda r: "Auto (selon l'étendue)" if r is None else f"{r} (~{choices.EDGE_KM[r]:g} km)",
        key="risk_resolution",
    )
    min_count = controls[3].number_input(
        "Minimum d'accidents", *MIN_COUNT_RANGE, url_options.min_count, key="risk_min_count",
        help="En dessous, pas de taux ni de risque relatif : l'hexagone est grisé ou masqué.",
    )
    hide_masked = controls[4].toggle("Masquer sous le minimum", url_options.hide_masked, key="risk_hide")
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
    map_column, side = st.columns([3, 1])
    with map_column:
        st.pydeck_chart(chart, height=600, key="risk_map")
        st.html(legend)
    with side:
        _draw_side(result, options, accident_filter, located_years)
    _draw_hotspots(accident_filter, options)
    _draw_exports(result.shown(hide_masked=options.hide_masked))
