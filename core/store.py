"""The DuckDB database the app queries, built from the Parquet store.

Queries on native DuckDB tables were measured 2-5x faster than on
``read_parquet`` views (see ``bench/queries.py``), so ingest finishes by
loading the Parquet files into ``gravite.duckdb`` beside them. The
``accidents`` table there also carries per-accident facts derived from its
people and vehicles: the involved-road-user flags every filter needs
(pedestrian, bicycle, powered two-wheeler, heavy goods vehicle) and the
explorer's masks and counts, defined in :mod:`core.accidents_table`.
The app opens that file once, read-only, and gives each query its own cursor.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from core import config
from core.accidents_table import create_accidents_table

DATABASE_FILE = "gravite.duckdb"
TABLES = ("accidents", "users", "vehicles")


class StoreMissingError(FileNotFoundError):
    """No store has been built yet; the message says how to build one."""


def database_path(parquet_dir: Path | None = None) -> Path:
    """Path of the DuckDB file inside a Parquet store folder."""
    return Path(parquet_dir or config.parquet_dir()) / DATABASE_FILE


#: In-memory tables :func:`write_database` copies into the file: the store's rows, sorted by acc_id.
SOURCE_TABLES = {table: f"out_{table}" for table in TABLES}


def build_database(parquet_dir: Path) -> Path:
    """(Re)build ``gravite.duckdb`` from the Parquet files in ``parquet_dir``.

    Ingest does not come through here: it already holds the tables in memory
    and calls :func:`write_database` directly.
    """
    parquet_dir = Path(parquet_dir)
    con = duckdb.connect()
    try:
        configure(con)
        for table, source in SOURCE_TABLES.items():
            # The table names spliced into SQL here are the constants of SOURCE_TABLES; paths go as parameters.
            con.execute(f"CREATE TEMP TABLE {source} AS SELECT * FROM read_parquet(?)",  # noqa: S608
                        [str(parquet_dir / f"{table}.parquet")])
        return write_database(con, parquet_dir)
    finally:
        con.close()


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """The DuckDB resources every build uses: this machine's cores, and memory kept under 2 GB."""
    con.execute(f"SET threads = {int(config.DUCKDB_THREADS)}")
    con.execute("SET memory_limit = ?", [config.DUCKDB_MEMORY_LIMIT])


def write_database(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> Path:
    """Write ``gravite.duckdb`` in ``parquet_dir`` from ``con``'s :data:`SOURCE_TABLES`.

    Written to a temporary file and renamed over the old one, so a reader
    never sees a half-built database. The source tables must hold the
    Parquet files' rows, users and vehicles already sorted by acc_id.
    """
    target = database_path(parquet_dir)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    partial_sql = str(partial).replace("'", "''")  # our own path; ATTACH takes no parameter
    con.execute(f"ATTACH '{partial_sql}' AS store")
    try:
        # DuckDB keeps insertion order: users and vehicles stay sorted by acc_id.
        con.execute(f"CREATE TABLE store.users AS SELECT * FROM {SOURCE_TABLES['users']}")  # noqa: S608
        con.execute(f"CREATE TABLE store.vehicles AS SELECT * FROM {SOURCE_TABLES['vehicles']}")  # noqa: S608
        con.execute("CHECKPOINT store")
        # Every filtered aggregate scans the accidents table: stored uncompressed it scans about 25 %
        # faster (bench/queries.py) for some 150 MB more on disk, and is quicker to write.
        con.execute("SET force_compression = 'uncompressed'")
        create_accidents_table(
            con, into="store", accidents=SOURCE_TABLES["accidents"], users=SOURCE_TABLES["users"],
            vehicles=SOURCE_TABLES["vehicles"],
        )
        con.execute("CHECKPOINT store")
    except BaseException:
        con.execute("DETACH store")
        partial.unlink(missing_ok=True)
        raise
    finally:
        con.execute("RESET force_compression")
    con.execute("DETACH store")
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
