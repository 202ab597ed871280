"""The ingest report: per source, table and year, what was read, kept, rejected and corrected.

Every row read is accounted for (``read == kept + rejected``, checked here), so
the report is the proof that nothing was dropped silently: each rejection has
its reason, each field the cleaner set NULL or fixed is counted. It is written
as ``ingest_report.json`` beside the store and summed up by the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb

from core.ingest import clean

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
# The cleaner's tables each report table is counted from. S608 (SQL built from
# strings) is silenced where these constant names, never data, are put into SQL.
_STATUS_TABLES = (("accidents", "acc_status"), ("users", "users_clean"), ("vehicles", "vehicles_clean"))
_CORRECTED_TABLES = (
    ("accidents", "accidents_clean", ACCIDENT_FIXES),
    ("users", "users_clean", USER_FIXES),
    ("vehicles", "vehicles_clean", VEHICLE_FIXES),
)

Entry = Callable[[str, str, int | None], dict]


def build_report(con: duckdb.DuckDBPyConnection, source_labels: Sequence[str], warnings: list[str]) -> dict:
    """Per source, table and year: read, kept, rejected by reason, and corrections made.

    ``read == kept + rejected`` holds for every entry; it is checked here.
    Appends to ``warnings`` one line per year a later source replaced.

    Raises
    ------
    RuntimeError
        When an entry does not balance (a row counted nowhere or twice).
    """
    entries: dict[tuple[str, str, int | None], dict] = {}

    def entry(src: str, table: str, year: int | None) -> dict:
        return entries.setdefault(
            (src, table, year),
            {"source": src, "table": table, "year": year, "read": 0, "kept": 0, "rejected": 0,
             "rejected_by_reason": {}, "corrections": {}},
        )

    _add_counts(con, entry)
    _add_corrections(con, entry)
    tables = sorted(entries.values(), key=lambda e: (e["source"], e["table"], e["year"] or 0))
    for e in tables:
        if e["read"] != e["kept"] + e["rejected"]:
            raise RuntimeError(f"report does not balance for {e['source']} {e['table']} {e['year']}")
    winners = con.execute(
        "SELECT row_year, any_value(src) FROM acc_status WHERE reason IS NULL GROUP BY ALL ORDER BY 1"
    ).fetchall()
    replaced = con.execute(
        "SELECT DISTINCT row_year, src FROM acc_status WHERE reason = ? ORDER BY ALL", [clean.YEAR_REPLACED]
    ).fetchall()
    for year, src in replaced:
        winner = dict(winners).get(year)
        warnings.append(f"{year}: taken from {winner}; the same year from {src} was replaced (last source wins)")
    return {
        "sources": list(source_labels),
        "years": {str(year): src for year, src in winners},
        "warnings": warnings,
        "tables": tables,
    }


def _add_counts(con: duckdb.DuckDBPyConnection, entry: Entry) -> None:
    """Rows kept and rejected by reason, per source, table and year; lieux read and kept."""

    def add_rejects(rows: list[tuple]) -> None:
        for src, table, year, reason, n in rows:
            e = entry(src, table, year)
            e["rejected"] += n
            e["read"] += n
            e["rejected_by_reason"][reason] = e["rejected_by_reason"].get(reason, 0) + n

    for table, source_table in _STATUS_TABLES:
        for src, year, n in con.execute(
            f"SELECT src, row_year, count(*) FROM {source_table} WHERE reason IS NULL GROUP BY ALL"  # noqa: S608
        ).fetchall():
            e = entry(src, table, year)
            e["kept"] += n
            e["read"] += n
        add_rejects(con.execute(
            f"SELECT src, ?, row_year, reason, count(*) FROM {source_table} "  # noqa: S608
            "WHERE reason IS NOT NULL GROUP BY ALL",
            [table],
        ).fetchall())
    add_rejects(con.execute("SELECT src, tbl, year, reason, count(*) FROM raw_rejects GROUP BY ALL").fetchall())
    # lieux is merged into accidents: what was read minus what was set aside was kept.
    lieux_read = con.execute("SELECT src, year, sum(n) FROM raw_read WHERE tbl = 'lieux' GROUP BY ALL").fetchall()
    for src, year, n in lieux_read:
        e = entry(src, "lieux", year)
        e["read"] = int(n)
        e["kept"] = int(n) - e["rejected"]


def _add_corrections(con: duckdb.DuckDBPyConnection, entry: Entry) -> None:
    """Fields set NULL or fixed, per source, table and year, and the accidents without coordinates."""
    for table, source_table, fixes in _CORRECTED_TABLES:
        where = "" if table == "accidents" else "WHERE reason IS NULL"
        counts = ", ".join(f"count(*) FILTER (WHERE {flag})" for flag in fixes)
        for src, year, *values in con.execute(
            f"SELECT src, row_year, {counts} FROM {source_table} {where} GROUP BY ALL ORDER BY ALL"  # noqa: S608
        ).fetchall():
            e = entry(src, table, year)
            for reason, n in zip(fixes.values(), values, strict=False):
                if n:
                    e["corrections"][reason] = n
    for src, year, note, n in con.execute(
        "SELECT src, row_year, coord_note, count(*) FROM accidents_clean GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        e = entry(src, "accidents", year)
        if note in COORD_NOTES:
            e["corrections"][note] = n
        elif note == "missing":
            e["corrections"]["no coordinates"] = n
