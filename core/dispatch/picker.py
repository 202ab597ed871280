"""The place picker: a map where a click picks a department, then a point in it, and the commune list.

Why a module of its own
-----------------------
Operators often know roughly where the accident is but not its coordinates.
The picker is a pydeck map built as JSON (no Streamlit here): a click on a
department selects it, then a click on one of its H3 cells gives the cell
centre as the incident's coordinates. Which layers are clickable is dictated
by what Streamlit and headless Chromium can pick reliably (see
:func:`place_picker_deck`); :func:`picked_place` reads the selection back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from h3.api import basic_str as h3

from core import places
from core.maps.deck import DeckJson, outline_layer
from core.maps.towns import town_layer
from core.maps.views import view_for_bbox

if TYPE_CHECKING:
    import duckdb

DEPARTMENT_LAYER: Final = "severity_departements"
CELL_LAYER: Final = "severity_cells"
POINT_LAYER: Final = "severity_point"
MAX_PICK_CELLS: Final = 3000
_PICK_RESOLUTIONS: Final = (8, 7, 6)
_POINT_ZOOM: Final = 10.5
METROPOLITAN_VIEW: Final = (46.5, 2.5, 4.25)


_COMMUNES_SQL: Final = "SELECT DISTINCT com FROM accidents WHERE dep = ? AND com IS NOT NULL ORDER BY com"


def communes_of(con: duckdb.DuckDBPyConnection, dep: str) -> list[tuple[str, str]]:
    """(INSEE code, name) of the communes of a department that have had an accident in the store, by name.

    These are the communes whose history the model knows. A code without a
    name in the 2023 commune list (merged since) shows as its code.
    """
    cursor = con.cursor()
    try:
        codes = [row[0] for row in cursor.execute(_COMMUNES_SQL, [dep]).fetchall()]
    finally:
        cursor.close()
    named = [(code, places.commune_name(code) or f"Commune {code}") for code in codes]
    return sorted(named, key=lambda item: (item[1].casefold(), item[0]))


def department_cells(outlines: Mapping[str, Any], dep: str) -> tuple[int, list[str]]:
    """H3 cells covering a department, the finest of resolutions 8, 7, 6 with at most 3,000 cells.

    A click on a cell gives its centre as the incident's coordinates (within
    about 0.5 km at resolution 8, 1.3 km at 7).

    Returns
    -------
    resolution, cells
        Empty when the department has no outline (collectivities).

    Examples
    --------
    >>> from core.maps.deck import load_outlines
    >>> resolution, cells = department_cells(load_outlines(), "75")
    >>> resolution, len(cells) > 100
    (8, True)
    """
    feature = next((f for f in outlines["features"] if f["properties"]["code"] == dep), None)
    if feature is None:
        return 0, []
    cells: list[str] = []
    for resolution in _PICK_RESOLUTIONS:
        cells = sorted(h3.geo_to_cells(feature["geometry"], resolution))
        if len(cells) <= MAX_PICK_CELLS:
            return resolution, cells
    return _PICK_RESOLUTIONS[-1], cells


def pickable_departments(outlines: Mapping[str, Any], *, tolerance: float = 0.05) -> list[dict[str, Any]]:
    """Each department as one coarse polygon (its largest part, simplified), code and name, for clicks.

    deck.gl picks a click asynchronously; in headless Chromium (software
    WebGL) the pick of a layer of more than a few thousand vertices fails and
    Streamlit then reports no selection. About 2,200 vertices at 0.05 degree
    (5 km) pick reliably; the detailed outlines are drawn by another layer.
    """
    from shapely.geometry import shape

    rows = []
    for feature in outlines["features"]:
        geometry = shape(feature["geometry"]).simplify(tolerance, preserve_topology=True)
        parts = [geometry] if geometry.geom_type == "Polygon" else list(geometry.geoms)
        largest = max(parts, key=lambda part: part.area)
        rows.append({"polygon": [[round(x, 3), round(y, 3)] for x, y in largest.exterior.coords],
                     "code": feature["properties"]["code"], "nom": feature["properties"]["nom"]})
    return rows


def place_picker_deck(outlines: Mapping[str, Any], departments: Sequence[Mapping[str, Any]], *,
                      dep: str | None, resolution: int, cells: Sequence[str],
                      point: tuple[float, float] | None) -> DeckJson:
    """A map to pick the place: click a department, then a cell of it; the chosen point is marked.

    What is clicked are light layers (:data:`DEPARTMENT_LAYER`: coarse polygons
    from :func:`pickable_departments`; :data:`CELL_LAYER`: one disc per H3
    cell centre), under detailed outlines and hexagons that are only drawn:
    Streamlit 1.67 reports no selection for ``GeoJsonLayer`` or
    ``H3HexagonLayer`` objects, nor for heavy layers in software WebGL.
    The names of the towns in view (:func:`core.maps.towns.town_layer`) are drawn on top, not pickable.
    """
    layers: list[dict[str, Any]] = [
        {**outline_layer(outlines), "id": "severity_outlines"},
        {"@@type": "PolygonLayer", "id": DEPARTMENT_LAYER, "data": list(departments), "getPolygon": "@@=polygon",
         "pickable": True, "stroked": False, "filled": True, "getFillColor": [30, 60, 120, 12],
         "autoHighlight": True, "highlightColor": [30, 90, 200, 60]},
    ]
    if cells:
        name = places.department_name(dep) if dep else ""
        radius = h3.average_hexagon_edge_length(resolution, unit="m")
        layers += [
            {"@@type": "H3HexagonLayer", "id": "severity_cell_grid", "data": [{"cell": c} for c in cells],
             "getHexagon": "@@=cell", "pickable": False, "filled": False, "stroked": True, "extruded": False,
             "getLineColor": [30, 90, 200, 80], "lineWidthMinPixels": 0.5, "highPrecision": False},
            {"@@type": "ScatterplotLayer", "id": CELL_LAYER, "pickable": True, "getPosition": "@@=[lon, lat]",
             "data": [{"cell": c, "lat": round(lat, 5), "lon": round(lon, 5), "nom": name}
                      for c in cells for lat, lon in (h3.cell_to_latlng(c),)],
             "getRadius": round(radius), "getFillColor": [30, 90, 200, 18], "stroked": False,
             "autoHighlight": True, "highlightColor": [200, 40, 40, 140]},
        ]
    if point is not None:
        layers.append({
            "@@type": "ScatterplotLayer", "id": POINT_LAYER, "data": [{"lat": point[0], "lon": point[1]}],
            "getPosition": "@@=[lon, lat]", "getRadius": 60, "radiusMinPixels": 7, "getFillColor": [200, 30, 30, 230],
            "stroked": True, "getLineColor": [255, 255, 255], "lineWidthMinPixels": 2, "pickable": False,
        })
    if point is not None:
        view = (point[0], point[1], _POINT_ZOOM)
    elif dep and dep in places.department_bboxes():
        latitude, longitude, zoom = view_for_bbox(places.department_bboxes()[dep], width_px=480, height_px=340)
        view = (latitude, longitude, zoom - 0.3)
    else:
        view = METROPOLITAN_VIEW
    layers.append(town_layer(view, width_px=800, height_px=300))  # place names even without the CARTO basemap
    spec = {
        "initialViewState": {"latitude": round(view[0], 5), "longitude": round(view[1], 5),
                             "zoom": round(view[2], 2), "pitch": 0, "bearing": 0},
        "layers": layers, "mapProvider": "carto", "views": [{"@@type": "MapView", "controller": True}],
    }
    tooltip = {"html": "{nom}", "style": {"fontSize": "0.8em"}}
    return DeckJson(json.dumps(spec, separators=(",", ":"), ensure_ascii=False), tooltip)


@dataclass(frozen=True)
class PickedPlace:
    """What a map click chose: a department (then coordinates are reset) or a point in a cell."""

    dep: str | None = None
    point: tuple[float, float] | None = None


def picked_place(selection: Mapping[str, Any] | None) -> PickedPlace | None:
    """Read the selection state of the place picker (``st.pydeck_chart`` on_select).

    Examples
    --------
    >>> picked_place({"selection": {"objects": {"severity_departements": [{"code": "13", "nom": "x"}]}}})
    PickedPlace(dep='13', point=None)
    >>> picked_place({"selection": {"objects": {}}}) is None
    True
    """
    objects = ((selection or {}).get("selection") or {}).get("objects") or {}
    cells = objects.get(CELL_LAYER) or []
    if cells and isinstance(cells[0], Mapping) and cells[0].get("cell"):
        lat, lon = h3.cell_to_latlng(str(cells[0]["cell"]))
        return PickedPlace(point=(round(lat, 5), round(lon, 5)))
    departments = objects.get(DEPARTMENT_LAYER) or []
    if departments and isinstance(departments[0], Mapping):
        dep = places.normalise_dep(departments[0].get("code"))
        if dep:
            return PickedPlace(dep=dep)
    return None
