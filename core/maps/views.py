"""Map views: the (latitude, longitude, zoom) that shows a box, a cell or departments, and the box a view shows.

Web Mercator arithmetic for deck.gl's zoom (the world is 512 pixels wide at
zoom 0; Leaflet's 256-pixel tiles put the same scale one zoom higher) on a map
of about 760 x 600 pixels (the risk map's column in a 1,400-pixel window), enough
to fit the selected places, to centre on a hotspot and to know which cells a
zoomed view shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import h3
import numpy as np

from core import places
from core.places import KM_PER_DEGREE
from core.risk.choices import EDGE_KM

#: (latitude, longitude, zoom) of a map.
View = tuple[float, float, float]
#: (min_lon, min_lat, max_lon, max_lat) of a box.
BBox = tuple[float, float, float, float]
#: The whole of metropolitan France.
FRANCE_VIEW = (46.2, 2.2, 4.7)  # view_for_bbox of metropolitan France with Corsica, rounded
ZOOM_RANGE = (3.0, 18.0)
#: Width of the world in pixels at zoom 0, for deck.gl (Leaflet: 256).
WORLD_PX = 512
#: The map's size in pixels when nothing else is said (the risk map in a 1,400-pixel window).
MAP_PX = (760, 600)
# A hotspot is shown with about this many hexagon edges across the map.
_EDGES_AROUND_CELL = 30


def view_for_bbox(bbox: BBox, *, width_px: int = MAP_PX[0],
                  height_px: int = MAP_PX[1]) -> View:
    """(latitude, longitude, zoom) showing ``bbox`` in a map of about ``width_px`` x ``height_px``."""
    min_lon, min_lat, max_lon, max_lat = bbox
    lon_span = max(max_lon - min_lon, 1e-3)
    lat_span = max(_mercator(max_lat) - _mercator(min_lat), 1e-5)
    zoom_x = np.log2(width_px * 360 / (WORLD_PX * lon_span))
    zoom_y = np.log2(height_px * 2 * np.pi / (WORLD_PX * lat_span))
    return (min_lat + max_lat) / 2, (min_lon + max_lon) / 2, float(min(zoom_x, zoom_y) - 0.2)


def bbox_for_view(view: View, *, width_px: int = MAP_PX[0],
                  height_px: int = MAP_PX[1]) -> BBox:
    """Approximate (min_lon, min_lat, max_lon, max_lat) seen at ``view``: the inverse of :func:`view_for_bbox`."""
    latitude, longitude, zoom = view
    zoom += 0.2
    half_lon = width_px * 360 / (WORLD_PX * 2 ** zoom) / 2
    half_y = height_px * 2 * np.pi / (WORLD_PX * 2 ** zoom) / 2
    centre_y = _mercator(latitude)
    return (longitude - half_lon, float(_inverse_mercator(centre_y - half_y)),
            longitude + half_lon, float(_inverse_mercator(centre_y + half_y)))


def view_for_cell(cell: str, *, width_px: int = MAP_PX[0], height_px: int = MAP_PX[1]) -> View:
    """(latitude, longitude, zoom) centred on an H3 cell, about 30 of its edges across: the cell and its neighbours.

    Examples
    --------
    >>> latitude, longitude, zoom = view_for_cell("851fb467fffffff")  # resolution 5, edge ~8.5 km
    >>> round(zoom, 1)
    6.7
    """
    latitude, longitude = h3.cell_to_latlng(cell)
    half_km = _EDGES_AROUND_CELL * EDGE_KM[h3.get_resolution(cell)] / 2
    half_lat = half_km / KM_PER_DEGREE
    half_lon = half_lat / max(np.cos(np.radians(latitude)), 0.1)
    _, _, zoom = view_for_bbox((longitude - half_lon, latitude - half_lat, longitude + half_lon, latitude + half_lat),
                               width_px=width_px, height_px=height_px)
    return latitude, longitude, float(np.clip(zoom, *ZOOM_RANGE))


def _mercator(latitude: float) -> float:
    return float(np.log(np.tan(np.pi / 4 + np.radians(latitude) / 2)))


def _inverse_mercator(y: float) -> float:
    return float(np.degrees(2 * np.arctan(np.exp(y)) - np.pi / 2))


def view_for_departments(deps: Sequence[str]) -> View:
    """(latitude, longitude, zoom) showing the departments ``deps`` together; all of France when none is known.

    Examples
    --------
    >>> latitude, longitude, zoom = view_for_departments(["75"])
    >>> round(latitude, 2), round(longitude, 2), round(zoom, 1)
    (48.86, 2.35, 10.9)
    >>> view_for_departments([]) == FRANCE_VIEW
    True
    """
    bboxes = places.department_bboxes()
    boxes = [bboxes[d] for d in deps if d in bboxes]
    if not boxes:
        return FRANCE_VIEW
    return view_for_bbox((min(b[0] for b in boxes), min(b[1] for b in boxes),
                          max(b[2] for b in boxes), max(b[3] for b in boxes)))
