"""The raw staging schema every source is read into before cleaning.

Each source (the PyPI archive, a folder of official yearly files) only has to
land its rows, as text, in three DuckDB tables with the columns below; the
cleaning step then applies one set of rules to all of them. Keeping the values
as text until cleaning means a malformed value is seen, counted and reported by
the cleaner instead of failing a reader's type cast.
"""

from __future__ import annotations

import duckdb

RAW_ACCIDENT_COLUMNS: tuple[str, ...] = (
    "Num_Acc", "an", "mois", "jour", "hrmn", "lum", "agg", "int", "atm", "col",
    "dep", "com", "lat", "long", "catr", "circ", "surf", "situ", "vma",
)
# id_usager and id_vehicule are not stored: they identify people and vehicles for the
# checks of repeated keys (core.ingest.clean.find_repeats).
RAW_USER_COLUMNS: tuple[str, ...] = (
    "Num_Acc", "num_veh", "catu", "grav", "sexe", "an_nais", "trajet",
    "secu", "secu1", "secu2", "secu3", "locp", "actp", "etatp", "id_usager", "id_vehicule",
)
RAW_VEHICLE_COLUMNS: tuple[str, ...] = (
    "Num_Acc", "num_veh", "catv", "obs", "obsm", "choc", "manv", "senc", "occutc", "motor", "id_vehicule",
)

RAW_TABLES: dict[str, tuple[str, ...]] = {
    "raw_accidents": RAW_ACCIDENT_COLUMNS,
    "raw_users": RAW_USER_COLUMNS,
    "raw_vehicles": RAW_VEHICLE_COLUMNS,
}

# Columns added to every raw table: which source the row came from (its rank in
# the command line, so that "the last source wins" is a comparison), and
# ``has_users``/``has_vehicles`` on accidents: False when the source had no
# usagers/vehicules table for that year, so per-accident victim counts are unknown rather than zero.
SOURCE_COLUMNS = '"src_rank" INTEGER, "src" VARCHAR'


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the three empty staging tables on ``con``."""
    for table, columns in RAW_TABLES.items():
        cols = ", ".join(f'"{c}" VARCHAR' for c in columns)
        extra = ', "has_users" BOOLEAN, "has_vehicles" BOOLEAN' if table == "raw_accidents" else ""
        con.execute(f"CREATE TABLE {table} ({SOURCE_COLUMNS}, {cols}{extra})")
    # Accidents a reader could not parse at all (e.g. a nested list that is not
    # a valid literal), keyed by source rank, rejected by the cleaner with the reason.
    con.execute('CREATE TABLE raw_unparsed ("src_rank" INTEGER, "Num_Acc" VARCHAR, "reason" VARCHAR)')
    # Lines or rows a reader set aside (unparseable CSV line, duplicate lieux row...),
    # per table; ``raw_read`` counts what a reader read for tables that are not
    # staged as such (lieux, merged into accidents).
    con.execute(
        "CREATE TABLE raw_rejects (src_rank INTEGER, src VARCHAR, tbl VARCHAR, "
        "year INTEGER, Num_Acc VARCHAR, reason VARCHAR, detail VARCHAR)"
    )
    con.execute("CREATE TABLE raw_read (src_rank INTEGER, src VARCHAR, tbl VARCHAR, year INTEGER, n BIGINT)")


def select_list(columns: tuple[str, ...], available: set[str], *, prefix: str = "") -> str:
    """SQL select list giving ``columns`` in order, NULL for those a file lacks.

    Column names come from the fixed tuples above, never from user input; a
    file's own header is only used to test membership.
    """
    parts = []
    for c in columns:
        if c in available:
            parts.append(f'CAST({prefix}"{c}" AS VARCHAR) AS "{c}"')
        else:
            parts.append(f'CAST(NULL AS VARCHAR) AS "{c}"')
    return ", ".join(parts)
