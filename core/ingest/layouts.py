"""The two official layouts of the BAAC yearly files, and the check of a file's header against them.

ONISR changed the files in 2019 (see its « Description des bases de données
annuelles des accidents corporels de la circulation routière », published with
the files on data.gouv.fr, dataset :data:`core.ingest.download.DATASET`): up to
2018 they are comma-separated (tab in a few years), unquoted, ASCII or Latin-1;
from 2019 they are ``;``-separated, every field quoted, UTF-8. The layout is
decided by the year in the file name, never sniffed from the data, so one odd
line cannot change how the others are read. Every column the store is built
from is required: a file without ``grav`` or ``dep`` would otherwise give a
store where every victim or department is unknown, and the ingest would look
successful.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.ingest.errors import IngestRefused

FIRST_YEAR_2019_LAYOUT = 2019
# Bytes read to find the header; a longer first line is not a BAAC header.
HEADER_LIMIT = 1 << 20
# Bytes that never occur in a text file (C0 controls other than tab, line feed
# and carriage return, and DEL): a header or a line holding one is binary data.
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOM = b"\xef\xbb\xbf"
# caract-2022.csv names its key Accident_Id; some older files write NUM_ACC.
_KEY_NAMES = {"num_acc": "Num_Acc", "accident_id": "Num_Acc"}
_SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "tabulation", "|": "« | »"}


@dataclass(frozen=True)
class Layout:
    """One official layout: how its files are written and the columns each must carry."""

    name: str
    delimiters: tuple[str, ...]
    encodings: tuple[str, ...]  # tried in order on the whole file
    required: Mapping[str, tuple[str, ...]]


PRE_2019 = Layout(
    name="avant 2019",
    delimiters=(",", "\t"),
    encodings=("utf-8", "latin-1"),
    required={
        "caracteristiques": ("Num_Acc", "an", "mois", "jour", "hrmn", "lum", "agg", "int", "atm", "col",
                             "com", "dep", "lat", "long"),
        "lieux": ("Num_Acc", "catr", "circ", "surf", "situ"),
        "usagers": ("Num_Acc", "num_veh", "place", "catu", "grav", "sexe", "an_nais", "trajet", "secu",
                    "locp", "actp", "etatp"),
        "vehicules": ("Num_Acc", "num_veh", "senc", "catv", "occutc", "obs", "obsm", "choc", "manv"),
    },
)
FROM_2019 = Layout(
    name="depuis 2019",
    delimiters=(";",),
    encodings=("utf-8",),
    required={
        "caracteristiques": ("Num_Acc", "jour", "mois", "an", "hrmn", "lum", "dep", "com", "agg", "int",
                             "atm", "col", "lat", "long"),
        "lieux": ("Num_Acc", "catr", "circ", "surf", "situ", "vma"),
        "usagers": ("Num_Acc", "id_vehicule", "num_veh", "place", "catu", "grav", "sexe", "an_nais",
                    "trajet", "secu1", "secu2", "secu3", "locp", "actp", "etatp"),
        "vehicules": ("Num_Acc", "id_vehicule", "num_veh", "senc", "catv", "obs", "obsm", "choc", "manv",
                      "motor", "occutc"),
    },
)


@dataclass(frozen=True)
class FileSchema:
    """What the header of one checked file says: its layout, separator and columns."""

    path: Path
    table: str  # caracteristiques, lieux, usagers or vehicules
    year: int
    layout: Layout
    delimiter: str
    columns: tuple[str, ...]  # in file order; the key is always spelt Num_Acc
    body_start: int  # offset of the first byte after the header line


# Published names: caracteristiques_2013.csv, caracteristiques-2021.csv,
# carcteristiques-2022.csv (sic), caract-2023.csv, lieux-2018.csv, usagers_2016.csv...
_FILE_NAME = re.compile(
    r"^(?P<table>car\w*?|lieux|vehicules|usagers)[-_ ]?(?P<year>(19|20)\d\d)\.(csv|txt)$",
    re.IGNORECASE,
)


def parse_file_name(name: str) -> tuple[str, int] | None:
    """(table, year) a published yearly file's name gives; None for any other name.

    The one definition of a BAAC yearly file name: the download fetches, and a
    folder source reads, exactly the files it matches.

    Examples
    --------
    >>> parse_file_name("carcteristiques-2022.csv"), parse_file_name("Usagers_2016.csv")
    (('caracteristiques', 2022), ('usagers', 2016))
    >>> parse_file_name("vehicules-immatricules-baac-2023.csv") is None
    True
    """
    match = _FILE_NAME.match(name)
    if not match:
        return None
    table = match["table"].lower()
    return "caracteristiques" if table.startswith("car") else table, int(match["year"])


def layout_for(year: int) -> Layout:
    """The official layout of files of ``year``.

    Examples
    --------
    >>> layout_for(2018).delimiters, layout_for(2021).delimiters
    ((',', '\\t'), (';',))
    """
    return FROM_2019 if year >= FIRST_YEAR_2019_LAYOUT else PRE_2019


def describe(layout: Layout, table: str) -> str:
    """The expected layout in words, for the messages."""
    separators = " ou ".join(_SEPARATOR_NAMES[d] for d in layout.delimiters)
    return f"disposition officielle {layout.name} des fichiers {table} (séparateur {separators})"


def read_schema(path: Path, table: str, year: int) -> FileSchema:
    """Check the header of one official file and return its schema.

    Raises
    ------
    IngestRefused
        When the file is empty, binary, not decodable, holds only its header,
        is separated by another character than its layout's, repeats a column
        or lacks a required one.

    Examples
    --------
    >>> from core import config
    >>> excerpt = config.ROOT / "tests" / "data" / "baac" / "2021-excerpt"
    >>> schema = read_schema(excerpt / "usagers-2021.csv", "usagers", 2021)
    >>> schema.delimiter, schema.columns[:3]
    (';', ('Num_Acc', 'id_vehicule', 'num_veh'))
    """
    layout = layout_for(year)
    with open(path, "rb") as handle:
        head = handle.read(HEADER_LIMIT)
        header_bytes, body_start, has_data = _split_header(head, handle, path)
    if CONTROL_BYTES.search(header_bytes):
        raise IngestRefused(f"{path} : fichier binaire (octets de contrôle dans la première ligne), "
                            f"{describe(layout, table)} attendue ; source refusée")
    header = _decode_header(header_bytes, layout, path, table)
    delimiter = _header_delimiter(header, layout, path, table)
    columns = tuple(_column_name(c) for c in header.split(delimiter))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise IngestRefused(f"{path} : colonne « {repeated[0]} » en double dans l'en-tête ; source refusée")
    missing = [c for c in layout.required[table] if c not in columns]
    if missing:
        names = ", ".join(f"« {c} »" for c in missing)
        what = "colonne obligatoire" if len(missing) == 1 else "colonnes obligatoires"
        raise IngestRefused(f"{path} : {what} {names} absente{'s' if len(missing) > 1 else ''} de l'en-tête "
                            f"({describe(layout, table)}) ; source refusée")
    if not has_data:
        raise IngestRefused(f"{path} : l'en-tête seul, aucune ligne de données ; source refusée")
    return FileSchema(path=path, table=table, year=year, layout=layout, delimiter=delimiter,
                      columns=columns, body_start=body_start)


def _split_header(head: bytes, handle: BinaryIO, path: Path) -> tuple[bytes, int, bool]:
    """(header line without BOM or line end, offset of the line after it, whether a non-blank byte follows)."""
    start = len(_BOM) if head.startswith(_BOM) else 0
    if not head[start:].strip():
        raise IngestRefused(f"{path} : fichier vide ; source refusée")
    end = head.find(b"\n", start)
    if end < 0 and len(head) == HEADER_LIMIT:
        raise IngestRefused(f"{path} : aucune fin de ligne dans le premier Mo, ce n'est pas un fichier BAAC ; "
                            "source refusée")
    if end < 0:
        return head[start:].rstrip(b"\r"), len(head), False
    rest = head[end + 1:]
    while not rest.strip() and (more := handle.read(HEADER_LIMIT)):
        rest = more
    return head[start:end].rstrip(b"\r"), end + 1, bool(rest.strip())


def _decode_header(header: bytes, layout: Layout, path: Path, table: str) -> str:
    for encoding in layout.encodings:
        try:
            return header.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestRefused(f"{path} : première ligne non décodable en {' ni en '.join(layout.encodings).upper()} "
                        f"(fichier binaire ou autre encodage ? {describe(layout, table)}) ; source refusée")


def _header_delimiter(header: str, layout: Layout, path: Path, table: str) -> str:
    """The layout's separator that the header uses; refuse a header written with another one."""
    used = [d for d in layout.delimiters if d in header]
    if used:
        return max(used, key=header.count)
    others = [d for d in _SEPARATOR_NAMES if d not in layout.delimiters and d in header]
    if others:
        found = max(others, key=header.count)
        raise IngestRefused(f"{path} : en-tête séparé par {_SEPARATOR_NAMES[found]}, {describe(layout, table)} "
                            "attendue ; source refusée")
    return layout.delimiters[0]  # a single column: the missing ones are named next


def _column_name(raw: str) -> str:
    name = raw.strip().strip('"').strip()
    return _KEY_NAMES.get(name.lower(), name.lower())
