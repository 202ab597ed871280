"""deck.gl JSON for the risk map: hexagon and outline layers, colour classes, legend. No Streamlit.

Why not ``pydeck.Deck(...).to_json()``: pydeck writes each hexagon as an
object with named keys, indented, sorted, and through a slow ``default``
serialiser; at 40,000 hexagons the stock ``st.pydeck_chart`` rerun took about
380 ms and several megabytes. Here each hexagon is a short JSON array
(``[id, class, accidents, severe, rate, weather, light]``, plus the relative risk), read by
deck.gl JSON expressions (``@@=this[0]``), and the spec is written compactly
once. Weather and light travel as codes: the tooltip turns them into the
official labels with a small CSS table (``.gw2::after {content: "Pluie
légère"}``), since deck.gl interpolates tooltip fields but cannot look labels
up. H3 indexes travel as hexadecimal strings: as JSON numbers they would lose
digits above 2**53.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import codebook
from core.config import ASSETS_DIR, H3_RESOLUTIONS
from core.coverage import NO_COUNTED_YEAR
from core.formatting import format_decimal, format_percent, format_quoted
from core.places import KM_PER_DEGREE
from core.risk import YEARLY_METRICS, cell_id_array

OUTLINES_FILE = ASSETS_DIR / "departements-carte.geojson"
# Perceptually uniform sequential scale (viridis, 8 classes) and a colour-blind-safe
# diverging scale centred on 1 for relative risks (ColorBrewer RdYlBu, 9 classes, blue for
# low): its middle is a pale yellow, seen on the white page, where RdBu's was white.
VIRIDIS = [(68, 1, 84), (70, 50, 127), (54, 92, 141), (39, 127, 142), (31, 161, 135), (74, 194, 109),
           (159, 218, 58), (253, 231, 37)]
DIVERGING = [(69, 117, 180), (116, 173, 209), (171, 217, 233), (224, 243, 248), (255, 255, 191),
             (254, 224, 144), (253, 174, 97), (244, 109, 67), (215, 48, 39)]
RR_BREAKS = [0.5, 0.67, 0.8, 0.91, 1.1, 1.25, 1.5, 2.0]
MASKED_COLOUR = (150, 150, 150)
# Outline of the hotspot chosen in the picker: a colour found in neither scale.
MARKED_COLOUR = (255, 0, 255)
FILL_ALPHA = 190
FRANCE_VIEW = (46.6, 2.4, 5.0)
MIN_COUNT_RANGE = (1, 1000)
ZOOM_RANGE = (3.0, 18.0)
# A hotspot is shown with about this many hexagon edges across the map.
_EDGES_AROUND_CELL = 30


@dataclass(frozen=True)
class MapOptions:
    """What the map shows besides the filter, carried in the URL with it.

    ``resolution`` None means "follow the extent"; ``view`` None means "fit
    the selected places" (all of France by default); ``marked`` is the H3
    cell outlined on the map (the hotspot chosen to centre on).

    Examples
    --------
    >>> options = MapOptions(metric="relative_risk", condition="rain", view=(48.85, 2.35, 11.0))
    >>> MapOptions.read_params(options.to_params()) == (options, [])
    True
    """

    metric: str = "severe_per_year"
    condition: str | None = None
    resolution: int | None = None
    min_count: int = 20
    hide_masked: bool = False
    view: tuple[float, float, float] | None = None
    marked: str | None = None

    PARAMS = ("metric", "cond", "res", "min", "hide", "view", "mark")

    def to_params(self) -> dict[str, str]:
        """URL parameters of the options that differ from the defaults."""
        default = MapOptions()
        out: dict[str, str] = {}
        if self.metric != default.metric:
            out["metric"] = self.metric
        if self.condition:
            out["cond"] = self.condition
        if self.resolution is not None:
            out["res"] = str(self.resolution)
        if self.min_count != default.min_count:
            out["min"] = str(self.min_count)
        if self.hide_masked:
            out["hide"] = "1"
        if self.view is not None:
            out["view"] = ",".join(f"{v:.5g}" if i == 2 else f"{v:.5f}" for i, v in enumerate(self.view))
        if self.marked:
            out["mark"] = self.marked
        return out

    @classmethod
    def read_params(cls, params: Mapping[str, str]) -> tuple[MapOptions, list[str]]:
        """Options from URL parameters, and a French note for each value set aside or brought within bounds.

        A link never fails: unknown values fall back to the defaults, numbers
        outside their range are brought back within it. The notes quote the
        link's text as it came: show them escaped.

        Examples
        --------
        >>> options, notes = MapOptions.read_params({"min": "1001", "res": "42"})
        >>> options.min_count, options.resolution
        (1000, None)
        >>> notes[0]
        'Résolution H3 : « 42 » inconnue (5 à 9), résolution automatique.'
        """
        from core.risk import CONDITIONS, METRICS

        default, notes = cls(), []
        metric = params.get("metric", default.metric)
        if metric not in METRICS:
            notes.append(f"Indicateur : {format_quoted(metric)} inconnu, « {METRICS[default.metric]} » affiché.")
            metric = default.metric
        condition = params.get("cond") or None
        if condition is not None and condition not in CONDITIONS:
            notes.append(f"Conditions : {format_quoted(condition)} inconnues, toutes conditions.")
            condition = None
        resolution = _read_resolution(params.get("res"), notes)
        min_count = _read_min_count(params.get("min"), notes)
        hide = params.get("hide", "0")
        if hide not in ("0", "1"):
            notes.append(f"Masquer sous le minimum : {format_quoted(hide)} illisible (0 ou 1), non masqué.")
        view = _read_view(params.get("view"), notes)
        marked = params.get("mark") or None
        if marked is not None and not h3.is_valid_cell(marked):
            notes.append(f"Point chaud : {format_quoted(marked)} n'est pas un hexagone H3, ignoré.")
            marked = None
        return cls(metric=metric, condition=condition, resolution=resolution, min_count=min_count,
                   hide_masked=hide == "1", view=view, marked=marked), notes


def _read_resolution(text: str | None, notes: list[str]) -> int | None:
    if text is None:
        return None
    if text.strip().isdigit() and int(text) in H3_RESOLUTIONS:
        return int(text)
    low, high = min(H3_RESOLUTIONS), max(H3_RESOLUTIONS)
    notes.append(f"Résolution H3 : {format_quoted(text)} inconnue ({low} à {high}), résolution automatique.")
    return None


def _read_min_count(text: str | None, notes: list[str]) -> int:
    default = MapOptions.min_count
    if text is None:
        return default
    low, high = MIN_COUNT_RANGE
    try:
        asked = int(text)
    except ValueError:
        notes.append(f"Minimum d'accidents : {format_quoted(text)} illisible, {default} retenu.")
        return default
    kept = min(max(asked, low), high)
    if kept != asked:
        notes.append(f"Minimum d'accidents : {format_quoted(text)} hors de {low}–{high}, ramené à {kept}.")
    return kept


def _read_view(text: str | None, notes: list[str]) -> tuple[float, float, float] | None:
    if not text:
        return None
    try:
        latitude, longitude, zoom = (float(v) for v in text.split(","))
    except ValueError:
        notes.append(f"Vue : {format_quoted(text)} illisible (latitude,longitude,zoom), vue d'ensemble.")
        return None
    low, high = ZOOM_RANGE
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180 and low <= zoom <= high):
        notes.append(f"Vue : {format_quoted(text)} hors limites (zoom de {low:g} à {high:g}), vue d'ensemble.")
        return None
    return latitude, longitude, zoom


def view_for_cell(cell: str, *, width_px: int = 1000, height_px: int = 600) -> tuple[float, float, float]:
    """(latitude, longitude, zoom) centred on an H3 cell, about 30 of its edges across: the cell and its neighbours.

    Examples
    --------
    >>> latitude, longitude, zoom = view_for_cell("851fb467fffffff")  # resolution 5, edge ~8.5 km
    >>> round(zoom, 1)
    7.7
    """
    from core.risk import EDGE_KM

    latitude, longitude = h3.cell_to_latlng(cell)
    half_km = _EDGES_AROUND_CELL * EDGE_KM[h3.get_resolution(cell)] / 2
    half_lat = half_km / KM_PER_DEGREE
    half_lon = half_lat / max(np.cos(np.radians(latitude)), 0.1)
    _, _, zoom = view_for_bbox((longitude - half_lon, latitude - half_lat, longitude + half_lon, latitude + half_lat),
                               width_px=width_px, height_px=height_px)
    return latitude, longitude, float(np.clip(zoom, *ZOOM_RANGE))


@dataclass(frozen=True)
class DeckJson:
    """A deck.gl spec already written as JSON, accepted by ``st.pydeck_chart`` in place of a ``pydeck.Deck``.

    Streamlit only calls ``to_json()`` and reads ``_tooltip``.
    """

    spec_json: str
    tooltip: dict[str, str]

    def to_json(self) -> str:
        return self.spec_json

    @property
    def _tooltip(self) -> dict[str, str]:
        return self.tooltip


def class_breaks(values: np.ndarray, *, diverging: bool = False, classes: int = len(VIRIDIS),
                 scale: float = 1.0) -> tuple[list[float], int]:
    """Upper bounds between colour classes, and the decimals to write them with (of ``value * scale``).

    Fixed around 1 when ``diverging`` (2 decimals); else quantiles, so that
    each colour holds about as many hexagons, rounded to the decimals their
    spacing needs (0.0667 apart: 2 decimals), equal bounds merged. The
    classes use the rounded bounds, so that the legend says exactly what each
    colour holds and never shows "0,1 – 0,1".

    Examples
    --------
    >>> class_breaks(np.arange(1, 101, dtype=float), classes=4)
    ([26.0, 50.0, 75.0], 0)
    >>> class_breaks(np.array([1 / 15] * 30 + [2 / 15] * 20 + [0.2] * 10 + [1.2]))
    ([0.07, 0.13, 0.2], 2)
    """
    if diverging:
        return list(RR_BREAKS), 2
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)] * scale
    if finite.size == 0:
        return [], 0
    quantiles = np.unique(np.quantile(finite, np.linspace(0, 1, classes + 1)[1:-1]))
    # The finest step to keep apart: between two bounds, or between 0 and the smallest bound.
    steps = np.append(np.diff(quantiles), np.abs(quantiles[quantiles != 0]))
    digits = int(np.clip(-np.floor(np.log10(steps.min())), 0, 3)) if steps.size else 0
    rounded = np.unique(np.round(quantiles, digits))
    return [float(b) / scale for b in rounded], digits


def classify(values: np.ndarray, breaks: Sequence[float], *, masked: np.ndarray | None = None) -> np.ndarray:
    """Colour class of each value (0 = lowest), -1 where masked or NaN.

    A value equal to a break falls in the class below it.

    Examples
    --------
    >>> classify(np.array([0.1, 1.0, 5.0, np.nan]), [1.0, 2.0]).tolist()
    [0, 0, 2, -1]
    """
    values = np.asarray(values, dtype=float)
    classes = np.searchsorted(np.asarray(breaks, dtype=float), values, side="left").astype(np.int16)
    classes[~np.isfinite(values)] = -1
    if masked is not None:
        classes[np.asarray(masked, dtype=bool)] = -1
    return classes


def palette_for(breaks: Sequence[float], *, diverging: bool = False) -> list[tuple[int, int, int]]:
    """The colours of the ``len(breaks) + 1`` classes, spread over the palette."""
    palette = DIVERGING if diverging else VIRIDIS
    count = len(breaks) + 1
    if count >= len(palette):
        return list(palette)
    picks = np.round(np.linspace(0, len(palette) - 1, count)).astype(int)
    return [palette[i] for i in picks]


def legend_entries(breaks: Sequence[float], colours: Sequence[tuple[int, int, int]],
                   *, number_format) -> list[tuple[str, str]]:
    """(CSS colour, label) per class: "≤ a", "a – b", ..., "> z"."""
    if not breaks:
        return [(_css(colours[0]), "toutes valeurs")]
    labels = [f"≤ {number_format(breaks[0])}"]
    labels += [f"{number_format(low)} – {number_format(high)}"
               for low, high in zip(breaks[:-1], breaks[1:], strict=True)]
    labels.append(f"> {number_format(breaks[-1])}")
    return [(_css(colour), label) for colour, label in zip(colours, labels, strict=True)]


def legend_html(title: str, entries: Sequence[tuple[str, str]], *, masked_label: str | None = None,
                marked_label: str | None = None) -> str:
    """A compact HTML legend: one swatch and label per class, the masked class, then the marked hotspot."""
    items = [(f"background:{colour}", label) for colour, label in entries]
    if masked_label:
        items.append((f"background:{_css(MASKED_COLOUR)}", masked_label))
    if marked_label:
        items.append((f"border:3px solid {_css(MARKED_COLOUR)};box-sizing:border-box", marked_label))
    swatches = "".join(
        f'<span style="display:inline-flex;align-items:center;margin-right:0.8em;white-space:nowrap">'
        f'<span style="width:1em;height:1em;border:1px solid #888;display:inline-block;margin-right:0.3em;'
        f'{style}"></span>{_escape(label)}</span>'
        for style, label in items
    )
    return (f'<div data-testid="risk-legend" role="figure" aria-label="Légende"><b>{_escape(title)}</b><br>'
            f'{swatches}</div>')


def rows_json(columns: Sequence[np.ndarray | Sequence]) -> str:
    """The JSON text of a list of rows, one per position, from columns of ints or strings.

    String columns must need no JSON escaping (hex ids, formatted numbers).
    Written by Arrow's string kernels: about 10x faster than ``json.dumps``
    of 40,000 small lists.

    Examples
    --------
    >>> rows_json([np.array([1, 2]), ["a", ""]])
    '[[1,"a"],[2,""]]'
    """
    if len(columns) == 0 or len(columns[0]) == 0:
        return "[]"
    parts = []
    for column in columns:
        if isinstance(column, pa.Array):
            array = column
        else:
            array = pa.array(column.tolist() if isinstance(column, np.ndarray) and column.dtype == object else column)
        if pa.types.is_string(array.type):
            parts.append(pc.binary_join_element_wise('"', array, '"', ""))
        else:
            parts.append(pc.cast(array, pa.string()))
    rows = pc.binary_join_element_wise(*parts, ",")
    whole = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows), "],[")
    return "[[" + whole[0].as_py() + "]]"


def _label_css(prefix: str, variable: str) -> str:
    labels = {0: codebook.MISSING_LABEL, **codebook.codes_of(variable)}
    return "".join(f'.{prefix}{code}::after{{content:"{_css_string(text)}"}}' for code, text in labels.items())


def hex_tooltip(*, metric: str, metric_label: str, min_count: int) -> dict[str, str]:
    """Tooltip of the hexagon layer: row fields by position, weather and light labels through CSS.

    Row fields: 2 accidents, 3 severe, 4 rate text, 5 weather, 6 light, 7
    the per-year value or the relative-risk text; 1 is the colour class, -1
    for a masked cell, whose reason follows the figure it concerns.
    """
    yearly = metric in YEARLY_METRICS
    reason = NO_COUNTED_YEAR if yearly else f"trop peu d'accidents (moins de {min_count})"
    style = (f"<style>{_label_css('gw', 'atm')}{_label_css('gl', 'lum')}"
             f'.gm-1::after{{content:" – {reason}"}}</style>')
    note = '<span class="gm{1}"></span>'
    html = f"{style}<b>{{2}}</b> accidents géolocalisés, dont <b>{{3}}</b> graves (tué ou hospitalisé)<br>"
    if yearly:
        html += f"{_escape(metric_label)}, corrigé de la géolocalisation : {{7}}{note}<br>"
    html += f"Taux de gravité lissé [IC 95 %] : {{4}}{'' if yearly else note}<br>"
    if metric == "relative_risk":
        html += f"{_escape(metric_label)} [IC 95 %] : {{7}}<br>"
    html += ("Météo la plus fréquente : <span class=\"gw{5}\"></span><br>"
             "Lumière la plus fréquente : <span class=\"gl{6}\"></span>")
    return {"html": html, "style": {"fontSize": "0.8em", "maxWidth": "24em"}}


def fill_colour_expression(colours: Sequence[tuple[int, int, int]]) -> str:
    """deck.gl JSON expression picking the class colour of a row (``this[1]``), grey for class -1.

    A chain of conditionals: deck.gl's expression evaluator cannot index an
    array literal (``[[...], [...]][this[1]]`` draws black).
    """
    grey = f"[{MASKED_COLOUR[0]},{MASKED_COLOUR[1]},{MASKED_COLOUR[2]},110]"
    rgba = [f"[{r},{g},{b},{FILL_ALPHA}]" for r, g, b in colours]
    chain = rgba[-1]
    for index in range(len(rgba) - 2, -1, -1):
        chain = f"this[1] < {index + 1} ? {rgba[index]} : {chain}"
    return f"@@=this[1] < 0 ? {grey} : {chain}"


_DATA_SLOT = "@@DATA@@"


def hex_layer(colours: Sequence[tuple[int, int, int]], *, layer_id: str = "hexagones") -> dict:
    """H3HexagonLayer reading rows [id, class, ...] (the rows are put in by :func:`deck_json`)."""
    return {
        "@@type": "H3HexagonLayer",
        "id": layer_id,
        "data": _DATA_SLOT,
        "getHexagon": "@@=this[0]",
        "getFillColor": fill_colour_expression(colours),
        "extruded": False,
        "stroked": False,
        "filled": True,
        "pickable": True,
        "highPrecision": False,
    }


def marked_layer(cell: str) -> dict:
    """The outline of one H3 cell (the hotspot centred on), drawn above everything, not pickable."""
    return {
        "@@type": "H3HexagonLayer",
        "id": "point-chaud",
        "data": [[cell]],
        "getHexagon": "@@=this[0]",
        "extruded": False,
        "filled": False,
        "stroked": True,
        "getLineColor": [*MARKED_COLOUR, 255],
        "lineWidthUnits": "pixels",
        "getLineWidth": 4,
        "lineWidthMinPixels": 4,
        "highPrecision": True,
        "pickable": False,
    }


def outline_layer(outlines: dict) -> dict:
    """Department outlines, drawn above the hexagons, not pickable."""
    return {
        "@@type": "GeoJsonLayer",
        "id": "departements",
        "data": outlines,
        "stroked": True,
        "filled": False,
        "getLineColor": [40, 40, 40, 160],
        "lineWidthMinPixels": 0.7,
        "lineWidthUnits": "pixels",
        "getLineWidth": 1,
        "pickable": False,
    }


_SERIALISED: dict[int, tuple[object, str]] = {}
_SERIALISED_MAX = 4


def _constant_json(value: object) -> str:
    """Compact JSON of a large value that never changes (the department outlines), made once per object.

    Re-serialising the 0.5 MB of outlines cost about 10 ms on every map.
    """
    hit = _SERIALISED.get(id(value))
    if hit is None or hit[0] is not value:
        hit = (value, json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False))
        if len(_SERIALISED) >= _SERIALISED_MAX:  # callers that reload the outlines must not grow this forever
            _SERIALISED.pop(next(iter(_SERIALISED)))
        _SERIALISED[id(value)] = hit
    return hit[1]


def deck_json(layers: list[dict], *, view: tuple[float, float, float], tooltip: dict[str, str],
              hex_rows: str = "[]") -> DeckJson:
    """The whole deck spec as compact JSON; the basemap is Streamlit's default (CARTO) when online.

    ``hex_rows`` (from :func:`rows_json`) becomes the data of the hexagon layer;
    GeoJSON layers' data (the outlines) are serialised once per object.
    """
    latitude, longitude, zoom = view
    slots: dict[str, str] = {}
    spec_layers = []
    for layer in layers:
        if layer.get("@@type") == "GeoJsonLayer" and isinstance(layer.get("data"), dict):
            slot = f"@@GEOJSON{len(slots)}@@"
            slots[slot] = _constant_json(layer["data"])
            layer = {**layer, "data": slot}
        spec_layers.append(layer)
    spec = {
        "initialViewState": {"latitude": round(latitude, 5), "longitude": round(longitude, 5),
                             "zoom": round(zoom, 2), "pitch": 0, "bearing": 0},
        "layers": spec_layers,
        "mapProvider": "carto",
        "views": [{"@@type": "MapView", "controller": True}],
    }
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for slot, geojson in slots.items():
        text = text.replace(f'"{slot}"', geojson, 1)
    return DeckJson(text.replace(f'"{_DATA_SLOT}"', hex_rows, 1), tooltip)


def view_for_bbox(bbox: tuple[float, float, float, float], *, width_px: int = 1000,
                  height_px: int = 600) -> tuple[float, float, float]:
    """(latitude, longitude, zoom) showing ``bbox`` in a map of about ``width_px`` x ``height_px``."""
    min_lon, min_lat, max_lon, max_lat = bbox
    lon_span = max(max_lon - min_lon, 1e-3)
    lat_span = max(_mercator(max_lat) - _mercator(min_lat), 1e-5)
    zoom_x = np.log2(width_px * 360 / (256 * lon_span))
    zoom_y = np.log2(height_px * 2 * np.pi / (256 * lat_span))
    return (min_lat + max_lat) / 2, (min_lon + max_lon) / 2, float(min(zoom_x, zoom_y) - 0.2)


def bbox_for_view(view: tuple[float, float, float], *, width_px: int = 1000,
                  height_px: int = 600) -> tuple[float, float, float, float]:
    """Approximate (min_lon, min_lat, max_lon, max_lat) seen at ``view``: the inverse of :func:`view_for_bbox`."""
    latitude, longitude, zoom = view
    zoom += 0.2
    half_lon = width_px * 360 / (256 * 2 ** zoom) / 2
    half_y = height_px * 2 * np.pi / (256 * 2 ** zoom) / 2
    centre_y = _mercator(latitude)
    return (longitude - half_lon, float(_inverse_mercator(centre_y - half_y)),
            longitude + half_lon, float(_inverse_mercator(centre_y + half_y)))


def _mercator(latitude: float) -> float:
    return float(np.log(np.tan(np.pi / 4 + np.radians(latitude) / 2)))


def _inverse_mercator(y: float) -> float:
    return float(np.degrees(2 * np.arctan(np.exp(y)) - np.pi / 2))


def load_outlines(path: Path = OUTLINES_FILE) -> dict:
    """The simplified department outlines shipped in ``assets/`` (see :func:`simplify_outlines`)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: rebuild it with `python -m core.maps`")
    return json.loads(path.read_text(encoding="utf-8"))


def simplify_outlines(source: Path, target: Path, *, tolerance: float = 0.01, digits: int = 3) -> int:
    """Write department outlines light enough to send with every map (about 1 km of detail).

    ``source`` is ``assets/departements.geojson`` (2 MB); shapes are
    simplified at ``tolerance`` degrees, coordinates rounded to ``digits``
    decimals, properties reduced to ``code`` and ``nom``. Returns the bytes written.
    """
    from shapely.geometry import mapping, shape

    collection = json.loads(Path(source).read_text(encoding="utf-8"))
    features = []
    for feature in collection["features"]:
        geometry = shape(feature["geometry"]).simplify(tolerance, preserve_topology=True)
        features.append({"type": "Feature",
                         "properties": {k: feature["properties"][k] for k in ("code", "nom")},
                         "geometry": _round(mapping(geometry), digits)})
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"),
                      ensure_ascii=False)
    Path(target).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def _round(geometry: dict, digits: int) -> dict:
    def walk(value):
        if isinstance(value, (float, int)):
            return round(float(value), digits)
        return [walk(v) for v in value]
    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _css(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    size = simplify_outlines(ASSETS_DIR / "departements.geojson", OUTLINES_FILE)
    print(f"{OUTLINES_FILE}: {size:,} bytes")


def _texts(values: np.ndarray, lows: np.ndarray | None, highs: np.ndarray | None, *, scale: float,
           digits: int, unit: str) -> list[str]:
    """French-formatted "v unit [low–high]" per row, "" where the value is NaN."""
    out = [""] * len(values)
    finite = np.flatnonzero(np.isfinite(values))
    v = np.round(values[finite] * scale, digits).tolist()
    if lows is None:
        for i, value in zip(finite.tolist(), v, strict=True):
            out[i] = f"{value:.{digits}f}{unit}".replace(".", ",")
        return out
    lo = np.round(lows[finite] * scale, digits).tolist()
    hi = np.round(highs[finite] * scale, digits).tolist()
    for i, value, low, high in zip(finite.tolist(), v, lo, hi, strict=True):
        out[i] = f"{value:.{digits}f}{unit} [{low:.{digits}f}–{high:.{digits}f}]".replace(".", ",")
    return out


def _per_year_texts(values: np.ndarray) -> pa.StringArray:
    """"12,3" per row (one decimal, "12" for 12.0), "–" where NaN; by Arrow, without a Python loop."""
    text = pc.cast(pc.round(pa.array(values, from_pandas=True), 1), pa.string())
    return pc.fill_null(pc.replace_substring(text, ".", ","), "–")


def risk_deck(scored: pd.DataFrame, *, metric: str, metric_label: str, min_count: int,
              view: tuple[float, float, float], hide_masked: bool = False, outlines: dict | None = None,
              marked: str | None = None) -> tuple[DeckJson, str]:
    """The deck (hexagons, outlines, the marked hotspot) and its HTML legend for :func:`core.risk.score_hexes`."""
    shown = scored[~scored["masked"]] if hide_masked else scored
    diverging = metric == "relative_risk"
    masked = shown["masked"].to_numpy()
    values = shown["value"].to_numpy(dtype=float)
    scale = 100 if metric == "severity_rate" else 1
    breaks, digits = class_breaks(values[~masked], diverging=diverging, scale=scale)
    colours = palette_for(breaks, diverging=diverging)
    classes = classify(values, breaks, masked=masked)
    rate_text = _texts(shown["rate"].to_numpy(dtype=float), shown["rate_low"].to_numpy(dtype=float),
                       shown["rate_high"].to_numpy(dtype=float), scale=100, digits=1, unit=" %")
    columns = [cell_id_array(shown["cell"].to_numpy()), classes, shown["accidents"].to_numpy(),
               shown["severe"].to_numpy(), rate_text, shown["atm_mode"].to_numpy(), shown["lum_mode"].to_numpy()]
    if metric in YEARLY_METRICS:
        columns.append(_per_year_texts(values))
    if diverging:
        columns.append(_texts(shown["rr"].to_numpy(dtype=float), shown["rr_low"].to_numpy(dtype=float),
                              shown["rr_high"].to_numpy(dtype=float), scale=1, digits=2, unit=""))
    layers = [hex_layer(colours)]
    if outlines is not None:
        layers.append(outline_layer(outlines))
    if marked:
        layers.append(marked_layer(marked))
    tooltip = hex_tooltip(metric=metric, metric_label=metric_label, min_count=min_count)
    if metric == "severity_rate":
        number_format = lambda v: format_percent(v, digits)  # noqa: E731
    else:
        number_format = lambda v: format_decimal(v, digits)  # noqa: E731
    masked_label = None
    if metric in YEARLY_METRICS and masked.any():
        masked_label = NO_COUNTED_YEAR
    elif metric not in YEARLY_METRICS and not hide_masked:
        masked_label = f"moins de {min_count} accidents"
    legend = legend_html(metric_label, legend_entries(breaks, colours, number_format=number_format),
                         masked_label=masked_label, marked_label="point chaud choisi" if marked else None)
    return deck_json(layers, view=view, tooltip=tooltip, hex_rows=rows_json(columns)), legend
