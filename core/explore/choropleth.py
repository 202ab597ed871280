"""The explorer's department map: metropolitan departments filled by a count or a share (plotly, no Streamlit).

Drawn on plain axes from the outlines of :mod:`core.explore.departments`, so
nothing is fetched from plotly's CDN (see :func:`department_choropleth`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from core.explore.charts import set_layout
from core.explore.departments import department_geojson, is_overseas
from core.formatting import format_count, format_percent

CHOROPLETH_METRICS = {
    "accidents": "Accidents",
    "killed": "Tués",
    "hospitalised": "Blessés hospitalisés",
    "severe_share": "Part d'accidents graves",
}
_CHOROPLETH_SCALE = "Reds"
CHOROPLETH_CLASSES = 9
_NO_VALUE_COLOUR = "#e8e8e8"


@dataclass(frozen=True)
class _Outline:
    xs: np.ndarray  # longitudes of the exterior rings, rings split by NaN (a gap for plotly)
    ys: np.ndarray  # latitudes
    centre: tuple[float, float]  # a point inside the department (lon, lat), for its hover marker


@lru_cache(maxsize=1)
def department_outlines() -> dict[str, _Outline]:
    """Metropolitan outlines as paths for filled plain-axes traces, largest department first."""
    from shapely.geometry import shape

    outlines = {}
    for feature in department_geojson()["features"]:
        geometry = shape(feature["geometry"])
        polygons = list(getattr(geometry, "geoms", [geometry]))
        xs = np.concatenate([np.r_[polygon.exterior.coords.xy[0], np.nan] for polygon in polygons])
        ys = np.concatenate([np.r_[polygon.exterior.coords.xy[1], np.nan] for polygon in polygons])
        inside = geometry.representative_point()
        outlines[feature["properties"]["code"]] = (geometry.area, _Outline(xs, ys, (inside.x, inside.y)))
    return {code: outline for code, (_, outline) in sorted(outlines.items(), key=lambda item: -item[1][0])}


def department_choropleth(departments: gpd.GeoDataFrame, *, metric: str) -> go.Figure:
    """Metropolitan departments coloured by ``metric`` (see :data:`CHOROPLETH_METRICS`).

    Drawn as filled outlines on plain axes (longitude, latitude scaled at
    46.5° N) rather than as a plotly geo map: plotly's geo maps download a world
    base map from its CDN before drawing anything, so they stay blank offline.
    The fills come in :data:`CHOROPLETH_CLASSES` equal-width colour classes (one
    trace each: a trace per department took 0.2 s to build); a marker inside
    each department carries its exact value, hover text and the colour bar.
    Overseas departments are left out of the drawing (they would shrink
    metropolitan France to a dot); the page lists them in its table.

    Parameters
    ----------
    departments
        :func:`core.explore.departments.department_map_frame`.
    """
    if metric not in CHOROPLETH_METRICS:
        raise ValueError(f"metric must be one of {list(CHOROPLETH_METRICS)}, got {metric!r}")
    is_share = metric == "severe_share"
    metro = departments[~departments["code"].map(is_overseas)].set_index("code")
    outlines = {code: outline for code, outline in department_outlines().items() if code in metro.index}
    codes = list(outlines)
    values = (metro[metric] * 100 if is_share else metro[metric].astype(float)).reindex(codes)
    top = float(values.max()) if values.notna().any() and values.max() > 0 else 1.0
    classes = np.where(values.notna(), np.minimum((values.fillna(0) / top * CHOROPLETH_CLASSES).astype(int),
                                                  CHOROPLETH_CLASSES - 1), -1)
    colours = sample_colorscale(_CHOROPLETH_SCALE, [(k + 0.5) / CHOROPLETH_CLASSES for k in range(CHOROPLETH_CLASSES)])
    data = []
    for k in [-1, *range(CHOROPLETH_CLASSES)]:
        members = [code for code, klass in zip(codes, classes, strict=True) if klass == k]
        if members:
            data.append(go.Scatter(
                x=np.concatenate([outlines[code].xs for code in members]),
                y=np.concatenate([outlines[code].ys for code in members]),
                mode="lines", fill="toself", fillcolor=colours[k] if k >= 0 else _NO_VALUE_COLOUR,
                line={"color": "white", "width": 0.6}, hoverinfo="skip", showlegend=False, name=f"classe {k}",
            ))
    shown = [("aucun accident" if pd.isna(v) else format_percent(v / 100) if is_share else format_count(v))
             for v in values]
    data.append(go.Scatter(
        x=[outlines[code].centre[0] for code in codes], y=[outlines[code].centre[1] for code in codes],
        mode="markers", customdata=codes, name="départements", showlegend=False,
        text=[f"{code} {metro.at[code, 'nom']} : {value}" for code, value in zip(codes, shown, strict=True)],
        hovertemplate="%{text}<extra></extra>",
        marker={"size": 7, "color": values.fillna(0).tolist(), "colorscale": _CHOROPLETH_SCALE, "cmin": 0,
                "cmax": top, "line": {"color": "white", "width": 1}, "showscale": True,
                "colorbar": {"title": "%" if is_share else CHOROPLETH_METRICS[metric]}},
    ))
    fig = go.Figure(data)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / math.cos(math.radians(46.5)))
    fig.update_layout(title=CHOROPLETH_METRICS[metric], plot_bgcolor="white", hovermode="closest")
    return set_layout(fig, height=600)
