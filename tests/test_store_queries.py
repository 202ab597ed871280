"""The DuckDB store and the shared filtered aggregate, checked against pandas on the Parquet files."""

from __future__ import annotations

import shutil
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core import codebook, config, places, queries, store
from core.filters import AccidentFilter, FilterError


@pytest.fixture(scope="module")
def accidents(full_store: Path) -> pd.DataFrame:
    return pd.read_parquet(full_store / config.ACCIDENTS_FILE, dtype_backend="pyarrow")


@pytest.fixture(scope="module")
def users(full_store: Path) -> pd.DataFrame:
    return pd.read_parquet(full_store / config.USERS_FILE, columns=["acc_id", "catu", "birth_year"])


@pytest.fixture(scope="module")
def vehicles(full_store: Path) -> pd.DataFrame:
    return pd.read_parquet(full_store / config.VEHICLES_FILE, columns=["acc_id", "catv"])


def test_h3_cells_match_the_h3_library(accidents: pd.DataFrame) -> None:
    located = accidents.dropna(subset=["lat"]).sample(2000, random_state=1)
    for row in located.itertuples():
        finest = h3.latlng_to_cell(row.lat, row.lon, 9)
        assert h3.str_to_int(finest) == row.h3_9
        for res in (5, 6, 7, 8):
            assert h3.str_to_int(h3.cell_to_parent(finest, res)) == getattr(row, f"h3_{res}")


def test_located_points_lie_in_their_department(accidents: pd.DataFrame) -> None:
    boxes = places.department_bboxes()
    located = accidents.dropna(subset=["lat", "dep"])
    located = located[located["dep"].isin(list(boxes))].sample(20_000, random_state=2)
    box = np.array([boxes[d] for d in located["dep"]])
    margin = 0.11
    lon, lat = located["lon"].to_numpy(float), located["lat"].to_numpy(float)
    inside = (
        (lon >= box[:, 0] - margin) & (lon <= box[:, 2] + margin)
        & (lat >= box[:, 1] - margin) & (lat <= box[:, 3] + margin)
    )
    assert inside.all()


def _pandas_totals(frame: pd.DataFrame) -> dict[str, int]:
    return {
        "accidents": len(frame),
        "severe_accidents": int(frame["severe"].fillna(False).sum()),
        "killed": int(frame["n_killed"].sum()),
        "hospitalised": int(frame["n_hospitalised"].sum()),
    }


def _query_totals(con, accident_filter: AccidentFilter) -> dict[str, int]:
    row = queries.aggregate(con, accident_filter).iloc[0]
    return {k: int(row[k]) for k in ("accidents", "severe_accidents", "killed", "hospitalised")}


def test_unfiltered_totals(store_con, accidents: pd.DataFrame) -> None:
    assert _query_totals(store_con, AccidentFilter()) == _pandas_totals(accidents)


def test_hours_wrapping_midnight_weekdays_and_weather(store_con, accidents: pd.DataFrame) -> None:
    f = AccidentFilter(years=(2016, 2020), hours=(22, 4), weekdays=(5, 6), atm=(2, 3))
    a = accidents
    hour = a["hour"]
    expected = a[a["year"].between(2016, 2020) & ((hour >= 22) | (hour <= 4)) & a["weekday"].isin([5, 6])
                 & a["atm"].isin([2, 3])]
    assert _query_totals(store_con, f) == _pandas_totals(expected)
    daytime = AccidentFilter(years=(2016, 2020), hours=(8, 9))
    assert _query_totals(store_con, daytime)["accidents"] == int(
        (a["year"].between(2016, 2020) & a["hour"].between(8, 9)).sum()
    )


def test_region_department_and_outcome(store_con, accidents: pd.DataFrame) -> None:
    bretagne = [d for d in places.departments_in_regions(["53"])]
    f = AccidentFilter(regions=("53",), deps=("75",), outcome="fatal", months=(6, 7, 8))
    a = accidents
    expected = a[a["dep"].isin(bretagne + ["75"]) & (a["n_killed"] > 0) & a["month"].isin([6, 7, 8])]
    assert _query_totals(store_con, f) == _pandas_totals(expected)


def test_involved_road_users(store_con, accidents, users, vehicles) -> None:
    pedestrian_acc = set(users.loc[users["catu"] == codebook.PEDESTRIAN_CATU, "acc_id"])
    hgv_acc = set(vehicles.loc[vehicles["catv"].isin(list(codebook.HGV_CATV)), "acc_id"])
    f = AccidentFilter(years=(2019, 2020), involves=("pedestrian", "hgv"))
    a = accidents[accidents["year"].between(2019, 2020)]
    expected = a[a["acc_id"].isin(pedestrian_acc | hgv_acc)]
    assert _query_totals(store_con, f) == _pandas_totals(expected)


def test_age_and_vehicle_groups(store_con, accidents, users, vehicles) -> None:
    young = users[(users["acc_id"] // 100_000_000 - users["birth_year"]).between(18, 24)]
    bikes = vehicles[vehicles["catv"].isin(list(codebook.BICYCLE_CATV))]
    f = AccidentFilter(years=(2020, 2020), age_groups=("18-24",), vehicle_groups=("bicycle",))
    a = accidents[accidents["year"] == 2020]
    expected = a[a["acc_id"].isin(set(young["acc_id"])) & a["acc_id"].isin(set(bikes["acc_id"]))]
    assert _query_totals(store_con, f) == _pandas_totals(expected)


def test_grouped_aggregate_matches_pandas(store_con, accidents: pd.DataFrame) -> None:
    got = queries.aggregate(store_con, AccidentFilter(lum=(3,)), by=["year", "agg"])
    a = accidents[accidents["lum"] == 3]
    expected = a.groupby(["year", "agg"], dropna=False).size()
    assert got.set_index(["year", "agg"])["accidents"].to_dict() == {
        (int(y), None if pd.isna(g) else int(g)): int(n) for (y, g), n in expected.items()
    }


def test_group_columns_come_from_an_allowlist(store_con) -> None:
    with pytest.raises(ValueError, match="cannot group"):
        queries.aggregate(store_con, AccidentFilter(), by=["year; DROP TABLE accidents"])


@pytest.mark.parametrize(
    ("params", "field"),
    [({"years": "2020-2010"}, "years"), ({"hours": "25-3"}, "hours"), ({"atm": "2,77"}, "atm"),
     ({"deps": "75' OR 1=1"}, "deps"), ({"outcome": "deadly"}, "outcome"), ({"weekdays": "7"}, "weekdays"),
     ({"months": "x"}, "months"), ({"vehicle_groups": "tank"}, "vehicle_groups")],
)
def test_bad_filter_values_name_their_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(FilterError, match=f"^{field}"):
        AccidentFilter.from_params(params)


def test_filter_round_trips_through_url_params() -> None:
    f = AccidentFilter(years=(2010, 2015), regions=("11",), atm=(2,), hours=(23, 2), weekdays=(4,),
                       involves=("bicycle",), outcome="severe", age_groups=("75+",))
    assert AccidentFilter.from_params(f.to_params()) == f
    assert AccidentFilter.from_params({}) == AccidentFilter()


ACCIDENT_CONTRACT = [
    "acc_id", "year", "month", "day", "hour", "minute", "weekday", "dep", "com", "lat", "lon",
    "h3_5", "h3_6", "h3_7", "h3_8", "h3_9", "lum", "agg", "int", "atm", "col", "catr", "circ", "surf", "situ", "vma",
    "n_users", "n_vehicles", "n_killed", "n_hospitalised", "n_light", "n_unharmed", "severe",
]


def test_store_rebuilt_from_parquet_equals_the_one_ingest_wrote(excerpt_store: Path, tmp_path: Path) -> None:
    """`python -m core store` (from the Parquet files) and ingest (from its tables in memory) agree."""
    copy = tmp_path / "parquet"
    copy.mkdir()
    for name in ("accidents", "users", "vehicles"):
        shutil.copy(excerpt_store / f"{name}.parquet", copy / f"{name}.parquet")
    store.build_database(copy)
    written, rebuilt = store.connect(excerpt_store), store.connect(copy)
    try:
        for table in ("accidents", "users", "vehicles", "explorer_meta"):
            order = "ORDER BY ALL" if table != "accidents" else "ORDER BY acc_id"
            a = written.execute(f"SELECT * FROM {table} {order}").fetch_df()
            b = rebuilt.execute(f"SELECT * FROM {table} {order}").fetch_df()
            pd.testing.assert_frame_equal(a, b, check_dtype=True)
        columns = [r[0] for r in written.execute("DESCRIBE accidents").fetchall()]
        # The contract's columns first, then the flags and the explorer's facts; the Parquet file has the contract.
        assert columns[: len(ACCIDENT_CONTRACT)] == ACCIDENT_CONTRACT
        assert pq.read_schema(excerpt_store / "accidents.parquet").names == ACCIDENT_CONTRACT
        flags = written.execute(
            "SELECT acc_id, has_pedestrian, has_two_wheeler FROM accidents ORDER BY acc_id").fetchall()
        pedestrians = {r[0] for r in written.execute("SELECT acc_id FROM users WHERE catu = 3").fetchall()}
        two_wheelers = {r[0] for r in written.execute(
            "SELECT acc_id FROM vehicles WHERE catv IN (2, 4, 5, 6, 30, 31, 32, 33, 34)").fetchall()}
        assert [(acc, acc in pedestrians, acc in two_wheelers) for acc, *_ in flags] == flags
    finally:
        written.close()
        rebuilt.close()
