"""Explorer exports at the limit: seconds to build each file for 99,239 accidents (target: a few seconds).

The filter (2019-2020, 5 h - 23 h) selects 99,239 accidents, just under
``EXPORT_LIMIT``: with their people and vehicles, some 15 million cells for
people's files. Each format is built three times (``export_accidents``, as the
download button calls it); the median counts.

The naive baseline writes the same three tables into a workbook with
xlsxwriter alone, cell by cell (``write_row``, in its ``constant_memory``
mode, its fastest), as :mod:`core.explore.workbook` avoids.

Run: ``.venv/bin/python bench/export.py`` (after ``make setup``); ``--no-baseline`` skips the baseline (a minute).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import xlsxwriter  # noqa: E402

from core import store  # noqa: E402
from core.explore.counts import figures  # noqa: E402
from core.explore.export import EXPORT_FORMATS, SHEETS, export_accidents  # noqa: E402
from core.explore.export_tables import accident_table, person_table, vehicle_table  # noqa: E402
from core.filters import AccidentFilter  # noqa: E402

AT_THE_LIMIT = AccidentFilter(years=(2019, 2020), hours=(5, 23))
DATA_YEARS = (2005, 2020)
RUNS = 3


def _timed(build) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        size = len(build())
        times.append(time.perf_counter() - start)
    return statistics.median(times), size


def _naive_workbook(con) -> bytes:
    tables = [accident_table(con, AT_THE_LIMIT), person_table(con, AT_THE_LIMIT), vehicle_table(con, AT_THE_LIMIT)]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    for (name, _), table in zip(SHEETS, tables, strict=True):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, table.column_names)
        for row, values in enumerate(zip(*(column.to_pylist() for column in table.columns), strict=True), start=1):
            sheet.write_row(row, 0, values)
    book.close()
    return buffer.getvalue()


def main() -> None:
    con = store.connect()
    accidents = figures(con, AT_THE_LIMIT).accidents
    cells = sum(table.num_rows * table.num_columns for table in (
        accident_table(con, AT_THE_LIMIT), person_table(con, AT_THE_LIMIT), vehicle_table(con, AT_THE_LIMIT)))
    print(f"{accidents} accidents, {cells / 1e6:.1f} million cells in the files for people")
    results = {}
    for file_format in EXPORT_FORMATS:
        seconds, size = _timed(lambda f=file_format: export_accidents(con, AT_THE_LIMIT, file_format=f,
                                                                       data_years=DATA_YEARS))
        results[file_format] = seconds
        print(f"{file_format:8s} {seconds:6.2f} s  {size / 1e6:6.1f} MB")
    if "--no-baseline" not in sys.argv:
        start = time.perf_counter()
        _naive_workbook(con)
        naive = time.perf_counter() - start
        print(f"naive xlsxwriter workbook {naive:6.2f} s ({naive / results['xlsx']:.0f}x the export)")


if __name__ == "__main__":
    main()
