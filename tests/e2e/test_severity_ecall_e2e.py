"""'Coller un message eCall' in real Chromium: an operator pastes a decoded MSD, the form fills, an estimate shows.

The expected incident comes from ``core.ecall.mapping.incident_from_msd`` (the API's
mapping), the expected figure from ``core.dispatch.ecall.ecall_answer`` (the API's eCall answer) on the
committed model.
"""

from __future__ import annotations

import json

import pytest

from core.dispatch.ecall import ecall_answer
from core.ecall.mapping import incident_from_msd
from core.model.loading import SeverityModel, load_model
from core.model.risk_bands import band_thresholds
from tests.e2e.server import settle
from tests.e2e.test_severity_e2e import TIMEOUT_MS, _estimate, _open, read_fields
from tests.test_severity_ecall import LYON_CAR, TEST_CALL

pytestmark = pytest.mark.e2e
MESSAGE_LABEL = "Message eCall décodé (MSD, JSON)"


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


def _paste(page, message: dict, outcome: str) -> None:
    """Paste, click "Pré-remplir", wait for ``outcome`` (a text the rerun draws), then for the rerun's end.

    On a busy machine the form is read too early otherwise: its widgets are redrawn after the paste's notes.
    """
    page.get_by_text("Coller un message eCall", exact=True).click()
    box = page.get_by_label(MESSAGE_LABEL)
    box.fill(json.dumps(message, indent=2))
    page.get_by_role("button", name="Pré-remplir").click()
    page.get_by_text(outcome).first.wait_for(timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)


def test_a_pasted_message_fills_the_form_and_gives_its_estimate(page, app_url: str, severity) -> None:
    _open(page, app_url)
    fresh = read_fields(page)
    assert fresh["Moment de l’accident"]["checked"] == ["Maintenant"]
    _paste(page, LYON_CAR, "Pré-rempli depuis le message eCall")
    shown, text = _estimate(page)
    expected = ecall_answer(severity, incident_from_msd(LYON_CAR), band_thresholds(severity.card))["estimate"]
    assert shown == pytest.approx(expected["p_severe"], abs=1.1e-4)  # the API rounds to 4 decimals
    assert f"{round(expected['p_severe'] * 100)}\u00a0%" in text
    fields = read_fields(page)
    assert fields["Département"]["values"] == ["69 – Rhône"]
    assert fields["Commune"]["values"] == ["Lyon 2e Arrondissement (69382)"]
    assert fields["Coordonnées GPS (latitude, longitude)"]["values"] == ["45.7578, 4.832"]
    assert fields["Moment de l’accident"]["checked"] == ["Autre date et heure"]
    assert fields["Date (si autre moment)"]["segments"] == ["05", "07", "2020"]
    assert fields["Heure (si autre moment)"]["segments"][:2] == ["16", "00"]
    assert fields["Luminosité"]["values"] == ["Plein jour"]
    assert fields["Voiture"]["values"] == ["1"]
    assert fields["Personnes impliquées (piétons compris)"]["values"] == ["2"]
    changed = {label for label in fresh if fields[label] != fresh[label]}
    assert changed - {"Date (si autre moment)", "Heure (si autre moment)"} == {
        "Département", "Commune", "Coordonnées GPS (latitude, longitude)", "Moment de l’accident", "Luminosité",
        "Voiture", "Personnes impliquées (piétons compris)"}
    notes = page.locator(".st-key-severity_ecall_box")
    assert "Lyon 2e Arrondissement (69382, commune des accidents passés les plus proches)" in notes.inner_text()
    assert "déclenchement automatique" in notes.inner_text()
    assert "seul véhicule jusqu’à ce que vous ajoutiez les autres" in notes.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    # A new call forgets the message: the text, the notes, the filled fields.
    page.get_by_role("button", name="Nouvel appel").click()
    page.get_by_test_id("severity-estimate").wait_for(state="detached", timeout=TIMEOUT_MS)
    notes.wait_for(state="detached", timeout=TIMEOUT_MS)
    settle(page, TIMEOUT_MS)
    assert page.get_by_label(MESSAGE_LABEL).input_value() == ""
    assert read_fields(page)["Département"] == fresh["Département"]


def test_a_test_call_is_said_and_fills_nothing(page, app_url: str) -> None:
    _open(page, app_url)
    fresh = read_fields(page)
    _paste(page, TEST_CALL, "Appel de test : aucune estimation")
    after = read_fields(page)
    time_label = "Heure (si autre moment)"  # "now" may have turned a minute
    assert {k: v for k, v in after.items() if k != time_label} == {k: v for k, v in fresh.items() if k != time_label}
    assert page.get_by_test_id("severity-estimate").count() == 0
