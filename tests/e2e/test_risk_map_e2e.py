"""The risk map in real Chromium: hexagons drawn, filters applied, shared links reproduced."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.server import serve_app

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000


def _wait_for_map(page) -> None:
    page.get_by_role("heading", name="Carte des risques").wait_for(timeout=TIMEOUT_MS)
    page.get_by_test_id("risk-legend").wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(timeout=TIMEOUT_MS)


def _hotspot_text(page) -> str:
    grid = page.locator("[data-testid='stTable']").first
    grid.wait_for(timeout=TIMEOUT_MS)
    return grid.inner_text()


def _deck_drew_hexagons(page) -> bool:
    """True when the deck.gl canvas has coloured (non-blank) pixels."""
    canvas = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first
    return bool(page.evaluate(
        """(canvas) => {
            const copy = document.createElement('canvas');
            copy.width = canvas.width; copy.height = canvas.height;
            const ctx = copy.getContext('2d');
            ctx.drawImage(canvas, 0, 0);
            const pixels = ctx.getImageData(0, 0, copy.width, copy.height).data;
            let coloured = 0;
            for (let i = 0; i < pixels.length; i += 4 * 97) {
                if (pixels[i + 3] > 0 && !(pixels[i] > 240 && pixels[i + 1] > 240 && pixels[i + 2] > 240)) coloured++;
            }
            return coloured > 50;
        }""",
        canvas.element_handle(),
    ))


def test_map_draws_and_weather_filter_changes_hotspots(page, app_url: str) -> None:
    page.goto(f"{app_url}/risk-map")
    _wait_for_map(page)
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stDeckGlJsonChart'] canvas\") !== null", timeout=TIMEOUT_MS)
    time.sleep(2)
    assert _deck_drew_hexagons(page)
    assert page.locator("[data-testid='stException']").count() == 0
    before = _hotspot_text(page)

    sidebar = page.get_by_test_id("stSidebar")
    weather = sidebar.get_by_test_id("stMultiSelect").filter(has_text="Conditions atmosphériques")
    weather.locator("input").click()
    page.get_by_role("option", name="Neige - grêle").click()
    page.keyboard.press("Escape")
    sidebar.get_by_role("button", name="Appliquer").click()
    page.wait_for_url("**atm=4**", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "(before) => { const g = document.querySelector(\"[data-testid='stTable']\");"
        " return g && g.innerText !== before; }", arg=before, timeout=TIMEOUT_MS)
    assert _hotspot_text(page) != before
    assert page.locator("[data-testid='stException']").count() == 0


def test_shared_link_gives_the_same_filters_back(page, app_url: str) -> None:
    page.goto(f"{app_url}/risk-map?atm=2,3&deps=13&metric=severity_rate&min=10")
    _wait_for_map(page)
    sidebar = page.get_by_test_id("stSidebar")
    weather = sidebar.get_by_test_id("stMultiSelect").filter(has_text="Conditions atmosphériques")
    assert "Pluie légère" in weather.inner_text() and "Pluie forte" in weather.inner_text()
    assert "Bouches-du-Rhône" in sidebar.get_by_test_id("stMultiSelect").filter(has_text="Départements").inner_text()
    assert "Taux de gravité (lissé)" in page.get_by_test_id("risk-legend").inner_text()
    assert "moins de 10 accidents" in page.get_by_test_id("risk-legend").inner_text()
    assert "Bouches-du-Rhône" in _hotspot_text(page)


def test_first_deep_link_of_a_fresh_server_lands_on_the_risk_map(page, full_store) -> None:
    with serve_app() as url:  # a server that has served nobody yet (the deep-link case)
        page.goto(f"{url}/risk-map?lum=3,4,5&metric=severe_per_year")
        _wait_for_map(page)
        assert "lum=3%2C4%2C5" in page.url or "lum=3,4,5" in page.url
        light = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Lumière")
        assert "Nuit sans éclairage public" in light.inner_text()
        time.sleep(1)
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0


def _map_pixels(page):
    """The map as an (height, width, 3) array, from a screenshot of the chart (the WebGL canvas as drawn)."""
    import io

    import numpy as np
    from PIL import Image

    chart = page.locator("[data-testid='stDeckGlJsonChart']").first
    return np.asarray(Image.open(io.BytesIO(chart.screenshot())).convert("RGB")).astype(int)


def _magenta(pixels):
    """Where the outline of the marked hotspot is (magenta, a colour of neither scale)."""
    return (pixels[..., 0] > 200) & (pixels[..., 1] < 90) & (pixels[..., 2] > 200)


def _colour_counts(pixels) -> tuple[int, int]:
    """(pixels of a colour scale, pixels of the marked-hotspot outline); greys, black and white are neither."""
    magenta = _magenta(pixels)
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1) > 40) & ~magenta
    return int(coloured.sum()), int(magenta.sum())


def _choose_first_hotspot(page) -> str:
    """Pick hotspot #1 in "Centrer la carte sur un point chaud"; its H3 cell.

    The list is opened again if a rerun closed it before it showed.
    """
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Centrer la carte sur un point chaud")
    picker.wait_for(timeout=TIMEOUT_MS)
    first = page.get_by_role("option").filter(has_text="1. ").first
    for _ in range(5):
        picker.click()
        try:
            first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    cell = first.inner_text().rsplit("(", 1)[1].rstrip(")")
    first.click()
    return cell


def test_centring_on_hotspot_one_keeps_coloured_cells_and_marks_it(page, app_url: str) -> None:
    page.goto(f"{app_url}/risk-map")
    _wait_for_map(page)
    cell = _choose_first_hotspot(page)
    page.wait_for_url(f"**mark={cell}**", timeout=TIMEOUT_MS)
    page.get_by_text(f"Point chaud choisi, entouré en magenta : {cell}").wait_for(timeout=TIMEOUT_MS)
    _wait_for_map(page)
    assert "res=5" in page.url  # the hotspot table's resolution, kept with the view
    deadline = time.monotonic() + 60
    coloured = magenta = 0
    while time.monotonic() < deadline and not (coloured > 5000 and magenta > 50):
        time.sleep(1)
        pixels = _map_pixels(page)
        coloured, magenta = _colour_counts(pixels)
    assert coloured > 5000, f"{coloured} coloured pixels: the map is grey"
    assert magenta > 50, "the chosen hotspot is not outlined"
    # The outline is around the centre of the map, where the view puts the chosen cell.
    height, width = pixels.shape[:2]
    rows, cols = _magenta(pixels).nonzero()
    assert abs(rows.mean() - height / 2) < height / 4 and abs(cols.mean() - width / 2) < width / 4
    table = _hotspot_text(page)
    assert cell in table and len(table.splitlines()) > 2
    assert page.locator("[data-testid='stException']").count() == 0
