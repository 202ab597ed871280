"""Ingest of official yearly files in both layouts, checked against the raw files."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from core import config
from core.ingest.pipeline import run_ingest
from core.ingest.sources import Source
from tests.conftest import EXCERPT_2021, OFFICIAL_2013


def _read_official(path: Path) -> list[dict[str, str]]:
    """Read an official 2019+ file with the csv module (independent of DuckDB)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _parquet(folder: Path, file: str) -> pd.DataFrame:
    # Arrow-backed columns keep UBIGINT H3 cells exact (NumPy would turn them into floats beside NULLs).
    return pd.read_parquet(folder / file, dtype_backend="pyarrow")


def test_cli_ingests_the_2021_excerpt(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "ingest", "--source", str(EXCERPT_2021), "--out", str(tmp_path)],
        cwd=config.ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = tmp_path / config.PARQUET_SUBDIR
    carac = _read_official(EXCERPT_2021 / "caracteristiques-2021.csv")
    users = _read_official(EXCERPT_2021 / "usagers-2021.csv")
    vehicles = _read_official(EXCERPT_2021 / "vehicules-2021.csv")
    accidents = _parquet(store, config.ACCIDENTS_FILE).set_index("acc_id")
    assert len(accidents) == len(carac) == 20
    assert len(_parquet(store, config.USERS_FILE)) == len(users)
    assert len(_parquet(store, config.VEHICLES_FILE)) == len(vehicles)
    for row in carac:
        stored = accidents.loc[int(row["Num_Acc"])]
        hour, minute = (int(x) for x in row["hrmn"].split(":"))
        assert (stored.year, stored.month, stored.day) == (int(row["an"]), int(row["mois"]), int(row["jour"]))
        assert (stored.hour, stored.minute) == (hour, minute)
        assert stored.com == row["com"]
        assert stored.lat == pytest.approx(float(row["lat"].replace(",", ".")))
        assert stored.lon == pytest.approx(float(row["long"].replace(",", ".")))
        assert stored.atm == int(row["atm"]) or (int(row["atm"]) == -1 and pd.isna(stored.atm))
    killed = {}
    for u in users:
        killed[int(u["Num_Acc"])] = killed.get(int(u["Num_Acc"]), 0) + (u["grav"].strip() == "2")
    assert accidents["n_killed"].to_dict() == killed


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].sort_values("acc_id").reset_index(drop=True)


def test_official_2013_files_read_like_the_archive(tmp_path: Path, full_store: Path) -> None:
    """The pre-2019 yearly files give, column by column, the archive's values for 2013."""
    result = run_ingest([Source("folder", OFFICIAL_2013)], tmp_path)
    yearly = _parquet(result.store, config.ACCIDENTS_FILE)
    con = duckdb.connect()
    ids = [int(i) for i in yearly["acc_id"]]
    archive = con.sql(
        "SELECT * FROM read_parquet($path) WHERE list_contains($ids, acc_id)",
        params={"path": str(full_store / config.ACCIDENTS_FILE), "ids": ids},
    ).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)
    data_lines = len((OFFICIAL_2013 / "caracteristiques_2013.csv").read_bytes().splitlines()) - 1
    assert len(yearly) == len(archive) == data_lines
    # The 2013 folder has no usagers file: victim counts are unknown there, not zero.
    assert yearly["n_users"].isna().all() and yearly["severe"].isna().all()
    shared = [c for c in archive.columns if c not in {"n_users", "n_killed", "n_hospitalised", "n_light",
                                                        "n_unharmed", "severe"}]
    left, right = _comparable(yearly, shared), _comparable(archive, shared)
    for column in shared:
        same = (left[column] == right[column]).fillna(False) | (left[column].isna() & right[column].isna())
        differ = ~same
        assert not differ.any(), f"{column}: {int(differ.sum())} rows differ, e.g. {left[differ].head(3)}"
    vehicles_yearly = _parquet(result.store, config.VEHICLES_FILE)
    vehicles_archive = con.sql(
        "SELECT * FROM read_parquet($path) WHERE list_contains($ids, acc_id)",
        params={"path": str(full_store / config.VEHICLES_FILE), "ids": ids},
    ).to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)
    columns = ["acc_id", "veh", "catv", "obs", "obsm", "choc", "manv"]
    pd.testing.assert_frame_equal(
        vehicles_yearly[columns].sort_values(columns).reset_index(drop=True),
        vehicles_archive[columns].sort_values(columns).reset_index(drop=True),
    )


def test_later_source_wins_a_year_and_the_report_says_so(tmp_path: Path) -> None:
    first = tmp_path / "first"
    import shutil

    shutil.copytree(EXCERPT_2021, first)
    result = run_ingest([Source("folder", first), Source("folder", EXCERPT_2021)], tmp_path / "out")
    assert result.report["years"]["2021"] == str(EXCERPT_2021)
    assert any("replaced" in w for w in result.report["warnings"])
    accidents = [e for e in result.report["tables"] if e["table"] == "accidents"]
    replaced = next(e for e in accidents if e["source"] == str(first))
    assert replaced["kept"] == 0 and replaced["rejected_by_reason"] == {"year replaced by a later source": 20}
    assert len(_parquet(result.store, config.ACCIDENTS_FILE)) == 20


def test_two_runs_write_identical_tables(tmp_path: Path) -> None:
    one = run_ingest([Source("folder", OFFICIAL_2013)], tmp_path / "one").store
    two = run_ingest([Source("folder", OFFICIAL_2013)], tmp_path / "two").store
    for file in (config.ACCIDENTS_FILE, config.USERS_FILE, config.VEHICLES_FILE):
        pd.testing.assert_frame_equal(_parquet(one, file), _parquet(two, file))
