"""Reader for folders of official BAAC yearly files, in both published layouts.

ONISR publishes four tables a year. Up to 2018 they are comma-separated (tab in a
few years), unquoted, ASCII or Latin-1; from 2019 they are ``;``-separated with
every field quoted, UTF-8, decimal commas and ``" -1"`` for unknown. The reader
sniffs separator and encoding per file, lets DuckDB parse it (lines it cannot
parse are kept aside with their text), and stages the rows as text; all value
rules live in the cleaner so both layouts get the same treatment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.ingest.raw import (
    RAW_ACCIDENT_COLUMNS,
    RAW_USER_COLUMNS,
    RAW_VEHICLE_COLUMNS,
    select_list,
)

# Published names: caracteristiques_2013.csv, caracteristiques-2021.csv,
# carcteristiques-2022.csv (sic), caract-2023.csv, lieux-2018.csv, usagers_2016.csv...
_FILE_PATTERN = re.compile(
    r"^(?P<table>car\w*?|lieux|vehicules|usagers)[-_ ]?(?P<year>(19|20)\d\d)\.(csv|txt)$",
    re.IGNORECASE,
)
TABLES = ("caracteristiques", "lieux", "vehicules", "usagers")


@dataclass(frozen=True)
class YearFiles:
    """The official files of one year found in a folder (absent tables are None)."""

    year: int
    caracteristiques: Path | None = None
    lieux: Path | None = None
    vehicules: Path | None = None
    usagers: Path | None = None


def discover(folder: Path) -> dict[int, YearFiles]:
    """Find the yearly files under ``folder`` (recursively), grouped by year.

    Raises
    ------
    FileNotFoundError
        When ``folder`` does not exist or holds no recognisable BAAC file.
    ValueError
        When two files claim the same table and year.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"source folder {folder} does not exist")
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(folder.rglob("*")):
        match = _FILE_PATTERN.match(path.name)
        if not match or not path.is_file():
            continue
        table = match["table"].lower()
        table = "caracteristiques" if table.startswith("car") else table
        year = int(match["year"])
        if table in found.setdefault(year, {}):
            raise ValueError(f"two {table} files for {year}: {found[year][table]} and {path}")
        found[year][table] = path
    if not found:
        raise FileNotFoundError(
            f"no BAAC yearly file (caracteristiques-YYYY.csv, lieux-YYYY.csv, vehicules-YYYY.csv, "
            f"usagers-YYYY.csv) found in {folder}"
        )
    return {year: YearFiles(year=year, **tables) for year, tables in sorted(found.items())}


def sniff(path: Path) -> tuple[str, str]:
    """Return (delimiter, encoding) of an official file from its bytes.

    The encoding is UTF-8 when the whole file decodes strictly, else Latin-1
    (``caracteristiques_2013.csv`` is Latin-1). The delimiter is the most frequent
    of ``;``, ``,`` and tab in the header line.
    """
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    header = raw.split(b"\n", 1)[0].decode(encoding)
    delimiter = max((";", ",", "\t"), key=header.count)
    return delimiter, encoding


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> set[str]:
    """Parse one file into temp table ``table``; rejected lines go to ``csv_rejects``.

    Returns the set of column names the file's header carries.
    """
    delimiter, encoding = sniff(path)
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(
        f"""
        CREATE TEMP TABLE {table} AS SELECT * FROM read_csv(?, all_varchar=true, header=true,
            delim=?, quote='"', encoding=?, store_rejects=true,
            rejects_table='csv_reject_errors', rejects_scan='csv_reject_scans')
        """,
        [str(path), delimiter, encoding],
    )
    columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    # Older files may spell the key in another case; make it Num_Acc.
    for name in columns:
        if name.lower() == "num_acc" and name != "Num_Acc":
            con.execute(f'ALTER TABLE {table} RENAME COLUMN "{name}" TO Num_Acc')
            columns = (columns - {name}) | {"Num_Acc"}
    if "Num_Acc" not in columns:
        raise ValueError(f"{path}: no Num_Acc column in header; is this a BAAC file?")
    return columns


def _record_csv_rejects(
    con: duckdb.DuckDBPyConnection, *, rank: int, label: str, table: str, year: int, path: Path
) -> int:
    """Move the lines DuckDB could not parse into ``raw_rejects``; return how many."""
    # DuckDB may report several errors for one line: one reject per line.
    rows = con.execute(
        "SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, ', '), "
        "min(error_message) FROM csv_reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    for line, csv_line, error_type, message in rows:
        key = (csv_line or "").split(";" if ";" in (csv_line or "") else ",", 1)[0].strip().strip('"') or None
        con.execute(
            "INSERT INTO raw_rejects VALUES (?, ?, ?, ?, ?, 'unparseable line', ?)",
            [rank, label, table, year, key, f"{path.name}:{line}: {error_type}: {message}: {csv_line}"],
        )
    con.execute("DELETE FROM csv_reject_errors")
    con.execute("DELETE FROM csv_reject_scans")
    return len(rows)


def load_year(
    con: duckdb.DuckDBPyConnection, files: YearFiles, *, rank: int, label: str
) -> list[str]:
    """Stage one year's official files into the raw tables.

    Returns warnings for the report (missing tables). A year without a
    ``caracteristiques`` file is not staged: accidents need their date and place.
    """
    warnings: list[str] = []
    if files.caracteristiques is None:
        present = [t for t in TABLES if getattr(files, t) is not None]
        return [f"{files.year}: no caracteristiques file, year skipped (found only {', '.join(present)})"]
    carac_cols = _read_file(con, files.caracteristiques, "y_carac")
    _record_csv_rejects(con, rank=rank, label=label, table="accidents", year=files.year, path=files.caracteristiques)
    carac_only = [c for c in RAW_ACCIDENT_COLUMNS if c in carac_cols]
    lieux_cols: set[str] = set()
    if files.lieux is not None:
        lieux_cols = _read_file(con, files.lieux, "y_lieux")
        _count_read(con, rank, label, "lieux", files.year, "y_lieux", files.lieux)
        _stage_lieux(con, rank=rank, label=label, year=files.year)
    else:
        warnings.append(f"{files.year}: no lieux file, road columns (catr, circ, surf, situ, vma) are NULL")
    acc_select = []
    for c in RAW_ACCIDENT_COLUMNS:
        if c in carac_only:
            acc_select.append(f'CAST(c."{c}" AS VARCHAR)')
        elif c in lieux_cols:
            acc_select.append(f'CAST(l."{c}" AS VARCHAR)')
        else:
            acc_select.append("CAST(NULL AS VARCHAR)")
    join = "LEFT JOIN y_lieux_one l USING (Num_Acc)" if lieux_cols else ""
    cols = ", ".join(f'"{c}"' for c in RAW_ACCIDENT_COLUMNS)
    con.execute(
        f"INSERT INTO raw_accidents (src_rank, src, {cols}, has_users, has_vehicles) "
        f"SELECT ?, ?, {', '.join(acc_select)}, ?, ? FROM y_carac c {join}",
        [rank, label, files.usagers is not None, files.vehicules is not None],
    )
    if files.usagers is None:
        warnings.append(f"{files.year}: no usagers file, victim counts and severity are NULL")
    for path, name, table, columns in (
        (files.usagers, "users", "raw_users", RAW_USER_COLUMNS),
        (files.vehicules, "vehicles", "raw_vehicles", RAW_VEHICLE_COLUMNS),
    ):
        if path is None:
            if name == "vehicles":
                warnings.append(f"{files.year}: no vehicules file, vehicle counts are NULL")
            continue
        available = _read_file(con, path, "y_part")
        _record_csv_rejects(con, rank=rank, label=label, table=name, year=files.year, path=path)
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(
            f"INSERT INTO {table} (src_rank, src, {cols}) SELECT ?, ?, {select_list(columns, available)} FROM y_part",
            [rank, label],
        )
    for temp in ("y_carac", "y_lieux", "y_lieux_one", "y_part"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return warnings


def _count_read(
    con: duckdb.DuckDBPyConnection, rank: int, label: str, tbl: str, year: int, temp: str, path: Path
) -> None:
    """Record how many data lines a file had: parsed rows plus unparseable lines."""
    bad = _record_csv_rejects(con, rank=rank, label=label, table=tbl, year=year, path=path)
    parsed = con.execute(f"SELECT count(*) FROM {temp}").fetchall()[0][0]
    con.execute("INSERT INTO raw_read VALUES (?, ?, ?, ?, ?)", [rank, label, tbl, year, parsed + bad])


def _stage_lieux(con: duckdb.DuckDBPyConnection, *, rank: int, label: str, year: int) -> None:
    """Keep one lieux row per accident; the others are rejected with a reason."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE y_lieux_ranked AS
        SELECT l.* EXCLUDE (file_order),
               row_number() OVER (PARTITION BY Num_Acc ORDER BY file_order) AS lieux_rank,
               Num_Acc IN (SELECT Num_Acc FROM y_carac) AS has_carac
        FROM (SELECT *, row_number() OVER () AS file_order FROM y_lieux) l
        """
    )
    con.execute(
        """
        INSERT INTO raw_rejects
        SELECT ?, ?, 'lieux', ?, Num_Acc,
               CASE WHEN NOT has_carac THEN 'no caracteristiques row for this key'
                    ELSE 'duplicate lieux row for this key (first kept)' END, NULL
        FROM y_lieux_ranked WHERE lieux_rank > 1 OR NOT has_carac
        """,
        [rank, label, year],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE y_lieux_one AS "
        "SELECT * EXCLUDE (lieux_rank, has_carac) FROM y_lieux_ranked WHERE lieux_rank = 1 AND has_carac"
    )
    con.execute("DROP TABLE y_lieux_ranked")
