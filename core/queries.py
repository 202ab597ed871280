"""Every SQL statement the pages run, parameterised, over :mod:`core.store`.

Values always travel as parameters; the only names spliced into SQL are
grouping columns, and those must be in :data:`GROUP_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from core.filters import AccidentFilter

GROUP_COLUMNS = frozenset(
    {"year", "month", "weekday", "hour", "dep", "com", "atm", "lum", "surf", "agg", "catr", "col", "int",
     "situ", "circ", "h3_5", "h3_6", "h3_7", "h3_8", "h3_9"}
)

MEASURES = """
    count(*) AS accidents,
    count_if(severe) AS severe_accidents,
    count_if(n_killed > 0) AS fatal_accidents,
    CAST(coalesce(sum(n_killed), 0) AS BIGINT) AS killed,
    CAST(coalesce(sum(n_hospitalised), 0) AS BIGINT) AS hospitalised,
    CAST(coalesce(sum(n_light), 0) AS BIGINT) AS light,
    CAST(coalesce(sum(n_users), 0) AS BIGINT) AS people
"""


def _check_groups(by: Sequence[str]) -> None:
    unknown = [c for c in by if c not in GROUP_COLUMNS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; allowed: {sorted(GROUP_COLUMNS)}")


def aggregate(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Counts of accidents and victims matching ``accident_filter``, grouped by ``by``.

    Parameters
    ----------
    con
        A store connection (:func:`core.store.connect`); a cursor is taken per call.
    accident_filter
        Which accidents to count.
    by
        Columns to group by, from :data:`GROUP_COLUMNS`; none gives one row of totals.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns then accidents, severe_accidents, fatal_accidents, killed,
        hospitalised, light, people; sorted by ``by``.

    Examples
    --------
    >>> aggregate(con, AccidentFilter(years=(2019, 2020)), by=["year"])[["year", "accidents", "killed"]]
       year  accidents  killed
    0  2019      58840    3498
    1  2020      47744    2780
    """
    _check_groups(by)
    where, params = accident_filter.to_sql()
    group = ", ".join(by)
    select = f"{group}, {MEASURES}" if by else MEASURES
    tail = f"GROUP BY {group} ORDER BY {group}" if by else ""
    cursor = con.cursor()
    try:
        # Spliced: MEASURES, columns checked against GROUP_COLUMNS, the filter's clause (values as params).
        return cursor.execute(f"SELECT {select} FROM accidents WHERE {where} {tail}", params).fetch_df()  # noqa: S608
    finally:
        cursor.close()


def yearly_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Accidents, killed and hospitalised per year over the whole store."""
    return aggregate(con, AccidentFilter(), by=["year"])


def store_summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the three tables and the year span."""
    cursor = con.cursor()
    try:
        accidents, first, last = cursor.execute(
            "SELECT count(*), min(year), max(year) FROM accidents"
        ).fetchall()[0]
        users = cursor.execute("SELECT count(*) FROM users").fetchall()[0][0]
        vehicles = cursor.execute("SELECT count(*) FROM vehicles").fetchall()[0][0]
    finally:
        cursor.close()
    return {"accidents": accidents, "users": users, "vehicles": vehicles, "first_year": first, "last_year": last}


def located_by_year(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Accidents and accidents with coordinates per year over the whole store, all and severe ones.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``accidents``, ``located``, ``severe``, ``located_severe``; sorted by year.

    Examples
    --------
    >>> table = located_by_year(con).loc[lambda t: t["year"].isin([2009, 2020])]
    >>> table[["year", "accidents", "located"]].to_dict("records")
    [{'year': 2009, 'accidents': 74409, 'located': 0}, {'year': 2020, 'accidents': 47744, 'located': 47740}]
    """
    cursor = con.cursor()
    try:
        return cursor.execute(
            "SELECT year, count(*) AS accidents, count(lat) AS located, count(*) FILTER (WHERE severe) AS severe, "
            "count(lat) FILTER (WHERE severe) AS located_severe FROM accidents GROUP BY year ORDER BY year"
        ).fetch_df()
    finally:
        cursor.close()


def location_strata(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Accidents and located accidents (with an H3 cell) per department, year, built-up area and severity.

    Returns
    -------
    pandas.DataFrame
        ``dep``, ``year``, ``agg`` (-1 when unknown), ``severe``, ``accidents``,
        ``located``; sorted by the four keys.

    Examples
    --------
    >>> strata = location_strata(con)
    >>> nord_2015 = strata[(strata["dep"] == "59") & (strata["year"] == 2015)]
    >>> int(nord_2015["accidents"].sum()), int(nord_2015["located"].sum())
    (1321, 430)
    """
    cursor = con.cursor()
    try:
        return cursor.execute(
            "SELECT dep, year, CAST(coalesce(agg, -1) AS TINYINT) AS agg, coalesce(severe, false) AS severe, "
            "count(*) AS accidents, count(h3_5) AS located FROM accidents "
            "WHERE dep IS NOT NULL AND year IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ).fetch_df()
    finally:
        cursor.close()
