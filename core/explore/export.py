"""The filter's accidents as files: an Excel workbook and CSV files for people, Parquet for programs.

Files for people (:data:`EXPORT_FILES` ``xlsx`` and ``csv``) hold the three
tables of :mod:`core.explore.export_tables` (accidents, people, vehicles: French
headers, each BAAC code beside its official label, real dates) and say what
they hold: the filter in words (:func:`core.filter_text.filter_items`), the
source, the date of the export and the counts.

- The workbook has the sheets « Accidents », « Usagers », « Véhicules » and
  « Filtres ».
- The CSV files come in a ZIP with ``filtres.txt`` beside them: lines of
  filter text above a CSV header break every CSV reader, and a separate file
  cannot get lost on the way if it travels in the same archive. They are
  written as French Excel reads them: ``;`` between fields, decimal commas,
  dates ``dd/mm/yyyy``, UTF-8 with a byte-order mark.

The Parquet file is for programs (pandas, R, DuckDB): one row per accident,
its people and vehicles as lists, the store's English column names and raw
BAAC codes; the filter in words is in its metadata.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core import config
from core.accidents_table import IDENTIFIER, ExplorerStoreError, explorer_columns
from core.codebook import HOSPITALISED_NOT_COMPARABLE
from core.explore.counts import figures
from core.explore.export_tables import accident_table, person_table, vehicle_table
from core.explore.workbook import NoteRow, workbook_bytes
from core.filter_text import filter_items
from core.filters import AccidentFilter
from core.formatting import format_count
from core.place_data import FRENCH_TIME

EXPORT_LIMIT = 100_000
#: Where the data comes from, written in every file for people.
SOURCE = ("ONISR, Bases de données annuelles des accidents corporels de la circulation routière (BAAC), "
          "data.gouv.fr, Licence Ouverte / Etalab")
#: The three tables of the files for people: sheet name, CSV file name.
SHEETS = (("Accidents", "accidents.csv"), ("Usagers", "usagers.csv"), ("Véhicules", "vehicules.csv"))
NOTES_SHEET = "Filtres"
NOTES_FILE = "filtres.txt"
#: H3 cells serve the risk map; exports leave them out.
_H3_COLUMNS = tuple(f"h3_{r}" for r in config.H3_RESOLUTIONS)
_BOM = "\ufeff".encode()


@dataclass(frozen=True)
class ExportFile:
    """A downloadable file: the button's words, the file's name and its media type."""

    label: str
    file_name: str
    mime: str


EXPORT_FILES: dict[str, ExportFile] = {
    "xlsx": ExportFile("Télécharger (Excel)", "accidents.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ExportFile("Télécharger (CSV, ZIP)", "accidents-csv.zip", "application/zip"),
    "parquet": ExportFile("Télécharger (Parquet)", "accidents.parquet", "application/vnd.apache.parquet"),
}
EXPORT_FORMATS = tuple(EXPORT_FILES)


class ExportTooLargeError(ValueError):
    """More accidents match than an export may hold; the message gives both counts."""


# --------------------------------------------------------------------------- #
# What the files say about themselves
# --------------------------------------------------------------------------- #


def export_notes(accident_filter: AccidentFilter, counts: Sequence[tuple[str, int]], *, data_years: tuple[int, int],
                 exported_at: dt.datetime) -> list[NoteRow]:
    """The « Filtres » sheet: source, date, ``counts`` (label, number), the filter in words, and how to read.

    A label with a None value is a heading; ``("", None)`` a blank line.

    Examples
    --------
    >>> notes = export_notes(AccidentFilter(deps=("48",)), [("Accidents", 1238)], data_years=(2005, 2020),
    ...                      exported_at=dt.datetime(2025, 3, 1, 9, 30))
    >>> notes[3:6]
    [("Date de l'export", datetime.datetime(2025, 3, 1, 9, 30)), ('Accidents', 1238), ('', None)]
    >>> notes[7:10]
    [('Années', '2005–2020'), ('Régions', 'toutes'), ('Départements', '48 – Lozère')]
    """
    filters = filter_items(accident_filter, data_years=data_years, all_fields=True)
    return [
        ("Export des accidents corporels (Gravité)", None),
        ("Source", SOURCE),
        ("Années de la base", f"{data_years[0]}–{data_years[1]}"),
        ("Date de l'export", exported_at),
        *counts,
        ("", None),
        ("Filtres", None),
        *filters,
        ("", None),
        ("Lecture", None),
        ("Codes", "Codes BAAC de la description officielle (ONISR), leur libellé officiel à côté ; « Non renseigné » "
                  "ou cellule vide : information absente."),
        ("Piétons", "Rattachés au véhicule qui les a heurtés (feuille « Véhicules », « Usagers rattachés »)."),
        ("Accident grave", "Au moins un tué ou un blessé hospitalisé."),
        ("Blessés hospitalisés", HOSPITALISED_NOT_COMPARABLE),
        ("Coordonnées", "Latitude et longitude WGS84, vides quand absentes ou impossibles (rares avant 2016)."),
    ]


def notes_text(notes: Sequence[NoteRow]) -> str:
    """The notes as a text file: ``Label : value`` lines, headings on their own line, counts with spaces.

    Examples
    --------
    >>> notes_text([("Filtres", None), ("Lumière", "Plein jour"), ("", None), ("Accidents", 1238)])
    'Filtres\\nLumière : Plein jour\\n\\nAccidents : 1\\u202f238\\n'
    """
    lines = []
    for label, value in notes:
        if value is None:
            lines.append(label)
        elif isinstance(value, dt.datetime):
            lines.append(f"{label} : {value:%d/%m/%Y %H:%M}")
        elif isinstance(value, int):
            lines.append(f"{label} : {format_count(value)}")
        else:
            lines.append(f"{label} : {value}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# CSV as French Excel reads it
# --------------------------------------------------------------------------- #


def _strftime_distinct(values: pa.Array, pattern: str) -> pa.Array:
    """``strftime`` of each distinct value, spread by ``take``: a few thousand dates stand for 200,000 rows."""
    encoded = pc.dictionary_encode(values)
    return pc.take(pc.strftime(encoded.dictionary, pattern), encoded.indices)


def _csv_values(values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column as the CSV writes it: dates ``dd/mm/yyyy``, times ``hh:mm``, decimal commas."""
    kind = values.type
    if pa.types.is_date(kind):
        return _strftime_distinct(values.combine_chunks().cast(pa.timestamp("s")), "%d/%m/%Y")
    if pa.types.is_time(kind):
        microseconds = values.combine_chunks().cast(pa.time64("us")).cast(pa.int64())
        return _strftime_distinct(microseconds.cast(pa.timestamp("us")), "%H:%M")
    if pa.types.is_floating(kind):
        return pc.replace_substring(values.cast(pa.string()), ".", ",")
    return values


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as a CSV file for French Excel: ``;``-separated, decimal commas, UTF-8 with a byte-order mark.

    Examples
    --------
    >>> csv_bytes(pa.table({"Latitude": [44.46], "Date": [dt.date(2020, 1, 30)]})).decode("utf-8-sig")
    '"Latitude";"Date"\\n"44,46";"30/01/2020"\\n'
    """
    written = pa.table([_csv_values(values) for values in table.columns], names=table.column_names)
    buffer = io.BytesIO()
    buffer.write(_BOM)
    pa_csv.write_csv(written, buffer, pa_csv.WriteOptions(delimiter=";"))
    return buffer.getvalue()


def csv_zip_bytes(tables: Sequence[pa.Table], notes: Sequence[NoteRow]) -> bytes:
    """The ZIP of ``accidents.csv``, ``usagers.csv``, ``vehicules.csv`` and ``filtres.txt``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for (_, file_name), table in zip(SHEETS, tables, strict=True):
            archive.writestr(file_name, csv_bytes(table))
        archive.writestr(NOTES_FILE, _BOM + notes_text(notes).encode("utf-8"))
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# Parquet for programs
# --------------------------------------------------------------------------- #


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
    """SQL of the Parquet export: one row per accident, its users (``usagers``) and vehicles (``vehicules``) as lists.

    The accident columns are those of the ``accidents`` table (H3 cells and
    explorer columns aside); each user and vehicle keeps every column of its table.
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


def parquet_bytes(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, notes: Sequence[NoteRow]) -> bytes:
    """The Parquet file: :func:`export_query`'s rows, with the notes (filter in words) in its metadata."""
    sql, params = export_query(con, accident_filter)
    cursor = con.cursor()
    try:
        table = cursor.sql(sql, params=params).to_arrow_table()
    finally:
        cursor.close()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"gravite_filtres": notes_text(notes)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# The export
# --------------------------------------------------------------------------- #


def export_accidents(
    con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter, *, file_format: str,
    data_years: tuple[int, int], limit: int = EXPORT_LIMIT, exported_at: dt.datetime | None = None,
) -> bytes:
    """The filter's accidents with their people and vehicles, as one file of :data:`EXPORT_FORMATS`.

    Parameters
    ----------
    file_format
        ``xlsx`` (workbook), ``csv`` (ZIP of CSV files and ``filtres.txt``)
        or ``parquet``.
    data_years
        First and last year of the store, for the filter in words.
    exported_at
        The date written in the files; now, in Paris, by default.

    Raises
    ------
    ExportTooLargeError
        When more than ``limit`` accidents match.
    ValueError
        For another format.
    """
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"file_format must be one of {EXPORT_FORMATS}, got {file_format!r}")
    found = figures(con, accident_filter)
    if found.accidents > limit:
        raise ExportTooLargeError(f"{found.accidents} accidents match; an export holds at most {limit}")
    when = (exported_at or dt.datetime.now(FRENCH_TIME)).replace(tzinfo=None, microsecond=0)
    victims = [("Tués", found.killed), ("Blessés hospitalisés", found.hospitalised), ("Blessés légers", found.light)]
    if file_format == "parquet":
        notes = export_notes(accident_filter, [("Accidents", found.accidents), *victims], data_years=data_years,
                             exported_at=when)
        return parquet_bytes(con, accident_filter, notes)
    tables = [accident_table(con, accident_filter), person_table(con, accident_filter),
              vehicle_table(con, accident_filter)]
    counts = [(name, table.num_rows) for (name, _), table in zip(SHEETS, tables, strict=True)]
    notes = export_notes(accident_filter, [*counts, *victims], data_years=data_years, exported_at=when)
    if file_format == "csv":
        return csv_zip_bytes(tables, notes)
    return workbook_bytes([(sheet, table) for (sheet, _), table in zip(SHEETS, tables, strict=True)],
                          notes_sheet=NOTES_SHEET, notes=notes,
                          properties={"title": "Accidents corporels (BAAC)", "comments": SOURCE})


def export_summary(accidents: int) -> str:
    """What the files hold, for ``accidents`` matching accidents (markdown).

    Examples
    --------
    >>> export_summary(1238).splitlines()[0]
    '1\\u202f238 accidents, avec leurs usagers et leurs véhicules.'
    """
    return (
        f"{format_count(accidents)} accidents, avec leurs usagers et leurs véhicules.\n\n"
        "- **Excel** : feuilles « Accidents » (une ligne par accident), « Usagers », « Véhicules » et « Filtres » "
        "(les filtres en clair, la source, la date de l'export et les effectifs) ; chaque code BAAC a son libellé "
        "officiel à côté.\n"
        "- **CSV** : les mêmes tableaux dans un ZIP (`accidents.csv`, `usagers.csv`, `vehicules.csv`, "
        "séparateur « ; », virgule décimale, UTF-8) avec `filtres.txt`.\n"
        "- **Parquet** : format machine (Python, R, DuckDB) : une ligne par accident, usagers et véhicules en "
        "listes, noms de colonnes anglais et codes BAAC bruts de la base."
    )


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
