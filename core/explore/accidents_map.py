"""The explorer's map of individual accidents: a circle marker with a popup each (folium, no Streamlit).

The map hands its points to the browser as compact JSON rows (written by
DuckDB, see :data:`core.explore.points.MARKER_FIELDS`) and builds each popup
there, from text nodes only, so a label such as ``Cyclomoteur <50cm3`` is never
read as HTML. 5,000 points weigh about 0.3 MB, against megabytes for one folium
``Popup`` per marker, and the data are serialised once although
streamlit-folium renders the map several times.

Nothing is fetched from a CDN, so that the map draws on a network without
internet: Leaflet comes from the URL the caller gives (the app serves it, see
``ui/leaflet.py``), folium's other libraries (jQuery, Bootstrap, Font Awesome,
awesome-markers) are dropped since nothing here uses them, and the markers are
plain Leaflet circle markers on a canvas (Leaflet.markercluster is not
available without a CDN or a package that drags others in). 5,000 circles on
a canvas draw at once, killed on top.
"""

from __future__ import annotations

import json

import folium
import pandas as pd
from folium.elements import MacroElement
from folium.template import Template

from core import codebook
from core.explore.charts import COLOURS
from core.formatting import script_safe

_FRANCE_CENTRE = (46.6, 2.4)

_POPUP_CALLBACK = """
function (row, renderer) {
    var labels = %(labels)s;
    var colour = row[8] > 0 ? '%(killed)s' : (row[9] > 0 ? '%(hospitalised)s' : '%(other)s');
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 6, color: colour, fillColor: colour, fillOpacity: 0.8, weight: 1, renderer: renderer});
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


class _AccidentMarkers(MacroElement):
    """One circle marker per accident, on a canvas, from rows already serialised as JSON.

    Streamlit-folium renders a map several times per rerun; a string written
    once costs nothing to repeat. Markers are added killed last, so that they
    are drawn on top of the others.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var callback = {{ this.callback }};
                var data = {{ this.markers }};
                var renderer = L.canvas({padding: 0.5});
                function rank(row) { return row[8] > 0 ? 2 : (row[9] > 0 ? 1 : 0); }
                var ordered = data.slice().sort(function (a, b) { return rank(a) - rank(b); });
                var group = L.featureGroup();
                for (var i = 0; i < ordered.length; i++) {
                    callback(ordered[i], renderer).addTo(group);
                }
                group.addTo({{ this._parent.get_name() }});
                return group;
            })();
        {% endmacro %}"""
    )

    def __init__(self, markers: str, *, callback: str, name: str) -> None:
        super().__init__()
        self._name = name
        self.markers = markers
        self.callback = callback


def serve_leaflet_from(fmap: folium.Map, leaflet_url: str) -> None:
    """Make ``fmap`` load Leaflet from ``leaflet_url`` (a folder ending in ``/``) and nothing else.

    streamlit-folium loads the ``default_js``/``default_css`` URLs of every element of the map; folium's
    map lists Leaflet on a CDN along with jQuery, Bootstrap and Font Awesome, which this map does not use.
    """
    if not leaflet_url.endswith("/"):
        raise ValueError(f"leaflet_url must be a folder ending in '/', got {leaflet_url!r}")
    fmap.default_js = [("leaflet", f"{leaflet_url}leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{leaflet_url}leaflet.css")]


def markers_json(points: pd.DataFrame) -> str:
    """The markers of :func:`core.explore.points.map_points` as one JSON array, safe inside a ``<script>`` element."""
    return script_safe("[" + ",".join(points["marker"]) + "]")


def accidents_map(points: pd.DataFrame, *, leaflet_url: str) -> folium.Map:
    """Accidents as circle markers coloured by outcome; a popup gives date, time, conditions, vehicles and outcome.

    The view fits the metropolitan points when there are any (a few overseas
    points would otherwise zoom out to the whole world), else all points.
    Draw it with ``st_folium(..., render=False)``: st_folium renders the map
    itself, and a second render only costs time.

    Parameters
    ----------
    points
        :func:`core.explore.points.map_points` (at most a few thousand rows).
    leaflet_url
        The folder Leaflet's ``leaflet.js`` and ``leaflet.css`` are loaded from (:func:`ui.leaflet.leaflet_url`).
    """
    fmap = folium.Map(location=_FRANCE_CENTRE, zoom_start=6, tiles="OpenStreetMap", control_scale=True,
                      prefer_canvas=True)
    serve_leaflet_from(fmap, leaflet_url)
    if points.empty:
        return fmap
    labels = {name: {str(code): text for code, text in codebook.codes_of(name).items()}
              for name in ("lum", "atm", "surf", "col", "catv")}
    callback = _POPUP_CALLBACK % {
        "labels": json.dumps(labels, ensure_ascii=False), "killed": COLOURS["killed"],
        "hospitalised": COLOURS["hospitalised"], "other": COLOURS["accidents"],
    }
    _AccidentMarkers(markers_json(points), callback=callback, name="Accidents").add_to(fmap)
    metro = points[(points["lat"].between(41, 51.5)) & (points["lon"].between(-5.5, 10))]
    framed = metro if not metro.empty else points
    fmap.fit_bounds([[framed["lat"].min(), framed["lon"].min()], [framed["lat"].max(), framed["lon"].max()]])
    return fmap
