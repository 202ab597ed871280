"""Filtered aggregate over all years: p50 and p95 latency, per storage choice.

Compares the store the app uses (read-only ``gravite.duckdb``) with the same
Parquet files loaded into in-memory DuckDB tables and with ``read_parquet``
views (the naive baseline), on the same filters, in the same process.

Run: ``.venv/bin/python bench/queries.py`` (after ``make setup``).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config, queries, store  # noqa: E402
from core.filters import AccidentFilter  # noqa: E402

FILTERS = [
    (AccidentFilter(), ("year",)),
    (AccidentFilter(atm=(2, 3)), ("year",)),
    (AccidentFilter(hours=(22, 4), weekdays=(5, 6)), ("dep",)),
    (AccidentFilter(regions=("84",), lum=(3, 4, 5)), ("month",)),
    (AccidentFilter(years=(2015, 2020), involves=("pedestrian",), outcome="severe"), ("hour",)),
    (AccidentFilter(agg=(1,), catr=(3,), surf=(2,)), ("weekday", "hour")),
    (AccidentFilter(involves=("two_wheeler", "bicycle"), months=(6, 7, 8)), ("year",)),
    (AccidentFilter(deps=("75", "92", "93", "94"), outcome="fatal"), ()),
]
REPEATS = 15
TARGET_P50_MS = 10.0


def _time(con: duckdb.DuckDBPyConnection) -> list[float]:
    samples = []
    for _ in range(REPEATS):
        for accident_filter, by in FILTERS:
            start = time.perf_counter()
            queries.aggregate(con, accident_filter, by=by)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def _memory_copy(parquet: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    source = store.connect(parquet)
    for table in store.TABLES:
        frame = source.sql(f"SELECT * FROM {table}").to_arrow_table()
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
        con.unregister("frame")
    source.close()
    return con


def _parquet_views(parquet: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    source = store.connect(parquet)
    # The accidents view needs the derived flags: read them from a Parquet copy of the table.
    flags = parquet.parent / "bench_accidents.parquet"
    source.execute(f"COPY accidents TO '{flags}' (FORMAT parquet)")
    source.close()
    con.execute(f"CREATE VIEW accidents AS SELECT * FROM read_parquet('{flags}')")
    for table in ("users", "vehicles"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{parquet / (table + '.parquet')}')")
    return con


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> int:
    parquet = config.parquet_dir()
    backends = {
        "duckdb file, read-only (the app)": store.connect(parquet),
        "in-memory tables from Parquet": _memory_copy(parquet),
        "read_parquet views (naive)": _parquet_views(parquet),
    }
    results = {}
    for name, con in backends.items():
        _time(con)  # warm-up
        results[name] = _summary(_time(con))
        con.close()
    (parquet.parent / "bench_accidents.parquet").unlink(missing_ok=True)
    naive_p50 = results["read_parquet views (naive)"][0]
    print(f"filtered aggregate over 2005-2020, {len(FILTERS)} filters x {REPEATS} runs")
    for name, (p50, p95) in results.items():
        print(f"  {name:<36} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  ratio to naive {naive_p50 / p50:5.2f}x")
    p50 = results["duckdb file, read-only (the app)"][0]
    verdict = "OK" if p50 <= TARGET_P50_MS else "OVER TARGET"
    print(f"app store p50 {p50:.2f} ms (target <= {TARGET_P50_MS} ms): {verdict}")
    return 0 if p50 <= TARGET_P50_MS else 1


if __name__ == "__main__":
    sys.exit(main())
