"""Ingest orchestration: sources -> staging -> cleaning -> Parquet store, atomically.

Every folder source is checked whole (each file's header against its official
layout, :mod:`core.ingest.sources`) before anything is read, and a run that would
leave a year with fewer than 90 % of the accidents the store or an earlier source
had is refused unless that year is named in ``replace_years``
(:mod:`core.ingest.year_sizes`). What was read, kept and rejected goes to the
report (:mod:`core.ingest.report`) written beside the store. The new store is written into a
temporary folder beside the target (:mod:`core.ingest.workdir`) and swapped in
only once every file is complete, so an interrupted, failing or refused run
leaves the previous store untouched. Output rows are sorted (accidents by their
unique key, people and vehicles on every column), so two runs on the same
sources write identical tables.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core import config, store
from core.ingest import archive, clean, raw, report, workdir, year_sizes, yearly
from core.ingest.sources import Checked, Source, check_sources

ACCIDENT_OUTPUT = """
    SELECT a.acc_id, CAST(a.year AS SMALLINT) AS year, CAST(a.month AS TINYINT) AS month,
        CAST(a.day AS TINYINT) AS day, CAST(a.hour AS TINYINT) AS hour, CAST(a.minute AS TINYINT) AS minute,
        a.weekday, a.dep, a.com, a.lat, a.lon,
        c.h3_5, c.h3_6, c.h3_7, c.h3_8, c.h3_9,
        CAST(a.lum AS TINYINT) AS lum, CAST(a.agg AS TINYINT) AS agg, CAST(a.int AS TINYINT) AS int,
        CAST(a.atm AS TINYINT) AS atm, CAST(a.col AS TINYINT) AS col, CAST(a.catr AS TINYINT) AS catr,
        CAST(a.circ AS TINYINT) AS circ, CAST(a.surf AS TINYINT) AS surf, CAST(a.situ AS TINYINT) AS situ,
        CAST(a.vma AS SMALLINT) AS vma,
        CAST(CASE WHEN a.has_users THEN coalesce(u.n_users, 0) END AS SMALLINT) AS n_users,
        CAST(CASE WHEN a.has_vehicles THEN coalesce(v.n_vehicles, 0) END AS SMALLINT) AS n_vehicles,
        CAST(CASE WHEN a.has_users THEN coalesce(u.n_killed, 0) END AS SMALLINT) AS n_killed,
        CAST(CASE WHEN a.has_users THEN coalesce(u.n_hospitalised, 0) END AS SMALLINT) AS n_hospitalised,
        CAST(CASE WHEN a.has_users THEN coalesce(u.n_light, 0) END AS SMALLINT) AS n_light,
        CAST(CASE WHEN a.has_users THEN coalesce(u.n_unharmed, 0) END AS SMALLINT) AS n_unharmed,
        CASE WHEN a.has_users THEN coalesce(u.n_killed, 0) + coalesce(u.n_hospitalised, 0) > 0 END AS severe
    FROM accidents_clean a
    LEFT JOIN acc_cells c USING (acc_id)
    LEFT JOIN (
        SELECT acc_id, count(*) AS n_users,
            count(*) FILTER (WHERE grav = 2) AS n_killed, count(*) FILTER (WHERE grav = 3) AS n_hospitalised,
            count(*) FILTER (WHERE grav = 4) AS n_light, count(*) FILTER (WHERE grav = 1) AS n_unharmed
        FROM users_clean WHERE reason IS NULL GROUP BY acc_id
    ) u USING (acc_id)
    LEFT JOIN (SELECT acc_id, count(*) AS n_vehicles FROM vehicles_clean WHERE reason IS NULL GROUP BY acc_id) v
        USING (acc_id)
    ORDER BY a.acc_id  -- unique among kept accidents (repeated keys and replaced years are rejected)
"""

USER_OUTPUT = """
    SELECT acc_id, veh, CAST(catu AS TINYINT) AS catu, CAST(grav AS TINYINT) AS grav,
        CAST(sexe AS TINYINT) AS sexe, CAST(birth_year AS SMALLINT) AS birth_year,
        CAST(trajet AS TINYINT) AS trajet, CAST(secu1 AS TINYINT) AS secu1, CAST(secu2 AS TINYINT) AS secu2,
        CAST(secu3 AS TINYINT) AS secu3, CAST(secu_pre2019 AS TINYINT) AS secu_pre2019,
        CAST(locp AS TINYINT) AS locp, actp, CAST(etatp AS TINYINT) AS etatp
    FROM users_clean WHERE reason IS NULL
    ORDER BY ALL
"""

VEHICLE_OUTPUT = """
    SELECT acc_id, veh, CAST(catv AS TINYINT) AS catv, CAST(obs AS TINYINT) AS obs,
        CAST(obsm AS TINYINT) AS obsm, CAST(choc AS TINYINT) AS choc, CAST(manv AS TINYINT) AS manv,
        CAST(senc AS TINYINT) AS senc, CAST(occutc AS SMALLINT) AS occutc, CAST(motor AS TINYINT) AS motor
    FROM vehicles_clean WHERE reason IS NULL
    ORDER BY ALL
"""


@dataclass
class IngestResult:
    """What an ingest wrote and how long each stage took."""

    store: Path
    report: dict
    timings: dict[str, float] = field(default_factory=dict)


Progress = Callable[[str], None]
CLEANING_STAGES = 5  # codes and keys, H3, people and vehicles, write, database


def planned_stages(checked: Sequence[Checked]) -> int:
    """How many times :func:`run_ingest` will call ``progress`` for sources checked as ``checked``.

    ``checked`` is what :func:`core.ingest.sources.check_sources` returned: the
    archive is read in two stages, a folder in one per year.
    """
    reading = sum(2 if years is None else len(years) for years in checked)
    return reading + CLEANING_STAGES


def _connect(work_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    store.configure(con)
    con.execute("SET temp_directory = ?", [str(work_dir / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = true")
    return con


def run_ingest(
    sources: Sequence[Source],
    out_dir: Path,
    *,
    replace_years: Collection[int] = (),
    progress: Progress | None = None,
    checked: Sequence[Checked] | None = None,
) -> IngestResult:
    """Ingest ``sources`` (later ones win per year) into ``out_dir/parquet``.

    Parameters
    ----------
    sources
        In command-line order; when two provide the same year, the last wins.
    out_dir
        Folder receiving ``parquet/`` (accidents, users, vehicles, report, rejects).
    replace_years
        Years the run may leave with fewer than 90 % of the accidents the
        existing store or an earlier source had (``--replace-year``).
    progress
        Called with the name of each stage as it starts.
    checked
        What :func:`core.ingest.sources.check_sources` returned for ``sources``,
        when the caller has already checked them (each folder is then walked
        once); by default they are checked here.

    Returns
    -------
    IngestResult
        The final store folder, the report (also written as JSON) and stage timings.

    Raises
    ------
    IngestRefused
        When a source cannot be used whole (see :func:`core.ingest.sources.check_sources`)
        or a year would shrink (:mod:`core.ingest.year_sizes`); the previous store is then
        left as it was.

    Examples
    --------
    ``python -m core ingest`` runs ``run_ingest([Source.parse("package")], Path("data"))``
    with a progress bar; ``tests/test_ingest_*.py`` run it on real files.
    """
    if not sources:
        raise ValueError("no source given")
    out_dir = Path(out_dir)
    if checked is None:
        checked = check_sources(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir.remove_leftovers(out_dir, config.PARQUET_SUBDIR)
    previous, warnings = year_sizes.stored_year_counts(out_dir / config.PARQUET_SUBDIR)
    say = progress or (lambda _stage: None)
    timings: dict[str, float] = {}
    with workdir.work_folder(out_dir) as work_dir:
        con = _connect(work_dir)
        raw.create_raw_tables(con)
        for rank, (source, years) in enumerate(zip(sources, checked, strict=True)):
            start = time.perf_counter()
            if years is None:
                say("unpacking the BAAC 2005-2020 archive")
                csvs = archive.extract_archive(archive.archive_path(), work_dir / "archive")
                timings["unpack"] = time.perf_counter() - start
                say("reading the archive and its nested lists")
                archive.load_archive(con, csvs, rank=rank, label=source.label)
                shutil.rmtree(work_dir / "archive")
            else:
                for year, files in years.items():
                    say(f"reading {source.path} {year}")
                    year_warnings = yearly.load_year(con, year, files, rank=rank, label=source.label)
                    warnings.extend(f"{source.label}: {w}" for w in year_warnings)
            timings[f"read {source.label}"] = time.perf_counter() - start

        def check_accidents() -> None:
            clean.load_reference_tables(con)
            clean.clean_accidents(con)
            warnings.extend(year_sizes.check_year_sizes(con, previous, replace_years))

        stages: list[tuple[str, Callable[[], None]]] = [
            ("checking codes and keys", check_accidents),
            ("computing H3 cells", lambda: clean.add_h3_cells(con)),
            ("cleaning people and vehicles", lambda: clean.clean_people_and_vehicles(con)),
        ]
        for name, stage in stages:
            say(name)
            start = time.perf_counter()
            stage()
            timings[name] = time.perf_counter() - start
        say("writing the Parquet store")
        start = time.perf_counter()
        staging = work_dir / config.PARQUET_SUBDIR
        staging.mkdir()
        summary = report.build_report(con, [s.label for s in sources], warnings)
        _write_store(con, staging, summary)
        timings["write"] = time.perf_counter() - start
        say("building the DuckDB database")
        start = time.perf_counter()
        store.write_database(con, staging)
        con.close()
        timings["database"] = time.perf_counter() - start
        final = out_dir / config.PARQUET_SUBDIR
        swap_in(staging, final)
    return IngestResult(store=final, report=summary, timings=timings)


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """Write the rows of ``query`` (one of this module's statements, never data) to Parquet at ``path``."""
    con.execute(f"COPY ({query}) TO ? (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)", [str(path)])


def _write_store(con: duckdb.DuckDBPyConnection, staging: Path, summary: dict) -> None:
    """Write the Parquet store and its rejects; keep the three tables in ``con`` for the database.

    The output tables are materialised once (:data:`core.store.SOURCE_TABLES`), then
    copied to Parquet and, by :func:`core.store.write_database`, into DuckDB: reading
    the Parquet files back would cost a second decode of every row.
    """
    _copy(
        con,
        """
        SELECT src AS source, tbl AS "table", year, key, reason, detail FROM (
            SELECT src, 'accidents' AS tbl, row_year AS year, key_t AS key, reason,
                   'an=' || coalesce(CAST(an_i AS VARCHAR), '') || ' mois=' || coalesce(CAST(month AS VARCHAR), '')
                   || ' jour=' || coalesce(CAST(day AS VARCHAR), '') AS detail
            FROM acc_status WHERE reason IS NOT NULL
            UNION ALL SELECT src, 'users', row_year, key_t, reason, NULL FROM users_clean WHERE reason IS NOT NULL
            UNION ALL SELECT src, 'vehicles', row_year, key_t, reason, NULL FROM vehicles_clean WHERE reason IS NOT NULL
            UNION ALL SELECT src, tbl, year, Num_Acc, reason, detail FROM raw_rejects
        ) ORDER BY ALL
        """,
        staging / config.REJECTS_FILE,
    )
    outputs = {"accidents": ACCIDENT_OUTPUT, "users": USER_OUTPUT, "vehicles": VEHICLE_OUTPUT}
    for table, query in outputs.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {store.SOURCE_TABLES[table]} AS {query}")
    # What the output tables were made from is no longer needed: free the memory before the database build.
    for table in ("acc_cells", "accidents_clean", "users_clean", "vehicles_clean", "raw_users", "raw_vehicles",
                  "raw_accidents"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    files = {"accidents": config.ACCIDENTS_FILE, "users": config.USERS_FILE, "vehicles": config.VEHICLES_FILE}
    for table, file in files.items():
        # S608 (SQL built from strings): the table name comes from store.SOURCE_TABLES, never from data.
        _copy(con, f"SELECT * FROM {store.SOURCE_TABLES[table]}", staging / file)  # noqa: S608
    # Guard: the store must hold exactly the rows the report calls kept.
    for table, file in files.items():
        written = con.execute("SELECT count(*) FROM read_parquet(?)", [str(staging / file)]).fetchall()[0][0]
        kept = sum(e["kept"] for e in summary["tables"] if e["table"] == table)
        if written != kept:
            raise RuntimeError(f"{table}: wrote {written} rows but the report keeps {kept}")
    (staging / config.REPORT_FILE).write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by the complete ``staging`` folder.

    The old store is moved aside first and deleted only after the new one is in
    place; if the second rename fails, the old one is put back.
    """
    final = Path(final)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(staging, final)
    except OSError:
        if old.exists():
            os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)
