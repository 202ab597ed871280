"""The home page in a real browser shows the store's yearly figures."""

from __future__ import annotations

import pytest

from core.formatting import format_count

pytestmark = pytest.mark.e2e


def test_home_shows_yearly_killed_from_the_store(page, app_url: str, store_con) -> None:
    page.goto(app_url)
    page.get_by_role("heading", name="Gravité").wait_for(timeout=30_000)
    page.get_by_text("Licence Ouverte").first.wait_for()
    killed_2020 = store_con.execute("SELECT sum(n_killed) FROM accidents WHERE year = 2020").fetchall()[0][0]
    row = page.locator("table tr", has_text="2020")
    row.wait_for()
    assert format_count(killed_2020) in row.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.parametrize("path", ["/home", "/accueil"])
def test_home_addresses_open_the_home_page_without_a_dialog(page, app_url: str, path: str) -> None:
    page.goto(app_url + path)
    page.get_by_role("heading", name="Gravité").wait_for(timeout=30_000)
    page.get_by_text("Licence Ouverte").first.wait_for()
    page.wait_for_url(app_url + "/")
    assert page.locator("[role='dialog']").count() == 0
    assert page.get_by_text("Page not found").count() == 0


def test_an_unknown_address_says_so_in_french_with_the_way_back(page, app_url: str) -> None:
    page.goto(app_url + "/cartes")
    page.get_by_role("heading", name="Page introuvable").wait_for(timeout=30_000)
    assert "« /cartes »" in page.locator("[data-testid='stAlert']").inner_text()
    assert page.locator("[role='dialog']").count() == 0 and page.get_by_text("Page not found").count() == 0
    page.locator("[data-testid='stMain']").get_by_role("link", name="Carte des risques").click()
    page.get_by_role("heading", name="Carte des risques").wait_for(timeout=60_000)
