"""Which located accidents a filter, an extent or a condition keeps: boolean masks over :class:`HexFacts`.

:func:`filter_mask` asks the filter's field table (:meth:`core.filters.FilterSpec.mask`)
for the mask of every field that has its arrays in :class:`HexFacts`; the
fields that have none (the accident's people and vehicles, or a field added
to the table whose column is not loaded) are evaluated by DuckDB on
``acc_id``, so a filter field can never be silently ignored. The tests compare
the masks with :meth:`~core.filters.AccidentFilter.to_sql` on the real store.
"""

from __future__ import annotations

import duckdb
import numpy as np

from core.filter_fields import UNKNOWN_CODE, MaskSource, code_lookup
from core.filters import AccidentFilter
from core.risk.choices import CONDITIONS, MIN_RESOLUTION
from core.risk.facts import HexFacts


def filter_mask(
    facts: HexFacts, accident_filter: AccidentFilter, *, con: duckdb.DuckDBPyConnection | None = None
) -> np.ndarray:
    """Boolean mask of the located accidents matching ``accident_filter``.

    Same meaning as :meth:`AccidentFilter.to_sql`: an unknown code never
    matches a code restriction. Fields without arrays in ``facts`` are
    evaluated by DuckDB, so ``con`` is then required.

    Examples
    --------
    >>> mask = filter_mask(facts, AccidentFilter(atm=(2, 3), hours=(22, 4)))
    >>> bool(facts.columns["atm"][mask].min() >= 2 and facts.columns["atm"][mask].max() <= 3)
    True
    """
    source = MaskSource(facts.columns, {"dep": facts.dep_names})
    mask, rest = accident_filter.spec.mask(accident_filter, source)
    if rest.to_params():
        mask &= _mask_by_sql(facts, rest, con)
    return mask


def _mask_by_sql(facts: HexFacts, rest: AccidentFilter, con: duckdb.DuckDBPyConnection | None) -> np.ndarray:
    if con is None:
        raise ValueError(f"filter fields {sorted(rest.to_params())} need a store connection (con=...)")
    where, params = rest.to_sql()
    cursor = con.cursor()
    try:
        ids = cursor.execute(  # the clause is the filter's own, its values parameters
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
    return code_lookup(spec.codes)[column], column != UNKNOWN_CODE
