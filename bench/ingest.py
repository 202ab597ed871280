"""Full ingest of BAAC 2005-2020: wall time and peak memory, against a naive parse.

The ingest runs as ``python -m core ingest`` in a child process (its peak RSS
is read from the OS once it exits). The naive baseline, timed in the same run,
is the obvious way to read the archive: pandas ``read_csv`` then
``ast.literal_eval`` on every nested ``usagers`` / ``vehicules`` list, building
the people and vehicle tables and nothing else (no cleaning, no H3, no write).
By default the baseline parses every 10th accident and is scaled by 10
(``--full`` parses them all, about 3 minutes); the scaling is printed.
The ingest runs three times (``--runs``) and the median is the figure: on
this virtual machine one run can differ from the next by 20 %.

It also times 100,000 unparseable lines (unclosed quote, extra field, ``|``
separator, binary garbage, line cut short, in turn) after the 20 accidents of
the 2021 excerpt, read by the yearly-file reader and set aside with their
number and text. Two baselines run in the same process on the same file:
DuckDB's ``read_csv`` with its rejects table (explicit columns and no sniffing:
with sniffing, the old path, it does not read this file at all), and a plain
Python ``csv`` loop (faster, but an unclosed quote swallows the next line and
nothing says where or why). The reader runs three times; the median is the figure.

Run: ``.venv/bin/python bench/ingest.py`` (after ``make setup``);
``--lines-only`` times the unparseable lines alone.
"""

from __future__ import annotations

import argparse
import ast
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config  # noqa: E402
from core.ingest import raw, yearly  # noqa: E402
from core.ingest.archive import archive_path, extract_archive  # noqa: E402
from core.ingest.layouts import read_schema  # noqa: E402

TARGET_SECONDS = 30.0
TARGET_PEAK_MB = 2048.0
TARGET_RATIO = 5.0
UNPARSEABLE_LINES = 100_000
TARGET_LINES_PER_S = 100_000
EXCERPT_CARAC = config.ROOT / "tests" / "data" / "baac" / "2021-excerpt" / "caracteristiques-2021.csv"


def run_ingest_child(out: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a full ingest in a child process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "ingest", "--source", "package", "--out", str(out)],
                   cwd=config.ROOT, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak_mb


def naive_parse(csv_paths: list[Path], every: int) -> float:
    """Seconds for pandas + ast.literal_eval on every ``every``-th accident, scaled to all."""
    start = time.perf_counter()
    rows = 0
    for path in csv_paths:
        frame = pd.read_csv(path, dtype=str, skiprows=lambda i: i > 0 and i % every != 0)
        people, vehicles = [], []
        for acc, users_text, vehicles_text in zip(frame["Num_Acc"], frame["usagers"], frame["vehicules"], strict=False):
            for person in ast.literal_eval(users_text.replace("nan", "None")):
                person["Num_Acc"] = acc
                people.append(person)
            for vehicle in ast.literal_eval(vehicles_text.replace("nan", "None")):
                vehicle["Num_Acc"] = acc
                vehicles.append(vehicle)
        pd.DataFrame(people), pd.DataFrame(vehicles)
        rows += len(frame)
    return (time.perf_counter() - start) * every


def write_unparseable(path: Path, n: int) -> None:
    """The excerpt's caracteristiques file followed by ``n`` lines none of which can be parsed."""
    header, *rows = EXCERPT_CARAC.read_bytes().splitlines()
    kinds = (
        lambda line: line.replace(b'";"', b';"', 1),  # unclosed quote
        lambda line: line + b';"extra"',  # one field too many
        lambda line: line.replace(b";", b"|"),  # another separator
        lambda line: b"\x00\x01PK\x03\x04\xff\xfe\x00 binary garbage \x07",
        lambda line: line[: len(line) // 2],  # cut short
    )
    bad = (kinds[i % len(kinds)](b'"2021%08d"' % (i + 100) + rows[i % len(rows)][14:]) for i in range(n))
    path.write_bytes(b"\n".join([header, *rows, *bad]) + b"\n")


def time_reader(path: Path) -> tuple[float, int]:
    """(seconds, lines set aside) for the yearly reader on ``path``, rejects staged in DuckDB."""
    con = duckdb.connect()
    raw.create_raw_tables(con)
    start = time.perf_counter()
    schema = read_schema(path, "caracteristiques", 2021)
    yearly.load_year(con, 2021, {"caracteristiques": schema}, rank=0, label="bench")
    seconds = time.perf_counter() - start
    rejected = con.execute("SELECT count(*) FROM raw_rejects").fetchall()[0][0]
    con.close()
    return seconds, rejected


def time_duckdb_rejects(path: Path) -> tuple[float, int]:
    """(seconds, lines set aside) for DuckDB's read_csv with a rejects table, columns given, no sniffing."""
    header = EXCERPT_CARAC.read_text(encoding="utf-8").splitlines()[0]
    columns = {name.strip('"'): "VARCHAR" for name in header.split(";")}
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE parsed AS SELECT * FROM read_csv(?, auto_detect=false, header=true, delim=';', quote='\"', "
        "escape='\"', encoding='utf-8', strict_mode=true, columns=?, store_rejects=true)",
        [str(path), columns],
    )
    rejected = con.execute("SELECT count(DISTINCT line) FROM reject_errors").fetchall()[0][0]
    seconds = time.perf_counter() - start
    con.close()
    return seconds, rejected


def time_csv_loop(path: Path) -> tuple[float, int]:
    """(seconds, rows set aside) for a plain Python csv loop counting fields."""
    start = time.perf_counter()
    rejected = 0
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=";", strict=True)
        width = len(next(reader))
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                rejected += 1
                continue
            rejected += len(row) != width
    return time.perf_counter() - start, rejected


def bench_unparseable(folder: Path) -> bool:
    """Print the unparseable-lines figures; return whether the target is met."""
    path = folder / "caracteristiques-2021.csv"
    write_unparseable(path, UNPARSEABLE_LINES)
    runs = [time_reader(path) for _ in range(3)]
    seconds, rejected = statistics.median(t for t, _ in runs), runs[0][1]
    duck_seconds, duck_rejected = time_duckdb_rejects(path)
    loop_seconds, loop_rejected = time_csv_loop(path)
    rate = UNPARSEABLE_LINES / seconds
    print(f"{UNPARSEABLE_LINES:,} unparseable lines after the 20 accidents of the 2021 excerpt")
    print(f"  yearly reader, runs                     {', '.join(f'{t:.2f}' for t, _ in runs)} s")
    print(f"  yearly reader, median of 3              {seconds:6.2f} s   {rate:>9,.0f} lines/s   "
          f"{rejected:,} set aside")
    print(f"  DuckDB read_csv + rejects table         {duck_seconds:6.2f} s   "
          f"{UNPARSEABLE_LINES / duck_seconds:>9,.0f} lines/s   {duck_rejected:,} set aside   "
          f"ratio {duck_seconds / seconds:.1f}x")
    print(f"  plain Python csv loop                   {loop_seconds:6.2f} s   "
          f"{UNPARSEABLE_LINES / loop_seconds:>9,.0f} lines/s   {loop_rejected:,} set aside   "
          f"ratio {loop_seconds / seconds:.1f}x (an unclosed quote swallows the next line)")
    ok = rate >= TARGET_LINES_PER_S and rejected == UNPARSEABLE_LINES
    print(f"target: >= {TARGET_LINES_PER_S:,} lines/s, every line set aside: {'OK' if ok else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="naive parse of every accident (slow)")
    parser.add_argument("--runs", type=int, default=3, help="ingest runs; the median is the figure (default 3)")
    parser.add_argument("--lines-only", action="store_true", help="time the unparseable lines only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lines_ok = bench_unparseable(Path(tmp))
    if args.lines_only:
        return 0 if lines_ok else 1
    every = 1 if args.full else 10
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_ingest_child(Path(tmp) / f"store-{i}") for i in range(args.runs)]
        csvs = extract_archive(archive_path(), Path(tmp) / "csv")
        naive_seconds = naive_parse(csvs, every)
    times = [seconds for seconds, _ in runs]
    seconds = statistics.median(times)
    peak_mb = max(peak for _, peak in runs)
    ratio = naive_seconds / seconds
    scale = "" if every == 1 else f" (every {every}th accident, x{every})"
    print("full ingest of BAAC 2005-2020 (1,065,053 accidents), 2 cores")
    print(f"  ingest runs (python -m core ingest)  {', '.join(f'{t:.1f}' for t in times)} s")
    print(f"  ingest, median of {len(times)}                {seconds:6.1f} s   peak RSS {peak_mb:6.0f} MB")
    print(f"  naive pandas + ast.literal_eval     {naive_seconds:6.1f} s{scale}")
    print(f"  ratio naive / ingest                {ratio:6.1f}x")
    ok = seconds <= TARGET_SECONDS and peak_mb <= TARGET_PEAK_MB and ratio >= TARGET_RATIO
    print(f"targets: <= {TARGET_SECONDS:.0f} s, <= {TARGET_PEAK_MB:.0f} MB, >= {TARGET_RATIO:.0f}x: "
          f"{'OK' if ok else 'MISSED'}")
    return 0 if ok and lines_ok else 1


if __name__ == "__main__":
    sys.exit(main())
