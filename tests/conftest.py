"""Shared fixtures: the real store built from the BAAC archive, and small real slices."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core import config, store, views
from core.ingest.pipeline import run_ingest
from core.ingest.sources import Source

# Real official files shipped with the tests (no test reads outside the repository):
# the 20 accidents of the 2021 excerpt (2019+ layout) and a slice of 2013 (pre-2019
# layout, Latin-1) made by tools/make_2013_slice.py.
TEST_BAAC = Path(__file__).resolve().parent / "data" / "baac"
EXCERPT_2021 = TEST_BAAC / "2021-excerpt"
OFFICIAL_2013 = TEST_BAAC / "2013"


@pytest.fixture(scope="session", autouse=True)
def views_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Named views go to a file of the test session (and of the servers it starts), never the developer's."""
    path = tmp_path_factory.mktemp("views") / "views.json"
    before = os.environ.get(views.VIEWS_FILE_ENV)
    os.environ[views.VIEWS_FILE_ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(views.VIEWS_FILE_ENV, None)
    else:
        os.environ[views.VIEWS_FILE_ENV] = before


@pytest.fixture(scope="session")
def full_store() -> Path:
    """The Parquet store of the whole archive (built by `make test`; built here if missing)."""
    parquet = config.parquet_dir()
    if not (parquet / store.DATABASE_FILE).exists():
        run_ingest([Source.parse("package")], config.DATA_DIR)
    return parquet


@pytest.fixture(scope="session")
def store_con(full_store: Path) -> duckdb.DuckDBPyConnection:
    con = store.connect(full_store)
    yield con
    con.close()


@pytest.fixture(scope="session")
def excerpt_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Store built from the 20 real accidents of the 2021 excerpt (2019+ layout)."""
    out = tmp_path_factory.mktemp("excerpt")
    run_ingest([Source("folder", EXCERPT_2021)], out)
    return out / config.PARQUET_SUBDIR


@pytest.fixture()
def excerpt_copy(tmp_path: Path) -> Path:
    """A writable copy of the 2021 excerpt files, to damage on purpose."""
    target = tmp_path / "src"
    shutil.copytree(EXCERPT_2021, target)
    return target
