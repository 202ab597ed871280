"""Incident parsing and features, on literal real accidents of the store."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from h3.api import basic_int as h3

from core.features.build import CURRENT_RECORDING_PERIOD, SEVERE_PRIOR, build_features
from core.features.columns import columns_from_frame, columns_from_incidents
from core.features.facts import KEY_FACTS, key_facts
from core.features.history import (
    PlaceHistory,
    build_place_history,
    load_place_history,
    place_cells,
    place_key,
    save_place_history,
)
from core.features.names import FEATURE_NAMES
from core.features.training import incident_from_row, training_frame
from core.incident.fields import INCIDENT_FIELDS, NUMERIC_COLUMNS, IncidentError
from core.incident.parse import parse_incident
from core.model.spec import HISTORY_COUNTS_FILE, HISTORY_TOTALS_FILE

# Accident 201900000001 as a caller would describe it (values read from the 2019 BAAC
# files: Montreuil, A3, night with lighting off, tractor-trailer and car, rear-end,
# obstacle "Véhicule en stationnement", 3 people, nobody killed or hospitalised).
ACCIDENT_201900000001 = {
    "datetime": "2019-11-30T01:30", "lat": 48.89621, "lon": 2.47012, "dep": "93", "com": "93053",
    "lum": 4, "atm": 1, "agg": 1, "int": 1, "col": 2, "catr": 1, "surf": 1, "vma": 70, "obs": 1,
    "vehicles": [17, 7], "n_pedestrians": 0, "n_people": 3,
    # Its users (BAAC, catu / birth year / sexe): drivers born 1959 (man) and 1993 (woman), a passenger born 2002.
    "people": [{"role": 1, "age": 60, "sex": 1}, {"role": 1, "age": 26, "sex": 2}, {"role": 2, "age": 17, "sex": 2}],
}
# 201900000134: a car alone hits a tree at night on a departmental road (Seine-et-Marne), one killed.
ACCIDENT_201900000134 = {
    "datetime": "2019-09-20T20:55", "lat": 48.88102, "lon": 2.78033, "dep": "77", "com": "77132",
    "lum": 3, "atm": 1, "agg": 1, "int": 3, "col": 6, "catr": 3, "surf": 1, "vma": 80, "obs": 2,
    "vehicles": [7], "n_pedestrians": 0, "n_people": 1, "people": [{"role": 1, "age": 31, "sex": 1}],
}
# 201900000011: a car hits a pedestrian in Marseille, daytime.
ACCIDENT_201900000011 = {
    "datetime": "2019-11-28T13:45", "lat": 43.287899, "lon": 5.39117, "dep": "13", "com": "13206",
    "lum": 1, "atm": 1, "agg": 2, "int": 1, "col": 6, "catr": 4, "surf": 1, "vma": 50, "obs": 0,
    "vehicles": [7], "n_pedestrians": 1, "n_people": 2,
    "people": [{"role": 1, "age": 56, "sex": 1}, {"role": 3, "age": 49, "sex": 1}],
}
LITERAL_ACCIDENTS = {
    201900000001: ACCIDENT_201900000001,
    201900000134: ACCIDENT_201900000134,
    201900000011: ACCIDENT_201900000011,
}


@pytest.fixture(scope="module")
def history_2019(store_con):
    """Place history of 2005-2019, as the shipped model's training uses it."""
    return build_place_history(store_con, first_year=2005, last_year=2019)


@pytest.fixture(scope="module")
def frame_2019(store_con):
    return training_frame(store_con, first_year=2019, last_year=2019)


def features_of(incident: dict, history: PlaceHistory) -> np.ndarray:
    return build_features(columns_from_incidents([parse_incident(incident)]), history)[0]


# --------------------------------------------------------------------------- #
# Parsing: each field given a wrong value in turn yields an error naming it
# --------------------------------------------------------------------------- #

BAD_VALUES = [
    ("lat", "north"), ("lat", 95.0), ("lon", 200), ("lon", "2,5x"),
    ("dep", "99"), ("dep", 3.5), ("com", "9305"), ("com", "ABCDE"),
    ("datetime", "yesterday"), ("datetime", 20191130), ("datetime", "2019-13-01T10:00"),
    ("lum", 6), ("atm", 42), ("agg", 3), ("int", 10), ("col", "frontale"), ("catr", 8),
    ("surf", 2.5), ("obs", 18), ("vma", 300), ("vma", 0), ("vma", "fast"),
    ("vehicles", "car"), ("vehicles", []), ("vehicles[1]", [7, 22]), ("vehicles[0]", ["VL"]),
    ("n_pedestrians", -2), ("n_pedestrians", 1.5), ("n_people", 0), ("n_people", True),
    ("people", "un piéton âgé"), ("people[0].age", [{"age": 140}]), ("people[1].role", [{}, {"role": 9}]),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_each_wrong_field_is_named(field: str, value: object) -> None:
    incident = dict(ACCIDENT_201900000001)
    key = field.split("[")[0]
    incident[key] = value
    with pytest.raises(IncidentError) as caught:
        parse_incident(incident)
    assert caught.value.field == field
    assert caught.value.reason


def test_every_incident_field_has_a_wrong_value_tested() -> None:
    tested = {field.split("[")[0] for field, _ in BAD_VALUES}
    assert tested == set(INCIDENT_FIELDS)


def test_unknown_field_lone_coordinate_and_inconsistent_counts_are_named() -> None:
    with pytest.raises(IncidentError) as caught:
        parse_incident({"atmo": 2})
    assert caught.value.field == "atmo"
    with pytest.raises(IncidentError) as caught:
        parse_incident({"lat": 48.9})
    assert caught.value.field == "lat" and "lon" in caught.value.reason
    with pytest.raises(IncidentError) as caught:
        parse_incident({"n_pedestrians": 3, "n_people": 2})
    assert caught.value.field == "n_pedestrians"


def test_unknown_is_a_normal_answer() -> None:
    parsed = parse_incident({"atm": None, "lum": -1, "col": "", "vehicles": None, "id": "call-7"})
    assert parsed["atm"] is None and parsed["lum"] is None and parsed["col"] is None
    assert parsed["vehicles"] is None and parsed["id"] == "call-7"
    empty = parse_incident({})
    assert all(empty[name] is None for name in NUMERIC_COLUMNS)
    # BAAC's -1 for an unknown vehicle category is read as 0 "Indéterminable".
    assert parse_incident({"vehicles": [7, -1, None]})["vehicles"] == (7, 0, 0)


def test_parse_real_accident_literal_values() -> None:
    parsed = parse_incident(ACCIDENT_201900000001)
    # 30 November 2019 was a Saturday (weekday 5, Monday = 0, as in the store).
    assert (parsed["year"], parsed["month"], parsed["day"], parsed["weekday"]) == (2019, 11, 30, 5)
    assert (parsed["hour"], parsed["minute"]) == (1, 30)
    assert parsed["vehicles"] == (17, 7)
    assert parse_incident({"datetime": "2019-11-30"})["hour"] is None
    assert parse_incident({"dep": "6", "com": "2a004"})["dep"] == "06"
    assert parse_incident({"com": "2a004"})["com"] == "2A004"


# --------------------------------------------------------------------------- #
# One builder: a real accident's JSON gets the features it had in training
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("acc_id", sorted(LITERAL_ACCIDENTS))
def test_literal_json_features_equal_training_row(acc_id: int, frame_2019, history_2019) -> None:
    training = build_features(columns_from_frame(frame_2019), history_2019)
    row = int(np.flatnonzero(frame_2019["acc_id"].to_numpy() == acc_id)[0])
    from_json = features_of(json.loads(json.dumps(LITERAL_ACCIDENTS[acc_id])), history_2019)
    np.testing.assert_array_equal(from_json, training[row])


def test_sample_of_2019_json_equals_training_rows(frame_2019, history_2019) -> None:
    training = build_features(columns_from_frame(frame_2019), history_2019)
    rows = np.random.default_rng(7).choice(len(frame_2019), size=400, replace=False)
    records = frame_2019.iloc[rows].to_dict("records")
    incidents = [parse_incident(json.loads(json.dumps(incident_from_row(r)))) for r in records]
    from_json = build_features(columns_from_incidents(incidents), history_2019)
    np.testing.assert_array_equal(from_json, training[rows])


def test_training_frame_matches_independent_sql(store_con, frame_2019) -> None:
    acc_id = 201900010000  # lorry with trailer + car; the car (B01) hit a concrete barrier (obs 4)
    row = frame_2019.loc[frame_2019["acc_id"] == acc_id].iloc[0]
    cursor = store_con.cursor()
    vehicles = cursor.execute("SELECT catv, obs FROM vehicles WHERE acc_id = ? ORDER BY veh", [acc_id]).fetchall()
    people = cursor.execute("SELECT catu FROM users WHERE acc_id = ?", [acc_id]).fetchall()
    cursor.close()
    assert list(row["vehicles"]) == [catv for catv, _ in vehicles] == [15, 7]
    assert row["obs"] == 4
    assert row["n_people"] == len(people) == 5
    assert row["n_pedestrians"] == sum(1 for (catu,) in people if catu == 3) == 0


# --------------------------------------------------------------------------- #
# Feature values
# --------------------------------------------------------------------------- #


def test_vehicle_features_literal() -> None:
    names = FEATURE_NAMES
    empty_history = PlaceHistory.from_counts(_one_row_history())
    x = features_of({"vehicles": [7, 33, 1], "n_people": 4, "n_pedestrians": 1}, empty_history)
    assert x[names.index("n_vehicles")] == 3
    assert x[names.index("n_car")] == 1 and x[names.index("n_motorcycle_heavy")] == 1
    assert x[names.index("n_bicycle")] == 1
    assert x[names.index("heaviest_mass")] == 3 and x[names.index("lightest_mass")] == 1
    assert x[names.index("vulnerable_vs_heavy")] == 0
    assert x[names.index("n_occupants")] == 3
    lorry = features_of({"vehicles": [14], "n_pedestrians": 1}, empty_history)
    assert lorry[names.index("vulnerable_vs_heavy")] == 1
    unknown = features_of({}, empty_history)
    assert np.isnan(unknown[names.index("n_vehicles")]) and np.isnan(unknown[names.index("heaviest_mass")])
    assert unknown[names.index("recording_period")] == CURRENT_RECORDING_PERIOD


def _one_row_history():
    import pyarrow as pa

    return pa.table({
        "level": ["com", "dep", "h3_6", "h3_7"], "key": pa.array([place_key("75056"), place_key("75"), 1, 1],
                                                               pa.uint64()),
        "year": pa.array([2019] * 4, pa.int16()), "n": pa.array([10] * 4, pa.int32()),
        "n_severe": pa.array([4] * 4, pa.int32()), "n_fatal": pa.array([1] * 4, pa.int32()),
    })


def test_place_cells_equal_store_cells(store_con) -> None:
    cursor = store_con.cursor()
    rows = cursor.execute(
        "SELECT lat, lon, h3_6, h3_7 FROM accidents WHERE year = 2019 AND lat IS NOT NULL ORDER BY acc_id LIMIT 500"
    ).fetchall()
    cursor.close()
    lat = np.array([r[0] for r in rows])
    lon = np.array([r[1] for r in rows])
    cells = place_cells(lat, lon)
    assert cells["h3_6"].tolist() == [r[2] for r in rows]
    assert cells["h3_7"].tolist() == [r[3] for r in rows]
    assert h3.get_resolution(int(cells["h3_7"][0])) == 7


def test_history_counts_leave_out_own_year_and_match_sql(store_con, history_2019) -> None:
    """The commune history of 201900000134 recomputed with plain SQL (2005-2018; 2019 is its own year)."""
    cursor = store_con.cursor()
    n, severe = cursor.execute(
        "SELECT count(*), count(*) FILTER (WHERE severe) FROM accidents "
        "WHERE com = ? AND year BETWEEN 2005 AND 2018", ["77132"]
    ).fetchall()[0]
    rates = dict(((y, r) for y, r in cursor.execute(
        "SELECT year, avg(severe::DOUBLE) FROM accidents WHERE year BETWEEN 2005 AND 2019 GROUP BY year"
    ).fetchall()))
    per_year = cursor.execute(
        "SELECT year, count(*) FROM accidents WHERE com = ? AND year BETWEEN 2005 AND 2018 GROUP BY year", ["77132"]
    ).fetchall()
    cursor.close()
    expected = sum(count * rates[year] for year, count in per_year)
    x = features_of(ACCIDENT_201900000134, history_2019)
    names = FEATURE_NAMES
    assert x[names.index("com_log_count")] == pytest.approx(math.log1p(n), rel=1e-6)
    ratio = (severe + SEVERE_PRIOR) / (expected + SEVERE_PRIOR)
    assert x[names.index("com_severe_ratio")] == pytest.approx(ratio, rel=1e-5)
    # Dated 2020 (after the history), the same place uses all of 2005-2019.
    later = features_of({**ACCIDENT_201900000134, "datetime": "2020-09-20T20:55"}, history_2019)
    assert later[names.index("com_log_count")] > x[names.index("com_log_count")]


def test_history_save_and_load_give_same_features(tmp_path, history_2019, frame_2019) -> None:
    paths = {"counts_path": tmp_path / HISTORY_COUNTS_FILE, "totals_path": tmp_path / HISTORY_TOTALS_FILE}
    save_place_history(history_2019, **paths)
    loaded = load_place_history(**paths)
    columns = columns_from_frame(frame_2019.head(300))
    np.testing.assert_array_equal(build_features(columns, loaded), build_features(columns, history_2019))
    dated_later = columns_from_incidents([parse_incident({**ACCIDENT_201900000001, "datetime": "2021-01-05"})])
    np.testing.assert_array_equal(build_features(dated_later, loaded), build_features(dated_later, history_2019))


def test_key_facts_literal() -> None:
    columns = columns_from_incidents([parse_incident(ACCIDENT_201900000011), parse_incident({})])
    facts = key_facts(columns)
    assert dict(zip(KEY_FACTS, facts[0].tolist(), strict=True)) == {
        "agg": 2, "catr": 4, "daylight": 1, "pedestrian": 1, "bicycle": 0, "two_wheeler": 0,
        "heavy_goods": 0, "obstacle": 0,
    }
    assert np.isnan(facts[1]).all()
