"""The eCall mapping (core.ecall) on literal EN 15722 messages, independent facts and real BAAC rows.

Expectations are written from outside the code under test: the BAAC codebook's meaning of each ``catv`` code,
hand-computed Unix times (checked with ``calendar.timegm``, which knows no time zone), the local times of each
overseas zone, the sun's elevation at solar noon, sunrise and midnight, well-known places, and 395 real located
accidents of 2019-2020 with the light BAAC recorded.

``tests/data/ecall_baac_light_2019_2020.csv`` was copied from the store (``data/parquet/gravite.duckdb``, read
only) with::

    SELECT acc_id, year, month, day, hour, minute, dep, com, lat, lon, lum FROM accidents
    WHERE year IN (2019, 2020) AND lat IS NOT NULL AND lon IS NOT NULL AND lum IS NOT NULL
      AND hour IS NOT NULL AND minute IS NOT NULL AND length(dep) = 2 AND acc_id % 251 = 0
    ORDER BY acc_id

(mainland France and Corsica, whose local time is Europe/Paris).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core import codebook
from core.ecall.locate import locate
from core.ecall.mapping import CATV_OF_CLASS, EcallIncident, incident_from_msd
from core.ecall.msd import VEHICLE_TYPES, read_msd
from core.ecall.sun import light_code, solar_elevation
from core.incident.fields import INCIDENT_FIELDS, IncidentError
from core.incident.parse import parse_incident

LIGHT_ROWS = Path(__file__).resolve().parent / "data" / "ecall_baac_light_2019_2020.csv"

#: 2020-07-05 14:00:00 UTC (a Sunday in summer time).
JULY_5_2020_1400_UTC = 1_593_957_600
#: Paris, near the Hôtel de Ville.
PARIS = (48.8526, 2.3556)  # 4e arrondissement
CLERMONT_FERRAND = (45.7772, 3.0870)  # Place de Jaude, about 30 km inside Puy-de-Dôme
PORTE_MAILLOT = (48.8780, 2.2830)  # on the Paris / Hauts-de-Seine limit
OFF_MARSEILLE = (43.10, 5.30)  # 10 km south of the calanques
OFF_BRITTANY = (47.95, -4.50)  # baie d'Audierne, off the Finistère coast
MID_ATLANTIC = (40.0, -30.0)
BAVARIA = (48.5, 12.0)  # near Landshut, about 300 km east of Strasbourg

_CONTROL = ("automaticActivation", "testCall", "positionCanBeTrusted", "vehicleType")
_DROP = object()


def utc(*moment: int) -> int:
    """Unix seconds of a UTC moment (year, month, day, hour, minute), by calendar arithmetic only."""
    return calendar.timegm((*moment, 0, 0, 0, 0)[:9])


def mas(degrees: float) -> int:
    """Degrees to the MSD's milliarcseconds."""
    return round(degrees * 3_600_000)


def message(point: tuple[float, float] = PARIS, *, timestamp: int = JULY_5_2020_1400_UTC, **fields: Any) -> dict:
    """A flat, valid MSD at a point; keyword fields replace (or, given ``_DROP``, remove) its fields."""
    msd = {
        "automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
        "vehicleType": "passengerVehicleClassM1", "timestamp": timestamp,
        "vehicleLocation": {"positionLatitude": mas(point[0]), "positionLongitude": mas(point[1])},
        "numberOfPassengers": 2,
    }
    msd.update(fields)
    return {key: value for key, value in msd.items() if value is not _DROP}


def nested(flat: dict) -> dict:
    """The same message in the standard's nested layout (control block, msdStructure, optional data beside)."""
    outer = {key: flat[key] for key in ("optionalAdditionalData", "id") if key in flat}
    control = {key: flat[key] for key in _CONTROL if key in flat}
    structure = {key: value for key, value in flat.items() if key not in (*_CONTROL, *outer)}
    return {"msdStructure": {"control": control, **structure}, **outer}


def mapped(msd: Any) -> EcallIncident:
    """The mapping of a message, with what must hold for every message: the incident is the model's valid input,
    the answer's block is plain JSON, and the unknown fields are exactly the ones the incident leaves out."""
    ecall = incident_from_msd(msd)
    parse_incident(ecall.incident)
    json.dumps(ecall.summary(), allow_nan=False)
    if not ecall.test_call:
        assert ecall.unknown == tuple(name for name in INCIDENT_FIELDS if name not in ecall.incident)
    return ecall


def error_of(msd: Any) -> IncidentError:
    with pytest.raises(IncidentError) as caught:
        incident_from_msd(msd)
    assert caught.value.reason
    return caught.value


def warned(ecall: EcallIncident, field: str) -> list[str]:
    return [warning["reason"] for warning in ecall.warnings if warning["field"] == field]


def test_the_literal_moments_are_what_they_say() -> None:
    assert utc(2020, 7, 5, 14, 0) == JULY_5_2020_1400_UTC
    assert utc(1970, 1, 1, 0, 0) == 0
    assert mas(PARIS[0]) == 175_869_360


# --------------------------------------------------------------------------- #
# Vehicle class -> catv: one message per EN 15722 class
# --------------------------------------------------------------------------- #

# (class, its ASN.1 enumeration number, the BAAC catv whose codebook meaning fits, that meaning)
VEHICLE_CLASSES = [
    ("passengerVehicleClassM1", 1, 7, "VL seul"),
    ("busesAndCoachesClassM2", 2, 38, "Autocar"),  # minibuses and small coaches
    ("busesAndCoachesClassM3", 3, 37, "Autobus"),
    ("lightCommercialVehiclesClassN1", 4, 10, "VU seul 1,5T <= PTAC <= 3,5T avec ou sans remorque"),
    ("heavyDutyVehiclesClassN2", 5, 13, "PL seul 3,5T <PTCA <= 7,5T"),  # 3.5 to 12 t
    ("heavyDutyVehiclesClassN3", 6, 14, "PL seul > 7,5T"),  # over 12 t
    ("motorcyclesClassL1e", 7, 2, "Cyclomoteur <50cm3"),
    ("motorcyclesClassL2e", 8, 41, "3RM <= 50 cm3"),  # three-wheel moped
    ("motorcyclesClassL3e", 9, 33, "Motocyclette > 125 cm 3"),
    ("motorcyclesClassL4e", 10, 33, "Motocyclette > 125 cm 3"),  # with side-car (BAAC's 6 retired in 2006)
    ("motorcyclesClassL5e", 11, 43, "3RM > 125 cm3"),  # powered tricycle
    ("motorcyclesClassL6e", 12, 3, "Voiturette (Quadricycle à moteur carrossé)"),  # light quadricycle
    ("motorcyclesClassL7e", 13, 36, "Quad lourd > 50 cm 3"),  # heavy quadricycle
]


def test_every_class_of_the_standard_has_an_expected_code() -> None:
    assert [name for name, *_ in VEHICLE_CLASSES] == list(VEHICLE_TYPES)
    assert [number for _, number, *_ in VEHICLE_CLASSES] == list(range(1, 14))
    assert set(CATV_OF_CLASS) == set(VEHICLE_TYPES)


@pytest.mark.parametrize(("vehicle_class", "number", "catv", "label"), VEHICLE_CLASSES,
                         ids=[name for name, *_ in VEHICLE_CLASSES])
def test_each_vehicle_class_gives_its_baac_catv(vehicle_class: str, number: int, catv: int, label: str) -> None:
    by_name = mapped(message(vehicleType=vehicle_class))
    by_number = mapped(message(vehicleType=number))
    assert by_name.incident["vehicles"] == by_number.incident["vehicles"] == [catv]
    assert by_name.msd.vehicle_type == by_number.msd.vehicle_type == vehicle_class
    assert CATV_OF_CLASS[vehicle_class][0] == catv
    assert codebook.label("catv", catv).startswith(label)
    fact = next(fact for fact in by_name.facts if fact["field"] == "vehicles")
    assert fact["value"] == [catv]
    assert fact["text"].startswith(label)
    assert "autres véhicules inconnus" in fact["text"]
    assert parse_incident(by_name.incident)["vehicles"] == (catv,)


def test_a_class_name_is_read_whatever_its_case_and_spaces() -> None:
    assert mapped(message(vehicleType=" MOTORCYCLESCLASSL1E ")).incident["vehicles"] == [2]


# --------------------------------------------------------------------------- #
# What a plain message gives, and the flags around it
# --------------------------------------------------------------------------- #


def test_a_message_in_paris_gives_place_local_time_light_vehicle_and_people() -> None:
    ecall = mapped(message(id="appel-42"))
    assert ecall.incident == {"id": "appel-42", "lat": 48.8526, "lon": 2.3556, "dep": "75", "com": "75104",
                              "datetime": "2020-07-05T16:00", "lum": 1, "vehicles": [7], "n_people": 2}
    assert ecall.warnings == []
    assert ecall.signals[0]["field"] == "automaticActivation"
    assert "non intégré à la probabilité" in ecall.signals[0]["reason"]
    parsed = parse_incident(ecall.incident)
    assert (parsed["year"], parsed["month"], parsed["day"], parsed["hour"], parsed["minute"]) == (2020, 7, 5, 16, 0)
    assert parsed["weekday"] == 6  # a Sunday
    assert set(ecall.unknown) == {"atm", "agg", "int", "col", "catr", "surf", "obs", "vma", "n_pedestrians",
                                  "people"}  # who is hurt: the operator asks


def test_a_manual_call_is_shown_as_such_and_propulsion_is_a_signal_not_a_fact() -> None:
    ecall = mapped(message(automaticActivation=False, vehicleDirection=45,
                           vehiclePropulsionStorageType={"gasolineTankPresent": False, "electricEnergyStorage": True}))
    assert "manuel" in ecall.signals[0]["reason"]
    assert ecall.signals[1]["field"] == "vehiclePropulsionStorageType"
    assert "electricEnergyStorage" in ecall.signals[1]["reason"]
    assert ecall.summary()["not_used"] == {"propulsion": ["electricEnergyStorage"], "direction_degrees": 90}
    assert ecall.incident == mapped(message()).incident


def test_a_test_call_gives_no_incident() -> None:
    ecall = mapped(message(testCall=True))
    assert ecall.test_call
    assert ecall.incident == {}
    assert ecall.facts == [] and ecall.warnings == []
    summary = ecall.summary()
    assert summary["test_call"] is True and summary["incident"] == {}


def test_a_test_call_is_still_checked() -> None:
    assert error_of(message(testCall=True, vehicleType=14)).field == "vehicleType"


# --------------------------------------------------------------------------- #
# Position that cannot be trusted
# --------------------------------------------------------------------------- #


def test_an_untrusted_position_well_inside_keeps_only_the_department() -> None:
    ecall = mapped(message(CLERMONT_FERRAND, positionCanBeTrusted=False))
    assert ecall.incident["dep"] == "63"
    assert not {"lat", "lon", "com"} & set(ecall.incident)
    assert ecall.incident["datetime"] == "2020-07-05T16:00"
    assert ecall.incident["lum"] == 1  # the sun is the same a few km away
    (reason,) = warned(ecall, "positionCanBeTrusted")
    assert "département gardé" in reason
    assert [fact["field"] for fact in ecall.facts if fact["field"] in ("place", "com")] == []


def test_an_untrusted_position_near_a_department_limit_loses_the_department_too() -> None:
    ecall = mapped(message(PORTE_MAILLOT, positionCanBeTrusted=False))
    assert locate(*PORTE_MAILLOT).dep in ("75", "92")
    assert not {"lat", "lon", "dep", "com"} & set(ecall.incident)
    (reason,) = warned(ecall, "positionCanBeTrusted")
    assert "ni le département" in reason
    assert ecall.incident["vehicles"] == [7] and ecall.incident["datetime"] == "2020-07-05T16:00"


def test_an_untrusted_position_at_sea_keeps_no_department() -> None:
    ecall = mapped(message(OFF_MARSEILLE, positionCanBeTrusted=False))
    assert not {"lat", "lon", "dep", "com"} & set(ecall.incident)
    (reason,) = warned(ecall, "positionCanBeTrusted")
    assert "hors des contours" in reason and "limite" not in reason


def test_an_untrusted_position_overseas_still_gives_the_local_time() -> None:
    ecall = mapped(message((-21.1151, 55.5364), positionCanBeTrusted=False))  # Cilaos, inland La Réunion
    assert ecall.incident["dep"] == "974"
    assert ecall.incident["datetime"] == "2020-07-05T18:00"


# --------------------------------------------------------------------------- #
# At sea, far from France
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("point", "dep"), [(OFF_MARSEILLE, "13"), (OFF_BRITTANY, "29")],
                         ids=["off-marseille", "off-brittany"])
def test_a_point_at_sea_gets_the_nearest_department_and_commune_with_a_warning(
        point: tuple[float, float], dep: str) -> None:
    ecall = mapped(message(point))
    assert ecall.incident["dep"] == dep
    assert ecall.incident["com"].startswith(dep)
    assert (ecall.incident["lat"], ecall.incident["lon"]) == point
    assert ecall.location.method == "nearest"
    assert 1 < ecall.location.distance_km < 25
    (reason,) = warned(ecall, "vehicleLocation")
    assert "en mer" in reason and "km" in reason


def test_off_marseille_is_some_ten_km_from_the_coast_in_a_marseille_arrondissement() -> None:
    ecall = mapped(message(OFF_MARSEILLE))
    assert 5 < ecall.location.distance_km < 15
    assert ecall.incident["com"].startswith("132")


@pytest.mark.parametrize("point", [MID_ATLANTIC, BAVARIA, (47.0, -3.0)], ids=["mid-atlantic", "bavaria", "biscay"])
def test_a_point_far_from_france_is_ignored_with_a_warning(point: tuple[float, float]) -> None:
    ecall = mapped(message(point))
    assert not {"lat", "lon", "dep", "com"} & set(ecall.incident)
    assert ecall.location.dep is None and ecall.location.method == "outside"
    assert ecall.location.distance_km > 25
    (reason,) = warned(ecall, "vehicleLocation")
    assert "lieu ignoré" in reason and "heure de Paris" in reason
    assert ecall.incident["datetime"] == "2020-07-05T16:00"  # Paris time
    assert ecall.incident["vehicles"] == [7]
    assert "lum" not in ecall.incident  # no light from a place the estimate ignores


@pytest.mark.parametrize("pole", [(90.0, 0.0), (-90.0, 0.0)], ids=["north", "south"])
def test_a_pole_gives_neither_place_nor_light(pole: tuple[float, float]) -> None:
    ecall = mapped(message(pole))
    assert not {"lat", "lon", "dep", "com", "lum"} & set(ecall.incident)


@pytest.mark.parametrize("point", [MID_ATLANTIC, BAVARIA], ids=["mid-atlantic", "bavaria"])
def test_the_far_warning_reads_as_french_words(point: tuple[float, float]) -> None:
    (reason,) = warned(mapped(message(point)), "vehicleLocation")
    assert "inf" not in reason


# --------------------------------------------------------------------------- #
# Local time: overseas zones and daylight-saving changes
# --------------------------------------------------------------------------- #

# At 2020-07-05 14:00 UTC: (place, point, department, zone, UTC offset, local time).
OVERSEAS = [
    ("saint-denis-reunion", (-20.8789, 55.4481), "974", "Indian/Reunion", "+0400", "2020-07-05T18:00"),
    ("pointe-a-pitre", (16.2411, -61.5331), "971", "America/Guadeloupe", "-0400", "2020-07-05T10:00"),
    ("fort-de-france", (14.6161, -61.0588), "972", "America/Martinique", "-0400", "2020-07-05T10:00"),
    ("cayenne", (4.9372, -52.3260), "973", "America/Cayenne", "-0300", "2020-07-05T11:00"),
    ("mamoudzou", (-12.7806, 45.2279), "976", "Indian/Mayotte", "+0300", "2020-07-05T17:00"),
    ("saint-pierre", (46.7811, -56.1764), "975", "America/Miquelon", "-0200", "2020-07-05T12:00"),  # summer time
    ("papeete", (-17.5350, -149.5690), "987", "Pacific/Tahiti", "-1000", "2020-07-05T04:00"),
    ("nuku-hiva-marquesas", (-8.9109, -140.0997), "987", "Pacific/Marquesas", "-0930", "2020-07-05T04:30"),
    ("gambier", (-23.1200, -134.9700), "987", "Pacific/Gambier", "-0900", "2020-07-05T05:00"),
    ("noumea", (-22.2758, 166.4580), "988", "Pacific/Noumea", "+1100", "2020-07-06T01:00"),
    ("ajaccio", (41.9267, 8.7369), "2A", "Europe/Paris", "+0200", "2020-07-05T16:00"),
]


@pytest.mark.parametrize(("point", "dep", "zone", "offset", "local"), [row[1:] for row in OVERSEAS],
                         ids=[row[0] for row in OVERSEAS])
def test_an_overseas_point_gets_its_department_and_local_time(
        point: tuple[float, float], dep: str, zone: str, offset: str, local: str) -> None:
    ecall = mapped(message(point))
    assert ecall.incident["dep"] == dep
    assert ecall.incident.get("com") is None or ecall.incident["com"].startswith(dep)
    assert ecall.incident["datetime"] == local
    (fact,) = [fact for fact in ecall.facts if fact["field"] == "datetime"]
    assert fact["text"].endswith(f"({zone}, UTC{offset})")


def test_the_overseas_departments_have_their_communes() -> None:
    for _, point, dep, *_ in OVERSEAS[:5]:
        assert mapped(message(point)).incident["com"][:3] == dep


def test_la_reunion_at_dusk_in_winter() -> None:
    # Saint-Denis, 5 July 2020: sunset about 17:50 local (13:50 UTC); at 14:00 UTC the sun has just set.
    assert mapped(message(OVERSEAS[0][1])).incident["lum"] == 2


# Last Sunday of March and of October 2020 in Paris: (UTC moment, Unix seconds written by hand, local time).
DAYLIGHT_SAVING = [
    ("march-before", (2020, 3, 29, 0, 59), 1_585_443_540, "2020-03-29T01:59", "+0100"),
    ("march-after", (2020, 3, 29, 1, 0), 1_585_443_600, "2020-03-29T03:00", "+0200"),
    ("october-before", (2020, 10, 25, 0, 59), 1_603_587_540, "2020-10-25T02:59", "+0200"),
    ("october-after", (2020, 10, 25, 1, 0), 1_603_587_600, "2020-10-25T02:00", "+0100"),
    ("october-first-0230", (2020, 10, 25, 0, 30), 1_603_585_800, "2020-10-25T02:30", "+0200"),
    ("october-second-0230", (2020, 10, 25, 1, 30), 1_603_589_400, "2020-10-25T02:30", "+0100"),
    ("winter", (2020, 1, 15, 12, 0), 1_579_089_600, "2020-01-15T13:00", "+0100"),
]


@pytest.mark.parametrize(("moment", "seconds", "local", "offset"), [row[1:] for row in DAYLIGHT_SAVING],
                         ids=[row[0] for row in DAYLIGHT_SAVING])
def test_a_timestamp_across_a_daylight_saving_change(moment: tuple[int, ...], seconds: int, local: str,
                                                     offset: str) -> None:
    assert utc(*moment) == seconds
    ecall = mapped(message(timestamp=seconds))
    assert ecall.incident["datetime"] == local
    (fact,) = [fact for fact in ecall.facts if fact["field"] == "datetime"]
    assert fact["text"].endswith(f"(Europe/Paris, UTC{offset})")


# --------------------------------------------------------------------------- #
# The nested layout maps as the flat one
# --------------------------------------------------------------------------- #

FLAT_LITERAL = {
    "automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
    "vehicleType": "lightCommercialVehiclesClassN1", "messageIdentifier": 3,
    "vehicleIdentificationNumber": {"isowmi": "VF1", "isovds": "ABCDEF", "isovisModelyear": "L",
                                    "isovisSeqPlant": "1234567"},
    "vehiclePropulsionStorageType": {"dieselTankPresent": True},
    "timestamp": 1_584_210_600, "vehicleLocation": {"positionLatitude": 173_222_280, "positionLongitude": -6_040_080},
    "vehicleDirection": 20, "recentVehicleLocationN1": {"latitudeDelta": -12, "longitudeDelta": 40},
    "numberOfPassengers": 3, "optionalAdditionalData": {"oid": "8.1", "data": "AAEC"},
}
NESTED_LITERAL = {
    "msdStructure": {
        "messageIdentifier": 3,
        "control": {"automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
                    "vehicleType": "lightCommercialVehiclesClassN1"},
        "vehicleIdentificationNumber": {"isowmi": "VF1", "isovds": "ABCDEF", "isovisModelyear": "L",
                                        "isovisSeqPlant": "1234567"},
        "vehiclePropulsionStorageType": {"dieselTankPresent": True},
        "timestamp": 1_584_210_600,
        "vehicleLocation": {"positionLatitude": 173_222_280, "positionLongitude": -6_040_080},
        "vehicleDirection": 20,
        "recentVehicleLocationN1": {"latitudeDelta": -12, "longitudeDelta": 40},
        "numberOfPassengers": 3,
    },
    "optionalAdditionalData": {"oid": "8.1", "data": "AAEC"},
}


def test_the_literal_nested_message_maps_as_the_flat_one() -> None:
    flat, deep = mapped(FLAT_LITERAL), mapped(NESTED_LITERAL)
    assert deep == flat
    # Rennes, Saturday 14 March 2020 18:30 UTC = 19:30 in Paris (winter time): sunset about 19:16, civil dusk
    # until about 19:47
    assert flat.incident["dep"] == "35" and flat.incident["datetime"] == "2020-03-14T19:30"
    assert flat.incident["vehicles"] == [10] and flat.incident["n_people"] == 3
    assert flat.incident["lum"] == 2
    assert flat.msd.direction == 40
    assert flat.msd.kept == {"recentVehicleLocationN1": {"latitudeDelta": -12, "longitudeDelta": 40},
                             "messageIdentifier": 3, "optionalAdditionalData": {"oid": "8.1", "data": "AAEC"}}


def test_the_standards_outer_wrapper_is_unwrapped_and_its_id_is_the_format_version() -> None:
    wrapped = mapped({"id": 2, "msd": NESTED_LITERAL})
    assert wrapped.incident == mapped(FLAT_LITERAL).incident and "id" not in wrapped.incident
    assert wrapped.msd.id is None and wrapped.msd.kept["msdFormatVersion"] == 2
    with pytest.raises(IncidentError) as caught:
        mapped({"id": 2, "msd": NESTED_LITERAL, "extra": 1})
    assert caught.value.field == "extra"
    with pytest.raises(IncidentError) as caught:
        mapped({"id": 300, "msd": NESTED_LITERAL})
    assert caught.value.field == "id"


def test_one_wrapper_only_and_no_field_given_twice() -> None:
    for bad, field in (({"msd": {"msd": NESTED_LITERAL}}, "msd.msd"),
                       ({**NESTED_LITERAL, "timestamp": 1}, "msdStructure.timestamp"),
                       ({**FLAT_LITERAL, "msdFormatVersion": "abc"}, "msdFormatVersion")):
        with pytest.raises(IncidentError) as caught:
            mapped(bad)
        assert caught.value.field == field
    deep = NESTED_LITERAL
    for _ in range(600):  # under orjson's nesting limit: refused at the second level, never a RecursionError
        deep = {"msd": deep}
    with pytest.raises(IncidentError):
        mapped(deep)


@pytest.mark.parametrize("flat", [
    message(), message(testCall=True), message(CLERMONT_FERRAND, positionCanBeTrusted=False), message(OFF_BRITTANY),
    message(MID_ATLANTIC, vehicleType=9), message(OVERSEAS[7][1], id=7), message(numberOfPassengers=255),
    message(timestamp=0), message(vehicleLocation={"positionLatitude": 2_147_483_647,
                                                   "positionLongitude": 2_147_483_647}),
], ids=["paris", "test-call", "untrusted", "at-sea", "far", "marquesas", "passengers-unknown", "time-unknown",
        "position-unknown"])
def test_every_message_maps_the_same_in_both_layouts(flat: dict) -> None:
    assert nested(flat) != flat
    assert mapped(nested(flat)) == mapped(flat)


# --------------------------------------------------------------------------- #
# Bad messages: IncidentError naming the field
# --------------------------------------------------------------------------- #

NO_LATITUDE = {"positionLongitude": mas(PARIS[1])}
BAD_MESSAGES = [
    *[pytest.param({name: _DROP}, name, id=f"missing-{name}") for name in
      ("automaticActivation", "testCall", "positionCanBeTrusted", "vehicleType", "timestamp", "vehicleLocation")],
    pytest.param({"timestamp": None}, "timestamp", id="null-timestamp"),
    pytest.param({"vehicleLocation": NO_LATITUDE}, "vehicleLocation.positionLatitude", id="missing-latitude"),
    pytest.param({"vehicleLocation": {"positionLatitude": mas(PARIS[0])}}, "vehicleLocation.positionLongitude",
                 id="missing-longitude"),
    pytest.param({"vehicleLocation": {"positionLatitude": 324_000_001, "positionLongitude": 0}},
                 "vehicleLocation.positionLatitude", id="latitude-beyond-90"),
    pytest.param({"vehicleLocation": {"positionLatitude": -324_000_001, "positionLongitude": 0}},
                 "vehicleLocation.positionLatitude", id="latitude-beyond-minus-90"),
    pytest.param({"vehicleLocation": {"positionLatitude": 0, "positionLongitude": 648_000_001}},
                 "vehicleLocation.positionLongitude", id="longitude-beyond-180"),
    pytest.param({"vehicleLocation": {"positionLatitude": 0, "positionLongitude": -648_000_001}},
                 "vehicleLocation.positionLongitude", id="longitude-beyond-minus-180"),
    pytest.param({"vehicleLocation": {"positionLatitude": 175_869_360.5, "positionLongitude": 8_480_160}},
                 "vehicleLocation.positionLatitude", id="latitude-not-whole"),
    pytest.param({"vehicleLocation": {"positionLatitude": "175869360", "positionLongitude": 8_480_160}},
                 "vehicleLocation.positionLatitude", id="latitude-text"),
    pytest.param({"vehicleLocation": {**NO_LATITUDE, "positionLatitude": 1, "altitude": 30}},
                 "vehicleLocation.altitude", id="location-unknown-field"),
    pytest.param({"vehicleLocation": [mas(PARIS[0]), mas(PARIS[1])]}, "vehicleLocation", id="location-list"),
    pytest.param({"vehicleType": "passengerVehicleClassM9"}, "vehicleType", id="class-unknown-text"),
    pytest.param({"vehicleType": 14}, "vehicleType", id="class-14"),
    pytest.param({"vehicleType": 0}, "vehicleType", id="class-0"),
    pytest.param({"vehicleType": True}, "vehicleType", id="class-true"),
    pytest.param({"vehicleType": "VL"}, "vehicleType", id="class-baac-word"),
    pytest.param({"testCall": "true"}, "testCall", id="testcall-text"),
    pytest.param({"testCall": 1}, "testCall", id="testcall-number"),
    pytest.param({"automaticActivation": "yes"}, "automaticActivation", id="activation-text"),
    pytest.param({"positionCanBeTrusted": None}, "positionCanBeTrusted", id="trusted-null"),
    pytest.param({"timestamp": -1}, "timestamp", id="timestamp-negative"),
    pytest.param({"timestamp": 2 ** 32}, "timestamp", id="timestamp-beyond-32-bits"),
    pytest.param({"timestamp": "2020-07-05T14:00"}, "timestamp", id="timestamp-text"),
    pytest.param({"speed": 90}, "speed", id="unknown-top-level-field"),
    pytest.param({"vehiclePropulsionStorageType": {"dieselTank": True}}, "vehiclePropulsionStorageType.dieselTank",
                 id="unknown-propulsion-key"),
    pytest.param({"vehiclePropulsionStorageType": {"dieselTankPresent": "yes"}},
                 "vehiclePropulsionStorageType.dieselTankPresent", id="propulsion-flag-text"),
    pytest.param({"vehiclePropulsionStorageType": ["dieselTankPresent"]}, "vehiclePropulsionStorageType",
                 id="propulsion-list"),
    pytest.param({"numberOfPassengers": 300}, "numberOfPassengers", id="passengers-300"),
    pytest.param({"numberOfPassengers": -1}, "numberOfPassengers", id="passengers-negative"),
    pytest.param({"numberOfPassengers": 2.5}, "numberOfPassengers", id="passengers-not-whole"),
    pytest.param({"vehicleDirection": 180}, "vehicleDirection", id="direction-360-degrees"),
    pytest.param({"recentVehicleLocationN1": {"latitudeDelta": 600, "longitudeDelta": 0}},
                 "recentVehicleLocationN1.latitudeDelta", id="recent-delta-beyond-511"),
    pytest.param({"messageIdentifier": 256}, "messageIdentifier", id="message-identifier-256"),
]


@pytest.mark.parametrize(("change", "field"), BAD_MESSAGES)
def test_a_bad_message_names_the_field(change: dict, field: str) -> None:
    error = error_of(message(**change))
    assert error.field == field
    assert error.as_dict() == {"field": field, "reason": error.reason}


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"vehicleType": 14}, "vehicleType", id="class-14"),
    pytest.param({"testCall": "true"}, "testCall", id="testcall-text"),
    pytest.param({"vehicleLocation": {"positionLatitude": 324_000_001, "positionLongitude": 0}},
                 "vehicleLocation.positionLatitude", id="latitude-beyond-90"),
    pytest.param({"timestamp": _DROP}, "timestamp", id="missing-timestamp"),
])
def test_a_bad_nested_message_names_the_same_field(change: dict, field: str) -> None:
    assert error_of(nested(message(**change))).field == field


def test_the_nested_layout_refuses_what_the_flat_one_refuses() -> None:
    msd = nested(message())
    msd["msdStructure"]["control"]["speed"] = 90
    assert error_of(msd).field == "control.speed"
    assert error_of({"msdStructure": [1, 2]}).field == "msdStructure"
    assert error_of({"msdStructure": {**nested(message())["msdStructure"], "control": True}}).field == "control"


@pytest.mark.parametrize("value", [None, [], "msd", 42])
def test_a_message_that_is_not_an_object_is_refused(value: object) -> None:
    assert error_of(value).field == "msd"


def test_the_reasons_say_what_is_allowed_in_french() -> None:
    assert "hors des bornes" in error_of(message(numberOfPassengers=300)).reason
    assert "obligatoire" in error_of(message(timestamp=_DROP)).reason
    assert "1 à 13" in error_of(message(vehicleType=14)).reason
    assert "true ou false" in error_of(message(testCall="true")).reason


@pytest.mark.parametrize(("latitude", "longitude"), [(324_000_000, 648_000_000), (-324_000_000, -648_000_000)])
def test_the_bounds_themselves_are_accepted(latitude: int, longitude: int) -> None:
    msd = read_msd(message(vehicleLocation={"positionLatitude": latitude, "positionLongitude": longitude}))
    assert (abs(msd.latitude), abs(msd.longitude)) == (90.0, 180.0)


def test_a_whole_float_is_read_as_the_integer() -> None:
    float_msd = message(vehicleLocation={"positionLatitude": 175_869_360.0, "positionLongitude": 8_480_160.0})
    assert mapped(float_msd).incident == mapped(message()).incident


# --------------------------------------------------------------------------- #
# The standard's "unknown" values, and the passengers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("location", [
    {"positionLatitude": 2_147_483_647, "positionLongitude": 2_147_483_647},
    {"positionLatitude": 2_147_483_647, "positionLongitude": 8_480_160},
    {"positionLatitude": 175_869_360, "positionLongitude": 2_147_483_647},
], ids=["both", "latitude", "longitude"])
def test_an_unknown_position_gives_no_place_and_a_warning(location: dict) -> None:
    ecall = mapped(message(vehicleLocation=location))
    assert ecall.msd.latitude is None and ecall.msd.longitude is None and ecall.location is None
    assert not {"lat", "lon", "dep", "com", "lum"} & set(ecall.incident)
    (reason,) = warned(ecall, "vehicleLocation")
    assert "position inconnue" in reason
    assert ecall.incident["datetime"] == "2020-07-05T16:00"  # Paris time, as the warning says


def test_an_unknown_timestamp_gives_no_time_and_no_light() -> None:
    ecall = mapped(message(timestamp=0))
    assert ecall.msd.timestamp is None
    assert "datetime" not in ecall.incident and "lum" not in ecall.incident
    assert ecall.incident["dep"] == "75"
    (reason,) = warned(ecall, "timestamp")
    assert "inconnu" in reason


def test_an_unknown_direction_is_none() -> None:
    assert mapped(message(vehicleDirection=255)).msd.direction is None
    assert mapped(message(vehicleDirection=179)).msd.direction == 358


@pytest.mark.parametrize(("passengers", "n_people"), [(0, 1), (1, 1), (4, 4), (254, 254), (255, None), (_DROP, None)],
                         ids=["0", "1", "4", "254", "255-unknown", "absent"])
def test_passengers_give_the_people_involved_at_least_one(passengers: object, n_people: int | None) -> None:
    ecall = mapped(message(numberOfPassengers=passengers))
    assert ecall.incident.get("n_people") == n_people
    assert ("n_people" in ecall.unknown) == (n_people is None)


# --------------------------------------------------------------------------- #
# Light: the sun against independent facts
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("latitude", [0.0, 30.0, 48.8566, 60.0, -30.0, -45.0])
@pytest.mark.parametrize("noon", [utc(2020, 3, 20, 12, 7), utc(2020, 9, 22, 11, 53)], ids=["march", "september"])
def test_at_an_equinox_the_noon_sun_stands_at_90_minus_the_latitude(latitude: float, noon: int) -> None:
    # Solar noon on the Greenwich meridian: 12:07 UTC on 20 March, 11:53 UTC on 22 September (equation of time).
    elevation = float(solar_elevation(noon, latitude, 0.0))
    assert abs(elevation - (90.0 - abs(latitude))) < 0.5


def test_at_the_june_solstice_the_sun_culminates_at_64_6_degrees_over_paris_at_1352() -> None:
    minutes = np.arange(utc(2020, 6, 21, 0, 0), utc(2020, 6, 22, 0, 0), 60)
    elevation = solar_elevation(minutes, 48.8566, 2.3522)
    assert abs(float(elevation.max()) - 64.6) < 0.1  # 90 - 48.86 + 23.44
    noon = dt.datetime.fromtimestamp(int(minutes[int(np.argmax(elevation))]), tz=dt.UTC)
    assert noon.replace(tzinfo=None) - dt.datetime(2020, 6, 21, 11, 52) <= dt.timedelta(minutes=2)


def test_at_the_december_solstice_the_sun_culminates_at_17_7_degrees_over_paris() -> None:
    minutes = np.arange(utc(2020, 12, 21, 0, 0), utc(2020, 12, 22, 0, 0), 60)
    assert abs(float(solar_elevation(minutes, 48.8566, 2.3522).max()) - 17.7) < 0.1  # 90 - 48.86 - 23.44


@pytest.mark.parametrize("moment", [
    pytest.param(utc(2020, 6, 21, 3, 47), id="june-sunrise-0547"),
    pytest.param(utc(2020, 6, 21, 19, 58), id="june-sunset-2158"),
    pytest.param(utc(2020, 12, 21, 7, 41), id="december-sunrise-0841"),
    pytest.param(utc(2020, 12, 21, 15, 56), id="december-sunset-1656"),
])
def test_at_the_published_sunrise_and_sunset_of_paris_the_sun_is_0_83_degree_below(moment: int) -> None:
    # Published times are when the sun's upper edge touches the refracted horizon: centre 0.83 degree below.
    elevation = float(solar_elevation(moment, 48.8566, 2.3522))
    assert abs(elevation + 0.83) < 0.25
    assert int(light_code(elevation)) == 2


@pytest.mark.parametrize(("moment", "below"), [(utc(2020, 6, 20, 23, 52), -17.0), (utc(2020, 12, 20, 23, 0), -60.0)],
                         ids=["june", "december"])
def test_at_midnight_the_sun_is_below_the_horizon_and_gives_no_code(moment: int, below: float) -> None:
    elevation = float(solar_elevation(moment, 48.8566, 2.3522))
    assert elevation < below
    assert int(light_code(elevation)) == 0
    ecall = mapped(message(timestamp=moment))
    assert "lum" not in ecall.incident
    (fact,) = [fact for fact in ecall.facts if fact["field"] == "lum"]
    assert fact["value"] is None and "éclairage public inconnu" in fact["text"]


def test_the_light_of_a_winter_evening_is_dusk_then_night() -> None:
    # Paris, 15 January 2020: sunset about 17:20 local (16:20 UTC), civil dusk until about 17:57; night at 18:30.
    assert mapped(message(timestamp=utc(2020, 1, 15, 16, 0))).incident["lum"] == 1
    assert mapped(message(timestamp=utc(2020, 1, 15, 16, 35))).incident["lum"] == 2
    assert "lum" not in mapped(message(timestamp=utc(2020, 1, 15, 17, 30))).incident


# --------------------------------------------------------------------------- #
# Light and place against real BAAC accidents of 2019-2020
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def real_accidents() -> list[tuple[dict[str, str], EcallIncident]]:
    """Each real accident as the message its vehicle would have sent, mapped."""
    with LIGHT_ROWS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    paris = ZoneInfo("Europe/Paris")
    mapped_rows = []
    for row in rows:
        local = dt.datetime(int(row["year"]), int(row["month"]), int(row["day"]), int(row["hour"]),
                            int(row["minute"]), tzinfo=paris)
        point = (float(row["lat"]), float(row["lon"]))
        mapped_rows.append((row, mapped(message(point, timestamp=int(local.timestamp())))))
    return mapped_rows


def test_the_real_sample_is_what_the_docstring_says(real_accidents: list) -> None:
    rows = [row for row, _ in real_accidents]
    assert len(rows) == 395
    assert {row["year"] for row in rows} == {"2019", "2020"}
    assert all(int(row["acc_id"]) % 251 == 0 and len(row["dep"]) == 2 for row in rows)
    assert sum(row["lum"] == "1" for row in rows) == 266
    assert sum(row["lum"] in ("3", "4", "5") for row in rows) == 107


def test_real_accidents_in_full_daylight_get_the_full_day_code(real_accidents: list) -> None:
    day = [ecall.incident.get("lum") for row, ecall in real_accidents if row["lum"] == "1"]
    assert sum(code == 1 for code in day) / len(day) >= 0.95  # measured 261 / 266 = 0.98


def test_real_accidents_at_night_get_no_light_code(real_accidents: list) -> None:
    night = [ecall.incident.get("lum") for row, ecall in real_accidents if row["lum"] in ("3", "4", "5")]
    assert sum(code is None for code in night) / len(night) >= 0.9  # measured 101 / 107 = 0.94


def test_real_accidents_keep_their_local_time_and_department(real_accidents: list) -> None:
    for row, ecall in real_accidents:
        expected = f"{row['year']}-{int(row['month']):02d}-{int(row['day']):02d}T{int(row['hour']):02d}:" \
                   f"{int(row['minute']):02d}"
        assert ecall.incident["datetime"] == expected
    same_dep = sum(ecall.incident.get("dep") == row["dep"] for row, ecall in real_accidents)
    assert same_dep / len(real_accidents) >= 0.97  # measured 392 / 395


# --------------------------------------------------------------------------- #
# Locate: well-known places
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("point", "dep", "com"), [
    pytest.param((48.8584, 2.2945), "75", "75107", id="eiffel-tower-paris-7e"),
    pytest.param((45.7578, 4.8320), "69", "69382", id="lyon-bellecour-2e"),
    pytest.param((43.2940, 5.3760), "13", "13201", id="marseille-canebiere-1er"),
    pytest.param((48.5734, 7.7521), "67", "67482", id="strasbourg"),
    pytest.param((48.1173, -1.6778), "35", "35238", id="rennes"),
    pytest.param((41.9267, 8.7369), "2A", "2A004", id="ajaccio"),
    pytest.param((42.7028, 9.4503), "2B", "2B033", id="bastia"),
    pytest.param((45.7772, 3.0870), "63", "63113", id="clermont-ferrand"),
])
def test_well_known_places_get_their_department_and_commune(point: tuple[float, float], dep: str, com: str) -> None:
    location = locate(*point)
    assert (location.dep, location.com, location.method, location.distance_km) == (dep, com, "inside", 0.0)


def test_the_vieux_port_is_in_a_marseille_arrondissement() -> None:
    assert locate(43.2951, 5.3740).com.startswith("132")


def test_the_commune_is_named_in_the_facts() -> None:
    ecall = mapped(message((48.8584, 2.2945)))
    (fact,) = [fact for fact in ecall.facts if fact["field"] == "com"]
    assert fact["text"].startswith("Paris 7e Arrondissement (75107")
    (dep_fact,) = [fact for fact in ecall.facts if fact["field"] == "dep"]
    assert dep_fact["text"] == "Paris (75)"
