"""Reader for folders of official BAAC yearly files, in both published layouts.

ONISR publishes four tables a year (see :mod:`core.ingest.layouts` for the two
layouts). A folder is checked whole before anything is read: every file's header
against its year's layout, and a ``caracteristiques`` file for every year. Then
each file is split line by line (:mod:`core.ingest.lines`), its unparseable lines
set aside with their number and text, and its rows staged as text; all value
rules live in the cleaner so both layouts get the same treatment.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from core.ingest.errors import IngestRefused
from core.ingest.layouts import FileSchema, parse_file_name, read_schema
from core.ingest.lines import ParsedLines, parse_lines
from core.ingest.raw import RAW_ACCIDENT_COLUMNS, RAW_USER_COLUMNS, RAW_VEHICLE_COLUMNS, select_list

# S608 (SQL built from strings) is silenced below where the SQL names only this module's temp tables and
# the column tuples of core.ingest.raw, never anything read from a file; values go as parameters.
_KEY_AT_START = r'^\s*"?(?P<key>\d{12})"?\s*(?:[;,|\t]|$)'
# A person listed again, identical, after rows of other accidents: the block was
# repeated. Identical people inside one accident's block are kept: the official
# files hold such rows (63 in 2019, most of them passengers) and ONISR counts them.
REPEATED_PERSON = "person repeated in a later block of its accident (exact copy, first kept)"


def discover(folder: Path) -> dict[int, dict[str, Path]]:
    """Find the yearly files under ``folder`` (recursively): year -> table -> path.

    Raises
    ------
    IngestRefused
        When ``folder`` does not exist, holds no recognisable BAAC file, or two
        files claim the same table and year.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestRefused(f"le dossier source {folder} n'existe pas")
    found: dict[int, dict[str, Path]] = {}
    for path in sorted(folder.rglob("*")):
        named = parse_file_name(path.name)
        if not named or not path.is_file():
            continue
        table, year = named
        if table in found.setdefault(year, {}):
            raise IngestRefused(f"deux fichiers {table} pour {year} : {found[year][table]} et {path} ; "
                                "source refusée")
        found[year][table] = path
    if not found:
        raise IngestRefused(f"aucun fichier BAAC annuel (caracteristiques-AAAA.csv, lieux-AAAA.csv, "
                            f"vehicules-AAAA.csv, usagers-AAAA.csv) dans {folder}")
    return dict(sorted(found.items()))


def check_folder(folder: Path) -> dict[int, dict[str, FileSchema]]:
    """Check every file of a folder source; year -> table -> checked schema.

    Raises
    ------
    IngestRefused
        At the first file that cannot be used (see
        :func:`core.ingest.layouts.read_schema`), or for a year without its
        ``caracteristiques`` file: its people and vehicles would have no date
        nor place, and the year would silently vanish from the store.
    """
    checked = {}
    for year, files in discover(folder).items():
        if "caracteristiques" not in files:
            present = ", ".join(sorted(files))
            raise IngestRefused(f"{folder} : pas de fichier caracteristiques pour {year} (seulement {present}) ; "
                                "source refusée")
        checked[year] = {table: read_schema(path, table, year) for table, path in files.items()}
    return checked


def load_year(
    con: duckdb.DuckDBPyConnection, year: int, files: dict[str, FileSchema], *, rank: int, label: str
) -> list[str]:
    """Stage one checked year into the raw tables; return warnings for the report (absent tables)."""
    warnings = _load_accidents(con, year, files, rank=rank, label=label)
    if "usagers" not in files:
        warnings.append(f"{year}: no usagers file, victim counts and severity are NULL")
    if "vehicules" not in files:
        warnings.append(f"{year}: no vehicules file, vehicle counts are NULL")
    for table, name, raw_table, columns in (
        ("usagers", "users", "raw_users", RAW_USER_COLUMNS),
        ("vehicules", "vehicles", "raw_vehicles", RAW_VEHICLE_COLUMNS),
    ):
        if table in files:
            _load_part(con, year, files[table], rank=rank, label=label, tbl=name, raw_table=raw_table,
                       columns=columns)
    for temp in ("y_carac", "y_lieux", "y_lieux_one", "y_part"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return warnings


def _load_accidents(
    con: duckdb.DuckDBPyConnection, year: int, files: dict[str, FileSchema], *, rank: int, label: str
) -> list[str]:
    """Stage a year's ``caracteristiques`` joined with its first ``lieux`` row per accident into ``raw_accidents``.

    Returns the warning for a year without ``lieux`` (its road columns are NULL).
    """
    warnings: list[str] = []
    _, carac_cols = _stage_file(con, files["caracteristiques"], "y_carac", RAW_ACCIDENT_COLUMNS, rank=rank,
                                label=label, tbl="accidents")
    lieux_cols: set[str] = set()
    if "lieux" in files:
        read, staged = _stage_file(con, files["lieux"], "y_lieux", RAW_ACCIDENT_COLUMNS, rank=rank, label=label,
                                   tbl="lieux")
        con.execute("INSERT INTO raw_read VALUES (?, ?, 'lieux', ?, ?)", [rank, label, year, read])
        lieux_cols = staged - {"Num_Acc"}
        _stage_lieux(con, rank=rank, label=label, year=year, name=files["lieux"].path.name)
    else:
        warnings.append(f"{year}: no lieux file, road columns (catr, circ, surf, situ, vma) are NULL")
    acc_select = []
    for c in RAW_ACCIDENT_COLUMNS:
        if c in carac_cols:
            acc_select.append(f'c."{c}"')
        elif c in lieux_cols:
            acc_select.append(f'l."{c}"')
        else:
            acc_select.append("CAST(NULL AS VARCHAR)")
    join = "LEFT JOIN y_lieux_one l USING (Num_Acc)" if lieux_cols else ""
    cols = ", ".join(f'"{c}"' for c in RAW_ACCIDENT_COLUMNS)
    con.execute(
        f"INSERT INTO raw_accidents (src_rank, src, {cols}, has_users, has_vehicles) "  # noqa: S608
        f"SELECT ?, ?, {', '.join(acc_select)}, ?, ? FROM y_carac c {join} ORDER BY c.line",
        [rank, label, "usagers" in files, "vehicules" in files],
    )
    return warnings


def _load_part(
    con: duckdb.DuckDBPyConnection, year: int, schema: FileSchema, *, rank: int, label: str, tbl: str,
    raw_table: str, columns: tuple[str, ...],
) -> None:
    """Stage a year's ``usagers`` or ``vehicules`` file into ``raw_table`` (people repeated in a block set aside)."""
    _, staged = _stage_file(con, schema, "y_part", columns, rank=rank, label=label, tbl=tbl,
                            with_record=tbl == "users")
    if tbl == "users":
        _reject_repeated_people(con, rank=rank, label=label, year=year, name=schema.path.name)
    cols = ", ".join(f'"{c}"' for c in columns)
    con.execute(
        f"INSERT INTO {raw_table} (src_rank, src, {cols}) "  # noqa: S608
        f"SELECT ?, ?, {select_list(columns, staged)} FROM y_part ORDER BY line",
        [rank, label],
    )


def _stage_file(
    con: duckdb.DuckDBPyConnection, schema: FileSchema, temp: str, wanted: tuple[str, ...], *,
    rank: int, label: str, tbl: str, with_record: bool = False,
) -> tuple[int, set[str]]:
    """Split one checked file into temp table ``temp``; its unparseable lines go to ``raw_rejects``.

    ``temp`` holds the ``wanted`` columns the file has, ``line`` (its line
    number) and, ``with_record``, ``record`` (every field of the line, for
    exact-copy checks). Column names come from ``wanted``, never from the file.
    Returns the number of data lines read and the names of ``temp``'s columns
    (those of ``schema.columns`` in ``wanted``, with ``line`` and ``record``).
    """
    parsed = parse_lines(schema.path.read_bytes()[schema.body_start:], n_fields=len(schema.columns),
                         delimiter=schema.delimiter, encodings=schema.layout.encodings)
    fields = parsed.fields
    columns = {name: fields.column(f"c{i}") for i, name in enumerate(schema.columns) if name in wanted}
    columns["line"] = fields.column("line")
    if with_record:
        every_field = (fields.column(f"c{i}") for i in range(len(schema.columns)))
        columns["record"] = pc.binary_join_element_wise(*every_field, pa.scalar("\x1f", pa.large_string()))
    con.register("parsed_arrow", pa.table(columns))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT * FROM parsed_arrow")  # noqa: S608
    con.unregister("parsed_arrow")
    _record_rejects(con, parsed, schema, rank=rank, label=label, tbl=tbl)
    return parsed.read, set(columns)


def _record_rejects(
    con: duckdb.DuckDBPyConnection, parsed: ParsedLines, schema: FileSchema, *, rank: int, label: str, tbl: str
) -> None:
    """Put a file's unparseable lines into ``raw_rejects``: ``file:line: cause: text``, and the key if readable."""
    rejects = parsed.rejects
    if not rejects.num_rows:
        return
    text = pa.large_string()
    detail = pc.binary_join_element_wise(
        pa.scalar(f"{schema.path.name}:", text), pc.cast(rejects.column("line"), text), pa.scalar(": ", text),
        rejects.column("cause"), pa.scalar(": ", text), rejects.column("text"), pa.scalar("", text),
    )
    # The accident key, when the line starts with one: its people and vehicles are then rejected with this reason.
    key = pc.struct_field(pc.extract_regex(rejects.column("text"), _KEY_AT_START), "key")
    con.register("rejects_arrow", pa.table({"Num_Acc": key, "detail": detail}))
    con.execute(
        "INSERT INTO raw_rejects SELECT ?, ?, ?, ?, Num_Acc, 'unparseable line', detail FROM rejects_arrow",
        [rank, label, tbl, schema.year],
    )
    con.unregister("rejects_arrow")


def _reject_repeated_people(
    con: duckdb.DuckDBPyConnection, *, rank: int, label: str, year: int, name: str
) -> None:
    """Set aside people listed again, identical, in a later block of their accident's rows.

    Official files list an accident's people together; a second block of the
    same accident that repeats people already listed is a repeated block (a file
    pasted twice, an export run twice), and counting it would double the victims.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE y_blocks AS
        SELECT line, Num_Acc, block > min(block) OVER (PARTITION BY record) AS repeated
        FROM (SELECT line, Num_Acc, record, sum(CAST(starts AS INTEGER)) OVER (ORDER BY line) AS block
              FROM (SELECT line, Num_Acc, record,
                           Num_Acc IS DISTINCT FROM lag(Num_Acc) OVER (ORDER BY line) AS starts FROM y_part))
        """
    )
    con.execute(
        "INSERT INTO raw_rejects SELECT ?, ?, 'users', ?, Num_Acc, ?, ? || ':' || line FROM y_blocks WHERE repeated",
        [rank, label, year, REPEATED_PERSON, name],
    )
    con.execute("DELETE FROM y_part WHERE line IN (SELECT line FROM y_blocks WHERE repeated)")
    con.execute("DROP TABLE y_blocks")


def _stage_lieux(con: duckdb.DuckDBPyConnection, *, rank: int, label: str, year: int, name: str) -> None:
    """Keep one lieux row per accident; the others are rejected with a reason."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE y_lieux_ranked AS
        SELECT l.*,
               row_number() OVER (PARTITION BY Num_Acc ORDER BY line) AS lieux_rank,
               Num_Acc IN (SELECT Num_Acc FROM y_carac) AS has_carac
        FROM y_lieux l
        """
    )
    con.execute(
        """
        INSERT INTO raw_rejects
        SELECT ?, ?, 'lieux', ?, Num_Acc,
               CASE WHEN NOT has_carac THEN 'no caracteristiques row for this key'
                    ELSE 'duplicate lieux row for this key (first kept)' END, ? || ':' || line
        FROM y_lieux_ranked WHERE lieux_rank > 1 OR NOT has_carac
        """,
        [rank, label, year, name],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE y_lieux_one AS "
        "SELECT * EXCLUDE (lieux_rank, has_carac) FROM y_lieux_ranked WHERE lieux_rank = 1 AND has_carac"
    )
    con.execute("DROP TABLE y_lieux_ranked")
