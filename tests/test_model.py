"""The committed severity model: card, honest test-year figures, predictions, support."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from core import codebook, config
from core.features.build import build_features
from core.features.columns import columns_from_frame
from core.features.names import FEATURE_NAMES, FEATURE_SOURCE
from core.features.training import incident_from_row, training_frame
from core.incident.fields import CODED_FIELDS, FIELD_LABELS
from core.model import metrics, spec
from core.model.card_figures import BandCut, Threshold
from core.model.explain import TOP_FACTORS
from core.model.fitting import START_YEAR_CANDIDATES, mask_fields
from core.model.loading import load_model
from core.model.predict import predict_columns, predict_many, predict_one
from tests.key_facts_sql import KEY_FACTS_WHERE, key_fact_params
from tests.test_features import ACCIDENT_201900000001, ACCIDENT_201900000011, ACCIDENT_201900000134


@pytest.fixture(scope="module")
def severity():
    return load_model()


@pytest.fixture(scope="module")
def test_year(store_con):
    """Every accident of the test year, with its outcomes."""
    return training_frame(store_con, first_year=spec.TEST_YEAR, last_year=spec.TEST_YEAR)


# --------------------------------------------------------------------------- #
# Card
# --------------------------------------------------------------------------- #


def test_card_describes_the_protocol(severity) -> None:
    card = severity.card
    assert card.model_version == spec.MODEL_VERSION
    assert card.years.test == 2020 and card.years.validation == 2019
    assert card.years.training[1] == 2019 and card.years.history[1] == 2019
    for chosen, candidates in ((card.start_year.chosen, card.start_year.candidates),
                               (card.start_year.chosen_fatal, card.start_year.candidates_fatal)):
        # The chosen start year ties with the best validation AUC (within 0.001); every later one does worse.
        auc = {c.start_year: c.auc for c in candidates}
        assert set(auc) == set(START_YEAR_CANDIDATES)
        assert auc[chosen] >= max(auc.values()) - 0.001
        assert all(auc[later] < max(auc.values()) - 0.001 for later in auc if later > chosen)
    assert card.features.names == tuple(FEATURE_NAMES)
    assert set(card.data_fingerprint.rows_per_year) >= set(range(2005, 2021))
    assert card.data_fingerprint.rows_per_year[2020] == 47_744
    for name in ("urban (agg 2)", "rural (agg 1)", "metropolitan", "overseas", "day (lum 1)", "night (lum 3-5)",
                 "pedestrian involved", "two-wheeler involved"):
        assert name in card.metrics.test.subgroups
    for target in ("severe", "fatal"):
        chosen = card.thresholds.of(target)
        assert set(chosen) == {"best_f1", "recall_80", "recall_95", "precision_75"}
        for rule in chosen.values():
            assert isinstance(rule, Threshold) and rule.precision is not None
        assert chosen["recall_80"].recall >= 0.80 and chosen["recall_95"].recall >= 0.95
        assert chosen["recall_95"].threshold <= chosen["recall_80"].threshold
        if chosen["precision_75"].fallback:
            assert chosen["precision_75"].fallback == "best_f1"
            assert chosen["precision_75"].threshold == chosen["best_f1"].threshold
        else:
            assert chosen["precision_75"].precision >= 0.75
    # The bands: 75 % precision is reached for "severe" on 2019, above the recall-95 threshold.
    severe = card.thresholds.severe
    assert severe["precision_75"].fallback is None
    assert severe["recall_95"].threshold < severe["precision_75"].threshold


def test_card_band_figures_agree_with_the_validation_thresholds(severity) -> None:
    """Per-band figures on 2019 against the thresholds' own figures: two computations of the same counts."""
    card = severity.card
    chosen, bands = card.thresholds.severe, card.bands
    assert bands.medium_from == BandCut("recall_95", chosen["recall_95"].threshold)
    assert bands.high_from.rule == "precision_75"
    assert bands.high_from.threshold == chosen["precision_75"].threshold
    validation = bands.validation
    assert validation.year == 2019 and validation.chosen_on is True
    test = bands.test
    assert test.year == 2020 and test.chosen_on is False and "information" in test.note
    low, medium, high = validation.low, validation.medium, validation.high
    # "Élevé" is what the precision-75 threshold flags; "Faible" what the recall-95 one does not.
    assert high.share == pytest.approx(chosen["precision_75"].flagged_share)
    assert high.observed == pytest.approx(chosen["precision_75"].precision) and high.observed >= 0.75
    assert low.share == pytest.approx(1 - chosen["recall_95"].flagged_share)
    assert low.share_of_positives == pytest.approx(1 - chosen["recall_95"].recall)
    assert low.share_of_positives <= 0.05
    assert low.share + medium.share + high.share == pytest.approx(1.0)
    n = sum(validation.of(b).n for b in ("low", "medium", "high"))
    assert n == card.metrics.validation.severe.n == 58_840
    severe_total = sum(validation.of(b).n * validation.of(b).observed for b in ("low", "medium", "high"))
    assert severe_total / n == pytest.approx(card.metrics.validation.severe.observed)
    assert low.observed < medium.observed < high.observed


def test_store_rows_per_year_match_fingerprint(severity, store_con) -> None:
    cursor = store_con.cursor()
    counts = dict(cursor.execute("SELECT year, count(*) FROM accidents GROUP BY year").fetchall())
    cursor.close()
    assert counts == severity.card.data_fingerprint.rows_per_year


# --------------------------------------------------------------------------- #
# Test-year figures, recomputed independently from the store
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def test_predictions(severity, test_year):
    results = predict_columns(severity, columns_from_frame(test_year), explain=False)
    p_severe = np.array([r["p_severe"] for r in results])
    p_fatal = np.array([r["p_fatal"] for r in results])
    return p_severe, p_fatal


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    total = 0.0
    for low in np.arange(10) / 10:
        rows = (p >= low) & ((p < low + 0.1) | (low == 0.9))
        if rows.any():
            total += rows.mean() * abs(p[rows].mean() - y[rows].mean())
    return total


def test_2020_figures_reach_targets_and_match_card(severity, test_year, test_predictions) -> None:
    p_severe, p_fatal = test_predictions
    severe = test_year["severe"].to_numpy().astype(int)
    fatal = test_year["fatal"].to_numpy().astype(int)
    assert len(severe) == 47_744
    auc = roc_auc_score(severe, p_severe)
    fatal_auc = roc_auc_score(fatal, p_fatal)
    ece = _ece(severe, p_severe)
    card = severity.card.metrics.test
    assert auc == pytest.approx(card.severe.auc, abs=1e-9)
    assert fatal_auc == pytest.approx(card.fatal.auc, abs=1e-9)
    assert ece == pytest.approx(card.severe.ece, abs=1e-9)
    assert auc >= 0.84 and fatal_auc >= 0.84 and ece <= 0.02
    # Better than the base rate (2019's share) and the logistic regression of the card.
    brier = brier_score_loss(severe, p_severe)
    assert brier < brier_score_loss(severe, np.full(len(severe), severe.mean()))
    logistic = card.baselines.logistic_regression.severe
    assert auc > logistic.auc and brier < logistic.brier


def test_2020_band_figures_match_card(severity, test_year, test_predictions) -> None:
    """The card's test-year band figures, recounted here with the card's two thresholds."""
    p_severe, _ = test_predictions
    severe = test_year["severe"].to_numpy().astype(int)
    medium_from = severity.card.thresholds.severe["recall_95"].threshold
    high_from = severity.card.thresholds.severe["precision_75"].threshold
    rows = {"low": p_severe < medium_from, "medium": (p_severe >= medium_from) & (p_severe < high_from),
            "high": p_severe >= high_from}
    card = severity.card.bands.test
    for band, in_band in rows.items():
        assert card.of(band).n == in_band.sum()
        assert card.of(band).share == pytest.approx(in_band.mean(), abs=1e-12)
        assert card.of(band).observed == pytest.approx(severe[in_band].mean(), abs=1e-12)
        assert card.of(band).share_of_positives == pytest.approx(severe[in_band].sum() / severe.sum(), abs=1e-12)


def test_ece_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(2000)
    y = (rng.random(2000) < p ** 2).astype(int)
    assert metrics.expected_calibration_error(y, p) == pytest.approx(_ece(y, p), abs=1e-12)


def test_calibration_map_equals_scikit_learn(test_year, test_predictions) -> None:
    p_severe, _ = test_predictions
    y = test_year["severe"].to_numpy().astype(int)
    calibrator = metrics.fit_isotonic(y, p_severe)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p_severe, y)
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(metrics.apply_calibration(calibrator, grid), iso.predict(grid), atol=1e-12)


def test_thresholds_on_real_scores(test_year, test_predictions) -> None:
    p_severe, _ = test_predictions
    y = test_year["severe"].to_numpy().astype(int)
    chosen = metrics.choose_thresholds(y, p_severe)
    assert chosen["recall_80"]["recall"] >= 0.80
    flagged = p_severe >= chosen["best_f1"]["threshold"]
    assert chosen["best_f1"]["precision"] == pytest.approx(y[flagged].mean())
    # Precision and recall of "p >= v" for every distinct score v, counted with sorted arrays.
    values = np.unique(p_severe)
    ranked, ranked_positive = np.sort(p_severe), np.sort(p_severe[y == 1])
    n_flagged = len(ranked) - np.searchsorted(ranked, values, side="left")
    hits = len(ranked_positive) - np.searchsorted(ranked_positive, values, side="left")
    precision, recall = hits / n_flagged, hits / len(ranked_positive)
    # recall_95: the highest value still reaching 95 % recall.
    assert chosen["recall_95"]["threshold"] == values[recall >= 0.95].max()
    assert chosen["recall_95"]["recall"] == pytest.approx(y[p_severe >= chosen["recall_95"]["threshold"]].sum()
                                                          / y.sum())
    # precision_75: the lowest value still reaching 75 % precision.
    assert chosen["precision_75"]["threshold"] == values[precision >= 0.75].min()
    assert chosen["precision_75"]["precision"] == pytest.approx(y[p_severe >= chosen["precision_75"]["threshold"]]
                                                                .mean())


# Twelve scores with ties (two at 0.8, two at 0.5, two at 0.1) and six positives, counted by hand:
#   p >= 0.9: 1 flagged, 1 positive   precision 1     recall 1/6
#   p >= 0.8: 3 flagged, 2 positives  precision 0.667 recall 2/6  (cutting between the two 0.8 would be wrong)
#   p >= 0.7: 4 flagged, 3 positives  precision 0.75  recall 3/6
#   p >= 0.6: 5 flagged, 4 positives  precision 0.8   recall 4/6
#   p >= 0.5: 7 flagged, 5 positives  precision 5/7   recall 5/6  F1 0.769, the best
#   p >= 0.4: 8 flagged, 5 positives; 0.3: 9, 5; 0.2: 10 flagged, 6 positives (recall 1); 0.1: 12, 6
HAND_P = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1])
HAND_Y = np.array([1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0])


def test_thresholds_counted_by_hand() -> None:
    chosen = metrics.choose_thresholds(HAND_Y, HAND_P)
    assert chosen["recall_95"] == pytest.approx({"threshold": 0.2, "flagged_share": 10 / 12, "precision": 0.6,
                                                 "recall": 1.0})
    assert chosen["recall_80"] == pytest.approx({"threshold": 0.5, "flagged_share": 7 / 12, "precision": 5 / 7,
                                                 "recall": 5 / 6})
    # 0.9 and 0.7 also reach 75 %; the lowest one that does is 0.6.
    assert chosen["precision_75"] == pytest.approx({"threshold": 0.6, "flagged_share": 5 / 12, "precision": 0.8,
                                                    "recall": 4 / 6})
    assert chosen["best_f1"]["threshold"] == 0.5


def test_precision_rule_falls_back_to_best_f1_when_never_reached() -> None:
    # Precision from the top: 0/1, 1/2, 1/3, ... never 75 %; best F1 at 0.8 (precision 1/2, recall 1).
    y = np.array([0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    chosen = metrics.choose_thresholds(y, p)
    assert chosen["best_f1"]["threshold"] == 0.8
    assert chosen["precision_75"] == pytest.approx({"threshold": 0.8, "flagged_share": 2 / 6, "precision": 0.5,
                                                    "recall": 1.0, "fallback": "best_f1"})


def test_band_figures_counted_by_hand() -> None:
    # Bands cut at 0.2 and 0.6: low = the two 0.1 (no positive), medium = 0.5, 0.5, 0.4, 0.3, 0.2
    # (positives at one 0.5 and at 0.2), high = 0.9, 0.8, 0.8, 0.7, 0.6 (four positives).
    figures = metrics.band_figures(HAND_Y, HAND_P, medium_from=0.2, high_from=0.6)
    assert [figures[b]["n"] for b in ("low", "medium", "high")] == [2, 5, 5]
    assert [figures[b]["share"] for b in ("low", "medium", "high")] == pytest.approx([2 / 12, 5 / 12, 5 / 12])
    assert [figures[b]["observed"] for b in ("low", "medium", "high")] == pytest.approx([0.0, 2 / 5, 4 / 5])
    assert [figures[b]["share_of_positives"] for b in ("low", "medium", "high")] == pytest.approx([0, 2 / 6, 4 / 6])
    assert metrics.band_cutoffs(metrics.choose_thresholds(HAND_Y, HAND_P)) == (0.2, 0.6)
    # Crossed thresholds leave "medium" empty rather than inverted.
    assert metrics.band_cutoffs({"recall_95": {"threshold": 0.7}, "precision_75": {"threshold": 0.6}}) == (0.6, 0.6)


# --------------------------------------------------------------------------- #
# Predictions
# --------------------------------------------------------------------------- #


def test_predict_literal_accidents(severity) -> None:
    tree = predict_one(severity, ACCIDENT_201900000134)
    motorway = predict_one(severity, ACCIDENT_201900000001)
    # A lone car into a tree at night in the countryside is far more likely severe and fatal
    # than a rear-end shunt on an urban motorway.
    assert tree["p_severe"] > motorway["p_severe"] + 0.2
    assert tree["p_fatal"] > 3 * motorway["p_fatal"]
    assert tree["model_version"] == spec.MODEL_VERSION
    fields = [f["field"] for f in tree["top_factors"]]
    assert 0 < len(fields) <= TOP_FACTORS and len(set(fields)) == len(fields)
    for factor in tree["top_factors"]:
        assert factor["label"] == FIELD_LABELS[factor["field"]]
        assert ("augmente" in factor["text"]) == (factor["effect"] > 0)
    obstacle = next((f for f in tree["top_factors"] if f["field"] == "obs"), None)
    if obstacle is not None:
        assert obstacle["value"] == codebook.label("obs", 2) == "Arbre"


def test_bad_line_does_not_stop_the_batch(severity) -> None:
    results = predict_many(
        severity, [ACCIDENT_201900000001, {"atm": 42, "id": "x"}, "not an object", ACCIDENT_201900000011]
    )
    assert results[1] == {"id": "x", "error": {"field": "atm", "reason": results[1]["error"]["reason"]}}
    assert results[2]["error"]["field"] == "incident"
    assert "p_severe" in results[0] and "p_severe" in results[3]
    alone = predict_one(severity, ACCIDENT_201900000011)
    assert results[3]["p_severe"] == pytest.approx(alone["p_severe"])


_FRANCE = st.tuples(st.floats(41.0, 51.0), st.floats(-5.0, 9.5))


def _codes(name: str) -> st.SearchStrategy:
    return st.sampled_from(sorted(codebook.valid_codes(name)))


INCIDENT = st.fixed_dictionaries({}, optional={
    "place": st.one_of(st.none(), _FRANCE),
    "dep": st.one_of(st.none(), st.sampled_from(["75", "13", "2A", "971", "59"])),
    "com": st.one_of(st.none(), st.sampled_from(["75056", "13206", "77132", "97411"])),
    "datetime": st.one_of(st.none(), st.datetimes(min_value=dt.datetime(2005, 1, 1),
                                                  max_value=dt.datetime(2030, 12, 31))
                          .map(lambda d: d.isoformat(timespec="minutes"))),
    **{name: st.one_of(st.none(), st.just(-1), _codes(name)) for name in CODED_FIELDS},
    "vma": st.one_of(st.none(), st.integers(1, 130)),
    "vehicles": st.one_of(st.none(), st.lists(_codes("catv"), min_size=1, max_size=6)),
    "people": st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(1, 12))),
})


def _as_incident(drawn: dict) -> dict:
    incident = {k: v for k, v in drawn.items() if k not in ("place", "people")}
    if drawn.get("place"):
        incident["lat"], incident["lon"] = drawn["place"]
    if drawn.get("people"):
        pedestrians, others = drawn["people"]
        incident["n_pedestrians"], incident["n_people"] = pedestrians, pedestrians + others
    return incident


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=INCIDENT)
def test_any_known_unknown_combination_gives_probabilities(severity, drawn) -> None:
    result = predict_one(severity, _as_incident(drawn))
    assert 0.0 <= result["p_fatal"] <= result["p_severe"] <= 1.0
    worst = result["worst_injury"]
    assert set(worst) == set(spec.WORST_INJURY)
    assert all(0.0 <= v <= 1.0 for v in worst.values())
    assert sum(worst.values()) == pytest.approx(1.0, abs=1e-9)
    assert worst["killed"] == pytest.approx(result["p_fatal"])
    assert result["support"] >= 0


# --------------------------------------------------------------------------- #
# Support: the past accidents sharing the key facts
# --------------------------------------------------------------------------- #

#: Accidents of the training years sharing the known key facts (a NULL parameter matches any accident).
_SUPPORT_SQL = f"""
    SELECT count(*), count(*) FILTER (WHERE a.severe)
    FROM accidents a
    JOIN (SELECT acc_id, bool_or(obs > 0) AS obstacle FROM vehicles GROUP BY acc_id) v USING (acc_id)
    WHERE {KEY_FACTS_WHERE}"""


def test_support_equals_sql_count_of_accidents_sharing_the_key_facts(severity, store_con) -> None:
    first, last = severity.card.years.training
    for incident in (ACCIDENT_201900000011, ACCIDENT_201900000134, {"agg": 1, "vehicles": [33, 7]}):
        prediction = predict_one(severity, incident, explain=False)
        params = key_fact_params(incident)
        total, severe = store_con.execute(_SUPPORT_SQL, {**params, "first": first, "last": last}).fetchall()[0]
        assert prediction["support"] == total
        assert prediction["support_severe_share"] == pytest.approx(severe / total, abs=1e-12)
        assert 0 < prediction["support_severe_share"] < 1


def test_support_without_facts_counts_all_training_accidents(severity, store_con) -> None:
    first, last = severity.card.years.training
    cursor = store_con.cursor()
    total = cursor.execute("SELECT count(*) FROM accidents WHERE year BETWEEN ? AND ?", [first, last]).fetchall()[0][0]
    cursor.close()
    assert predict_one(severity, {}, explain=False)["support"] == total


# --------------------------------------------------------------------------- #
# Loading checks the card
# --------------------------------------------------------------------------- #


def test_load_refuses_changed_or_missing_files(tmp_path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(config.MODELS_DIR, copy)
    support = json.loads((copy / spec.SUPPORT_FILE).read_text())
    support["rows"][0][-3] += 1
    (copy / spec.SUPPORT_FILE).write_text(json.dumps(support))
    with pytest.raises(spec.ModelCardError, match="severity_support.json"):
        load_model(copy)
    (copy / spec.MODEL_FILE).unlink()
    with pytest.raises(spec.ModelMissingError, match="python -m core train"):
        load_model(copy)


def test_mask_fields_hides_whole_groups(test_year) -> None:
    columns = columns_from_frame(test_year.head(2000))
    rows = np.ones(len(columns), dtype=bool)
    masked = mask_fields(columns, rows, 0.5, np.random.default_rng(0))
    lat_hidden = np.isnan(masked.numeric["lat"]) & ~np.isnan(columns.numeric["lat"])
    assert 0.4 < lat_hidden.mean() < 0.6
    assert (np.isnan(masked.numeric["lon"]) == np.isnan(masked.numeric["lat"])).all()
    hidden_vehicles = sum(v is None for v in masked.vehicles)
    assert 800 < hidden_vehicles < 1200
    nothing = mask_fields(columns, ~rows, 0.5, np.random.default_rng(0))
    assert nothing.vehicles == columns.vehicles


# --------------------------------------------------------------------------- #
# The array predictor equals XGBoost
# --------------------------------------------------------------------------- #


def test_tree_arrays_equal_xgboost_on_real_rows(severity, test_year) -> None:
    import xgboost as xgb

    x = build_features(columns_from_frame(test_year.iloc[::40]), severity.history)
    x[::7, 3:20] = np.nan  # plenty of missing values, to exercise the default branches
    matrix = xgb.DMatrix(x, feature_names=list(FEATURE_NAMES))
    leaves = severity.trees.leaves(x)
    for target in spec.TARGETS:
        booster = severity.booster(target)
        own = severity.trees.of(target, leaves)
        np.testing.assert_array_equal(severity.trees.node_ids(target, own),
                                      booster.predict(matrix, pred_leaf=True).astype(int))
        np.testing.assert_allclose(severity.trees.margin(target, own), booster.predict(matrix, output_margin=True),
                                   atol=5e-5)
    # Field credits are XGBoost's approximate contributions summed per incident field.
    contributions = severity.severe.predict(matrix, pred_contribs=True, approx_contribs=True)[:, :-1]
    fields = list(dict.fromkeys(FEATURE_SOURCE[name] for name in FEATURE_NAMES))
    per_field = np.column_stack([
        contributions[:, [FEATURE_SOURCE[name] == field for name in FEATURE_NAMES]].sum(axis=1)
        for field in fields
    ])
    credits = severity.trees.field_credits(severity.trees.of("severe", leaves))
    np.testing.assert_allclose(credits, per_field, atol=1e-4)
    # One row at a time (the 1-D path) gives the same leaves.
    for row in range(0, len(x), 97):
        np.testing.assert_array_equal(severity.trees.leaves(x[row:row + 1])[0], leaves[row])


def test_single_and_batch_paths_agree(severity, test_year) -> None:
    incidents = [incident_from_row(r) for r in test_year.iloc[:150].to_dict("records")]
    batch = predict_many(severity, incidents)  # above ARRAY_PREDICT_MAX_ROWS: XGBoost's C++
    for incident, result in zip(incidents[::15], batch[::15], strict=True):
        alone = predict_one(severity, incident)
        assert alone["p_severe"] == pytest.approx(result["p_severe"], abs=1e-6)
        assert alone["p_fatal"] == pytest.approx(result["p_fatal"], abs=1e-6)
        assert [f["field"] for f in alone["top_factors"]] == [f["field"] for f in result["top_factors"]]
        assert alone["support"] == result["support"]
