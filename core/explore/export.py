"""Export of the filter's accidents with their users and vehicles, as CSV or Parquet, and its texts.

One row per accident: the accident columns of the store (H3 cells and explorer
columns aside), its users (``usagers``) and vehicles (``vehicules``) as lists
of every column of their tables.
"""

from __future__ import annotations

import io

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core import config
from core.accidents_table import IDENTIFIER, ExplorerStoreError, explorer_columns
from core.explore.counts import figures
from core.filters import AccidentFilter
from core.formatting import format_count

EXPORT_LIMIT = 100_000
EXPORT_FORMATS = ("csv", "parquet")
#: H3 cells serve the risk map; exports leave them out.
_H3_COLUMNS = tuple(f"h3_{r}" for r in config.H3_RESOLUTIONS)


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
    unsafe = [n for n in names if not IDENTIFIER.match(n)]
    if unsafe:
        raise ExplorerStoreError(f"unexpected column names in {table}: {unsafe}")
    return [n for n in names if n not in without]


def export_query(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> tuple[str, list[object]]:
    """SQL of the export: one row per accident, its users (``usagers``) and vehicles (``vehicules``) as lists.

    The accident columns are those of the ``accidents`` table (H3 cells
    aside); each user and vehicle keeps every column of its table.
    """
    where, params = accident_filter.to_sql(bits=True)
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
    """  # noqa: S608
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
        sql = (f"SELECT * REPLACE (to_json(usagers) AS usagers, to_json(vehicules) AS vehicules) FROM ({sql}) "  # noqa: S608
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


def export_summary(accidents: int) -> str:
    """What the export holds, for ``accidents`` matching accidents."""
    return (f"{format_count(accidents)} accidents, avec leurs usagers et leurs véhicules (codes BAAC). "
            "Une ligne par accident ; dans le CSV (séparateur « ; »), usagers et véhicules sont en JSON.")


def limit_warning(accidents: int, *, limit: int = EXPORT_LIMIT) -> str | None:
    """Why no file is offered when more than ``limit`` accidents match; None when the export is allowed.

    Examples
    --------
    >>> limit_warning(1238) is None
    True
    """
    if accidents <= limit:
        return None
    return (f"L'export est limité à {format_count(limit)} accidents : affinez les filtres. "
            "Les fichiers complets sont publiés sur data.gouv.fr (BAAC).")
