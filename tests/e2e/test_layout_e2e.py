"""The explorer and the risk map as drawn in Chromium at 1,400 × 1,000: nothing cut, numbers in French.

Streamlit's tables are drawn on a canvas: what a reader sees is read here from the canvas's own text calls
(``fillText``, wrapped before the page loads), not from the accessible copy of the cells, which holds the raw
values.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.server import settle

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000
NNBSP = "\u202f"
#: Records every text drawn on a canvas, with its x and the canvas width (CSS pixels).
RECORD_CANVAS_TEXT = """
window.__drawn = [];
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    window.__drawn.push({text: String(text), x: x, width: this.canvas.clientWidth});
    return fillText.call(this, text, x, y, ...rest);
};
"""
#: Elements whose content is wider than their box (cut, or ended by an ellipsis).
CUT_JS = "elements => elements.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText || e.value)"


def _french_count(n: int) -> str:
    return f"{n:,}".replace(",", NNBSP)


def test_risk_map_controls_are_whole_in_a_1400_px_window(page, app_url: str) -> None:
    page.goto(f"{app_url}/risk-map")
    conditions = page.get_by_role("radiogroup", name="Conditions (pluie / sec, nuit / jour)")
    conditions.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    buttons = conditions.get_by_role("radio")
    assert buttons.all_inner_texts() == ["Toutes", "Pluie", "Temps sec", "Nuit", "Plein jour", "Chaussée mouillée"]
    column = page.locator("[data-testid=stColumn]").filter(has=conditions).last.bounding_box()
    width = page.viewport_size["width"]
    for button in buttons.all():
        box = button.bounding_box()
        assert column["x"] <= box["x"] and box["x"] + box["width"] <= min(column["x"] + column["width"], width)
    assert buttons.evaluate_all(CUT_JS) == []
    assert conditions.evaluate_all(CUT_JS) == []

    toggle_label = page.locator("[data-testid=stCheckbox]").filter(has_text="Masquer sous le minimum")
    assert toggle_label.locator("[data-testid=stMarkdownContainer]").evaluate_all(CUT_JS) == []
    resolution = page.get_by_role("combobox", name="Résolution H3")
    assert resolution.input_value() == "Auto (selon l'étendue)"
    assert resolution.evaluate_all(CUT_JS) == []
    resolution.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=TIMEOUT_MS)
    texts = options.all_inner_texts()
    assert "6 (arête ~3,2\u00a0km)" in texts and "9 (arête ~170\u00a0m)" in texts
    assert not [text for text in texts if re.search(r"\d\.\d", text)]


def test_explorer_yearly_table_and_headline_read_french(page, app_url: str, store_con) -> None:
    page.add_init_script(RECORD_CANVAS_TEXT)
    page.goto(f"{app_url}/explorer?years=2017-2020")
    page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    page.wait_for_function("() => window.__drawn.some(d => d.text === 'Accidents graves (%)')", timeout=TIMEOUT_MS)
    drawn = {d["text"] for d in page.evaluate("window.__drawn")}
    accidents_2019, severe_2019 = store_con.execute(
        "SELECT count(DISTINCT acc_id), count(DISTINCT acc_id) FILTER (WHERE grav IN (2, 3)) FROM users "
        "WHERE acc_id // 100000000 = ?", [2019]).fetchone()
    assert _french_count(accidents_2019) in drawn
    assert f"{100 * severe_2019 / accidents_2019:.1f}".replace(".", ",") in drawn
    assert not [text for text in drawn if re.fullmatch(r"[\d\s]*\d\.\d+", text)]

    hospitalised = page.locator("[data-testid=stMetric]").filter(has_text="Blessés hospitalisés")
    delta = hospitalised.locator("[data-testid=stMetricDelta]")
    assert delta.inner_text() == "non comparable (2018)"
    assert delta.locator("svg").count() == 0  # no arrow: an arrow up read as a rise
    red, green, blue = map(int, re.findall(r"\d+", delta.evaluate("e => getComputedStyle(e).color"))[:3])
    assert max(red, green, blue) - min(red, green, blue) < 30  # grey, neither red nor green
    killed = page.locator("[data-testid=stMetric]").filter(has_text="Tués")
    assert killed.locator("[data-testid=stMetricDelta] svg").count() == 1


def test_explorer_table_shows_the_toll_without_scrolling(page, app_url: str) -> None:
    page.add_init_script(RECORD_CANVAS_TEXT)
    page.goto(f"{app_url}/explorer?deps=48")
    page.get_by_role("heading", name="Explorer les accidents").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("tab", name="Tableau").click()
    page.get_by_text("Page 1 sur 25").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.__drawn.some(d => d.text === 'Accident')", timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    drawn = {d["text"]: d for d in page.evaluate("window.__drawn")}
    for header in ("Tués", "Blessés hospitalisés", "Blessés légers"):
        assert header in drawn and drawn[header]["x"] < drawn[header]["width"], header
