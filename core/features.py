"""Incident -> model features: one builder for training rows and for a single call.

Why this module exists
----------------------
A dispatcher's estimate must be computed from exactly what a caller can say,
and computed the same way as during training, otherwise the model sees at
prediction time a world it was never shown. So there is one canonical
"incident" representation (:class:`IncidentColumns`, columns of plain codes with
NaN for "unknown") and one function turning it into the float32 feature matrix
(:func:`build_features`). Two small adapters feed it:

* :func:`parse_incident` validates one JSON object as a caller would send it
  (BAAC names and codes, every field optional) and :func:`columns_from_incidents`
  stacks parsed incidents into columns;
* :func:`training_frame` reads the same fields from the store with SQL (the
  vehicle categories, the fixed obstacle hit, the number of pedestrians and of
  people: nothing about injuries, manoeuvres or impact points) and
  :func:`columns_from_frame` turns the frame into the same columns.

Place history
-------------
The history of a place (department, commune, H3 cells of about 36 km² and 5 km²)
is the number of past accidents there and how often they were severe or fatal,
relative to what the national rate of each year would predict. It comes from a
:class:`PlaceHistory` table of counts per place and year, built from the
training years only (never the test year). The history of an incident always
leaves out the incident's own year: a training row never sees its own outcome,
and an incident of a year after the table (the normal case) uses every year in
it. Because the rule depends only on the incident's date, a 2019 accident typed
in as JSON gets exactly the features it had in training.
"""

from __future__ import annotations

import itertools
import math
import operator
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from h3.api import basic_int as h3

from core import codebook
from core.incident import CODED_FIELDS, NUMERIC_COLUMNS
from core.ingest.clean import cell_to_parent_array

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# --------------------------------------------------------------------------- #
# Canonical columns
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class IncidentColumns:
    """A batch of incidents in canonical form, the single input of :func:`build_features`.

    Attributes
    ----------
    numeric : dict[str, numpy.ndarray]
        One float64 array per name of :data:`NUMERIC_COLUMNS`, NaN when unknown.
    dep, com : numpy.ndarray
        INSEE codes as str, ``""`` when unknown.
    vehicles : list
        Per incident, a tuple of ``catv`` codes, or None when unknown.
    """

    numeric: dict[str, np.ndarray]
    dep: np.ndarray
    com: np.ndarray
    vehicles: list[tuple[int, ...] | None]

    def __len__(self) -> int:
        return len(self.vehicles)


def columns_from_incidents(incidents: Sequence[Mapping[str, Any]]) -> IncidentColumns:
    """Stack incidents parsed by :func:`parse_incident` into columns.

    Examples
    --------
    >>> from core.incident import parse_incident
    >>> cols = columns_from_incidents([parse_incident({"atm": 2}), parse_incident({})])
    >>> cols.numeric["atm"].tolist()
    [2.0, nan]
    """
    numeric = {  # None becomes NaN in a float64 array
        name: np.array(list(map(operator.itemgetter(name), incidents)), dtype=np.float64)
        for name in NUMERIC_COLUMNS
    }
    dep = np.array([i["dep"] or "" for i in incidents], dtype=object)
    com = np.array([i["com"] or "" for i in incidents], dtype=object)
    return IncidentColumns(numeric, dep, com, [i["vehicles"] for i in incidents])


def columns_from_frame(frame: pd.DataFrame) -> IncidentColumns:
    """Turn a :func:`training_frame` into canonical columns (NULL -> NaN / ``""``)."""
    numeric = {name: frame[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in NUMERIC_COLUMNS}
    dep = frame["dep"].fillna("").to_numpy(dtype=object)
    com = frame["com"].fillna("").to_numpy(dtype=object)
    vehicles = [None if v is None else tuple(int(c) for c in v) for v in frame["vehicles"].tolist()]
    return IncidentColumns(numeric, dep, com, vehicles)


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
        SELECT acc_id, count(*) FILTER (WHERE catu = ?) AS n_pedestrians FROM users GROUP BY acc_id
    )
    SELECT a.acc_id, a.year, a.month, a.day, a.hour, a.minute, a.weekday, a.dep, a.com, a.lat, a.lon,
           a.lum, a.atm, a.agg, a.int, a.col, a.catr, a.surf, a.vma, v.obs, v.vehicles,
           coalesce(u.n_pedestrians, 0) AS n_pedestrians, a.n_users AS n_people,
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
        return cursor.execute(TRAINING_SQL, [codebook.PEDESTRIAN_CATU, first_year, last_year]).fetch_df()
    finally:
        cursor.close()


def incident_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a caller would send for a store accident (a :func:`training_frame` row).

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
    return incident


# --------------------------------------------------------------------------- #
# Place history
# --------------------------------------------------------------------------- #

#: Place levels of the history: store column -> short French name for explanations.
HISTORY_LEVELS: Final[dict[str, str]] = {
    "dep": "département",
    "com": "commune",
    "h3_6": "secteur (~36 km²)",
    "h3_7": "quartier (~5 km²)",
}
_CELL_LEVELS: Final = ("h3_6", "h3_7")
H3_FINEST: Final = 9  # the store's cells are parents of the resolution-9 cell, as here

# Pseudo-counts of the smoothed observed/expected ratios (in expected events):
# a place with few accidents stays close to the national rate.
SEVERE_PRIOR: Final = 5.0
FATAL_PRIOR: Final = 1.0


HISTORY_COUNTS_FILE: Final = "place_history.parquet"
HISTORY_TOTALS_FILE: Final = "place_totals.parquet"
#: First year recorded under the current hospitalisation rule (see PROVENANCE): each place also
#: gets its history over RECENT_FIRST_YEAR.. alone, since places changed unevenly in 2018.
RECENT_FIRST_YEAR: Final = 2018
_WINDOWS: Final = ("", "recent_")
_COUNTS: Final = ("n", "n_severe", "n_fatal", "expected_severe", "expected_fatal")
_TOTAL_COLUMNS: Final = tuple(f"{window}{name}" for window in _WINDOWS for name in _COUNTS)


@dataclass(frozen=True)
class _Totals:
    keys: np.ndarray  # sorted unique uint64 keys of every level (they cannot collide, see place_key)
    counts: np.ndarray  # (10, keys): all years then recent years: n, severe, fatal, expected severe, fatal


@dataclass(frozen=True)
class _ByYear:
    key_year: np.ndarray  # sorted int64 composite: key position in the totals * n_years + year offset
    counts: np.ndarray  # (5, rows) per (key, year), aligned with key_year: the first five counts


class PlaceHistory:
    """Accident counts per place over the history years, with their per-year detail.

    Two tables: totals per place (all a current incident needs, loaded at once)
    and counts per place and year (needed only to leave out the own year of an
    incident dated within the history years; read on first use). Places of
    every level share one sorted key array, so one search finds all of them.

    Attributes
    ----------
    first_year, last_year : int
        Years covered (inclusive).
    totals : _Totals
        Sorted keys and their totals over all the years and over the recent
        years (from :data:`RECENT_FIRST_YEAR`).
    """

    def __init__(self, first_year: int, last_year: int, totals: _Totals, counts: pa.Table | Path) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.totals = totals
        self._counts = counts
        self._lock = threading.Lock()
        self._by_year: _ByYear | None = None

    @property
    def counts(self) -> pa.Table:
        """The per place and year counts (level, key, year, n, n_severe, n_fatal), sorted by key and year."""
        if isinstance(self._counts, Path):
            self._counts = pq.read_table(self._counts)
        return self._counts

    def by_year(self) -> _ByYear:
        """Per-year lookup arrays, built on first use."""
        with self._lock:
            if self._by_year is None:
                self._by_year = _aggregate(self.counts, self.totals)[1]
        return self._by_year

    @classmethod
    def from_counts(cls, counts: pa.Table) -> PlaceHistory:
        """Build a history from its per place and year counts table (sorted by key, year)."""
        totals, by_year = _aggregate(counts, None)
        years = counts["year"].to_numpy()
        history = cls(int(years.min()), int(years.max()), totals, counts)
        history._by_year = by_year
        return history

    def totals_table(self) -> pa.Table:
        """The totals as a table (key and the ten totals, float32), with the years as metadata."""
        columns = {"key": pa.array(self.totals.keys)}
        columns.update({
            name: pa.array(values.astype(np.float32))
            for name, values in zip(_TOTAL_COLUMNS, self.totals.counts, strict=True)
        })
        metadata = {"first_year": str(self.first_year), "last_year": str(self.last_year)}
        return pa.table(columns).replace_schema_metadata(metadata)


def place_key(code: str) -> int:
    """A department or commune code as a uint64 key (its ASCII bytes); 0 for ``""``.

    Department codes have 2-3 characters and commune codes 5, so their keys
    differ, and all are below 2**40 while every H3 cell is above 2**58: the
    levels can share one key space.

    Examples
    --------
    >>> place_key("2A"), place_key("")
    (12865, 0)
    """
    return int.from_bytes(code.encode("ascii"), "big")


def place_keys(codes: np.ndarray) -> np.ndarray:
    """Vectorised :func:`place_key` over an array of codes of at most 5 characters (``""`` for unknown).

    Examples
    --------
    >>> place_keys(np.array(["2A", "", "75056"], dtype=object)).tolist() == [place_key(c) for c in ("2A", "", "75056")]
    True
    """
    text = np.array(codes.tolist(), dtype="S5")  # ASCII bytes, padded with zeros on the right
    digits = text.view(np.uint8).reshape(len(text), 5).astype(np.uint64)
    padded = (digits << (np.uint64(8) * np.arange(4, -1, -1, dtype=np.uint64))).sum(axis=1, dtype=np.uint64)
    return padded >> (np.uint64(8) * (5 - np.char.str_len(text)).astype(np.uint64))


_HISTORY_SQL: Final = """
    SELECT {column} AS key, year, count(*) AS n,
           count(*) FILTER (WHERE severe) AS n_severe, count(*) FILTER (WHERE n_killed > 0) AS n_fatal
    FROM accidents WHERE year BETWEEN $first AND $last AND {column} IS NOT NULL
    GROUP BY ALL
"""


def build_place_history(con: duckdb.DuckDBPyConnection, *, first_year: int, last_year: int) -> PlaceHistory:
    """Count accidents per place and year in the store, for years ``first_year..last_year``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection.
    first_year, last_year : int
        Inclusive; must not include a year used to test the model.

    Returns
    -------
    PlaceHistory
    """
    parts = []
    cursor = con.cursor()
    try:
        for level in HISTORY_LEVELS:  # identifiers from the allowlist only
            sql = _HISTORY_SQL.format(column=level)
            counts = cursor.sql(sql, params={"first": first_year, "last": last_year}).to_arrow_table()
            raw_keys = counts["key"].to_numpy(zero_copy_only=False)
            keys = raw_keys.astype(np.uint64) if level in _CELL_LEVELS else place_keys(raw_keys)
            parts.append(pa.table({
                "level": pa.array([level] * counts.num_rows, pa.string()),
                "key": pa.array(keys, pa.uint64()),
                "year": counts["year"].cast(pa.int16()),
                "n": counts["n"].cast(pa.int32()),
                "n_severe": counts["n_severe"].cast(pa.int32()),
                "n_fatal": counts["n_fatal"].cast(pa.int32()),
            }))
    finally:
        cursor.close()
    table = pa.concat_tables(parts).sort_by([("key", "ascending"), ("year", "ascending")])
    return PlaceHistory.from_counts(table)


def _single(values: np.ndarray) -> np.ndarray:
    """Round to float32 precision (as saved), so that training and loaded histories agree bit for bit."""
    return values.astype(np.float32).astype(np.float64)


def _aggregate(table: pa.Table, totals: _Totals | None) -> tuple[_Totals, _ByYear]:
    """Totals (unless given) and per-year lookup arrays from the counts table.

    The table is sorted by key and year, so per-key totals are block sums and
    no sort is needed. Expected counts use the national rate of each year,
    taken from the department level (every accident has a department).
    """
    years = table["year"].to_numpy().astype(np.int64)
    first_year = int(years.min())
    n_years = int(years.max()) - first_year + 1
    offset = years - first_year
    keys = table["key"].to_numpy()
    n, severe, fatal = (table[c].to_numpy().astype(np.float64) for c in ("n", "n_severe", "n_fatal"))
    dep = pc.equal(table["level"], "dep").to_numpy(zero_copy_only=False)
    per_year = [np.bincount(offset[dep], weights=c[dep], minlength=n_years) for c in (n, severe, fatal)]
    severe_rate = per_year[1] / np.maximum(per_year[0], 1)
    fatal_rate = per_year[2] / np.maximum(per_year[0], 1)
    counts = np.stack([n, severe, fatal, _single(n * severe_rate[offset]), _single(n * fatal_rate[offset])])
    new_key = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.zeros(0, bool)
    starts = np.flatnonzero(new_key)
    recent = years >= RECENT_FIRST_YEAR
    if totals is None:
        totals = _Totals(keys[starts], _single(np.concatenate([
            np.add.reduceat(counts, starts, axis=1), np.add.reduceat(counts * recent, starts, axis=1),
        ])))
    elif not np.array_equal(totals.keys, keys[starts]):
        raise ValueError("the place history files disagree on their places; rebuild with `python -m core train`")
    return totals, _ByYear((np.cumsum(new_key) - 1) * n_years + offset, counts)


def save_place_history(history: PlaceHistory, directory: Path) -> None:
    """Write the per-year counts and the per-place totals (float32) into ``directory``."""
    pq.write_table(history.counts, Path(directory) / HISTORY_COUNTS_FILE, compression="zstd", compression_level=19)
    pq.write_table(history.totals_table(), Path(directory) / HISTORY_TOTALS_FILE, compression="zstd")


def load_place_history(directory: Path) -> PlaceHistory:
    """Read the files written by :func:`save_place_history`; the per-year counts are read on first use."""
    table = pq.read_table(Path(directory) / HISTORY_TOTALS_FILE)
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    counts = np.stack([table[name].to_numpy() for name in _TOTAL_COLUMNS]).astype(np.float64)
    return PlaceHistory(int(metadata["first_year"]), int(metadata["last_year"]),
                        _Totals(table["key"].to_numpy(), counts), Path(directory) / HISTORY_COUNTS_FILE)


def _lookup(history: PlaceHistory, keys: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Counts of each key (0 = unknown place) over the history years but the incident's own.

    Parameters
    ----------
    keys : numpy.ndarray
        uint64 keys, shape (incidents, levels).
    years : numpy.ndarray
        Year of each incident (NaN when unknown).

    Returns
    -------
    numpy.ndarray
        Shape (10, incidents, levels): n, severe, fatal, expected severe,
        expected fatal over all the years, then over the recent years; NaN for
        an unknown place, 0 for a place without accidents.
    """
    totals = history.totals
    out = np.full((len(_TOTAL_COLUMNS), *keys.shape), np.nan)
    known = keys != 0
    if not known.any() or not len(totals.keys):
        return out
    query = keys[known]
    position = np.minimum(np.searchsorted(totals.keys, query), len(totals.keys) - 1)
    found = totals.keys[position] == query
    counts = totals.counts[:, position] * found
    own_year = np.broadcast_to(years[:, None], keys.shape)[known]
    in_table = found & (own_year >= history.first_year) & (own_year <= history.last_year)
    if in_table.any():
        by_year = history.by_year()
        n_years = history.last_year - history.first_year + 1
        composite = position[in_table] * n_years + (own_year[in_table].astype(np.int64) - history.first_year)
        slot = np.minimum(np.searchsorted(by_year.key_year, composite), len(by_year.key_year) - 1)
        own = by_year.counts[:, slot] * (by_year.key_year[slot] == composite)
        counts[: len(_COUNTS), in_table] -= own
        counts[len(_COUNTS):, in_table] -= own * (own_year[in_table] >= RECENT_FIRST_YEAR)
    out[:, known] = np.maximum(counts, 0.0)
    return out


def place_cells(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells (uint64, 0 when unknown) of the history levels, as the store computes them."""
    known = ~(np.isnan(lat) | np.isnan(lon))
    finest = np.zeros(len(lat), dtype=np.uint64)
    if known.any():
        finest[known] = np.fromiter(
            (h3.latlng_to_cell(a, b, H3_FINEST) for a, b in zip(lat[known].tolist(), lon[known].tolist(), strict=True)),
            dtype=np.uint64, count=int(known.sum()),
        )
    cells = {}
    for level in _CELL_LEVELS:
        parent = cell_to_parent_array(finest, int(level.split("_")[1]))
        cells[level] = np.where(known, parent, np.uint64(0))
    return cells


# --------------------------------------------------------------------------- #
# Features
# --------------------------------------------------------------------------- #

#: catv code -> vehicle kind used by the features (codes absent here count as "other").
VEHICLE_KINDS: Final[dict[str, frozenset[int]]] = {
    "bicycle": frozenset({1, 80}),
    "personal_transporter": frozenset({50, 60}),
    "moped": frozenset({2, 30, 4}),
    "motorcycle_125": frozenset({31, 32}),
    "motorcycle_heavy": frozenset({33, 34, 5, 6}),
    "three_wheeler_quad": frozenset({35, 36, 41, 42, 43}),
    "car": frozenset({3, 7, 8, 9}),
    "van": frozenset({10, 11, 12}),
    "heavy_goods": frozenset(codebook.HGV_CATV),
    "bus_coach": frozenset({37, 38, 18}),
    "rail": frozenset({39, 40, 19}),
    "tractor_special": frozenset({20, 21}),
}
_KIND_NAMES: Final = (*VEHICLE_KINDS, "other")
# Rough mass class, to describe the most and least protected parties of an accident.
_KIND_MASS: Final[dict[str, float]] = {
    "bicycle": 1, "personal_transporter": 1, "moped": 2, "motorcycle_125": 2, "motorcycle_heavy": 2,
    "three_wheeler_quad": 2, "car": 3, "van": 4, "tractor_special": 5, "heavy_goods": 6, "bus_coach": 6,
    "rail": 7, "other": np.nan,
}
_CATV_KIND: Final[dict[int, int]] = {
    code: _KIND_NAMES.index(kind) for kind, codes in VEHICLE_KINDS.items() for code in codes
}
_OTHER_KIND: Final = len(_KIND_NAMES) - 1
#: catv code -> kind index, for every code 0..99 (codes not listed count as "other").
_CATV_KIND_ARRAY: Final = np.array([_CATV_KIND.get(code, _OTHER_KIND) for code in range(100)])
_KIND_MASS_ARRAY: Final = np.array([_KIND_MASS[k] for k in _KIND_NAMES])

_HISTORY_FEATURES: Final = tuple(
    f"{level}_{window}{what}"
    for level in HISTORY_LEVELS for window in _WINDOWS for what in ("log_count", "severe_ratio", "fatal_ratio")
)

#: Names of the columns of :func:`build_features`, in order.
FEATURE_NAMES: Final = (
    "hour", "weekday", "month", "weekend", "recording_period",
    "lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs", "obstacle_hit",
    "lat", "lon", "overseas",
    "n_people", "n_pedestrians", "n_occupants",
    "n_vehicles", *(f"n_{kind}" for kind in _KIND_NAMES), "heaviest_mass", "lightest_mass", "vulnerable_vs_heavy",
    *_HISTORY_FEATURES,
)

_FEATURE_INDEX: Final = {name: index for index, name in enumerate(FEATURE_NAMES)}
_HISTORY_START: Final = len(FEATURE_NAMES) - len(_HISTORY_FEATURES)
assert FEATURE_NAMES[_HISTORY_START:] == _HISTORY_FEATURES, "history features must come last, in order"

#: Feature -> the incident field it comes from (explanations are summed per field).
FEATURE_SOURCE: Final[dict[str, str]] = {
    **dict.fromkeys(("hour", "weekday", "month", "weekend", "recording_period"), "datetime"),
    **{name: name for name in ("lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs")},
    "obstacle_hit": "obs",
    **dict.fromkeys(("lat", "lon", "overseas"), "place"),
    "n_people": "n_people", "n_occupants": "n_people", "n_pedestrians": "n_pedestrians",
    **dict.fromkeys(
        ("n_vehicles", *(f"n_{kind}" for kind in _KIND_NAMES), "heaviest_mass", "lightest_mass",
         "vulnerable_vs_heavy"), "vehicles"),
    **{name: ("place" if name.startswith("h3_") else name.split("_")[0]) for name in _HISTORY_FEATURES},
}

# Hospitalisation recording changed in 2018 (see PROVENANCE); 2019 brought the new file layout.
RECORDING_PERIODS: Final = ((2018, 1.0), (2019, 2.0))
CURRENT_RECORDING_PERIOD: Final = 2.0


def recording_period(year: np.ndarray) -> np.ndarray:
    """0 before 2018, 1 in 2018, 2 from 2019; an undated incident is taken as current (2).

    Examples
    --------
    >>> recording_period(np.array([2005.0, 2018.0, 2020.0, np.nan])).tolist()
    [0.0, 1.0, 2.0, 2.0]
    """
    period = np.zeros(len(year))
    for start, value in RECORDING_PERIODS:
        period[year >= start] = value
    period[np.isnan(year)] = CURRENT_RECORDING_PERIOD
    return period


def _flat_vehicles(vehicles: Sequence[tuple[int, ...] | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vehicle of a batch in one array: its catv code, its incident's row; and which rows are unknown."""
    unknown = np.fromiter((v is None for v in vehicles), dtype=bool, count=len(vehicles))
    lengths = np.fromiter((0 if v is None else len(v) for v in vehicles), dtype=np.int64, count=len(vehicles))
    codes = np.fromiter(itertools.chain.from_iterable(v for v in vehicles if v), dtype=np.int64,
                        count=int(lengths.sum()))
    return codes, np.repeat(np.arange(len(vehicles)), lengths), unknown


def vehicle_kind_counts(vehicles: Sequence[tuple[int, ...] | None]) -> np.ndarray:
    """Count vehicles per kind (columns in ``_KIND_NAMES`` order); a NaN row when unknown.

    Examples
    --------
    >>> vehicle_kind_counts([(7, 7, 33), None])[:, [_KIND_NAMES.index("car"), _KIND_NAMES.index("moped")]].tolist()
    [[2.0, 0.0], [nan, nan]]
    """
    codes, rows, unknown = _flat_vehicles(vehicles)
    kinds = _CATV_KIND_ARRAY[np.clip(codes, 0, len(_CATV_KIND_ARRAY) - 1)]
    width = len(_KIND_NAMES)
    counts = np.bincount(rows * width + kinds, minlength=len(vehicles) * width).astype(np.float64)
    counts = counts.reshape(len(vehicles), width)
    counts[unknown] = np.nan
    return counts


def _is_overseas(dep: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """1 overseas, 0 metropolitan France, NaN when neither department nor coordinates are known."""
    from_dep = np.array([np.nan if not d else float(len(d) == 3) for d in dep.tolist()])
    # Metropolitan France with Corsica lies within 41-51.5 N, 5.5 W-10 E.
    metro_box = (lat >= 41.0) & (lat <= 51.5) & (lon >= -5.5) & (lon <= 10.0)
    from_coords = np.where(np.isnan(lat), np.nan, np.where(metro_box, 0.0, 1.0))
    return np.where(np.isnan(from_dep), from_coords, from_dep)


def _ratio(observed: np.ndarray, expected: np.ndarray, prior: float) -> np.ndarray:
    return (observed + prior) / (expected + prior)


def build_features(columns: IncidentColumns, history: PlaceHistory) -> np.ndarray:
    """The feature matrix of a batch of incidents (float32, NaN = unknown).

    Parameters
    ----------
    columns : IncidentColumns
        From :func:`columns_from_incidents` or :func:`columns_from_frame`.
    history : PlaceHistory
        Place counts of the history years (see the module notes).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(columns), len(FEATURE_NAMES))``.

    Examples
    --------
    >>> from core.incident import parse_incident
    >>> x = build_features(columns_from_incidents([parse_incident({"vehicles": [7, 1]})]), model.history)
    >>> float(x[0, FEATURE_NAMES.index("n_bicycle")])
    1.0
    """
    num = columns.numeric
    n_rows = len(columns)
    out = np.full((n_rows, len(FEATURE_NAMES)), np.nan, dtype=np.float32)

    def put(name: str, values: np.ndarray) -> None:
        out[:, _FEATURE_INDEX[name]] = values

    minute = num["minute"]
    put("hour", num["hour"] + np.where(np.isnan(minute), 0.0, minute) / 60.0)
    put("weekday", num["weekday"])
    put("month", num["month"])
    put("weekend", np.where(np.isnan(num["weekday"]), np.nan, num["weekday"] >= 5))
    put("recording_period", recording_period(num["year"]))
    for name in ("lum", "atm", "surf", "agg", "int", "col", "catr", "vma", "obs"):
        put(name, num[name])
    put("obstacle_hit", np.where(np.isnan(num["obs"]), np.nan, num["obs"] > 0))
    put("lat", num["lat"])
    put("lon", num["lon"])
    put("overseas", _is_overseas(columns.dep, num["lat"], num["lon"]))
    put("n_people", num["n_people"])
    put("n_pedestrians", num["n_pedestrians"])
    put("n_occupants", num["n_people"] - num["n_pedestrians"])

    kinds = vehicle_kind_counts(columns.vehicles)
    put("n_vehicles", kinds.sum(axis=1))
    for index, kind in enumerate(_KIND_NAMES):
        put(f"n_{kind}", kinds[:, index])
    present = np.where(kinds > 0, _KIND_MASS_ARRAY, np.nan)  # NaN rows stay NaN: unknown vehicles
    heaviest = np.fmax.reduce(present, axis=1)
    lightest = np.fmin.reduce(present, axis=1)
    unknown_vehicles = np.isnan(kinds[:, 0])
    put("heaviest_mass", heaviest)
    put("lightest_mass", lightest)
    vulnerable = (num["n_pedestrians"] > 0) | (lightest <= 2)  # NaN compares False
    vs_heavy = np.where(unknown_vehicles, np.nan, vulnerable & (heaviest >= 4))
    put("vulnerable_vs_heavy", vs_heavy)

    cells = place_cells(num["lat"], num["lon"])
    keys = np.column_stack([
        place_keys(columns.dep), place_keys(columns.com), *(cells[level] for level in _CELL_LEVELS)
    ])
    counts = _lookup(history, keys, num["year"]).reshape(len(_WINDOWS), len(_COUNTS), n_rows, len(HISTORY_LEVELS))
    n, severe, fatal, expected_severe, expected_fatal = counts.transpose(1, 0, 2, 3)  # each (window, row, level)
    history_block = np.stack([
        np.log1p(n), _ratio(severe, expected_severe, SEVERE_PRIOR), _ratio(fatal, expected_fatal, FATAL_PRIOR),
    ])  # (what, window, row, level) -> the order of _HISTORY_FEATURES: level, window, what
    out[:, _HISTORY_START:] = history_block.transpose(2, 3, 1, 0).reshape(n_rows, -1)
    return out


# --------------------------------------------------------------------------- #
# Key facts (support: how many past accidents resemble this one)
# --------------------------------------------------------------------------- #

#: Facts a dispatcher would use to say "accidents like this one"; each is a small
#: code, NaN when unknown. The vehicle facts use the store's groups
#: (``has_bicycle``, ``has_two_wheeler``, ``has_hgv``) so that a query on the
#: store finds the same accidents.
KEY_FACTS: Final = ("agg", "catr", "daylight", "pedestrian", "bicycle", "two_wheeler", "heavy_goods", "obstacle")


def _any_in(vehicles: Sequence[tuple[int, ...] | None], codes: frozenset[int]) -> np.ndarray:
    """1 when an incident has a vehicle of ``codes``, 0 when not, NaN when its vehicles are unknown."""
    flat, rows, unknown = _flat_vehicles(vehicles)
    hits = np.bincount(rows[np.isin(flat, list(codes))], minlength=len(vehicles))
    return np.where(unknown, np.nan, (hits > 0).astype(np.float64))


def key_facts(columns: IncidentColumns) -> np.ndarray:
    """The :data:`KEY_FACTS` of each incident, shape ``(len(columns), len(KEY_FACTS))``.

    ``daylight`` is 1 for lum 1-2 (day, dusk or dawn), 0 for lum 3-5 (night).

    Examples
    --------
    >>> from core.incident import parse_incident
    >>> key_facts(columns_from_incidents([parse_incident({"lum": 3, "vehicles": [7, 33]})])).tolist()
    [[nan, nan, 0.0, nan, 0.0, 1.0, 0.0, nan]]
    """
    num = columns.numeric
    lum = num["lum"]
    pedestrians = num["n_pedestrians"]
    return np.column_stack([
        num["agg"],
        num["catr"],
        np.where(np.isnan(lum), np.nan, lum <= 2),
        np.where(np.isnan(pedestrians), np.nan, pedestrians > 0),
        _any_in(columns.vehicles, codebook.BICYCLE_CATV),
        _any_in(columns.vehicles, codebook.TWO_WHEELER_CATV),
        _any_in(columns.vehicles, codebook.HGV_CATV),
        np.where(np.isnan(num["obs"]), np.nan, num["obs"] > 0),
    ])
