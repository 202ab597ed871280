"""A base map for Leaflet that needs no tiles: department outlines, town names by zoom, a notice when tiles fail.

On a network without internet the OpenStreetMap tiles under the explorer's map
cannot load, and a planner sees markers on grey. This base is drawn from what
the app ships (``assets/``): the department outlines as a non-interactive layer
above the tiles, and the towns of :mod:`core.maps.towns` as text labels, each
from its ``min_zoom`` and only inside the view (a few hundred DOM elements at
most). The tiles stay and draw where they are reachable; when one fails, a
small French notice says the base map is reduced to outlines and towns.
Labels are built from text nodes, never as HTML.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Final

import folium
from folium.elements import MacroElement
from folium.template import Template

from core.formatting import script_safe
from core.maps.deck import constant_json
from core.maps.towns import Town, load_towns

OFFLINE_NOTICE: Final = "Fond de carte hors ligne : contours et villes seulement"
#: CSS classes the browser tests read: a town label, the notice.
TOWN_CLASS: Final = "gravite-ville"
NOTICE_CLASS: Final = "gravite-hors-ligne"


class _OfflineBase(MacroElement):
    """Panes, outlines, town labels and the tile notice of one map (see the module docstring)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
            .{{ this.town_class }} { background: none; border: none; }
            .{{ this.town_class }} span {
                position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
                font: 600 11px/1.2 "Helvetica Neue", Arial, sans-serif; color: #1e1e1e;
                text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff;
            }
            .{{ this.notice_class }} {
                background: rgba(255, 255, 255, 0.9); padding: 2px 6px; border-radius: 3px;
                font: 12px "Helvetica Neue", Arial, sans-serif; color: #333;
            }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (map) {
                // Outlines above the tiles, names above the markers; neither takes the mouse from the markers.
                map.createPane('gravite-contours').style.zIndex = 350;
                map.createPane('gravite-villes').style.zIndex = 650;
                map.getPane('gravite-contours').style.pointerEvents = 'none';
                map.getPane('gravite-villes').style.pointerEvents = 'none';
                L.geoJSON({{ this.outlines }}, {pane: 'gravite-contours', interactive: false,
                    style: {color: '#3c3c3c', weight: 1, opacity: 0.7, fill: false}}).addTo(map);

                var towns = {{ this.towns }};  // [name, lat, lon, min_zoom], biggest first
                var labels = L.layerGroup().addTo(map);
                var shown = {};
                function label(town) {
                    var text = document.createElement('span');
                    text.textContent = town[0];
                    return L.marker([town[1], town[2]], {
                        icon: L.divIcon({className: '{{ this.town_class }}', html: text, iconSize: null}),
                        interactive: false, keyboard: false, pane: 'gravite-villes'});
                }
                function showTowns() {
                    var zoom = map.getZoom(), view = map.getBounds().pad(0.2);
                    for (var i = 0; i < towns.length; i++) {
                        var wanted = towns[i][3] <= zoom && view.contains([towns[i][1], towns[i][2]]);
                        if (wanted && !shown[i]) {
                            shown[i] = label(towns[i]).addTo(labels);
                        } else if (!wanted && shown[i]) {
                            labels.removeLayer(shown[i]);
                            delete shown[i];
                        }
                    }
                }
                map.on('zoomend moveend', showTowns);
                showTowns();

                var notice = L.control({position: 'bottomleft'});
                notice.onAdd = function () {
                    var box = L.DomUtil.create('div', '{{ this.notice_class }}');
                    box.textContent = {{ this.notice|tojson }};
                    box.style.display = 'none';
                    return box;
                };
                notice.addTo(map);
                map.eachLayer(function (layer) {
                    if (layer instanceof L.TileLayer) {
                        layer.on('tileerror', function () { notice.getContainer().style.display = ''; });
                        layer.on('tileload', function () { notice.getContainer().style.display = 'none'; });
                    }
                });
                return {labels: labels, towns: towns};
            })({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, *, outlines: str, towns: str) -> None:
        super().__init__()
        self._name = "OfflineBase"
        self.outlines = outlines
        self.towns = towns
        self.town_class = TOWN_CLASS
        self.notice_class = NOTICE_CLASS
        self.notice = OFFLINE_NOTICE


@lru_cache(maxsize=2)
def towns_json(towns: tuple[Town, ...] | None = None) -> str:
    """The towns as ``[name, lat, lon, min_zoom]`` rows, biggest first (written once per list of towns).

    Examples
    --------
    >>> towns_json()[:40]
    '[["Paris",48.858,2.341,5],["Marseille",4'
    """
    rows = [[town.name, town.lat, town.lon, town.min_zoom] for town in (load_towns() if towns is None else towns)]
    return script_safe(json.dumps(rows, ensure_ascii=False, separators=(",", ":")))


def add_offline_base(fmap: folium.Map, *, outlines: dict, towns: tuple[Town, ...] | None = None) -> folium.Map:
    """Add the outlines, the town labels and the offline notice to ``fmap``; return it.

    Parameters
    ----------
    fmap
        A folium map with its tile layer (the notice listens to its errors).
    outlines
        :func:`core.maps.deck.load_outlines` (serialised once per object, see :func:`core.maps.deck.constant_json`).
    towns
        :func:`core.maps.towns.load_towns` by default.
    """
    _OfflineBase(outlines=script_safe(constant_json(outlines)), towns=towns_json(towns)).add_to(fmap)
    return fmap
