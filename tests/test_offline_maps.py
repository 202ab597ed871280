"""Maps without internet: the towns asset against the store, its zoom tiers, the deck town layer, the folium map's
links (Leaflet served by the app, no CDN) and its offline base."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium.elements
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, shape

from core import places
from core.dispatch import picker
from core.explore.accidents_map import accidents_map, serve_leaflet_from
from core.explore.points import map_points
from core.filters import AccidentFilter
from core.maps import basemap, deck, towns
from core.maps.hexagons import risk_deck
from core.maps.views import FRANCE_VIEW, view_for_departments
from core.risk.hexes import hex_risk
from core.risk.loading import load_facts
from ui.leaflet import LEAFLET_DIR, leaflet_url

LEAFLET = "../ui.leaflet.leaflet/"


@pytest.fixture(scope="module")
def asset() -> pd.DataFrame:
    return pd.read_csv(towns.TOWNS_CSV, dtype={"com": str})


@pytest.fixture(scope="module")
def store_towns(store_con) -> pd.DataFrame:
    """Accidents 2005-2020 per commune straight from the store, arrondissements merged by their department
    (Paris is all of 75) and INSEE code ranges, named from the commune list: the oracle of the asset."""
    frame = store_con.execute(
        "SELECT com, dep, count(*) AS accidents FROM accidents WHERE com IS NOT NULL AND year BETWEEN 2005 AND 2020 "
        "GROUP BY com, dep").df()
    frame.loc[frame["dep"] == "75", "com"] = "75056"
    frame.loc[frame["com"].str.match(r"^132(0[1-9]|1[0-6])$"), "com"] = "13055"
    frame.loc[frame["com"].str.match(r"^6938[1-9]$"), "com"] = "69123"
    merged = frame.groupby(["com", "dep"], as_index=False)["accidents"].sum()
    merged["name"] = [places.commune_name(code) for code in merged["com"]]
    return merged.dropna(subset=["name"])


# --- the towns asset ------------------------------------------------------------------------------------


def test_the_committed_asset_is_what_the_builder_makes_from_the_store(store_con, tmp_path: Path) -> None:
    target = tmp_path / "towns.csv"
    size = towns.write_towns(towns.build_towns(store_con), target)
    assert target.read_bytes() == towns.TOWNS_CSV.read_bytes()
    assert size < 200_000
    towns.load_towns.cache_clear()  # write_towns cleared it; load the committed file again for other tests


def test_paris_lyon_and_marseille_are_one_town_each(asset: pd.DataFrame, store_towns: pd.DataFrame) -> None:
    assert not asset["name"].str.contains("Arrondissement").any()
    # Placed within about 3 km of Notre-Dame, the Vieux-Port and Bellecour.
    for com, name, latitude, longitude in (("75056", "Paris", 48.853, 2.350), ("13055", "Marseille", 43.295, 5.374),
                                           ("69123", "Lyon", 45.758, 4.832)):
        (row,) = asset[asset["name"] == name].itertuples()
        assert row.com == com
        assert row.accidents == store_towns.set_index("com").loc[com, "accidents"]
        assert abs(row.lat - latitude) < 0.03 and abs(row.lon - longitude) < 0.03
    assert asset.iloc[0]["name"] == "Paris" and asset.iloc[0]["accidents"] > 100_000


@pytest.mark.parametrize("dep", ["59", "48", "2A", "974"])
def test_the_biggest_towns_of_a_department_have_the_most_accidents_in_the_store(
        dep: str, asset: pd.DataFrame, store_towns: pd.DataFrame) -> None:
    expected = store_towns[store_towns["dep"] == dep].sort_values(["accidents", "com"], ascending=[False, True])
    shown = asset[asset["com"].map(places.commune_department) == dep]
    assert shown[["com", "name", "accidents"]].head(5).values.tolist() == \
        expected[["com", "name", "accidents"]].head(5).values.tolist()


def test_towns_lie_in_their_own_department(asset: pd.DataFrame) -> None:
    outlines = {f["properties"]["code"]: shape(f["geometry"]) for f in deck.load_outlines()["features"]}
    top = asset.head(300)
    outside = [row.name for row in top.itertuples()
               if not outlines[places.commune_department(row.com)].buffer(0.02).contains(Point(row.lon, row.lat))]
    assert outside == []


# --- zoom tiers -----------------------------------------------------------------------------------------


def _overlapping_labels(rows: pd.DataFrame, zoom: int) -> int:
    """Pairs of label boxes that overlap at ``zoom`` (the boxes the tiers are built with), by brute force."""
    boxes = np.array([towns._label_box(name, lat, lon, zoom) for name, lat, lon in
                      zip(rows["name"], rows["lat"], rows["lon"], strict=True)])
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    pairs = 0
    for start in range(0, len(boxes), 500):  # 500 rows against all at a time: 4,000 x 4,000 would take 64 MB
        part = slice(start, start + 500)
        overlap = ((x0[part, None] < x1[None, :]) & (x0[None, :] < x1[part, None])
                   & (y0[part, None] < y1[None, :]) & (y0[None, :] < y1[part, None]))
        pairs += int(overlap.sum()) - (x0[part] < x1[part]).sum()  # less each box against itself
    return pairs // 2


def test_no_two_labels_overlap_at_any_zoom(asset: pd.DataFrame) -> None:
    for zoom in range(towns.MIN_ZOOM, towns.MAX_ZOOM + 1):
        assert _overlapping_labels(asset[asset["min_zoom"] <= zoom], zoom) == 0
    # The check itself finds overlaps: every town at zoom 5 overlaps a good many.
    assert _overlapping_labels(asset.head(400), towns.MIN_ZOOM) > 100


def test_france_shows_its_big_towns_and_a_department_its_main_towns(asset: pd.DataFrame) -> None:
    metropolitan = asset[asset["lat"].between(41, 51.5) & asset["lon"].between(-5.5, 10)]
    assert 25 <= (metropolitan["min_zoom"] <= 5).sum() <= 50  # the explorer's France view (Leaflet zoom 5)
    assert 20 <= len(towns.towns_in_view(FRANCE_VIEW)) <= 60  # the risk map's France view
    zooms = asset.set_index("name")["min_zoom"]
    assert {name: int(zooms[name]) <= 9 for name in ("Lille", "Roubaix", "Tourcoing", "Dunkerque", "Valenciennes",
                                                     "Mende", "Marvejols")} == dict.fromkeys(
        ("Lille", "Roubaix", "Tourcoing", "Dunkerque", "Valenciennes", "Mende", "Marvejols"), True)
    assert zooms["Paris"] == zooms["Lille"] == 5 and zooms["Marvejols"] > 5 and zooms["Roubaix"] > 5


def test_towns_in_a_deck_view_are_those_of_its_tier_inside_it() -> None:
    lozere = view_for_departments(["48"])
    names = [town.name for town in towns.towns_in_view(lozere)]
    # The view frames the department with some of its neighbours' towns around (Alès, in the Gard, is bigger).
    assert {"Mende", "Marvejols"} <= set(names) and "Paris" not in names
    france = [town.name for town in towns.towns_in_view(FRANCE_VIEW)]
    assert "Paris" in france and "Marvejols" not in france
    everything = towns.load_towns()
    allowed = {town.name for town in everything if town.min_zoom <= lozere[2] + towns.DECK_ZOOM_OFFSET}
    assert set(names) <= allowed and len(names) < len(allowed)


def test_label_zooms_give_the_room_to_the_bigger_town() -> None:
    # Roubaix and Tourcoing, 4 km apart: the smaller waits for the zoom at which both labels fit.
    assert towns.label_zooms(["Roubaix", "Tourcoing"], [50.687, 50.728], [3.179, 3.159], ["59", "59"]) == [5, 9]
    assert towns.label_zooms(["Tourcoing", "Roubaix"], [50.728, 50.687], [3.159, 3.179], ["59", "59"]) == [5, 9]


# --- deck.gl maps ---------------------------------------------------------------------------------------


def _town_layers(spec: dict) -> list[dict]:
    return [layer for layer in spec["layers"] if layer["@@type"] == "TextLayer"]


def test_risk_deck_names_the_towns_of_its_view(store_con) -> None:
    accident_filter = AccidentFilter(deps=("59",), years=(2018, 2020))
    view = view_for_departments(["59"])
    scored = hex_risk(load_facts(store_con), accident_filter, metric="severe_per_year", resolution=7,
                      con=store_con).scored
    chart, _ = risk_deck(scored, metric="severe_per_year", metric_label="Accidents graves par an", min_count=20,
                         view=view, outlines=deck.load_outlines())
    spec = json.loads(chart.to_json())
    (layer,) = _town_layers(spec)
    assert spec["layers"][-1]["id"] == layer["id"] == "villes"  # drawn on top of everything
    assert [row["n"] for row in layer["data"]] == [town.name for town in towns.towns_in_view(view)]
    assert layer["data"][0] == {"n": "Lille", "p": [3.056, 50.628]}
    assert layer["characterSet"] == "auto" and layer["sizeUnits"] == "pixels" and layer["pickable"] is False
    assert layer["fontSettings"]["sdf"] is True and layer["outlineWidth"] > 0
    assert any(layer["@@type"] == "GeoJsonLayer" for layer in spec["layers"])  # the outlines stay


def test_the_place_picker_names_the_towns_too() -> None:
    outlines = deck.load_outlines()
    resolution, cells = picker.department_cells(outlines, "48")
    spec = json.loads(picker.place_picker_deck(outlines, picker.pickable_departments(outlines), dep="48",
                                               resolution=resolution, cells=cells, point=None).to_json())
    (layer,) = _town_layers(spec)
    names = [row["n"] for row in layer["data"]]
    assert "Mende" in names and layer["pickable"] is False
    france = json.loads(picker.place_picker_deck(outlines, [], dep=None, resolution=0, cells=[], point=None).to_json())
    assert "Paris" in [row["n"] for row in _town_layers(france)[0]["data"]]


# --- the explorer's folium map ----------------------------------------------------------------------------


def _loaded_links(fmap: folium.Map) -> list[str]:
    """The js/css URLs streamlit-folium loads: every element's ``default_js`` and ``default_css``."""
    links: list[str] = []
    stack = [fmap]
    while stack:
        element = stack.pop()
        if isinstance(element, folium.elements.JSCSSMixin):
            links += [url for _, url in element.default_js] + [url for _, url in element.default_css]
        stack.extend(element._children.values())
    return links


def _explorer_map(store_con, deps: tuple[str, ...] = ("48",)) -> tuple[folium.Map, pd.DataFrame]:
    points = map_points(store_con, AccidentFilter(deps=deps))
    fmap = basemap.add_offline_base(accidents_map(points, leaflet_url=LEAFLET), outlines=deck.load_outlines())
    return fmap, points


def test_the_map_loads_leaflet_from_the_app_and_nothing_from_a_cdn(store_con) -> None:
    fmap, _ = _explorer_map(store_con)
    assert _loaded_links(fmap) == [f"{LEAFLET}leaflet.js", f"{LEAFLET}leaflet.css"]
    html = fmap.get_root().render()
    linked = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", html)
    assert sorted(linked) == sorted([f"{LEAFLET}leaflet.js", f"{LEAFLET}leaflet.css"])
    # Left: the OpenStreetMap tiles (drawn where reachable) and their attribution link, nothing else.
    hosts = set(re.findall(r"https?://([^/\"'\\]+)", html))
    assert hosts == {"tile.openstreetmap.org", "www.openstreetmap.org"}
    # The stock folium map would have loaded Leaflet, jQuery, Bootstrap and Font Awesome from CDNs.
    stock = folium.Map()
    assert any(url.startswith("https://") for url in _loaded_links(stock))
    with pytest.raises(ValueError):
        serve_leaflet_from(stock, "../ui.leaflet.leaflet")


def test_the_map_carries_outlines_towns_and_the_offline_notice(store_con) -> None:
    fmap, points = _explorer_map(store_con)
    html = fmap.get_root().render()
    assert basemap.towns_json() in html and basemap.OFFLINE_NOTICE in html
    rows = json.loads(basemap.towns_json())
    assert len(rows) == len(towns.load_towns()) and rows[0] == ["Paris", 48.858, 2.341, 5]
    departments = json.loads(deck.constant_json(deck.load_outlines()))["features"]
    assert html.count('"type":"Feature"') == len(departments) >= 96
    assert "interactive: false" in html and "'tileerror'" in html
    assert html.count("L.circleMarker(") == 1 and len(points) > 0  # one callback for every row


def test_leaflet_is_served_from_the_package_folder() -> None:
    assert leaflet_url() == LEAFLET
    assert {"leaflet.js", "leaflet.css", "images"} <= {path.name for path in LEAFLET_DIR.iterdir()}
    assert "1.9.4" in (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")[:200]
