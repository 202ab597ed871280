"""A point's department, commune and time zone: where an eCall message's position lies.

Why a module of its own
-----------------------
An eCall message gives a point, not the department and commune the model and
the place history read. The department is the outline the point lies in
(``assets/departements.geojson``); at sea, or just outside an outline (a
simplified coast, a bridge, a border), the nearest one within
:data:`NEAR_KM`. The shipped data has no commune outlines, so the commune is
the one whose past located accidents lie nearest the point, within the
department (``assets/ref/commune-points.parquet``, built from the store by
``python -m core.place_assets --commune-points``): on 2020's accidents,
with points built from 2005-2019, that gives BAAC's own commune 84 % of
the time, and a neighbouring one otherwise. A commune without any located
accident in 2005-2020 cannot be found this way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from core import places
from core.place_checks import department_distance_km
from core.place_data import MAINLAND_TIME_ZONE, TIME_ZONES
from core.places import COMMUNE_POINTS

#: A point outside every outline is given the nearest department within this distance (km), else none.
NEAR_KM: Final = 25.0
#: Degrees around the point where a department's box must reach to be measured.
_SEARCH_DEG: Final = 0.5

#: French Polynesia spans three zones: the Marquesas (north of 11 S, 137.5-141.5 W), the Gambier (south of
#: 22 S, east of 135.5 W) and Tahiti's for the rest.
_MARQUESAS_ZONE: Final = "Pacific/Marquesas"
_GAMBIER_ZONE: Final = "Pacific/Gambier"


@dataclass(frozen=True)
class Location:
    """Where a point lies.

    Attributes
    ----------
    dep, com : str or None
        INSEE codes; None when the point is not in or near France (or, for
        ``com``, when the department has no commune points).
    method : str
        ``"inside"`` (in the department's outline), ``"nearest"`` (outside every
        outline, at ``distance_km`` from the nearest) or ``"outside"`` (beyond
        :data:`NEAR_KM` from every department).
    distance_km : float
        Distance to the department's outline (0 inside); to the nearest one when ``"outside"``.
    """

    dep: str | None
    com: str | None
    method: str
    distance_km: float


def locate(lat: float, lon: float) -> Location:
    """The department and commune of a point (decimal degrees).

    Examples
    --------
    >>> locate(48.8584, 2.2945)  # the Eiffel Tower
    Location(dep='75', com='75107', method='inside', distance_km=0.0)
    >>> at_sea = locate(43.10, 5.30)  # 10 km off Marseille
    >>> at_sea.dep, at_sea.method, 5 < at_sea.distance_km < 15
    ('13', 'nearest', True)
    >>> locate(40.0, -30.0).method  # mid-Atlantic
    'outside'
    """
    import shapely

    codes, tree = _outline_tree()
    inside = tree.query(shapely.Point(lon, lat), predicate="intersects")
    if len(inside):
        dep = codes[int(min(inside))]  # on a shared border, the first in INSEE order
        return Location(dep, nearest_commune(dep, lat, lon), "inside", 0.0)
    candidates, distances = _departments_near(lat, lon)
    if not candidates:
        return Location(None, None, "outside", math.inf)
    best = int(np.nanargmin(distances))
    dep, distance = candidates[best], float(distances[best])
    if distance > NEAR_KM:
        return Location(None, None, "outside", distance)
    return Location(dep, nearest_commune(dep, lat, lon), "nearest", distance)


@lru_cache(maxsize=1)
def _outline_tree() -> tuple[list[str], object]:
    """The department codes in INSEE order and a spatial index of their outlines (same order)."""
    import shapely

    outlines = places.department_outlines()
    codes = [dep for dep in places.department_bboxes() if dep in outlines]
    return codes, shapely.STRtree([outlines[dep] for dep in codes])


def other_department_km(dep: str, lat: float, lon: float) -> float:
    """Distance in km from a point to the nearest department other than ``dep`` (inf when none is near).

    A coast is no limit here: a point by the sea in La Réunion is far from any other department.

    Examples
    --------
    >>> 1 < other_department_km("75", 48.8566, 2.3522) < 6  # Notre-Dame: the Paris limit is close
    True
    >>> other_department_km("974", -20.88, 55.45)  # Saint-Denis, by the sea
    inf
    """
    others, distances = _departments_near(lat, lon, excluding=dep)
    return float(np.nanmin(distances)) if others else math.inf


def _departments_near(lat: float, lon: float, *, excluding: str | None = None) -> tuple[list[str], np.ndarray]:
    """The departments whose box reaches within :data:`_SEARCH_DEG` of the point, and its distance to each (km)."""
    near = [dep for dep, (min_lon, min_lat, max_lon, max_lat) in places.department_bboxes().items()
            if dep != excluding and min_lon - _SEARCH_DEG <= lon <= max_lon + _SEARCH_DEG
            and min_lat - _SEARCH_DEG <= lat <= max_lat + _SEARCH_DEG]
    if not near:
        return [], np.empty(0)
    return near, department_distance_km(np.array(near, dtype=object), np.full(len(near), lat), np.full(len(near), lon))


def nearest_commune(dep: str, lat: float, lon: float) -> str | None:
    """The commune of ``dep`` whose past located accidents lie nearest the point; None if it has none."""
    table = _commune_points().get(dep)
    if table is None:
        return None
    codes, point_lat, point_lon = table
    scale = math.cos(math.radians(lat))
    squared = (point_lat - lat) ** 2 + ((point_lon - lon) * scale) ** 2
    return str(codes[int(np.argmin(squared))])


@lru_cache(maxsize=1)
def _commune_points() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Department -> (commune codes, latitudes, longitudes) of its commune points."""
    import pyarrow.parquet as pq

    if not COMMUNE_POINTS.exists():
        raise FileNotFoundError(f"{COMMUNE_POINTS} is missing: rebuild it with "
                                "`python -m core.place_assets --commune-points` (needs the store)")
    table = pq.read_table(COMMUNE_POINTS).to_pydict()
    codes = np.array(table["com"], dtype=object)
    lat = np.array(table["lat"], dtype=np.float64)
    lon = np.array(table["lon"], dtype=np.float64)
    deps = np.array([places.commune_department(code) or "" for code in dict.fromkeys(codes.tolist())], dtype=object)
    dep_of = dict(zip(dict.fromkeys(codes.tolist()), deps.tolist(), strict=True))
    by_dep: dict[str, list[int]] = {}
    for row, code in enumerate(codes.tolist()):
        by_dep.setdefault(dep_of[code], []).append(row)
    return {dep: (codes[rows], lat[rows], lon[rows]) for dep, rows in by_dep.items() if dep}


def time_zone(dep: str | None, lat: float | None = None, lon: float | None = None) -> str:
    """The IANA time zone of a department (mainland France and Corsica: Europe/Paris).

    French Polynesia (987) spans three zones; the point, when given, chooses.

    Examples
    --------
    >>> time_zone("59"), time_zone("974"), time_zone("987", -9.8, -139.0), time_zone(None)
    ('Europe/Paris', 'Indian/Reunion', 'Pacific/Marquesas', 'Europe/Paris')
    """
    if dep == "987" and lat is not None and lon is not None:
        if lat > -11.0 and -141.5 < lon < -137.5:
            return _MARQUESAS_ZONE
        if lat < -22.0 and lon > -135.5:
            return _GAMBIER_ZONE
    return TIME_ZONES.get(dep or "", MAINLAND_TIME_ZONE)


def warm_up() -> None:
    """Read the outlines, their index and the commune points now (about a second), not on the first message."""
    locate(48.8584, 2.2945)
    _commune_points()


def clear_caches() -> None:
    """Forget the commune points read so far (after they are rebuilt)."""
    _commune_points.cache_clear()
    _outline_tree.cache_clear()
