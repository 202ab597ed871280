"""The explorer in a real browser: filter in the form, read the figure, download the accidents."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pyarrow.parquet as pq
import pytest

from core.explore.accidents_map import accidents_map
from core.explore.charts import COLOURS
from core.explore.counts import figures
from core.explore.points import map_points
from core.filters import AccidentFilter
from core.formatting import format_count
from tests.e2e.server import block_outside
from ui.leaflet import LEAFLET_DIR

pytestmark = pytest.mark.e2e


def _accidents_shown(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Accidents").first
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def test_filter_then_download_as_many_rows_as_accidents_shown(page, app_url: str, store_con, tmp_path: Path) -> None:
    page.goto(f"{app_url}/explorer")
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=60_000)
    everything = format_count(figures(store_con, AccidentFilter()).accidents)
    page.wait_for_function(
        "text => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === text)",
        arg=everything, timeout=30_000,
    )

    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Départements").click()
    page.keyboard.type("Lozère")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    sidebar.get_by_role("button", name="Appliquer").click()
    page.wait_for_url(re.compile(r"deps=48"), timeout=30_000)
    lozere = format_count(figures(store_con, AccidentFilter(deps=("48",))).accidents)
    page.wait_for_function(
        "text => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === text)",
        arg=lozere, timeout=30_000,
    )
    shown = int(re.sub(r"\D", "", _accidents_shown(page)))

    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Télécharger (CSV, ZIP)").click()
    assert download.value.suggested_filename == "accidents-csv.zip"
    zip_path = tmp_path / "accidents-csv.zip"
    download.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("accidents.csv").decode("utf-8-sig")), delimiter=";"))
        filters = archive.read("filtres.txt").decode("utf-8-sig")
    assert len(rows) == shown == 1238
    assert {row["Département (code)"] for row in rows} == {"48"}
    assert "Départements : 48 – Lozère\n" in filters

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Télécharger (Excel)").click()
    xlsx_path = tmp_path / "accidents.xlsx"
    download.value.save_as(xlsx_path)
    book = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert book.sheetnames == ["Accidents", "Usagers", "Véhicules", "Filtres"]
    assert book["Accidents"].max_row == shown + 1  # the header, then one row per accident

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Télécharger (Parquet)").click()
    parquet_path = tmp_path / "accidents.parquet"
    download.value.save_as(parquet_path)
    assert pq.read_metadata(parquet_path).num_rows == shown
    assert page.locator("[data-testid='stException']").count() == 0


def test_a_shared_link_reopens_the_extended_filter(page, app_url: str, store_con) -> None:
    page.goto(f"{app_url}/explorer?deps=48&user_categories=3")
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=60_000)
    expected = figures(store_con, AccidentFilter(deps=("48",), user_categories=(3,))).accidents
    page.wait_for_function(
        "text => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === text)",
        arg=format_count(expected), timeout=30_000,
    )
    categories = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(
        has_text="Catégorie d'usager")
    assert "Piéton" in categories.inner_text()


def test_department_choropleth_draws_every_metropolitan_department_offline(page, app_url: str) -> None:
    # Every request off this server fails, as on a machine without internet: the departments come
    # from assets/ and are drawn on plain axes, with nothing to fetch from plotly's CDN.
    outside = block_outside(page, app_url)
    page.goto(f"{app_url}/explorer?years=2020-2020")
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Départements").click()
    # One hover marker inside each of the 96 metropolitan departments, over the filled outlines.
    # Exactly 96 once drawn (a rerun may show the previous figure beside the new one for a moment).
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot path.point').length === 96",
                           timeout=30_000)
    assert page.locator(".js-plotly-plot path.js-fill").count() >= 2
    assert not any("plot.ly" in url for url in outside)


def test_map_popups_are_built_in_the_browser(browser, store_con) -> None:
    """The markers' script, run in Chromium on the Leaflet the app serves, makes one circle marker per accident
    on a canvas, with its popup and colour, killed drawn last (on top)."""
    points = map_points(store_con, AccidentFilter(deps=("48",), years=(2020, 2020)))
    fmap = accidents_map(points, leaflet_url="../leaflet/")
    fmap.get_root().render()
    (markers,) = [c for c in fmap._children.values() if c._name == "Accidents"]
    script = markers._template.module.script(markers)
    page = browser.new_page()
    try:
        page.set_content("<html><body><div id='m' style='width:600px;height:400px'></div></body></html>")
        page.add_script_tag(path=str(LEAFLET_DIR / "leaflet.js"))
        page.evaluate(f"window[{json.dumps(fmap.get_name())}] = L.map('m').setView([44.5, 3.5], 9);")
        page.add_script_tag(content=script)
        group = f"window[{json.dumps(markers.get_name())}]"
        drawn = page.evaluate(f"""() => {group}.getLayers().map(m => ({{
            lat: m.getLatLng().lat, lon: m.getLatLng().lng, colour: m.options.color,
            canvas: m.options.renderer instanceof L.Canvas, popup: m.getPopup().getContent().textContent}}))""")
        assert len(drawn) == len(points) > 0 and all(marker["canvas"] for marker in drawn)
        (cyclist,) = [m for m in drawn if (m["lat"], m["lon"]) == (44.46588, 3.34494)]
        assert "Date : 30/01/2020 18:25" in cyclist["popup"]
        assert "Lumière : Nuit avec éclairage public allumé" in cyclist["popup"]
        assert "Véhicules : Bicyclette" in cyclist["popup"]
        assert "Bilan : 1 tué(s), 0 blessé(s) hospitalisé(s)" in cyclist["popup"]
        assert cyclist["colour"] == COLOURS["killed"]
        killed = sum(json.loads(marker)[8] > 0 for marker in points["marker"])
        assert 0 < killed < len(drawn)
        assert {m["colour"] for m in drawn[-killed:]} == {COLOURS["killed"]}  # added last: drawn on top
        assert COLOURS["killed"] not in {m["colour"] for m in drawn[:-killed]}
    finally:
        page.close()


def test_a_markdown_link_in_the_url_shows_as_text(page, app_url: str) -> None:
    hostile = "[cliquez ici](https://evil.example) ![x](https://evil.example/i.png)"
    page.goto(f"{app_url}/explorer?deps={quote(hostile + ',48')}")
    alert = page.locator("[data-testid='stAlert']").filter(has_text="Départements")
    alert.wait_for(timeout=60_000)
    assert "[cliquez ici](https:" in alert.inner_text().replace("\u2060", "")
    assert page.locator("a[href*='evil'], img[src*='evil']").count() == 0
    page.wait_for_url(re.compile(r"/explorer\?deps=48$"))  # the link now says what is applied
