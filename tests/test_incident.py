"""The incident contract shared by the page, the CLI and the API: unknowns, refusals, warnings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from core.features.columns import columns_from_incidents
from core.features.training import training_frame
from core.incident.fields import INCIDENT_FIELDS, MAX_FIELD_LENGTH, MAX_REASON_LENGTH, IncidentError
from core.incident.flags import incident_warnings
from core.incident.parse import parse_id, parse_incident
from tests.test_features import ACCIDENT_201900000001, BAD_VALUES

DATA_YEARS = (2005, 2020)


def warnings_of(incident: dict, *, today: dt.date = dt.date(2026, 12, 3)) -> list[dict]:
    columns = columns_from_incidents([parse_incident(incident)])
    num = columns.numeric
    return incident_warnings(lat=num["lat"], lon=num["lon"], dep=columns.dep, com=columns.com, year=num["year"],
                             month=num["month"], day=num["day"], data_years=DATA_YEARS, today=today)[0]


# --------------------------------------------------------------------------- #
# Unknown: absent, null and -1 alike, for every field
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("field", INCIDENT_FIELDS)
@pytest.mark.parametrize("unknown", [None, -1, -1.0, "-1"])
def test_minus_one_and_null_are_unknown_for_every_field(field: str, unknown: object) -> None:
    incident = {field: unknown}
    if field in ("lat", "lon"):
        incident = {"lat": unknown, "lon": unknown}
    parsed = parse_incident(incident)
    assert parsed == parse_incident({})


def test_minus_one_coordinates_are_not_a_point_in_the_gulf_of_guinea() -> None:
    assert parse_incident({"lat": -1, "lon": -1})["lat"] is None
    assert warnings_of({"lat": -1, "lon": -1, "dep": "59"}) == []


def test_a_vehicle_of_unknown_category_is_indeterminable() -> None:
    assert parse_incident({"vehicles": [7, -1, None]})["vehicles"] == (7, 0, 0)


# --------------------------------------------------------------------------- #
# Refused: short French reasons that name what is allowed
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_reasons_are_short_french_and_say_what_is_allowed(field: str, value: object) -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({**ACCIDENT_201900000001, field.split("[")[0]: value})
    reason = caught.value.reason
    assert len(reason) <= MAX_REASON_LENGTH
    assert any(word in reason for word in ("attendu", "admis", "au plus", "absente", "piétons pour")), reason
    for english in ("expected", "got", "NoneType", "integer code", "outside"):
        assert english not in reason


def test_counts_are_named_as_counts_not_codes() -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({"n_people": "trois"})
    assert "nombre de personnes entre 1 et 500" in caught.value.reason and "code" not in caught.value.reason
    with pytest.raises(IncidentError) as caught:
        parse_incident({"n_pedestrians": 2.5})
    assert "nombre de piétons" in caught.value.reason
    with pytest.raises(IncidentError) as caught:
        parse_incident({"vma": 300})
    assert "km/h entre 1 et 130" in caught.value.reason and "300" in caught.value.reason


@pytest.mark.parametrize("value", ["x" * 1_000_000, 10 ** 4000, [7] * 10_000, {"a": "b" * 10_000}])
def test_the_offending_value_is_cut(value: object) -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({"atm": value})
    assert caught.value.field == "atm" and len(caught.value.reason) <= MAX_REASON_LENGTH


def test_an_unknown_field_name_is_cut_and_made_printable() -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({"\ud800" + "k" * 10_000: 1})
    assert len(caught.value.field) <= MAX_FIELD_LENGTH + 1 and caught.value.field.startswith("\\ud800")
    caught.value.field.encode("utf-8")  # strict UTF-8: no lone surrogate left


@pytest.mark.parametrize("value", ["call-7", "", 12, -3, 2.5, "é" * 200, 10 ** 19])
def test_ids_that_can_be_echoed(value: object) -> None:
    assert parse_id(value) == value


@pytest.mark.parametrize("value", [True, [1], {"a": 1}, float("nan"), float("inf"), "x" * 201, "\ud800",
                                   10 ** 25, 2 ** 64, -(2 ** 63) - 1, 1.8446744073709552e19])
def test_ids_that_cannot_be_echoed_are_refused(value: object) -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({"id": value})
    assert caught.value.field == "id" and "texte" in caught.value.reason


# --------------------------------------------------------------------------- #
# Flagged: scored, with a warning
# --------------------------------------------------------------------------- #


def test_a_real_accident_has_no_warning() -> None:
    assert warnings_of(ACCIDENT_201900000001) == []


def test_a_point_outside_france_is_flagged() -> None:
    found = warnings_of({"lat": 0.0, "lon": 0.0})
    assert [w["field"] for w in found] == ["lat"] and "hors de France" in found[0]["reason"]
    swapped = warnings_of({"lat": 2.47012, "lon": 48.89621, "dep": "93"})  # 201900000001 with lat and lon swapped
    assert len(swapped) == 1 and "hors de France" in swapped[0]["reason"]


def test_a_point_far_from_its_department_is_flagged_with_the_distance() -> None:
    # Lille's Grand-Place given with the Bouches-du-Rhône: about 750 km away.
    found = warnings_of({"lat": 50.6372, "lon": 3.0633, "dep": "13"})
    assert len(found) == 1 and "km du département 13" in found[0]["reason"]
    km = float(found[0]["reason"].split(" est à ")[1].split(" km")[0])
    assert 700 < km < 800


def test_a_point_just_across_a_border_is_not_flagged() -> None:
    # Strasbourg cathedral (67) given with the Bas-Rhin, and the same point 2 km east, in Kehl (Germany).
    assert warnings_of({"lat": 48.5818, "lon": 7.7509, "dep": "67"}) == []
    assert warnings_of({"lat": 48.5770, "lon": 7.8150, "dep": "67"}) == []


def test_an_overseas_point_in_its_department_is_not_flagged() -> None:
    assert warnings_of({"lat": -20.8823, "lon": 55.4504, "dep": "974", "com": "97411"}) == []
    assert warnings_of({"lat": 16.2411, "lon": -61.5331, "dep": "971"}) == []


def test_a_commune_of_another_department_is_flagged() -> None:
    found = warnings_of({"dep": "75", "com": "13055"})
    assert [w["field"] for w in found] == ["com"] and "Marseille" in found[0]["reason"]


@pytest.mark.parametrize(("date", "flagged"), [
    ("1900-05-01", True), ("1999-12-31T23:00", True), ("2000-01-01", False), ("2026-12-03T08:00", False),
    ("2026-12-04", False), ("2026-12-05", True), ("2100-01-01T10:00", True),
])
def test_dates_far_before_the_data_or_in_the_future_are_flagged(date: str, flagged: bool) -> None:
    found = warnings_of({"datetime": date})
    assert bool(found) == flagged
    assert all(w["field"] == "datetime" for w in found)


def test_located_accidents_of_2020_with_their_department_are_rarely_flagged(store_con) -> None:
    """An independent check of the distance: the store's own points (cleaned at ingest) sit in their department."""
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    frame = frame[frame["lat"].notna() & frame["dep"].notna()]
    found = incident_warnings(
        lat=frame["lat"].to_numpy(float), lon=frame["lon"].to_numpy(float), dep=frame["dep"].to_numpy(object),
        com=frame["com"].fillna("").to_numpy(object), year=frame["year"].to_numpy(float),
        month=frame["month"].to_numpy(float), day=frame["day"].to_numpy(float), data_years=DATA_YEARS)
    flagged = sum(bool(w) for w in found)
    assert len(frame) > 40_000
    assert flagged / len(frame) < 0.001
    assert np.mean([bool(w) for w in found]) < 0.001


@pytest.mark.parametrize("vehicles", [[[7]], [{"catv": 7}], [True, 7], [7.0], [[]], [None, [1]]])
def test_vehicle_items_of_other_types_are_named(vehicles: list) -> None:
    if vehicles == [7.0]:
        assert parse_incident({"vehicles": vehicles})["vehicles"] == (7,)  # an integral number is the code
        return
    with pytest.raises(IncidentError) as caught:
        parse_incident({"vehicles": vehicles})
    assert caught.value.field.startswith("vehicles[")
