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
