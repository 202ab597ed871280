"""The maps on a machine without internet, in real Chromium: every request off the app's own server fails.

The explorer's map of accidents loads Leaflet from the app, draws every accident and names the towns of the
zoom; the risk map sends deck.gl the names of the towns in its view.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from urllib.parse import urlencode, urlparse

import pytest

from core import places
from core.explore.points import map_points
from core.filters import AccidentFilter
from core.maps.basemap import NOTICE_CLASS, OFFLINE_NOTICE, TOWN_CLASS
from core.maps.towns import load_towns, towns_in_view
from core.maps.views import view_for_departments
from tests.e2e.server import settle

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000
LOZERE = AccidentFilter(deps=("48",))
_LOCAL_HOSTS = ("127.0.0.1", "localhost")


class Requests:
    """Every request of a browser context, the outside ones aborted (as offline) and kept with their frame."""

    def __init__(self, page) -> None:
        self.outside: list[tuple[str, str]] = []
        self.local: list[str] = []
        page.context.route("**/*", self._route)

    def _route(self, route) -> None:
        request = route.request
        if urlparse(request.url).hostname in _LOCAL_HOSTS:
            self.local.append(request.url)
            route.continue_()
        else:
            frame = request.frame.url if request.frame else ""
            self.outside.append((request.url, frame))
            route.abort()


def _top_towns(store_con, dep: str, count: int) -> list[str]:
    """The names of the communes of ``dep`` with most accidents 2005-2020 in the store (not for 75, 13, 69)."""
    rows = store_con.execute(
        "SELECT com FROM accidents WHERE dep = ? AND com IS NOT NULL AND year BETWEEN 2005 AND 2020 "
        "GROUP BY com ORDER BY count(*) DESC, com LIMIT ?", [dep, count]).fetchall()
    return [places.commune_name(com) for (com,) in rows]


def _open_map_tab(page, app_url: str):
    page.goto(f"{app_url}/explorer?{urlencode(LOZERE.to_params())}")
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("tab", name="Carte des accidents").click()
    page.locator("iframe[title*='st_folium']").first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    return next(frame for frame in page.frames if "st_folium" in frame.url)


_VIEW_JS = f"""() => {{
    const box = map.getBounds().pad(0.2);
    return {{zoom: map.getZoom(), south: box.getSouth(), west: box.getWest(), north: box.getNorth(),
             east: box.getEast(),
             labels: [...document.querySelectorAll('.{TOWN_CLASS}')].map(e => e.textContent)}};
}}"""


def _steady_view(frame) -> dict:
    """The map's view and labels once it has stopped moving (a zoom animates for a quarter of a second, and the
    labels follow at its end): two reads half a second apart agree."""
    before = frame.evaluate(_VIEW_JS)
    for _ in range(60):
        time.sleep(0.5)
        now = frame.evaluate(_VIEW_JS)
        if now == before:
            break
        before = now
    return now


def _expected_labels(view: dict) -> Counter:
    """The towns of the asset the map must name: of the zoom's tier, inside the (padded) view."""
    return Counter(town.name for town in load_towns() if town.min_zoom <= view["zoom"]
                   and view["south"] <= town.lat <= view["north"] and view["west"] <= town.lon <= view["east"])


def test_explorer_map_draws_every_accident_and_names_the_towns_offline(page, app_url: str, store_con) -> None:
    requests = Requests(page)
    frame = _open_map_tab(page, app_url)
    expected = len(map_points(store_con, LOZERE))
    assert expected > 500
    # Leaflet loaded (from the app) and one circle marker per accident of the filter, none clustered.
    frame.wait_for_function(
        "n => window.map && window.L && Object.values(map._layers).filter(l => l instanceof L.CircleMarker)"
        ".length === n", arg=expected, timeout=TIMEOUT_MS)
    assert frame.evaluate("L.version") == "1.9.4"
    assert page.locator("iframe[title*='st_folium']").first.bounding_box()["height"] >= 500

    # At the department's zoom: the towns of that tier in view, the department's biggest among them.
    department = _steady_view(frame)
    assert 8 <= department["zoom"] <= 10
    assert Counter(department["labels"]) == _expected_labels(department)
    top = _top_towns(store_con, "48", 3)
    assert set(top) <= set(department["labels"]), (top, department["labels"])

    # Zoomed out to France: the big cities, and no longer the towns of Lozère.
    frame.evaluate("() => { map.setZoom(5); }")
    france = _steady_view(frame)
    assert france["zoom"] == 5
    assert Counter(france["labels"]) == _expected_labels(france)
    assert {"Paris", "Lyon", "Marseille"} <= set(france["labels"])
    assert not set(top) & set(france["labels"]) and 20 <= len(france["labels"]) <= 60

    # The tiles could not load: the map says what is left.
    notice = frame.locator(f".{NOTICE_CLASS}")
    notice.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert notice.inner_text() == OFFLINE_NOTICE

    assert any(url.endswith("/component/ui.leaflet.leaflet/leaflet.js") for url in requests.local)
    assert not [url for url, _ in requests.outside if "leaflet" in url]
    from_map = {urlparse(url).hostname for url, origin in requests.outside if "st_folium" in origin}
    assert from_map == {"tile.openstreetmap.org"}  # the map asked the outside for tiles and nothing else
    assert page.locator("[data-testid='stException']").count() == 0


def _deck_specs(messages: list[bytes | str]) -> list[dict]:
    """The deck.gl specs in the messages the server sent (each spec is JSON text inside a protobuf message)."""
    specs = []
    for message in messages:
        data = message if isinstance(message, bytes) else message.encode()
        start = data.find(b'{"initialViewState"')
        if start >= 0:
            text = data[start:].decode("utf-8", errors="replace")
            specs.append(json.JSONDecoder().raw_decode(text)[0])
    return specs


def test_risk_map_sends_the_town_names_of_its_view_offline(page, app_url: str, store_con) -> None:
    requests = Requests(page)
    messages: list[bytes | str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: messages.append(payload)))
    page.goto(f"{app_url}/risk-map?{urlencode(LOZERE.to_params())}")
    page.get_by_test_id("risk-legend").wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)

    (spec,) = _deck_specs(messages)
    (layer,) = [layer for layer in spec["layers"] if layer["@@type"] == "TextLayer"]
    names = [row["n"] for row in layer["data"]]
    assert names == [town.name for town in towns_in_view(view_for_departments(["48"]))]
    # The department's biggest towns are named (its view shows some of its neighbours' towns too).
    assert set(_top_towns(store_con, "48", 2)) <= set(names)
    assert layer["characterSet"] == "auto" and layer["pickable"] is False
    assert any(layer["@@type"] == "GeoJsonLayer" for layer in spec["layers"])  # the outlines stay
    assert not [url for url, _ in requests.outside if "leaflet" in url]
    assert page.locator("[data-testid='stException']").count() == 0
