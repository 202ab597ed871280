"""deck.gl specs written as JSON once, drawn by ``st.pydeck_chart``; the department outlines under every map.

Offline the CARTO basemap does not load; the outlines and the town names of
:mod:`core.maps.towns` (a small text layer chosen for the view) still tell a
planner where the map is.

Why not ``pydeck.Deck(...).to_json()``: pydeck writes each hexagon as an
object with named keys, indented, sorted, and through a slow ``default``
serialiser; at 40,000 hexagons the stock ``st.pydeck_chart`` rerun took about
380 ms and several megabytes. Here each hexagon is a short JSON array
(``[id, class, accidents, severe, rate, weather, light]``, plus the relative risk), read by
deck.gl JSON expressions (``@@=this[0]``), and the spec is written compactly
once. Weather and light travel as codes: the tooltip (:mod:`core.maps.hexagons`) turns them into the
official labels with a small CSS table (``.gw2::after {content: "Pluie
légère"}``), since deck.gl interpolates tooltip fields but cannot look labels
up. H3 indexes travel as hexadecimal strings: as JSON numbers they would lose
digits above 2**53.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pydeck

from core.config import ASSETS_DIR

OUTLINES_FILE = ASSETS_DIR / "departements-carte.geojson"
#: Placeholder for a layer's data in a spec, replaced by the rows' JSON text (:func:`deck_json`).
DATA_SLOT = "@@DATA@@"


class DeckJson(pydeck.Deck):
    """A deck.gl spec already written as JSON, drawn by ``st.pydeck_chart`` like any ``pydeck.Deck``.

    ``st.pydeck_chart`` takes a ``pydeck.Deck``: it sends ``to_json()`` as the
    spec and shows the tooltip the deck was built with (pydeck's ``tooltip``
    argument). This deck is built with that argument and its ``to_json``
    returns ``spec_json``, written by :func:`deck_json` or another builder, so
    that pydeck's serialiser never walks the rows.

    Examples
    --------
    >>> deck = DeckJson('{"layers":[]}', {"html": "{nom}"})
    >>> deck.to_json(), isinstance(deck, pydeck.Deck)
    ('{"layers":[]}', True)
    """

    def __init__(self, spec_json: str, tooltip: dict[str, object]) -> None:
        super().__init__(tooltip=tooltip)
        self.spec_json = spec_json

    def to_json(self) -> str:
        """The spec as written, the rows included."""
        return self.spec_json


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


def constant_json(value: object) -> str:
    """Compact JSON of a large value that never changes (the department outlines), made once per object.

    Re-serialising the 0.5 MB of outlines cost about 10 ms on every map (deck.gl's and Leaflet's, see
    :mod:`core.maps.basemap`).
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
            slots[slot] = constant_json(layer["data"])
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
    return DeckJson(text.replace(f'"{DATA_SLOT}"', hex_rows, 1), tooltip)


def load_outlines(path: Path = OUTLINES_FILE) -> dict:
    """The simplified department outlines shipped in ``assets/`` (see :func:`core.maps.outlines.simplify_outlines`)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: rebuild it with `python -m core.maps.outlines`")
    return json.loads(path.read_text(encoding="utf-8"))
