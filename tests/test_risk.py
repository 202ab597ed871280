"""Risk scoring on small literal inputs, and the hexagon counts against independent computations on the real store."""

from __future__ import annotations

import json

import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core import maps, risk
from core.config import parquet_dir
from core.filters import AccidentFilter

# --------------------------------------------------------------------------- literal inputs

def test_shrinkage_pulls_small_cells_toward_the_surrounding_rate() -> None:
    # 2 severe of 4 with prior mean 0.1 and strength 16: (2 + 1.6) / (4 + 16) = 0.18.
    rate, strength = risk.shrink_rates(np.array([4, 400]), np.array([2, 200]), np.array([0.1, 0.1]), strength=16)
    assert rate[0] == pytest.approx(0.18)
    assert rate[1] == pytest.approx((200 + 1.6) / 416)
    assert strength == 16


def test_prior_strength_by_moments() -> None:
    # Rates 0.1 and 0.3 around 0.2 on 100 accidents each: rho = (4 - 0.64) / (0.16 * 99 * 4).
    n = np.array([100, 100, 100, 100])
    s = np.array([10, 30, 10, 30])
    rho = (4 - 0.64) / (0.16 * 99 * 4)
    assert risk.fit_prior_strength(n, s, np.full(4, 0.2)) == pytest.approx(1 / rho - 1)
    # No spread beyond the binomial one: the prior is as strong as allowed.
    assert risk.fit_prior_strength(np.array([100, 100]), np.array([20, 20]), np.full(2, 0.2)) == pytest.approx(9999)


def test_credible_interval_is_the_beta_posterior_quantiles() -> None:
    from scipy import stats

    low, high = risk.rate_interval(np.array([4]), np.array([2]), np.array([0.1]), 16)
    posterior = stats.beta(2 + 1.6, 2 + 14.4)
    assert low[0] == pytest.approx(posterior.ppf(0.025))
    assert high[0] == pytest.approx(posterior.ppf(0.975))


def test_wilson_interval_and_relative_risk() -> None:
    low, high = risk.share_interval(np.array([5]), np.array([10]))
    assert (round(float(low[0]), 4), round(float(high[0]), 4)) == (0.2366, 0.7634)
    rr, rr_low, rr_high = risk.relative_risk(np.array([6, 0]), np.array([20, 10]), 0.15)
    assert rr[0] == pytest.approx(2.0)
    assert rr[1] == 0
    assert rr_low[0] < 2 < rr_high[0]
    with pytest.raises(ValueError):
        risk.relative_risk(np.array([1]), np.array([2]), 0.0)


def _counts(accidents, severe, hits=None, known=None) -> pd.DataFrame:
    cells = [h3.str_to_int(c) for c in ("851fb467fffffff", "851fb463fffffff", "851fb473fffffff")][: len(accidents)]
    return pd.DataFrame({
        "cell": np.array(cells, dtype=np.uint64), "accidents": accidents, "severe": severe,
        "fatal": [0] * len(accidents),
        "cond_hits": hits or [0] * len(accidents), "cond_known": known or accidents,
        "atm_mode": [1] * len(accidents), "lum_mode": [1] * len(accidents),
    })


def test_minimum_count_masks_rates_but_not_counts() -> None:
    counts = _counts([3, 30, 300], [1, 10, 100])
    rate = risk.score_hexes(counts, resolution=5, metric="severity_rate", min_count=20, n_years=3)
    assert rate["masked"].tolist() == [True, False, False]
    assert np.isnan(rate["value"][0]) and np.isnan(rate["rate_low"][0])
    assert rate["rate_low"][1] < rate["rate"][1] < rate["rate_high"][1]
    per_year = risk.score_hexes(counts, resolution=5, metric="accidents_per_year", min_count=20, n_years=3)
    assert per_year["value"].tolist() == [1, 10, 100]
    assert not per_year["masked"].any()


def test_relative_risk_masks_on_accidents_with_the_condition_known() -> None:
    counts = _counts([30, 30], [1, 1], hits=[9, 3], known=[30, 10])
    scored = risk.score_hexes(counts, resolution=5, metric="relative_risk", min_count=20, n_years=1,
                              national_share=0.15)
    assert scored["value"][0] == pytest.approx(0.3 / 0.15)
    assert bool(scored["masked"][1]) and np.isnan(scored["value"][1])


def test_midnight_wrapping_hours() -> None:
    assert risk.hours_in((22, 4)) == [22, 23, 0, 1, 2, 3, 4]
    assert risk.hours_in((4, 4)) == [4]
    assert risk.hours_in((0, 23)) == list(range(24))


def test_vectorised_parents_match_h3() -> None:
    # Paris (Notre-Dame), Marseille (Vieux-Port), Saint-Denis de La Réunion.
    cells = [h3.latlng_to_cell(lat, lon, 9) for lat, lon in ((48.853, 2.3499), (43.2951, 5.3744), (-20.882, 55.45))]
    for resolution in (5, 6, 7, 8):
        got = risk.cells_to_parents(np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64), resolution)
        assert [h3.int_to_str(int(c)) for c in got] == [h3.cell_to_parent(c, resolution) for c in cells]


def test_resolution_follows_the_extent() -> None:
    assert risk.resolution_for_extent((-5.2, 42.3, 8.3, 51.1)) == 5
    assert risk.resolution_for_extent((4.24, 45.45, 5.16, 46.31)) in (7, 8)  # Rhône
    assert risk.resolution_for_extent((2.22, 48.81, 2.47, 48.90)) == 9  # Paris


def test_colour_classes_and_compact_rows() -> None:
    classes = maps.classify(np.array([0.5, 1.0, 1.5, 9.0, np.nan]), [1.0, 2.0], masked=np.array([0, 0, 1, 0, 0]))
    assert classes.tolist() == [0, 0, -1, 2, -1]
    text = maps.rows_json([np.array(["871fb4662ffffff", "8719499adffffff"], dtype=object), np.array([3, -1]),
                           ["12,3 % [1,0–20,0]", ""]])
    assert json.loads(text) == [["871fb4662ffffff", 3, "12,3 % [1,0–20,0]"], ["8719499adffffff", -1, ""]]


def test_map_options_round_trip_and_bad_values() -> None:
    options = maps.MapOptions(metric="relative_risk", condition="night", resolution=8, min_count=5,
                              hide_masked=True, view=(45.76, 4.84, 11.0))
    assert maps.MapOptions.from_params(options.to_params()) == options
    assert maps.MapOptions.from_params({"metric": "x", "res": "12", "view": "a,b", "min": "-3"}) == \
        maps.MapOptions(min_count=1)


# --------------------------------------------------------------------------- real store

@pytest.fixture(scope="module")
def facts(store_con) -> risk.HexFacts:
    return risk.load_facts(store_con)


@pytest.fixture(scope="module")
def located() -> pd.DataFrame:
    """The located accidents read straight from the Parquet file, with pandas."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(parquet_dir() / "accidents.parquet",
                          columns=["acc_id", "year", "hour", "dep", "atm", "lum", "n_killed", "n_hospitalised",
                                   "lat", "lon", "h3_6"])
    return table.filter(pc.is_valid(table["h3_6"])).to_pandas()


FILTERS = [
    AccidentFilter(),
    AccidentFilter(atm=(2, 3), hours=(22, 4)),
    AccidentFilter(years=(2016, 2020), deps=("69",), lum=(3, 4, 5), outcome="severe"),
    AccidentFilter(regions=("93",), weekdays=(5, 6), months=(7, 8), involves=("two_wheeler",), catr=(3,)),
    AccidentFilter(deps=("75",), vehicle_groups=("bicycle",), outcome="fatal"),
]


@pytest.mark.parametrize("accident_filter", FILTERS, ids=lambda f: str(f.to_params()) or "all")
def test_mask_matches_the_sql_filter(facts, store_con, accident_filter) -> None:
    mask = risk.filter_mask(facts, accident_filter, con=store_con)
    where, params = accident_filter.to_sql()
    ids = store_con.execute(f"SELECT acc_id FROM accidents WHERE h3_5 IS NOT NULL AND {where} ORDER BY acc_id",
                            params).fetchnumpy()["acc_id"]
    assert np.array_equal(facts.columns["acc_id"][mask], ids)


def test_sql_only_fields_need_a_connection(facts) -> None:
    with pytest.raises(ValueError, match="connection"):
        risk.filter_mask(facts, AccidentFilter(vehicle_groups=("hgv",)))


def test_hex_counts_match_pandas_on_parquet(facts, located) -> None:
    accident_filter = AccidentFilter(atm=(2, 3), hours=(22, 4))
    counts = risk.aggregate_hexes(facts, risk.filter_mask(facts, accident_filter), 6, condition="night")
    rows = located[located["atm"].isin([2, 3]) & ((located["hour"] >= 22) | (located["hour"] <= 4))]
    rows = rows.assign(severe=(rows["n_killed"].fillna(0) + rows["n_hospitalised"].fillna(0)) > 0,
                       night=rows["lum"].isin([3, 4, 5]))
    expected = rows.groupby("h3_6").agg(accidents=("acc_id", "size"), severe=("severe", "sum"),
                                        hits=("night", "sum"), known=("lum", "count"))
    got = counts.set_index(counts["cell"].astype("uint64"))
    expected.index = expected.index.astype("uint64")
    assert len(got) == len(expected)
    assert (got["accidents"] == expected["accidents"].reindex(got.index)).all()
    assert (got["severe"] == expected["severe"].reindex(got.index)).all()
    assert (got["cond_hits"] == expected["hits"].reindex(got.index)).all()
    assert (got["cond_known"] == expected["known"].reindex(got.index)).all()
    # Most frequent weather of the busiest cell, by pandas.
    busiest = int(got["accidents"].idxmax())
    weather = rows[rows["h3_6"].astype("uint64") == busiest]["atm"].value_counts()
    assert int(got.loc[busiest, "atm_mode"]) == int(weather.index[weather == weather.max()].min())


def test_capping_coarsens_until_under_the_cap(facts) -> None:
    mask = risk.filter_mask(facts, AccidentFilter())
    counts, used = risk.aggregate_capped(facts, mask, 9, cap=50_000)
    distinct = {r: len(np.unique(facts.cell_index[r])) for r in (5, 6, 7, 8, 9)}
    assert used == max(r for r in distinct if distinct[r] <= 50_000)
    assert len(counts) <= 50_000
    assert counts["accidents"].sum() == mask.sum()


def test_hex_risk_of_paris_extent_and_hotspots(facts, located, store_con) -> None:
    bbox = (2.22, 48.81, 2.47, 48.90)
    result = risk.hex_risk(facts, AccidentFilter(years=(2019, 2020)), metric="severity_rate", resolution=9,
                           extent=bbox, min_count=10)
    inside = located[(located["year"] >= 2019) & located["lon"].between(bbox[0], bbox[2])
                     & located["lat"].between(bbox[1], bbox[3])]
    assert result.scored["accidents"].sum() == len(inside)
    top = risk.hotspots(result.scored, facts, result.mask, result.resolution, top=5)
    assert len(top) == 5
    assert (top["value"].diff().dropna() <= 0).all()
    assert set(top["dep"]) <= {"75", "92", "93", "94"}
    assert not top["masked"].any()
    # The same five by pandas: rated cells sorted by value then accidents, and each cell's commonest department.
    rated = result.scored[~result.scored["masked"]].sort_values(["value", "accidents"], ascending=False, kind="stable")
    assert top["cell"].tolist() == rated["cell"].head(5).tolist()
    table = pq.read_table(parquet_dir() / "accidents.parquet", columns=["acc_id", "h3_9", "dep"])
    cells = table.filter(table["h3_9"].is_valid()).to_pandas()  # no NULL: the cells stay exact uint64
    in_top = cells[cells["acc_id"].isin(inside["acc_id"]) & cells["h3_9"].isin(top["cell"])]
    def first_commonest(deps: pd.Series) -> str:
        counts = deps.value_counts()
        return sorted(counts[counts == counts.max()].index)[0]

    commonest = in_top.groupby("h3_9")["dep"].agg(first_commonest)
    assert dict(zip(top["cell"], top["dep"], strict=True)) == commonest.to_dict()


def test_national_share_of_rain_matches_sql(facts, store_con) -> None:
    share = risk.national_share(facts, AccidentFilter(deps=("29",), years=(2018, 2020)), "rain")
    hits, known = store_con.execute(
        "SELECT count(*) FILTER (WHERE atm IN (2, 3)), count(atm) FROM accidents "
        "WHERE h3_5 IS NOT NULL AND year BETWEEN 2018 AND 2020").fetchall()[0]
    assert share == pytest.approx(hits / known)


def test_exports_carry_the_displayed_hexes(facts) -> None:
    result = risk.hex_risk(facts, AccidentFilter(deps=("2A",)), metric="accidents_per_year", resolution=7)
    csv = risk.export_csv(result.scored)
    assert csv.count("\n") == len(result.scored) + 1
    collection = json.loads(risk.export_geojson(result.scored))
    assert len(collection["features"]) == len(result.scored)
    first = collection["features"][0]
    assert h3.is_valid_cell(first["properties"]["h3"])
    assert first["properties"]["meteo_frequente"] in {*__import__("core.codebook").codebook.codes_of("atm").values(),
                                                      "Non renseigné"}


def test_cell_ids_are_h3_strings_for_real_cells_at_every_resolution(store_con) -> None:
    rows = store_con.execute(
        "SELECT h3_5, h3_6, h3_7, h3_8, h3_9 FROM accidents WHERE h3_9 IS NOT NULL USING SAMPLE 3000 ROWS"
    ).fetchnumpy()
    for column, cells in rows.items():
        cells = np.asarray(cells, dtype=np.uint64)
        assert risk.cell_ids(cells) == [h3.int_to_str(int(c)) for c in cells], column
    # Values that are not H3 cells still come out as their hexadecimal digits.
    assert risk.cell_ids(np.array([0, 255], dtype=np.uint64)) == ["0", "ff"]
    assert risk.cell_ids(np.array([], dtype=np.uint64)) == []


def test_deck_json_writes_the_outlines_once_and_keeps_them_exact() -> None:
    outlines = maps.load_outlines()
    layers = [maps.hex_layer([(1, 2, 3)]), maps.outline_layer(outlines)]
    first = maps.deck_json(layers, view=maps.FRANCE_VIEW, tooltip={}, hex_rows='[["871fb4662ffffff",0]]')
    second = maps.deck_json(layers, view=maps.FRANCE_VIEW, tooltip={}, hex_rows="[]")
    spec = json.loads(first.spec_json)
    assert spec["layers"][1]["data"] == outlines
    assert spec["layers"][0]["data"] == [["871fb4662ffffff", 0]]
    assert json.loads(second.spec_json)["layers"][1]["data"] == outlines
