"""The DuckDB database the app queries, built from the Parquet store.

Queries on native DuckDB tables were measured 2-5x faster than on
``read_parquet`` views (see ``bench/queries.py``), so ingest finishes by
loading the Parquet files into ``gravite.duckdb`` beside them, with a few
per-accident flags derived from people and vehicles (pedestrian, bicycle,
powered two-wheeler, heavy goods vehicle involved) that every filter needs.
The app opens that file once, read-only, and gives each query its own cursor.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from core import codebook, config, explore

DATABASE_FILE = "gravite.duckdb"
TABLES = ("accidents", "users", "vehicles")


class StoreMissingError(FileNotFoundError):
    """No store has been built yet; the message says how to build one."""


def database_path(parquet_dir: Path | None = None) -> Path:
    """Path of the DuckDB file inside a Parquet store folder."""
    return Path(parquet_dir or config.parquet_dir()) / DATABASE_FILE


def build_database(parquet_dir: Path) -> Path:
    """(Re)build ``gravite.duckdb`` from the Parquet files in ``parquet_dir``.

    Written to a temporary file and renamed over the old one, so a reader
    never sees a half-built database.
    """
    parquet_dir = Path(parquet_dir)
    target = database_path(parquet_dir)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    try:
        con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
        con.execute("SET memory_limit = ?", [config.DUCKDB_MEMORY_LIMIT])
        files = {t: str(parquet_dir / f"{t}.parquet") for t in TABLES}
        # The Parquet files are already sorted by acc_id (ingest writes ORDER BY ALL) and DuckDB keeps
        # insertion order, so no sort is needed here.
        con.execute("CREATE TABLE users AS SELECT * FROM read_parquet(?)", [files["users"]])
        con.execute("CREATE TABLE vehicles AS SELECT * FROM read_parquet(?)", [files["vehicles"]])
        con.execute(
            """
            CREATE TABLE accidents AS
            SELECT a.*,
                coalesce(u.has_pedestrian, false) AS has_pedestrian,
                coalesce(v.has_bicycle, false) AS has_bicycle,
                coalesce(v.has_two_wheeler, false) AS has_two_wheeler,
                coalesce(v.has_hgv, false) AS has_hgv
            FROM read_parquet(?) a
            LEFT JOIN (SELECT acc_id, bool_or(catu = ?) AS has_pedestrian FROM users GROUP BY acc_id) u
                USING (acc_id)
            LEFT JOIN (
                SELECT acc_id, bool_or(list_contains(?, catv)) AS has_bicycle,
                       bool_or(list_contains(?, catv)) AS has_two_wheeler,
                       bool_or(list_contains(?, catv)) AS has_hgv
                FROM vehicles GROUP BY acc_id
            ) v USING (acc_id)
            ORDER BY a.acc_id
            """,
            [
                files["accidents"],
                codebook.PEDESTRIAN_CATU,
                sorted(codebook.BICYCLE_CATV),
                sorted(codebook.TWO_WHEELER_CATV),
                sorted(codebook.HGV_CATV),
            ],
        )
        explore.create_explorer_tables(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(partial, target)
    return target


def connect(parquet_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the store read-only. Use one ``cursor()`` per query.

    Raises
    ------
    StoreMissingError
        When no store has been built, with the command that builds it.
    """
    path = database_path(parquet_dir)
    if not path.exists():
        parquet = path.parent / config.ACCIDENTS_FILE
        if not parquet.exists():
            raise StoreMissingError(
                f"No data store at {path.parent}. Build it with `python -m core ingest` (make run does it)."
            )
        build_database(path.parent)
    return duckdb.connect(str(path), read_only=True)
