"""The store's accidents as incidents, with their outcomes: the rows the model is trained on.

Why a module of its own
-----------------------
Training must see each past accident as a caller could have described it, no
more: the vehicle categories, the fixed obstacle hit, the number of
pedestrians and of people; nothing about injuries, manoeuvres or impact
points. :func:`training_frame` reads exactly those fields from the store with
SQL, with the outcomes as labels; :func:`core.features.columns.columns_from_frame`
then turns the frame into the canonical columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from core import codebook
from core.incident.fields import CODED_FIELDS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: What the store tells about each accident, restricted to what a caller can
#: report, with the outcomes used as labels (``severe``, ``fatal``, ``worst``)
#: and the ``acc_id``. ``obs`` is the fixed obstacle hit by the first vehicle
#: (in BAAC order) that hit one, 0 when no vehicle did.
TRAINING_SQL: Final = """
    WITH v AS (
        SELECT acc_id,
               list(coalesce(catv, 0) ORDER BY veh) AS vehicles,
               coalesce(arg_min(obs, veh) FILTER (WHERE obs > 0),
                        CASE WHEN bool_or(obs = 0) THEN 0 END) AS obs
        FROM vehicles GROUP BY acc_id
    ), u AS (
        -- Each person as a caller could describe them (core.features.people): role (catu; the pre-2019 code 4,
        -- a pedestrian on rollers or a scooter, is a pedestrian), age in the accident's year (0 to 110),
        -- sex, equipment used (secu1; 8 "Non déterminable" is unknown).
        SELECT u.acc_id, count(*) FILTER (WHERE u.catu IN (?, 4)) AS n_pedestrians,
               list({'role': CASE WHEN u.catu = 4 THEN 3 WHEN u.catu IN (1, 2, 3) THEN u.catu END,
                     'age': CASE WHEN a.year - u.birth_year BETWEEN 0 AND 110 THEN a.year - u.birth_year END,
                     'sex': CASE WHEN u.sexe IN (1, 2) THEN u.sexe END,
                     'equipment': CASE WHEN u.secu1 <> 8 THEN u.secu1 END} ORDER BY u.veh, u.catu) AS people
        FROM users u JOIN accidents a USING (acc_id)
        WHERE a.year BETWEEN ? AND ?
        GROUP BY u.acc_id
    )
    SELECT a.acc_id, a.year, a.month, a.day, a.hour, a.minute, a.weekday, a.dep, a.com, a.lat, a.lon,
           a.lum, a.atm, a.agg, a.int, a.col, a.catr, a.surf, a.vma, v.obs, v.vehicles,
           coalesce(u.n_pedestrians, 0) AS n_pedestrians, a.n_users AS n_people, u.people,
           a.severe, a.n_killed > 0 AS fatal,
           CASE WHEN a.n_killed > 0 THEN 2 WHEN a.n_hospitalised > 0 THEN 1 ELSE 0 END AS worst
    FROM accidents a LEFT JOIN v USING (acc_id) LEFT JOIN u USING (acc_id)
    WHERE a.year BETWEEN ? AND ?
    ORDER BY a.acc_id
"""


def training_frame(con: duckdb.DuckDBPyConnection, *, first_year: int, last_year: int) -> pd.DataFrame:
    """Accidents of ``first_year..last_year`` as incidents, with their outcomes.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection (:func:`core.store.connect`); a cursor is used.
    first_year, last_year : int
        Inclusive range of years.

    Returns
    -------
    pandas.DataFrame
        One row per accident: ``acc_id``, the canonical incident fields, and the
        labels ``severe``, ``fatal`` (bool) and ``worst`` (0 light, 1 hospitalised,
        2 killed; every BAAC accident has at least one injured person).
    """
    cursor = con.cursor()
    try:
        return cursor.execute(TRAINING_SQL, [codebook.PEDESTRIAN_CATU, first_year, last_year,
                                             first_year, last_year]).fetch_df()
    finally:
        cursor.close()


def incident_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a caller would send for a store accident (a :func:`training_frame` row).

    The app never calls it: it is the oracle the tests and the benchmarks use to
    build caller JSON from store rows (``tests/test_features.py``,
    ``tests/test_predict_cli.py``, ``bench/predict.py``...), so that what the
    doors are fed is checked against what training saw for the same accident.
    Keep it with :func:`training_frame`, whose columns it reads.

    Examples
    --------
    >>> incident_from_row({"year": 2019, "month": 11, "day": 30, "hour": 1, "minute": 30, "atm": 1})["datetime"]
    '2019-11-30T01:30'
    """

    def value(name: str) -> Any:
        item = row.get(name)
        if item is None or (isinstance(item, float) and math.isnan(item)):
            return None
        return item.item() if hasattr(item, "item") else item

    incident: dict[str, Any] = {}
    if value("year") is not None:
        stamp = f"{value('year'):04d}-{value('month'):02d}-{value('day'):02d}"
        if value("hour") is not None:
            stamp += f"T{value('hour'):02d}:{value('minute') or 0:02d}"
        incident["datetime"] = stamp
    for name in ("lat", "lon", "dep", "com", *CODED_FIELDS, "vma", "n_pedestrians", "n_people"):
        if value(name) is not None:
            incident[name] = value(name)
    vehicles = row.get("vehicles")
    if vehicles is not None:
        incident["vehicles"] = [int(c) for c in vehicles]
    people = row.get("people")
    if people is not None:
        incident["people"] = [{key: int(person[key]) for key in ("role", "age", "sex", "equipment")
                               if person[key] is not None} for person in people]
    return incident


def year_incidents(con: duckdb.DuckDBPyConnection, year: int) -> list[dict[str, Any]]:
    """Every accident of ``year`` in the store as the JSON a caller would send (:func:`incident_from_row`).

    For the benchmarks, which replay a real year through the command line and the API.
    """
    frame = training_frame(con, first_year=year, last_year=year)
    return [incident_from_row(row) for row in frame.to_dict("records")]
