"""The severity page in real Chromium: an operator types a real 2020 accident, or nothing, and reads the estimate.

The expected figures come from ``core.model.predict.predict_one`` on the committed model,
called here on the incident read from the store.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

import pytest

from core import codebook, places
from core.dispatch import intake
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from tests.test_severity_page import first_known_2020_accident

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000
CODED_LABELS = {"obs": "Obstacle fixe heurté", "col": "Type de collision", "atm": "Conditions atmosphériques",
                "lum": "Luminosité", "surf": "État de la surface", "agg": "Agglomération", "catr": "Catégorie de route",
                "int": "Intersection"}


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


def _open(page, app_url: str) -> None:
    page.goto(f"{app_url}/severity")
    page.get_by_role("heading", name="Estimation de gravité").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Estimer la gravité").wait_for(timeout=TIMEOUT_MS)


def _choose(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def _wait_enabled(page, label: str) -> None:
    page.wait_for_function(
        "(label) => { const e = document.querySelector(`input[aria-label=\"${label}\"]`); return e && !e.disabled; }",
        arg=label, timeout=TIMEOUT_MS)


def _estimate(page) -> tuple[float, str]:
    headline = page.get_by_test_id("severity-estimate")
    headline.wait_for(timeout=TIMEOUT_MS)
    return float(headline.get_attribute("data-p-severe")), headline.inner_text()


def _fill(page, incident: dict) -> None:
    dep = incident["dep"]
    _choose(page, "Département", f"{dep} – {places.department_name(dep)}")
    _wait_enabled(page, "Commune")
    _choose(page, "Commune", f"{places.commune_name(incident['com']) or 'Commune ' + incident['com']} "
                             f"({incident['com']})")
    coordinates = page.get_by_label("Coordonnées GPS (latitude, longitude)")
    coordinates.fill(f"{incident['lat']!r}, {incident['lon']!r}")
    coordinates.press("Enter")
    page.wait_for_function(  # the rerun after Enter puts the point on the map
        "() => document.querySelector(\"input[aria-label='Coordonnées GPS (latitude, longitude)']\").value !== ''",
        timeout=TIMEOUT_MS)
    when = dt.datetime.fromisoformat(incident["datetime"])
    page.get_by_text("Autre date et heure").click()
    page.get_by_role("spinbutton", name="day, Date (si autre moment)").click()
    page.keyboard.type(when.strftime("%d%m%Y"))
    page.get_by_role("spinbutton", name="hour, Heure (si autre moment)").click()
    page.keyboard.type(when.strftime("%H%M"))
    counts: dict[int, int] = {}
    for code in incident["vehicles"]:
        counts[code] = counts.get(code, 0) + 1
    for code, count in counts.items():
        if code in intake.MAIN_VEHICLES:
            page.get_by_label(intake.vehicle_label(code), exact=True).fill(str(count))
        else:
            _choose(page, "Autres véhicules (un de chaque)", intake.vehicle_label(code))
            page.keyboard.press("Escape")
    page.get_by_label("Piétons", exact=True).fill(str(incident["n_pedestrians"]))
    page.get_by_label("Personnes impliquées (piétons compris)", exact=True).fill(str(incident["n_people"]))
    for name, label in CODED_LABELS.items():
        _choose(page, label, codebook.label(name, incident[name]))
    _choose(page, "Vitesse maximale autorisée", f"{incident['vma']} km/h")


def test_real_2020_accident_gives_the_model_estimate(page, app_url: str, store_con, severity) -> None:
    incident = first_known_2020_accident(store_con)
    _open(page, app_url)
    _fill(page, incident)
    page.get_by_role("button", name="Estimer la gravité").click()
    shown, text = _estimate(page)
    expected = predict_one(severity, incident)
    assert shown == pytest.approx(expected["p_severe"], abs=1e-6)
    assert f"{round(expected['p_severe'] * 100)}\u00a0%" in text
    chosen = severity.card["thresholds"]["severe"]
    band = ("élevé" if expected["p_severe"] >= chosen["precision_75"]["threshold"]
            else "moyen" if expected["p_severe"] >= chosen["recall_95"]["threshold"] else "faible")
    assert f"Risque {band}" in text
    assert "Sur 100 accidents passés comparables" in page.locator("body").inner_text()
    similar = page.locator("[data-testid='stTable']").filter(has_text="Bilan")
    similar.locator("tbody tr").nth(7).wait_for(timeout=TIMEOUT_MS)
    assert similar.locator("tbody tr").count() == 8
    assert page.locator("[data-testid='stException']").count() == 0
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Télécharger les estimations (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert len(rows) == 1
    typed = json.loads(rows[0]["incident_json"])
    assert sorted(typed.pop("vehicles")) == sorted(incident["vehicles"])
    assert typed == {k: v for k, v in incident.items() if k != "vehicles"}
    assert float(rows[0]["p_grave"]) == pytest.approx(expected["p_severe"], abs=1e-4)


def test_every_field_unknown_gives_an_estimate_with_the_low_support_warning(page, app_url: str, severity) -> None:
    _open(page, app_url)
    page.get_by_test_id("stRadio").get_by_text("Inconnu", exact=True).click()  # the moment
    page.get_by_role("button", name="Estimer la gravité").click()
    shown, _ = _estimate(page)
    assert shown == pytest.approx(predict_one(severity, {})["p_severe"], abs=1e-6)
    warning = page.get_by_test_id("stAlertContentWarning")
    warning.wait_for(timeout=TIMEOUT_MS)
    assert "Peu d’accidents comparables" in warning.inner_text() and "aucun fait clé" in warning.inner_text()


def _click_map_until(page, check: str) -> None:
    """Click the middle of the map until ``check`` (a JS predicate) holds; a fresh map needs a few seconds."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        chart = page.get_by_test_id("stDeckGlJsonChart")
        chart.locator("canvas").first.wait_for(timeout=TIMEOUT_MS)
        box = chart.bounding_box()
        if box is None:  # the rerun that follows a pick replaces the chart element: wait for the new one
            time.sleep(0.5)
            continue
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(check, timeout=4000)
            return
        except Exception:  # noqa: BLE001 - the map was not ready: click again
            time.sleep(1)
    raise AssertionError(f"the map click never satisfied {check}")


def test_a_click_on_the_map_picks_the_department_then_the_point(page, app_url: str) -> None:
    _open(page, app_url)
    _click_map_until(page, "() => !document.querySelector(\"input[aria-label='Département']\").value.startsWith("
                           "'Inconnu') && document.querySelector(\"input[aria-label='Département']\").value !== ''")
    chosen = page.get_by_role("combobox", name="Département", exact=True).input_value()
    dep = chosen.split(" – ")[0]
    assert places.department_name(dep) in chosen
    _click_map_until(page, "() => document.querySelector(\"input[aria-label='Coordonnées GPS (latitude, "
                           "longitude)']\").value !== ''")
    latitude, longitude = intake.parse_coordinates(
        page.get_by_label("Coordonnées GPS (latitude, longitude)").input_value())
    min_lon, min_lat, max_lon, max_lat = places.department_bboxes()[dep]
    assert min_lat - 0.05 <= latitude <= max_lat + 0.05 and min_lon - 0.05 <= longitude <= max_lon + 0.05
    assert page.locator("[data-testid='stException']").count() == 0
