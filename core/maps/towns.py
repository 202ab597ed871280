"""Town names for maps without tiles: the committed list ``assets/ref/towns.csv``, its zoom tiers, and the deck layer.

Why this module exists
----------------------
Offline, the maps lose their tiled basemap (CARTO under deck.gl, OpenStreetMap under Leaflet): the
department outlines still draw, but nothing says which town a hexagon or a marker is next to. The repository
holds no population figures, so the size of a town is taken from the store: its accidents 2005–2020, a proxy
that favours communes crossed by busy roads (a village on a motorway can outrank a quiet small town). Each town
is placed at the median of its commune's past located accidents (``assets/ref/commune-points.parquet``), which
sits in the busy centre rather than at the town hall. Paris, Lyon and Marseille are one town each, their
arrondissements merged. There are no commune boundaries in the data, so none are drawn.

Each town gets the first zoom (``min_zoom``, Leaflet's 256-pixel tiles) at which its label is shown: towns are
taken biggest first, become eligible by national or departmental rank (:data:`NATIONAL_RANK`,
:data:`DEPARTMENT_RANK`), and wait for the zoom at which their label no longer overlaps the label of a bigger
town. A smaller town never hides a bigger one; France (zoom 5) shows about 30 towns, a department (zoom 8–9)
its main towns, each zoom up to 11 more. ``python -m core.maps.towns`` rebuilds the file from the store.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from core.maps.views import MAP_PX, View, bbox_for_view
from core.places import COMMUNE_POINTS, COMMUNES_CSV, REF_DIR

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TOWNS_CSV: Final = REF_DIR / "towns.csv"
#: Years whose accidents rank the towns (the BAAC archive shipped with the app).
YEARS: Final = (2005, 2020)
#: Zooms of the tiers (Leaflet's): 5 shows metropolitan France in a 600-pixel-high map.
MIN_ZOOM: Final = 5
MAX_ZOOM: Final = 11
#: A town may be labelled from a zoom if it ranks within this many nationally...
NATIONAL_RANK: Final = {5: 120, 6: 150, 7: 700, 8: 1500, 9: 3000, 10: 6000, 11: 3000}
#: ... or within this many in its department (so that a rural department's towns show at its own zoom).
#: Zoom 11 only starts bigger towns: it gives a suburb squeezed against its city (Villeneuve-d'Ascq by
#: Lille) the room its long name needs, without adding a thousand villages to the file.
DEPARTMENT_RANK: Final = {5: 0, 6: 0, 7: 3, 8: 6, 9: 12, 10: 25, 11: 12}
#: Positions are written to 3 decimals (about 100 m), and rounded so before the labels are placed.
DIGITS: Final = 3
#: Label box of an 11-pixel bold font: width per character, height, and a margin on each side (pixels).
CHAR_PX: Final = 5.5
LINE_PX: Final = 12
MARGIN_PX: Final = 2
#: The whole-city code of the arrondissements of Paris, Marseille and Lyon (INSEE code ranges).
_CITY_OF_ARRONDISSEMENTS: Final = (("75101", "75120", "75056"), ("13201", "13216", "13055"),
                                   ("69381", "69389", "69123"))
#: deck.gl draws 512-pixel tiles: its zoom z shows what Leaflet shows at z + 1.
DECK_ZOOM_OFFSET: Final = 1


class Town(NamedTuple):
    """One labelled town of ``assets/ref/towns.csv``."""

    com: str
    name: str
    lat: float
    lon: float
    accidents: int
    min_zoom: int


# --- building the file from the store -------------------------------------------------------------------


def town_code(com: str) -> str:
    """The town a commune belongs to: the whole city for an arrondissement of Paris, Lyon or Marseille.

    Examples
    --------
    >>> town_code("75116"), town_code("13055"), town_code("69381"), town_code("59350")
    ('75056', '13055', '69123', '59350')
    """
    for first, last, city in _CITY_OF_ARRONDISSEMENTS:
        if first <= com <= last:
            return city
    return com


def town_accidents(con: duckdb.DuckDBPyConnection, years: tuple[int, int] = YEARS) -> pd.DataFrame:
    """Accidents per town (``com``, ``dep``, ``accidents``) in ``years``, arrondissements merged (:func:`town_code`)."""
    cursor = con.cursor()
    try:
        communes = cursor.execute(
            "SELECT com, min(dep) AS dep, count(*) AS accidents FROM accidents "
            "WHERE com IS NOT NULL AND year BETWEEN ? AND ? GROUP BY com", list(years)).df()
    finally:
        cursor.close()
    communes["com"] = [town_code(com) for com in communes["com"]]
    return communes.groupby("com", as_index=False).agg(dep=("dep", "min"), accidents=("accidents", "sum"))


def town_positions(points_path: Path = COMMUNE_POINTS) -> pd.DataFrame:
    """Median position (``com``, ``lat``, ``lon``) of each town's past located accidents."""
    import pandas as pd

    points = pd.read_parquet(points_path)
    points["com"] = [town_code(com) for com in points["com"]]
    return points.groupby("com", as_index=False)[["lat", "lon"]].median()


def _pixel(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel of a point at a Leaflet zoom."""
    size = 256 * 2 ** zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180) / 360 * size, (1 - y / math.pi) / 2 * size


class _LabelGrid:
    """Label boxes placed at one zoom, bucketed on a pixel grid: a new box is checked against its neighbours only."""

    _CELL = 128

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[tuple[tuple[float, float, float, float], int]]] = defaultdict(list)

    def _keys(self, box: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        return [(x, y) for x in range(int(box[0] // self._CELL), int(box[2] // self._CELL) + 1)
                for y in range(int(box[1] // self._CELL), int(box[3] // self._CELL) + 1)]

    def add(self, box: tuple[float, float, float, float], min_zoom: int) -> None:
        for key in self._keys(box):
            self._cells[key].append((box, min_zoom))

    def hits(self, box: tuple[float, float, float, float], zoom: int) -> bool:
        """True if ``box`` overlaps a label shown at ``zoom``."""
        return any(box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
                   and shown_from <= zoom for key in self._keys(box) for other, shown_from in self._cells[key])


def _label_box(name: str, lat: float, lon: float, zoom: int) -> tuple[float, float, float, float]:
    x, y = _pixel(lat, lon, zoom)
    half_width, half_height = CHAR_PX * len(name) / 2 + MARGIN_PX, LINE_PX / 2 + MARGIN_PX
    return x - half_width, y - half_height, x + half_width, y + half_height


def _may_start_at(zoom: int, national_rank: int, department_rank: int) -> bool:
    return national_rank <= NATIONAL_RANK[zoom] or department_rank <= DEPARTMENT_RANK[zoom]


def label_zooms(names: Sequence[str], lats: Sequence[float], lons: Sequence[float],
                departments: Sequence[str]) -> list[int | None]:
    """The first zoom at which each town is labelled (None: never up to :data:`MAX_ZOOM`); towns biggest first.

    A town is labelled from the first zoom at which its rank lets it start and from which, at every zoom up
    to :data:`MAX_ZOOM`, its label box overlaps no label of a bigger town shown there; bigger towns are
    placed first, so a small town never takes the room of a bigger one.

    Examples
    --------
    >>> label_zooms(["Lille", "Loos"], [50.63, 50.61], [3.06, 3.01], ["59", "59"])  # 4 km apart
    [5, 10]
    """
    grids = {zoom: _LabelGrid() for zoom in range(MIN_ZOOM, MAX_ZOOM + 1)}
    seen_in: dict[str, int] = defaultdict(int)
    zooms: list[int | None] = []
    for rank, (name, lat, lon, dep) in enumerate(zip(names, lats, lons, departments, strict=True), start=1):
        seen_in[dep] += 1
        first = None
        for zoom in range(MAX_ZOOM, MIN_ZOOM - 1, -1):  # from the closest zoom out, while the label fits
            if grids[zoom].hits(_label_box(name, lat, lon, zoom), zoom):
                break
            if _may_start_at(zoom, rank, seen_in[dep]):
                first = zoom
        if first is not None:
            for zoom in range(first, MAX_ZOOM + 1):
                grids[zoom].add(_label_box(name, lat, lon, zoom), first)
        zooms.append(first)
    return zooms


def build_towns(con: duckdb.DuckDBPyConnection, *, points_path: Path = COMMUNE_POINTS,
                communes_path: Path = COMMUNES_CSV) -> pd.DataFrame:
    """The towns labelled up to :data:`MAX_ZOOM`: ``com, name, lat, lon, accidents, min_zoom``, biggest first.

    Communes without a name in the 2023 commune list (merged since; about 1 % of accidents) or without any
    located accident are left out.
    """
    import pandas as pd

    names = pd.read_csv(communes_path, dtype=str, usecols=["com", "name"])
    towns = (town_accidents(con).merge(names, on="com").merge(town_positions(points_path).round(DIGITS), on="com")
             .sort_values(["accidents", "com"], ascending=[False, True], ignore_index=True))
    towns["min_zoom"] = label_zooms(towns["name"].tolist(), towns["lat"].tolist(), towns["lon"].tolist(),
                                    towns["dep"].tolist())
    towns = towns[towns["min_zoom"].notna()].astype({"min_zoom": int})
    return towns[["com", "name", "lat", "lon", "accidents", "min_zoom"]].reset_index(drop=True)


def write_towns(towns: pd.DataFrame, target: Path = TOWNS_CSV) -> int:
    """Write the towns (positions to :data:`DIGITS` decimals) and return the bytes written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    towns.to_csv(partial, index=False, lineterminator="\n", float_format=f"%.{DIGITS}f")
    partial.replace(target)  # a half-written file never replaces a good one
    load_towns.cache_clear()
    return target.stat().st_size


# --- reading it ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def load_towns(path: Path = TOWNS_CSV) -> tuple[Town, ...]:
    """The towns of ``assets/ref/towns.csv``, biggest first.

    Examples
    --------
    >>> towns = load_towns()
    >>> towns[0].name, towns[0].min_zoom, sum(t.name == "Paris" for t in towns)
    ('Paris', 5, 1)
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: rebuild it with `python -m core.maps.towns`")
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(Town(row["com"], row["name"], float(row["lat"]), float(row["lon"]), int(row["accidents"]),
                          int(row["min_zoom"])) for row in csv.DictReader(handle))


def towns_in_view(view: View, *, width_px: int = MAP_PX[0], height_px: int = MAP_PX[1],
                  towns: Sequence[Town] | None = None) -> list[Town]:
    """The towns a deck.gl map opened on ``view`` labels: those of its zoom's tier inside what it shows.

    ``view`` is a deck.gl view (512-pixel tiles, see :data:`DECK_ZOOM_OFFSET`).

    Examples
    --------
    >>> from core.maps.views import FRANCE_VIEW, view_for_departments
    >>> 20 <= len(towns_in_view(FRANCE_VIEW)) <= 60
    True
    >>> [t.name for t in towns_in_view(view_for_departments(["59"]))][:4]
    ['Lille', 'Roubaix', 'Dunkerque', 'Valenciennes']
    """
    leaflet_zoom = view[2] + DECK_ZOOM_OFFSET
    min_lon, min_lat, max_lon, max_lat = bbox_for_view(view, width_px=width_px, height_px=height_px)
    return [town for town in (load_towns() if towns is None else towns)
            if town.min_zoom <= leaflet_zoom and min_lat <= town.lat <= max_lat and min_lon <= town.lon <= max_lon]


def town_layer(view: View, *, width_px: int = MAP_PX[0], height_px: int = MAP_PX[1]) -> dict:
    """deck.gl TextLayer of the towns :func:`towns_in_view` chooses: pixel-sized names with a white halo.

    Not pickable (the tooltip stays the hexagons'); ``characterSet: "auto"`` puts the accented letters
    of the names in the font atlas (the default set is ASCII only).
    """
    rows = [{"n": town.name, "p": [town.lon, town.lat]}
            for town in towns_in_view(view, width_px=width_px, height_px=height_px)]
    return {
        "@@type": "TextLayer",
        "id": "villes",
        "data": rows,
        "getText": "@@=n",
        "getPosition": "@@=p",
        "getSize": 12,
        "sizeUnits": "pixels",
        "getColor": [25, 25, 25, 255],
        "fontFamily": "Helvetica, Arial, sans-serif",
        "fontWeight": 600,
        "characterSet": "auto",
        "fontSettings": {"sdf": True, "buffer": 8},
        "outlineWidth": 6,
        "outlineColor": [255, 255, 255, 230],
        "getTextAnchor": "middle",
        "getAlignmentBaseline": "center",
        "pickable": False,
    }


def main() -> None:
    """Rebuild :data:`TOWNS_CSV` from the store and print what was written."""
    from core import store

    con = store.connect()
    try:
        towns = build_towns(con)
    finally:
        con.close()
    size = write_towns(towns)
    tiers = towns.groupby("min_zoom").size().cumsum().to_dict()
    print(f"{len(towns):,} towns, {size:,} bytes written to {TOWNS_CSV}; labelled up to each zoom: {tiers}")


if __name__ == "__main__":
    main()
