"""The risk map's deck: hexagon rows, their colour and tooltip, the outlined hotspot, the legend.

Each hexagon is a short JSON row (``[id, class, accidents, severe, rate,
weather, light]``, plus the per-year value or the relative risk) read by
deck.gl expressions; weather and light travel as codes that the tooltip turns
into the official labels through a small CSS table (see :mod:`core.maps.deck`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core import codebook
from core.coverage import NO_COUNTED_YEAR
from core.formatting import format_decimal, format_percent
from core.h3cells import cell_id_array
from core.maps.deck import DATA_SLOT, DeckJson, deck_json, outline_layer, rows_json
from core.maps.legend import (
    FILL_ALPHA,
    MARKED_COLOUR,
    MASKED_COLOUR,
    class_breaks,
    classify,
    legend_entries,
    legend_html,
    palette_for,
)
from core.maps.towns import town_layer
from core.risk.choices import YEARLY_METRICS


def _label_css(prefix: str, variable: str) -> str:
    labels = {0: codebook.MISSING_LABEL, **codebook.codes_of(variable)}
    return "".join(f'.{prefix}{code}::after{{content:"{_css_string(text)}"}}' for code, text in labels.items())


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


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
        html += f"{escape(metric_label, quote=False)}, corrigé de la géolocalisation : {{7}}{note}<br>"
    html += f"Taux de gravité lissé [IC 95 %] : {{4}}{'' if yearly else note}<br>"
    if metric == "relative_risk":
        html += f"{escape(metric_label, quote=False)} [IC 95 %] : {{7}}<br>"
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


def hex_layer(colours: Sequence[tuple[int, int, int]], *, layer_id: str = "hexagones") -> dict:
    """H3HexagonLayer reading rows [id, class, ...] (the rows are put in by :func:`deck_json`)."""
    return {
        "@@type": "H3HexagonLayer",
        "id": layer_id,
        "data": DATA_SLOT,
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


@dataclass(frozen=True, eq=False)
class HexClasses:
    """The hexagons a map draws and what colours them: one answer for the screen and the printed report.

    ``shown`` are the rows drawn, ``classes`` their colour class (-1 masked: grey), ``colours`` the
    palette (one RGB per class), ``legend`` its (CSS colour, label) entries as the legend writes them,
    ``masked_label`` the grey entry's label (None when there is none).
    """

    shown: pd.DataFrame
    classes: np.ndarray
    colours: list[tuple[int, int, int]]
    legend: list[tuple[str, str]]
    masked_label: str | None


def hex_classes(scored: pd.DataFrame, *, metric: str, min_count: int, hide_masked: bool) -> HexClasses:
    """The classes, palette and legend of the hexagons of ``scored`` (:attr:`core.risk.hexes.HexRisk.scored`)."""
    shown = scored[~scored["masked"]] if hide_masked else scored
    diverging = metric == "relative_risk"
    masked = shown["masked"].to_numpy(dtype=bool)
    values = shown["value"].to_numpy(dtype=float)
    breaks, digits = class_breaks(values[~masked], diverging=diverging, scale=100 if metric == "severity_rate" else 1)
    colours = palette_for(breaks, diverging=diverging)
    if metric == "severity_rate":
        number_format = lambda v: format_percent(v, digits)  # noqa: E731
    else:
        number_format = lambda v: format_decimal(v, digits)  # noqa: E731
    masked_label = None
    if metric in YEARLY_METRICS and masked.any():
        masked_label = NO_COUNTED_YEAR
    elif metric not in YEARLY_METRICS and not hide_masked:
        masked_label = f"moins de {min_count} accidents"
    return HexClasses(shown, classify(values, breaks, masked=masked), list(colours),
                      legend_entries(breaks, colours, number_format=number_format), masked_label)


def risk_deck(scored: pd.DataFrame, *, metric: str, metric_label: str, min_count: int,
              view: tuple[float, float, float], hide_masked: bool = False, outlines: dict | None = None,
              marked: str | None = None) -> tuple[DeckJson, str]:
    """The deck (hexagons, outlines, the marked hotspot, the town names of ``view``) and its HTML legend.

    ``scored`` comes from :func:`core.risk.scoring.score_hexes` (:attr:`core.risk.hexes.HexRisk.scored`).
    """
    drawn = hex_classes(scored, metric=metric, min_count=min_count, hide_masked=hide_masked)
    shown, classes, values = drawn.shown, drawn.classes, drawn.shown["value"].to_numpy(dtype=float)
    rate_text = _texts(shown["rate"].to_numpy(dtype=float), shown["rate_low"].to_numpy(dtype=float),
                       shown["rate_high"].to_numpy(dtype=float), scale=100, digits=1, unit=" %")
    columns = [cell_id_array(shown["cell"].to_numpy()), classes, shown["accidents"].to_numpy(),
               shown["severe"].to_numpy(), rate_text, shown["atm_mode"].to_numpy(), shown["lum_mode"].to_numpy()]
    if metric in YEARLY_METRICS:
        columns.append(_per_year_texts(values))
    if metric == "relative_risk":
        columns.append(_texts(shown["rr"].to_numpy(dtype=float), shown["rr_low"].to_numpy(dtype=float),
                              shown["rr_high"].to_numpy(dtype=float), scale=1, digits=2, unit=""))
    layers = [hex_layer(drawn.colours)]
    if outlines is not None:
        layers.append(outline_layer(outlines))
    if marked:
        layers.append(marked_layer(marked))
    layers.append(town_layer(view))  # the only place names left when the CARTO basemap cannot be fetched
    tooltip = hex_tooltip(metric=metric, metric_label=metric_label, min_count=min_count)
    legend = legend_html(metric_label, drawn.legend, masked_label=drawn.masked_label,
                         marked_label="point chaud choisi" if marked else None)
    return deck_json(layers, view=view, tooltip=tooltip, hex_rows=rows_json(columns)), legend
