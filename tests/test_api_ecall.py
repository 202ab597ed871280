"""``POST /v1/severity/ecall`` through FastAPI's TestClient: the answer, its parity with the core, refusals, audit.

The README's eCall tables are checked here too: they must be what the mapping's
own constants give, so that the documentation cannot drift from the code.
"""

from __future__ import annotations

import copy
import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from core import codebook, config
from core.api.docs import EXAMPLE_MSD, EcallAnswer, ErrorAnswer
from core.dispatch.ecall import ecall_answer
from core.ecall.mapping import CATV_OF_CLASS, MAPPING_ROWS, incident_from_msd
from core.jsonl import encode_result
from core.model.loading import load_model
from core.model.risk_bands import band_thresholds
from tests.api_support import ApiUnderTest, api_under_test

#: A flat MSD: a car on the Bordeaux ring road on a summer night, one person on board, a manual call.
CAR_BORDEAUX = {
    "id": "ecall-bdx-1", "messageIdentifier": 3, "automaticActivation": False, "testCall": False,
    "positionCanBeTrusted": True, "vehicleType": "passengerVehicleClassM1",
    "vehicleIdentificationNumber": {"isowmi": "VR3", "isovds": "UHZKX0", "isovisModelyear": "N",
                                    "isovisSeqPlant": "7654321"},
    "vehiclePropulsionStorageType": {"dieselTankPresent": True},
    "timestamp": 1721510100,  # 2024-07-20 21:15 UTC, 23:15 in Bordeaux
    "vehicleLocation": {"positionLatitude": 161416080, "positionLongitude": -2085120},  # 44.8378, -0.5792
    "vehicleDirection": 90, "numberOfPassengers": 1,
    "additionalData": {"oid": "1.2.3", "data": "0A1B2C"},
}
#: The standard's outermost layout: the format version (``id``) around the nested message.
WRAPPED = {"id": 2, "msd": {key: value for key, value in EXAMPLE_MSD.items() if key != "id"}}
VIN_PARTS = ("VR3", "UHZKX0", "7654321", "RJB00C", "5123456")
README = config.ROOT / "README.md"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> ApiUnderTest:
    return api_under_test(tmp_path_factory.mktemp("api-ecall"))


@pytest.fixture(scope="module")
def client(api: ApiUnderTest):
    with TestClient(api.app) as client:
        yield client


def audit_line(api: ApiUnderTest, request_id: str) -> dict:
    lines = [json.loads(line) for line in api.settings.audit_file.read_text().splitlines()]
    [line] = [line for line in lines if line["request_id"] == request_id]
    return line


def incident_counts(api: ApiUnderTest, client: TestClient) -> dict[str, float]:
    text = client.get("/metrics", headers=api.auth(api.admin)).text
    counts = {"predicted": 0.0, "refused": 0.0}
    for outcome in counts:
        prefix = f'gravite_api_incidents_total{{outcome="{outcome}"}} '
        counts[outcome] = next((float(row[len(prefix):]) for row in text.splitlines() if row.startswith(prefix)), 0.0)
    return counts


def nested(message: dict) -> dict:
    """A copy of the README's nested message to spoil."""
    return copy.deepcopy(message)


# --- answers --------------------------------------------------------------------------------------------------

def test_a_car_message_gets_the_usual_estimate_and_what_the_message_told(api, client) -> None:
    before = incident_counts(api, client)
    response = client.post("/v1/severity/ecall", json=CAR_BORDEAUX, headers=api.auth())
    assert response.status_code == 200, response.text
    answer = EcallAnswer.model_validate(response.json())
    assert list(response.json()) == ["estimate", "ecall", "request_id", "model_version"]
    assert answer.request_id == response.headers["x-request-id"] and answer.model_version == load_model().version
    estimate = answer.estimate
    assert estimate is not None and estimate.id == "ecall-bdx-1" and estimate.top_factors
    assert 0 < estimate.p_fatal <= estimate.p_severe < 1 and estimate.band.key in ("low", "medium", "high")
    incident = answer.ecall.incident
    assert (incident.dep, incident.com[:2], incident.datetime, incident.vehicles, incident.n_people) == (
        "33", "33", "2024-07-20T23:15", [7], 1)
    assert incident.lum is None  # night: BAAC's code depends on street lighting, unknown
    assert not answer.ecall.automatic_activation and answer.ecall.signals[0].field == "automaticActivation"
    assert answer.ecall.not_used.model_dump() == {"propulsion": ["dieselTankPresent"], "direction_degrees": 180}
    assert {field.field for field in answer.ecall.unknown} >= {"atm", "catr", "n_pedestrians"}
    assert answer.ecall.note is None and answer.ecall.warnings == []
    assert incident_counts(api, client) == {**before, "predicted": before["predicted"] + 1}


@pytest.mark.parametrize("message", [CAR_BORDEAUX, EXAMPLE_MSD, WRAPPED], ids=["flat", "nested", "wrapped"])
def test_the_answer_is_ecall_answer_run_on_the_same_message(api, client, message) -> None:
    response = client.post("/v1/severity/ecall", json=message, headers=api.auth())
    assert response.status_code == 200, response.text
    model = load_model()
    direct = ecall_answer(model, incident_from_msd(message), band_thresholds(model.card))
    answer = response.json()
    assert answer.pop("model_version") == model.version and answer.pop("request_id")
    assert answer == json.loads(encode_result(direct))


def test_factors_can_be_left_out(api, client) -> None:
    response = client.post("/v1/severity/ecall?factors=false", json=EXAMPLE_MSD, headers=api.auth())
    assert response.status_code == 200, response.text
    assert "top_factors" not in response.json()["estimate"] and "p_severe" in response.json()["estimate"]
    assert response.json()["estimate"]["id"] == "ecall-0042"


def test_a_test_call_gets_no_estimate_and_counts_as_nothing(api, client) -> None:
    message = nested(EXAMPLE_MSD)
    message["msdStructure"]["control"]["testCall"] = True
    before = incident_counts(api, client)
    response = client.post("/v1/severity/ecall", json=message, headers=api.auth())
    assert response.status_code == 200, response.text
    answer = EcallAnswer.model_validate(response.json())
    assert answer.estimate is None and answer.ecall.test_call
    assert answer.ecall.note == "appel de test (testCall) : aucune estimation, aucune intervention à engager"
    assert answer.ecall.incident.model_dump(exclude_none=True) == {} and answer.ecall.from_message == []
    assert incident_counts(api, client) == before
    line = audit_line(api, answer.request_id)
    assert line["status"] == 200 and line["result"] is None and line["incident"] is None
    assert line["msd"]["msdStructure"]["control"]["testCall"] is True


# --- refusals -------------------------------------------------------------------------------------------------

def _without_timestamp() -> dict:
    return {key: value for key, value in CAR_BORDEAUX.items() if key != "timestamp"}


def _latitude_at(mas: int) -> dict:
    message = nested(EXAMPLE_MSD)
    message["msdStructure"]["vehicleLocation"]["positionLatitude"] = mas
    return message


def _nested_without_timestamp() -> dict:
    message = nested(EXAMPLE_MSD)
    del message["msdStructure"]["timestamp"]
    return message


@pytest.mark.parametrize(("message", "field", "words"), [
    (_without_timestamp(), "timestamp", "obligatoire"),
    (_nested_without_timestamp(), "timestamp", "obligatoire"),
    (_latitude_at(90 * 3_600_000 + 1), "vehicleLocation.positionLatitude", "hors des bornes"),
    (_latitude_at(-400_000_000), "vehicleLocation.positionLatitude", "hors des bornes"),
    ({**CAR_BORDEAUX, "vehicleType": "tractorClassT"}, "vehicleType", "classe de véhicule inconnue"),
    ({**CAR_BORDEAUX, "vehicleType": 14}, "vehicleType", "classe de véhicule inconnue"),
    ({**CAR_BORDEAUX, "driverAge": 34}, "driverAge", "champ inconnu"),
    ({**EXAMPLE_MSD, "crashSeverity": 3}, "crashSeverity", "champ inconnu"),
    ([CAR_BORDEAUX], "msd", "objet JSON"),
], ids=["no-timestamp", "nested-no-timestamp", "latitude-north", "latitude-south", "vehicle-name", "vehicle-rank",
        "unknown-field", "nested-unknown-field", "not-an-object"])
def test_a_wrong_message_is_refused_naming_its_field(api, client, message, field, words) -> None:
    before = incident_counts(api, client)
    response = client.post("/v1/severity/ecall", json=message, headers=api.auth())
    assert response.status_code == 422, response.text
    error = ErrorAnswer.model_validate(response.json()).error
    assert error.field == field and words in error.reason
    assert incident_counts(api, client) == {**before, "refused": before["refused"] + 1}
    line = audit_line(api, response.json()["request_id"])
    assert line["error"] == response.json()["error"] and "msd" not in line  # nothing unchecked is logged


def test_broken_json_is_refused_as_the_other_routes_do(api, client) -> None:
    response = client.post("/v1/severity/ecall", content=b'{"testCall": tru', headers=api.auth())
    assert response.status_code == 422 and response.json()["error"]["field"] == "body"


def test_a_key_is_required(api, client) -> None:
    missing = client.post("/v1/severity/ecall", json=EXAMPLE_MSD)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["field"] == "Authorization"
    assert client.post("/v1/severity/ecall", json=EXAMPLE_MSD, headers=api.auth(api.operator + "x")).status_code == 401


# --- the audit line -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "vin_at"), [(CAR_BORDEAUX, ()), (EXAMPLE_MSD, ("msdStructure",)),
                                                (WRAPPED, ("msd", "msdStructure"))], ids=["flat", "nested", "wrapped"])
def test_the_audit_keeps_the_message_without_its_vin(api, client, message, vin_at) -> None:
    response = client.post("/v1/severity/ecall", json=message, headers=api.auth())
    assert response.status_code == 200, response.text
    line = audit_line(api, response.json()["request_id"])
    assert line["key"] == "samu-59" and line["route"] == "/v1/severity/ecall"
    assert line["model_version"] == response.json()["model_version"]
    expected = copy.deepcopy(message)
    holder = expected
    for name in vin_at:
        holder = holder[name]
    del holder["vehicleIdentificationNumber"]
    assert line["msd"] == expected
    raw = json.dumps(line)
    assert "vehicleIdentificationNumber" not in raw and not any(part in raw for part in VIN_PARTS)
    estimate = response.json()["estimate"]
    assert line["incident"]["vehicles"] == [7] and line["incident"].get("id") == estimate.get("id")
    assert line["incident"]["year"] in (2024, 2025) and "atm" not in line["incident"]  # unknown: left out
    assert line["result"]["p_severe"] == estimate["p_severe"] and line["result"]["band"] == estimate["band"]["key"]
    assert line["result"]["factors"] == [[factor["field"], factor["effect"]] for factor in estimate["top_factors"]]


def test_the_audit_keeps_the_additional_data(api, client) -> None:
    response = client.post("/v1/severity/ecall", json=CAR_BORDEAUX, headers=api.auth())
    line = audit_line(api, response.json()["request_id"])
    assert line["msd"]["additionalData"] == {"oid": "1.2.3", "data": "0A1B2C"}
    assert line["msd"]["vehicleLocation"] == CAR_BORDEAUX["vehicleLocation"]


# --- the README -----------------------------------------------------------------------------------------------

def ecall_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n### eCall (MSD EN 15722)\n")
    end = text.find("\n## ", start + 1)
    following = text.find("\n### ", start + 1)
    return text[start:min(position for position in (end, following, len(text)) if position >= 0)]


def markdown_tables(section: str) -> list[list[tuple[str, ...]]]:
    """Each table of ``section`` as its rows of cells (``&lt;`` read as ``<``), header and separator left out."""
    tables, rows = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            rows.append(tuple(html.unescape(cell.strip()) for cell in line.strip().strip("|").split("|")))
        elif rows:
            tables.append(rows[2:])
            rows = []
    return tables


def test_the_readme_tables_are_the_mapping_s_constants() -> None:
    mapping, classes = markdown_tables(ecall_section())
    assert mapping == [tuple(row) for row in MAPPING_ROWS]
    assert classes == [(name, str(catv), codebook.label("catv", catv), why or "—")
                       for name, (catv, why) in CATV_OF_CLASS.items()]


def test_the_readme_excerpt_is_the_real_answer(api, client) -> None:
    section = ecall_section()
    shown = json.loads(re.search(r"```json\n(.*?)```", section, flags=re.S)[1])
    real = client.post("/v1/severity/ecall", json=EXAMPLE_MSD, headers=api.auth()).json()
    assert shown.keys() == real.keys() and shown["model_version"] == real["model_version"]
    assert shown["estimate"].keys() == real["estimate"].keys() and shown["ecall"].keys() <= real["ecall"].keys()
    assert {name: value for name, value in shown["estimate"].items() if name != "top_factors"} == {
        name: real["estimate"][name] for name in shown["estimate"] if name != "top_factors"}
    assert shown["estimate"].get("top_factors", []) == real["estimate"]["top_factors"][
        :len(shown["estimate"].get("top_factors", []))]
    for name, value in shown["ecall"].items():
        expected = real["ecall"][name]
        assert value == (expected[:len(value)] if isinstance(value, list) else expected), name


def test_a_point_at_sea_is_warned_once_not_called_a_wrong_place(api, client) -> None:
    at_sea = {**CAR_BORDEAUX, "vehicleLocation": {"positionLatitude": round(43.10 * 3_600_000),
                                                  "positionLongitude": round(5.30 * 3_600_000)}}
    answer = client.post("/v1/severity/ecall", json=at_sea, headers=api.auth()).json()
    assert answer["ecall"]["incident"]["dep"] == "13"
    assert [w["field"] for w in answer["ecall"]["warnings"]] == ["vehicleLocation"]
    assert "en mer" in answer["ecall"]["warnings"][0]["reason"]
    # The input check would say "the place or the department is wrong" of the department the mapping chose.
    assert not [w for w in answer["estimate"]["warnings"] if w["field"] in ("lat", "lon", "dep", "com")]
