"""The guard against a run that would shrink a year of the store.

When two sources give the same year the last one wins, so a source holding
only part of a year could silently replace a complete one. A run that would
leave a year with fewer than :data:`MIN_YEAR_SHARE` of the accidents the
existing store, or an earlier source of the same run, had is therefore refused,
unless that year is named with ``--replace-year``; the store is then unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import duckdb

from core import config
from core.formatting import format_count
from core.ingest import clean
from core.ingest.errors import IngestRefused

# A year may not fall below this share of the accidents it had without --replace-year.
MIN_YEAR_SHARE = 0.9


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
    earlier source of this run that provides it (``acc_status``, built by
    :func:`core.ingest.clean.clean_accidents`). Years in ``replace_years`` may
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
        "SELECT row_year, count(*), src FROM acc_status WHERE reason = ? GROUP BY ALL ORDER BY 1, 3",
        [clean.YEAR_REPLACED],
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
