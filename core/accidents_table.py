"""The store's ``accidents`` table: its per-accident facts taken from people and vehicles, built and checked.

Why extra columns: a filter on user category, vehicle category or age group is
an IN-subquery over the 2.4 million users or the 1.8 million vehicles, and the
explorer's breakdowns by user category and vehicle type are joins. Repeated for
every query of a rerun they take the explorer past its 300 ms budget. So the
``accidents`` table (built by :func:`create_accidents_table` when the store is
written) also holds, per accident, the involved-road-user flags every filter
uses, bit masks of the user categories, vehicle groups and age groups present,
counts of people by category and severity, of vehicles and of their occupants
killed or hospitalised by vehicle group, and the list of vehicle categories
(:func:`explorer_columns`). Every explorer query is then one scan of one table.

This module sits below both :mod:`core.store` (which writes the table) and
:mod:`core.explore` (which reads it). The masks follow the filter definitions
of :mod:`core.filter_fields`, vehicle groups from :func:`core.codebook.vehicle_group`.
Those definitions are stored beside the table and compared by
:func:`check_explorer_tables` (once per page run), so a change of definition
cannot silently give wrong counts: the page asks for a rebuild of the store
instead. ``tests/test_explore.py`` checks that the masks select exactly the
accidents :meth:`AccidentFilter.to_sql` selects.
"""

from __future__ import annotations

import json
import re

import duckdb

from core import codebook
from core.filter_fields import AGE_GROUPS, INVOLVED_COLUMNS, VEHICLE_GROUPS

META_TABLE = "explorer_meta"
_DEFINITIONS_VERSION = 3  # bump when the explorer columns change (3: merged into accidents)

USER_CATEGORIES: tuple[int, ...] = tuple(sorted(codebook.CATU))
#: Severity codes in reading order: killed, hospitalised, light, unharmed, not filled in (None).
SEVERITIES: tuple[int | None, ...] = (
    codebook.GRAV_KILLED, codebook.GRAV_HOSPITALISED, codebook.GRAV_LIGHT, codebook.GRAV_UNHARMED, None,
)
#: Vehicle groups of the breakdown: the filter's groups, then vehicles of unknown category.
VEHICLE_BREAKDOWN_GROUPS: tuple[str, ...] = (*VEHICLE_GROUPS, "unknown")
#: Users who sit in their vehicle (drivers and passengers; pedestrians are attached to the vehicle that hit them).
_OCCUPANT_CATU = (1, 2)

#: What a table or column name spliced into SQL must look like.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_MASK_BITS = 16  # the masks are USMALLINT
_UNKNOWN_BIT = 255  # vehicle group "bit" of a vehicle whose catv is in no group (or unknown)
_MAX_CATV = 99  # catv codes are two digits

# SQL in this module is built from identifiers checked against IDENTIFIER or made here from constants and
# codebook integers (never from values), hence the S608 exemptions below.


class ExplorerStoreError(RuntimeError):
    """The store lacks the explorer columns, or built them from other definitions; rebuild it."""


#: Why a query on the explorer columns failed when they are missing.
MISSING_TABLE = "The store has no explorer columns. Rebuild it with `python -m core store` (about 5 s)."


def people_column(catu: int, grav: int | None) -> str:
    """Column counting the people of category ``catu`` and severity ``grav`` (None: not filled in)."""
    return f"people_c{int(catu)}_g{'na' if grav is None else int(grav)}"


def _people_condition(catu: int, grav: int | None) -> str:
    return f"catu = {int(catu)} AND " + ("grav IS NULL" if grav is None else f"grav = {int(grav)}")


def vehicle_columns(group: str) -> tuple[str, str, str]:
    """Columns counting a vehicle group's vehicles, and their occupants killed and hospitalised."""
    if not IDENTIFIER.match(group):
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


def explorer_columns() -> tuple[str, ...]:
    """Names of the per-accident explorer columns of the ``accidents`` table, in table order.

    They are not in the Parquet contract and exports leave them out.
    """
    return ("catu_mask", "vgroup_mask", "age_mask", "catv_list",
            *(people_column(c, g) for c in USER_CATEGORIES for g in SEVERITIES),
            *(column for group in VEHICLE_BREAKDOWN_GROUPS for column in vehicle_columns(group)))


def _check_names(into: str, accidents: str, users: str, vehicles: str) -> None:
    if max(len(AGE_GROUPS), len(VEHICLE_GROUPS), max(USER_CATEGORIES) + 1) > _MASK_BITS:
        raise ValueError(f"the explorer masks hold {_MASK_BITS} bits: too many age groups, vehicle groups or catu")
    bad_names = [n for n in (into, accidents, users, vehicles) if not IDENTIFIER.match(n)]
    if bad_names:
        raise ValueError(f"not table names: {bad_names}")


def _vehicle_bits(definitions: dict[str, object]) -> list[int]:
    """Vehicle group bit of each catv code 0..99, looked up in a list (no join): UNKNOWN_BIT when in no group."""
    bit_of_code = [_UNKNOWN_BIT] * (_MAX_CATV + 1)
    for bit, codes in enumerate(definitions["vehicle_groups"].values()):
        for code in codes:
            bit_of_code[code] = bit
    return bit_of_code


def _count_expressions() -> tuple[str, str, str, str]:
    """The SQL of the age bits, the people counts, the vehicle counts and the occupant counts."""
    age_bits = " | ".join(
        f"CASE WHEN age BETWEEN {int(low)} AND {int(high)} THEN {1 << bit} ELSE 0 END"
        for bit, (low, high) in enumerate(AGE_GROUPS.values())
    )
    people = ",\n".join(
        f"CAST(count_if({_people_condition(catu, grav)}) AS USMALLINT) AS {people_column(catu, grav)}"
        for catu in USER_CATEGORIES for grav in SEVERITIES
    )
    vehicle_counts, occupant_counts = [], []
    for group in VEHICLE_BREAKDOWN_GROUPS:
        count_col, killed_col, hosp_col = vehicle_columns(group)
        bit = _UNKNOWN_BIT if group == "unknown" else _vehicle_bit(group)
        vehicle_counts.append(f"CAST(count_if(vbit = {bit}) AS USMALLINT) AS {count_col}")
        occupant_counts.append(
            f"CAST(count_if(vbit = {bit} AND grav = {codebook.GRAV_KILLED}) AS USMALLINT) AS {killed_col}"
        )
        occupant_counts.append(
            f"CAST(count_if(vbit = {bit} AND grav = {codebook.GRAV_HOSPITALISED}) AS USMALLINT) AS {hosp_col}"
        )
    return age_bits, people, ", ".join(vehicle_counts), ", ".join(occupant_counts)


def _flag_expressions() -> str:
    """The involved-road-user flags: pedestrians from the user categories, the others from the vehicle groups."""
    flags = []
    for group, column in INVOLVED_COLUMNS.items():
        if group == "pedestrian":
            flags.append(f"(coalesce(u.catu_mask, 0) & {1 << codebook.PEDESTRIAN_CATU}) <> 0 AS {column}")
        else:
            flags.append(f"(coalesce(v.vgroup_mask, 0) & {1 << _vehicle_bit(group)}) <> 0 AS {column}")
    return ",\n".join(flags)


def create_accidents_table(
    con: duckdb.DuckDBPyConnection, *, into: str, accidents: str, users: str, vehicles: str
) -> None:
    """Create the store's ``accidents`` table and ``explorer_meta`` in database ``into``.

    ``accidents``, ``users`` and ``vehicles`` name tables of ``con`` holding the
    rows of the Parquet store (names from our own code, checked).
    The table holds the ``accidents`` columns, then the involved-road-user
    flags every filter uses (``has_pedestrian``, ``has_bicycle``,
    ``has_two_wheeler``, ``has_hgv``: :data:`core.filter_fields.INVOLVED_COLUMNS`),
    then :func:`explorer_columns`: the masks, the vehicle list and the people
    and vehicle counts. One table, built in one pass over users and vehicles:
    a second copy of the accidents for the explorer doubled the store build
    time. About 3 s on the 2005-2020 store.
    """
    _check_names(into, accidents, users, vehicles)
    definitions = explorer_definitions()
    age_bits, people, vehicle_counts, occupant_counts = _count_expressions()
    zero_filled = ",\n".join(f"coalesce({c}, 0)::USMALLINT AS {c}" for c in explorer_columns()[4:])
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
                {vehicle_counts}
            FROM veh GROUP BY acc_id
        ),
        per_occupant AS (
            SELECT u.acc_id, {occupant_counts}
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
            {_flag_expressions()},
            coalesce(u.catu_mask, 0)::USMALLINT AS catu_mask,
            coalesce(v.vgroup_mask, 0)::USMALLINT AS vgroup_mask,
            coalesce(u.age_mask, 0)::USMALLINT AS age_mask,
            coalesce(v.catv_list, []) AS catv_list,
            {zero_filled}
        FROM {accidents} a
        LEFT JOIN per_user u USING (acc_id)
        LEFT JOIN per_vehicle v USING (acc_id)
        LEFT JOIN per_occupant o USING (acc_id)
        """,  # noqa: S608
        [_vehicle_bits(definitions), list(_OCCUPANT_CATU), list(USER_CATEGORIES)],
    )
    con.execute(f"CREATE OR REPLACE TABLE {into}.{META_TABLE} (definitions VARCHAR)")
    con.execute(f"INSERT INTO {into}.{META_TABLE} VALUES (?)", [json.dumps(definitions, sort_keys=True)])  # noqa: S608


def check_explorer_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`ExplorerStoreError` unless the explorer columns match today's definitions.

    The explorer's query functions do not check (a missing table still raises
    :class:`ExplorerStoreError`): call this once per page run, before them.

    Examples
    --------
    >>> check_explorer_tables(con)  # the store was built from today's definitions
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
        stored = cursor.execute(f"SELECT definitions FROM {META_TABLE}").fetchall() if found and has_meta else []  # noqa: S608
    finally:
        cursor.close()
    if not stored:
        raise ExplorerStoreError(MISSING_TABLE)
    if stored[0][0] != expected:
        raise ExplorerStoreError(
            "The explorer columns were built from other filter definitions (age or vehicle groups changed). "
            "Rebuild the store with `python -m core store`."
        )
