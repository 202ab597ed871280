"""Which located accidents a filter, an extent or a condition keeps: boolean masks over :class:`HexFacts`.

:func:`filter_mask` mirrors :meth:`core.filters.AccidentFilter.to_sql` field by
field, and the tests compare the two on the real store; a filter field this
module does not know (people, vehicles, or any field added later) is evaluated
by DuckDB on ``acc_id``, so a new filter can never be silently ignored (its
``WHERE`` clause comes from :meth:`~core.filters.AccidentFilter.to_sql`, values
as parameters: hence the one ``noqa: S608``).
"""

from __future__ import annotations

from dataclasses import fields

import duckdb
import numpy as np

from core.filters import CODE_FIELDS, AccidentFilter
from core.risk.choices import CONDITIONS, MIN_RESOLUTION
from core.risk.facts import UNKNOWN_CODE, HexFacts

_NATIVE_FIELDS = frozenset(
    {"years", "regions", "deps", "hours", "weekdays", "months", "involves", "outcome", *CODE_FIELDS}
)
_INVOLVED_COLUMN = {"pedestrian": "has_pedestrian", "bicycle": "has_bicycle",
                    "two_wheeler": "has_two_wheeler", "hgv": "has_hgv"}
_DEFAULT_FILTER = AccidentFilter()


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


def filter_mask(  # noqa: C901 - to be derived from the filter-field table (issue 13)
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
            f"SELECT acc_id FROM accidents WHERE h3_{MIN_RESOLUTION} IS NOT NULL AND {where}", params  # noqa: S608
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
    return _lookup(spec.codes)[column], column != UNKNOWN_CODE
