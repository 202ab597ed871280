"""The store holds exactly the archive's accidents and killed, per year.

The expected counts are computed here from the raw archive with independent
code (the standard library's tarfile and csv, and a regular expression on the
nested Python literals), not with the ingest's DuckDB SQL.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import tarfile
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from core import config
from core.ingest.archive import archive_path

KILLED = re.compile(r"'grav': 2\b")


@pytest.fixture(scope="module")
def archive_counts() -> tuple[Counter, Counter]:
    """(accidents per year, killed per year) read straight from fr.csv.tgz."""
    csv.field_size_limit(sys.maxsize)
    accidents: Counter = Counter()
    killed: Counter = Counter()
    with tarfile.open(archive_path(), "r:gz") as tar:
        for member in tar:
            if not member.name.endswith(".csv"):
                continue
            stream = io.TextIOWrapper(tar.extractfile(member), encoding="utf-8", newline="")
            reader = csv.reader(stream)
            header = next(reader)
            key, users = header.index("Num_Acc"), header.index("usagers")
            for row in reader:
                year = int(row[key][:4])
                accidents[year] += 1
                killed[year] += len(KILLED.findall(row[users]))
    return accidents, killed


def _per_year(full_store: Path, sql: str) -> dict[int, int]:
    con = duckdb.connect()
    rows = con.execute(sql, [str(full_store / config.ACCIDENTS_FILE)]).fetchall()
    con.close()
    return {int(year): int(n) for year, n in rows}


def test_accidents_per_year_equal_the_archive(full_store: Path, archive_counts) -> None:
    stored = _per_year(full_store, "SELECT year, count(*) FROM read_parquet(?) GROUP BY year")
    assert stored == dict(archive_counts[0])
    assert sum(stored.values()) == 1_065_053  # ONISR totals quoted in PROVENANCE.md
    assert stored[2019] == 58_840 and stored[2020] == 47_744


def test_killed_per_year_equal_the_archive(full_store: Path, archive_counts) -> None:
    stored = _per_year(full_store, "SELECT year, sum(n_killed) FROM read_parquet(?) GROUP BY year")
    assert stored == dict(archive_counts[1])
    assert stored[2019] == 3_498 and stored[2020] == 2_780  # ONISR national totals


def test_report_balances_for_every_table(full_store: Path) -> None:
    import json

    report = json.loads((full_store / config.REPORT_FILE).read_text())
    assert report["tables"], "empty report"
    for entry in report["tables"]:
        assert entry["read"] == entry["kept"] + entry["rejected"], entry
        assert entry["rejected"] == sum(entry["rejected_by_reason"].values()), entry
    kept = {t: sum(e["kept"] for e in report["tables"] if e["table"] == t) for t in ("accidents", "users", "vehicles")}
    con = duckdb.connect()
    for table, file in (("accidents", config.ACCIDENTS_FILE), ("users", config.USERS_FILE),
                        ("vehicles", config.VEHICLES_FILE)):
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(full_store / file)]).fetchall()[0][0]
        assert rows == kept[table]
    con.close()


def test_every_person_and_vehicle_belongs_to_a_stored_accident(store_con) -> None:
    orphans = store_con.execute(
        "SELECT (SELECT count(*) FROM users WHERE acc_id NOT IN (SELECT acc_id FROM accidents)) + "
        "(SELECT count(*) FROM vehicles WHERE acc_id NOT IN (SELECT acc_id FROM accidents))"
    ).fetchall()[0][0]
    assert orphans == 0
    mismatched = store_con.execute(
        "SELECT count(*) FROM accidents a JOIN (SELECT acc_id, count(*) n FROM users GROUP BY acc_id) u "
        "USING (acc_id) WHERE a.n_users <> u.n"
    ).fetchall()[0][0]
    assert mismatched == 0
