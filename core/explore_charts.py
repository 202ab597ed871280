"""Plotly and folium builders of the explorer page (no Streamlit).

Each builder takes the small frames of :mod:`core.explore` and returns a
figure; labels are the official French wording of :mod:`core.codebook`.

The accidents map hands its points to the browser as compact JSON rows
(written by DuckDB, see :data:`core.explore.MARKER_FIELDS`) and builds each
popup there, from text nodes only, so a label such as ``Cyclomoteur <50cm3``
is never read as HTML. 5,000 points weigh about 0.3 MB, against megabytes for
one folium ``Popup`` per marker, and the data are serialised once although
streamlit-folium renders the map several times.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from folium.plugins import FastMarkerCluster
from folium.template import Template
from plotly.colors import sample_colorscale

from core import codebook
from core.explore import HOSPITALISATION_BREAK_YEAR, department_geojson, is_overseas
from core.formatting import format_count, format_percent

COLOURS = {"accidents": "#1f77b4", "killed": "#b2182b", "hospitalised": "#ef8a62", "light": "#67a9cf",
           "unharmed": "#999999"}
SEVERITY_COLOURS = {codebook.GRAV_KILLED: COLOURS["killed"], codebook.GRAV_HOSPITALISED: COLOURS["hospitalised"],
                    codebook.GRAV_LIGHT: COLOURS["light"], codebook.GRAV_UNHARMED: COLOURS["unharmed"]}
BREAK_NOTE = f"{HOSPITALISATION_BREAK_YEAR} : rupture de série « blessé hospitalisé »"
CHOROPLETH_METRICS = {
    "accidents": "Accidents",
    "killed": "Tués",
    "hospitalised": "Blessés hospitalisés",
    "severe_share": "Part d'accidents graves",
}
_FRANCE_CENTRE = (46.6, 2.4)
_CHOROPLETH_SCALE = "Reds"
CHOROPLETH_CLASSES = 9
_NO_VALUE_COLOUR = "#e8e8e8"


def _layout(fig: go.Figure, *, height: int) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, separators=", ",
                      legend={"orientation": "h", "y": -0.15})
    return fig


def _side_by_side(fig: go.Figure, titles: tuple[str, str], *, split: float = 0.62, gap: float = 0.08,
                  shared_y: bool = False) -> None:
    """Two panels side by side (x/y and x2/y2), as ``make_subplots`` would lay them out at a tenth of the cost."""
    fig.update_layout(
        xaxis={"domain": [0, split], "anchor": "y"}, yaxis={"anchor": "x"},
        xaxis2={"domain": [split + gap, 1], "anchor": "y2"},
        yaxis2={"anchor": "x2", **({"matches": "y", "showticklabels": False} if shared_y else {})},
        annotations=[
            {"text": title, "x": (start + end) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14}}
            for title, (start, end) in zip(titles, ((0, split), (split + gap, 1)), strict=True)
        ],
    )


def yearly_trend_figure(by_year: pd.DataFrame) -> go.Figure:
    """Accidents and victims per year, with the 2018 break in hospitalisation recording marked.

    The hospitalised line stops before the break and starts again after it
    (two traces, the second dotted), and a dashed vertical line with a note
    sits between 2017 and 2018 on both panels.

    Parameters
    ----------
    by_year
        :func:`core.explore.yearly_counts`.
    """
    years = by_year["year"]
    before = years < HOSPITALISATION_BREAK_YEAR
    traces = [go.Scatter(x=years, y=by_year["accidents"], name="Accidents", mode="lines+markers",
                         line={"color": COLOURS["accidents"]})]
    for part, name, dash in ((before, f"Blessés hospitalisés (avant {HOSPITALISATION_BREAK_YEAR})", "solid"),
                             (~before, f"Blessés hospitalisés (depuis {HOSPITALISATION_BREAK_YEAR})", "dot")):
        if part.any():
            traces.append(go.Scatter(x=years[part], y=by_year.loc[part, "hospitalised"], name=name,
                                     mode="lines+markers", legendgroup="hospitalised",
                                     line={"color": COLOURS["hospitalised"], "dash": dash}))
    traces.append(go.Scatter(x=years, y=by_year["light"], name="Blessés légers", mode="lines+markers",
                             line={"color": COLOURS["light"]}))
    traces.append(go.Scatter(x=years, y=by_year["killed"], name="Tués", mode="lines+markers", xaxis="x2",
                             yaxis="y2", line={"color": COLOURS["killed"]}))
    fig = go.Figure(traces)
    _side_by_side(fig, ("Accidents et blessés", "Tués"))
    if len(years) and years.min() < HOSPITALISATION_BREAK_YEAR <= years.max():
        at = HOSPITALISATION_BREAK_YEAR - 0.5
        fig.update_layout(shapes=[
            {"type": "line", "xref": axis, "yref": "paper", "x0": at, "x1": at, "y0": 0, "y1": 1,
             "line": {"dash": "dash", "color": "#555", "width": 1.5}}
            for axis in ("x", "x2")
        ])
        fig.add_annotation(x=at, y=0.98, xref="x", yref="paper", text=BREAK_NOTE, showarrow=False,
                           xanchor="right", yanchor="top", font={"size": 11, "color": "#555"})
    tick = {"dtick": 1 if len(years) <= 8 else 2, "tickformat": "d"}
    fig.update_layout(xaxis=tick, xaxis2=tick, yaxis={"rangemode": "tozero"}, yaxis2={"rangemode": "tozero"})
    return _layout(fig, height=420)


def month_year_heatmap(by_month: pd.DataFrame) -> go.Figure:
    """Accidents by month (rows) and year (columns), from :attr:`core.explore.Calendar.by_month`."""
    grid = by_month.pivot_table(index="month", columns="year", values="accidents", aggfunc="sum", fill_value=0)
    grid = grid.reindex(index=list(codebook.MONTH_LABELS), fill_value=0)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(y) for y in grid.columns], y=[codebook.MONTH_LABELS[m] for m in grid.index],
        colorscale="Blues", colorbar={"title": "Accidents"},
        hovertemplate="%{y} %{x} : %{z} accidents<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=420)


def hour_weekday_heatmap(by_hour: pd.DataFrame) -> go.Figure:
    """Accidents by weekday (rows, Monday first) and hour (columns), from :attr:`core.explore.Calendar.by_hour`."""
    grid = by_hour.pivot_table(index="weekday", columns="hour", values="accidents", aggfunc="sum", fill_value=0)
    grid = grid.reindex(index=list(codebook.WEEKDAY_LABELS), columns=range(24), fill_value=0)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[f"{h} h" for h in grid.columns], y=[codebook.WEEKDAY_LABELS[d] for d in grid.index],
        colorscale="Blues", colorbar={"title": "Accidents"},
        hovertemplate="%{y} à %{x} : %{z} accidents<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=360)


def people_figure(people: pd.DataFrame) -> go.Figure:
    """People involved by user category, stacked by severity (killed first).

    Parameters
    ----------
    people
        :attr:`core.explore.Breakdowns.people`.
    """
    fig = go.Figure()
    for grav, rows in people.groupby("grav", sort=False, dropna=False):
        if not rows["people"].any():
            continue
        fig.add_trace(go.Bar(
            y=rows["catu_label"], x=rows["people"], name=rows["grav_label"].iloc[0], orientation="h",
            marker_color=SEVERITY_COLOURS.get(None if pd.isna(grav) else int(grav), "#cccccc"),
            hovertemplate="%{y} : %{x} (%{fullData.name})<extra></extra>",
        ))
    fig.update_layout(barmode="stack", title="Usagers impliqués par catégorie et gravité")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height=360)


def vehicles_figure(vehicles: pd.DataFrame) -> go.Figure:
    """Vehicles involved by group, and their occupants killed or hospitalised.

    Parameters
    ----------
    vehicles
        :attr:`core.explore.Breakdowns.vehicles`.
    """
    shown = vehicles[vehicles["vehicles"] > 0]
    fig = go.Figure([
        go.Bar(y=shown["label"], x=shown["vehicles"], orientation="h", name="Véhicules",
               marker_color=COLOURS["accidents"]),
        go.Bar(y=shown["label"], x=shown["occupants_killed"], orientation="h", name="Occupants tués",
               marker_color=COLOURS["killed"], xaxis="x2", yaxis="y2"),
        go.Bar(y=shown["label"], x=shown["occupants_hospitalised"], orientation="h",
               name="Occupants blessés hospitalisés", marker_color=COLOURS["hospitalised"], xaxis="x2", yaxis="y2"),
    ])
    _side_by_side(fig, ("Véhicules impliqués", "Occupants tués ou hospitalisés"), split=0.46, gap=0.04,
                  shared_y=True)
    fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"})
    return _layout(fig, height=360)


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
        :func:`core.explore.department_map_frame`.
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
    return _layout(fig, height=600)


_POPUP_CALLBACK = """
function (row) {
    var labels = %(labels)s;
    var colour = row[8] > 0 ? '%(killed)s' : (row[9] > 0 ? '%(hospitalised)s' : '%(other)s');
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 6, color: colour, fillColor: colour, fillOpacity: 0.8, weight: 1});
    function name(table, code) {
        if (code === null) { return 'Non renseigné'; }
        var text = labels[table][String(code)];
        return text === undefined ? 'Code ' + code + ' inconnu' : text;
    }
    var lines = [
        ['Date', row[2]],
        ['Lumière', name('lum', row[3])],
        ['Conditions atmosphériques', name('atm', row[4])],
        ['Surface', name('surf', row[5])],
        ['Collision', name('col', row[6])],
        ['Véhicules', row[7].map(function (c) { return name('catv', c); }).join(', ') || 'Aucun'],
        ['Bilan', row[8] + ' tué(s), ' + row[9] + ' blessé(s) hospitalisé(s), ' + row[10]
            + ' blessé(s) léger(s), ' + row[11] + ' indemne(s)']
    ];
    var box = document.createElement('div');
    lines.forEach(function (line) {
        var p = document.createElement('div');
        var b = document.createElement('b');
        b.textContent = line[0] + ' : ';
        p.appendChild(b);
        p.appendChild(document.createTextNode(line[1]));
        box.appendChild(p);
    });
    marker.bindPopup(box, {maxWidth: 360});
    return marker;
}
"""


class _PointCluster(FastMarkerCluster):
    """A ``FastMarkerCluster`` whose rows arrive already serialised as JSON.

    Streamlit-folium renders a map several times per rerun, and each render
    re-encodes ``data`` with ``tojson``; a string written once costs nothing
    to repeat.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}
                var data = {{ this.markers }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                for (var i = 0; i < data.length; i++) {
                    callback(data[i]).addTo(cluster);
                }
                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}"""
    )

    def __init__(self, markers: str, *, callback: str, name: str) -> None:
        super().__init__([], callback=callback, name=name)
        self.markers = markers


def markers_json(points: pd.DataFrame) -> str:
    """The markers of :func:`core.explore.map_points` as one JSON array, safe inside a ``<script>`` element."""
    text = "[" + ",".join(points["marker"]) + "]"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def accidents_map(points: pd.DataFrame) -> folium.Map:
    """Clustered accidents; a popup gives date, time, conditions, vehicles and outcome.

    The view fits the metropolitan points when there are any (a few overseas
    points would otherwise zoom out to the whole world), else all points.
    Draw it with ``st_folium(..., render=False)``: st_folium renders the map
    itself, and a second render only costs time.

    Parameters
    ----------
    points
        :func:`core.explore.map_points` (at most a few thousand rows).
    """
    fmap = folium.Map(location=_FRANCE_CENTRE, zoom_start=6, tiles="OpenStreetMap", control_scale=True)
    if points.empty:
        return fmap
    labels = {name: {str(code): text for code, text in codebook.codes_of(name).items()}
              for name in ("lum", "atm", "surf", "col", "catv")}
    callback = _POPUP_CALLBACK % {
        "labels": json.dumps(labels, ensure_ascii=False), "killed": COLOURS["killed"],
        "hospitalised": COLOURS["hospitalised"], "other": COLOURS["accidents"],
    }
    _PointCluster(markers_json(points), callback=callback, name="Accidents").add_to(fmap)
    metro = points[(points["lat"].between(41, 51.5)) & (points["lon"].between(-5.5, 10))]
    framed = metro if not metro.empty else points
    fmap.fit_bounds([[framed["lat"].min(), framed["lon"].min()], [framed["lat"].max(), framed["lon"].max()]])
    return fmap
