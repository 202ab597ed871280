"""Named views in a real browser: save the explorer's view, find it on the home page, open it again.

The app is served with its views file in a temporary folder (``GRAVITE_VIEWS_FILE``), never data/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from core import views
from core.formatting import format_count
from tests.e2e.server import serve_app, settle

pytestmark = pytest.mark.e2e

FILTER = {"years": "2019-2020", "deps": "59", "lum": "3"}
NAME = "Nord, nuits sans éclairage"


@pytest.fixture(scope="module")
def served(full_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server of its own, started with the views file pointing at a temporary folder."""
    views_file = tmp_path_factory.mktemp("views") / "views.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(views.VIEWS_FILE_ENV, str(views_file))
        with serve_app(log_name="gravite-streamlit-views.log") as url:
            yield url, views_file


def _wait_for_metric(page, text: str) -> None:
    page.wait_for_function(
        "text => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === text)",
        arg=text, timeout=60_000,
    )


def test_a_saved_view_opens_the_explorer_again_from_the_home_page(page, served, store_con) -> None:
    url, views_file = served
    expected = store_con.execute(
        "SELECT count(*) FROM accidents WHERE dep = '59' AND year BETWEEN 2019 AND 2020 AND lum = 3").fetchone()[0]
    page.goto(f"{url}/explorer?" + "&".join(f"{k}={v}" for k, v in FILTER.items()))
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=60_000)
    _wait_for_metric(page, format_count(expected))
    settle(page, 60_000)

    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_label("Nom de la vue").fill(NAME)
    sidebar.get_by_role("button", name="Enregistrer cette vue").click()
    sidebar.get_by_text(f"Vue « {NAME} » enregistrée").wait_for(timeout=30_000)
    (saved,) = json.loads(views_file.read_text(encoding="utf-8"))["views"]
    assert (saved["page"], saved["params"]) == ("explorer", FILTER)

    page.goto(url)
    page.get_by_role("heading", name="Vues enregistrées").wait_for(timeout=60_000)
    page.get_by_role("link", name=NAME).click()
    page.wait_for_url(re.compile(r"/explorer\?"), timeout=30_000)
    assert dict(parse_qsl(urlsplit(page.url).query)) == FILTER
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=60_000)
    _wait_for_metric(page, format_count(expected))
    settle(page, 60_000)
    departments = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Départements")
    assert "59 – Nord" in departments.inner_text()
    light = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Lumière")
    assert "Nuit sans éclairage public" in light.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
