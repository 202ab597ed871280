"""Department outlines and the department counts as users read them (map frame, table).

The counts come from :func:`core.explore.counts.department_counts`; this
module only joins them to the outlines shipped in ``assets/`` and to the
department names, so the charts can import it without the store's queries.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from core import places

if TYPE_CHECKING:  # geopandas is imported on first use
    import geopandas as gpd

#: Simplification of the department outlines drawn by the choropleth, in degrees (~2 km).
CHOROPLETH_TOLERANCE = 0.02
OVERSEAS_PREFIXES = ("97", "98")


@lru_cache(maxsize=1)
def department_shapes() -> gpd.GeoDataFrame:
    """Department outlines of ``assets/``, simplified for drawing (code, nom, geometry).

    Simplified at :data:`CHOROPLETH_TOLERANCE` and snapped to a 0.001° grid:
    invisible at the scale of France and five times lighter to send on every
    rerun.
    """
    import geopandas as gpd
    import shapely

    shapes = gpd.read_file(places.DEPARTMENTS_GEOJSON)
    simplified = shapes.geometry.simplify(CHOROPLETH_TOLERANCE, preserve_topology=True)
    shapes["geometry"] = shapely.set_precision(simplified.values, 0.001)
    return shapes[["code", "nom", "geometry"]]


def is_overseas(dep: str) -> bool:
    """True for the overseas departments and collectivities (INSEE codes 97x and 98x).

    Examples
    --------
    >>> is_overseas("974"), is_overseas("2A")
    (True, False)
    """
    return str(dep).startswith(OVERSEAS_PREFIXES)


@lru_cache(maxsize=1)
def department_geojson() -> dict:
    """Metropolitan outlines as a GeoJSON mapping, each feature keyed by ``properties.code``.

    Overseas departments are left out: drawn on the same map they would
    shrink metropolitan France to a dot.
    """
    shapes = department_shapes()
    metropolitan = shapes[~shapes["code"].map(is_overseas)]
    return json.loads(metropolitan[["code", "geometry"]].to_json())


def department_map_frame(by_dep: pd.DataFrame) -> gpd.GeoDataFrame:
    """Every department outline with its counts (zeros where no accident matches) and severe share.

    Parameters
    ----------
    by_dep
        :func:`core.explore.counts.department_counts`.
    """
    counts = by_dep.set_index("dep")
    shapes = department_shapes().copy()
    for column in ("accidents", "severe_accidents", "killed", "hospitalised", "light"):
        shapes[column] = shapes["code"].map(counts[column]).fillna(0).astype("int64")
    accidents = shapes["accidents"].where(shapes["accidents"] > 0)
    shapes["severe_share"] = shapes["severe_accidents"] / accidents
    return shapes


def department_table(by_dep: pd.DataFrame) -> pd.DataFrame:
    """Counts by department with names, most accidents first (overseas included)."""
    table = pd.DataFrame({
        "Département": [f"{code} – {places.department_name(code)}" for code in by_dep["dep"]],
        "Accidents": by_dep["accidents"],
        "Tués": by_dep["killed"],
        "Blessés hospitalisés": by_dep["hospitalised"],
        "Blessés légers": by_dep["light"],
    })
    return table.sort_values("Accidents", ascending=False, kind="stable").reset_index(drop=True)
