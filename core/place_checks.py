"""Is a point in France, how far is it from its department: the checks behind an incident's warnings.

Why a module of its own
-----------------------
:mod:`core.places` names places; these functions measure points against the
department outlines, which needs shapely and a flat projection per
department. Only the incident checks (:mod:`core.incident.flags`) use them,
so the page that only names a department never loads them.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Final

import numpy as np

from core import places
from core.places import KM_PER_DEGREE

#: A point within this many degrees of a department's box counts as "in France" (about 11 km).
FRANCE_MARGIN_DEG: Final = 0.1


def near_france(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Tell which points lie within :data:`FRANCE_MARGIN_DEG` of a department's box (overseas included).

    A coarse test (a box is wider than its department) meant to catch points
    that are nowhere near France: (0, 0), latitude and longitude swapped, a
    sign lost.

    Examples
    --------
    >>> near_france(np.array([48.85, 0.0, 2.35, -21.1]), np.array([2.35, 0.0, 48.85, 55.5])).tolist()
    [True, False, False, True]
    """
    min_lon, min_lat, max_lon, max_lat = _widened_boxes()
    lat = np.asarray(lat, dtype=np.float64)[:, None]
    lon = np.asarray(lon, dtype=np.float64)[:, None]
    return ((lon >= min_lon) & (lat >= min_lat) & (lon <= max_lon) & (lat <= max_lat)).any(axis=1)


@lru_cache(maxsize=1)
def _widened_boxes() -> np.ndarray:
    """The boxes of :func:`core.places.department_bboxes` widened by :data:`FRANCE_MARGIN_DEG`, shape (4, departments).

    Rows: min lon, min lat, max lon, max lat.
    """
    boxes = np.array(list(places.department_bboxes().values()))
    margin = FRANCE_MARGIN_DEG
    return np.array([boxes[:, 0] - margin, boxes[:, 1] - margin, boxes[:, 2] + margin, boxes[:, 3] + margin])


@cache
def _projected_outline(dep: str) -> tuple[object, float, float, float]:
    """A department's outline in km around its box centre (equirectangular), with that centre and scale."""
    import shapely

    geometry = places.department_outlines()[dep]
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    lon0, lat0 = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
    scale = math.cos(math.radians(lat0))

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - lon0) * scale * KM_PER_DEGREE, (coords[:, 1] - lat0) * KM_PER_DEGREE])

    return shapely.transform(geometry, project), lon0, lat0, scale


def department_distance_km(dep: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Distance in km from each point to its department's outline (0 inside, NaN for an unknown department).

    Points inside are found on the outlines in degrees (quick); the distance
    of the others uses a flat projection around their department, within a few
    percent over the tens of kilometres that matter here. The collectivities
    without an outline are measured to their box.

    Examples
    --------
    >>> km = department_distance_km(np.array(["75", "75", "13"]), np.array([48.8566, 50.63, 43.3]),
    ...                             np.array([2.3522, 3.06, 5.37]))
    >>> float(km[0]), 190 < float(km[1]) < 215, float(km[2])
    (0.0, True, 0.0)
    """
    import shapely

    dep = np.asarray(dep, dtype=object)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    distance = np.full(len(dep), np.nan)
    outlines = places.department_outlines()
    for code, rows in _rows_by_code(dep).items():
        if code not in outlines:
            continue
        inside = shapely.contains_xy(outlines[code], lon[rows], lat[rows])
        distance[rows] = 0.0
        if inside.all():
            continue
        away = rows[~inside]
        geometry, lon0, lat0, scale = _projected_outline(code)
        x = (lon[away] - lon0) * scale * KM_PER_DEGREE
        y = (lat[away] - lat0) * KM_PER_DEGREE
        distance[away] = shapely.distance(geometry, shapely.points(x, y))
    return distance


def _rows_by_code(codes: np.ndarray) -> dict[object, np.ndarray]:
    """The rows of each distinct code, in increasing order (one pass, no sort of the codes)."""
    rows: dict[object, list[int]] = {}
    for row, code in enumerate(codes.tolist()):
        rows.setdefault(code, []).append(row)
    return {code: np.array(found, dtype=np.intp) for code, found in rows.items()}


def clear_caches() -> None:
    """Forget the boxes and projected outlines read so far (after the reference files are rebuilt)."""
    _widened_boxes.cache_clear()
    _projected_outline.cache_clear()
