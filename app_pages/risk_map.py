"""Risk map for SAMU planners: H3 hexagons of accidents and severity, by weather, light and time."""

from __future__ import annotations

from dataclasses import replace

import h3
import pandas as pd
import streamlit as st

from core import coverage, maps, places, risk
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal, format_percent
from ui import data
from ui.filter_form import YEAR_RANGE, filter_form
from ui.text import warn_link

_CONDITION_OPTIONS = ["", *risk.CONDITIONS]
_METRIC_HELP = (
    f"Par an : seules comptent les années où au moins {format_percent(coverage.COVERED_SHARE, 0)} des accidents "
    "du département sont géolocalisés ; chaque accident géolocalisé y compte aussi pour ceux de même gravité "
    "et de même localisation (en ou hors agglomération) restés sans coordonnées ; la moyenne porte sur ces années. "
    f"Période par défaut {coverage.DEFAULT_YEARS[0]}–{coverage.DEFAULT_YEARS[1]} : plus de 90 % des accidents "
    "géolocalisés. Taux de gravité : part des accidents graves, lissée vers le voisinage, avec son intervalle "
    "à 95 %."
).replace(" %", "\u00a0%")


@st.cache_resource(show_spinner="Chargement des accidents géolocalisés…")
def _facts() -> risk.HexFacts:
    return risk.load_facts(data.connection())


@st.cache_resource(show_spinner=False)
def _outlines() -> dict:
    return maps.load_outlines()


def _condition(options: maps.MapOptions) -> str | None:
    """The condition in force: the relative risk compares rain when none is chosen."""
    return options.condition or ("rain" if options.metric == "relative_risk" else None)


@st.cache_data(show_spinner=False, max_entries=32)
def _hex_risk(accident_filter: AccidentFilter, options: maps.MapOptions) -> tuple[risk.HexRisk, tuple]:
    view = options.view or _fitted_view(accident_filter)
    extent = maps.bbox_for_view(view) if options.view else None
    resolution = options.resolution or risk.resolution_for_extent(maps.bbox_for_view(view))
    result = risk.hex_risk(_facts(), accident_filter, metric=options.metric, resolution=resolution,
                           condition=_condition(options), min_count=options.min_count, extent=extent,
                           con=data.connection())
    return result, view


@st.cache_data(show_spinner=False, max_entries=32)
def _deck(accident_filter: AccidentFilter, options: maps.MapOptions) -> tuple[maps.DeckJson, str]:
    result, view = _hex_risk(accident_filter, options)
    label = risk.METRICS[options.metric]
    if options.metric == "relative_risk":
        label += f" ({risk.CONDITIONS[_condition(options)].label.lower()})"
    return maps.risk_deck(result.scored, metric=options.metric, metric_label=label, min_count=options.min_count,
                          view=view, hide_masked=options.hide_masked, outlines=_outlines(), marked=options.marked)


@st.cache_data(show_spinner=False, max_entries=32)
def _hotspots(accident_filter: AccidentFilter, options: maps.MapOptions) -> pd.DataFrame:
    result, _ = _hex_risk(accident_filter, options)
    return risk.hotspots(result.scored, _facts(), result.mask, result.resolution, metric=options.metric)


def _fitted_view(accident_filter: AccidentFilter) -> tuple[float, float, float]:
    deps = accident_filter.department_codes()
    if not deps:
        return maps.FRANCE_VIEW
    boxes = [places.department_bboxes()[d] for d in deps if d in places.department_bboxes()]
    return maps.view_for_bbox((min(b[0] for b in boxes), min(b[1] for b in boxes),
                               max(b[2] for b in boxes), max(b[3] for b in boxes)))


def _options_from_url() -> tuple[maps.MapOptions, list[str]]:
    return maps.MapOptions.read_params({k: st.query_params[k] for k in maps.MapOptions.PARAMS if k in st.query_params})


def _write_options(options: maps.MapOptions) -> None:
    wanted = options.to_params()
    for key in maps.MapOptions.PARAMS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _centre_on_hotspot() -> None:
    """Callback of the hotspot picker: view on the chosen cell, at its own resolution, the cell outlined."""
    cell = st.session_state.get("risk_centre")
    if cell:
        resolution = h3.get_resolution(cell)
        st.session_state["risk_resolution"] = resolution
        _write_options(replace(_options_from_url()[0], view=maps.view_for_cell(cell), resolution=resolution,
                               marked=cell))
    st.session_state["risk_centre"] = None


def _reset_view() -> None:
    """Callback of "Vue France entière": the whole selection at the automatic resolution, no hotspot marked."""
    st.session_state["risk_resolution"] = None
    _write_options(replace(_options_from_url()[0], view=None, resolution=None, marked=None))


def _years_text(result: risk.HexRisk) -> str:
    fewest, most = result.year_span
    if most == 0:
        return coverage.NO_COUNTED_YEAR
    if fewest == most:
        return f"{most} an{'s' if most > 1 else ''}"
    return f"de {fewest} à {most} ans selon le département"


def _draw_side(result: risk.HexRisk, options: maps.MapOptions, accident_filter: AccidentFilter) -> None:
    shown = (~result.scored["masked"]).sum() if options.hide_masked else len(result.scored)
    st.metric("Hexagones affichés", format_count(int(shown)))
    st.metric("Accidents géolocalisés", format_count(result.located),
              help="Accidents de la sélection qui ont des coordonnées.")
    total = int(data.aggregate(accident_filter)["accidents"].iloc[0])
    st.caption(f"Résolution H3 {result.resolution}. {format_percent(result.located / total if total else 0)} des "
               f"accidents de la sélection sont géolocalisés. Moyennes par an : {_years_text(result)}.")
    if options.metric not in risk.YEARLY_METRICS and (accident_filter.years or YEAR_RANGE)[0] < 2016:
        st.caption("Avant 2016, les accidents géolocalisés sont bien plus souvent graves que l'ensemble des "
                   "accidents : taux de gravité et risques de ces années surestimés.")
    if result.coarsened:
        st.warning(f"Plus de {format_count(risk.MAX_HEXES)} hexagones à la résolution {result.asked_resolution} : "
                   f"carte agrégée à la résolution {result.resolution}.")
    if result.national_share is not None:
        st.caption(f"Part nationale de la condition : {format_percent(result.national_share)}.")
    if options.marked:
        st.caption(f"Point chaud choisi, entouré en magenta : {options.marked}.")
    if options.view:
        st.button("Vue France entière", key="risk_reset_view", on_click=_reset_view)


def _draw_hotspots(accident_filter: AccidentFilter, options: maps.MapOptions) -> None:
    st.subheader("Points chauds")
    hotspots = _hotspots(accident_filter, options)
    if options.metric == "relative_risk":
        st.caption("Hexagones où la condition est plus fréquente que dans la France entière, au-delà du hasard : "
                   "risque relatif au-dessus de 1 avec tout son intervalle à 95 %.")
    if hotspots.empty:
        st.info("Aucun hexagone dont l'intervalle à 95 % du risque relatif est au-dessus de 1."
                if options.metric == "relative_risk" else "Aucun hexagone au-dessus du minimum d'accidents.")
        return
    cells = risk.cell_ids(hotspots["cell"].to_numpy())
    communes = [places.commune_name(c) or (c or "–") for c in hotspots["com"]]
    digits = 3 if options.metric in ("severity_rate", "relative_risk") else 1
    table = pd.DataFrame({
        "Département": [places.department_name(d) if d else "–" for d in hotspots["dep"]],
        "Commune": communes,
        risk.METRICS[options.metric]: [format_decimal(v, digits) for v in hotspots["value"]],
        "Accidents": [format_count(v) for v in hotspots["accidents"]],
        "Graves": [format_count(v) for v in hotspots["severe"]],
        "Taux lissé (%)": [format_decimal(v * 100, 1) for v in hotspots["rate"]],
        "IC 95 % bas": [format_decimal(v * 100, 1) for v in hotspots["rate_low"]],
        "IC 95 % haut": [format_decimal(v * 100, 1) for v in hotspots["rate_high"]],
        "Hexagone": cells,
    }, index=range(1, len(hotspots) + 1))
    if options.metric == "relative_risk":
        table.insert(3, "RR IC 95 % bas", [format_decimal(v, 2) for v in hotspots["rr_low"]])
    names = {cell: f"{rank}. {commune} ({cell})"
             for rank, (commune, cell) in enumerate(zip(communes, cells, strict=True), 1)}
    st.selectbox("Centrer la carte sur un point chaud", cells, index=None, format_func=names.get,
                 placeholder="Choisir un point chaud", key="risk_centre", on_change=_centre_on_hotspot)
    st.table(table)


st.title("Carte des risques")
accident_filter = filter_form("risk", default_years=coverage.DEFAULT_YEARS)
url_options, notes = _options_from_url()
if notes:
    warn_link(notes, applied="le reste de la carte est appliqué")

controls = st.columns([3, 4, 2, 2, 2])
metric = controls[0].selectbox("Indicateur", list(risk.METRICS), index=list(risk.METRICS).index(url_options.metric),
                               format_func=risk.METRICS.get, key="risk_metric", help=_METRIC_HELP)
condition = controls[1].segmented_control(
    "Conditions (pluie / sec, nuit / jour)", _CONDITION_OPTIONS, default=url_options.condition or "",
    format_func=lambda c: risk.CONDITIONS[c].label if c else "Toutes", key="risk_condition",
)
# No default once the hotspot picker or the view reset has set the resolution (Streamlit warns of both).
resolution = controls[2].selectbox(
    "Résolution H3", [None, *risk.EDGE_KM],
    index=None if "risk_resolution" in st.session_state else [None, *risk.EDGE_KM].index(url_options.resolution),
    format_func=lambda r: "Auto (selon l'étendue)" if r is None else f"{r} (~{risk.EDGE_KM[r]:g} km)",
    key="risk_resolution",
)
min_count = controls[3].number_input(
    "Minimum d'accidents", *maps.MIN_COUNT_RANGE, url_options.min_count, key="risk_min_count",
    help="En dessous, pas de taux ni de risque relatif : l'hexagone est grisé ou masqué.",
)
hide_masked = controls[4].toggle("Masquer sous le minimum", url_options.hide_masked, key="risk_hide")
options = maps.MapOptions(metric=metric, condition=condition or None, resolution=resolution,
                          min_count=int(min_count), hide_masked=hide_masked, view=url_options.view,
                          marked=url_options.marked)
_write_options(options)
if metric == "relative_risk" and not condition:
    st.info("Risque relatif : choisissez une condition ; la pluie est utilisée par défaut.")

reason = risk.meaningless_reason(accident_filter, metric, _condition(options))
result, view = (None, None) if reason else _hex_risk(accident_filter, options)
reason = reason or risk.empty_reason(result, metric, _condition(options))
if reason:
    st.info(reason, icon=":material/info:")
else:
    deck, legend = _deck(accident_filter, options)
    map_column, side = st.columns([3, 1])
    with map_column:
        st.pydeck_chart(deck, height=600, key="risk_map")
        st.html(legend)
    with side:
        _draw_side(result, options, accident_filter)
    _draw_hotspots(accident_filter, options)
    scored = result.scored[~result.scored["masked"]] if options.hide_masked else result.scored
    downloads = st.columns(2)
    downloads[0].download_button("Exporter les hexagones (CSV)", lambda: risk.export_csv(scored), "hexagones.csv",
                                 "text/csv", key="risk_csv", on_click="ignore")
    downloads[1].download_button("Exporter les hexagones (GeoJSON)", lambda: risk.export_geojson(scored),
                                 "hexagones.geojson", "application/geo+json", key="risk_geojson", on_click="ignore")
