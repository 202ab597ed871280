"""The severity page in real Chromium: an operator types a call (with a mouse, by keyboard only, on a phone).

The expected figures come from ``core.model.predict.predict_one`` on the committed model,
called here on the incident read from the store, or the incident the session exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

import pytest

from core import codebook, places
from core.dispatch import bands, intake
from core.dispatch.ecall_form import MAX_FORM_PEOPLE
from core.features import words
from core.formatting import format_percent
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from tests.e2e.server import settle
from tests.test_severity_page import first_known_2020_accident

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 90_000
CODED_LABELS = {"obs": "Obstacle fixe heurté", "col": "Type de collision", "atm": "Conditions atmosphériques",
                "lum": "Luminosité", "surf": "État de la surface", "catr": "Catégorie de route",
                "int": "Intersection"}
CURSOR_IN_DEPARTMENT = "() => document.activeElement?.getAttribute('aria-label') === 'Département'"
PEOPLE_PANEL = "Décrire les personnes (âge, sexe, équipement) si l’appelant le dit"
#: Each fact of a described person: its label on the page (then the person's number) and its codes (None: the age).
PERSON_LABELS = {"role": ("Rôle", "catu"), "age": ("Âge (ans)", None), "sex": ("Sexe", "sexe"),
                 "equipment": ("Équipement utilisé", "secu1")}
#: The panel is unfolded and done moving: a drop-down list opened while it unfolds closes at once (the unfolding
#: scrolls the panel, and the list closes when its field scrolls).
PANEL_OPEN_JS = """(title) => { const panel = [...document.querySelectorAll('[data-testid=stExpander] details')]
  .find(d => d.querySelector('summary')?.textContent.includes(title));
  return panel?.open && panel.getAnimations({subtree: true}).length === 0; }"""
#: Every field of the form as the page shows it: label -> shown text, input values, checked options.
FIELDS_JS = r"""() => {
  const out = {};
  const kinds = ['stSelectbox', 'stNumberInput', 'stTextInput', 'stRadio', 'stDateInput', 'stTimeInput'];
  for (const kind of kinds) {
    for (const widget of document.querySelectorAll(`[data-testid=stMain] [data-testid=${kind}]`)) {
      const text = (node) => (node?.textContent || '').replace(/\s+/g, ' ').trim();  // hidden or not
      const label = text(widget.querySelector('[data-testid=stWidgetLabel]'))
        || widget.querySelector('[aria-label]')?.getAttribute('aria-label');
      const inputs = [...widget.querySelectorAll('input')];
      out[label] = {
        text: text(widget).replace(label, '').trim(),
        values: inputs.filter(i => i.type !== 'radio').map(i => i.value),
        checked: inputs.filter(i => i.type === 'radio' && i.checked).map(i => text(i.closest('label'))),
        segments: [...widget.querySelectorAll('[role=spinbutton]')].map(s => text(s)),
      };
    }
  }
  return out;
}"""


def read_fields(page) -> dict:
    """The form's widgets (:data:`FIELDS_JS`), read until two reads 300 ms apart agree.

    A read while the page is still drawing (even once the script has finished, the browser may lag) can miss
    a widget or see it half-drawn; a test comparing two snapshots would then see a change that is not there,
    or miss one that is.
    """
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    last = page.evaluate(FIELDS_JS)
    while True:
        page.wait_for_timeout(300)
        current = page.evaluate(FIELDS_JS)
        if current == last or time.monotonic() > deadline:
            return current
        last = current


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


#: Number inputs of the form: everyday vehicles, the BAAC list, pedestrians and people.
NUMBER_INPUTS = len(intake.EVERYDAY_VEHICLES) + len(intake.BAAC_VEHICLES) + 2


def _open(page, app_url: str) -> None:
    page.goto(f"{app_url}/severity")
    page.get_by_role("heading", name="Estimation de gravité").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Estimer la gravité").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("(n) => document.querySelectorAll('[data-testid=stNumberInput]').length >= n",
                           arg=NUMBER_INPUTS, timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)


def _choose(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def _option(page, group: str, option: str):
    return page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True)


def _wait_enabled(page, label: str) -> None:
    page.wait_for_function(
        "(label) => { const e = document.querySelector(`input[aria-label=\"${label}\"]`); return e && !e.disabled; }",
        arg=label, timeout=TIMEOUT_MS)


def _estimate(page) -> tuple[float, str]:
    headline = page.get_by_test_id("severity-estimate")
    headline.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    return float(headline.get_attribute("data-p-severe")), headline.inner_text()


def _exported(page) -> list[dict]:
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Télécharger les estimations (CSV)").click()
    return list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))


def _fill(page, incident: dict) -> None:
    dep = incident["dep"]
    _choose(page, "Département", f"{dep} – {places.department_name(dep)}")
    _wait_enabled(page, "Commune")
    _choose(page, "Commune", f"{places.commune_name(incident['com']) or 'Commune ' + incident['com']} "
                             f"({incident['com']})")
    coordinates = page.get_by_label("Coordonnées GPS (latitude, longitude)")
    coordinates.fill(f"{incident['lat']!r}, {incident['lon']!r}")
    coordinates.press("Enter")
    page.wait_for_function(  # the rerun after Enter keeps the point
        "() => document.querySelector(\"input[aria-label='Coordonnées GPS (latitude, longitude)']\").value !== ''",
        timeout=TIMEOUT_MS)
    counts: dict[int, int] = {}
    for code in incident["vehicles"]:
        counts[code] = counts.get(code, 0) + 1
    page.get_by_text("Liste BAAC complète (catégorie précise)").click()
    for code, count in counts.items():
        page.get_by_label(words.vehicle_label(code), exact=True).fill(str(count))
    page.get_by_label("Piétons", exact=True).fill(str(incident["n_pedestrians"]))
    page.get_by_label("Personnes impliquées (piétons compris)", exact=True).fill(str(incident["n_people"]))
    _option(page, "Agglomération", codebook.label("agg", incident["agg"])).click()
    if incident.get("people"):
        _describe(page, incident["people"])
    for name, label in CODED_LABELS.items():
        _choose(page, label, codebook.label(name, incident[name]))
    _option(page, "Vitesse maximale autorisée", f"{incident['vma']} km/h").click()
    when = dt.datetime.fromisoformat(incident["datetime"])
    page.get_by_text("Autre date et heure").click()
    page.get_by_role("spinbutton", name="day, Date (si autre moment)").click()
    page.keyboard.type(when.strftime("%d%m%Y"))
    page.get_by_role("spinbutton", name="hour, Heure (si autre moment)").click()
    page.keyboard.type(when.strftime("%H%M"))


def _describe(page, people: list[dict]) -> None:
    """Unfold "Décrire les personnes" and give each person's facts, one row per person."""
    page.get_by_text(PEOPLE_PANEL).click()
    page.wait_for_function(PANEL_OPEN_JS, arg=PEOPLE_PANEL, timeout=TIMEOUT_MS)
    for number, person in enumerate(people, start=1):
        for fact, value in person.items():
            label, variable = PERSON_LABELS[fact]
            if variable is None:
                page.get_by_label(f"{label} ({number})", exact=True).fill(str(value))
            else:
                _choose(page, f"{label} ({number})", codebook.label(variable, value))


def _band(severity: SeverityModel, p_severe: float) -> str:
    chosen = severity.card.thresholds.severe
    return ("élevé" if p_severe >= chosen["precision_75"].threshold
            else "moyen" if p_severe >= chosen["recall_95"].threshold else "faible")


def test_real_2020_accident_gives_the_model_estimate(page, app_url: str, store_con, severity) -> None:
    # Typed without its people (described in the test below).
    incident = {k: v for k, v in first_known_2020_accident(store_con).items() if k != "people"}
    _open(page, app_url)
    _fill(page, incident)
    page.get_by_role("button", name="Estimer la gravité").click()
    shown, text = _estimate(page)
    expected = predict_one(severity, incident)
    assert shown == pytest.approx(expected["p_severe"], abs=1e-6)
    assert f"{round(expected['p_severe'] * 100)}\u00a0%" in text
    assert f"Risque {_band(severity, expected['p_severe'])}" in text
    assert f"{bands.out_of_100(expected)} sur 100" in text and "parmi les accidents corporels" in text
    similar = page.locator("[data-testid='stTable']").filter(has_text="Bilan")
    similar.locator("tbody tr").nth(7).wait_for(timeout=TIMEOUT_MS)
    assert similar.locator("tbody tr").count() == 8
    assert page.locator("[data-testid='stException']").count() == 0
    rows = _exported(page)
    assert len(rows) == 1
    typed = json.loads(rows[0]["incident_json"])
    assert sorted(typed.pop("vehicles")) == sorted(incident["vehicles"])
    assert typed == {k: v for k, v in incident.items() if k != "vehicles"}
    assert float(rows[0]["p_grave"]) == pytest.approx(expected["p_severe"], abs=1e-4)


def test_real_2020_accident_with_its_people_described(page, app_url: str, store_con, severity) -> None:
    """The same accident with its driver and its pedestrian typed in "Décrire les personnes": the page answers as
    the model does with them, not as without them."""
    incident = first_known_2020_accident(store_con)
    assert 1 <= len(incident["people"]) <= MAX_FORM_PEOPLE  # the rows of the form
    expected = predict_one(severity, incident)
    without = predict_one(severity, {k: v for k, v in incident.items() if k != "people"})
    assert round(expected["p_severe"] * 100) != round(without["p_severe"] * 100)  # the people change what is shown
    _open(page, app_url)
    _fill(page, incident)
    page.get_by_role("button", name="Estimer la gravité").click()
    shown, text = _estimate(page)
    assert shown == pytest.approx(expected["p_severe"], abs=1e-6)
    assert shown != pytest.approx(without["p_severe"], abs=1e-3)
    assert f"{round(expected['p_severe'] * 100)}\u00a0%" in text
    assert f"Risque {_band(severity, expected['p_severe'])}" in text
    assert f"{bands.out_of_100(expected)} sur 100" in text
    described = {factor["field"]: factor for factor in expected["top_factors"]}["people"]
    factors = page.get_by_test_id("stHtml").filter(has_text="Ce qui augmente le risque").inner_text()
    assert f"{described['label']} : {described['value']}" in factors  # "Conducteur, 23 ans, Masculin ; Piéton…"
    assert page.locator("[data-testid='stException']").count() == 0
    rows = _exported(page)
    typed = json.loads(rows[0]["incident_json"])
    assert sorted(typed.pop("vehicles")) == sorted(incident["vehicles"])
    assert typed == {k: v for k, v in incident.items() if k != "vehicles"}  # the people in their order
    assert float(rows[0]["p_grave"]) == pytest.approx(expected["p_severe"], abs=1e-4)


def test_an_empty_call_shows_the_base_rate_not_an_estimate(page, app_url: str, severity) -> None:
    _open(page, app_url)
    page.get_by_role("button", name="Estimer la gravité").click()
    block = page.get_by_test_id("severity-base-rate")
    block.wait_for(timeout=TIMEOUT_MS)
    year, share = bands.base_rate(severity.card)
    assert f"{format_percent(share, 0)} des accidents corporels de {year}" in block.inner_text()
    assert page.get_by_test_id("severity-estimate").count() == 0 and page.get_by_test_id("severity-band").count() == 0
    assert page.get_by_text("Peu d’accidents comparables").count() == 0
    assert page.get_by_text("il faut connaître le lieu").count() == 1


def test_new_call_gives_back_a_fresh_page(page, app_url: str) -> None:
    """Part of a call typed with the mouse, an estimate, then "Nouvel appel": every field as on a fresh page."""
    _open(page, app_url)
    page.wait_for_function(CURSOR_IN_DEPARTMENT, timeout=TIMEOUT_MS)
    fresh = read_fields(page)
    assert len(fresh) > 50  # place, everyday vehicles, the BAAC list, people, conditions, time
    _choose(page, "Département", "13 – Bouches-du-Rhône")
    _wait_enabled(page, "Commune")
    _choose(page, "Commune", "Marseille 6e Arrondissement (13206)")
    page.get_by_label("Coordonnées GPS (latitude, longitude)").fill("43.2879, 5.3912")
    page.get_by_label("Coordonnées GPS (latitude, longitude)").press("Enter")
    page.locator("[data-testid=stNumberInput]").filter(
        has=page.get_by_label("Moto", exact=True)).locator("[data-testid=stNumberInputStepUp]").click()
    page.get_by_text("Liste BAAC complète (catégorie précise)").click()
    page.get_by_label("Tramway", exact=True).fill("1")
    page.get_by_label("Piétons", exact=True).fill("1")
    page.get_by_label("Personnes impliquées (piétons compris)", exact=True).fill("3")
    _option(page, "Agglomération", "En agglomération").click()
    _choose(page, "Luminosité", "Nuit sans éclairage public")
    _choose(page, "Conditions atmosphériques", "Pluie forte")
    _option(page, "Vitesse maximale autorisée", "50 km/h").click()
    page.get_by_text("Autre date et heure").click()
    page.get_by_role("button", name="Estimer la gravité").click()
    _estimate(page)
    filled = read_fields(page)
    changed = {label for label in fresh if filled[label] != fresh[label]}
    assert {"Département", "Commune", "Moto", "Tramway", "Piétons", "Agglomération", "Luminosité",
            "Conditions atmosphériques", "Vitesse maximale autorisée"} <= changed
    page.get_by_role("button", name="Nouvel appel").click()
    page.get_by_test_id("severity-estimate").wait_for(state="detached", timeout=TIMEOUT_MS)
    page.wait_for_function(CURSOR_IN_DEPARTMENT, timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    after = read_fields(page)
    time_label = "Heure (si autre moment)"
    assert {k: v for k, v in after.items() if k != time_label} == {k: v for k, v in fresh.items() if k != time_label}
    shown = [dt.datetime.strptime("".join(snapshot[time_label]["segments"]), "%H%M") for snapshot in (fresh, after)]
    assert dt.timedelta(0) <= shown[1] - shown[0] <= dt.timedelta(minutes=3) or shown[1] < shown[0]  # midnight
    assert page.get_by_text("Remplissez ce que l’appelant sait").count() == 1
    assert page.locator("[data-testid='stTable']").filter(has_text="Bande").locator("tbody tr").count() == 1


def test_new_call_by_its_shortcut_from_inside_a_field(page, app_url: str) -> None:
    _open(page, app_url)
    people = page.get_by_label("Personnes impliquées (piétons compris)", exact=True)
    people.fill("4")
    page.get_by_label("Voiture", exact=True).fill("2")
    page.get_by_label("Voiture", exact=True).focus()
    page.keyboard.press("Alt+n")
    page.wait_for_function(
        "() => document.querySelector(\"input[aria-label='Voiture']\").value === '0' && document.querySelector("
        "\"input[aria-label='Personnes impliquées (piétons compris)']\").value === ''", timeout=TIMEOUT_MS)
    assert people.input_value() == ""


def _focused(page) -> dict:
    """The focused element's label and its place on the page (scrolling undone)."""
    return page.evaluate("""() => { const e = document.activeElement; const box = e.getBoundingClientRect();
      let scrolled = 0; for (let p = e.parentElement; p; p = p.parentElement) scrolled += p.scrollTop;
      return {label: e.getAttribute('aria-label') || e.closest('label')?.innerText || e.innerText,
              x: box.x, y: box.y + scrolled}; }""")


def _tab_to(page, label: str, *, most: int = 40) -> int:
    """Press Tab until ``label`` has the focus; the number of presses."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if _focused(page)["label"] == label:
            return presses
    raise AssertionError(f"{label} never got the focus")


def _open_and_type_the_nord(page, app_url: str) -> None:
    """A fresh page, "59" typed where the cursor waits ("Département") and Enter: the Nord's communes ready."""
    _open(page, app_url)
    page.wait_for_function(CURSOR_IN_DEPARTMENT, timeout=TIMEOUT_MS)
    page.keyboard.type("59")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector(\"input[aria-label='Département']\").value"
                           ".startsWith('59 ')", timeout=TIMEOUT_MS)
    _wait_enabled(page, "Commune")


def test_a_typical_call_by_keyboard_only(page, app_url: str, severity) -> None:
    """Nord, a car and a motorbike, two people, out of town: typed without the mouse, answered as the model says."""
    _open_and_type_the_nord(page, app_url)
    _tab_to(page, "Voiture")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    assert _focused(page)["label"] == "Moto"
    page.keyboard.type("1")
    _tab_to(page, "Personnes impliquées (piétons compris)")
    page.keyboard.type("2")
    page.keyboard.press("Tab")  # the "Agglomération" row: arrows pick the option
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Control+Enter")
    shown, text = _estimate(page)
    incident = json.loads(_exported(page)[0]["incident_json"])
    assert {k: v for k, v in incident.items() if k != "datetime"} == {"dep": "59", "vehicles": [7, 33], "agg": 1,
                                                                       "n_people": 2}
    assert dt.datetime.fromisoformat(incident["datetime"]) <= intake.local_now("59")
    assert shown == pytest.approx(predict_one(severity, incident)["p_severe"], abs=1e-6)
    assert "Hors agglomération" in page.get_by_test_id("severity-comparables").inner_text()


def test_an_elderly_pedestrian_described_by_keyboard_only(page, app_url: str, severity) -> None:
    """Nord, a car, a pedestrian of about 85 in town: the person described without the mouse reaches the model."""
    _open_and_type_the_nord(page, app_url)
    _tab_to(page, "Voiture")
    page.keyboard.type("1")
    _tab_to(page, "Piétons")
    page.keyboard.type("1")
    _tab_to(page, "Personnes impliquées (piétons compris)", most=1)
    page.keyboard.type("2")
    page.keyboard.press("Tab")  # the "Agglomération" row
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # then the folded people
    assert PEOPLE_PANEL in _focused(page)["label"]
    page.keyboard.press("Enter")
    page.wait_for_function(PANEL_OPEN_JS, arg=PEOPLE_PANEL, timeout=TIMEOUT_MS)
    _tab_to(page, "Rôle (1)", most=1)
    page.keyboard.type("Pié")
    page.get_by_role("option", name="Piéton", exact=True).wait_for(timeout=TIMEOUT_MS)
    page.keyboard.press("Enter")
    _tab_to(page, "Âge (ans) (1)", most=2)  # past the role's "Clear value" button
    page.keyboard.type("85")
    page.keyboard.press("Control+Enter")
    shown, text = _estimate(page)
    incident = json.loads(_exported(page)[0]["incident_json"])
    assert {k: v for k, v in incident.items() if k != "datetime"} == {
        "dep": "59", "vehicles": [7], "n_pedestrians": 1, "n_people": 2, "agg": 2, "people": [{"role": 3, "age": 85}]}
    expected = predict_one(severity, incident)
    without = predict_one(severity, {k: v for k, v in incident.items() if k != "people"})
    assert round(expected["p_severe"] * 100) != round(without["p_severe"] * 100)  # the person changes what is shown
    assert shown == pytest.approx(expected["p_severe"], abs=1e-6)
    assert f"{round(expected['p_severe'] * 100)}\u00a0%" in text
    assert f"Risque {_band(severity, expected['p_severe'])}" in text


def test_tab_follows_the_order_on_screen(page, app_url: str) -> None:
    _open(page, app_url)
    page.wait_for_function(CURSOR_IN_DEPARTMENT, timeout=TIMEOUT_MS)
    _choose(page, "Département", "75 – Paris")
    _wait_enabled(page, "Commune")
    page.get_by_role("combobox", name="Département", exact=True).focus()
    stops = [_focused(page)]
    while "Estimer la gravité" not in stops[-1]["label"] and len(stops) < 80:
        page.keyboard.press("Tab")
        stops.append(_focused(page))
    assert "Estimer la gravité" in stops[-1]["label"]
    labels = [s["label"] for s in stops]
    for before, after in (("Département", "Commune"), ("Commune", "Coordonnées GPS (latitude, longitude)"),
                          ("Voiture", "Moto"), ("Piétons", "Personnes impliquées (piétons compris)"),
                          ("Luminosité", "Conditions atmosphériques"), ("État de la surface", "Catégorie de route")):
        assert labels.index(before) + 1 == labels.index(after), (before, after, labels)
    # Down the page, and left to right within a row.
    for previous, current in zip(stops, stops[1:], strict=False):
        same_row = abs(current["y"] - previous["y"]) < 12
        assert current["y"] > previous["y"] - 12 and (not same_row or current["x"] > previous["x"]), (previous, current)


def test_on_a_phone_the_answer_is_the_first_thing_seen_after_submitting(browser, app_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        _open(page, app_url)
        page.get_by_label("Voiture", exact=True).fill("1")
        page.get_by_label("Vélo", exact=True).fill("1")
        page.get_by_role("button", name="Estimer la gravité").click()
        answer = page.get_by_test_id("severity-estimate")
        answer.wait_for(timeout=TIMEOUT_MS)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            box = answer.bounding_box()
            if box is not None and 0 <= box["y"] < 200:
                break
            time.sleep(0.2)
        assert box is not None and 0 <= box["y"] < 200, box
    finally:
        context.close()


def _click_map_until(page, check: str) -> None:
    """Click the middle of the map until ``check`` (a JS predicate) holds; a fresh map needs a few seconds."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        charts = page.get_by_test_id("stDeckGlJsonChart")
        charts.first.locator("canvas").first.wait_for(timeout=TIMEOUT_MS)
        # The rerun that follows a pick replaces the chart (a new map, so no selection lingers): for a moment
        # the old one is still there, or none is laid out yet. Wait for the one new chart.
        box = charts.first.bounding_box() if charts.count() == 1 else None
        if box is None:
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
    page.get_by_text("Placer sur la carte").click()  # the map is folded until asked for
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
