"""'Coller un message eCall' on the severity page: the core reading of a pasted MSD, then the page in AppTest.

The messages are literal MSDs with known places (Place Bellecour in Lyon, Rennes,
a point off Marseille). The form a message must give is checked on literal values
and against the mapping the API uses (``core.ecall.mapping.incident_from_msd``);
the estimate against ``core.model.predict.predict_one`` on the committed model.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.dispatch import intake
from core.dispatch.ecall import ecall_answer
from core.dispatch.ecall_form import (
    ECALL_ESTIMATE_NOTE,
    FORM_VEHICLE_NOTE,
    MAX_FORM_PEOPLE,
    MAX_MESSAGE_CHARS,
    call_form_from_incident,
    prefill_from_text,
    read_pasted_msd,
)
from core.ecall.mapping import CATV_OF_CLASS, incident_from_msd
from core.features.training import incident_from_row, training_frame
from core.incident.fields import IncidentError
from core.model.loading import SeverityModel, load_model
from core.model.predict import predict_one
from core.model.risk_bands import band_thresholds
from tests.apptest import run_page
from ui import ecall_paste, severity_form

PAGE = str(config.ROOT / "app_pages" / "severity.py")

#: A car on Place Bellecour, Lyon (45.7578 N, 4.8320 E), crash detected at 2020-07-05 14:00 UTC (16:00 in Lyon).
LYON_CAR = {
    "automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
    "vehicleType": "passengerVehicleClassM1", "timestamp": 1593957600,
    "vehicleLocation": {"positionLatitude": 164728080, "positionLongitude": 17395200},
    "vehicleDirection": 45, "numberOfPassengers": 2,
    "vehiclePropulsionStorageType": {"gasolineTankPresent": True},
}
#: The standard's nested layout: a 3.5-12 t lorry at the same place, 2020-12-01 00:00 UTC (01:00, night),
#: its driver pressing SOS, position not trusted.
LYON_LORRY_NESTED = {
    "msdStructure": {
        "messageIdentifier": 1,
        "control": {"automaticActivation": False, "testCall": False, "positionCanBeTrusted": False,
                    "vehicleType": "heavyDutyVehiclesClassN2"},
        "timestamp": 1606780800,
        "vehicleLocation": {"positionLatitude": 164728080, "positionLongitude": 17395200},
        "numberOfPassengers": 1,
    },
}
TEST_CALL = {**LYON_CAR, "testCall": True}
#: 400,000,000 milliarcseconds is 111 degrees of latitude, beyond the standard's 90.
BAD_LATITUDE = {**LYON_CAR, "vehicleLocation": {"positionLatitude": 400_000_000, "positionLongitude": 17395200}}


def _text(message: dict) -> str:
    return json.dumps(message, indent=2)


# --- core: the pasted text to the form --------------------------------------------------------------------


def test_a_car_in_lyon_fills_place_time_light_vehicle_and_people() -> None:
    prefill = prefill_from_text(_text(LYON_CAR))
    assert prefill.form == intake.CallForm(
        dep="69", com="69382", coordinates="45.7578, 4.832", moment=intake.MOMENT_OTHER,
        when=dt.datetime(2020, 7, 5, 16, 0), vehicles={7: 1}, n_people=2, lum=1)
    assert prefill.facts == (
        "Position : 45,75780, 4,83200",
        "Département : Rhône (69)",
        "Commune : Lyon 2e Arrondissement (69382, commune des accidents passés les plus proches)",
        "Date et heure : 05/07/2020 16:00 (Europe/Paris, UTC+0200)",
        "Luminosité : Plein jour (calculé : hauteur du soleil)",
        "Véhicules : VL seul (véhicule appelant ; autres véhicules inconnus)",
        "Personnes impliquées : au moins 2 (à bord du véhicule appelant)",
    )
    assert prefill.unknown == ("Conditions atmosphériques", "Agglomération", "Intersection", "Type de collision",
                               "Catégorie de route", "État de la surface", "Obstacle fixe heurté",
                               "Vitesse maximale autorisée", "Piétons", "Personnes décrites (âge, sexe, équipement)",
                               "Autres véhicules que le véhicule appelant")
    assert prefill.signals[0].startswith("déclenchement automatique (choc détecté par le véhicule) : signal fort")
    assert "non intégré à la probabilité" in prefill.signals[0]
    assert prefill.signals[1] == "énergie : gasolineTankPresent (absente du modèle)"
    assert prefill.warnings == ()
    assert not prefill.test_call


def test_the_form_gives_back_the_incident_the_api_reads() -> None:
    """Submitted untouched, a pre-filled form is the mapped incident, field for field (the API's own)."""
    for message in (LYON_CAR, LYON_LORRY_NESTED, {**LYON_CAR, "vehicleLocation": {
            "positionLatitude": 155160000, "positionLongitude": 19080000}}):  # 43.1 N 5.3 E, at sea off Marseille
        prefill = prefill_from_text(_text(message))
        assert intake.incident_from_form(prefill.form) == incident_from_msd(message).incident


@pytest.mark.parametrize("vehicle_class", sorted(CATV_OF_CLASS))
def test_every_vehicle_class_gives_one_calling_vehicle(vehicle_class: str) -> None:
    prefill = prefill_from_text(_text({**LYON_CAR, "vehicleType": vehicle_class}))
    catv = CATV_OF_CLASS[vehicle_class][0]
    assert prefill.form.vehicles == {catv: 1}
    vehicle_line = next(fact for fact in prefill.facts if fact.startswith("Véhicules : "))
    everyday = catv in {vehicle.catv for vehicle in intake.EVERYDAY_VEHICLES}
    assert vehicle_line.endswith("— dans la liste BAAC complète") is not everyday


def test_an_untrusted_position_keeps_the_department_only_and_night_leaves_light_unknown() -> None:
    prefill = prefill_from_text(_text(LYON_LORRY_NESTED))
    assert prefill.form == intake.CallForm(dep="69", moment=intake.MOMENT_OTHER, when=dt.datetime(2020, 12, 1, 1, 0),
                                           vehicles={13: 1}, n_people=1)
    assert prefill.unknown[:3] == ("Coordonnées", "Commune", "Luminosité")
    assert prefill.warnings == ("position non fiable selon le véhicule : estimation sans le point ni la commune ; "
                                "département gardé",)
    assert "Luminosité : nuit (calculé : hauteur du soleil) ; éclairage public inconnu" in prefill.facts
    assert prefill.signals == ("déclenchement manuel (bouton SOS) : absent du BAAC, non intégré à la probabilité",)


def test_a_commune_the_form_does_not_offer_is_left_unknown_with_a_warning() -> None:
    prefill = prefill_from_text(_text(LYON_CAR), offered_communes=lambda dep: {"69381", "69383"})
    assert prefill.form.dep == "69" and prefill.form.com is None
    assert prefill.form.coordinates == "45.7578, 4.832"
    assert prefill.unknown[0] == "Commune"
    assert prefill.warnings[-1].startswith("commune 69382 absente de la liste du formulaire")
    offered = prefill_from_text(_text(LYON_CAR), offered_communes=lambda dep: {"69382"} if dep == "69" else set())
    assert offered.form.com == "69382" and offered.warnings == ()


def test_an_unknown_time_or_position_stays_unknown_in_the_form() -> None:
    no_time = prefill_from_text(_text({**LYON_CAR, "timestamp": 0}))
    assert no_time.form.moment == intake.MOMENT_UNKNOWN and no_time.form.when is None and no_time.form.lum is None
    assert no_time.warnings == ("horodatage inconnu (0) : heure et lumière inconnues",)
    no_place = prefill_from_text(_text({**LYON_CAR, "vehicleLocation": {
        "positionLatitude": 2147483647, "positionLongitude": 2147483647}}))
    assert (no_place.form.dep, no_place.form.com, no_place.form.coordinates) == (None, None, None)
    assert no_place.form.when == dt.datetime(2020, 7, 5, 16, 0)  # Paris time supposed
    assert no_place.warnings[0].startswith("position inconnue dans le message")


def test_a_test_call_fills_nothing() -> None:
    prefill = prefill_from_text(_text(TEST_CALL))
    assert prefill.test_call and prefill.form is None and prefill.facts == ()


@pytest.mark.parametrize(("text", "field", "reason"), [
    ("", "message", "aucun message collé"),
    ("   \n", "message", "aucun message collé"),
    ('{"automaticActivation": true,}', "message", "JSON illisible ligne 1, colonne 30 : nom de champ entre "
                                                  "guillemets droits"),
    ("{“automaticActivation”: true}", "message", "JSON illisible ligne 1, colonne 2 : nom de champ"),
    ('{"automaticActivation": true}\n{"testCall": false}', "message", "JSON illisible ligne 2, colonne 1 : texte "
                                                                      "en trop après le message"),
    ('{"automaticActivation": tru', "message", "JSON illisible ligne 1, colonne 25 : valeur attendue"),
    ('{"timestamp": NaN}', "message", "NaN n’est pas une valeur JSON"),
    ("[" * 5000 + "]" * 5000, "message", "JSON trop imbriqué"),
    ("x" * (MAX_MESSAGE_CHARS + 1), "message", f"{MAX_MESSAGE_CHARS + 1} caractères : au plus"),
    ("[1, 2]", "msd", "attendu un objet JSON"),
    (json.dumps(LYON_CAR).replace("1593957600", "9" * 5000), "message", "nombre trop long"),
    (json.dumps(BAD_LATITUDE), "vehicleLocation.positionLatitude", "400000000 hors des bornes"),
    (json.dumps({**LYON_CAR, "vehicleType": "tractor"}), "vehicleType", "classe de véhicule inconnue « tractor »"),
    (json.dumps({k: v for k, v in LYON_CAR.items() if k != "timestamp"}), "timestamp",
     "champ obligatoire du MSD absent"),
])
def test_a_bad_paste_names_its_field(text: str, field: str, reason: str) -> None:
    with pytest.raises(IncidentError) as caught:
        prefill_from_text(text)
    assert caught.value.field == field
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_the_api_and_the_paste_read_the_same_message() -> None:
    assert read_pasted_msd(_text(LYON_CAR)).incident == incident_from_msd(LYON_CAR).incident


def test_real_accidents_go_back_and_forth_through_the_form(store_con) -> None:
    """Every 2020 accident of the first thousand the form can show: form and back gives the same incident."""
    frame = training_frame(store_con, first_year=2020, last_year=2020).head(1000)
    offered = set(intake.BAAC_VEHICLES)
    checked = 0
    for row in frame.to_dict(orient="records"):
        incident = incident_from_row(row)
        if (set(incident.get("vehicles") or ()) - offered or incident.get("vma", 50) not in intake.SPEED_LIMITS
                or "datetime" not in incident or len(incident.get("people", ())) > MAX_FORM_PEOPLE):
            continue
        again = intake.incident_from_form(call_form_from_incident(incident))
        for name in ("lat", "lon"):
            if name in incident:
                assert again.pop(name) == pytest.approx(incident[name], abs=1e-7)
        assert sorted(again.pop("vehicles", [])) == sorted(incident.get("vehicles", []))  # grouped by category
        assert again == {k: v for k, v in incident.items() if k not in ("lat", "lon", "vehicles")}
        checked += 1
    assert checked > 500


def test_what_the_form_cannot_show_is_named() -> None:
    with pytest.raises(IncidentError, match="date sans heure"):
        call_form_from_incident({"datetime": "2020-07-05"})
    with pytest.raises(IncidentError, match="le formulaire propose 130"):
        call_form_from_incident({"vma": 45})
    with pytest.raises(IncidentError, match="catégorie 4 absente du formulaire"):
        call_form_from_incident({"vehicles": [7, 4]})


# --- the page ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def severity() -> SeverityModel:
    return load_model()


def _app() -> AppTest:
    return run_page(PAGE)


def _paste(app: AppTest, text: str) -> AppTest:
    app.text_area(key=severity_form.ECALL_TEXT_KEY).set_value(text)
    app.button(key=ecall_paste.BUTTON_KEY).click().run()
    assert not app.exception, app.exception[0].message
    return app


def _form_values(app: AppTest) -> dict[str, object]:
    return {key: app.session_state[key] for key in severity_form.fresh_values()}


def _shown_probability(app: AppTest) -> float | None:
    bodies = [h.proto.body for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body]
    assert len(bodies) <= 1
    return float(re.search(r'data-p-severe="([0-9.]+)"', bodies[0]).group(1)) if bodies else None


def _markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_pasting_a_message_fills_the_form_and_estimates_at_once(full_store, severity) -> None:
    app = _paste(_app(), _text(LYON_CAR))
    assert not app.error
    assert app.selectbox(key="severity_dep").value == "69"
    assert app.selectbox(key="severity_com").value == "69382"
    assert app.text_input(key="severity_coordinates").value == "45.7578, 4.832"
    assert app.radio(key="severity_moment").value == intake.MOMENT_OTHER
    assert app.date_input(key="severity_date").value == dt.date(2020, 7, 5)
    assert app.time_input(key="severity_time").value == dt.time(16, 0)
    assert app.selectbox(key="severity_lum").value == 1
    assert app.number_input(key="severity_vehicle_car").value == 1
    assert app.number_input(key="severity_people").value == 2
    # Everything else is still unknown.
    for name in ("obs", "col", "atm", "surf", "catr", "int"):
        assert app.selectbox(key=f"severity_{name}").value is None
    assert app.radio(key="severity_agg").value is None and app.radio(key="severity_vma").value is None
    assert app.number_input(key="severity_pedestrians").value is None
    assert sum(app.number_input(key=f"severity_catv_{code}").value for code in intake.BAAC_VEHICLES) == 0
    # The estimate is made at once, from exactly the message's incident, with the eCall calibration: the API's
    # eCall route gives the same figure (it rounds to 4 decimals); the full-call model alone reads "one car" as a
    # single-vehicle accident and says more.
    record = app.session_state["severity_estimates"][-1]
    assert record["incident"] == incident_from_msd(LYON_CAR).incident
    api = ecall_answer(severity, incident_from_msd(LYON_CAR), band_thresholds(severity.card))["estimate"]
    assert _shown_probability(app) == pytest.approx(api["p_severe"], abs=1.1e-4)
    assert predict_one(severity, record["incident"])["p_severe"] > api["p_severe"] + 0.02
    assert ECALL_ESTIMATE_NOTE in [c.value for c in app.caption]
    # The comparable accidents are not said to be "without a two-wheeler": the message knows its own car only.
    headline = next(h.proto.body for h in app.get("html") if 'data-testid="severity-estimate"' in h.proto.body)
    assert "comparables" in headline and "sans deux-roues" not in headline and "sans vélo" not in headline
    # Estimating again without a change keeps the eCall figure.
    app.button(key="severity_submit").click().run()
    assert _shown_probability(app) == pytest.approx(api["p_severe"], abs=1.1e-4)
    # What came from the message, what stays unknown, the signal and the note, in French.
    shown = _markdown(app)
    assert "Pré\\-rempli depuis le message eCall" in shown or "Pré-rempli depuis le message eCall" in shown
    assert "Lyon 2e Arrondissement" in shown and "Plein jour" in shown
    assert any("Signal hors modèle" in w.value and "déclenchement automatique" in w.value
               and "non intégré à la probabilité" in w.value for w in app.warning)
    captions = [c.value for c in app.caption]
    assert any(c.startswith("Inconnu du message, à demander à l’appelant : Conditions atmosphériques")
               for c in captions)
    assert FORM_VEHICLE_NOTE in captions
    # The operator then adds what the caller says: a second vehicle and the rain.
    app.number_input(key="severity_vehicle_motorbike").set_value(1)
    app.selectbox(key="severity_atm").set_value(2)
    app.button(key="severity_submit").click().run()
    assert not app.exception
    incident = app.session_state["severity_estimates"][-1]["incident"]
    assert incident == {**incident_from_msd(LYON_CAR).incident, "atm": 2, "vehicles": [7, 33]}
    assert len(app.session_state["severity_estimates"]) == 3
    # Facts added: a full call now, estimated as one.
    assert _shown_probability(app) == pytest.approx(predict_one(severity, incident)["p_severe"], abs=1e-6)
    assert ECALL_ESTIMATE_NOTE not in [c.value for c in app.caption]


def test_a_nested_message_with_an_untrusted_position_at_night(full_store) -> None:
    app = _paste(_app(), _text(LYON_LORRY_NESTED))
    assert app.selectbox(key="severity_dep").value == "69"
    assert app.selectbox(key="severity_com").value is None
    assert app.text_input(key="severity_coordinates").value == ""
    assert app.selectbox(key="severity_lum").value is None  # night: lighting unknown
    assert app.number_input(key="severity_catv_13").value == 1  # the lorry, in the full BAAC list
    assert app.number_input(key="severity_vehicle_hgv").value == 0
    assert app.time_input(key="severity_time").value == dt.time(1, 0)
    assert any("À vérifier" in w.value and "position non fiable" in w.value for w in app.warning)
    assert any("déclenchement manuel" in w.value for w in app.warning)
    assert app.session_state["severity_estimates"][-1]["incident"] == incident_from_msd(LYON_LORRY_NESTED).incident


def _typed_call(app: AppTest) -> AppTest:
    """A call typed before the paste: Marseille, two cars, rain."""
    app.selectbox(key="severity_dep").set_value("13").run()
    app.selectbox(key="severity_com").set_value("13055")
    app.number_input(key="severity_vehicle_car").set_value(2)
    app.selectbox(key="severity_atm").set_value(2)
    app.button(key="severity_submit").click().run()
    return app


@pytest.mark.parametrize(("text", "error"), [
    (json.dumps(BAD_LATITUDE), "Message eCall refusé, champ «\u00a0vehicleLocation.positionLatitude\u00a0» : "
                               "400000000 hors des bornes"),
    ('{"automaticActivation": true,, }', "Message eCall refusé, champ «\u00a0message\u00a0» : JSON illisible "
                                         "ligne 1, colonne 30"),
])
def test_a_refused_message_names_its_field_and_leaves_the_form(full_store, text: str, error: str) -> None:
    app = _typed_call(_app())
    before = _form_values(app)
    shown = _shown_probability(app)
    assert shown is not None
    _paste(app, text)
    errors = [e.value.replace("\\", "") for e in app.error]
    assert len(errors) == 1 and errors[0].startswith(error), errors
    assert "Le formulaire n’a pas été modifié." in errors[0]
    assert _form_values(app) == before
    assert _shown_probability(app) == shown  # the estimate of the typed call stays
    assert len(app.session_state["severity_estimates"]) == 1
    assert severity_form.ECALL_NOTES_KEY not in app.session_state
    app.button(key="severity_reset").click().run()  # the refusal belongs to this call
    assert not app.error


def test_a_test_call_says_so_and_fills_nothing(full_store) -> None:
    app = _typed_call(_app())
    before = _form_values(app)
    _paste(app, _text(TEST_CALL))
    assert any(i.value.replace("\\", "").startswith("Appel de test : aucune estimation") for i in app.info)
    assert _form_values(app) == before
    assert len(app.session_state["severity_estimates"]) == 1  # no estimate for the test call
    assert severity_form.ECALL_NOTES_KEY not in app.session_state
    app.button(key="severity_reset").click().run()  # the notice belongs to this call
    assert not [i for i in app.info if "Appel de test" in i.value]


def test_a_paste_starts_the_call_afresh_and_a_new_call_forgets_the_message(full_store) -> None:
    fresh = _form_values(_app())
    app = _typed_call(_app())
    _paste(app, _text(LYON_CAR))
    assert app.selectbox(key="severity_atm").value is None  # the rain typed before is not the message's
    assert app.number_input(key="severity_vehicle_car").value == 1
    app.button(key="severity_reset").click().run()
    assert not app.exception
    assert app.text_area(key=severity_form.ECALL_TEXT_KEY).value == ""
    assert not [w for w in app.warning if "Signal hors modèle" in w.value]
    assert "Pré-rempli depuis le message eCall" not in _markdown(app).replace("\\", "")
    assert FORM_VEHICLE_NOTE not in [c.value for c in app.caption]
    after = _form_values(app)
    assert {k: v for k, v in after.items() if k != "severity_time"} == \
        {k: v for k, v in fresh.items() if k != "severity_time"}
    assert _shown_probability(app) is None


def test_after_a_message_a_test_call_or_a_refusal_marks_the_notes_as_the_previous_message(full_store) -> None:
    app = _paste(_app(), _text(LYON_CAR))
    assert "message eCall précédent" not in _markdown(app)
    for text in (_text(TEST_CALL), _text(BAD_LATITUDE)):
        before = _form_values(app)
        _paste(app, text)
        assert _form_values(app) == before
        assert "message eCall **précédent**" in _markdown(app) or "message eCall précédent" in _markdown(app)
