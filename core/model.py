"""Severity model: train, calibrate, evaluate, save and load with its card, predict.

What it estimates
-----------------
For an incident described by a caller (:mod:`core.features`), the probability
that someone is killed or hospitalised (``p_severe``), that someone is killed
(``p_fatal``), and the distribution of the worst injury. Two XGBoost boosters
(``severity.ubj`` for severe, ``severity_fatal.ubj`` for fatal) are followed by
isotonic calibration maps stored as JSON numbers in the card.

Why the protocol looks like this
--------------------------------
2020 is the test year and is read only to score the finished model. 2019 is the
validation year, but the shipped model is trained on years up to 2019, so
calibrating it on its own training rows would be dishonest. 2019 is therefore
split in two random halves: for each half, a model with the shipped settings is
trained on the earlier years plus the *other* half of 2019 and predicts the held
half. These out-of-fold predictions of 2019 (by models that never saw those
rows, but saw the 2019 recording regime as the shipped model does) choose the
start year, the number of boosting rounds, the calibration maps and the alert
thresholds. The shipped model is then refit on every training year with those
settings. Hospitalisation recording changed in 2018 (PROVENANCE): the
``recording_period`` feature lets a model trained from 2005 keep the old years
without mixing the two regimes, and the start year is chosen on validation.

A caller rarely knows everything: during training, each field of each training
row is hidden ("unknown") with a small probability, so that the model learns
what to do with a missing field instead of sending it down an arbitrary branch.

Prediction
----------
XGBoost spends about half a millisecond per call whatever the batch size, too
much for one incident within 2 ms with explanations. Training therefore also
writes the trees as flat arrays (``severity_trees.parquet``, with each leaf's
contribution per incident field, XGBoost's approximate "Saabas" contributions
precomputed); a few incidents are predicted by walking those arrays with
numpy, many by XGBoost itself. Both give the same leaves (tested).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import codebook, config, places
from core import features as F

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import xgboost as xgb

MODEL_VERSION: Final = "1.0.0"
MODEL_FILE: Final = "severity.ubj"
FATAL_MODEL_FILE: Final = "severity_fatal.ubj"
CARD_FILE: Final = "severity_card.json"
SUPPORT_FILE: Final = "severity_support.json"
TREES_FILE: Final = "severity_trees.parquet"

HISTORY_FIRST_YEAR: Final = 2005
VALIDATION_YEAR: Final = 2019
TEST_YEAR: Final = 2020
START_YEAR_CANDIDATES: Final = (2005, 2010, 2015, 2018)
SEED: Final = 20240604
N_FOLDS: Final = 2
MAX_ROUNDS: Final = 3000
EARLY_STOPPING_ROUNDS: Final = 40
#: Start years whose validation AUC is within this of the best are ties: the latest of them is kept.
START_YEAR_TOLERANCE: Final = 0.001
THREADS: Final = 2
#: XGBoost threads when predicting: one incident never goes through XGBoost (see TreeArrays);
#: batches use both cores.
PREDICT_THREADS: Final = 2
#: Incidents evaluated together (bounds memory).
PREDICT_BLOCK: Final = 4096
#: Up to this many incidents, trees are walked with numpy (see TreeArrays); above, by XGBoost.
ARRAY_PREDICT_MAX_ROWS: Final = 64
ECE_BINS: Final = 10
RECALL_TARGET: Final = 0.80

_COMMON_PARAMS: Final = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_bin": 128,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "nthread": THREADS,
    "seed": SEED,
    "eval_metric": ["auc", "logloss"],  # the last one (log loss) decides early stopping
}


@dataclass(frozen=True)
class TargetSettings:
    """How one target is trained.

    Attributes
    ----------
    params : dict
        XGBoost parameters.
    mask_rate : float
        Probability that a field of a training row is hidden (see :func:`mask_fields`).
    negative_share : float
        Share of the negative training rows kept, each weighted by its inverse so that
        the raw probabilities keep their scale (the calibration fixes the rest); 1 keeps all.
    """

    params: dict[str, Any]
    mask_rate: float
    negative_share: float = 1.0


#: Chosen on the 2019 validation year (first half). Severe: depth 6-10 and eta 0.04-0.1 were
#: within 0.002 AUC; eta 0.1 keeps `python -m core train` within minutes on 2 cores; hiding
#: fields 15 % of the time cost < 0.001 AUC with every field known and gained 0.007 with only
#: first-call fields. Fatal (5.5 % of accidents): shallower trees, fields hidden 5 % of the
#: time (15 % cost 0.002 AUC), 30 % of the non-fatal rows (3x faster, so a slower eta fits).
TARGETS: Final[dict[str, TargetSettings]] = {
    "severe": TargetSettings({**_COMMON_PARAMS, "max_depth": 8, "eta": 0.1, "min_child_weight": 20}, 0.15),
    "fatal": TargetSettings({**_COMMON_PARAMS, "max_depth": 6, "eta": 0.05, "min_child_weight": 50}, 0.05, 0.3),
}

#: Fields hidden together when masking a training row (a caller gives both coordinates or none).
MASK_GROUPS: Final = (
    ("lat", "lon"), ("dep",), ("com",), ("year", "month", "day", "hour", "minute", "weekday"),
    *((name,) for name in F.CODED_FIELDS), ("vma",), ("vehicles",), ("n_pedestrians",), ("n_people",),
)
#: What a first call typically gives: place, time, vehicles and people (used for a robustness figure).
FIRST_CALL_FIELDS: Final = ("lat", "lon", "dep", "com", "year", "month", "day", "hour", "minute", "weekday",
                            "agg", "vehicles", "n_pedestrians", "n_people")

WORST_INJURY: Final = ("unharmed", "light", "hospitalised", "killed")


class ModelMissingError(FileNotFoundError):
    """No trained model in the models folder; the message says how to build one."""


class ModelCardError(ValueError):
    """The model files do not match their card (or this code); retrain."""


# --------------------------------------------------------------------------- #
# Metrics
# --------------------------------------------------------------------------- #


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins.

    Examples
    --------
    >>> expected_calibration_error(np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 1.0, 0.0]))
    0.0
    """
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = index == b
        if rows.any():
            total += rows.sum() / len(p) * abs(p[rows].mean() - y[rows].mean())
    return float(total)


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per equal-width bin: its range, number of incidents, mean predicted and observed share."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        rows = index == b
        table.append({
            "low": b / bins, "high": (b + 1) / bins, "n": int(rows.sum()),
            "mean_predicted": float(p[rows].mean()) if rows.any() else None,
            "observed": float(y[rows].mean()) if rows.any() else None,
        })
    return table


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, Brier score, log loss, ECE, observed and mean predicted share."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    y = y.astype(int)
    both = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)),
        "observed": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(y) else float("nan"),
        "auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])) if len(y) else None,
        "ece": expected_calibration_error(y, p) if len(y) else None,
    }


def threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Share flagged, precision and recall when flagging ``p >= threshold``."""
    flagged = p >= threshold
    hits = (flagged & (y == 1)).sum()
    return {
        "threshold": float(threshold),
        "flagged_share": float(flagged.mean()),
        "precision": float(hits / flagged.sum()) if flagged.any() else None,
        "recall": float(hits / max((y == 1).sum(), 1)),
    }


def choose_thresholds(y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, float]]:
    """Alert thresholds on calibrated validation predictions.

    ``best_f1`` maximises F1; ``recall_80`` is the highest threshold that still
    finds 80 % of the positive incidents (for sending help generously).
    """
    order = np.argsort(-p, kind="stable")
    sorted_p, sorted_y = p[order], y[order].astype(float)
    hits = np.cumsum(sorted_y)
    flagged = np.arange(1, len(p) + 1)
    positives = max(sorted_y.sum(), 1.0)
    # Only cut between distinct probability values.
    last_of_value = np.r_[sorted_p[1:] != sorted_p[:-1], True]
    precision, recall = hits / flagged, hits / positives
    f1 = np.where(last_of_value, 2 * precision * recall / np.maximum(precision + recall, 1e-12), -1)
    best = int(np.argmax(f1))
    reaching = np.flatnonzero(last_of_value & (recall >= RECALL_TARGET))
    at_recall = int(reaching[0]) if len(reaching) else len(p) - 1
    return {
        "best_f1": threshold_metrics(y, p, float(sorted_p[best])),
        "recall_80": threshold_metrics(y, p, float(sorted_p[at_recall])),
    }


# --------------------------------------------------------------------------- #
# Calibration (isotonic, stored as JSON numbers)
# --------------------------------------------------------------------------- #


def fit_isotonic(y: np.ndarray, p: np.ndarray) -> dict[str, list[float]]:
    """Fit an increasing map raw probability -> observed share; returns its breakpoints."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y.astype(float))
    return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}


def apply_calibration(calibrator: Mapping[str, Sequence[float]], p: np.ndarray) -> np.ndarray:
    """Apply a map from :func:`fit_isotonic` (linear between breakpoints, as scikit-learn does)."""
    return np.interp(p, calibrator["x"], calibrator["y"])


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def mask_fields(columns: F.IncidentColumns, rows: np.ndarray, rate: float, rng: np.random.Generator,
                *, groups: Sequence[Sequence[str]] = MASK_GROUPS) -> F.IncidentColumns:
    """A copy of ``columns`` where, in ``rows``, each field group is made unknown with probability ``rate``."""
    numeric = {name: values.copy() for name, values in columns.numeric.items()}
    dep, com, vehicles = columns.dep.copy(), columns.com.copy(), list(columns.vehicles)
    for group in groups:
        hidden = rows & (rng.random(len(columns)) < rate)
        for name in group:
            if name == "dep":
                dep[hidden] = ""
            elif name == "com":
                com[hidden] = ""
            elif name == "vehicles":
                for row in np.flatnonzero(hidden):
                    vehicles[row] = None
            else:
                numeric[name][hidden] = np.nan
    return F.IncidentColumns(numeric, dep, com, vehicles)


def _fit(params: Mapping[str, Any], x: np.ndarray, y: np.ndarray, *, rounds: int, weight: np.ndarray | None = None,
         x_val: np.ndarray | None = None, y_val: np.ndarray | None = None) -> xgb.Booster:
    import xgboost as xgb

    train = xgb.DMatrix(x, label=y, weight=weight, feature_names=list(F.FEATURE_NAMES), nthread=THREADS)
    if x_val is None:
        return xgb.train(dict(params), train, num_boost_round=rounds)
    valid = xgb.DMatrix(x_val, label=y_val, feature_names=list(F.FEATURE_NAMES), nthread=THREADS)
    return xgb.train(dict(params), train, num_boost_round=rounds, evals=[(valid, "validation")],
                     early_stopping_rounds=EARLY_STOPPING_ROUNDS, verbose_eval=False)


def _raw_predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    return booster.inplace_predict(x, validate_features=False).astype(np.float64)


@dataclass
class _CrossFit:
    """Out-of-fold predictions of the validation year and the rounds found per fold."""

    oof: np.ndarray
    rounds: list[int]


def choose_start_year(candidates: Sequence[Mapping[str, Any]]) -> int:
    """The latest start year whose validation AUC is within :data:`START_YEAR_TOLERANCE` of the best.

    Examples
    --------
    >>> choose_start_year([{"start_year": 2005, "auc": 0.8540}, {"start_year": 2015, "auc": 0.8535},
    ...                    {"start_year": 2018, "auc": 0.8520}])
    2015
    """
    best = max(c["auc"] for c in candidates)
    return max(c["start_year"] for c in candidates if c["auc"] >= best - START_YEAR_TOLERANCE)


def data_fingerprint(frame: pd.DataFrame, parquet_dir: Path) -> dict[str, Any]:
    """Rows and severe accidents per year plus size and SHA-256 of each Parquet file of the store."""
    per_year = frame.groupby("year").agg(rows=("acc_id", "size"), severe=("severe", "sum"))
    files = {}
    for name in (config.ACCIDENTS_FILE, config.USERS_FILE, config.VEHICLES_FILE):
        path = Path(parquet_dir) / name
        if path.exists():
            files[name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    detail = {
        "rows_per_year": {str(int(y)): int(r) for y, r in per_year["rows"].items()},
        "severe_per_year": {str(int(y)): int(s) for y, s in per_year["severe"].items()},
        "files": files,
    }
    digest = hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:16]
    return {"hash": digest, **detail}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def support_table(columns: F.IncidentColumns, severe: np.ndarray, fatal: np.ndarray) -> dict[str, Any]:
    """Counts of accidents per combination of key facts (unknown fact = -1), for the support figure."""
    facts = F.key_facts(columns)
    codes = np.where(np.isnan(facts), -1, facts).astype(np.int64)
    combos, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = np.bincount(inverse, minlength=len(combos))
    n_severe = np.bincount(inverse, weights=severe.astype(float), minlength=len(combos))
    n_fatal = np.bincount(inverse, weights=fatal.astype(float), minlength=len(combos))
    return {
        "facts": list(F.KEY_FACTS),
        "rows": [[*map(int, combo), int(a), int(b), int(c)]
                 for combo, a, b, c in zip(combos, n, n_severe, n_fatal, strict=True)],
    }


def _logistic_baseline(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                       rng: np.random.Generator, *, sample: int = 300_000) -> np.ndarray:
    """Logistic regression on the same features: one-hot codes, imputed and scaled numbers."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    coded = [F.FEATURE_NAMES.index(n) for n in
             ("weekday", "month", "recording_period", "lum", "atm", "surf", "agg", "int", "col", "catr", "obs")]
    other = [i for i in range(len(F.FEATURE_NAMES)) if i not in coded]
    pipeline = make_pipeline(
        ColumnTransformer([
            ("coded", make_pipeline(SimpleImputer(strategy="constant", fill_value=-1),
                                    OneHotEncoder(handle_unknown="ignore")), coded),
            ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                      StandardScaler()), other),
        ]),
        LogisticRegression(max_iter=300),
    )
    rows = rng.choice(len(x_train), size=min(sample, len(x_train)), replace=False)
    pipeline.fit(x_train[rows], y_train[rows])
    return pipeline.predict_proba(x_test)[:, 1]


def _subgroups(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks of the card's subgroups over the rows of ``frame``."""
    lum = frame["lum"].to_numpy(dtype=float, na_value=np.nan)
    agg = frame["agg"].to_numpy(dtype=float, na_value=np.nan)
    overseas = frame["dep"].fillna("").str.len().to_numpy() == 3
    pedestrians = frame["n_pedestrians"].to_numpy() > 0
    two_wheeler = np.array([any(c in codebook.TWO_WHEELER_CATV for c in v) for v in frame["vehicles"]])
    return {
        "urban (agg 2)": agg == 2, "rural (agg 1)": agg == 1,
        "metropolitan": ~overseas, "overseas": overseas,
        "day (lum 1)": lum == 1, "dusk or dawn (lum 2)": lum == 2, "night (lum 3-5)": lum >= 3,
        "pedestrian involved": pedestrians, "no pedestrian": ~pedestrians,
        "two-wheeler involved": two_wheeler, "no two-wheeler": ~two_wheeler,
    }


@dataclass
class _TrainingData:
    """Everything the training steps share: the store's accidents, labels, features and splits."""

    frame: pd.DataFrame
    years: np.ndarray
    labels: dict[str, np.ndarray]
    columns: F.IncidentColumns
    history: F.PlaceHistory
    x_clean: np.ndarray  # features as the fields were recorded (validation, test)
    x_masked: dict[str, np.ndarray]  # per target, fields hidden at random in the training years
    weight: dict[str, np.ndarray]  # per target, weight of each row, 0 for a negative row left out
    validation: np.ndarray
    test: np.ndarray
    folds: np.ndarray  # fold of each validation-year row, -1 elsewhere

    def training_rows(self, start_year: int) -> np.ndarray:
        return (self.years >= start_year) & (self.years <= VALIDATION_YEAR)


@dataclass
class _TargetFit:
    """One target's start-year comparison, validation predictions and final booster."""

    candidates: list[dict[str, Any]]
    start_year: int
    cross_fit: _CrossFit
    booster: xgb.Booster


def _prepare(con: duckdb.DuckDBPyConnection, rng: np.random.Generator, step: Callable[[str], None]) -> _TrainingData:
    step("reading accidents from the store")
    frame = F.training_frame(con, first_year=HISTORY_FIRST_YEAR, last_year=TEST_YEAR)
    years = frame["year"].to_numpy()
    labels = {"severe": frame["severe"].to_numpy().astype(np.int8), "fatal": frame["fatal"].to_numpy().astype(np.int8)}
    columns = F.columns_from_frame(frame)
    step("counting place history (years before the test year)")
    history = F.build_place_history(con, first_year=HISTORY_FIRST_YEAR, last_year=VALIDATION_YEAR)
    step("building features")
    x_clean = F.build_features(columns, history)
    x_masked, weight = {}, {}
    for target, settings in TARGETS.items():
        masked = mask_fields(columns, years <= VALIDATION_YEAR, settings.mask_rate, rng)
        x_masked[target] = F.build_features(masked, history)
        kept = (labels[target] == 1) | (rng.random(len(years)) < settings.negative_share)
        weight[target] = np.where(labels[target] == 1, 1.0, kept / settings.negative_share)
    validation = years == VALIDATION_YEAR
    folds = np.full(len(years), -1)
    folds[validation] = rng.permutation(validation.sum()) % N_FOLDS
    return _TrainingData(frame, years, labels, columns, history, x_clean, x_masked, weight, validation,
                         years == TEST_YEAR, folds)


def _fit_rows(data: _TrainingData, target: str, rows: np.ndarray, *, rounds: int,
              held: np.ndarray | None = None) -> xgb.Booster:
    """Fit ``target`` on ``rows`` (masked features, negatives subsampled); early stopping on ``held``."""
    rows = rows & (data.weight[target] > 0)
    label = data.labels[target]
    weight = data.weight[target][rows] if TARGETS[target].negative_share < 1 else None
    if held is None:
        return _fit(TARGETS[target].params, data.x_masked[target][rows], label[rows], rounds=rounds, weight=weight)
    return _fit(TARGETS[target].params, data.x_masked[target][rows], label[rows], rounds=rounds, weight=weight,
                x_val=data.x_clean[held], y_val=label[held])


def _cross_fit(data: _TrainingData, target: str, start_year: int, *, only_fold: int | None = None,
               done: Mapping[int, tuple[np.ndarray, int]] | None = None) -> _CrossFit:
    """Train on ``start_year``.. the year before validation + the other folds of it, predict each held fold."""
    earlier = (data.years >= start_year) & (data.years < VALIDATION_YEAR)
    oof = np.full(len(data.years), np.nan)
    rounds = []
    for fold in range(N_FOLDS) if only_fold is None else (only_fold,):
        held = data.validation & (data.folds == fold)
        if done and fold in done:
            oof[held], best = done[fold]
        else:
            booster = _fit_rows(data, target, earlier | (data.validation & (data.folds != fold)),
                                rounds=MAX_ROUNDS, held=held)
            best = booster.best_iteration + 1
            oof[held] = _raw_predict(booster[:best], data.x_clean[held])
        rounds.append(best)
    return _CrossFit(oof, rounds)


def _fit_target(data: _TrainingData, target: str, step: Callable[[str], None]) -> _TargetFit:
    """Compare start years on the first half of the validation year, cross-fit the chosen one, refit."""
    label = data.labels[target]
    held = data.validation & (data.folds == 0)
    candidates, fold0 = [], {}
    for start in START_YEAR_CANDIDATES:
        step(f"{target}: validation fit from {start} (held half of {VALIDATION_YEAR})")
        fit = _cross_fit(data, target, start, only_fold=0)
        metrics = binary_metrics(label[held], fit.oof[held])
        fold0[start] = (fit.oof[held], fit.rounds[0])
        trained_on = ((data.years >= start) & (data.years < VALIDATION_YEAR)) | (data.validation & (data.folds != 0))
        candidates.append({"start_year": start, "rounds": fit.rounds[0], "training_rows": int(trained_on.sum()),
                           **{k: metrics[k] for k in ("auc", "log_loss", "brier")}})
    start = choose_start_year(candidates)
    step(f"{target}: validation fit from {start} (other half of {VALIDATION_YEAR})")
    cross_fit = _cross_fit(data, target, start, done={0: fold0[start]})
    step(f"{target}: final fit on {start}-{VALIDATION_YEAR}")
    booster = _fit_rows(data, target, data.training_rows(start), rounds=int(round(np.mean(cross_fit.rounds))))
    return _TargetFit(candidates, start, cross_fit, booster)


def _calibrated(calibrators: Mapping[str, Mapping[str, Sequence[float]]], raw_severe: np.ndarray,
                raw_fatal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated p_severe and p_fatal, with p_fatal <= p_severe."""
    p_severe = apply_calibration(calibrators["severe"], raw_severe)
    return p_severe, np.minimum(apply_calibration(calibrators["fatal"], raw_fatal), p_severe)


def _test_metrics(data: _TrainingData, fits: Mapping[str, _TargetFit], calibrators: Mapping[str, Any],
                  thresholds: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Every figure of the test year: model, baselines, first-call fields, calibration, subgroups."""
    test = data.test
    p_severe, p_fatal = _calibrated(calibrators, _raw_predict(fits["severe"].booster, data.x_clean[test]),
                                    _raw_predict(fits["fatal"].booster, data.x_clean[test]))
    y = {target: data.labels[target][test] for target in TARGETS}
    predicted = {"severe": p_severe, "fatal": p_fatal}
    baselines: dict[str, dict[str, Any]] = {"base_rate": {}, "logistic_regression": {}}
    for target in TARGETS:
        base = float(data.labels[target][data.validation].mean())
        baselines["base_rate"][target] = {**binary_metrics(y[target], np.full(len(y[target]), base)), "value": base}
        training = data.training_rows(fits[target].start_year)
        logistic = _logistic_baseline(data.x_clean[training], data.labels[target][training], data.x_clean[test], rng)
        baselines["logistic_regression"][target] = binary_metrics(y[target], logistic)
    first_call = mask_fields(data.columns, test, 1.0, rng,
                             groups=[g for g in MASK_GROUPS if not set(g) & set(FIRST_CALL_FIELDS)])
    x_first = F.build_features(first_call, data.history)[test]
    p_first = apply_calibration(calibrators["severe"], _raw_predict(fits["severe"].booster, x_first))
    subgroups = {
        name: {"severe": binary_metrics(y["severe"][rows], p_severe[rows]),
               "fatal_auc": binary_metrics(y["fatal"][rows], p_fatal[rows])["auc"]}
        for name, rows in _subgroups(data.frame.loc[test].reset_index(drop=True)).items()
    }
    return {
        "year": TEST_YEAR,
        **{target: binary_metrics(y[target], predicted[target]) for target in TARGETS},
        "baselines": baselines,
        "first_call_fields_only": {"fields": list(FIRST_CALL_FIELDS), "severe": binary_metrics(y["severe"], p_first)},
        "calibration_table": {target: calibration_table(y[target], predicted[target]) for target in TARGETS},
        "thresholds": {
            target: {name: threshold_metrics(y[target], predicted[target], chosen["threshold"])
                     for name, chosen in thresholds[target].items()}
            for target in TARGETS
        },
        "subgroups": subgroups,
    }


def _importance_by_field(booster: xgb.Booster) -> dict[str, float]:
    """Share of the total gain of each incident field (features summed per source field)."""
    by_field: dict[str, float] = {}
    for name, value in booster.get_score(importance_type="total_gain").items():
        by_field[F.FEATURE_SOURCE[name]] = by_field.get(F.FEATURE_SOURCE[name], 0.0) + value
    total = sum(by_field.values()) or 1.0
    return {k: v / total for k, v in sorted(by_field.items(), key=lambda kv: -kv[1])}


def _save_artifacts(data: _TrainingData, fits: Mapping[str, _TargetFit], models_dir: Path) -> None:
    """Boosters, place history and support table (over the severe model's training years)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    fits["severe"].booster.save_model(str(models_dir / MODEL_FILE))
    fits["fatal"].booster.save_model(str(models_dir / FATAL_MODEL_FILE))
    pq.write_table(tree_table({t: fits[t].booster for t in TARGETS}), models_dir / TREES_FILE, compression="zstd")
    F.save_place_history(data.history, models_dir)
    rows = data.training_rows(fits["severe"].start_year)
    columns = F.IncidentColumns(
        {k: v[rows] for k, v in data.columns.numeric.items()}, data.columns.dep[rows], data.columns.com[rows],
        [v for v, kept in zip(data.columns.vehicles, rows, strict=True) if kept],
    )
    support = support_table(columns, data.labels["severe"][rows], data.labels["fatal"][rows])
    support["years"] = [fits["severe"].start_year, VALIDATION_YEAR]
    (models_dir / SUPPORT_FILE).write_text(json.dumps(support, separators=(",", ":")))


def train(con: duckdb.DuckDBPyConnection, *, models_dir: Path = config.MODELS_DIR,
          parquet_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train, calibrate, evaluate and save the severity model; returns the card.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection.
    models_dir : Path
        Where ``severity.ubj``, ``severity_fatal.ubj``, the place history,
        the support table and ``severity_card.json`` are written.
    parquet_dir : Path, optional
        The store folder, for the data fingerprint (default: the app's store).
    progress : callable, optional
        Called with the name of each step as it starts.

    Returns
    -------
    dict
        The model card (also written to ``severity_card.json``).

    Examples
    --------
    >>> card = train(store.connect())  # doctest: +SKIP
    >>> card["metrics"]["test"]["severe"]["auc"]  # doctest: +SKIP
    0.85...
    """
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    rng = np.random.default_rng(SEED)
    data = _prepare(con, rng, step)
    fits = {target: _fit_target(data, target, step) for target in TARGETS}

    step("calibration and thresholds on the validation year")
    validation = data.validation
    calibrators = {t: fit_isotonic(data.labels[t][validation], fits[t].cross_fit.oof[validation])
                   for t in TARGETS}
    p_val = dict(zip(TARGETS, _calibrated(calibrators, fits["severe"].cross_fit.oof[validation],
                                                fits["fatal"].cross_fit.oof[validation]), strict=True))
    thresholds = {t: choose_thresholds(data.labels[t][validation], p_val[t]) for t in TARGETS}

    step(f"scoring {TEST_YEAR} and the baselines")
    test_metrics = _test_metrics(data, fits, calibrators, thresholds, rng)

    step("saving the model, its place history and its card")
    models_dir = Path(models_dir)
    _save_artifacts(data, fits, models_dir)
    severe_start, fatal_start = fits["severe"].start_year, fits["fatal"].start_year
    card = {
        "model_version": MODEL_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "targets": {
            "severe": "at least one person killed or hospitalised (grav 2 or 3)",
            "fatal": "at least one person killed (grav 2)",
            "worst_injury": "killed = p_fatal, hospitalised = p_severe - p_fatal, light = 1 - p_severe, "
                            "unharmed = 0 (BAAC records injury accidents only)",
        },
        "years": {"history": [HISTORY_FIRST_YEAR, VALIDATION_YEAR], "training": [severe_start, VALIDATION_YEAR],
                  "training_fatal": [fatal_start, VALIDATION_YEAR], "validation": VALIDATION_YEAR, "test": TEST_YEAR},
        "training_rows": int(data.training_rows(severe_start).sum()),
        "training_rows_fatal": int(data.training_rows(fatal_start).sum()),
        "start_year": {
            "chosen": severe_start,
            "chosen_fatal": fatal_start,
            "candidates": fits["severe"].candidates,
            "candidates_fatal": fits["fatal"].candidates,
            "how": f"each candidate trained (shipped settings) on its years up to {VALIDATION_YEAR - 1} plus a "
                   f"random half of {VALIDATION_YEAR}, scored by ROC-AUC on the other half. Candidates within "
                   f"{START_YEAR_TOLERANCE} AUC of the best are ties (the standard error of an AUC on ~29,000 "
                   "accidents is about 0.002); among ties the latest start year is kept: fewer years recorded "
                   "under the pre-2018 hospitalisation rule and a quicker training.",
        },
        "inputs": list(F.INCIDENT_FIELDS),
        "features": {"names": list(F.FEATURE_NAMES), "source": dict(F.FEATURE_SOURCE)},
        "params": {
            **{t: {"xgboost": _jsonable(settings.params), "mask_rate": settings.mask_rate,
                   "negative_share": settings.negative_share, "rounds": fits[t].booster.num_boosted_rounds()}
               for t, settings in TARGETS.items()},
            "seed": SEED, "validation_folds": N_FOLDS, "early_stopping_rounds": EARLY_STOPPING_ROUNDS,
        },
        "calibration": {
            "method": "isotonic, linear between breakpoints",
            "fitted_on": f"out-of-fold predictions of {VALIDATION_YEAR} (models trained on the earlier years and "
                         f"the other half of {VALIDATION_YEAR}, with the shipped settings)",
            **calibrators,
        },
        "thresholds": thresholds,
        "metrics": {
            "validation": {
                "year": VALIDATION_YEAR,
                "note": "out-of-fold predictions; the calibration maps were fitted on these same predictions, "
                        "so the calibrated figures here (ECE in particular) are not test figures",
                **{t: binary_metrics(data.labels[t][validation], p_val[t]) for t in TARGETS},
                "severe_raw_auc": binary_metrics(data.labels["severe"][validation],
                                                 fits["severe"].cross_fit.oof[validation])["auc"],
            },
            "test": test_metrics,
        },
        "importance": _importance_by_field(fits["severe"].booster),
        "data_fingerprint": data_fingerprint(data.frame, Path(parquet_dir or config.parquet_dir())),
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    card["files"] = {name: _sha256(models_dir / name) for name in _MODEL_FILES}
    (models_dir / CARD_FILE).write_text(json.dumps(card, indent=1, ensure_ascii=False))
    return card


_MODEL_FILES: Final = (MODEL_FILE, FATAL_MODEL_FILE, F.HISTORY_COUNTS_FILE, F.HISTORY_TOTALS_FILE, SUPPORT_FILE,
                       TREES_FILE)


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in params.items()}


# --------------------------------------------------------------------------- #
# The boosters as arrays
# --------------------------------------------------------------------------- #

#: Incident fields (and "place") in the order of the explanation columns.
_SOURCES: Final = tuple(dict.fromkeys(F.FEATURE_SOURCE[name] for name in F.FEATURE_NAMES))


def _node_means(left: Sequence[int], right: Sequence[int], value: Sequence[float],
                cover: Sequence[float]) -> np.ndarray:
    """Cover-weighted mean of the leaves under each node (a leaf: its value), as XGBoost computes it."""
    mean = np.zeros(len(left))
    stack = [(0, False)]
    while stack:
        node, children_done = stack.pop()
        if left[node] == -1:
            mean[node] = value[node]
        elif children_done:
            a, b = left[node], right[node]
            mean[node] = (mean[a] * cover[a] + mean[b] * cover[b]) / cover[node]
        else:
            stack += [(node, True), (left[node], False), (right[node], False)]
    return mean


def _node_depths(parents: Sequence[int]) -> np.ndarray:
    """Steps from the root to each node (a parent always has a smaller id than its children)."""
    depth = np.zeros(len(parents), dtype=np.int32)
    for node in range(1, len(parents)):
        depth[node] = depth[parents[node]] + 1
    return depth


def _leaf_fields(tree: Mapping[str, list], mean: np.ndarray) -> np.ndarray:
    """Per node, the Saabas credit of each incident field on the path from the root (filled at leaves)."""
    field_of = [_SOURCES.index(F.FEATURE_SOURCE[name]) for name in F.FEATURE_NAMES]
    left, parents, split = tree["left_children"], tree["parents"], tree["split_indices"]
    credit = np.zeros((len(left), len(_SOURCES)))
    for node, child in enumerate(left):
        current = node
        while child == -1 and current != 0:
            parent = parents[current]
            credit[node, field_of[split[parent]]] += mean[current] - mean[parent]
            current = parent
    return credit


def tree_table(boosters: Mapping[str, xgb.Booster]) -> pa.Table:
    """Every node of the boosters as a row: split, children, leaf value and, at leaves, the field credits.

    Trees are numbered across the boosters in order (rows sorted by tree then
    node); the schema metadata gives each target's trees and base margin. The
    credits are XGBoost's ``approx_contribs`` (Saabas): walking from the root to
    the incident's leaf, each split's feature is credited with the change of the
    node mean (cover-weighted mean of its leaves). They depend only on the
    leaf, so they are computed once here, summed per incident field.
    """
    parts, targets, first_tree = [], {}, 0
    for target, booster in boosters.items():
        model = json.loads(booster.save_raw("json"))["learner"]
        base_score = float(model["learner_model_param"]["base_score"].strip("[]"))
        trees = model["gradient_booster"]["model"]["trees"]
        targets[target] = [first_tree, first_tree + len(trees), float(np.log(base_score / (1 - base_score)))]
        for index, tree in enumerate(trees, start=first_tree):
            if any(tree["split_type"]):
                raise ValueError("categorical splits are not supported by the array predictor")
            left = np.array(tree["left_children"])
            mean = _node_means(tree["left_children"], tree["right_children"], tree["split_conditions"],
                               tree["sum_hessian"])
            credit = _leaf_fields(tree, mean).astype(np.float32)
            parts.append(pa.table({
                "tree": pa.array(np.full(len(left), index), pa.int32()),
                "node": pa.array(np.arange(len(left)), pa.int32()),
                "feature": pa.array(np.where(left == -1, -1, tree["split_indices"]), pa.int32()),
                "threshold": pa.array(np.array(tree["split_conditions"], dtype=np.float32)),
                "left": pa.array(left, pa.int32()),
                "right": pa.array(tree["right_children"], pa.int32()),
                "default_left": pa.array(np.array(tree["default_left"], dtype=bool)),
                "depth": pa.array(_node_depths(tree["parents"])),
                "credit": pa.FixedSizeListArray.from_arrays(pa.array(credit.ravel()), len(_SOURCES)),
            }))
        first_tree += len(trees)
    metadata = {"targets": json.dumps(targets), "fields": json.dumps(list(_SOURCES))}
    return pa.concat_tables(parts).replace_schema_metadata(metadata)


@dataclass(frozen=True)
class TreeArrays:
    """The boosters as flat node arrays, evaluated with numpy, all targets at once.

    XGBoost takes about half a millisecond per call for a single incident,
    whatever the model; walking every tree of both boosters at once with numpy,
    one depth level per step, takes a small fraction of that and gives the
    leaves for the explanations at the same time. Nodes are numbered across all
    trees (the rows of :func:`tree_table`); leaves point to themselves, so extra
    steps are harmless. A missing value follows the node's default branch:
    each row is read twice, NaN as -inf then NaN as +inf, and a node whose
    default is left reads the first copy (so NaN < threshold), the others the
    second. The leaves are exactly XGBoost's (see the tests).
    """

    feature: np.ndarray  # per node: split feature, + n_features when a missing value goes right
    threshold: np.ndarray  # float32: go left when value < threshold (+inf at leaves)
    child: np.ndarray  # [right children..., left children...] as node indices (a leaf: itself)
    value: np.ndarray  # leaf values (float64), 0 elsewhere
    leaf_slot: np.ndarray  # per node, its row in ``credit`` (leaves only)
    credit: np.ndarray  # (leaves, fields) field credits of each leaf
    roots: np.ndarray  # node index of each tree's root
    depth: int
    targets: dict[str, tuple[slice, float]]  # target -> (its trees, base margin)

    @classmethod
    def from_table(cls, table: pa.Table) -> TreeArrays:
        """Rebuild the arrays from a :func:`tree_table`."""
        metadata = {k.decode(): json.loads(v) for k, v in (table.schema.metadata or {}).items()}
        if metadata.get("fields") != list(_SOURCES):
            raise ModelCardError(f"{TREES_FILE} explains other fields: retrain with `python -m core train`")
        node = table["node"].to_numpy()
        rows = np.arange(len(node))
        roots = np.flatnonzero(node == 0)  # rows are sorted by tree then node
        start = roots[table["tree"].to_numpy()]
        feature = table["feature"].to_numpy()
        leaf = feature < 0
        left = np.where(leaf, rows, start + table["left"].to_numpy())
        right = np.where(leaf, rows, start + table["right"].to_numpy())
        threshold = table["threshold"].to_numpy()
        missing_right = ~table["default_left"].to_numpy(zero_copy_only=False)
        credit = table["credit"].combine_chunks().flatten().to_numpy().reshape(len(node), len(_SOURCES))
        leaf_slot = np.cumsum(leaf) - 1
        targets = {name: (slice(first, last), margin) for name, (first, last, margin) in metadata["targets"].items()}
        return cls(np.where(leaf, 0, feature + missing_right * len(F.FEATURE_NAMES)),
                   np.where(leaf, np.float32(np.inf), threshold), np.concatenate([right, left]),
                   np.where(leaf, threshold, 0.0).astype(np.float64), leaf_slot,
                   credit[leaf].astype(np.float64), roots, int(pc.max(table["depth"]).as_py()), targets)

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Node index of the leaf reached in every tree by every row of ``x`` (float32, NaN = missing)."""
        x = np.asarray(x, dtype=np.float32)
        missing = np.isnan(x)
        values = np.concatenate([np.where(missing, -np.inf, x), np.where(missing, np.inf, x)], axis=1).ravel()
        size = len(self.threshold)
        if len(x) == 1:  # one incident: 1-D arrays, the fewest numpy calls
            node = self.roots
            for _ in range(self.depth):
                go_left = values.take(self.feature.take(node)) < self.threshold.take(node)
                node = self.child.take(node + go_left * size)
            return node[None, :]
        row_start = (np.arange(len(x)) * (2 * x.shape[1]))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        for _ in range(self.depth):
            go_left = values.take(row_start + self.feature.take(node)) < self.threshold.take(node)
            node = self.child.take(node + go_left * size)
        return node

    def of(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """The columns of ``leaves`` (every tree) that belong to ``target``'s trees."""
        return leaves[:, self.targets[target][0]]

    def node_ids(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """XGBoost's node ids (``pred_leaf``) of a target's leaf node indices."""
        return leaves - self.roots[self.targets[target][0]]

    def from_node_ids(self, target: str, node_ids: np.ndarray) -> np.ndarray:
        """Leaf node indices from XGBoost's ``pred_leaf`` output for ``target``."""
        return node_ids.astype(np.int64).reshape(len(node_ids), -1) + self.roots[self.targets[target][0]]

    def margin(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """Log-odds of ``target`` for each row, from the leaves of its trees."""
        return self.targets[target][1] + self.value.take(leaves).sum(axis=1)

    def field_credits(self, leaves: np.ndarray) -> np.ndarray:
        """Per row and incident field (``_SOURCES`` order), the log-odds credited to it by these leaves."""
        slots = self.leaf_slot.take(leaves)
        if len(leaves) <= ARRAY_PREDICT_MAX_ROWS:
            return self.credit[slots].sum(axis=1)
        out = np.zeros((len(leaves), self.credit.shape[1]))
        for tree in range(leaves.shape[1]):  # one tree at a time: no (rows, trees, fields) temporary
            out += self.credit[slots[:, tree]]
        return out


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class SeverityModel:
    """A loaded severity model: trees, calibration, place history, support table and card.

    Use :func:`load_model` to get one, then :func:`predict_one` or :func:`predict_many`.
    The XGBoost boosters themselves are read on first use (large batches, the model page).
    """

    models_dir: Path
    trees: TreeArrays  # the boosters as arrays, for quick prediction
    card: dict[str, Any]
    history: F.PlaceHistory
    support_codes: np.ndarray  # (combinations, len(KEY_FACTS)), -1 = unknown in the store
    support_counts: np.ndarray  # (combinations, 3): accidents, severe, fatal

    @property
    def version(self) -> str:
        """``model_version`` of the card."""
        return str(self.card["model_version"])

    @functools.cached_property
    def severe(self) -> xgb.Booster:
        """The booster of ``p_severe`` (before calibration)."""
        return _load_booster(self.models_dir / MODEL_FILE)

    @functools.cached_property
    def fatal(self) -> xgb.Booster:
        """The booster of ``p_fatal`` (before calibration)."""
        return _load_booster(self.models_dir / FATAL_MODEL_FILE)

    def booster(self, target: str) -> xgb.Booster:
        """``severe`` or ``fatal`` by name."""
        return self.severe if target == "severe" else self.fatal


def _load_booster(path: Path) -> xgb.Booster:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(path))
    booster.set_param({"nthread": PREDICT_THREADS})
    return booster


def load_model(models_dir: Path = config.MODELS_DIR, *, verify: bool = True) -> SeverityModel:
    """Load the committed severity model and check it against its card.

    Parameters
    ----------
    models_dir : Path
        Folder holding the files written by :func:`train`.
    verify : bool
        Check the SHA-256 of every file against the card (a few milliseconds).

    Returns
    -------
    SeverityModel

    Raises
    ------
    ModelMissingError
        When a file is missing, with the command that rebuilds the model.
    ModelCardError
        When the files, the card and this code disagree (other version, other
        features, a file changed since training).

    Examples
    --------
    >>> model = load_model()  # doctest: +SKIP
    >>> predict_one(model, {"vehicles": [7, 33], "agg": 1})["p_severe"]  # doctest: +SKIP
    0.61...
    """
    models_dir = Path(models_dir)
    missing = [name for name in (CARD_FILE, *_MODEL_FILES) if not (models_dir / name).exists()]
    if missing:
        raise ModelMissingError(
            f"No complete severity model in {models_dir} (missing {', '.join(missing)}). "
            "Build it with `python -m core train` (make train)."
        )
    card = json.loads((models_dir / CARD_FILE).read_text())
    if card.get("model_version") != MODEL_VERSION:
        raise ModelCardError(f"model card version {card.get('model_version')!r} but this code expects "
                             f"{MODEL_VERSION!r}: retrain with `python -m core train`")
    if card.get("features", {}).get("names") != list(F.FEATURE_NAMES):
        raise ModelCardError("the model was trained with other features than core.features builds: "
                             "retrain with `python -m core train`")
    if verify:
        changed = [name for name in _MODEL_FILES if _sha256(models_dir / name) != card["files"].get(name)]
        if changed:
            raise ModelCardError(f"{', '.join(changed)} changed since the card was written: "
                                 "retrain with `python -m core train`")
    support = json.loads((models_dir / SUPPORT_FILE).read_text())
    if support["facts"] != list(F.KEY_FACTS):
        raise ModelCardError("the support table uses other key facts: retrain with `python -m core train`")
    rows = np.array(support["rows"], dtype=np.int64).reshape(-1, len(F.KEY_FACTS) + 3)
    trees = TreeArrays.from_table(pq.read_table(models_dir / TREES_FILE))
    if set(trees.targets) != set(TARGETS):
        raise ModelCardError(f"{TREES_FILE} holds {sorted(trees.targets)}: retrain with `python -m core train`")
    return SeverityModel(models_dir, trees, card, F.load_place_history(models_dir),
                         rows[:, :len(F.KEY_FACTS)], rows[:, len(F.KEY_FACTS):].astype(np.float64))


# --------------------------------------------------------------------------- #
# Prediction
# --------------------------------------------------------------------------- #

TOP_FACTORS: Final = 5

#: Incident field (or "place") -> French name shown to users.
FIELD_LABELS: Final[dict[str, str]] = {
    "datetime": "Date et heure",
    "place": "Lieu (coordonnées et historique de la zone)",
    "dep": "Département",
    "com": "Commune",
    "lum": "Luminosité",
    "atm": "Conditions atmosphériques",
    "surf": "État de la surface",
    "agg": "Agglomération",
    "int": "Intersection",
    "col": "Type de collision",
    "catr": "Catégorie de route",
    "vma": "Vitesse maximale autorisée",
    "obs": "Obstacle fixe heurté",
    "vehicles": "Véhicules",
    "n_pedestrians": "Piétons",
    "n_people": "Personnes impliquées",
}
_UNKNOWN: Final = "non renseigné"


def _short_catv(code: int) -> str:
    text = codebook.label("catv", code)
    return text.split(" (anciennement")[0]


def _number(value: float) -> int | None:
    value = float(value)
    return None if value != value else int(value)  # NaN is the only value unequal to itself


_FEATURE_INDEX: Final = {name: index for index, name in enumerate(F.FEATURE_NAMES)}


def _history_phrase(level: str, features: np.ndarray | None, *, where: str = "") -> str:
    """E.g. `` — 312 accidents passés, gravité 1,2 × la moyenne`` from a feature row ("" without one)."""
    if features is None:
        return ""
    log_count = float(features[_FEATURE_INDEX[f"{level}_log_count"]])
    if log_count != log_count:
        return ""
    n = round(math.expm1(log_count))
    ratio = float(features[_FEATURE_INDEX[f"{level}_severe_ratio"]])
    plural = "s" if n >= 2 else ""
    count = f"{n:,}".replace(",", "\u202f")
    severity = f"{ratio:.1f}".replace(".", ",")
    return f" — {where}{count} accident{plural} passé{plural}, gravité {severity} × la moyenne"


def describe_field(source: str, columns: F.IncidentColumns, row: int, features: np.ndarray | None = None) -> str:
    """The value of an incident field in French words (``non renseigné`` when unknown).

    Parameters
    ----------
    source : str
        An incident field, or ``"place"`` (coordinates).
    columns : IncidentColumns
        The incidents.
    row : int
        Which incident.
    features : numpy.ndarray, optional
        Its feature row: place, department and commune then tell their history.

    Examples
    --------
    >>> cols = F.columns_from_incidents([F.parse_incident({"atm": 2, "vehicles": [7, 7, 33]})])
    >>> describe_field("atm", cols, 0), describe_field("vehicles", cols, 0)
    ('Pluie légère', '2 × VL seul, 1 × Motocyclette > 125 cm 3')
    """
    num = columns.numeric
    if source in F.CODED_FIELDS:
        code = _number(num[source][row])
        return _UNKNOWN if code is None else codebook.label(source, code)
    if source == "vma":
        vma = _number(num["vma"][row])
        return _UNKNOWN if vma is None else f"{vma} km/h"
    if source == "vehicles":
        codes = columns.vehicles[row]
        if codes is None:
            return _UNKNOWN
        counted: dict[int, int] = {}
        for code in codes:
            counted[code] = counted.get(code, 0) + 1
        return ", ".join(f"{n} × {_short_catv(code)}" for code, n in counted.items())
    if source in ("n_pedestrians", "n_people"):
        count = _number(num[source][row])
        if count is None:
            return _UNKNOWN
        noun = "piéton" if source == "n_pedestrians" else "personne"
        return f"{count} {noun}{'s' if count > 1 else ''}" if count else f"aucun {noun}"
    if source == "dep":
        dep = columns.dep[row]
        return f"{places.department_name(dep)} ({dep}){_history_phrase('dep', features)}" if dep else _UNKNOWN
    if source == "com":
        com = columns.com[row]
        name = places.commune_name(com) or "commune"
        return f"{name} ({com}){_history_phrase('com', features)}" if com else _UNKNOWN
    if source == "place":
        lat, lon = float(num["lat"][row]), float(num["lon"][row])
        if lat != lat:
            return _UNKNOWN
        return f"{lat:.4f}, {lon:.4f}" + _history_phrase("h3_7", features, where="quartier de ~5 km² : ")
    if source == "datetime":
        year = _number(num["year"][row])
        if year is None:
            return _UNKNOWN
        weekday = codebook.WEEKDAY_LABELS[int(num["weekday"][row])].lower()
        text = f"{weekday} {int(num['day'][row])} {codebook.MONTH_LABELS[int(num['month'][row])].lower()} {year}"
        hour = _number(num["hour"][row])
        return text if hour is None else f"{text}, {hour:02d}:{_number(num['minute'][row]) or 0:02d}"
    raise KeyError(f"no description for {source!r}")


#: Incident fields (and "place") in the order of the explanation columns.
_SOURCES: Final = tuple(dict.fromkeys(F.FEATURE_SOURCE[name] for name in F.FEATURE_NAMES))


def _top_factors(by_source: np.ndarray, columns: F.IncidentColumns, row: int,
                 features: np.ndarray) -> list[dict[str, Any]]:
    """The fields that moved the estimate most, in words; fields left unknown are not listed."""
    factors = []
    for index in np.argsort(-np.abs(by_source)):
        effect = float(by_source[index])
        if len(factors) == TOP_FACTORS or abs(effect) < 1e-3:
            break
        source = _SOURCES[index]
        value = describe_field(source, columns, row, features)
        if value == _UNKNOWN:
            continue
        verb = "augmente" if effect > 0 else "diminue"
        factors.append({
            "field": source, "label": FIELD_LABELS[source], "value": value, "effect": round(effect, 4),
            "text": f"{FIELD_LABELS[source]} : {value} — {verb} le risque",
        })
    return factors


def _support(model: SeverityModel, facts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Past accidents sharing each incident's known key facts, and how many of them were severe."""
    query = np.where(np.isnan(facts), -9, facts).astype(np.int64)
    if len(query) == 1:
        patterns, inverse = query, np.zeros(1, dtype=np.int64)
    else:  # one integer per combination (codes are -9..9): a 1-D unique is far quicker than axis=0
        keys = ((query + 10) * (20 ** np.arange(query.shape[1]))).sum(axis=1)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        patterns = query[first]
    count = np.zeros(len(patterns))
    severe = np.zeros(len(patterns))
    for index, pattern in enumerate(patterns):
        known = pattern != -9
        match = np.all(model.support_codes[:, known] == pattern[known], axis=1)
        count[index] = model.support_counts[match, 0].sum()
        severe[index] = model.support_counts[match, 1].sum()
    inverse = inverse.ravel()
    return count[inverse], severe[inverse]


def predict_columns(model: SeverityModel, columns: F.IncidentColumns, *, explain: bool = True,
                    ids: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Predictions for a batch of canonical incidents (see :func:`predict_many` for raw JSON)."""
    results = []
    for start in range(0, len(columns), PREDICT_BLOCK):
        block = columns if len(columns) <= PREDICT_BLOCK else _rows_of(columns, slice(start, start + PREDICT_BLOCK))
        block_ids = None if ids is None else ids[start:start + PREDICT_BLOCK]
        results += _predict_block(model, block, explain=explain, ids=block_ids)
    return results


def _raw_probabilities(model: SeverityModel, x: np.ndarray, *, explain: bool
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Uncalibrated p_severe, p_fatal and the severe leaves (flat indices; None unless ``explain``).

    A few incidents: numpy walks the trees (:class:`TreeArrays`, a few tens of
    microseconds). Many: XGBoost's own C++ (faster per incident). Both give the
    same leaves; the probabilities agree within 1e-6 (XGBoost sums in float32).
    """
    trees = model.trees
    if len(x) <= ARRAY_PREDICT_MAX_ROWS:
        leaves = trees.leaves(x)
        severe, fatal = trees.of("severe", leaves), trees.of("fatal", leaves)
        return _sigmoid(trees.margin("severe", severe)), _sigmoid(trees.margin("fatal", fatal)), severe
    import xgboost as xgb

    raw = [model.booster(t).inplace_predict(x, validate_features=False).astype(np.float64) for t in TARGETS]
    severe = None
    if explain:
        node_ids = model.severe.predict(xgb.DMatrix(x, nthread=PREDICT_THREADS), pred_leaf=True,
                                        validate_features=False)
        severe = trees.from_node_ids("severe", node_ids)
    return raw[0], raw[1], severe


def _rows_of(columns: F.IncidentColumns, rows: slice) -> F.IncidentColumns:
    return F.IncidentColumns({k: v[rows] for k, v in columns.numeric.items()}, columns.dep[rows],
                             columns.com[rows], columns.vehicles[rows])


def _predict_block(model: SeverityModel, columns: F.IncidentColumns, *, explain: bool,
                   ids: Sequence[Any] | None) -> list[dict[str, Any]]:
    x = F.build_features(columns, model.history)
    raw_severe, raw_fatal, severe_leaves = _raw_probabilities(model, x, explain=explain)
    p_severe, p_fatal = _calibrated(model.card["calibration"], raw_severe, raw_fatal)
    support, support_severe = _support(model, F.key_facts(columns))
    contributions = model.trees.field_credits(severe_leaves) if explain else None
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(support > 0, support_severe / support, np.nan)
    version = model.version
    results = []
    rows = zip(p_severe.tolist(), p_fatal.tolist(), support.astype(np.int64).tolist(), share.tolist(), strict=True)
    for row, (ps, pf, count, severe_share) in enumerate(rows):
        result = {
            "p_severe": ps,
            "p_fatal": pf,
            "worst_injury": {"unharmed": 0.0, "light": 1.0 - ps, "hospitalised": ps - pf, "killed": pf},
            "support": count,
            "support_severe_share": None if severe_share != severe_share else severe_share,
            "model_version": version,
        }
        if contributions is not None:
            result["top_factors"] = _top_factors(contributions[row], columns, row, x[row])
        if ids is not None and ids[row] is not None:
            result = {"id": ids[row], **result}
        results.append(result)
    return results


def predict_one(model: SeverityModel, incident: Mapping[str, Any], *, explain: bool = True) -> dict[str, Any]:
    """Predict one incident given as a JSON-like dict (see :func:`core.features.parse_incident`).

    Returns
    -------
    dict
        ``p_severe``, ``p_fatal``, ``worst_injury`` {unharmed, light, hospitalised,
        killed}, ``top_factors`` (list of {field, label, value, effect, text}, effect
        in log-odds of the uncalibrated model), ``support`` (past accidents of the
        training years sharing the known key facts), ``support_severe_share``,
        ``model_version``; ``id`` when the incident has one.

    Raises
    ------
    core.features.IncidentError
        Naming the wrong field and why.
    """
    parsed = F.parse_incident(incident)
    return predict_columns(model, F.columns_from_incidents([parsed]), explain=explain, ids=[parsed["id"]])[0]


def predict_many(model: SeverityModel, incidents: Sequence[Any], *, explain: bool = True) -> list[dict[str, Any]]:
    """Predict a batch; an invalid incident gives ``{"error": {"field", "reason"}}`` in its place.

    Examples
    --------
    >>> predict_many(model, [{"atm": 42}])  # doctest: +SKIP
    [{'error': {'field': 'atm', 'reason': 'unknown code 42; allowed: 1, ..., 9 (null or -1 = unknown)'}}]
    """
    parsed: list[dict[str, Any]] = []
    slots: list[int] = []
    results: list[dict[str, Any]] = [{} for _ in incidents]
    for position, incident in enumerate(incidents):
        try:
            parsed.append(F.parse_incident(incident))
            slots.append(position)
        except F.IncidentError as error:
            results[position] = error_result(error, incident)
    if parsed:
        predictions = predict_columns(model, F.columns_from_incidents(parsed), explain=explain,
                                      ids=[p["id"] for p in parsed])
        for position, prediction in zip(slots, predictions, strict=True):
            results[position] = prediction
    return results


def error_result(error: F.IncidentError, incident: Any = None) -> dict[str, Any]:
    """The error object of an invalid incident (echoing its ``id`` when it has one)."""
    result: dict[str, Any] = {"error": {"field": error.field, "reason": error.reason}}
    if isinstance(incident, Mapping) and incident.get("id") is not None:
        result = {"id": incident["id"], **result}
    return result


# --------------------------------------------------------------------------- #
# Similar past accidents (for the dispatcher page)
# --------------------------------------------------------------------------- #

_SIMILAR_SQL: Final = """
    WITH v AS (
        SELECT acc_id, list(coalesce(catv, 0) ORDER BY veh) AS vehicles, bool_or(obs > 0) AS obstacle
        FROM vehicles WHERE acc_id IN (SELECT acc_id FROM accidents WHERE year BETWEEN $first AND $last)
        GROUP BY acc_id
    )
    SELECT a.acc_id, a.year, a.month, a.day, a.hour, a.minute, a.dep, a.com, a.agg, a.catr, a.lum,
           v.vehicles, a.n_users AS n_people, a.n_killed, a.n_hospitalised, a.n_light, a.severe,
           count(*) OVER () AS matching
    FROM accidents a JOIN v USING (acc_id)
    WHERE a.year BETWEEN $first AND $last
      AND ($agg IS NULL OR a.agg = $agg)
      AND ($catr IS NULL OR a.catr = $catr)
      AND ($daylight IS NULL OR (a.lum <= 2) = $daylight)
      AND ($pedestrian IS NULL OR a.has_pedestrian = $pedestrian)
      AND ($bicycle IS NULL OR a.has_bicycle = $bicycle)
      AND ($two_wheeler IS NULL OR a.has_two_wheeler = $two_wheeler)
      AND ($heavy_goods IS NULL OR a.has_hgv = $heavy_goods)
      AND ($obstacle IS NULL OR v.obstacle = $obstacle)
    ORDER BY (a.dep = $dep) DESC NULLS LAST, a.acc_id DESC
    LIMIT $limit
"""


def similar_accidents(con: duckdb.DuckDBPyConnection, model: SeverityModel, incident: Mapping[str, Any],
                      *, limit: int = 20) -> pd.DataFrame:
    """Past accidents (training years) sharing the incident's known key facts, same department first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A store connection (a cursor is used).
    model : SeverityModel
        Gives the years searched (the model's training years, as ``support``).
    incident : Mapping
        Raw incident, validated with :func:`core.features.parse_incident`.
    limit : int
        At most this many rows, most recent first within the same department.

    Returns
    -------
    pandas.DataFrame
        acc_id, year, month, day, hour, minute, dep, com, agg, catr, lum, vehicles
        (catv list), n_people, n_killed, n_hospitalised, n_light, severe, and
        ``matching``: how many accidents match in all (equals the ``support`` of
        the prediction).
    """
    parsed = F.parse_incident(incident)
    facts = F.key_facts(F.columns_from_incidents([parsed]))[0]
    params: dict[str, Any] = {
        name: (None if np.isnan(value) else (int(value) if name in ("agg", "catr") else bool(value)))
        for name, value in zip(F.KEY_FACTS, facts, strict=True)
    }
    first, last = model.card["years"]["training"]
    params.update({"first": int(first), "last": int(last), "dep": parsed["dep"], "limit": int(limit)})
    cursor = con.cursor()
    try:
        return cursor.execute(_SIMILAR_SQL, params).fetch_df()
    finally:
        cursor.close()
