"""The risk map in real Chromium: hexagons drawn, filters applied, shared links reproduced."""

from __future__ import annotations

import time

import pytest

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
