"""Cleaning: one set of rules turning the staged text rows into the store's tables.

Every row read ends up either kept or rejected with a reason (``read = kept +
rejected`` per source, table and year). Field-level problems (an unknown code, an
impossible time or coordinate) do not reject the accident: the field becomes
NULL, or is fixed when the fix is unambiguous, and the report counts it.

Layouts differ by year, not by source: before 2019 ``an`` has two digits, ``hrmn``
is ``HHMM``, ``lat``/``long`` are integers in 1e-5 degrees and ``dep`` is the
department code followed by ``0``; from 2019 ``hrmn`` is ``HH:MM``, coordinates
use a decimal comma and ``dep``/``com`` are INSEE codes.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from core import codebook, config, h3cells, places

ACCIDENT_CODES = ("lum", "agg", "int", "atm", "col", "catr", "circ", "surf", "situ")
USER_CODES = ("catu", "grav", "sexe", "trajet", "locp", "etatp")
VEHICLE_CODES = ("catv", "obs", "obsm", "choc", "manv", "senc", "motor")

# A point more than this many degrees outside its department's bounding box is
# "far outside" (about 11 km in latitude): geocoding noise near a border stays.
BBOX_MARGIN_DEG = 0.1
FIRST_BIRTH_YEAR = 1900
# The reject reason of an accident whose year a later source gives again (the last source wins).
YEAR_REPLACED = "year replaced by a later source"

# DuckDB's cast to DOUBLE ignores surrounding spaces and gives NULL for an empty text, so no trim is
# needed (trimming first doubled the cost of this, the most repeated expression of the ingest).
_INT = "TRY_CAST(TRY_CAST({c} AS DOUBLE) AS INTEGER)"
# S608 (SQL built from strings) is silenced below where the SQL is assembled from this module's fragments
# and column names (the tuples above), never from the data; values go as parameters.


def _int(column: str) -> str:
    return _INT.format(c=f'"{column}"')


def _parse_code(column: str) -> str:
    """Select items parsing a code column once: ``{c}_i`` (integer) and ``{c}_text`` (text unreadable)."""
    raw = _int(column)
    return f"{raw} AS {column}_i, coalesce({raw} IS NULL AND trim(\"{column}\") <> '', false) AS {column}_text"


def _code(column: str) -> tuple[str, str]:
    """(clean value, is-bad flag) SQL for a code column parsed by :func:`_parse_code`.

    The unknown-value rule of :mod:`core.codebook`: empty and -1 are NULL, 0 is
    NULL unless 0 is a code of that variable; any other value that is not a code
    becomes NULL and is counted as an unknown code.
    """
    raw = f"{column}_i"
    known = f"(SELECT list(code) FROM codebook_codes WHERE variable = '{column}')"  # noqa: S608
    clean = f"CASE WHEN list_contains({known}, {raw}) THEN {raw} END"
    bad = f"({column}_text OR ({raw} NOT IN (-1, 0) AND NOT list_contains({known}, {raw})))"
    return clean, bad


def load_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Load the codebook's valid codes and the department boxes into DuckDB."""
    rows = [
        (variable, code)
        for variable in ACCIDENT_CODES + USER_CODES + VEHICLE_CODES
        for code in sorted(codebook.valid_codes(variable))
    ]
    con.execute("CREATE OR REPLACE TEMP TABLE codebook_codes (variable VARCHAR, code INTEGER)")
    con.executemany("INSERT INTO codebook_codes VALUES (?, ?)", rows)
    # Each department's bounding box widened by BBOX_MARGIN_DEG: a point inside is "in its department".
    m = BBOX_MARGIN_DEG
    boxes = [(d, x0 - m, y0 - m, x1 + m, y1 + m) for d, (x0, y0, x1, y1) in places.department_bboxes().items()]
    con.execute("CREATE OR REPLACE TEMP TABLE dep_bbox (dep VARCHAR, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE)")
    con.executemany("INSERT INTO dep_bbox VALUES (?, ?, ?, ?, ?)", boxes)
    con.execute("CREATE OR REPLACE TEMP TABLE known_dep (dep VARCHAR)")
    con.executemany("INSERT INTO known_dep VALUES (?)", [(d,) for d, _ in places.departments()])
    secu = [(s, codebook.secu_pre2019_to_secu1(s)) for s in range(0, 100)]
    con.execute("CREATE OR REPLACE TEMP TABLE secu_map (secu INTEGER, secu1 INTEGER)")
    con.executemany("INSERT INTO secu_map VALUES (?, ?)", secu)


def clean_accidents(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``acc_status`` (every staged accident, with a reject reason or NULL) and ``accidents_clean``."""
    code_cols = {c: _code(c) for c in ACCIDENT_CODES}
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE acc_parsed AS
        SELECT *,
            CASE WHEN an_i < 100 THEN 2000 + an_i ELSE an_i END AS year_an,
            CASE WHEN regexp_full_match(key_t, '[0-9]{{12}}') THEN CAST(left(key_t, 4) AS INTEGER) END AS key_year
        FROM (
            SELECT src_rank, src, has_users, has_vehicles, trim(Num_Acc) AS key_t,
                TRY_CAST(trim(Num_Acc) AS BIGINT) AS acc_id,
                {_int('an')} AS an_i, {_int('mois')} AS month, {_int('jour')} AS day,
                trim(hrmn) AS hrmn_t, trim(dep) AS dep_t, trim(com) AS com_t,
                trim(lat) AS lat_t, trim(long) AS lon_t,
                {", ".join(_parse_code(c) for c in ACCIDENT_CODES)},
                {_int('vma')} AS vma_raw,
                rowid AS stage_order  -- raw_accidents is only appended to: rowid is the staging order
            FROM raw_accidents
        )
        """  # noqa: S608
    )
    # Which source wins each year: the last one that has it.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE acc_status AS
        WITH keyed AS (SELECT *, coalesce(key_year, year_an) AS row_year FROM acc_parsed),
        winners AS (SELECT row_year, max(src_rank) AS winner FROM keyed GROUP BY row_year),
        repeated AS (  -- keys staged more than once by the same source: the first staged is kept
            SELECT src_rank, acc_id, min(stage_order) AS first_order FROM keyed
            WHERE acc_id IS NOT NULL GROUP BY src_rank, acc_id HAVING count(*) > 1
        ),
        ranked AS (
            SELECT k.*, w.winner,
                CASE WHEN d.first_order IS NULL OR k.stage_order = d.first_order THEN 1 ELSE 2 END AS dup_rank
            FROM keyed k
            JOIN winners w ON w.row_year IS NOT DISTINCT FROM k.row_year
            LEFT JOIN repeated d ON d.src_rank = k.src_rank AND d.acc_id = k.acc_id
        )
        SELECT r.*,
            CASE
                WHEN r.src_rank < r.winner THEN ?
                WHEN u.reason IS NOT NULL THEN u.reason
                WHEN r.acc_id IS NULL OR r.key_year IS NULL THEN 'bad key (Num_Acc is not 12 digits)'
                WHEN r.year_an IS NULL OR r.key_year <> r.year_an THEN 'bad key (year prefix differs from an)'
                WHEN try(make_date(r.year_an, r.month, r.day)) IS NULL THEN 'impossible date'
                WHEN r.dup_rank > 1 THEN 'duplicate key (first kept)'
            END AS reason
        FROM ranked r
        LEFT JOIN raw_unparsed u ON u.src_rank = r.src_rank AND trim(u.Num_Acc) = r.key_t
        """,
        [YEAR_REPLACED],
    )
    _build_place_map(con)
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW acc_time AS
        SELECT s.*,
            CASE WHEN hour BETWEEN 0 AND 23 AND minute BETWEEN 0 AND 59 THEN hour END AS hour_ok,
            CASE WHEN hour BETWEEN 0 AND 23 AND minute BETWEEN 0 AND 59 THEN minute END AS minute_ok,
            pm.dep AS dep_norm, pm.com AS com_norm
        FROM (
            SELECT *,
                CASE WHEN contains(hrmn_t, ':') THEN TRY_CAST(split_part(hrmn_t, ':', 1) AS INTEGER)
                     ELSE TRY_CAST(TRY_CAST(hrmn_t AS DOUBLE) AS INTEGER) // 100 END AS hour,
                CASE WHEN contains(hrmn_t, ':') THEN TRY_CAST(split_part(hrmn_t, ':', 2) AS INTEGER)
                     ELSE TRY_CAST(TRY_CAST(hrmn_t AS DOUBLE) AS INTEGER) % 100 END AS minute
            FROM acc_status WHERE reason IS NULL
        ) s
        LEFT JOIN place_map pm ON pm.dep_t = coalesce(s.dep_t, '') AND pm.com_t = coalesce(s.com_t, '')
            AND pm.pre2019 = (s.year_an < 2019)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW acc_geo AS
        SELECT t.*, k.dep IS NOT NULL AS dep_known,
            CASE WHEN year_an >= 2019 THEN TRY_CAST(replace(lat_t, ',', '.') AS DOUBLE)
                 ELSE TRY_CAST(lat_t AS DOUBLE) / 100000 END AS lat_in,
            CASE WHEN year_an >= 2019 THEN TRY_CAST(replace(lon_t, ',', '.') AS DOUBLE)
                 ELSE TRY_CAST(lon_t AS DOUBLE) / 100000 END AS lon_in,
            b.x0, b.x1, b.y0, b.y1
        FROM acc_time t
        LEFT JOIN known_dep k ON k.dep = t.dep_norm
        LEFT JOIN dep_bbox b ON b.dep = t.dep_norm
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP VIEW acc_coord AS
        SELECT *,
            CASE
                WHEN lat_in IS NULL OR lon_in IS NULL OR (lat_in = 0 AND lon_in = 0) THEN 'missing'
                WHEN lat_in = 0 OR lon_in = 0 THEN 'partial coordinate set NULL'
                WHEN abs(lat_in) > 90 OR abs(lon_in) > 180 THEN 'impossible coordinate set NULL'
                WHEN x0 IS NULL THEN 'unchecked'
                WHEN lat_in BETWEEN y0 AND y1 AND lon_in BETWEEN x0 AND x1 THEN 'ok'
                WHEN lon_in BETWEEN y0 AND y1 AND lat_in BETWEEN x0 AND x1 THEN 'swapped lat/lon fixed'
                WHEN lat_in BETWEEN y0 AND y1 AND -lon_in BETWEEN x0 AND x1 THEN 'longitude sign fixed'
                ELSE 'outside claimed department set NULL'
            END AS coord_note
        FROM acc_geo
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE accidents_clean AS
        SELECT src_rank, src, row_year, has_users, has_vehicles, coord_note,
            acc_id, year_an AS year, month, day, hour_ok AS hour, minute_ok AS minute,
            (hour IS NOT NULL OR minute IS NOT NULL) AND hour_ok IS NULL AS time_bad,
            CAST(isodow(make_date(year_an, month, day)) - 1 AS TINYINT) AS weekday,
            CASE WHEN dep_known THEN dep_norm END AS dep,
            coalesce(dep_t, '') <> '' AND NOT dep_known AS dep_bad,
            CASE WHEN dep_known THEN com_norm END AS com,
            CASE WHEN coord_note IN ('ok', 'unchecked', 'longitude sign fixed') THEN lat_in
                 WHEN coord_note = 'swapped lat/lon fixed' THEN lon_in END AS lat,
            CASE WHEN coord_note IN ('ok', 'unchecked') THEN lon_in
                 WHEN coord_note = 'longitude sign fixed' THEN -lon_in
                 WHEN coord_note = 'swapped lat/lon fixed' THEN lat_in END AS lon,
            {", ".join(f"{clean} AS {c}, {bad} AS {c}_bad" for c, (clean, bad) in code_cols.items())},
            CASE WHEN vma_raw BETWEEN 1 AND $max_vma THEN vma_raw END AS vma,
            vma_raw > $max_vma OR vma_raw < -1 AS vma_bad
        FROM acc_coord
        """,  # noqa: S608
        {"max_vma": codebook.MAX_SPEED_LIMIT},
    )
    for view in ("acc_coord", "acc_geo", "acc_time"):
        con.execute(f"DROP VIEW {view}")
    con.execute("DROP TABLE acc_parsed")
    # The key of each staged accident, for people and vehicles to join on.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE acc_keys AS SELECT src_rank, acc_id, reason, row_year, year_an "
        "FROM acc_status WHERE dup_rank = 1 AND acc_id IS NOT NULL"
    )


def _build_place_map(con: duckdb.DuckDBPyConnection) -> None:
    """Map each distinct raw (dep, com, layout) to INSEE codes with :mod:`core.places`.

    The rules (pre-2019 ``dep`` + '0', Corsica 201/202, overseas and Paris
    commune quirks) live in one tested place; only the few thousand distinct
    pairs go through Python.
    """
    pairs = con.execute(
        "SELECT DISTINCT coalesce(dep_t, ''), coalesce(com_t, ''), year_an < 2019 FROM acc_status "
        "WHERE reason IS NULL"
    ).fetchall()
    rows = []
    for dep_t, com_t, pre2019 in pairs:
        dep = places.dep_from_pre2019(dep_t or None) if pre2019 else places.normalise_dep(dep_t or None)
        com = places.com_insee(dep, com_t or None, pre2019=pre2019) if dep else None
        rows.append((dep_t, com_t, pre2019, dep, com))
    table = pa.table(
        {name: pa.array([r[i] for r in rows], type=kind) for i, (name, kind) in enumerate(
            (("dep_t", pa.string()), ("com_t", pa.string()), ("pre2019", pa.bool_()),
             ("dep", pa.string()), ("com", pa.string()))
        )}
    )
    con.register("place_map_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE place_map AS SELECT * FROM place_map_arrow")
    con.unregister("place_map_arrow")


def add_h3_cells(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``acc_cells``: the H3 cell of every located accident at each resolution of the store.

    One h3 call per point gives the finest cell; the coarser ones are its
    parents (:func:`core.h3cells.cells_to_parents`, on the bits of the index).
    """
    located = con.sql(
        "SELECT acc_id, lat, lon FROM accidents_clean WHERE lat IS NOT NULL ORDER BY acc_id"
    ).to_arrow_table()
    finest = h3cells.latlng_to_cells(located.column("lat").to_numpy(), located.column("lon").to_numpy())
    columns = {"acc_id": located.column("acc_id")}
    for res in config.H3_RESOLUTIONS:
        columns[f"h3_{res}"] = pa.array(h3cells.cells_to_parents(finest, res), type=pa.uint64())
    con.register("cell_table", pa.table(columns))
    con.execute("CREATE OR REPLACE TEMP TABLE acc_cells AS SELECT * FROM cell_table")
    con.unregister("cell_table")


# Why a person or vehicle row has no kept accident: its accident line was
# unparseable, its accident was rejected, or no accident has that key.
_ORPHAN_REASON = """
    CASE WHEN k.acc_id IS NULL AND key_t IN (
             SELECT Num_Acc FROM raw_rejects WHERE tbl = 'accidents' AND Num_Acc IS NOT NULL)
             THEN 'accident rejected: unparseable line'
         WHEN k.acc_id IS NULL THEN 'no accident with this key'
         WHEN k.reason IS NOT NULL THEN 'accident rejected: ' || k.reason END
"""


def clean_people_and_vehicles(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``users_clean`` and ``vehicles_clean`` from the staged rows.

    A row belongs to the accident of the same key *from the same source*; rows
    whose accident was rejected are rejected with that reason, and repeated
    people and vehicles are rejected by :func:`find_repeats`.
    """
    find_repeats(con)
    user_codes = {c: _code(c) for c in USER_CODES}
    secu_codes = "(SELECT list(code) FROM codebook_codes WHERE variable = 'secu1')"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE users_clean AS
        SELECT u.src_rank, u.src, coalesce(k.row_year, TRY_CAST(left(key_t, 4) AS INTEGER)) AS row_year,
            coalesce({_ORPHAN_REASON}, d.reason) AS reason,
            key_t, k.acc_id, veh,
            {", ".join(f"{clean} AS {c}, {bad} AS {c}_bad" for c, (clean, bad) in user_codes.items())},
            CASE WHEN an_nais_i BETWEEN $first_birth_year AND k.year_an THEN an_nais_i END AS birth_year,
            an_nais_i IS NOT NULL AND NOT an_nais_i BETWEEN $first_birth_year AND k.year_an AS birth_year_bad,
            CASE WHEN k.year_an < 2019 THEN m.secu1
                 WHEN list_contains({secu_codes}, secu1_i) THEN secu1_i END AS secu1,
            CASE WHEN k.year_an >= 2019 AND list_contains({secu_codes}, secu2_i) THEN secu2_i END AS secu2,
            CASE WHEN k.year_an >= 2019 AND list_contains({secu_codes}, secu3_i) THEN secu3_i END AS secu3,
            CASE WHEN k.year_an < 2019 AND secu_i > 0 THEN secu_i END AS secu_pre2019,
            actp
        FROM (
            SELECT rowid AS stage_order, src_rank, src, trim(Num_Acc) AS key_t,
                TRY_CAST(trim(Num_Acc) AS BIGINT) AS key_id, nullif(trim(num_veh), '') AS veh,
                {", ".join(_parse_code(c) for c in USER_CODES)},
                {_int('an_nais')} AS an_nais_i, {_int('secu')} AS secu_i,
                {_int('secu1')} AS secu1_i, {_int('secu2')} AS secu2_i, {_int('secu3')} AS secu3_i,
                CASE WHEN regexp_full_match(trim(actp), '-?[0-9]+(\\.0)?') THEN
                          nullif(CAST(TRY_CAST(TRY_CAST(trim(actp) AS DOUBLE) AS INTEGER) AS VARCHAR), '-1')
                     ELSE nullif(upper(trim(actp)), '') END AS actp
            FROM raw_users
        ) u
        LEFT JOIN acc_keys k ON k.src_rank = u.src_rank AND k.acc_id = u.key_id
        LEFT JOIN secu_map m ON m.secu = u.secu_i
        LEFT JOIN user_repeats d USING (stage_order)
        """,  # noqa: S608
        {"first_birth_year": FIRST_BIRTH_YEAR},
    )
    veh_codes = {c: _code(c) for c in VEHICLE_CODES}
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE vehicles_clean AS
        SELECT v.src_rank, v.src, coalesce(k.row_year, TRY_CAST(left(key_t, 4) AS INTEGER)) AS row_year,
            coalesce({_ORPHAN_REASON}, d.reason) AS reason,
            key_t, k.acc_id, veh,
            {", ".join(f"{clean} AS {c}, {bad} AS {c}_bad" for c, (clean, bad) in veh_codes.items() if c != "motor")},
            CASE WHEN k.year_an >= 2019 THEN {veh_codes["motor"][0]} END AS motor,
            k.year_an >= 2019 AND {veh_codes["motor"][1]} AS motor_bad,
            CASE WHEN occutc_i >= 0 THEN occutc_i END AS occutc
        FROM (
            SELECT rowid AS stage_order, src_rank, src, trim(Num_Acc) AS key_t,
                TRY_CAST(trim(Num_Acc) AS BIGINT) AS key_id, nullif(trim(num_veh), '') AS veh,
                {", ".join(_parse_code(c) for c in VEHICLE_CODES)},
                {_int('occutc')} AS occutc_i
            FROM raw_vehicles
        ) v
        LEFT JOIN acc_keys k ON k.src_rank = v.src_rank AND k.acc_id = v.key_id
        LEFT JOIN vehicle_repeats d USING (stage_order)
        """  # noqa: S608
    )


# The vehicle a row refers to: id_vehicule from 2019 (num_veh repeats there: 53 times in
# 2019, a pedestrian's vehicle listed as A01 beside the real A01), else num_veh.
_VEHICLE_REF = "coalesce(nullif(trim(id_vehicule), ''), nullif(trim(num_veh), ''))"


def find_repeats(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``user_repeats`` and ``vehicle_repeats``: staged rows that repeat a key, with the reason.

    Within one source and accident, the first staged row is kept and the later
    ones are rejected: a vehicle listed twice (same vehicle reference), a
    person whose ``id_usager`` was already listed, a second driver (``catu`` 1)
    of the same vehicle. Identical passengers or pedestrians are not repeats:
    the official files hold such rows (passengers of one seat row, for
    instance) and ONISR's totals count them; a block of people listed twice is
    caught by the reader (:data:`core.ingest.yearly.REPEATED_PERSON`). Only the
    few repeated groups are ranked, found by grouping on a hash of the key (a
    collision only ranks a few more rows), so the archive's 2.4 million people
    cost one pass.
    """
    users = f"""
        SELECT rowid AS stage_order, src_rank, trim(Num_Acc) AS key_t, {_VEHICLE_REF} AS vehicle_ref,
            nullif(trim(id_usager), '') AS person_id, {_int('catu')} = 1 AS driver FROM raw_users
    """  # noqa: S608
    vehicles = f"""
        SELECT rowid AS stage_order, src_rank, trim(Num_Acc) AS key_t, {_VEHICLE_REF} AS vehicle_ref FROM raw_vehicles
    """  # noqa: S608
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE user_repeats AS
        WITH u AS ({users}),
        ranked AS (
            {_ranked("u", "person_id", "person_id IS NOT NULL")}
            UNION ALL
            {_ranked("u", "vehicle_ref", "driver")}
        )
        SELECT stage_order, arg_min(reason, priority) AS reason FROM ranked WHERE n > 1 GROUP BY stage_order
        """,  # noqa: S608
        [1, "duplicate id_usager (first kept)", 2, "second driver for the same vehicle (first kept)"],
    )
    reason = "duplicate vehicle: same id_vehicule (num_veh before 2019) (first kept)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE vehicle_repeats AS
        WITH v AS ({vehicles}), ranked AS ({_ranked("v", "vehicle_ref", "true")})
        SELECT stage_order, reason FROM ranked WHERE n > 1
        """,  # noqa: S608
        [1, reason],
    )


def _ranked(rows: str, key: str, where: str) -> str:
    """SQL ranking, within one source and accident, the ``rows`` sharing ``key`` (1 = first staged).

    Only groups of more than one row are ranked, found by grouping on a hash of
    the key (a collision only ranks a few more rows). Names come from this
    module, never from the data. The SQL takes two parameters, in this order:
    the priority of its reason (the lowest wins when a row repeats two keys) and
    the reason.
    """
    group = f"src_rank, key_t, {key}"
    return f"""
        SELECT stage_order, ? AS priority, ? AS reason,
            row_number() OVER (PARTITION BY {group} ORDER BY stage_order) AS n
        FROM {rows} WHERE {where} AND hash({group}) IN
            (SELECT hash({group}) FROM {rows} WHERE {where} GROUP BY 1 HAVING count(*) > 1)
    """  # noqa: S608
