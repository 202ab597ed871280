"""Rebuild ``tests/data/baac/2013/``: a few hundred real accidents of the official 2013 files.

Run from the repository root, naming the folder of the official 2013 files::

    .venv/bin/python -m tools.make_2013_slice ../shared/data/baac/2013

The slice keeps the official bytes of each kept line (Latin-1, commas, the
original header). It holds every 250th accident, plus the first accident of each
department (so overseas departments are there) and the first accident having
each vehicle code value (so the code checks still see every value of 2013).
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from core import config

TARGET = config.ROOT / "tests" / "data" / "baac" / "2013"
FILES = ("caracteristiques_2013.csv", "lieux_2013.csv", "vehicules_2013.csv")
VEHICLE_CODES = ("catv", "obs", "obsm", "choc", "manv", "senc")
STEP = 250


def _rows(path: Path) -> tuple[bytes, list[tuple[bytes, dict[str, str]]]]:
    header, *lines = path.read_bytes().splitlines(keepends=True)
    names = next(csv.reader([header.decode("latin-1")]))
    return header, [(line, dict(zip(names, next(csv.reader(io.StringIO(line.decode("latin-1")))), strict=True)))
                    for line in lines]


def main(source: Path) -> None:
    _, carac = _rows(source / FILES[0])
    keep = {row["Num_Acc"] for i, (_, row) in enumerate(carac) if i % STEP == 0}
    seen_deps: set[str] = set()
    for _, row in carac:
        if row["dep"] not in seen_deps:
            seen_deps.add(row["dep"])
            keep.add(row["Num_Acc"])
    _, vehicles = _rows(source / FILES[2])
    seen_codes: set[tuple[str, str]] = set()
    for _, row in vehicles:
        for variable in VEHICLE_CODES:
            if (variable, row[variable]) not in seen_codes:
                seen_codes.add((variable, row[variable]))
                keep.add(row["Num_Acc"])
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        header, rows = _rows(source / name)
        kept = [line for line, row in rows if row["Num_Acc"] in keep]
        (TARGET / name).write_bytes(header + b"".join(kept))
        print(f"{name}: {len(kept)} of {len(rows)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
