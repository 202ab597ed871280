"""The eCall message a past accident's vehicle would have sent: how the model is measured on MSD facts.

Why a module of its own
-----------------------
BAAC holds no eCall messages, but it holds what an MSD carries: the point, the
time, each vehicle's category and who was in it. Training replays the
validation and test years as messages, one per accident, from one of its
vehicles drawn at random among those with an EN 15722 class
(:data:`CLASS_OF_CATV`, the inverse of the mapping's table), with that
vehicle's occupants as its passengers, and sends them through
:func:`core.ecall.mapping.incident_from_msd`, the route's own mapping. The
model's figures on these incidents are what a centre gets before anyone
speaks, and they fit the eCall calibration (:mod:`core.dispatch.ecall`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from core.ecall.locate import time_zone
from core.ecall.mapping import incident_from_msd
from core.ecall.msd import MAS_PER_DEGREE, UNKNOWN_POSITION

if TYPE_CHECKING:
    import duckdb

#: BAAC catv -> the EN 15722 class such a vehicle would announce (retired pre-2006 codes with their successors).
CLASS_OF_CATV: Final[dict[int, str]] = {
    **dict.fromkeys((7, 8, 9), "passengerVehicleClassM1"),
    **dict.fromkeys((10, 11, 12), "lightCommercialVehiclesClassN1"),
    13: "heavyDutyVehiclesClassN2",
    **dict.fromkeys((14, 15, 16, 17), "heavyDutyVehiclesClassN3"),
    38: "busesAndCoachesClassM2",
    **dict.fromkeys((37, 18), "busesAndCoachesClassM3"),
    **dict.fromkeys((2, 4, 30), "motorcyclesClassL1e"),
    41: "motorcyclesClassL2e",
    **dict.fromkeys((5, 31, 32, 33, 34), "motorcyclesClassL3e"),
    6: "motorcyclesClassL4e",
    **dict.fromkeys((42, 43), "motorcyclesClassL5e"),
    **dict.fromkeys((3, 35), "motorcyclesClassL6e"),
    36: "motorcyclesClassL7e",
}

_VEHICLES_SQL: Final = """
    SELECT v.acc_id, v.veh, v.catv, count(u.acc_id) FILTER (WHERE u.catu IN (1, 2)) AS occupants
    FROM vehicles v
    LEFT JOIN users u ON u.acc_id = v.acc_id AND u.veh = v.veh
    WHERE v.acc_id IN (SELECT unnest(?::BIGINT[]))
    GROUP BY v.acc_id, v.veh, v.catv
    ORDER BY v.acc_id, v.veh
"""


def accident_messages(con: duckdb.DuckDBPyConnection, accidents: Sequence[dict[str, Any]],
                      rng: np.random.Generator, *, trusted: bool = True) -> list[dict[str, Any] | None]:
    """One MSD per accident (None when none of its vehicles has an EN 15722 class).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection (its ``vehicles`` and ``users`` tables).
    accidents : sequence of dict
        Rows with ``acc_id``, ``year``, ``month``, ``day``, ``hour``, ``minute`` (local time),
        ``dep``, ``lat``, ``lon`` (None or NaN when unknown).
    rng : numpy.random.Generator
        Draws the calling vehicle among the accident's vehicles with a class.
    trusted : bool
        The messages' ``positionCanBeTrusted``.
    """
    ids = [int(row["acc_id"]) for row in accidents]
    candidates: dict[int, list[tuple[int, int]]] = {}
    for acc_id, _veh, catv, occupants in con.execute(_VEHICLES_SQL, [ids]).fetchall():
        if catv in CLASS_OF_CATV:
            candidates.setdefault(acc_id, []).append((catv, occupants))
    messages: list[dict[str, Any] | None] = []
    for row, acc_id in zip(accidents, ids, strict=True):
        options = candidates.get(acc_id)
        if not options or _missing(row.get("hour")):
            messages.append(None)
            continue
        catv, occupants = options[int(rng.integers(len(options)))]
        messages.append(_message(row, catv, occupants, trusted=trusted))
    return messages


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _message(row: dict[str, Any], catv: int, occupants: int, *, trusted: bool) -> dict[str, Any]:
    lat, lon = row.get("lat"), row.get("lon")
    located = not (_missing(lat) or _missing(lon))
    zone = time_zone(row.get("dep") or None, lat if located else None, lon if located else None)
    local = dt.datetime(int(row["year"]), int(row["month"]), int(row["day"]), int(row["hour"]),
                        0 if _missing(row.get("minute")) else int(row["minute"]), tzinfo=ZoneInfo(zone))
    return {
        "automaticActivation": True,
        "testCall": False,
        "positionCanBeTrusted": trusted,
        "vehicleType": CLASS_OF_CATV[catv],
        "timestamp": int(local.timestamp()),
        "vehicleLocation": {
            "positionLatitude": round(lat * MAS_PER_DEGREE) if located else UNKNOWN_POSITION,
            "positionLongitude": round(lon * MAS_PER_DEGREE) if located else UNKNOWN_POSITION,
        },
        "numberOfPassengers": min(int(occupants), 254),
    }


def message_incidents(messages: Sequence[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """The incident each message maps to (None stays None)."""
    return [None if message is None else incident_from_msd(message).incident for message in messages]
