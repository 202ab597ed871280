"""The explorer's map of individual accidents: clustered markers with a popup each (folium, no Streamlit).

The map hands its points to the browser as compact JSON rows (written by
DuckDB, see :data:`core.explore.points.MARKER_FIELDS`) and builds each popup
there, from text nodes only, so a label such as ``Cyclomoteur <50cm3`` is never
read as HTML. 5,000 points weigh about 0.3 MB, against megabytes for one folium
``Popup`` per marker, and the data are serialised once although
streamlit-folium renders the map several times.
"""

from __future__ import annotations

import json

import folium
import pandas as pd
from folium.plugins import FastMarkerCluster
from folium.template import Template

from core import codebook
from core.explore.charts import COLOURS

_FRANCE_CENTRE = (46.6, 2.4)

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
    """The markers of :func:`core.explore.points.map_points` as one JSON array, safe inside a ``<script>`` element."""
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
        :func:`core.explore.points.map_points` (at most a few thousand rows).
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
