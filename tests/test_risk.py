"""Risk scoring on small literal inputs, and the hexagon counts against independent computations on the real store."""

from __future__ import annotations

import json

import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core import coverage, places
from core.config import parquet_dir
from core.filters import AccidentFilter
from core.formatting import format_count, format_decimal, format_percent
from core.h3cells import cell_ids, cells_to_parents
from core.maps import deck, hexagons, legend, views
from core.maps.options import MapOptions
from core.queries import located_by_year
from core.risk import scoring, texts
from core.risk.choices import resolution_for_extent
from core.risk.counts import aggregate_hexes, capped_resolution
from core.risk.export import export_csv, export_geojson
from core.risk.facts import HexFacts
from core.risk.hexes import hex_risk, national_share
from core.risk.hotspots import hotspot_names, hotspot_table, hotspots
from core.risk.loading import load_facts
from core.risk.masks import filter_mask
from core.risk.texts import empty_reason, meaningless_reason

# --------------------------------------------------------------------------- literal inputs

def test_shrinkage_pulls_small_cells_toward_the_surrounding_rate() -> None:
    # 2 severe of 4 with prior mean 0.1 and strength 16: (2 + 1.6) / (4 + 16) = 0.18.
    alpha, beta = scoring.rate_posterior(np.array([4, 400]), np.array([2, 200]), np.array([0.1, 0.1]), 16)
    rate = alpha / (alpha + beta)
    assert rate[0] == pytest.approx(0.18)
    assert rate[1] == pytest.approx((200 + 1.6) / 416)
    assert alpha + beta == pytest.approx([20, 416])


def test_prior_strength_by_moments() -> None:
    # Rates 0.1 and 0.3 around 0.2 on 100 accidents each: rho = (4 - 0.64) / (0.16 * 99 * 4).
    n = np.array([100, 100, 100, 100])
    s = np.array([10, 30, 10, 30])
    rho = (4 - 0.64) / (0.16 * 99 * 4)
    assert scoring.fit_prior_strength(n, s, np.full(4, 0.2)) == pytest.approx(1 / rho - 1)
    # No spread beyond the binomial one: the prior is as strong as allowed.
    assert scoring.fit_prior_strength(np.array([100, 100]), np.array([20, 20]), np.full(2, 0.2)) == pytest.approx(9999)


def test_credible_interval_is_the_beta_posterior_quantiles() -> None:
    from scipy import stats

    low, high = scoring.beta_interval(*scoring.rate_posterior(np.array([4]), np.array([2]), np.array([0.1]), 16))
    posterior = stats.beta(2 + 1.6, 2 + 14.4)
    assert low[0] == pytest.approx(posterior.ppf(0.025))
    assert high[0] == pytest.approx(posterior.ppf(0.975))


def test_wilson_interval_and_relative_risk() -> None:
    low, high = scoring.share_interval(np.array([5]), np.array([10]))
    assert (round(float(low[0]), 4), round(float(high[0]), 4)) == (0.2366, 0.7634)
    rr, rr_low, rr_high = scoring.relative_risk(np.array([6, 0]), np.array([20, 10]), 0.15)
    assert rr[0] == pytest.approx(2.0)
    assert rr[1] == 0
    assert rr_low[0] < 2 < rr_high[0]
    with pytest.raises(ValueError):
        scoring.relative_risk(np.array([1]), np.array([2]), 0.0)


def _counts(accidents, severe, hits=None, known=None, counted=None) -> pd.DataFrame:
    cells = [h3.str_to_int(c) for c in ("851fb467fffffff", "851fb463fffffff", "851fb473fffffff")][: len(accidents)]
    return pd.DataFrame({
        "cell": np.array(cells, dtype=np.uint64), "accidents": accidents, "severe": severe,
        "fatal": [0] * len(accidents),
        "cond_hits": hits or [0] * len(accidents), "cond_known": known or accidents,
        "atm_mode": [1] * len(accidents), "lum_mode": [1] * len(accidents),
        "per_year": [a / 3 for a in accidents], "severe_per_year": [s / 3 for s in severe],
        "counted": counted or accidents,
    })


def test_minimum_count_masks_rates_but_not_counts() -> None:
    counts = _counts([3, 30, 300], [1, 10, 100])
    rate = scoring.score_hexes(counts, resolution=5, metric="severity_rate", min_count=20)
    assert rate["masked"].tolist() == [True, False, False]
    assert np.isnan(rate["value"][0]) and np.isnan(rate["rate_low"][0])
    assert rate["rate_low"][1] < rate["rate"][1] < rate["rate_high"][1]
    per_year = scoring.score_hexes(counts, resolution=5, metric="accidents_per_year", min_count=20)
    assert per_year["value"].tolist() == [1, 10, 100]
    assert not per_year["masked"].any()


def test_per_year_masks_cells_without_a_counted_year() -> None:
    counts = _counts([3, 30], [1, 10], counted=[0, 30])
    scored = scoring.score_hexes(counts, resolution=5, metric="severe_per_year", min_count=1)
    assert scored["masked"].tolist() == [True, False]
    assert np.isnan(scored["value"][0]) and scored["value"][1] == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="weights"):
        scoring.score_hexes(counts.drop(columns="per_year"), resolution=5, metric="accidents_per_year", min_count=1)


def test_relative_risk_masks_on_accidents_with_the_condition_known() -> None:
    counts = _counts([30, 30], [1, 1], hits=[9, 3], known=[30, 10])
    scored = scoring.score_hexes(counts, resolution=5, metric="relative_risk", min_count=20, national_share=0.15)
    assert scored["value"][0] == pytest.approx(0.3 / 0.15)
    assert bool(scored["masked"][1]) and np.isnan(scored["value"][1])


def test_vectorised_parents_match_h3() -> None:
    # Paris (Notre-Dame), Marseille (Vieux-Port), Saint-Denis de La Réunion.
    cells = [h3.latlng_to_cell(lat, lon, 9) for lat, lon in ((48.853, 2.3499), (43.2951, 5.3744), (-20.882, 55.45))]
    for resolution in (5, 6, 7, 8):
        got = cells_to_parents(np.array([h3.str_to_int(c) for c in cells], dtype=np.uint64), resolution)
        assert [h3.int_to_str(int(c)) for c in got] == [h3.cell_to_parent(c, resolution) for c in cells]


def test_resolution_follows_the_extent() -> None:
    assert resolution_for_extent((-5.2, 42.3, 8.3, 51.1)) == 5
    assert resolution_for_extent((4.24, 45.45, 5.16, 46.31)) in (7, 8)  # Rhône
    assert resolution_for_extent((2.22, 48.81, 2.47, 48.90)) == 9  # Paris


def test_colour_classes_and_compact_rows() -> None:
    classes = legend.classify(np.array([0.5, 1.0, 1.5, 9.0, np.nan]), [1.0, 2.0], masked=np.array([0, 0, 1, 0, 0]))
    assert classes.tolist() == [0, 0, -1, 2, -1]
    text = deck.rows_json([np.array(["871fb4662ffffff", "8719499adffffff"], dtype=object), np.array([3, -1]),
                           ["12,3 % [1,0–20,0]", ""]])
    assert json.loads(text) == [["871fb4662ffffff", 3, "12,3 % [1,0–20,0]"], ["8719499adffffff", -1, ""]]


def test_map_options_round_trip_and_bad_values() -> None:
    options = MapOptions(metric="relative_risk", condition="night", resolution=8, min_count=5,
                         hide_masked=True, view=(45.76, 4.84, 11.0), marked="871fb4662ffffff")
    assert MapOptions.read_params(options.to_params()) == (options, [])
    read, notes = MapOptions.read_params({"metric": "x", "res": "12", "view": "a,b", "min": "-3"})
    assert read == MapOptions(min_count=1)
    assert len(notes) == 4


@pytest.mark.parametrize(("params", "expected", "quoted"), [
    ({"min": "1001"}, MapOptions(min_count=1000), "« 1001 »"),
    ({"min": "0"}, MapOptions(min_count=1), "« 0 »"),
    ({"min": "vingt"}, MapOptions(), "« vingt »"),
    ({"res": "42"}, MapOptions(), "« 42 »"),
    ({"view": "48.85,2.35,40"}, MapOptions(), "« 48.85,2.35,40 »"),
    ({"view": "95,2.35,10"}, MapOptions(), "« 95,2.35,10 »"),
    ({"metric": "[lien](https://x.example)"}, MapOptions(), "« [lien](https://x.example) »"),
    ({"cond": "grele"}, MapOptions(), "« grele »"),
    ({"mark": "pas-un-hexagone"}, MapOptions(), "« pas-un-hexagone »"),
], ids=lambda v: str(v)[:30])
def test_out_of_range_link_values_are_clamped_or_reset_with_a_french_note(params, expected, quoted) -> None:
    options, notes = MapOptions.read_params(params)
    assert options == expected
    assert len(notes) == 1 and quoted in notes[0]


# --------------------------------------------------------------------------- real store

@pytest.fixture(scope="module")
def facts(store_con) -> HexFacts:
    return load_facts(store_con)


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
    AccidentFilter(regions=("84",), deps=("75", "971"), hours=(4, 4), surf=(2,), agg=(1,)),
    AccidentFilter(hours=(0, 23), col=(6,), user_categories=(3,), age_groups=("75+",)),
]


@pytest.mark.parametrize("accident_filter", FILTERS, ids=lambda f: str(f.to_params()) or "all")
def test_mask_matches_the_sql_filter(facts, store_con, accident_filter) -> None:
    mask = filter_mask(facts, accident_filter, con=store_con)
    where, params = accident_filter.to_sql()
    ids = store_con.execute(f"SELECT acc_id FROM accidents WHERE h3_5 IS NOT NULL AND {where} ORDER BY acc_id",
                            params).fetchnumpy()["acc_id"]
    assert np.array_equal(facts.columns["acc_id"][mask], ids)


def test_sql_only_fields_need_a_connection(facts) -> None:
    with pytest.raises(ValueError, match="connection"):
        filter_mask(facts, AccidentFilter(vehicle_groups=("hgv",)))


def test_hex_counts_match_pandas_on_parquet(facts, located) -> None:
    accident_filter = AccidentFilter(atm=(2, 3), hours=(22, 4))
    counts = aggregate_hexes(facts, filter_mask(facts, accident_filter), 6, condition="night")
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
    mask = filter_mask(facts, AccidentFilter())
    used = capped_resolution(facts, mask, 9, cap=50_000)
    distinct = {r: len(np.unique(facts.cell_index[r])) for r in (5, 6, 7, 8, 9)}
    assert used == max(r for r in distinct if distinct[r] <= 50_000)
    result = hex_risk(facts, AccidentFilter(), metric="accidents_per_year", resolution=9, cap=50_000)
    assert (result.resolution, len(result.scored)) == (used, distinct[used])
    assert result.scored["accidents"].sum() == mask.sum()


def test_hex_risk_of_paris_extent_and_hotspots(facts, located, store_con) -> None:
    bbox = (2.22, 48.81, 2.47, 48.90)
    result = hex_risk(facts, AccidentFilter(years=(2019, 2020)), metric="severity_rate", resolution=9,
                      extent=bbox, min_count=10)
    inside = located[(located["year"] >= 2019) & located["lon"].between(bbox[0], bbox[2])
                     & located["lat"].between(bbox[1], bbox[3])]
    # The cells shown are those with an accident in the box, each with all its 2019-2020 accidents.
    table = pq.read_table(parquet_dir() / "accidents.parquet", columns=["acc_id", "year", "h3_9"])
    cells = table.filter(table["h3_9"].is_valid()).to_pandas()  # no NULL: the cells stay exact uint64
    seen = cells[cells["acc_id"].isin(inside["acc_id"])]["h3_9"].unique()
    per_cell = cells[(cells["year"] >= 2019) & cells["h3_9"].isin(seen)].groupby("h3_9").size()
    assert sorted(result.scored["cell"].tolist()) == sorted(per_cell.index.tolist())
    assert (result.scored.set_index("cell")["accidents"] == per_cell.reindex(result.scored["cell"])).all()
    top = hotspots(result.scored, facts, result.mask, result.resolution, metric="severity_rate", top=5)
    assert len(top) == 5
    assert (top["value"].diff().dropna() <= 0).all()
    assert set(top["dep"]) <= {"75", "92", "93", "94"}
    assert not top["masked"].any()
    # The same five by pandas: rated cells sorted by value then accidents, and each cell's commonest department.
    rated = result.scored[~result.scored["masked"]].sort_values(["value", "accidents"], ascending=False, kind="stable")
    assert top["cell"].tolist() == rated["cell"].head(5).tolist()
    table = pq.read_table(parquet_dir() / "accidents.parquet", columns=["acc_id", "year", "h3_9", "dep"])
    cells = table.filter(table["h3_9"].is_valid()).to_pandas()
    in_top = cells[(cells["year"] >= 2019) & cells["h3_9"].isin(top["cell"])]
    def first_commonest(deps: pd.Series) -> str:
        counts = deps.value_counts()
        return sorted(counts[counts == counts.max()].index)[0]

    commonest = in_top.groupby("h3_9")["dep"].agg(first_commonest)
    assert dict(zip(top["cell"], top["dep"], strict=True)) == commonest.to_dict()


def test_national_share_of_rain_matches_sql(facts, store_con) -> None:
    share = national_share(facts, AccidentFilter(deps=("29",), years=(2018, 2020)), "rain")
    hits, known = store_con.execute(
        "SELECT count(*) FILTER (WHERE atm IN (2, 3)), count(atm) FROM accidents "
        "WHERE h3_5 IS NOT NULL AND year BETWEEN 2018 AND 2020").fetchall()[0]
    assert share == pytest.approx(hits / known)


def test_exports_carry_the_displayed_hexes(facts) -> None:
    result = hex_risk(facts, AccidentFilter(deps=("2A",)), metric="accidents_per_year", resolution=7)
    csv = export_csv(result.scored)
    assert csv.count("\n") == len(result.scored) + 1
    collection = json.loads(export_geojson(result.scored))
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
        assert cell_ids(cells) == [h3.int_to_str(int(c)) for c in cells], column
    # Values that are not H3 cells still come out as their hexadecimal digits.
    assert cell_ids(np.array([0, 255], dtype=np.uint64)) == ["0", "ff"]
    assert cell_ids(np.array([], dtype=np.uint64)) == []


def test_deck_json_writes_the_outlines_once_and_keeps_them_exact() -> None:
    outlines = deck.load_outlines()
    layers = [hexagons.hex_layer([(1, 2, 3)]), deck.outline_layer(outlines)]
    first = deck.deck_json(layers, view=views.FRANCE_VIEW, tooltip={}, hex_rows='[["871fb4662ffffff",0]]')
    second = deck.deck_json(layers, view=views.FRANCE_VIEW, tooltip={}, hex_rows="[]")
    spec = json.loads(first.spec_json)
    assert spec["layers"][1]["data"] == outlines
    assert spec["layers"][0]["data"] == [["871fb4662ffffff", 0]]
    assert json.loads(second.spec_json)["layers"][1]["data"] == outlines


# --------------------------------------------------------------------------- per-year figures

@pytest.fixture(scope="module")
def accidents() -> pd.DataFrame:
    """Every accident read straight from the Parquet file with pandas; cells as exact uint64, 0 when not located."""
    import pyarrow.compute as pc

    columns = ["acc_id", "year", "dep", "agg", "lum", "n_killed", "n_hospitalised", "h3_5", "h3_6", "h3_7"]
    table = pq.read_table(parquet_dir() / "accidents.parquet", columns=columns)
    frame = table.drop_columns(["h3_5", "h3_6", "h3_7"]).to_pandas()
    for column in ("h3_5", "h3_6", "h3_7"):
        frame[column] = pc.fill_null(table[column], 0).to_numpy()
    frame["located"] = frame["h3_5"] != 0
    frame["severe"] = (frame["n_killed"] > 0) | (frame["n_hospitalised"] > 0)
    return frame


def _per_year_by_pandas(accidents: pd.DataFrame, rows: pd.Series, years: tuple[int, int], cell: str) -> pd.DataFrame:
    """The per-year method written again from its description: department-years with 70 % or more of their
    accidents located count; there each located accident stands for the accidents of its stratum (built-up area
    x severe); a department's figure is the mean over its counted years."""
    keys = ["dep", "year", "agg", "severe"]
    strata = accidents.groupby(keys).agg(total=("acc_id", "size"), in_hexagons=("located", "sum"))
    shares = accidents.groupby(["dep", "year"])["located"].mean()
    counted = shares[shares >= 0.7].reset_index()[["dep", "year"]]
    in_range = counted[counted["year"].between(*years)]
    years_per_dep = in_range.groupby("dep").size().rename("n_years")
    chosen = accidents[rows & accidents["located"]].join(strata, on=keys).join(years_per_dep, on="dep")
    is_counted = chosen.set_index(["dep", "year"]).index.isin(counted.set_index(["dep", "year"]).index)
    weight = np.where(is_counted, chosen["total"] / chosen["in_hexagons"] / chosen["n_years"], 0.0)
    chosen = chosen.assign(weight=weight, severe_weight=weight * chosen["severe"])
    return chosen.groupby(cell).agg(per_year=("weight", "sum"), severe_per_year=("severe_weight", "sum"))


@pytest.mark.parametrize(("accident_filter", "resolution"), [
    (AccidentFilter(years=(2012, 2020), deps=("59", "13", "29")), 7),
    (AccidentFilter(years=(2014, 2019), lum=(3, 4, 5)), 6),
], ids=["Nord, Bouches-du-Rhône, Finistère 2012-2020", "France at night 2014-2019"])
def test_per_year_figures_match_pandas_on_parquet(facts, accidents, accident_filter, resolution) -> None:
    rows = accidents["year"].between(*accident_filter.years)
    if accident_filter.deps:
        rows &= accidents["dep"].isin(accident_filter.deps)
    if accident_filter.lum:
        rows &= accidents["lum"].isin(accident_filter.lum)
    cell = f"h3_{resolution}"
    expected = _per_year_by_pandas(accidents, rows, accident_filter.years, cell)
    result = hex_risk(facts, accident_filter, metric="accidents_per_year", resolution=resolution)
    got = result.scored.set_index("cell")
    assert sorted(got.index) == sorted(expected.index.astype("uint64"))
    expected.index = expected.index.astype("uint64")
    assert np.allclose(got["per_year"], expected["per_year"].reindex(got.index), rtol=1e-9, atol=1e-9)
    assert np.allclose(got["severe_per_year"], expected["severe_per_year"].reindex(got.index), rtol=1e-9, atol=1e-9)


def test_a_department_per_year_adds_up_to_its_yearly_accidents(facts, accidents) -> None:
    # Nord over 2005-2020: only 2017-2020 have 70 % of accidents located or more; the hexagons' per-year figures
    # add up to Nord's mean yearly accidents of those years, located or not (every stratum of them has a located
    # accident). Dividing the located accidents by 16 years, as before, gave far less.
    nord = accidents[accidents["dep"] == "59"]
    shares = nord.groupby("year")["located"].mean()
    assert shares[shares >= 0.7].index.tolist() == [2017, 2018, 2019, 2020]
    yearly = nord[nord["year"] >= 2017].groupby("year").size()
    result = hex_risk(facts, AccidentFilter(deps=("59",)), metric="accidents_per_year", resolution=7)
    assert result.scored["per_year"].sum() == pytest.approx(yearly.mean(), rel=1e-9)
    assert result.year_span == (4, 4)
    assert nord["located"].sum() / 16 < 0.6 * yearly.mean()


def test_default_years_are_the_densely_located_years(accidents) -> None:
    shares = accidents.groupby("year")["located"].mean()
    dense = shares[shares >= 0.9].index.tolist()
    assert dense == list(range(coverage.DEFAULT_YEARS[0], coverage.DEFAULT_YEARS[1] + 1))


# --------------------------------------------------------------------------- intervals of the rates

def test_rate_intervals_reflect_each_cells_own_size(facts) -> None:
    # Nord 2005-2020 (the Lille map where cells of 31 and 60 accidents both showed 51,5 % [50,6-52,5]).
    for resolution in (7, 8):
        result = hex_risk(facts, AccidentFilter(deps=("59",)), metric="severity_rate", resolution=resolution)
        rated = result.scored[~result.scored["masked"]]
        width = rated["rate_high"] - rated["rate_low"]
        assert len(rated) >= 5
        # A binomial interval alone is about 2 x 1.96 x sqrt(p(1-p)/n) wide: 0.35 for n = 31 and p = 0.45.
        small = rated["accidents"] < 40
        assert (width[small] > 0.12).all(), rated.assign(width=width)[["accidents", "severe", "rate", "width"]]
    # At resolution 7, the bigger the cell, the narrower its interval.
    result = hex_risk(facts, AccidentFilter(deps=("59",)), metric="severity_rate", resolution=7)
    rated = result.scored[~result.scored["masked"]]
    width = rated["rate_high"] - rated["rate_low"]
    assert width[rated["accidents"] < 40].median() > 1.5 * width[rated["accidents"] >= 80].median()


def _cell_counts(accidents: pd.DataFrame, years: tuple[int, int], cell: str) -> pd.DataFrame:
    rows = accidents[accidents["located"] & accidents["year"].between(*years)]
    counts = rows.groupby(cell).agg(n=("acc_id", "size"), s=("severe", "sum"))
    counts.index = counts.index.astype("uint64")
    return counts


def _year_to_year_variance(first: pd.DataFrame, second: pd.DataFrame) -> float:
    """tau, the variance of a cell's rate from one year to the next beyond sampling noise, as tau * p(1-p).

    Moments on the cells with 5 accidents or more in both years, the national change of rate removed:
    E[(r2 - r1 - shift)^2] = p(1-p) (1/n1 + 1/n2) + 2 tau p(1-p).
    """
    both = first.add_suffix("1").join(second.add_suffix("2"), how="inner")
    both = both[(both["n1"] >= 5) & (both["n2"] >= 5)]
    shift = second["s"].sum() / second["n"].sum() - first["s"].sum() / first["n"].sum()
    p = (both["s1"] + both["s2"]) / (both["n1"] + both["n2"])
    change = both["s2"] / both["n2"] - both["s1"] / both["n1"] - shift
    weight = 1 / (1 / both["n1"] + 1 / both["n2"])
    noise = p * (1 - p) * (1 / both["n1"] + 1 / both["n2"])
    return max(float((weight * (change**2 - noise)).sum() / (weight * 2 * p * (1 - p)).sum()), 0.0)


def _randomised_pit_inside(severe, n, alpha, beta, seed: int) -> np.ndarray:
    """Whether each count falls in the central 95 % of its Beta-binomial predictive distribution.

    A randomised PIT (Czado, Gneiting & Held 2009): for a discrete count, u = F(s - 1) + V P(s), V uniform, is
    exactly uniform under the right model, so that 95 % of the counts fall in [0.025, 0.975] in expectation.
    """
    from scipy import stats

    predictive = stats.betabinom(n, alpha, beta)
    u = predictive.cdf(severe - 1) + np.random.default_rng(seed).random(len(severe)) * predictive.pmf(severe)
    return (u >= 0.025) & (u <= 0.975)


def test_rate_intervals_predict_a_held_out_year(facts, accidents) -> None:
    """Fit on 2019, predict the 2020 severe accidents of every cell with 20 accidents or more in 2020.

    The page shows the posterior interval of a cell's rate over the chosen years. A new year's observed share
    differs from that rate by the posterior uncertainty (what the page shows), by the rate's own change from one
    year to the next, and by the binomial noise of the new year's accidents: the 2020 count is predicted by a
    Beta-binomial whose Beta has the posterior mean and the posterior variance plus tau p(1 - p), tau measured
    between the training years 2018 and 2019 only. 2019 and 2020 share one definition of a severe accident and
    100 % of located accidents (2018 and earlier differ: see core/coverage.py).
    """
    inside, plain = [], []
    for resolution in (5, 6, 7):
        cell = f"h3_{resolution}"
        tau = _year_to_year_variance(_cell_counts(accidents, (2018, 2018), cell),
                                     _cell_counts(accidents, (2019, 2019), cell))
        fit = hex_risk(facts, AccidentFilter(years=(2019, 2019)), metric="severity_rate",
                       resolution=resolution, min_count=1, cap=10**6).scored.set_index("cell")
        held_out = _cell_counts(accidents, (2020, 2020), cell)
        cases = held_out[held_out["n"] >= 20].join(fit[["rate_alpha", "rate_beta"]], how="inner")
        a, b = cases["rate_alpha"].to_numpy(), cases["rate_beta"].to_numpy()
        mean, variance = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
        size = mean * (1 - mean) / (variance + tau * mean * (1 - mean)) - 1
        hit = _randomised_pit_inside(cases["s"].to_numpy(), cases["n"].to_numpy(), mean * size, (1 - mean) * size,
                                     seed=resolution)
        without_change = _randomised_pit_inside(cases["s"].to_numpy(), cases["n"].to_numpy(), a, b, seed=resolution)
        print(f"\nresolution {resolution}: {len(cases)} cells, tau {tau:.4f}, 2020 in the 95 % predictive interval "
              f"{hit.mean():.1%} (posterior and binomial noise only: {without_change.mean():.1%})")
        assert len(cases) >= 200
        assert 0.90 <= hit.mean() <= 0.99
        inside.append(hit)
        plain.append(without_change)
    coverage_2020 = np.concatenate(inside).mean()
    print(f"held-out 2020, resolutions 5-7: coverage {coverage_2020:.1%} of {len(np.concatenate(inside))} cells "
          f"(without the year-to-year change: {np.concatenate(plain).mean():.1%})")
    assert 0.93 <= coverage_2020 <= 0.97


def test_rate_intervals_cover_a_random_half_of_the_same_years(facts, accidents) -> None:
    """Fit on the even-numbered accidents of 2018-2020, predict the odd-numbered ones of each cell.

    Both halves share the same places and years, so the cell's rate is the same: the predictive law is the
    posterior the page shows with the binomial noise of the held-out half, nothing else.
    """
    base = filter_mask(facts, AccidentFilter(years=(2018, 2020)))
    even = facts.columns["acc_id"] % 2 == 0
    inside = []
    for resolution in (5, 6, 7):
        counts = aggregate_hexes(facts, base & even, resolution)
        fit = scoring.score_hexes(counts, resolution=resolution, metric="severity_rate", min_count=1).set_index("cell")
        odd = accidents[(accidents["acc_id"] % 2 == 1)]
        held_out = _cell_counts(odd, (2018, 2020), f"h3_{resolution}")
        cases = held_out[held_out["n"] >= 20].join(fit[["rate_alpha", "rate_beta"]], how="inner")
        hit = _randomised_pit_inside(cases["s"].to_numpy(), cases["n"].to_numpy(), cases["rate_alpha"].to_numpy(),
                                     cases["rate_beta"].to_numpy(), seed=resolution)
        print(f"\nresolution {resolution}: {len(cases)} cells, odd half in the 95 % interval {hit.mean():.1%}")
        inside.append(hit)
    share = np.concatenate(inside).mean()
    print(f"random half of 2018-2020, resolutions 5-7: coverage {share:.1%}")
    assert 0.93 <= share <= 0.97


def test_a_zoomed_cell_keeps_its_figures(facts) -> None:
    # A Lille cell at resolution 7, seen on the whole of France and in a view around it.
    accident_filter = AccidentFilter(years=(2018, 2020))
    whole = hex_risk(facts, accident_filter, metric="severity_rate", resolution=7).scored.set_index("cell")
    cell = h3.latlng_to_cell(50.6326, 3.0573, 7)
    view = views.view_for_cell(cell)
    zoomed = hex_risk(facts, accident_filter, metric="severity_rate", resolution=7,
                      extent=views.bbox_for_view(view)).scored.set_index("cell")
    assert len(zoomed) < len(whole) / 10
    columns = ["accidents", "severe", "rate", "rate_low", "rate_high", "per_year"]
    pd.testing.assert_frame_equal(zoomed[columns], whole.loc[zoomed.index, columns])
    assert h3.str_to_int(cell) in zoomed.index


# --------------------------------------------------------------------------- hotspots, meaning, legend

def test_relative_risk_hotspots_lie_above_one_beyond_chance(facts) -> None:
    result = hex_risk(facts, AccidentFilter(years=(2018, 2020)), metric="relative_risk", resolution=6,
                      condition="rain")
    top = hotspots(result.scored, facts, result.mask, result.resolution, metric="relative_risk")
    assert len(top) == 20
    assert (top["rr_low"] > 1).all() and (top["rr"] > 1).all()
    # Ranked among the cells whose interval lies above 1, by pandas.
    rated = result.scored[~result.scored["masked"] & (result.scored["rr_low"] > 1)]
    best = rated.sort_values(["value", "accidents"], ascending=False, kind="stable").head(20)
    assert top["cell"].tolist() == best["cell"].tolist()
    # Where no cell's interval lies above 1, there is no hotspot (the page says so).
    none = hex_risk(facts, AccidentFilter(deps=("2A",), years=(2020, 2020)), metric="relative_risk",
                    resolution=5, condition="night", min_count=20)
    assert not (none.scored["rr_low"] > 1).any()
    assert hotspots(none.scored, facts, none.mask, none.resolution, metric="relative_risk").empty


@pytest.mark.parametrize(("accident_filter", "metric", "condition", "start"), [
    (AccidentFilter(outcome="severe"), "severity_rate", None, "Taux de gravité sans objet"),
    (AccidentFilter(outcome="fatal"), "severity_rate", "rain", "Taux de gravité sans objet"),
    (AccidentFilter(atm=(2, 3)), "relative_risk", "rain", "Risque relatif de « Pluie » sans objet"),
    (AccidentFilter(atm=(2,)), "relative_risk", "rain", "Risque relatif de « Pluie » sans objet"),
    (AccidentFilter(lum=(3, 4, 5)), "relative_risk", "night", "Risque relatif de « Nuit » sans objet"),
    (AccidentFilter(lum=(1,)), "relative_risk", "night", "Risque relatif de « Nuit » sans objet"),
    (AccidentFilter(atm=(1,)), "severe_per_year", "rain", "Aucun accident"),
], ids=lambda v: str(v)[:40])
def test_meaningless_combinations_are_explained(accident_filter, metric, condition, start) -> None:
    assert meaningless_reason(accident_filter, metric, condition).startswith(start)


@pytest.mark.parametrize(("accident_filter", "metric", "condition"), [
    (AccidentFilter(outcome="severe"), "severe_per_year", None),
    (AccidentFilter(atm=(2, 3, 4)), "relative_risk", "rain"),
    (AccidentFilter(atm=(2, 3)), "severity_rate", "rain"),
    (AccidentFilter(lum=(3, 4, 5)), "relative_risk", "rain"),
], ids=lambda v: str(v)[:40])
def test_meaningful_combinations_draw_a_map(accident_filter, metric, condition) -> None:
    assert meaningless_reason(accident_filter, metric, condition) is None


def test_legend_bins_are_unique_on_real_per_year_values(facts) -> None:
    # Corse-du-Sud at resolution 8: most cells hold one or two accidents of a few counted years, so that the
    # quantiles are close together (written with one decimal they gave "0,1 – 0,1").
    result = hex_risk(facts, AccidentFilter(deps=("2A",)), metric="severe_per_year", resolution=8)
    values = result.scored["value"].dropna().to_numpy()
    breaks, digits = legend.class_breaks(values)
    labels = [label for _, label in legend.legend_entries(breaks, legend.palette_for(breaks),
                                                        number_format=lambda v: format_decimal(v, digits))]
    assert len(labels) == len(set(labels))
    assert all(low != high for low, high in (label.split(" – ") for label in labels[1:-1]))
    # Each class holds exactly the values its label says.
    classes = legend.classify(values, breaks)
    for index, label in enumerate(labels):
        held = values[classes == index]
        if len(held) and " – " in label:
            low, high = (float(x.replace(",", ".")) for x in label.split(" – "))
            assert (held > low).all() and (held <= high).all()


def test_relative_risk_of_one_is_visible_on_the_white_page() -> None:
    breaks, _ = legend.class_breaks(np.array([]), diverging=True)
    middle = legend.palette_for(breaks, diverging=True)[int(legend.classify(np.array([1.0]), breaks)[0])]
    on_white = [round(c * legend.FILL_ALPHA / 255 + 255 * (1 - legend.FILL_ALPHA / 255)) for c in middle]
    assert max(255 - c for c in on_white) >= 30, on_white  # at least one channel clearly off white
    masked_on_white = [round(c * 110 / 255 + 255 * (1 - 110 / 255)) for c in legend.MASKED_COLOUR]
    assert on_white != masked_on_white


def test_an_empty_map_says_why(facts, store_con, located) -> None:
    assert not (located["year"] == 2009).any()  # the archive's 2009 coordinates are truncated: none located
    nowhere = hex_risk(facts, AccidentFilter(years=(2009, 2009)), metric="severe_per_year", resolution=6,
                       con=store_con)
    assert empty_reason(nowhere, "severe_per_year", None).startswith("Aucun accident géolocalisé")
    somewhere = hex_risk(facts, AccidentFilter(deps=("59",)), metric="relative_risk", resolution=7,
                         condition="rain", con=store_con)
    assert empty_reason(somewhere, "relative_risk", "rain") is None


# --------------------------------------------------------------------------- what the page shows, built in core

def test_options_frame_the_selected_departments_or_their_own_view() -> None:
    boxes = [places.department_bboxes()[d] for d in ("2A", "2B")]
    corsica = views.view_for_bbox((min(b[0] for b in boxes), min(b[1] for b in boxes),
                                   max(b[2] for b in boxes), max(b[3] for b in boxes)))
    view, extent, resolution = MapOptions().framing(["2A", "2B"])
    assert (view, extent) == (corsica, None)
    assert resolution == resolution_for_extent(views.bbox_for_view(corsica)) == 6
    assert MapOptions().framing([])[0] == views.FRANCE_VIEW
    lyon = (45.76, 4.84, 11.0)
    assert MapOptions(view=lyon, resolution=8).framing(["75"]) == (lyon, views.bbox_for_view(lyon), 8)


def test_centring_on_a_hotspot_and_back_to_the_whole_selection() -> None:
    options = MapOptions(metric="severity_rate", min_count=5).centred_on("891fb466257ffff")
    assert (options.resolution, options.marked) == (9, "891fb466257ffff")
    assert options.view == views.view_for_cell("891fb466257ffff")
    assert options.whole_selection() == MapOptions(metric="severity_rate", min_count=5)
    assert MapOptions(metric="relative_risk").metric_label == "Risque relatif de la condition (pluie)"
    assert MapOptions(metric="severity_rate", condition="night").metric_label == "Taux de gravité (lissé)"


def test_hotspot_table_in_french(facts) -> None:
    result = hex_risk(facts, AccidentFilter(years=(2018, 2020)), metric="relative_risk", resolution=6,
                      condition="rain")
    top = hotspots(result.scored, facts, result.mask, result.resolution, metric="relative_risk", top=3)
    table = hotspot_table(top, metric="relative_risk")
    assert list(table.columns) == ["Département", "Commune", "Risque relatif de la condition", "RR IC 95 % bas",
                                   "Accidents", "Graves", "Taux lissé (%)", "IC 95 % bas", "IC 95 % haut", "Hexagone"]
    assert table.index.tolist() == [1, 2, 3]
    assert table["Hexagone"].tolist() == cell_ids(top["cell"].to_numpy())
    assert table["Accidents"].tolist() == [format_count(v) for v in top["accidents"]]
    assert table["RR IC 95 % bas"].tolist() == [format_decimal(v, 2) for v in top["rr_low"]]
    names = hotspot_names(table)
    first = table["Hexagone"].iloc[0]
    assert list(names) == table["Hexagone"].tolist()
    assert names[first] == f"1. {table['Commune'].iloc[0]} ({first})"


def test_early_years_note_from_the_located_shares(store_con) -> None:
    """The cut year and the severe shares of the note, against pandas on the Parquet file."""
    table = pq.read_table(parquet_dir() / "accidents.parquet", columns=["year", "lat", "n_killed", "n_hospitalised"])
    acc = table.to_pandas()
    acc["severe"] = (acc["n_killed"] > 0) | (acc["n_hospitalised"] > 0)
    acc["located"] = acc["lat"].notna()
    share = acc.groupby("year")["located"].mean()
    cut = min(y for y in share.index if (share.loc[y:] >= 0.5).all())
    early = acc[acc["year"].between(2010, cut - 1)]
    located_severe = early.loc[early["located"], "severe"].mean()
    note = texts.early_years_note("relative_risk", 2010, located_by_year(store_con))
    assert note.startswith(f"Avant {cut}, moins de 50")
    everyone = format_percent(early["severe"].mean())
    assert f"({format_percent(located_severe)} contre {everyone} sur 2010–{cut - 1})" in note
    assert texts.early_years_note("relative_risk", cut, located_by_year(store_con)) is None
    assert texts.early_years_note("accidents_per_year", 2010, located_by_year(store_con)) is None


def test_side_texts_of_a_map(facts) -> None:
    result = hex_risk(facts, AccidentFilter(deps=("59",)), metric="severe_per_year", resolution=7)
    assert texts.years_text(result.year_span) == "4 ans"
    caption = texts.located_caption(result, 2 * result.located)
    assert caption == ("Résolution H3 7. 50,0\u00a0% des accidents de la sélection sont géolocalisés. "
                       "Moyennes par an : 4 ans.")
    assert texts.coarsened_warning(result) is None
    capped = hex_risk(facts, AccidentFilter(), metric="severe_per_year", resolution=9, cap=5_000)
    assert texts.coarsened_warning(capped).endswith(f"carte agrégée à la résolution {capped.resolution}.")
    assert texts.no_hotspot_text("severity_rate") == "Aucun hexagone au-dessus du minimum d'accidents."


def test_prebuilt_deck_is_a_pydeck_deck_with_its_tooltip() -> None:
    import pydeck

    built = deck.deck_json([deck.outline_layer(deck.load_outlines())], view=views.FRANCE_VIEW,
                           tooltip={"html": "{nom}"})
    assert isinstance(built, pydeck.Deck)
    assert built.to_json() == built.spec_json
    assert json.loads(built.to_json())["initialViewState"]["zoom"] == views.FRANCE_VIEW[2]
