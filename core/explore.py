"""Everything the explorer page asks of the store: figures, calendars, breakdowns, points, table, export.

Why extra columns: in :meth:`AccidentFilter.to_sql`, the explorer's
extended filters (user category, vehicle category, age group) are
IN-subqueries over the 2.4 million users or the 1.8 million vehicles, and the
breakdowns by user category and vehicle type are joins. Repeated for every
query of a rerun they take the page past its 300 ms budget. So the store's
``accidents`` table (built by :func:`create_accidents_table`) also holds, per
accident, bit masks of the user categories, vehicle groups and age groups
present, counts of people by category and severity, of vehicles and of their
occupants killed or hospitalised by vehicle group, and the list of vehicle
categories (:func:`explorer_columns`). Every explorer query is then one scan
of one table.

The masks follow the definitions of :mod:`core.filters`. Those definitions are
stored beside the table and compared by :func:`check_explorer_tables` (once per
page run), so a change of definition cannot silently give wrong counts: the page
asks for a rebuild of the store instead. ``tests/test_explore.py`` checks that
the masks select exactly the accidents :meth:`AccidentFilter.to_sql` selects.

Only :func:`create_accidents_table` writes; everything else reads, with a
cursor per query and values as parameters.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core import codebook, config, places
from core.filters import AGE_GROUPS, VEHICLE_GROUPS, AccidentFilter

if TYPE_CHECKING:  # geopandas is imported on first use: the store build imports this module too.
    import geopandas as gpd

META_TABLE = "explorer_meta"
_DEFINITIONS_VERSION = 3  # bump when the explorer columns change (3: merged into accidents)

MAX_POINTS = 5_000
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
EXPORT_FORMATS = ("csv", "parquet")
#: From 2018 the police record "blessé hospitalisé" differently: not comparable across the break.
HOSPITALISATION_BREAK_YEAR = 2018
#: Simplification of the department outlines drawn by the choropleth, in degrees (~2 km).
CHOROPLETH_TOLERANCE = 0.02
OVERSEAS_PREFIXES = ("97", "98")

USER_CATEGORIES: tuple[int, ...] = tuple(sorted(codebook.CATU))
#: Severity codes in reading order: killed, hospitalised, light, unharmed, not filled in (None).
SEVERITIES: tuple[int | None, ...] = (
    codebook.GRAV_KILLED, codebook.GRAV_HOSPITALISED, codebook.GRAV_LIGHT, codebook.GRAV_UNHARMED, None,
)
#: Vehicle groups of the breakdown: the filter's groups, then vehicles of unknown category.
VEHICLE_BREAKDOWN_GROUPS: tuple[str, ...] = (*VEHICLE_GROUPS, "unknown")
UNKNOWN_GROUP_LABEL = "Catégorie non renseignée"
#: Users who sit in their vehicle (drivers and passengers; pedestrians are attached to the vehicle that hit them).
_OCCUPANT_CATU = (1, 2)

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_MASK_BITS = 16  # the masks are USMALLINT
_UNKNOWN_BIT = 255  # vehicle group "bit" of a vehicle whose catv is in no group (or unknown)
_MAX_CATV = 99  # catv codes are two digits
#: Columns the counts may be grouped by (identifiers spliced into SQL come only from here).
_GROUP_COLUMNS = ("year", "month", "hour", "weekday", "dep")
_MEASURES = """
    count(*) AS accidents,
    count(*) FILTER (WHERE severe) AS severe_accidents,
    CAST(coalesce(sum(n_killed), 0) AS BIGINT) AS killed,
    CAST(coalesce(sum(n_hospitalised), 0) AS BIGINT) AS hospitalised,
    CAST(coalesce(sum(n_light), 0) AS BIGINT) AS light,
    count(*) FILTER (WHERE lat IS NOT NULL) AS located
"""
_COUNTS = ["accidents", "severe_accidents", "killed", "hospitalised", "light", "located"]
#: H3 cells serve the risk map; exports leave them out.
_H3_COLUMNS = tuple(f"h3_{r}" for r in config.H3_RESOLUTIONS)


class ExplorerStoreError(RuntimeError):
    """The store lacks the explorer columns, or built them from other definitions; rebuild it."""


_MISSING_TABLE = "The store has no explorer columns. Rebuild it with `python -m core store` (about 5 s)."


def _people_column(catu: int, grav: int | None) -> str:
    return f"people_c{int(catu)}_g{'na' if grav is None else int(grav)}"


def _people_condition(catu: int, grav: int | None) -> str:
    return f"catu = {int(catu)} AND " + ("grav IS NULL" if grav is None else f"grav = {int(grav)}")


def _vehicle_columns(group: str) -> tuple[str, str, str]:
    if not _IDENTIFIER.match(group):
        raise ValueError(f"vehicle group {group!r} cannot name a column")
    return f"veh_{group}_n", f"veh_{group}_killed", f"veh_{group}_hosp"


def explorer_definitions() -> dict[str, object]:
    """The filter definitions the explorer masks are built from (stored beside them).

    Bit ``i`` of ``vgroup_mask`` is ``vehicle_groups[i]``, bit ``i`` of
    ``age_mask`` is the ``i``-th age group, bit ``c`` of ``catu_mask`` is user
    category ``c``.

    Examples
    --------
    >>> explorer_definitions()["vehicle_groups"]["bicycle"]
    [1, 80]
    """
    groups = {
        group: sorted(c for c in codebook.valid_codes("catv") if codebook.vehicle_group(c) == group)
        for group in VEHICLE_GROUPS
    }
    return {
        "version": _DEFINITIONS_VERSION,
        "catu": list(USER_CATEGORIES),
        "vehicle_groups": groups,
        "age_groups": {name: list(bounds) for name, bounds in AGE_GROUPS.items()},
    }


def _vehicle_bit(group: str) -> int:
    return VEHICLE_GROUPS.index(group)


#: Per-accident columns the store adds for the explorer (not in the Parquet contract, not exported).
def explorer_columns() -> tuple[str, ...]:
    """Names of the per-accident explorer columns of the ``accidents`` table, in table order."""
    return ("catu_mask", "vgroup_mask", "age_mask", "catv_list",
            *(_people_column(c, g) for c in USER_CATEGORIES for g in SEVERITIES),
            *(column for group in VEHICLE_BREAKDOWN_GROUPS for column in _vehicle_columns(group)))


def create_accidents_table(
    con: duckdb.DuckDBPyConnection, *, into: str, accidents: str, users: str, vehicles: str
) -> None:
    """Create the store's ``accidents`` table and ``explorer_meta`` in database ``into``.

    ``accidents``, ``users`` and ``vehicles`` name tables of ``con`` holding the
    rows of the Parquet store (names from our own code, checked).
    The table holds the ``accidents`` columns, then the involved-road-user
    flags every filter uses (``has_pedestrian``, ``has_bicycle``,
    ``has_two_wheeler``, ``has_hgv``), then :func:`explorer_columns`: the masks,
    the vehicle list and the people and vehicle counts. One table, built in one
    pass over users and vehicles: a second copy of the accidents for the
    explorer doubled the store build time. About 3 s on the 2005-2020 store.
    """
    if max(len(AGE_GROUPS), len(VEHICLE_GROUPS), max(USER_CATEGORIES) + 1) > _MASK_BITS:
        raise ValueError(f"the explorer masks hold {_MASK_BITS} bits: too many age groups, vehicle groups or catu")
    bad_names = [n for n in (into, accidents, users, vehicles) if not _IDENTIFIER.match(n)]
    if bad_names:
        raise ValueError(f"not table names: {bad_names}")
    definitions = explorer_definitions()
    flag_groups = {"has_bicycle": ("bicycle", codebook.BICYCLE_CATV),
                   "has_two_wheeler": ("two_wheeler", codebook.TWO_WHEELER_CATV),
                   "has_hgv": ("hgv", codebook.HGV_CATV)}
    for flag, (group, codes) in flag_groups.items():
        if sorted(codes) != definitions["vehicle_groups"][group]:  # the flag is read from the group's bit
            raise ValueError(f"{flag}: the {group} vehicle group no longer matches the codebook's codes")
    # Vehicle group bit of each catv code, looked up in a list (no join): UNKNOWN_BIT when in no group.
    bit_of_code = [_UNKNOWN_BIT] * (_MAX_CATV + 1)
    for bit, codes in enumerate(definitions["vehicle_groups"].values()):
        for code in codes:
            bit_of_code[code] = bit
    age_bits = " | ".join(
        f"CASE WHEN age BETWEEN {int(low)} AND {int(high)} THEN {1 << bit} ELSE 0 END"
        for bit, (low, high) in enumerate(AGE_GROUPS.values())
    )
    people = ",\n".join(
        f"CAST(count_if({_people_condition(catu, grav)}) AS USMALLINT) AS {_people_column(catu, grav)}"
        for catu in USER_CATEGORIES for grav in SEVERITIES
    )
    vehicle_counts, occupant_counts = [], []
    for group in VEHICLE_BREAKDOWN_GROUPS:
        count_col, killed_col, hosp_col = _vehicle_columns(group)
        bit = _UNKNOWN_BIT if group == "unknown" else _vehicle_bit(group)
        vehicle_counts.append(f"CAST(count_if(vbit = {bit}) AS USMALLINT) AS {count_col}")
        occupant_counts.append(
            f"CAST(count_if(vbit = {bit} AND grav = {codebook.GRAV_KILLED}) AS USMALLINT) AS {killed_col}"
        )
        occupant_counts.append(
            f"CAST(count_if(vbit = {bit} AND grav = {codebook.GRAV_HOSPITALISED}) AS USMALLINT) AS {hosp_col}"
        )
    counts = explorer_columns()[4:]
    zero_filled = ",\n".join(f"coalesce({c}, 0)::USMALLINT AS {c}" for c in counts)
    flags = ",\n".join(
        [f"(coalesce(u.catu_mask, 0) & {1 << codebook.PEDESTRIAN_CATU}) <> 0 AS has_pedestrian"]
        + [f"(coalesce(v.vgroup_mask, 0) & {1 << _vehicle_bit(group)}) <> 0 AS {flag}"
           for flag, (group, _) in flag_groups.items()]
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {into}.accidents AS
        WITH veh AS (
            SELECT acc_id, veh, catv,
                coalesce((CAST(? AS UTINYINT[]))[catv + 1], {_UNKNOWN_BIT}) AS vbit
            FROM {vehicles}
        ),
        per_vehicle AS (
            SELECT acc_id,
                CAST(bit_or(CASE WHEN vbit <> {_UNKNOWN_BIT} THEN 1 << vbit ELSE 0 END) AS USMALLINT) AS vgroup_mask,
                list(catv ORDER BY veh) AS catv_list,
                {", ".join(vehicle_counts)}
            FROM veh GROUP BY acc_id
        ),
        per_occupant AS (
            SELECT u.acc_id, {", ".join(occupant_counts)}
            FROM {users} u JOIN veh ON u.acc_id = veh.acc_id AND u.veh = veh.veh
            WHERE list_contains(?, u.catu)
            GROUP BY u.acc_id
        ),
        per_user AS (
            SELECT acc_id,
                CAST(coalesce(bit_or(1 << catu) FILTER (WHERE list_contains(?, catu)), 0) AS USMALLINT) AS catu_mask,
                CAST(coalesce(bit_or({age_bits}), 0) AS USMALLINT) AS age_mask,
                {people}
            FROM (SELECT *, CAST(acc_id // 100000000 AS INTEGER) - birth_year AS age FROM {users})
            GROUP BY acc_id
        )
        SELECT a.*,
            {flags},
            coalesce(u.catu_mask, 0)::USMALLINT AS catu_mask,
            coalesce(v.vgroup_mask, 0)::USMALLINT AS vgroup_mask,
            coalesce(u.age_mask, 0)::USMALLINT AS age_mask,
            coalesce(v.catv_list, []) AS catv_list,
            {zero_filled}
        FROM {accidents} a
        LEFT JOIN per_user u USING (acc_id)
        LEFT JOIN per_vehicle v USING (acc_id)
        LEFT JOIN per_occupant o USING (acc_id)
        """,
        [bit_of_code, list(_OCCUPANT_CATU), list(USER_CATEGORIES)],
    )
    con.execute(f"CREATE OR REPLACE TABLE {into}.{META_TABLE} (definitions VARCHAR)")
    con.execute(f"INSERT INTO {into}.{META_TABLE} VALUES (?)", [json.dumps(definitions, sort_keys=True)])


def check_explorer_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`ExplorerStoreError` unless the explorer columns match today's definitions.

    The query functions below do not check (a missing table still raises
    :class:`ExplorerStoreError`): call this once per page run, before them.
    """
    expected = json.dumps(explorer_definitions(), sort_keys=True)
    cursor = con.cursor()
    try:
        found = cursor.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'accidents' AND column_name = ?",
            [explorer_columns()[0]],
        ).fetchall()[0][0]
        has_meta = cursor.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [META_TABLE]
        ).fetchall()[0][0]
        stored = cursor.execute(f"SELECT definitions FROM {META_TABLE}").fetchall() if found and has_meta else []
    finally:
        cursor.close()
    if not stored:
        raise ExplorerStoreError(_MISSING_TABLE)
    if stored[0][0] != expected:
        raise ExplorerStoreError(
            "The explorer columns were built from other filter definitions (age or vehicle groups changed). "
            "Rebuild the store with `python -m core store`."
        )


def _mask(bits: list[int]) -> int:
    return sum(1 << bit for bit in set(bits))


def filter_sql(accident_filter: AccidentFilter) -> tuple[str, list[object]]:
    """``WHERE`` clause over ``accidents`` (with its explorer columns) selecting the same accidents as ``to_sql``.

    The user-category, vehicle-group and age-group conditions become tests of
    the per-accident masks instead of subqueries.

    Examples
    --------
    >>> filter_sql(AccidentFilter(user_categories=(3,), age_groups=("75+",)))
    ('true AND (catu_mask & ?) <> 0 AND (age_mask & ?) <> 0', [8, 64])
    """
    plain = replace(accident_filter, user_categories=(), vehicle_groups=(), age_groups=())
    where, params = plain.to_sql()
    clauses, params = [where], list(params)
    if accident_filter.user_categories:
        clauses.append("(catu_mask & ?) <> 0")
        params.append(_mask(list(accident_filter.user_categories)))
    if accident_filter.vehicle_groups:
        clauses.append("(vgroup_mask & ?) <> 0")
        params.append(_mask([VEHICLE_GROUPS.index(g) for g in accident_filter.vehicle_groups]))
    if accident_filter.age_groups:
        clauses.append("(age_mask & ?) <> 0")
        params.append(_mask([list(AGE_GROUPS).index(g) for g in accident_filter.age_groups]))
    return " AND ".join(clauses), params


def _fetch_df(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pd.DataFrame:
    cursor = con.cursor()
    try:
        return cursor.execute(sql, params).fetch_df()
    except duckdb.CatalogException as error:
        raise ExplorerStoreError(f"{_MISSING_TABLE} ({error})") from error
    finally:
        cursor.close()


# --------------------------------------------------------------------------- #
# Figures and the previous period
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


@dataclass(frozen=True, eq=False)
class PeriodComparison:
    """Figures of the chosen period, of the previous period of the same length (if in the store), and
    the chosen period's counts per year (year, then the :class:`Figures` fields)."""

    years: tuple[int, int]
    current: Figures
    previous_years: tuple[int, int] | None
    previous: Figures | None
    by_year: pd.DataFrame

    @property
    def hospitalisation_comparable(self) -> bool:
        """False when one period is before the 2018 break in hospitalisation recording and the other after."""
        if self.previous_years is None:
            return False
        before = [span[0] < HOSPITALISATION_BREAK_YEAR for span in (self.years, self.previous_years)]
        after = [span[1] >= HOSPITALISATION_BREAK_YEAR for span in (self.years, self.previous_years)]
        return not (any(before) and any(after))


def figures(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> Figures:
    """Accidents, severe accidents, killed, hospitalised, lightly injured, and accidents with coordinates.

    Examples
    --------
    >>> figures(con, AccidentFilter(years=(2020, 2020))).killed
    2780
    """
    where, params = filter_sql(accident_filter)
    row = _fetch_df(con, f"SELECT {_MEASURES} FROM accidents WHERE {where}", params).iloc[0]
    return Figures(*(int(row[name]) for name in _COUNTS))


def _sum_years(by_year: pd.DataFrame, years: tuple[int, int]) -> Figures:
    rows = by_year[by_year["year"].between(*years)]
    return Figures(*(int(rows[name].sum()) for name in _COUNTS))


def previous_period(years: tuple[int, int], *, first_year: int) -> tuple[int, int] | None:
    """The period of the same length just before ``years``; None when it starts before ``first_year``.

    Examples
    --------
    >>> previous_period((2019, 2020), first_year=2005)
    (2017, 2018)
    >>> previous_period((2005, 2020), first_year=2005) is None
    True
    """
    first, last = years
    length = last - first + 1
    start = first - length
    return None if start < first_year else (start, first - 1)


def compare_periods(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, data_years: tuple[int, int]
) -> PeriodComparison:
    """Figures of the filter and of the same filter over the previous period of the same length.

    One query counts both periods year by year; the yearly counts of the
    chosen period come with the figures (:attr:`PeriodComparison.by_year`).

    Parameters
    ----------
    data_years
        First and last year held by the store: the period when the filter
        names none, and the limit of the previous period.
    """
    years = accident_filter.years or data_years
    years = (max(years[0], data_years[0]), min(years[1], data_years[1]))
    before = previous_period(years, first_year=data_years[0])
    by_year = _yearly_rows(con, accident_filter, ((before or years)[0], years[1]))
    return PeriodComparison(
        years=years,
        current=_sum_years(by_year, years),
        previous_years=before,
        previous=_sum_years(by_year, before) if before else None,
        by_year=by_year[by_year["year"].between(*years)].reset_index(drop=True),
    )


def relative_change(current: float | None, previous: float | None) -> float | None:
    """``current / previous - 1``; None when there is nothing to compare.

    Examples
    --------
    >>> relative_change(2780, 3498)  # doctest: +ELLIPSIS
    -0.20526...
    """
    if current is None or not previous:
        return None
    return current / previous - 1


# --------------------------------------------------------------------------- #
# Calendars and departments
# --------------------------------------------------------------------------- #


def _grouped_counts(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, sets: list[tuple[str, ...]]
) -> list[pd.DataFrame]:
    """Counts of the filter's accidents grouped by each column set, in one scan (``GROUPING SETS``)."""
    columns = [c for c in _GROUP_COLUMNS if any(c in chosen for chosen in sets)]
    unknown = {c for chosen in sets for c in chosen} - set(_GROUP_COLUMNS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}; allowed: {list(_GROUP_COLUMNS)}")
    where, params = filter_sql(accident_filter)
    grouping = ", ".join(columns)
    grouping_sets = ", ".join(f"({', '.join(chosen)})" for chosen in sets)
    rows = _fetch_df(
        con,
        f"SELECT {grouping}, GROUPING_ID({grouping}) AS grouping_id, {_MEASURES} "
        f"FROM accidents WHERE {where} GROUP BY GROUPING SETS ({grouping_sets})",
        params,
    )
    frames = []
    for chosen in sets:
        grouping_id = sum(1 << (len(columns) - 1 - i) for i, column in enumerate(columns) if column not in chosen)
        part = rows.loc[rows["grouping_id"] == grouping_id, [*chosen, *_COUNTS]]
        frames.append(part.sort_values(list(chosen)).reset_index(drop=True))
    return frames


def _yearly_rows(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, years: tuple[int, int]
) -> pd.DataFrame:
    """Counts per year over ``years`` (in place of the filter's own years), zeros included."""
    (by_year,) = _grouped_counts(con, accident_filter.with_changes(years=years), [("year",)])
    all_years = pd.DataFrame({"year": range(years[0], years[1] + 1)})
    by_year = all_years.merge(by_year.astype({"year": "int64"}), on="year", how="left")
    return by_year.fillna(0).astype({m: "int64" for m in _COUNTS})


def yearly_counts(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, data_years: tuple[int, int]
) -> pd.DataFrame:
    """Counts per year: year, accidents, severe_accidents, killed, hospitalised, light, located.

    Every year of the filter's period within ``data_years`` appears (zeros
    included), so a trend never skips a year.
    """
    first, last = accident_filter.years or data_years
    return _yearly_rows(con, accident_filter, (max(first, data_years[0]), min(last, data_years[1])))


@dataclass(frozen=True)
class Calendar:
    """Counts by year × month and by hour × weekday (grouping columns, then the counts)."""

    by_month: pd.DataFrame
    by_hour: pd.DataFrame


def calendar(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> Calendar:
    """Counts of the filter's accidents by year × month and by hour × weekday, in one scan."""
    by_month, by_hour = _grouped_counts(con, accident_filter, [("year", "month"), ("hour", "weekday")])
    return Calendar(by_month=by_month, by_hour=by_hour)


def department_counts(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> pd.DataFrame:
    """Counts per department (INSEE code ``dep``), departments without accidents left out."""
    return _grouped_counts(con, accident_filter, [("dep",)])[0]


def yearly_table(by_year: pd.DataFrame) -> pd.DataFrame:
    """The yearly figures as users read them (French column names, severe share in %)."""
    table = pd.DataFrame({
        "Année": by_year["year"].astype(str),
        "Accidents": by_year["accidents"],
        "Tués": by_year["killed"],
        "Blessés hospitalisés": by_year["hospitalised"],
        "Blessés légers": by_year["light"],
    })
    accidents = by_year["accidents"].where(by_year["accidents"] > 0)
    table["Accidents graves (%)"] = (100 * by_year["severe_accidents"] / accidents).round(1)
    return table


@lru_cache(maxsize=1)
def department_shapes() -> gpd.GeoDataFrame:
    """Department outlines of ``assets/``, simplified for drawing (code, nom, geometry).

    Simplified at :data:`CHOROPLETH_TOLERANCE` and snapped to a 0.001° grid:
    invisible at the scale of France and five times lighter to send on every
    rerun.
    """
    import geopandas as gpd
    import shapely

    shapes = gpd.read_file(places.DEPARTMENTS_GEOJSON)
    simplified = shapes.geometry.simplify(CHOROPLETH_TOLERANCE, preserve_topology=True)
    shapes["geometry"] = shapely.set_precision(simplified.values, 0.001)
    return shapes[["code", "nom", "geometry"]]


def is_overseas(dep: str) -> bool:
    """True for the overseas departments and collectivities (INSEE codes 97x and 98x)."""
    return str(dep).startswith(OVERSEAS_PREFIXES)


@lru_cache(maxsize=1)
def department_geojson() -> dict:
    """Metropolitan outlines as a GeoJSON mapping, each feature keyed by ``properties.code``.

    Overseas departments are left out: drawn on the same map they would
    shrink metropolitan France to a dot.
    """
    shapes = department_shapes()
    metropolitan = shapes[~shapes["code"].map(is_overseas)]
    return json.loads(metropolitan[["code", "geometry"]].to_json())


def department_map_frame(by_dep: pd.DataFrame) -> gpd.GeoDataFrame:
    """Every department outline with its counts (zeros where no accident matches) and severe share.

    Parameters
    ----------
    by_dep
        :func:`department_counts`.
    """
    counts = by_dep.set_index("dep")
    shapes = department_shapes().copy()
    for column in ("accidents", "severe_accidents", "killed", "hospitalised", "light"):
        shapes[column] = shapes["code"].map(counts[column]).fillna(0).astype("int64")
    accidents = shapes["accidents"].where(shapes["accidents"] > 0)
    shapes["severe_share"] = shapes["severe_accidents"] / accidents
    return shapes


def department_table(by_dep: pd.DataFrame) -> pd.DataFrame:
    """Counts by department with names, most accidents first (overseas included)."""
    table = pd.DataFrame({
        "Département": [f"{code} – {places.department_name(code)}" for code in by_dep["dep"]],
        "Accidents": by_dep["accidents"],
        "Tués": by_dep["killed"],
        "Blessés hospitalisés": by_dep["hospitalised"],
        "Blessés légers": by_dep["light"],
    })
    return table.sort_values("Accidents", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- #
# Breakdowns by user category and vehicle group
# --------------------------------------------------------------------------- #


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
    """
    where, params = filter_sql(accident_filter)
    people_cols = [_people_column(c, g) for c in USER_CATEGORIES for g in SEVERITIES]
    vehicle_cols = [col for group in VEHICLE_BREAKDOWN_GROUPS for col in _vehicle_columns(group)]
    sums = ", ".join(f"CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}" for c in people_cols + vehicle_cols)
    totals = _fetch_df(con, f"SELECT {sums} FROM accidents WHERE {where}", params).iloc[0]
    people = pd.DataFrame(
        [(c, codebook.label("catu", c), g, codebook.label("grav", g), int(totals[_people_column(c, g)]))
         for c in USER_CATEGORIES for g in SEVERITIES],
        columns=["catu", "catu_label", "grav", "grav_label", "people"],
    ).astype({"grav": "Int64"})
    vehicles = pd.DataFrame(
        [(group, codebook.VEHICLE_GROUP_LABELS.get(group, UNKNOWN_GROUP_LABEL),
          *(int(totals[c]) for c in _vehicle_columns(group)))
         for group in VEHICLE_BREAKDOWN_GROUPS],
        columns=["group", "label", "vehicles", "occupants_killed", "occupants_hospitalised"],
    )
    return Breakdowns(people=people, vehicles=vehicles)


# --------------------------------------------------------------------------- #
# Individual accidents: points for the map, a page of the table
# --------------------------------------------------------------------------- #

#: What a marker's popup needs, as one JSON array per accident (built by DuckDB, not row by row in Python):
#: lat, lon, "dd/mm/yyyy hh:mm", lum, atm, surf, col, [catv...], killed, hospitalised, light, unharmed.
MARKER_FIELDS = ("lat", "lon", "when", "lum", "atm", "surf", "col", "catv", "killed", "hospitalised", "light",
                 "unharmed")
_MARKER_JSON = (
    "json_array(round(lat, 5), round(lon, 5), "
    "strftime(make_timestamp(year, month, day, hour, minute, 0), '%d/%m/%Y %H:%M'), "
    "lum, atm, surf, col, catv_list, n_killed, n_hospitalised, n_light, n_unharmed)::VARCHAR"
)


def map_points(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, limit: int = MAX_POINTS
) -> pd.DataFrame:
    """At most ``limit`` located accidents of the filter, the same ones on every call.

    When more match, the sample is a fixed pseudo-random one (ordered by a hash
    of the accident id), so it spreads over the whole period and area instead
    of taking the first ``limit`` by id. Count them all with
    :attr:`Figures.located`.

    Returns
    -------
    pandas.DataFrame
        acc_id, lat, lon, and ``marker``: the JSON array of :data:`MARKER_FIELDS`.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    where, params = filter_sql(accident_filter)
    # The sample is drawn first and the JSON written for its rows only: written in the same
    # SELECT as the ORDER BY ... LIMIT, it would be computed for every matching row (5x slower).
    return _fetch_df(
        con,
        f"SELECT acc_id, lat, lon, {_MARKER_JSON} AS marker FROM ("
        f"SELECT * FROM accidents WHERE {where} AND lat IS NOT NULL ORDER BY hash(acc_id), acc_id LIMIT ?"
        f") ORDER BY hash(acc_id), acc_id",
        [*params, int(limit)],
    )


def _labels(variable: str, codes: pd.Series) -> list[str]:
    """Official labels of a column of codes that may hold missing values (``pd.NA``)."""
    return [codebook.label(variable, None if pd.isna(code) else int(code)) for code in codes]


def vehicles_text(catv_list: list[int] | None) -> str:
    """``[7, 33]`` -> ``'VL seul, Motocyclette > 125 cm 3'``."""
    return ", ".join(codebook.label("catv", c) for c in (catv_list if catv_list is not None else []))


def table_page(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, page: int = 1, page_size: int = PAGE_SIZE
) -> pd.DataFrame:
    """One page of the filter's accidents, most recent first, with French labels.

    Parameters
    ----------
    page
        1-based page number.
    """
    if page < 1 or page_size < 1:
        raise ValueError(f"page and page_size must be positive, got {page}, {page_size}")
    where, params = filter_sql(accident_filter)
    rows = _fetch_df(
        con,
        f"SELECT acc_id, year, month, day, hour, minute, dep, com, agg, lum, atm, surf, catr, col, "
        f"catv_list, n_users, n_killed, n_hospitalised, n_light FROM accidents WHERE {where} "
        f"ORDER BY year DESC, month DESC, day DESC, hour DESC, minute DESC, acc_id DESC LIMIT ? OFFSET ?",
        [*params, int(page_size), int((page - 1) * page_size)],
    )
    return pd.DataFrame({
        "Accident": rows["acc_id"].astype(str),
        "Date": [f"{d:02d}/{m:02d}/{y}" for d, m, y in zip(rows["day"], rows["month"], rows["year"], strict=True)],
        "Heure": [f"{h:02d}:{mi:02d}" for h, mi in zip(rows["hour"], rows["minute"], strict=True)],
        "Département": [f"{d} – {places.department_name(d)}" for d in rows["dep"]],
        "Commune": [None if pd.isna(c) else places.commune_name(c) or c for c in rows["com"]],
        "Localisation": _labels("agg", rows["agg"]),
        "Lumière": _labels("lum", rows["lum"]),
        "Conditions atmosphériques": _labels("atm", rows["atm"]),
        "Surface": _labels("surf", rows["surf"]),
        "Catégorie de route": _labels("catr", rows["catr"]),
        "Type de collision": _labels("col", rows["col"]),
        "Véhicules": [vehicles_text(v) for v in rows["catv_list"]],
        "Usagers": rows["n_users"],
        "Tués": rows["n_killed"],
        "Blessés hospitalisés": rows["n_hospitalised"],
        "Blessés légers": rows["n_light"],
    })


# --------------------------------------------------------------------------- #
# Export
# --------------------------------------------------------------------------- #


class ExportTooLargeError(ValueError):
    """More accidents match than an export may hold; the message gives both counts."""


def _columns(con: duckdb.DuckDBPyConnection, table: str, *, without: tuple[str, ...]) -> list[str]:
    cursor = con.cursor()
    try:
        names = [row[0] for row in cursor.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
        ).fetchall()]
    finally:
        cursor.close()
    unsafe = [n for n in names if not _IDENTIFIER.match(n)]
    if unsafe:
        raise ExplorerStoreError(f"unexpected column names in {table}: {unsafe}")
    return [n for n in names if n not in without]


def export_query(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> tuple[str, list[object]]:
    """SQL of the export: one row per accident, its users (``usagers``) and vehicles (``vehicules``) as lists.

    The accident columns are those of the ``accidents`` table (H3 cells
    aside); each user and vehicle keeps every column of its table.
    """
    where, params = filter_sql(accident_filter)
    accident_cols = ", ".join(_columns(con, "accidents", without=_H3_COLUMNS + explorer_columns()))
    user_fields = ", ".join(f"{c} := u.{c}" for c in _columns(con, "users", without=("acc_id",)))
    vehicle_fields = ", ".join(f"{c} := v.{c}" for c in _columns(con, "vehicles", without=("acc_id",)))
    sql = f"""
        WITH chosen AS (SELECT {accident_cols} FROM accidents WHERE {where}),
        usagers AS (
            SELECT u.acc_id, list(struct_pack({user_fields}) ORDER BY u.veh, u.catu, u.birth_year) AS usagers
            FROM users u SEMI JOIN chosen USING (acc_id) GROUP BY u.acc_id
        ),
        vehicules AS (
            SELECT v.acc_id, list(struct_pack({vehicle_fields}) ORDER BY v.veh) AS vehicules
            FROM vehicles v SEMI JOIN chosen USING (acc_id) GROUP BY v.acc_id
        )
        SELECT chosen.*, usagers.usagers, vehicules.vehicules
        FROM chosen LEFT JOIN usagers USING (acc_id) LEFT JOIN vehicules USING (acc_id)
        ORDER BY acc_id
    """
    return sql, params


def export_accidents(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, file_format: str, limit: int = EXPORT_LIMIT
) -> bytes:
    """The filter's accidents with their users and vehicles, as a CSV or Parquet file.

    One row per accident. In Parquet, ``usagers`` and ``vehicules`` are lists
    of structs; in the CSV (``;``-separated, UTF-8, BAAC codes) they are JSON
    texts, so the CSV has exactly one line per accident after its header.

    Raises
    ------
    ExportTooLargeError
        When more than ``limit`` accidents match.
    ValueError
        For a format other than ``csv`` or ``parquet``.
    """
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"file_format must be one of {EXPORT_FORMATS}, got {file_format!r}")
    matching = figures(con, accident_filter).accidents
    if matching > limit:
        raise ExportTooLargeError(f"{matching} accidents match; an export holds at most {limit}")
    sql, params = export_query(con, accident_filter)
    if file_format == "csv":
        sql = (f"SELECT * REPLACE (to_json(usagers) AS usagers, to_json(vehicules) AS vehicules) FROM ({sql}) "
               "ORDER BY acc_id")
    cursor = con.cursor()
    try:
        table = cursor.sql(sql, params=params).to_arrow_table()
    finally:
        cursor.close()
    buffer = io.BytesIO()
    if file_format == "parquet":
        pq.write_table(table, buffer, compression="zstd")
    else:
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(delimiter=";"))
    return buffer.getvalue()
