"""Past accidents in memory, and the most similar ones near the incident's place.

Why a module of its own
-----------------------
A store query that aggregates the vehicles of a million accidents and counts
the matches on every call takes about one second, ten times the page's budget. :class:`PastAccidents` keeps the key
facts and the position of every accident of the history years in arrays
(about 25 MB, loaded once per server), so matching and ranking by distance
take a few milliseconds; only the details of the 5-10 accidents shown are
then read from DuckDB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from core import codebook, places
from core.features.facts import KEY_FACTS, known_key_facts
from core.features.words import vehicle_counts
from core.incident.parse import parse_incident
from core.places import KM_PER_DEGREE

if TYPE_CHECKING:
    import duckdb

#: Ranking distance given to a past accident without coordinates (or to any, when the
#: incident has none): same commune, same department, elsewhere.
SAME_COMMUNE_KM: Final = 5.0
SAME_DEPARTMENT_KM: Final = 50.0

_PAST_SQL: Final = """
    SELECT a.acc_id, CAST(a.lat AS FLOAT) AS lat, CAST(a.lon AS FLOAT) AS lon, a.dep, a.com,
           CAST(coalesce(a.agg, -1) AS TINYINT) AS agg, CAST(coalesce(a.catr, -1) AS TINYINT) AS catr,
           CAST(CASE WHEN a.lum IS NULL THEN -1 WHEN a.lum <= 2 THEN 1 ELSE 0 END AS TINYINT) AS daylight,
           CAST(a.has_pedestrian AS TINYINT) AS pedestrian, CAST(a.has_bicycle AS TINYINT) AS bicycle,
           CAST(a.has_two_wheeler AS TINYINT) AS two_wheeler, CAST(a.has_hgv AS TINYINT) AS heavy_goods,
           CAST(coalesce(CAST(v.obstacle AS TINYINT), -1) AS TINYINT) AS obstacle,
           a.year, CAST(coalesce(a.month, 0) AS TINYINT) AS month, CAST(coalesce(a.day, 0) AS TINYINT) AS day,
           CAST(coalesce(a.hour, -1) AS TINYINT) AS hour, CAST(coalesce(a.minute, 0) AS TINYINT) AS minute,
           coalesce(a.n_killed, 0) AS n_killed, coalesce(a.n_hospitalised, 0) AS n_hospitalised,
           coalesce(a.n_light, 0) AS n_light
    FROM accidents a
    LEFT JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v USING (acc_id)
    WHERE a.year BETWEEN ? AND ?
    ORDER BY a.acc_id
"""
_PAST_VEHICLES_SQL: Final = """
    SELECT acc_id, CAST(coalesce(catv, 0) AS TINYINT) AS catv FROM vehicles
    WHERE acc_id IN (SELECT acc_id FROM accidents WHERE year BETWEEN ? AND ?)
    ORDER BY acc_id, veh
"""
_DETAIL_COLUMNS: Final = ("year", "month", "day", "hour", "minute", "n_killed", "n_hospitalised", "n_light")


@dataclass(frozen=True)
class PastAccidents:
    """Every accident of some years, in arrays: key facts, place, date, outcome and vehicles.

    Attributes
    ----------
    first_year, last_year : int
        Years held.
    acc_id : numpy.ndarray
        Sorted ascending, so later rows are more recent.
    facts : dict[str, numpy.ndarray]
        Per key fact (:data:`core.features.facts.KEY_FACTS`), int8 codes, -1 when the store does not know.
    lat, lon : numpy.ndarray
        float32, NaN without coordinates.
    dep, com : numpy.ndarray
        int32 positions in ``dep_values`` / ``com_values`` (-1 unknown).
    details : dict[str, numpy.ndarray]
        year, month, day, hour (-1 unknown), minute, n_killed, n_hospitalised, n_light.
    vehicle_start, vehicle_end : numpy.ndarray
        Each accident's slice of ``vehicle_catv`` (``catv`` codes, 0 when unknown).
    located : numpy.ndarray
        True where the accident has coordinates.
    located_rows, located_lat, located_lon : numpy.ndarray
        The located accidents sorted by latitude (row positions and coordinates), for band searches.
    """

    first_year: int
    last_year: int
    acc_id: np.ndarray
    facts: dict[str, np.ndarray]
    lat: np.ndarray
    lon: np.ndarray
    dep: np.ndarray
    com: np.ndarray
    dep_values: np.ndarray
    com_values: np.ndarray
    details: dict[str, np.ndarray]
    vehicle_start: np.ndarray
    vehicle_end: np.ndarray
    vehicle_catv: np.ndarray
    located: np.ndarray
    located_rows: np.ndarray
    located_lat: np.ndarray
    located_lon: np.ndarray

    def __len__(self) -> int:
        return len(self.acc_id)

    def code_of(self, level: str, value: str | None) -> int:
        """Position of a department or commune code in ``dep_values`` / ``com_values`` (-2 when absent)."""
        positions = self._positions[level]
        return positions.get(value, -2) if value else -2

    @property
    def _positions(self) -> dict[str, dict[str, int]]:
        cached = self.__dict__.get("_position_cache")
        if cached is None:
            cached = {level: {code: i for i, code in enumerate(values.tolist())}
                      for level, values in (("dep", self.dep_values), ("com", self.com_values))}
            object.__setattr__(self, "_position_cache", cached)
        return cached


def load_past_accidents(con: duckdb.DuckDBPyConnection, *, first_year: int, last_year: int) -> PastAccidents:
    """Read the accidents of ``first_year..last_year`` from the store into :class:`PastAccidents`.

    A few seconds and about 50 MB for 2005-2019 (a million accidents); keep one per server.
    """
    cursor = con.cursor()
    try:
        raw = cursor.execute(_PAST_SQL, [first_year, last_year]).fetchnumpy()
        vehicles = cursor.execute(_PAST_VEHICLES_SQL, [first_year, last_year]).fetchnumpy()
    finally:
        cursor.close()
    acc_id = np.asarray(raw["acc_id"], dtype=np.int64)
    vehicle_acc = np.asarray(vehicles["acc_id"], dtype=np.int64)
    dep_index, dep_values = pd.factorize(pd.Series(raw["dep"], dtype=object))
    com_index, com_values = pd.factorize(pd.Series(raw["com"], dtype=object))
    lat = np.asarray(raw["lat"], dtype=np.float32)
    lon = np.asarray(raw["lon"], dtype=np.float32)
    located = ~(np.isnan(lat) | np.isnan(lon))
    by_latitude = np.flatnonzero(located)[np.argsort(lat[located], kind="stable")].astype(np.int32)
    return PastAccidents(
        first_year, last_year, acc_id,
        {name: np.ascontiguousarray(raw[name], dtype=np.int8) for name in KEY_FACTS},
        lat, lon, dep_index.astype(np.int32), com_index.astype(np.int32),
        np.asarray(dep_values, dtype=object), np.asarray(com_values, dtype=object),
        {name: np.asarray(raw[name]) for name in _DETAIL_COLUMNS},
        np.searchsorted(vehicle_acc, acc_id, side="left").astype(np.int32),
        np.searchsorted(vehicle_acc, acc_id, side="right").astype(np.int32),
        np.asarray(vehicles["catv"], dtype=np.int8),
        located, by_latitude, lat[by_latitude], lon[by_latitude],
    )


def _last_true(mask: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the last ``limit`` True values, last first (the most recent accidents)."""
    found = np.zeros(0, dtype=np.int64)
    stop = len(mask)
    chunk = 4096
    while stop > 0 and len(found) < limit:
        start = max(0, stop - chunk)
        found = np.concatenate([found, start + np.flatnonzero(mask[start:stop])[::-1]])
        stop, chunk = start, chunk * 8
    return found[:limit]


def _nearest_located(past: PastAccidents, match: np.ndarray, lat0: float, lon0: float, limit: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` nearest located accidents among ``match``, searched in widening latitude bands.

    A point within ``r`` km lies within ``r / 111`` degrees of latitude, so the
    nearest points inside a band are exact once ``limit`` of them are within ``r``.
    """
    cos_lat = math.cos(math.radians(lat0))
    radius_km = 5.0
    while True:
        half = radius_km / KM_PER_DEGREE
        bounds = np.array([lat0 - half, lat0 + half], dtype=past.located_lat.dtype)  # no float64 copy
        low, high = np.searchsorted(past.located_lat, bounds)
        band = np.arange(low, high)
        band = band[np.abs(past.located_lon[band] - np.float32(lon0)) <= half / max(cos_lat, 0.01)]
        band = band[match[past.located_rows[band]]]
        dy = past.located_lat[band].astype(np.float64) - lat0
        dx = (past.located_lon[band].astype(np.float64) - lon0) * cos_lat
        km = KM_PER_DEGREE * np.sqrt(dx * dx + dy * dy)
        everything = low == 0 and high == len(past.located_lat)
        inside = np.flatnonzero(km <= radius_km) if not everything else np.arange(len(km))
        if len(inside) >= limit or everything:
            rows = past.located_rows[band[inside]].astype(np.int64)
            order = np.lexsort((-rows, km[inside]))[:limit]
            return rows[order], km[inside][order]
        radius_km *= 4


def nearest_similar(past: PastAccidents, incident: Mapping[str, Any], *, limit: int = 8,
                    facts: Mapping[str, int] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of the past accidents sharing the incident's known key facts (or ``facts``), nearest first.

    Distance is measured between coordinates when both are known; a past
    accident that cannot be measured counts as :data:`SAME_COMMUNE_KM` away in
    the incident's commune, :data:`SAME_DEPARTMENT_KM` in its department, and
    comes last elsewhere. Ties go to the most recent.

    Returns
    -------
    rows, distance_km, matching
        Row positions (at most ``limit``), their measured distance (NaN when not
        measured), and how many past accidents share the facts.
    """
    parsed = parse_incident(incident)
    match = np.ones(len(past), dtype=bool)
    for name, value in (known_key_facts(parsed=parsed) if facts is None else facts).items():
        match &= past.facts[name] == value
    matching = int(match.sum())
    candidates = []
    remaining = match
    if parsed["lat"] is not None:
        candidates.append(_nearest_located(past, match, parsed["lat"], parsed["lon"], limit))
        remaining = match & ~past.located  # the others compete by commune and department
    for level, value, km in (("com", parsed["com"], SAME_COMMUNE_KM), ("dep", parsed["dep"], SAME_DEPARTMENT_KM)):
        code = past.code_of(level, value)
        if code < 0:
            continue
        same = remaining & ((past.com if level == "com" else past.dep) == code)
        rows = _last_true(same, limit)
        candidates.append((rows, np.full(len(rows), km)))
        remaining = remaining & ~same
    rows = _last_true(remaining, limit)
    candidates.append((rows, np.full(len(rows), np.inf)))
    all_rows = np.concatenate([c[0] for c in candidates]).astype(np.int64)
    ranks = np.concatenate([c[1] for c in candidates])
    order = np.lexsort((-all_rows, ranks))[:limit]  # by rank, then most recent
    n_measured = len(candidates[0][0]) if parsed["lat"] is not None else 0
    distance = np.where(order < n_measured, ranks[order], np.nan)
    return all_rows[order], distance, matching


def similar_nearby(past: PastAccidents, incident: Mapping[str, Any], *, limit: int = 8,
                   facts: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The ``limit`` most similar past accidents near the place, with what happened.

    Parameters
    ----------
    past : PastAccidents
        From :func:`load_past_accidents`.
    incident : Mapping
        Raw incident JSON.
    limit : int
        At most this many rows.
    facts : Mapping, optional
        The key facts to share, when not the incident's own (an eCall message's: see
        :func:`core.dispatch.ecall.message_key_facts`).

    Returns
    -------
    pandas.DataFrame
        acc_id, dep, com, lat, lon, year, month, day, hour (NaN unknown), minute,
        n_killed, n_hospitalised, n_light, vehicles (catv list), distance_km (NaN
        when not measured), nearest first; ``attrs["matching"]`` holds how many
        past accidents share the key facts.
    """
    rows, distance, matching = nearest_similar(past, incident, limit=limit, facts=facts)
    frame = pd.DataFrame({
        "acc_id": past.acc_id[rows],
        "dep": [None if c < 0 else past.dep_values[c] for c in past.dep[rows]],
        "com": [None if c < 0 else past.com_values[c] for c in past.com[rows]],
        "lat": past.lat[rows].astype(np.float64), "lon": past.lon[rows].astype(np.float64),
        **{name: past.details[name][rows].astype(np.int64) for name in _DETAIL_COLUMNS},
        "vehicles": [past.vehicle_catv[past.vehicle_start[r]:past.vehicle_end[r]].astype(int).tolist()
                     for r in rows],
        "distance_km": distance,
    })
    frame["hour"] = frame["hour"].where(frame["hour"] >= 0).astype("Float64")
    frame.attrs["matching"] = matching
    return frame


def _plural(words: str, count: int) -> str:
    return words if count <= 1 else " ".join(f"{w}s" for w in words.split())


def describe_outcome(n_killed: int, n_hospitalised: int, n_light: int) -> str:
    """What a past accident caused, in words, worst first.

    Examples
    --------
    >>> describe_outcome(1, 2, 0), describe_outcome(0, 0, 3)
    ('1 tué, 2 blessés hospitalisés', '3 blessés légers')
    """
    parts = []
    for count, grav in ((n_killed, codebook.GRAV_KILLED), (n_hospitalised, codebook.GRAV_HOSPITALISED),
                        (n_light, codebook.GRAV_LIGHT)):
        count = int(count or 0)
        if count:
            parts.append(f"{count} {_plural(codebook.label('grav', grav).lower(), count)}")
    return ", ".join(parts) if parts else "aucun blessé enregistré"


def describe_vehicles(codes: Sequence[int] | None) -> str:
    """Vehicles counted by category, e.g. ``2 × VL seul, 1 × Bicyclette``.

    Examples
    --------
    >>> describe_vehicles([7, 1, 7]), describe_vehicles(None)
    ('2 × VL seul, 1 × Bicyclette', '–')
    """
    if codes is None or len(codes) == 0:
        return "–"
    return vehicle_counts(codes)


def _when_text(year: int, month: int, day: int, hour: float, minute: int) -> str:
    text = f"{int(day):02d}/{int(month):02d}/{int(year)}"
    return text if pd.isna(hour) else f"{text} {int(hour):02d}:{int(minute):02d}"


def _distance_text(km: float) -> str:
    if np.isnan(km):
        return "–"
    return f"{km * 1000:.0f} m" if km < 1 else f"{km:.1f} km".replace(".", ",")


def similar_table(similar: pd.DataFrame) -> pd.DataFrame:
    """The similar accidents as text columns for ``st.table`` (which leaves numeric cells blank).

    Examples
    --------
    >>> frame = pd.DataFrame({"year": [2019], "month": [11], "day": [28], "hour": [13], "minute": [45],
    ...     "dep": ["13"], "com": ["13206"], "distance_km": [0.35], "vehicles": [[7]], "n_killed": [0],
    ...     "n_hospitalised": [1], "n_light": [0]})
    >>> similar_table(frame).iloc[0].tolist()
    ['28/11/2019 13:45', 'Marseille 6e Arrondissement', '350 m', '1 × VL seul', '1 blessé hospitalisé']
    """
    places_text = [
        (places.commune_name(com) if com else None) or (places.department_name(dep) if dep else "–")
        for com, dep in zip(similar["com"], similar["dep"], strict=True)
    ]
    return pd.DataFrame({
        "Date": [_when_text(*values) for values in zip(similar["year"], similar["month"], similar["day"],
                                                          similar["hour"], similar["minute"], strict=True)],
        "Lieu": places_text,
        "Distance": [_distance_text(v) for v in similar["distance_km"]],
        "Véhicules": [describe_vehicles(v) for v in similar["vehicles"]],
        "Bilan": [describe_outcome(k, h, li) for k, h, li in
                  zip(similar["n_killed"], similar["n_hospitalised"], similar["n_light"], strict=True)],
    }, index=range(1, len(similar) + 1))
