"""The export's three tables as people read them: accidents, their people and their vehicles, in French.

Why a module of its own
-----------------------
The store speaks BAAC (``lum = 3``, ``n_killed``); a file handed to an analyst
must stand on its own. Each table here has French headers, the official
label of :mod:`core.codebook` beside each BAAC code (« Lumière (code) »,
« Lumière »), dates and times as real dates and times, and counts instead of
nested lists. The same Arrow tables feed the workbook and the CSV files of
:mod:`core.explore.export`, so both say the same thing.

Labels are looked up once per distinct value (a few hundred at most) and
spread with ``pyarrow.compute.take``: the tables of 100,000 accidents are ready
in about a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from core import codebook, places
from core.accidents_table import SEVERITIES, USER_CATEGORIES, ExplorerStoreError, people_column, vehicle_columns
from core.explore.table import VEHICLE_SEPARATOR
from core.filters import AccidentFilter

#: Header of the accident identifier (BAAC ``Num_Acc``), first column of every table.
ACCIDENT_ID = "Identifiant de l'accident"
#: Header suffix of a code column, beside the column of its labels.
CODE_SUFFIX = " (code)"
#: The counts of an accident's people by severity: (header, store column), in reading order.
VICTIM_COUNTS = (("Tués", "n_killed"), ("Blessés hospitalisés", "n_hospitalised"), ("Blessés légers", "n_light"),
                 ("Indemnes", "n_unharmed"))
#: Vehicle groups counted per accident: (header, group of :data:`core.accidents_table.VEHICLE_BREAKDOWN_GROUPS`).
VEHICLE_GROUP_COUNTS = (("Vélos", "bicycle"), ("Deux-roues motorisés", "two_wheeler"),
                        ("Véhicules légers", "light_vehicle"), ("Poids lourds", "hgv"), ("Autres véhicules", "other"),
                        ("Véhicules de catégorie inconnue", "unknown"))


def _lookup(values: pa.Array | pa.ChunkedArray, name_of: Callable[[Any], str | None]) -> pa.Array:
    """``name_of`` applied to each value, computed once per distinct value (nulls included)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    names = pa.array([name_of(v) for v in distinct] + [name_of(None)], pa.string())
    return pc.take(names, pc.fill_null(encoded.indices, len(distinct)))


def code_labels(variable: str, codes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The official label of each code of a BAAC variable, as :func:`core.codebook.label` gives it.

    Examples
    --------
    >>> code_labels("lum", pa.array([3, None, 42], pa.int8())).to_pylist()
    ['Nuit sans éclairage public', 'Non renseigné', 'Code 42 inconnu']
    """
    return _lookup(codes, partial(codebook.label, variable))


def actp_labels(codes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Labels of the pedestrian's action (``actp``, text codes: digits, and letters from 2019).

    Examples
    --------
    >>> actp_labels(pa.array(["3", "A", None, "7"])).to_pylist()
    ['Traversant', 'Monte/descend du véhicule', 'Non renseigné', 'Code 7 inconnu']
    """
    def name(code: str | None) -> str:
        if code is None:
            return codebook.MISSING_LABEL
        return codebook.ACTP_LABELS.get(code, f"Code {code} inconnu")

    return _lookup(codes, name)


def department_names(codes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``'48'`` -> ``'Lozère'``; null for a missing code."""
    return _lookup(codes, lambda code: None if code is None else places.department_name(code))


def commune_names(codes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``'48039'`` -> ``'Chanac'``; null for a missing code or one the commune list does not hold."""
    return _lookup(codes, places.commune_name)


def weekday_names(weekdays: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``0`` -> ``'Lundi'``."""
    return _lookup(weekdays, lambda day: None if day is None else codebook.WEEKDAY_LABELS[day])


def vehicle_list_text(catv_lists: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each accident's vehicle categories in words, joined as :func:`core.explore.table.vehicles_text` joins them.

    Examples
    --------
    >>> vehicle_list_text(pa.array([[7, 33], []], pa.list_(pa.int8()))).to_pylist()
    ['VL seul, Motocyclette > 125 cm 3', '']
    """
    if isinstance(catv_lists, pa.ChunkedArray):
        catv_lists = catv_lists.combine_chunks()
    offsets = pc.subtract(catv_lists.offsets, catv_lists.offsets[0])
    labels = pa.ListArray.from_arrays(offsets, code_labels("catv", pc.list_flatten(catv_lists)),
                                      mask=catv_lists.is_null())
    return pc.binary_join(labels, VEHICLE_SEPARATOR)


def yes_no(flags: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``True`` -> ``'Oui'``, ``False`` -> ``'Non'``: a word reads the same in every spreadsheet."""
    return _lookup(flags, lambda flag: None if flag is None else ("Oui" if flag else "Non"))


@dataclass(frozen=True)
class Column:
    """A column of an exported table: its header, the query column it shows, and how to name its values.

    With ``labels``, the values are codes: the table gets ``header (code)``
    then ``header`` with the labels (see :func:`columns_of`).
    """

    header: str
    source: str
    labels: Callable[[pa.Array], pa.Array] | None = None
    code_column: bool = True


def _coded(header: str, variable: str, source: str | None = None) -> Column:
    return Column(header, source or variable, partial(code_labels, variable))


def columns_of(result: pa.Table, columns: Sequence[Column]) -> pa.Table:
    """The exported table: each :class:`Column` of ``result``, its code then its label where it has labels."""
    names, arrays = [], []
    for column in columns:
        values = result.column(column.source)
        if column.labels is None:
            names.append(column.header)
            arrays.append(values)
            continue
        if column.code_column:
            names.append(column.header + CODE_SUFFIX)
            arrays.append(values)
        names.append(column.header)
        arrays.append(column.labels(values))
    return pa.table(arrays, names=names)


# --------------------------------------------------------------------------- #
# The three tables
# --------------------------------------------------------------------------- #

_PEOPLE_OF = {catu: " + ".join(people_column(catu, grav) for grav in SEVERITIES) for catu in USER_CATEGORIES}

ACCIDENT_COLUMNS: tuple[Column, ...] = (
    Column(ACCIDENT_ID, "acc_id"),
    Column("Date", "date"),
    Column("Heure", "time"),
    Column("Jour de la semaine", "weekday", weekday_names, code_column=False),
    Column("Département", "dep", department_names),
    Column("Commune", "com", commune_names),
    *(Column(header, source) for header, source in VICTIM_COUNTS),
    Column("Accident grave (tué ou blessé hospitalisé)", "severe", yes_no, code_column=False),
    Column("Usagers", "n_users"),
    Column("Conducteurs", "drivers"),
    Column("Passagers", "passengers"),
    Column("Piétons", "pedestrians"),
    Column("Véhicules", "n_vehicles"),
    Column("Catégories des véhicules", "catv_list", vehicle_list_text, code_column=False),
    *(Column(header, vehicle_columns(group)[0]) for header, group in VEHICLE_GROUP_COUNTS),
    _coded("Lumière", "lum"),
    _coded("Localisation", "agg"),
    _coded("Intersection", "int"),
    _coded("Conditions atmosphériques", "atm"),
    _coded("Type de collision", "col"),
    _coded("Catégorie de route", "catr"),
    _coded("Régime de circulation", "circ"),
    _coded("État de la surface", "surf"),
    _coded("Situation de l'accident", "situ"),
    Column("Vitesse maximale autorisée (km/h)", "vma"),
    Column("Latitude", "lat"),
    Column("Longitude", "lon"),
)

PERSON_COLUMNS: tuple[Column, ...] = (
    Column(ACCIDENT_ID, "acc_id"),
    Column("Date", "date"),
    Column("Véhicule", "veh"),
    _coded("Catégorie du véhicule", "catv"),
    _coded("Catégorie d'usager", "catu"),
    _coded("Gravité de blessure", "grav"),
    _coded("Sexe", "sexe"),
    Column("Année de naissance", "birth_year"),
    Column("Âge (année de l'accident moins année de naissance)", "age"),
    _coded("Motif du déplacement", "trajet"),
    *(_coded(f"Équipement de sécurité {n}", f"secu{n}") for n in (1, 2, 3)),
    Column("Équipement de sécurité avant 2019 (code à deux chiffres)", "secu_pre2019"),
    _coded("Localisation du piéton", "locp"),
    Column("Action du piéton", "actp", actp_labels),
    _coded("Piéton seul ou non", "etatp"),
)

VEHICLE_COLUMNS: tuple[Column, ...] = (
    Column(ACCIDENT_ID, "acc_id"),
    Column("Date", "date"),
    Column("Véhicule", "veh"),
    _coded("Catégorie du véhicule", "catv"),
    _coded("Obstacle fixe heurté", "obs"),
    _coded("Obstacle mobile heurté", "obsm"),
    _coded("Point de choc initial", "choc"),
    _coded("Manœuvre principale avant l'accident", "manv"),
    _coded("Sens de circulation", "senc"),
    _coded("Type de motorisation", "motor"),
    Column("Nombre d'occupants dans le transport en commun", "occutc"),
    Column("Usagers rattachés (piétons heurtés compris)", "n_users"),
    *(Column(header, source) for header, source in VICTIM_COUNTS),
)

# The SQL below splices the filter's own WHERE clause (values as parameters) and column names built from the
# constants of core.accidents_table: hence the S608 exemptions.
_ACCIDENTS_SQL = """
    SELECT acc_id, make_date(year, month, day) AS date, make_time(hour, minute, 0) AS time, weekday, dep, com,
        {victims}, severe, n_users, {drivers} AS drivers, {passengers} AS passengers, {pedestrians} AS pedestrians,
        n_vehicles, catv_list, {vehicle_groups}, lum, agg, "int", atm, col, catr, circ, surf, situ, vma, lat, lon
    FROM accidents WHERE {where} ORDER BY acc_id
"""
_CHOSEN = "chosen AS (SELECT acc_id, year, month, day FROM accidents WHERE {where})"
_PEOPLE_SQL = """
    WITH {chosen}
    SELECT u.acc_id, make_date(c.year, c.month, c.day) AS date, u.veh, v.catv, u.catu, u.grav, u.sexe, u.birth_year,
        c.year - u.birth_year AS age, u.trajet, u.secu1, u.secu2, u.secu3, u.secu_pre2019, u.locp, u.actp, u.etatp
    FROM chosen c JOIN users u USING (acc_id) LEFT JOIN vehicles v ON v.acc_id = u.acc_id AND v.veh = u.veh
    ORDER BY u.acc_id, u.veh NULLS LAST, u.catu, u.grav, u.sexe, u.birth_year
"""
_VEHICLES_SQL = """
    WITH {chosen},
    attached AS (
        SELECT acc_id, veh, CAST(count(*) AS INTEGER) AS n_users,
            CAST(count_if(grav = ?) AS INTEGER) AS n_killed, CAST(count_if(grav = ?) AS INTEGER) AS n_hospitalised,
            CAST(count_if(grav = ?) AS INTEGER) AS n_light, CAST(count_if(grav = ?) AS INTEGER) AS n_unharmed
        FROM users SEMI JOIN chosen USING (acc_id) GROUP BY acc_id, veh
    )
    SELECT v.acc_id, make_date(c.year, c.month, c.day) AS date, v.veh, v.catv, v.obs, v.obsm, v.choc, v.manv, v.senc,
        v.motor, v.occutc, {attached}
    FROM chosen c JOIN vehicles v USING (acc_id) LEFT JOIN attached a ON a.acc_id = v.acc_id AND a.veh = v.veh
    ORDER BY v.acc_id, v.veh
"""
_ATTACHED = ("n_users", *(source for _, source in VICTIM_COUNTS))
_SEVERITY_CODES = [codebook.GRAV_KILLED, codebook.GRAV_HOSPITALISED, codebook.GRAV_LIGHT, codebook.GRAV_UNHARMED]


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pa.Table:
    cursor = con.cursor()
    try:
        return cursor.sql(sql, params=params).to_arrow_table()
    except duckdb.CatalogException as error:
        raise ExplorerStoreError(f"The store lacks a column of the export ({error}); rebuild it.") from error
    finally:
        cursor.close()


def accident_table(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> pa.Table:
    """One row per accident of the filter, by identifier, with French headers (:data:`ACCIDENT_COLUMNS`).

    Examples
    --------
    >>> chanac = AccidentFilter(deps=("48",), years=(2020, 2020), months=(1,), outcome="fatal")
    >>> row = accident_table(con, chanac).to_pylist()[0]
    >>> row["Date"], row["Heure"], row["Commune"], row["Lumière (code)"], row["Lumière"], row["Tués"]
    (datetime.date(2020, 1, 30), datetime.time(18, 25), 'Chanac', 5, 'Nuit avec éclairage public allumé', 1)
    """
    where, params = accident_filter.to_sql(bits=True)
    sql = _ACCIDENTS_SQL.format(
        where=where,
        victims=", ".join(source for _, source in VICTIM_COUNTS),
        drivers=_PEOPLE_OF[1], passengers=_PEOPLE_OF[2], pedestrians=_PEOPLE_OF[codebook.PEDESTRIAN_CATU],
        vehicle_groups=", ".join(vehicle_columns(group)[0] for _, group in VEHICLE_GROUP_COUNTS),
    )
    return columns_of(_fetch(con, sql, params), ACCIDENT_COLUMNS)


def person_table(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> pa.Table:
    """One row per person of the filter's accidents (:data:`PERSON_COLUMNS`), by accident and vehicle."""
    where, params = accident_filter.to_sql(bits=True)
    sql = _PEOPLE_SQL.format(chosen=_CHOSEN.format(where=where))
    return columns_of(_fetch(con, sql, params), PERSON_COLUMNS)


def vehicle_table(con: duckdb.DuckDBPyConnection, accident_filter: AccidentFilter) -> pa.Table:
    """One row per vehicle of the filter's accidents (:data:`VEHICLE_COLUMNS`), with the people attached to it."""
    where, params = accident_filter.to_sql(bits=True)
    attached = ", ".join(f"coalesce(a.{name}, 0) AS {name}" for name in _ATTACHED)
    sql = _VEHICLES_SQL.format(chosen=_CHOSEN.format(where=where), attached=attached)
    return columns_of(_fetch(con, sql, [*params, *_SEVERITY_CODES]), VEHICLE_COLUMNS)
