"""People of the filter's accidents by user category and severity, vehicles and their occupants by vehicle group.

Read from the per-accident counts of the store's ``accidents`` table
(:mod:`core.accidents_table`): one sum per column, no join over the users or
the vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from core import codebook
from core.accidents_table import (
    SEVERITIES,
    USER_CATEGORIES,
    VEHICLE_BREAKDOWN_GROUPS,
    people_column,
    vehicle_columns,
)
from core.explore.counts import fetch_df
from core.filters import AccidentFilter

UNKNOWN_GROUP_LABEL = "Catégorie non renseignée"


@dataclass(frozen=True)
class Breakdowns:
    """People by category and severity; vehicles and their occupants' outcome by vehicle group."""

    people: pd.DataFrame
    vehicles: pd.DataFrame


def breakdowns(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> Breakdowns:
    """People of the filter's accidents by user category × severity, and vehicles by group.

    Returns
    -------
    Breakdowns
        ``people``: catu, catu_label, grav (``<NA>`` when not filled in),
        grav_label, people: one row per pair, zeros included. Users whose
        category is not filled in are not counted (none in 2005-2020).
        ``vehicles``: group, label, vehicles, occupants_killed,
        occupants_hospitalised (drivers and passengers).

    Examples
    --------
    >>> parts = breakdowns(con, AccidentFilter(years=(2020, 2020)))
    >>> int(parts.people.loc[parts.people["grav"] == 2, "people"].sum())
    2780
    """
    where, params = accident_filter.to_sql(bits=True)
    people_cols = [people_column(c, g) for c in USER_CATEGORIES for g in SEVERITIES]
    vehicle_cols = [col for group in VEHICLE_BREAKDOWN_GROUPS for col in vehicle_columns(group)]
    sums = ", ".join(f"CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}" for c in people_cols + vehicle_cols)
    totals = fetch_df(con, f"SELECT {sums} FROM accidents WHERE {where}", params).iloc[0]  # noqa: S608
    people = pd.DataFrame(
        [(c, codebook.label("catu", c), g, codebook.label("grav", g), int(totals[people_column(c, g)]))
         for c in USER_CATEGORIES for g in SEVERITIES],
        columns=["catu", "catu_label", "grav", "grav_label", "people"],
    ).astype({"grav": "Int64"})
    vehicles = pd.DataFrame(
        [(group, codebook.VEHICLE_GROUP_LABELS.get(group, UNKNOWN_GROUP_LABEL),
          *(int(totals[c]) for c in vehicle_columns(group)))
         for group in VEHICLE_BREAKDOWN_GROUPS],
        columns=["group", "label", "vehicles", "occupants_killed", "occupants_hospitalised"],
    )
    return Breakdowns(people=people, vehicles=vehicles)
