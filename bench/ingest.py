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

Run: ``.venv/bin/python bench/ingest.py`` (after ``make setup``).
"""

from __future__ import annotations

import argparse
import ast
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config  # noqa: E402
from core.ingest.archive import archive_path, extract_archive  # noqa: E402

TARGET_SECONDS = 30.0
TARGET_PEAK_MB = 2048.0
TARGET_RATIO = 5.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="naive parse of every accident (slow)")
    parser.add_argument("--runs", type=int, default=3, help="ingest runs; the median is the figure (default 3)")
    args = parser.parse_args()
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
