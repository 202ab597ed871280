"""Counts of the filter's accidents: the headline figures, and the same counts grouped by date or department.

Every explorer query is one scan of the store's ``accidents`` table with its
explorer columns (:mod:`core.accidents_table`), a cursor per query and values
as parameters; :func:`fetch_df` runs them and turns a missing table into
:class:`~core.accidents_table.ExplorerStoreError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from core.accidents_table import MISSING_TABLE, ExplorerStoreError
from core.filters import AccidentFilter

#: Columns the counts may be grouped by (identifiers spliced into SQL come only from here).
_GROUP_COLUMNS = ("year", "month", "hour", "weekday", "dep")
#: The counts of every explorer query (the names of :class:`Figures`' fields), as SQL.
_MEASURES = """
    count(*) AS accidents,
    count(*) FILTER (WHERE severe) AS severe_accidents,
    CAST(coalesce(sum(n_killed), 0) AS BIGINT) AS killed,
    CAST(coalesce(sum(n_hospitalised), 0) AS BIGINT) AS hospitalised,
    CAST(coalesce(sum(n_light), 0) AS BIGINT) AS light,
    count(*) FILTER (WHERE lat IS NOT NULL) AS located
"""
COUNTS = ["accidents", "severe_accidents", "killed", "hospitalised", "light", "located"]

# The SQL of the explorer splices only the filter's own WHERE clause (values as parameters), _MEASURES and
# names from _GROUP_COLUMNS or the store's checked column names: hence the S608 exemptions in this package.


def fetch_df(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pd.DataFrame:
    """Run ``sql`` on a cursor of ``con``; a store without the explorer columns raises ExplorerStoreError."""
    cursor = con.cursor()
    try:
        return cursor.execute(sql, params).fetch_df()
    except duckdb.CatalogException as error:
        raise ExplorerStoreError(f"{MISSING_TABLE} ({error})") from error
    finally:
        cursor.close()


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Figures:
    """Headline counts of a set of accidents."""

    accidents: int
    severe_accidents: int
    killed: int
    hospitalised: int
    light: int
    located: int

    @property
    def severe_share(self) -> float | None:
        """Share of accidents with someone killed or hospitalised; None when there are none."""
        return self.severe_accidents / self.accidents if self.accidents else None


def figures(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> Figures:
    """Accidents, severe accidents, killed, hospitalised, lightly injured, and accidents with coordinates.

    Examples
    --------
    >>> figures(con, AccidentFilter(years=(2020, 2020))).killed
    2780
    """
    where, params = accident_filter.to_sql(bits=True)
    row = fetch_df(con, f"SELECT {_MEASURES} FROM accidents WHERE {where}", params).iloc[0]  # noqa: S608
    return Figures(*(int(row[name]) for name in COUNTS))


# --------------------------------------------------------------------------- #
# Grouped counts: calendars and departments
# --------------------------------------------------------------------------- #


def grouped_counts(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, sets: list[tuple[str, ...]]
) -> list[pd.DataFrame]:
    """Counts of the filter's accidents grouped by each column set, in one scan (``GROUPING SETS``).

    Each frame holds the set's columns then :data:`COUNTS`, sorted by the set's columns.
    """
    columns = [c for c in _GROUP_COLUMNS if any(c in chosen for chosen in sets)]
    unknown = {c for chosen in sets for c in chosen} - set(_GROUP_COLUMNS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; allowed: {list(_GROUP_COLUMNS)}")
    where, params = accident_filter.to_sql(bits=True)
    grouping = ", ".join(columns)
    grouping_sets = ", ".join(f"({', '.join(chosen)})" for chosen in sets)
    rows = fetch_df(
        con,
        f"SELECT {grouping}, GROUPING_ID({grouping}) AS grouping_id, {_MEASURES} "  # noqa: S608
        f"FROM accidents WHERE {where} GROUP BY GROUPING SETS ({grouping_sets})",
        params,
    )
    frames = []
    for chosen in sets:
        grouping_id = sum(1 << (len(columns) - 1 - i) for i, column in enumerate(columns) if column not in chosen)
        part = rows.loc[rows["grouping_id"] == grouping_id, [*chosen, *COUNTS]]
        frames.append(part.sort_values(list(chosen)).reset_index(drop=True))
    return frames


@dataclass(frozen=True)
class Calendar:
    """Counts by year × month and by hour × weekday (grouping columns, then the counts)."""

    by_month: pd.DataFrame
    by_hour: pd.DataFrame


def calendar(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> Calendar:
    """Counts of the filter's accidents by year × month and by hour × weekday, in one scan."""
    by_month, by_hour = grouped_counts(con, accident_filter, [("year", "month"), ("hour", "weekday")])
    return Calendar(by_month=by_month, by_hour=by_hour)


def department_counts(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> pd.DataFrame:
    """Counts per department (INSEE code ``dep``), departments without accidents left out."""
    return grouped_counts(con, accident_filter, [("dep",)])[0]
