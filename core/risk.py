"""Hexagon risk for the SAMU planners' map: counts per H3 cell, shrunk severity rates, relative risk.

Why the counting is done in numpy and not in SQL: the page recounts hexes on
every filter change, at resolutions up to 9, with the most frequent weather and
light of each cell. On this 2-core machine a DuckDB ``GROUP BY h3_7`` over the
433,000 located accidents took 15-45 ms and ``mode()`` 60-180 ms, whereas
filtering columns loaded once (:func:`load_facts`) through 256-entry lookup
tables and counting with ``np.bincount`` on dense cell numbers takes a few
milliseconds (``bench/risk_map.py``). :func:`filter_mask` mirrors
:meth:`core.filters.AccidentFilter.to_sql` field by field, and the tests compare
the two on the real store; a filter field this module does not know (people,
vehicles, or any field added later) is evaluated by DuckDB on ``acc_id``, so a
new filter can never be silently ignored.

Scoring is empirical Bayes: the severity rate of a cell is shrunk toward the
rate of the area around it (the other cells of its H3 parent two levels up,
themselves shrunk toward their own surroundings, up to the rate of the whole
selection), with a beta-binomial prior whose strength is estimated from the
spread of the cells' rates. Per-year figures weigh each located accident by
what it stands for in its department and year (:mod:`core.coverage`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace

import duckdb
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special

from core import codebook, queries
from core.config import H3_RESOLUTIONS
from core.coverage import LocationCoverage, location_coverage
from core.filters import CODE_FIELDS, OUTCOME_LABELS, AccidentFilter

MIN_RESOLUTION, MAX_RESOLUTION = min(H3_RESOLUTIONS), max(H3_RESOLUTIONS)
MAX_HEXES = 50_000
# Sentinel for an unknown (NULL) code in the uint8 columns: no lookup table ever selects it.
_UNKNOWN = 255
# Average H3 hexagon edge length in km per resolution (H3 documentation).
EDGE_KM = {5: 8.544, 6: 3.229, 7: 1.221, 8: 0.4614, 9: 0.1744}
# The extent is split into about this many hexagon edges across.
_EDGES_ACROSS = 120
_KM_PER_DEGREE = 111.32
_FLAG_COLUMNS = ("has_pedestrian", "has_bicycle", "has_two_wheeler", "has_hgv")
_NATIVE_FIELDS = frozenset(
    {"years", "regions", "deps", "hours", "weekdays", "months", "involves", "outcome", *CODE_FIELDS}
)
_INVOLVED_COLUMN = {"pedestrian": "has_pedestrian", "bicycle": "has_bicycle",
                    "two_wheeler": "has_two_wheeler", "hgv": "has_hgv"}
_DEFAULT_FILTER = AccidentFilter()


@dataclass(frozen=True)
class Condition:
    """A circumstance whose relative risk can be mapped, or that restricts the map."""

    label: str
    column: str
    codes: tuple[int, ...]


#: Conditions offered by the map, in pairs to compare (rain vs dry, night vs day).
CONDITIONS: dict[str, Condition] = {
    "rain": Condition("Pluie", "atm", (2, 3)),
    "dry": Condition("Temps sec", "atm", (1, 7, 8)),
    "night": Condition("Nuit", "lum", (3, 4, 5)),
    "day": Condition("Plein jour", "lum", (1,)),
    "wet": Condition("Chaussée mouillée", "surf", (2, 3, 4)),
}

METRICS = {
    "accidents_per_year": "Accidents par an",
    "severe_per_year": "Accidents graves par an",
    "severity_rate": "Taux de gravité (lissé)",
    "relative_risk": "Risque relatif de la condition",
}
#: Metrics averaged per year (:mod:`core.coverage`), the others being shares among a cell's accidents.
YEARLY_METRICS = ("accidents_per_year", "severe_per_year")


@dataclass(frozen=True, eq=False)
class HexFacts:
    """The located accidents, one entry per accident in each array, read-only.

    ``columns`` holds the filter columns (codes as uint8 with 255 for unknown),
    ``dep_names`` the department codes that ``columns["dep"]`` numbers (-1 =
    unknown), ``cells[r]`` the sorted distinct H3 cells of resolution ``r``,
    ``cell_index[r]`` each accident's position in ``cells[r]`` and
    ``coverage`` what each accident stands for in the per-year figures.
    """

    columns: dict[str, np.ndarray]
    dep_names: np.ndarray
    cells: dict[int, np.ndarray]
    cell_index: dict[int, np.ndarray]
    coverage: LocationCoverage

    @property
    def size(self) -> int:
        return len(self.columns["acc_id"])


def load_facts(con: duckdb.DuckDBPyConnection) -> HexFacts:
    """Load the located accidents (those with an H3 cell) into :class:`HexFacts`.

    About 0.7 s and 35 MB for the 433,000 located accidents of 2005-2020; the
    page keeps one copy per server.
    """
    code_columns = sorted(set(CODE_FIELDS.values()))
    codes = ", ".join(f"CAST(coalesce({c}, {_UNKNOWN}) AS UTINYINT) AS {c}" for c in code_columns)
    flags = ", ".join(f"coalesce({c}, false) AS {c}" for c in _FLAG_COLUMNS)
    cells = ", ".join(f"h3_{r}" for r in H3_RESOLUTIONS)
    sql = f"""
        SELECT acc_id, CAST(year AS SMALLINT) AS year, CAST(month AS UTINYINT) AS month,
            CAST(coalesce(weekday, {_UNKNOWN}) AS UTINYINT) AS weekday,
            CAST(coalesce(hour, {_UNKNOWN}) AS UTINYINT) AS hour, dep, com, {codes},
            coalesce(severe, false) AS severe, coalesce(n_killed, 0) > 0 AS fatal, {flags},
            CAST(lat AS FLOAT) AS lat, CAST(lon AS FLOAT) AS lon, {cells}
        FROM accidents WHERE h3_{MIN_RESOLUTION} IS NOT NULL ORDER BY acc_id
    """
    cursor = con.cursor()
    try:
        raw = cursor.execute(sql).fetchnumpy()
    finally:
        cursor.close()
    columns = {name: np.asarray(values) for name, values in raw.items() if not name.startswith("h3_")}
    dep_codes, dep_names = pd.factorize(pd.Series(raw["dep"], dtype=object))
    columns["dep"] = dep_codes.astype(np.int16)
    columns["com"] = np.asarray(raw["com"], dtype=object)
    columns["outcome_bits"] = (columns["severe"].astype(np.uint8) | (columns["fatal"].astype(np.uint8) << 1))
    for column in ("atm", "lum"):  # code 1-15 kept, unknown -> 0, for _modes
        code = columns[column]
        columns[f"{column}_slot"] = np.where(code == _UNKNOWN, 0, np.minimum(code, 15)).astype(np.int64)
    all_cells, cell_index = {}, {}
    for resolution in H3_RESOLUTIONS:
        unique, inverse = np.unique(np.asarray(raw[f"h3_{resolution}"], dtype=np.uint64), return_inverse=True)
        all_cells[resolution] = unique
        cell_index[resolution] = inverse.astype(np.int32)
    for array in [*columns.values(), *all_cells.values(), *cell_index.values()]:
        array.flags.writeable = False
    dep_names = np.asarray(dep_names, dtype=object)
    keys = pd.DataFrame({"dep": np.append(dep_names, None)[columns["dep"]], "year": columns["year"],
                         "agg": np.where(columns["agg"] == _UNKNOWN, -1, columns["agg"]), "severe": columns["severe"]})
    coverage = location_coverage(queries.location_strata(con), keys, dep_names)
    return HexFacts(columns, dep_names, all_cells, cell_index, coverage)


def _lookup(values: tuple[int, ...] | range | list[int]) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table


def hours_in(hours: tuple[int, int]) -> list[int]:
    """The hours of an inclusive range that wraps midnight when first > last.

    Examples
    --------
    >>> hours_in((22, 2))
    [22, 23, 0, 1, 2]
    >>> hours_in((8, 9))
    [8, 9]
    """
    first, last = hours
    return list(range(first, last + 1)) if first <= last else [*range(first, 24), *range(0, last + 1)]


def filter_mask(
    facts: HexFacts, accident_filter: AccidentFilter, *, con: duckdb.DuckDBPyConnection | None = None
) -> np.ndarray:
    """Boolean mask of the located accidents matching ``accident_filter``.

    Same meaning as :meth:`AccidentFilter.to_sql`: an unknown code never
    matches a code restriction. Fields other than time, place, codes, road
    users and outcome are evaluated by DuckDB, so ``con`` is then required.

    Examples
    --------
    >>> mask = filter_mask(facts, AccidentFilter(atm=(2, 3), hours=(22, 4)))
    >>> bool(facts.columns["atm"][mask].min() >= 2 and facts.columns["atm"][mask].max() <= 3)
    True
    """
    cols = facts.columns
    mask = np.ones(facts.size, dtype=bool)
    if accident_filter.years:
        first, last = accident_filter.years
        mask &= (cols["year"] >= first) & (cols["year"] <= last)
    deps = accident_filter.department_codes()
    if deps:
        chosen = np.append(np.isin(facts.dep_names, deps), False)  # index -1 (unknown) -> False
        mask &= chosen[cols["dep"]]
    for name, column in CODE_FIELDS.items():
        values = getattr(accident_filter, name)
        if values:
            mask &= _lookup(values)[cols[column]]
    if accident_filter.hours:
        mask &= _lookup(hours_in(accident_filter.hours))[cols["hour"]]
    if accident_filter.weekdays:
        mask &= _lookup(accident_filter.weekdays)[cols["weekday"]]
    if accident_filter.months:
        mask &= _lookup(accident_filter.months)[cols["month"]]
    if accident_filter.involves:
        involved = np.zeros(facts.size, dtype=bool)
        for group in accident_filter.involves:
            involved |= cols[_INVOLVED_COLUMN[group]]
        mask &= involved
    if accident_filter.outcome == "severe":
        mask &= cols["severe"]
    elif accident_filter.outcome == "fatal":
        mask &= cols["fatal"]
    others = {f.name: getattr(accident_filter, f.name) for f in fields(AccidentFilter)
              if f.name not in _NATIVE_FIELDS and getattr(accident_filter, f.name) != getattr(_DEFAULT_FILTER, f.name)}
    if others:
        mask &= _mask_by_sql(facts, AccidentFilter(**others), con)
    return mask


def _mask_by_sql(facts: HexFacts, rest: AccidentFilter, con: duckdb.DuckDBPyConnection | None) -> np.ndarray:
    if con is None:
        raise ValueError(f"filter fields {sorted(rest.to_params())} need a store connection (con=...)")
    where, params = rest.to_sql()
    cursor = con.cursor()
    try:
        ids = cursor.execute(
            f"SELECT acc_id FROM accidents WHERE h3_{MIN_RESOLUTION} IS NOT NULL AND {where}", params
        ).fetchnumpy()["acc_id"]
    finally:
        cursor.close()
    return np.isin(facts.columns["acc_id"], np.asarray(ids))


def extent_mask(facts: HexFacts, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of the located accidents inside ``bbox`` = (min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = bbox
    lon, lat = facts.columns["lon"], facts.columns["lat"]
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def condition_mask(facts: HexFacts, condition: str) -> tuple[np.ndarray, np.ndarray]:
    """(under the condition, condition variable known) masks over the located accidents."""
    spec = CONDITIONS[condition]
    column = facts.columns[spec.column]
    return _lookup(spec.codes)[column], column != _UNKNOWN


def count_cells(facts: HexFacts, mask: np.ndarray, resolution: int) -> int:
    """How many distinct cells of ``resolution`` the masked accidents fall in."""
    index = facts.cell_index[resolution][mask]
    return int(np.count_nonzero(np.bincount(index, minlength=len(facts.cells[resolution]))))


def aggregate_hexes(
    facts: HexFacts, mask: np.ndarray, resolution: int, *, condition: str | None = None,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Counts per H3 cell of the accidents selected by ``mask``.

    Parameters
    ----------
    facts
        From :func:`load_facts`.
    mask
        Which located accidents to count (:func:`filter_mask`, possibly and-ed
        with :func:`extent_mask`).
    resolution
        H3 resolution, 5 to 9.
    condition
        Key of :data:`CONDITIONS` whose accidents are also counted.
    weights
        Each located accident's part in the per-year figures
        (:meth:`core.coverage.LocationCoverage.yearly_weights`); without them
        the per-year columns are left out.

    Returns
    -------
    pandas.DataFrame
        One row per cell with at least one accident, sorted by cell: ``cell``
        (uint64 H3 index), ``accidents``, ``severe``, ``fatal``, ``cond_hits``
        and ``cond_known`` (accidents under the condition, and with the
        condition's variable known; 0 without condition), ``atm_mode`` and
        ``lum_mode`` (most frequent known code, lowest on a tie, 0 when none
        is known); with ``weights``, also ``per_year`` and
        ``severe_per_year`` (sums of the weights) and ``counted`` (accidents
        of a counted department-year, weight above 0).
    """
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"resolution {resolution} not in {H3_RESOLUTIONS}")
    cols = facts.columns
    rows = np.flatnonzero(mask)
    index = facts.cell_index[resolution][rows]
    counts = np.bincount(index, minlength=len(facts.cells[resolution]))
    present = np.flatnonzero(counts)
    size = len(present)
    position = np.zeros(len(counts), dtype=np.int64)
    position[present] = np.arange(size, dtype=np.int64)
    local16 = position[index] * 16
    # One count per (cell, 4-bit slot): bit 0 severe, 1 fatal, 2 under the condition, 3 condition known.
    slot = cols["outcome_bits"][rows]
    if condition is not None:
        slot = slot | _condition_bits(condition)[cols[CONDITIONS[condition].column][rows]]
    by_slot = np.bincount(local16 + slot, minlength=size * 16).reshape(size, 16)
    per_bit = by_slot @ _SLOT_BITS
    out = {
        "cell": facts.cells[resolution][present],
        "accidents": counts[present],
        "severe": per_bit[:, 0],
        "fatal": per_bit[:, 1],
        "cond_hits": per_bit[:, 2],
        "cond_known": per_bit[:, 3],
    }
    for column in ("atm", "lum"):
        out[f"{column}_mode"] = _modes(local16 + cols[f"{column}_slot"][rows], size)
    if weights is not None:
        local, weight = position[index], weights[rows]
        out["per_year"] = np.bincount(local, weights=weight, minlength=size)
        out["severe_per_year"] = np.bincount(local, weights=weight * cols["severe"][rows], minlength=size)
        out["counted"] = np.bincount(local[weight > 0], minlength=size)
    return pd.DataFrame(out)


# Which of the 16 slots have each of the 4 bits set: (16, 4) 0/1 matrix.
_SLOT_BITS = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.int64)


def _condition_bits(condition: str) -> np.ndarray:
    """Lookup code -> bits 2 (under the condition) and 3 (known) of the slot."""
    spec = CONDITIONS[condition]
    table = np.full(256, 8, dtype=np.uint8)
    table[list(spec.codes)] = 12
    table[_UNKNOWN] = 0
    return table


def _modes(keys: np.ndarray, size: int) -> np.ndarray:
    """Most frequent known code per cell from keys cell*16 + code (code 0 = unknown, not counted).

    Ties go to the lowest code; 0 when no code is known.
    """
    table = np.bincount(keys, minlength=size * 16).reshape(size, 16)
    table[:, 0] = 0
    best = table.argmax(axis=1)
    best[table.max(axis=1) == 0] = 0
    return best.astype(np.uint8)


def cell_totals(facts: HexFacts, mask: np.ndarray, resolution: int) -> pd.DataFrame:
    """Accidents and severe accidents per cell of ``resolution`` (``cell``, ``accidents``, ``severe``), sorted.

    The light part of :func:`aggregate_hexes`, for the priors of a zoomed map:
    they are fitted on the whole selection, not only on the cells shown.
    """
    index = facts.cell_index[resolution][mask]
    size = len(facts.cells[resolution])
    accidents = np.bincount(index, minlength=size)
    severe = np.bincount(index, weights=facts.columns["severe"][mask], minlength=size)
    present = np.flatnonzero(accidents)
    return pd.DataFrame({"cell": facts.cells[resolution][present], "accidents": accidents[present],
                         "severe": severe[present].astype(np.int64)})


def capped_resolution(facts: HexFacts, mask: np.ndarray, resolution: int, *, cap: int = MAX_HEXES) -> int:
    """``resolution``, or coarser until the masked accidents fall in at most ``cap`` cells."""
    used = resolution
    while used > MIN_RESOLUTION and count_cells(facts, mask, used) > cap:
        used -= 1
    return used


# --------------------------------------------------------------------------- #
# H3 arithmetic, vectorised
# --------------------------------------------------------------------------- #

_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)


def cells_to_parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Parent cells at a coarser ``resolution``, computed on the bits of the H3 index.

    Same result as ``h3.cell_to_parent`` for each cell: the resolution field
    is set to ``resolution`` and the digits below it to 7 (unused).

    Examples
    --------
    >>> import h3
    >>> cell = h3.str_to_int("891fb466257ffff")
    >>> parent = h3.str_to_int(h3.cell_to_parent("891fb466257ffff", 5))
    >>> int(cells_to_parents(np.array([cell], dtype=np.uint64), 5)[0]) == parent
    True
    """
    cells = np.asarray(cells, dtype=np.uint64)
    unused = np.uint64((1 << (3 * (15 - resolution))) - 1)
    return (cells & ~_RES_MASK) | np.uint64(resolution << _RES_SHIFT) | unused


_HEX_PAIRS = np.array([f"{b:02x}".encode() for b in range(256)], dtype="S2")


def cell_id_array(cells: np.ndarray) -> pa.StringArray:
    """:func:`cell_ids` as an Arrow string array, for the map's JSON writer (no Python strings made).

    Vectorised: each byte becomes two hex digits through a table, then the
    leading "0" of the 16 digits goes (every valid H3 index has 15: its top
    four bits are 0 and the next is 1); other values fall back to ``format``.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return pa.array([], type=pa.string())
    if not np.all((cells >> np.uint64(59)) == 1):
        return pa.array(list(map("{:x}".format, cells.tolist())), type=pa.string())
    digits = _HEX_PAIRS[cells.astype(">u8").view(np.uint8).reshape(-1, 8)].view("S16").ravel()
    return pc.utf8_slice_codeunits(pa.array(digits, type=pa.binary(16)).cast(pa.string()), 1)


def cell_ids(cells: np.ndarray) -> list[str]:
    """H3 indexes as the hexadecimal strings of ``h3.int_to_str``.

    deck.gl reads them; as JSON numbers, ids above 2**53 would lose digits.

    Examples
    --------
    >>> cell_ids(np.array([0x871FB4662FFFFFF], dtype=np.uint64))
    ['871fb4662ffffff']
    """
    return cell_id_array(cells).to_pylist()


# --------------------------------------------------------------------------- #
# Scoring
# --------------------------------------------------------------------------- #

def fit_prior_strength(accidents: np.ndarray, severe: np.ndarray, prior_mean: np.ndarray) -> float:
    """Beta-binomial prior strength (pseudo-accidents) from the spread of the observed rates.

    Method of moments: with p_i = s_i/n_i and prior mean m_i, the
    beta-binomial gives E[n_i (p_i - m_i)^2] = m_i(1-m_i)(1 + (n_i - 1) rho)
    where rho = 1/(strength + 1) is the intra-cell correlation; rho is solved
    from the sums over cells and kept within [1e-4, 0.999]. Cells with one
    accident carry no information on rho and weigh nothing.

    Examples
    --------
    >>> n = np.array([100, 100, 100, 100]); s = np.array([10, 30, 10, 30])
    >>> round(float(fit_prior_strength(n, s, np.full(4, 0.2))), 1)
    17.9
    """
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    m = np.clip(np.asarray(prior_mean, dtype=float), 1e-6, 1 - 1e-6)
    keep = n > 0
    n, s, m = n[keep], s[keep], m[keep]
    binomial = m * (1 - m)
    spread = np.sum(n * (s / np.maximum(n, 1) - m) ** 2) - np.sum(binomial)
    weight = np.sum(binomial * (n - 1))
    rho = spread / weight if weight > 0 else 0.0
    rho = min(max(rho, 1e-4), 0.999)
    return 1 / rho - 1


def rate_posterior(
    accidents: np.ndarray, severe: np.ndarray, prior_mean: np.ndarray, strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (alpha, beta) of each cell's posterior Beta for its severity rate.

    The prior is Beta(k m, k (1 - m)), k = ``strength``, m = ``prior_mean``;
    with s severe accidents of n the posterior is Beta(s + k m, n - s + k (1 - m)),
    of mean (s + k m) / (n + k): a cell of many accidents keeps its own rate and
    a narrow interval, a cell of few is pulled toward its surroundings.

    Examples
    --------
    >>> alpha, beta = rate_posterior(np.array([4]), np.array([2]), np.array([0.1]), 16)
    >>> round(float(alpha[0]), 2), round(float(beta[0]), 2), round(float(alpha[0] / (alpha[0] + beta[0])), 3)
    (3.6, 16.4, 0.18)
    """
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    m = np.clip(np.asarray(prior_mean, dtype=float), 1e-6, 1 - 1e-6)
    return s + strength * m, n - s + strength * (1 - m)


def beta_interval(alpha: np.ndarray, beta: np.ndarray, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval of Beta(alpha, beta) holding ``level`` of its mass.

    Examples
    --------
    >>> low, high = beta_interval(np.array([3.6]), np.array([16.4]))
    >>> bool(low[0] < 0.18 < high[0])
    True
    """
    tail = (1 - level) / 2
    return special.betaincinv(alpha, beta, tail), special.betaincinv(alpha, beta, 1 - tail)


def surrounding_rates(
    cells: np.ndarray, accidents: np.ndarray, severe: np.ndarray, resolution: int, *, overall_rate: float
) -> np.ndarray:
    """Rate of the area around each cell, the cell itself left out.

    The other cells of its parent two levels up (at least res 5) are pooled
    and shrunk toward the parent's own surroundings, computed the same way;
    cells of resolution 5 get ``overall_rate`` (the rate of the selection).

    Notes
    -----
    The cell's own accidents must stay out of its prior. When they were in,
    at resolutions 8-9, where most cells hold one or two accidents, each
    prior followed its cell, the cells' rates looked less spread than chance
    alone allows, the fitted prior strength reached its ceiling (9,999
    pseudo-accidents) and every cell showed its surroundings' rate with a
    +/- 1 point interval, whatever its own size.

    Examples
    --------
    Two cells of one parent, 9 and 2 severe accidents of 10: each prior
    follows the other cell, not its own.

    >>> import h3
    >>> cells = np.array([h3.str_to_int(c) for c in ("871fb4662ffffff", "871fb4663ffffff")], dtype=np.uint64)
    >>> prior = surrounding_rates(cells, np.array([10, 10]), np.array([9, 2]), 7, overall_rate=0.3)
    >>> bool(prior[0] < prior[1])
    True
    """
    if resolution <= MIN_RESOLUTION:
        return np.full(len(cells), overall_rate, dtype=float)
    n = np.asarray(accidents, dtype=float)
    s = np.asarray(severe, dtype=float)
    parent_res = max(MIN_RESOLUTION, resolution - 2)
    parents, inverse = np.unique(cells_to_parents(cells, parent_res), return_inverse=True)
    parent_n = np.bincount(inverse, weights=n)
    parent_s = np.bincount(inverse, weights=s)
    parent_prior = surrounding_rates(parents, parent_n, parent_s, parent_res, overall_rate=overall_rate)
    strength = fit_prior_strength(parent_n, parent_s, parent_prior)
    others_n, others_s = parent_n[inverse] - n, parent_s[inverse] - s
    return (others_s + strength * parent_prior[inverse]) / (others_n + strength)


def share_interval(hits: np.ndarray, total: np.ndarray, *, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion hits/total (95 % by default).

    Examples
    --------
    >>> low, high = share_interval(np.array([5]), np.array([10]))
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.2366, 0.7634)
    """
    h = np.asarray(hits, dtype=float)
    n = np.maximum(np.asarray(total, dtype=float), 1e-12)
    p = h / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def relative_risk(
    hits: np.ndarray, known: np.ndarray, national_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of a cell's accidents under a condition divided by the national share, with a 95 % interval.

    The interval is the Wilson interval of the cell's share divided by the
    national share (taken as exact: it rests on far more accidents).

    Examples
    --------
    >>> rr, low, high = relative_risk(np.array([6]), np.array([20]), 0.15)
    >>> round(float(rr[0]), 2)
    2.0
    """
    if not 0 < national_share <= 1:
        raise ValueError(f"national share must be in (0, 1], got {national_share}")
    h = np.asarray(hits, dtype=float)
    n = np.asarray(known, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, h / n, np.nan)
    low, high = share_interval(h, n)
    return share / national_share, low / national_share, high / national_share


def score_hexes(
    counts: pd.DataFrame, *, resolution: int, metric: str, min_count: int, national_share: float | None = None,
    context: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add the rates, intervals and the mapped ``value`` to :func:`aggregate_hexes` counts.

    Parameters
    ----------
    counts
        Output of :func:`aggregate_hexes`, with the per-year columns for the
        per-year metrics.
    resolution
        Resolution of ``counts`` (for the surrounding rates).
    metric
        Key of :data:`METRICS`.
    min_count
        Cells with fewer accidents (fewer with the condition's variable known,
        for the relative risk) get no rate: ``rate`` and its interval are NaN,
        and ``masked`` is True for the rate metrics.
    national_share
        Share of all located accidents of the filter, France-wide, under the
        condition; required for ``relative_risk``.
    context
        Every cell of the selection at this resolution (:func:`cell_totals`),
        to fit the priors on when ``counts`` holds only the cells shown; by
        default ``counts`` itself.

    Returns
    -------
    pandas.DataFrame
        ``counts`` plus ``rate``, ``rate_low``, ``rate_high`` (posterior mean
        and 95 % interval), ``rate_alpha``, ``rate_beta`` (the posterior Beta,
        for every cell), ``rr``, ``rr_low``, ``rr_high``, ``masked`` and
        ``value`` (the metric; NaN where masked). For the per-year metrics,
        ``masked`` marks the cells without an accident of a counted
        department-year (:mod:`core.coverage`).
    """
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: choose among {', '.join(METRICS)}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    yearly = metric in YEARLY_METRICS
    if yearly and "per_year" not in counts:
        raise ValueError(f"{metric} needs counts aggregated with weights")
    out = counts.copy()
    n = out["accidents"].to_numpy(dtype=float)
    s = out["severe"].to_numpy(dtype=float)
    too_few = n < min_count
    alpha = beta = np.full(len(out), np.nan)
    if len(out):
        alpha, beta = rate_posterior(n, s, *_fitted_priors(out if context is None else context, out, resolution))
    low, high = np.full(len(out), np.nan), np.full(len(out), np.nan)
    low[~too_few], high[~too_few] = beta_interval(alpha[~too_few], beta[~too_few])
    out["rate"] = np.where(too_few, np.nan, alpha / (alpha + beta))
    out["rate_low"], out["rate_high"] = low, high
    out["rate_alpha"], out["rate_beta"] = alpha, beta
    rr = rr_low = rr_high = np.full(len(out), np.nan)
    if metric == "relative_risk":
        if national_share is None:
            raise ValueError("relative_risk needs national_share")
        too_few = out["cond_known"].to_numpy() < min_count
        rr, rr_low, rr_high = relative_risk(out["cond_hits"].to_numpy(), out["cond_known"].to_numpy(),
                                            national_share)
    out["rr"] = np.where(too_few, np.nan, rr)
    out["rr_low"] = np.where(too_few, np.nan, rr_low)
    out["rr_high"] = np.where(too_few, np.nan, rr_high)
    if yearly:
        out["masked"] = out["counted"].to_numpy() == 0
        column = "per_year" if metric == "accidents_per_year" else "severe_per_year"
        out["value"] = np.where(out["masked"], np.nan, out[column])
    else:
        out["masked"] = too_few
        out["value"] = out["rate"] if metric == "severity_rate" else out["rr"]
    return out


def _fitted_priors(context: pd.DataFrame, counts: pd.DataFrame, resolution: int) -> tuple[np.ndarray, float]:
    """Prior means of the ``counts`` cells and the prior strength, both fitted on the ``context`` cells."""
    cells = context["cell"].to_numpy()
    n = context["accidents"].to_numpy(dtype=float)
    s = context["severe"].to_numpy(dtype=float)
    prior = surrounding_rates(cells, n, s, resolution, overall_rate=float(s.sum() / n.sum()))
    order = np.argsort(cells)
    position = order[np.searchsorted(cells, counts["cell"].to_numpy(), sorter=order)]
    return prior[position], fit_prior_strength(n, s, prior)


def national_share(facts: HexFacts, accident_filter: AccidentFilter, condition: str,
                   *, con: duckdb.DuckDBPyConnection | None = None) -> float | None:
    """Share of the filter's located accidents, France-wide (places ignored), under ``condition``.

    None when no accident of the filter has the condition's variable known or
    none is under the condition.
    """
    national = filter_mask(facts, replace(accident_filter, regions=(), deps=()), con=con)
    hits, known = condition_mask(facts, condition)
    known_total = int(np.count_nonzero(national & known))
    hit_total = int(np.count_nonzero(national & hits))
    return hit_total / known_total if known_total and hit_total else None


# --------------------------------------------------------------------------- #
# Extent and resolution
# --------------------------------------------------------------------------- #

def resolution_for_extent(bbox: tuple[float, float, float, float]) -> int:
    """H3 resolution whose hexagons split the extent's width into about 120 edges.

    All of metropolitan France gives 5, a department 7, a city 9.

    Examples
    --------
    >>> resolution_for_extent((-5.2, 42.3, 8.3, 51.1))   # metropolitan France
    5
    >>> resolution_for_extent((2.22, 48.81, 2.47, 48.90))  # Paris
    9
    """
    min_lon, min_lat, max_lon, max_lat = bbox
    mid_lat = math.radians((min_lat + max_lat) / 2)
    width_km = max(abs(max_lon - min_lon) * _KM_PER_DEGREE * math.cos(mid_lat),
                   abs(max_lat - min_lat) * _KM_PER_DEGREE, 1e-3)
    target = width_km / _EDGES_ACROSS
    return min(EDGE_KM, key=lambda r: abs(math.log(EDGE_KM[r] / target)))


def hotspots(scored: pd.DataFrame, facts: HexFacts, mask: np.ndarray, resolution: int,
             *, metric: str, top: int = 20) -> pd.DataFrame:
    """The ``top`` cells by ``value`` (masked cells left out), with their most frequent department and commune.

    For the relative risk, only cells whose 95 % interval lies above 1 (the
    condition is more frequent there than nationally, beyond chance) are
    hotspots. Ties are broken by the number of accidents. Returns ``scored``
    columns plus ``dep`` and ``com`` (INSEE codes, None when unknown).
    """
    # Sorting positions, not the 40,000-row frame: a stable lexsort on (value, accidents), both descending.
    value = scored["value"].to_numpy(dtype=float)
    eligible = ~scored["masked"].to_numpy(dtype=bool) & ~np.isnan(value)
    if metric == "relative_risk":
        eligible &= scored["rr_low"].to_numpy(dtype=float) > 1
    candidates = np.flatnonzero(eligible)
    order = np.lexsort((-scored["accidents"].to_numpy(dtype=float)[candidates], -value[candidates]))
    best = scored.iloc[candidates[order[:top]]].copy()
    if best.empty:
        return best.assign(dep=pd.Series(dtype=object), com=pd.Series(dtype=object))
    positions = np.searchsorted(facts.cells[resolution], best["cell"].to_numpy())
    chosen = np.zeros(len(facts.cells[resolution]), dtype=bool)
    chosen[positions] = True
    rows = np.flatnonzero(mask & chosen[facts.cell_index[resolution]])
    places = pd.DataFrame({
        "cell": facts.cells[resolution][facts.cell_index[resolution][rows]],
        "dep": np.append(facts.dep_names, None)[facts.columns["dep"][rows]],
        "com": facts.columns["com"][rows],
    })
    common = pd.DataFrame({column: _most_frequent(places, column) for column in ("dep", "com")})
    return best.join(common, on="cell")


def _most_frequent(places: pd.DataFrame, column: str) -> pd.Series:
    """Most frequent non-null value of ``column`` per cell (lowest value on a tie)."""
    pairs = places.dropna(subset=[column]).groupby(["cell", column], sort=True).size()
    pairs = pairs.sort_values(ascending=False, kind="stable")
    return pairs[~pairs.index.get_level_values("cell").duplicated()].reset_index(level=column)[column]


def mode_labels(codes: np.ndarray, variable: str) -> list[str]:
    """Official labels of the most frequent codes (0 = none known -> "Non renseigné")."""
    table = {code: codebook.label(variable, code or None) for code in np.unique(codes).tolist()}
    return [table[c] for c in np.asarray(codes).tolist()]


# --------------------------------------------------------------------------- #
# One map: filter + options -> scored hexagons
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class HexRisk:
    """The scored hexagons of one map and how they were obtained.

    ``year_span`` gives the fewest and the most years a per-year average
    spans among the departments shown that have counted years
    (:mod:`core.coverage`); ``mask`` the
    accidents counted (the whole selection: a zoomed view keeps the cells it
    shows, each with all its accidents).
    """

    scored: pd.DataFrame
    resolution: int
    asked_resolution: int
    located: int
    year_span: tuple[int, int]
    national_share: float | None
    mask: np.ndarray

    @property
    def coarsened(self) -> bool:
        return self.resolution < self.asked_resolution


def hex_risk(
    facts: HexFacts, accident_filter: AccidentFilter, *, metric: str, resolution: int,
    condition: str | None = None, min_count: int = 20, extent: tuple[float, float, float, float] | None = None,
    cap: int = MAX_HEXES, con: duckdb.DuckDBPyConnection | None = None,
) -> HexRisk:
    """Count and score the hexagons of a map.

    For the relative risk, ``condition`` is the condition compared with its
    national share; for the other metrics it restricts the accidents counted
    (rain vs dry, night vs day). ``extent`` keeps the cells with an accident
    inside a box (a zoomed view); the cells are counted and scored on the
    whole selection, so a cell shows the same figures zoomed in or out. The
    resolution is lowered until at most ``cap`` cells are shown.

    Examples
    --------
    >>> result = hex_risk(facts, AccidentFilter(deps=("75",)), metric="severity_rate", resolution=9)
    >>> rated = result.scored.dropna(subset=["rate"])
    >>> inside = (rated["rate_low"] <= rated["rate"]) & (rated["rate"] <= rated["rate_high"])
    >>> result.resolution, bool(inside.all())
    (9, True)
    """
    if metric == "relative_risk" and condition is None:
        raise ValueError("the relative risk needs a condition")
    if condition is not None and condition not in CONDITIONS:
        raise ValueError(f"condition {condition!r}: choose among {', '.join(CONDITIONS)}")
    mask = filter_mask(facts, accident_filter, con=con)
    located = int(np.count_nonzero(mask))
    share = None
    if metric == "relative_risk":
        share = national_share(facts, accident_filter, condition, con=con)
    elif condition is not None:
        mask &= condition_mask(facts, condition)[0]
    shown = mask & extent_mask(facts, extent) if extent is not None else mask
    used = capped_resolution(facts, shown, resolution, cap=cap)
    context = None
    if extent is not None:
        context = cell_totals(facts, mask, used)
        seen = np.zeros(len(facts.cells[used]), dtype=bool)
        seen[facts.cell_index[used][shown]] = True
        shown = mask & seen[facts.cell_index[used]]  # the cells seen, each with all its accidents
    weights = facts.coverage.yearly_weights(facts.columns["dep"], accident_filter.years)
    counts = aggregate_hexes(facts, shown, used, condition=condition, weights=weights)
    scoring = {"resolution": used, "min_count": min_count, "context": context}
    if metric == "relative_risk" and share is None:
        scored = score_hexes(counts, metric="severity_rate", **scoring)
        scored["masked"], scored["value"] = True, np.nan
    else:
        scored = score_hexes(counts, metric=metric, national_share=share, **scoring)
    return HexRisk(scored, used, resolution, located, _year_span(facts, shown, accident_filter.years), share, mask)


def _year_span(facts: HexFacts, mask: np.ndarray, years: tuple[int, int] | None) -> tuple[int, int]:
    """Fewest and most counted years among the departments of the masked accidents that have any; (0, 0) if none."""
    present = np.zeros(len(facts.dep_names) + 1, dtype=bool)
    present[facts.columns["dep"][mask]] = True
    counted = facts.coverage.years_counted(years)[present[:-1]]
    counted = counted[counted > 0]
    return (int(counted.min()), int(counted.max())) if len(counted) else (0, 0)


def empty_reason(result: HexRisk, metric: str, condition: str | None) -> str | None:
    """Why the map of ``result`` has nothing to show, in one French line; None when it has.

    No located accident in the selection; or, for the relative risk, no
    accident under ``condition`` (no national share to compare with).
    """
    if result.located == 0:
        return "Aucun accident géolocalisé dans la sélection : élargissez les filtres."
    if metric == "relative_risk" and result.national_share is None:
        return (f"Aucun accident de la sélection sous la condition « {CONDITIONS[condition].label} » : "
                "pas de risque relatif à calculer.")
    return None


def meaningless_reason(accident_filter: AccidentFilter, metric: str, condition: str | None) -> str | None:
    """Why ``metric`` (with ``condition``) can say nothing about this filter's accidents, in one French line.

    None when the map means something. A severity rate among accidents
    already all severe is 100 % everywhere; the relative risk of a condition
    the filter already imposes (or excludes) is 1 (or nothing) everywhere.

    Examples
    --------
    >>> meaningless_reason(AccidentFilter(atm=(2, 3)), "relative_risk", "rain").split(" : ")[0]
    'Risque relatif de « Pluie » sans objet'
    >>> meaningless_reason(AccidentFilter(atm=(2, 4)), "relative_risk", "rain") is None
    True
    """
    if metric == "severity_rate" and accident_filter.outcome != "all":
        return (f"Taux de gravité sans objet : le filtre Gravité ne garde que les accidents "
                f"« {OUTCOME_LABELS[accident_filter.outcome]} », le taux vaudrait 100 % partout. "
                "Choisissez « Tous les accidents » ou un autre indicateur.")
    if condition is None:
        return None
    spec = CONDITIONS[condition]
    fixed = set(getattr(accident_filter, spec.column))
    if not fixed or (fixed & set(spec.codes) and fixed - set(spec.codes)):
        return None
    imposed = fixed <= set(spec.codes)
    if metric == "relative_risk":
        return (f"Risque relatif de « {spec.label} » sans objet : les filtres "
                + ("ne gardent que des accidents sous cette condition (part de 100 % partout)."
                   if imposed else "excluent déjà cette condition (aucun accident sous cette condition).")
                + " Retirez ce filtre ou choisissez une autre condition.")
    return None if imposed else (f"Aucun accident : les filtres excluent déjà la condition « {spec.label} ». "
                                 "Retirez ce filtre ou choisissez une autre condition.")


# --------------------------------------------------------------------------- #
# Exports
# --------------------------------------------------------------------------- #

_EXPORT_COLUMNS = ["accidents", "severe", "fatal", "per_year", "severe_per_year", "rate", "rate_low", "rate_high",
                   "rr", "rr_low", "rr_high", "masked"]


def export_table(scored: pd.DataFrame) -> pd.DataFrame:
    """The exported columns: H3 id (hex string), centre, counts, rates, modes as official labels."""
    cells = cell_ids(scored["cell"].to_numpy())
    centres = [h3.cell_to_latlng(c) for c in cells]
    table = pd.DataFrame({"h3": cells, "lat": [round(c[0], 6) for c in centres],
                          "lon": [round(c[1], 6) for c in centres]})
    for column in _EXPORT_COLUMNS:
        table[column] = scored[column].to_numpy()
    table["meteo_frequente"] = mode_labels(scored["atm_mode"].to_numpy(), "atm")
    table["lumiere_frequente"] = mode_labels(scored["lum_mode"].to_numpy(), "lum")
    return table


def export_csv(scored: pd.DataFrame) -> str:
    """CSV (comma-separated, dot decimals) of :func:`export_table`."""
    return export_table(scored).to_csv(index=False)


def export_geojson(scored: pd.DataFrame) -> str:
    """GeoJSON FeatureCollection of the hexagons (polygons in lon/lat) with :func:`export_table` properties."""
    table = export_table(scored)
    features = []
    for record in table.to_dict(orient="records"):
        ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(record["h3"])]
        ring.append(ring[0])
        properties = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": properties})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=_plain)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to GeoJSON")
