"""The risk map as a PNG for the report: H3 hexagons coloured as on screen, department outlines, town names.

Drawn by matplotlib (Agg, no display) from the cell boundaries of
``h3.cell_to_boundary``, in longitude/latitude with the axis ratio of the
map's middle latitude (close to the screen's Web Mercator at the scale of a
region). The colours come from the same classes as the screen's legend
(:mod:`core.maps.legend`, in the order :func:`core.maps.hexagons.risk_deck`
applies them), drawn opaque: a printed page has no basemap to show through.
The legend itself is left to the PDF (:mod:`core.report.pdf`), as text.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from core.h3cells import cell_ids
from core.maps.hexagons import hex_classes
from core.maps.legend import MARKED_COLOUR, MASKED_COLOUR
from core.maps.towns import Town, towns_in_view
from core.maps.views import BBox, View, bbox_for_view

RGB = tuple[int, int, int]
# The map's height over its width stays within these bounds (the extent is widened, never cut).
_MIN_RATIO, _MAX_RATIO = 0.5, 1.2
_OUTLINE_RGBA = (40 / 255, 40 / 255, 40 / 255, 160 / 255)


@dataclass(frozen=True, eq=False)
class MapColours:
    """The colour of each hexagon drawn, and the legend that says what the colours hold.

    ``cells`` are H3 ids, ``classes`` their colour class (-1 masked, drawn
    grey), ``rgb`` their (n, 3) colours; ``legend`` is (colour, label) per
    class, as the screen's legend writes it, and ``masked_label`` the grey
    entry's label (None when there is none).
    """

    cells: list[str]
    classes: np.ndarray
    rgb: np.ndarray
    legend: list[tuple[RGB, str]]
    masked_label: str | None


def map_colours(scored: pd.DataFrame, *, metric: str, min_count: int, hide_masked: bool) -> MapColours:
    """The colours of the hexagons of ``scored`` (:attr:`core.risk.result.HexRisk.scored`) as the screen draws them
    (:func:`core.maps.hexagons.hex_classes`, as the screen's deck).

    Examples
    --------
    >>> from core.filters import AccidentFilter
    >>> from core.risk.hexes import hex_risk
    >>> result = hex_risk(facts, AccidentFilter(deps=("2A",), years=(2020, 2020)), metric="severe_per_year",
    ...                   resolution=5)
    >>> colours = map_colours(result.scored, metric="severe_per_year", min_count=20, hide_masked=False)
    >>> len(colours.cells) == len(result.scored), colours.legend[0][1].startswith("≤ ")
    (True, True)
    """
    drawn = hex_classes(scored, metric=metric, min_count=min_count, hide_masked=hide_masked)
    table = np.array([*drawn.colours, MASKED_COLOUR], dtype=np.uint8)  # class -1 reads the last row: grey
    return MapColours(cell_ids(drawn.shown["cell"].to_numpy()), drawn.classes, table[drawn.classes],
                      [(colour, label) for colour, (_, label) in zip(drawn.colours, drawn.legend, strict=True)],
                      drawn.masked_label)


@dataclass(frozen=True, eq=False)
class MapImage:
    """The map as PNG bytes; the extent it spans and its size in pixels, to place a point; the towns named."""

    png: bytes
    extent: BBox
    size: tuple[int, int]
    towns: list[str]

    def pixel(self, latitude: float, longitude: float) -> tuple[int, int]:
        """(column, row) of a point in the PNG: the axes fill the image, longitude and latitude linearly."""
        min_lon, min_lat, max_lon, max_lat = self.extent
        width, height = self.size
        column = (longitude - min_lon) / (max_lon - min_lon) * width
        row = (max_lat - latitude) / (max_lat - min_lat) * height
        return int(column), int(row)


def screen_towns(view: View) -> list[Town] | None:
    """The towns the screen's map names at ``view`` (:func:`core.maps.towns.towns_in_view`); None without the file.

    Examples
    --------
    >>> from core.maps.views import view_for_departments
    >>> [town.name for town in screen_towns(view_for_departments(["59"]))][:2]
    ['Lille', 'Roubaix']
    """
    try:
        return towns_in_view(view)
    except FileNotFoundError:  # assets/ref/towns.csv not built: the map goes without names, and says so
        return None


def _boundaries(cells: list[str]) -> list[np.ndarray]:
    """Each cell's boundary as a (k, 2) array of (longitude, latitude)."""
    return [np.asarray(h3.cell_to_boundary(cell))[:, ::-1] for cell in cells]


def map_extent(polygons: list[np.ndarray], view: View) -> BBox:
    """The box the report's map spans: the hexagons of the screen's view, padded, within the height/width bounds.

    A hexagon counts when its centre lies in what the screen's view shows
    (:func:`core.maps.views.bbox_for_view`), so a France view leaves the
    overseas departments out as the screen does; the box is then widened
    (never cut) until its height over width, at its middle latitude, lies
    between 0.5 and 1.2.
    """
    view_box = bbox_for_view(view)
    if polygons:
        centres = np.array([p.mean(axis=0) for p in polygons])
        inside = ((centres[:, 0] >= view_box[0]) & (centres[:, 0] <= view_box[2])
                  & (centres[:, 1] >= view_box[1]) & (centres[:, 1] <= view_box[3]))
        kept = [p for p, keep in zip(polygons, inside, strict=True) if keep]
    else:
        kept = []
    if not kept:
        min_lon, min_lat, max_lon, max_lat = view_box
    else:
        points = np.concatenate(kept)
        (min_lon, min_lat), (max_lon, max_lat) = points.min(axis=0), points.max(axis=0)
    pad_lon, pad_lat = (max_lon - min_lon) * 0.03 + 1e-3, (max_lat - min_lat) * 0.03 + 1e-3
    return _within_ratio((min_lon - pad_lon, min_lat - pad_lat, max_lon + pad_lon, max_lat + pad_lat))


def _within_ratio(box: BBox) -> BBox:
    min_lon, min_lat, max_lon, max_lat = box
    scale = math.cos(math.radians((min_lat + max_lat) / 2))
    width, height = (max_lon - min_lon) * scale, max_lat - min_lat
    if height > width * _MAX_RATIO:
        half = (height / _MAX_RATIO / scale - (max_lon - min_lon)) / 2
        min_lon, max_lon = min_lon - half, max_lon + half
    elif height < width * _MIN_RATIO:
        half = (width * _MIN_RATIO - height) / 2
        min_lat, max_lat = min_lat - half, max_lat + half
    return min_lon, min_lat, max_lon, max_lat


def _outline_rings(outlines: dict, extent: BBox) -> list[np.ndarray]:
    """The department outline rings that cross ``extent``."""
    min_lon, min_lat, max_lon, max_lat = extent
    rings = []
    for feature in outlines.get("features", []):
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            for ring in polygon:
                points = np.asarray(ring, dtype=float)
                low, high = points.min(axis=0), points.max(axis=0)
                if high[0] >= min_lon and low[0] <= max_lon and high[1] >= min_lat and low[1] <= max_lat:
                    rings.append(points)
    return rings


def render_map(colours: MapColours, *, view: View, outlines: dict | None = None, towns: Sequence[Town] = (),
               marked: str | None = None, width_in: float = 7.5, dpi: int = 200) -> MapImage:
    """Draw the map: hexagons, then department outlines, the marked hotspot and the ``towns``' names; PNG bytes.

    ``view`` is the screen's (latitude, longitude, zoom): the hexagons it
    shows frame the map (:func:`map_extent`); ``towns`` are those the screen
    names (:func:`screen_towns`), written when inside the map.
    """
    polygons = _boundaries(colours.cells)
    extent = map_extent(polygons, view)
    min_lon, min_lat, max_lon, max_lat = extent
    scale = math.cos(math.radians((min_lat + max_lat) / 2))
    height_in = width_in * (max_lat - min_lat) / ((max_lon - min_lon) * scale)
    figure = Figure(figsize=(width_in, height_in), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(figure)  # no pyplot: no global state shared between the server's threads
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(min_lon, max_lon)
    axes.set_ylim(min_lat, max_lat)
    axes.set_axis_off()
    faces = colours.rgb / 255.0
    axes.add_collection(PolyCollection(polygons, facecolors=faces, edgecolors=faces, linewidths=0.15))
    if outlines is not None:
        axes.add_collection(LineCollection(_outline_rings(outlines, extent), colors=[_OUTLINE_RGBA], linewidths=0.5))
    if marked:
        ring = _boundaries([marked])[0]
        axes.add_collection(PolyCollection([ring], facecolors="none", linewidths=1.6,
                                           edgecolors=[tuple(c / 255 for c in MARKED_COLOUR)]))
    named = [town for town in towns if min_lon <= town.lon <= max_lon and min_lat <= town.lat <= max_lat]
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for town in named:
        axes.plot(town.lon, town.lat, "o", markersize=2.2, color="black")
        axes.annotate(town.name, (town.lon, town.lat), xytext=(3, 2), textcoords="offset points", fontsize=6.5,
                      color="black", path_effects=halo)
    buffer = io.BytesIO()
    canvas.print_png(buffer, pil_kwargs={"compress_level": 1})  # fast: fpdf2 compresses the page again
    return MapImage(buffer.getvalue(), extent, canvas.get_width_height(), [town.name for town in named])
