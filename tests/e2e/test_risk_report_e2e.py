"""The risk map's profile, planning report and print stylesheet in real Chromium, with nothing fetched from outside."""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlparse

import h3
import numpy as np
import pypdfium2 as pdfium
import pytest

from core.maps.legend import VIRIDIS
from tests.e2e.server import settle

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 120_000
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _offline(page) -> list[str]:
    """Abort every request to a host other than this machine's (as without internet); the list of those aborted."""
    aborted: list[str] = []

    def only_local(route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_local)
    return aborted


def _open_map(page, url: str) -> None:
    page.goto(url)
    page.get_by_test_id("risk-legend").wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_test_id("stTable").first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def test_clicking_a_hexagon_profiles_it(page, app_url: str, store_con) -> None:
    _offline(page)
    # The busiest resolution-7 cell of Paris, by SQL; the map is opened centred on it, so it is under the middle.
    cell_int = store_con.execute(
        "SELECT h3_7 FROM accidents WHERE dep = ? AND year BETWEEN ? AND ? AND h3_7 IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", ["75", 2018, 2020]).fetchone()[0]
    cell = h3.int_to_str(cell_int)
    latitude, longitude = h3.cell_to_latlng(cell)
    _open_map(page, f"{app_url}/risk-map?deps=75&res=7&view={latitude:.5f},{longitude:.5f},12")
    assert page.get_by_text("Quand ? Toute la vue").count() == 1
    time.sleep(1)  # deck.gl draws its picking buffer after the first frame
    box = page.get_by_test_id("stDeckGlJsonChart").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name=re.compile(f"Quand \\? Hexagone {cell}")).wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    heading = page.get_by_role("heading", name=re.compile("^Quand")).inner_text()
    assert heading.startswith(f"Quand ? Hexagone {cell} (Paris")
    page.get_by_role("button", name="Toute la vue").click()
    page.get_by_role("heading", name="Quand ? Toute la vue").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("[data-testid='stException']").count() == 0


def _hotspot_rows(page) -> list[list[str]]:
    """The hotspot table as the page shows it: each row's cells (rank first)."""
    table = page.get_by_test_id("stTable").first
    return [[_words(cell) for cell in row.locator("th, td").all_inner_texts()]
            for row in table.locator("tbody tr").all()]


def _viridis_pixels(image: np.ndarray) -> tuple[int, int]:
    """(pixels of a viridis class colour, classes seen) in an (h, w, 3) image."""
    counts = [int((np.abs(image - np.array(colour)).max(axis=-1) <= 6).sum()) for colour in VIRIDIS]
    return sum(counts), sum(count > 200 for count in counts)


def test_report_pdf_of_a_department_offline(page, app_url: str) -> None:
    _offline(page)
    _open_map(page, f"{app_url}/risk-map?deps=13")
    rows = _hotspot_rows(page)
    assert len(rows) == 20
    started = time.monotonic()
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Rapport PDF").click()
    elapsed = time.monotonic() - started
    assert re.fullmatch(r"gravite-carte-des-risques-\d{4}-\d{2}-\d{2}\.pdf", download.value.suggested_filename)
    pdf = pdfium.PdfDocument(download.value.path().read_bytes())
    assert len(pdf) >= 2
    text = _words(" ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
    assert "Années : 2018–2020" in text and "Départements : 13 – Bouches-du-Rhône" in text  # the filters in words
    assert "Indicateur : Accidents graves par an" in text
    for row in rows:  # the table the page shows, row by row
        assert " ".join(row) in text, row
    first_page = np.asarray(pdf[0].render(scale=2).to_pil().convert("RGB")).astype(int)
    coloured, classes = _viridis_pixels(first_page)
    assert coloured > 20_000 and classes >= 5, (coloured, classes)  # the hexagons, in the legend's colours
    assert elapsed < 60, f"{elapsed:.1f} s to make and fetch the report"
    assert page.locator("[data-testid='stException']").count() == 0


def _display(page, testid: str) -> str | None:
    return page.evaluate("(id) => { const e = document.querySelector(`[data-testid='${id}']`);"
                         " return e ? getComputedStyle(e).display : null; }", testid)


def test_printing_leaves_out_the_sidebar_and_buttons(page, app_url: str) -> None:
    _offline(page)
    _open_map(page, f"{app_url}/risk-map?deps=59")
    assert _display(page, "stSidebar") != "none"
    page.emulate_media(media="print")
    for hidden in ("stSidebar", "stHeader", "stDownloadButton", "stFormSubmitButton"):
        assert _display(page, hidden) in ("none", None), hidden
    assert _display(page, "stSidebar") == "none"
    main = page.get_by_test_id("stMainBlockContainer").bounding_box()
    for full in ("stDeckGlJsonChart", "stTable"):
        assert page.get_by_test_id(full).first.bounding_box()["width"] > 0.95 * main["width"], full
    printed = page.pdf(format="A4", landscape=True, print_background=True)
    document = pdfium.PdfDocument(io.BytesIO(printed))
    assert len(document) >= 2
    text = _words(" ".join(document[i].get_textpage().get_text_range() for i in range(len(document))))
    assert "Carte des risques" in text and "Points chauds" in text
    assert "Rapport PDF" not in text and "Appliquer" not in text  # buttons and sidebar left out
    page.emulate_media(media="screen")
    assert _display(page, "stSidebar") != "none"
