"""The history of a place: past accidents per department, commune and H3 cell, against the national rate.

Why a module of its own
-----------------------
The history of a place (department, commune, H3 cells of about 36 km² and 5 km²)
is the number of past accidents there and how often they were severe or fatal,
relative to what the national rate of each year would predict. It comes from a
:class:`PlaceHistory` table of counts per place and year, built from the
training years only (never the test year). The history of an incident always
leaves out the incident's own year: a training row never sees its own outcome,
and an incident of a year after the table (the normal case) uses every year in
it. Because the rule depends only on the incident's date, a 2019 accident typed
in as JSON gets exactly the features it had in training.

The tables are saved beside the model (the file names are the model's, see
:mod:`core.model.spec`) and read back by :func:`load_place_history`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import codebook, h3cells
from core.features.names import CELL_LEVELS, HISTORY_LEVELS, WINDOWS

if TYPE_CHECKING:
    import duckdb

#: First year recorded under the current hospitalisation rule (see PROVENANCE): each place also
#: gets its history over RECENT_FIRST_YEAR.. alone, since places changed unevenly in 2018.
RECENT_FIRST_YEAR: Final = codebook.HOSPITALISATION_BREAK_YEAR
#: What is counted per place and window: accidents, severe, fatal, and the expected severe and fatal.
COUNTS: Final = ("n", "n_severe", "n_fatal", "expected_severe", "expected_fatal")
_TOTAL_COLUMNS: Final = tuple(f"{window}{name}" for window in WINDOWS for name in COUNTS)
if tuple(HISTORY_LEVELS) != ("dep", "com", *CELL_LEVELS):
    raise RuntimeError("history_keys puts the department, the commune, then the cells of CELL_LEVELS")
#: The H3 resolution of each level of CELL_LEVELS ("h3_7" -> 7).
_CELL_RESOLUTIONS: Final = tuple(int(level.split("_")[1]) for level in CELL_LEVELS)


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
    text = np.array(codes.tolist(), dtype="S5")  # ASCII bytes, cut at 5
    # The bytes padded with zeros on the right to 8, read as one big-endian integer: the key << 8 * (8 - length).
    padded = text.astype("S8").view(">u8").astype(np.uint64)
    return padded >> (np.uint64(8) * (8 - np.char.str_len(text)).astype(np.uint64))


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
            keys = raw_keys.astype(np.uint64) if level in CELL_LEVELS else place_keys(raw_keys)
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


def save_place_history(history: PlaceHistory, *, counts_path: Path, totals_path: Path) -> None:
    """Write the per-year counts to ``counts_path`` and the per-place totals (float32) to ``totals_path``."""
    pq.write_table(history.counts, Path(counts_path), compression="zstd", compression_level=19)
    pq.write_table(history.totals_table(), Path(totals_path), compression="zstd")


def load_place_history(*, counts_path: Path, totals_path: Path) -> PlaceHistory:
    """Read the files written by :func:`save_place_history`; the per-year counts are read on first use."""
    table = pq.read_table(Path(totals_path))
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    counts = np.stack([table[name].to_numpy() for name in _TOTAL_COLUMNS]).astype(np.float64)
    return PlaceHistory(int(metadata["first_year"]), int(metadata["last_year"]),
                        _Totals(table["key"].to_numpy(), counts), Path(counts_path))


def lookup_counts(history: PlaceHistory, keys: np.ndarray, years: np.ndarray) -> np.ndarray:
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
    if not len(totals.keys):
        return np.full((len(_TOTAL_COLUMNS), *keys.shape), np.nan)
    # Every key is looked up, the unknown ones (0) too: they become NaN at the end.
    position = np.minimum(np.searchsorted(totals.keys, keys), len(totals.keys) - 1)
    found = totals.keys.take(position) == keys
    counts = totals.counts[:, position] * found
    in_table = found & ((years >= history.first_year) & (years <= history.last_year))[:, None]
    if in_table.any():
        _leave_out_own_year(history, counts, position, in_table, np.broadcast_to(years[:, None], keys.shape))
    return np.where(keys != 0, counts, np.nan)


def _leave_out_own_year(history: PlaceHistory, counts: np.ndarray, position: np.ndarray, in_table: np.ndarray,
                        own_year: np.ndarray) -> None:
    """Take from ``counts`` (10, incidents, levels) the accidents of each place in the incident's own year."""
    by_year = history.by_year()
    n_years = history.last_year - history.first_year + 1
    year = own_year[in_table]
    composite = position[in_table] * n_years + (year.astype(np.int64) - history.first_year)
    slot = np.minimum(np.searchsorted(by_year.key_year, composite), len(by_year.key_year) - 1)
    own = by_year.counts[:, slot] * (by_year.key_year[slot] == composite)
    counts[: len(COUNTS), in_table] -= own
    counts[len(COUNTS):, in_table] -= own * (year >= RECENT_FIRST_YEAR)
    np.maximum(counts, 0.0, out=counts)  # the totals are float32-rounded: a difference may fall just below 0


def history_keys(dep: np.ndarray, com: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The key of each incident's place at every history level (columns in HISTORY_LEVELS order), 0 when unknown.

    Examples
    --------
    >>> keys = history_keys(np.array(["75", ""], dtype=object), np.array(["75056", ""], dtype=object),
    ...                     np.array([48.8566, np.nan]), np.array([2.3522, np.nan]))
    >>> keys[0, :2].tolist() == [place_key("75"), place_key("75056")], h3cells.cell_ids(keys[0, 2:]), keys[1].tolist()
    (True, ['861fb4667ffffff', '871fb4662ffffff'], [0, 0, 0, 0])
    """
    keys = np.empty((len(dep), len(HISTORY_LEVELS)), dtype=np.uint64)
    keys[:, :2] = place_keys(np.concatenate([dep, com])).reshape(2, len(dep)).T  # one call for both codes
    keys[:, 2:] = _cell_columns(lat, lon)
    return keys


def place_cells(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """H3 cells (uint64, 0 when unknown) of the history levels, as the store computes them.

    Examples
    --------
    >>> cells = place_cells(np.array([48.8566, np.nan]), np.array([2.3522, 2.0]))
    >>> [h3cells.cell_ids(cells["h3_7"])[0], int(cells["h3_7"][1])]
    ['871fb4662ffffff', 0]
    """
    return dict(zip(CELL_LEVELS, _cell_columns(lat, lon).T, strict=True))


def _cell_columns(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The cells of :func:`place_cells` as one array, a column per level of CELL_LEVELS."""
    finest = h3cells.latlng_to_cells(lat, lon, h3cells.FINEST_RESOLUTION)
    cells = np.empty((len(finest), len(CELL_LEVELS)), dtype=np.uint64)
    for column, resolution in enumerate(_CELL_RESOLUTIONS):
        cells[:, column] = h3cells.cells_to_parents(finest, resolution)
    cells[finest == 0] = 0  # an unknown point (0) has no parent
    return cells
