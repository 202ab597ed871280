"""What a risk map can show: metrics, conditions, H3 resolutions, and the resolution an extent calls for.

A leaf of constants and small pure functions (the resolution an extent calls
for, a resolution's name in the list), so that the map's options and drawing
(:mod:`core.maps`) can name the metrics and conditions without loading the
scoring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.config import H3_RESOLUTIONS
from core.formatting import format_count, format_decimal
from core.places import KM_PER_DEGREE

MIN_RESOLUTION, MAX_RESOLUTION = min(H3_RESOLUTIONS), max(H3_RESOLUTIONS)
#: Most hexagons a map draws: the resolution is lowered until the selection fits.
MAX_HEXES = 50_000
#: Average H3 hexagon edge length in km per resolution (H3 documentation).
EDGE_KM = {5: 8.544, 6: 3.229, 7: 1.221, 8: 0.4614, 9: 0.1744}
#: How the resolution list names the automatic choice.
AUTO_RESOLUTION_LABEL = "Auto (selon l'étendue)"
# The extent is split into about this many hexagon edges across.
_EDGES_ACROSS = 120


@dataclass(frozen=True)
class Condition:
    """A circumstance whose relative risk can be mapped, or that restricts the map."""

    label: str
    column: str
    codes: tuple[int, ...]


#: Conditions offered by the map, in pairs to compare (rain vs dry, night vs day).
CONDITIONS: dict[str, Condition] = {
    "rain": Condition("Pluie", "atm", (2, 3)),
    "dry": Condition("Temps sec", "atm", (1, 7, 8)),
    "night": Condition("Nuit", "lum", (3, 4, 5)),
    "day": Condition("Plein jour", "lum", (1,)),
    "wet": Condition("Chaussée mouillée", "surf", (2, 3, 4)),
}

METRICS = {
    "accidents_per_year": "Accidents par an",
    "severe_per_year": "Accidents graves par an",
    "severity_rate": "Taux de gravité (lissé)",
    "relative_risk": "Risque relatif de la condition",
}
#: Metrics averaged per year (:mod:`core.coverage`), the others being shares among a cell's accidents.
YEARLY_METRICS = ("accidents_per_year", "severe_per_year")


def resolution_for_extent(bbox: tuple[float, float, float, float]) -> int:
    """H3 resolution whose hexagons split the extent's width into about 120 edges.

    All of metropolitan France gives 5, a department 7, a city 9.

    Examples
    --------
    >>> resolution_for_extent((-5.2, 42.3, 8.3, 51.1))   # metropolitan France
    5
    >>> resolution_for_extent((2.22, 48.81, 2.47, 48.90))  # Paris
    9
    """
    min_lon, min_lat, max_lon, max_lat = bbox
    mid_lat = math.radians((min_lat + max_lat) / 2)
    width_km = max(abs(max_lon - min_lon) * KM_PER_DEGREE * math.cos(mid_lat),
                   abs(max_lat - min_lat) * KM_PER_DEGREE, 1e-3)
    target = width_km / _EDGES_ACROSS
    return min(EDGE_KM, key=lambda r: abs(math.log(EDGE_KM[r] / target)))


def edge_text(km: float) -> str:
    """A hexagon edge as users read it: ``'3,2 km'`` from 1 km up, metres rounded to ten below.

    Examples
    --------
    >>> edge_text(3.229), edge_text(0.4614), edge_text(0.1744)
    ('3,2\xa0km', '460\xa0m', '170\xa0m')
    """
    if km >= 1:
        return f"{format_decimal(km)}\u00a0km"
    return f"{format_count(round(km * 100) * 10)}\u00a0m"


def resolution_label(resolution: int | None) -> str:
    """A resolution of the map's list, with its average hexagon edge; None is the automatic choice.

    Examples
    --------
    >>> resolution_label(6), resolution_label(None)
    ('6 (arête ~3,2\xa0km)', "Auto (selon l'étendue)")
    """
    if resolution is None:
        return AUTO_RESOLUTION_LABEL
    return f"{resolution} (arête ~{edge_text(EDGE_KM[resolution])})"
