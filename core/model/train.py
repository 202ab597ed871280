"""Train the severity model end to end and write it with its card (``python -m core train``).

Why a module of its own
-----------------------
The card is what makes the committed model trustworthy: it records the
protocol (:mod:`core.model.fitting`), the honest test-year figures beside two
baselines (base rate, logistic regression), figures per subgroup and with
first-call fields only, the alert thresholds and the risk bands they cut
(chosen on the validation year, with their test-year figures for information),
the calibration maps, a fingerprint of the data and the SHA-256 of every file. :func:`train` computes
all of it and writes the boosters, their array form (:mod:`core.model.trees`),
the place history and the support table beside it; :func:`core.model.loading.load_model`
checks the files against the card.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow.parquet as pq

from core import config
from core.features.build import build_features
from core.features.columns import IncidentColumns
from core.features.facts import KEY_FACTS, key_facts
from core.features.history import save_place_history
from core.features.names import FEATURE_NAMES, FEATURE_SOURCE
from core.incident.fields import INCIDENT_FIELDS
from core.model.card import ModelCard, parse_card
from core.model.fitting import (
    EARLY_STOPPING_ROUNDS,
    MASK_GROUPS,
    N_FOLDS,
    START_YEAR_TOLERANCE,
    TargetFit,
    TrainingData,
    TrainingPlan,
    describe_some,
    fit_target,
    mask_fields,
    prepare_training_data,
    raw_predict,
)
from core.model.metrics import (
    BAND_RULES,
    PRECISION_RULES,
    RECALL_RULES,
    apply_calibration,
    band_cutoffs,
    band_figures,
    binary_metrics,
    calibrate_targets,
    calibration_table,
    choose_thresholds,
    fit_isotonic,
    recalibrate_targets,
    threshold_metrics,
)
from core.model.spec import (
    CARD_FILE,
    FATAL_MODEL_FILE,
    HISTORY_COUNTS_FILE,
    HISTORY_FIRST_YEAR,
    HISTORY_TOTALS_FILE,
    MODEL_FILE,
    MODEL_FILES,
    MODEL_VERSION,
    REGISTRY_FILE,
    SEED,
    SUPPORT_FILE,
    TARGETS,
    TREES_FILE,
    file_sha256,
    install_model_files,
)
from core.model.subgroups import subgroup_masks
from core.model.trees import tree_table

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import xgboost as xgb

#: What a first call typically gives: place, time, vehicles and people (used for a robustness figure).
FIRST_CALL_FIELDS: Final = ("lat", "lon", "dep", "com", "year", "month", "day", "hour", "minute", "weekday",
                            "agg", "vehicles", "n_pedestrians", "n_people")


def data_fingerprint(frame: pd.DataFrame, parquet_dir: Path) -> dict[str, Any]:
    """Rows and severe accidents per year plus size and SHA-256 of each Parquet file of the store."""
    per_year = frame.groupby("year").agg(rows=("acc_id", "size"), severe=("severe", "sum"))
    files = {}
    for name in (config.ACCIDENTS_FILE, config.USERS_FILE, config.VEHICLES_FILE):
        path = Path(parquet_dir) / name
        if path.exists():
            files[name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    detail = {
        "rows_per_year": {str(int(y)): int(r) for y, r in per_year["rows"].items()},
        "severe_per_year": {str(int(y)): int(s) for y, s in per_year["severe"].items()},
        "files": files,
    }
    digest = hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:16]
    return {"hash": digest, **detail}


def support_table(columns: IncidentColumns, severe: np.ndarray, fatal: np.ndarray) -> dict[str, Any]:
    """Counts of accidents per combination of key facts (unknown fact = -1), for the support figure."""
    facts = key_facts(columns)
    codes = np.where(np.isnan(facts), -1, facts).astype(np.int64)
    combos, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = np.bincount(inverse, minlength=len(combos))
    n_severe = np.bincount(inverse, weights=severe.astype(float), minlength=len(combos))
    n_fatal = np.bincount(inverse, weights=fatal.astype(float), minlength=len(combos))
    return {
        "facts": list(KEY_FACTS),
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

    coded = [FEATURE_NAMES.index(n) for n in
             ("weekday", "month", "recording_period", "lum", "atm", "surf", "agg", "int", "col", "catr", "obs")]
    other = [i for i in range(len(FEATURE_NAMES)) if i not in coded]
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


def _test_predictions(data: TrainingData, fits: Mapping[str, TargetFit],
                      calibrators: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Calibrated p_severe and p_fatal of every test-year accident."""
    test = data.test
    p_severe, p_fatal = calibrate_targets(calibrators, raw_predict(fits["severe"].booster, data.x_clean[test]),
                                          raw_predict(fits["fatal"].booster, data.x_clean[test]))
    return {"severe": p_severe, "fatal": p_fatal}


def _test_metrics(data: TrainingData, fits: Mapping[str, TargetFit], calibrators: Mapping[str, Any],
                  thresholds: Mapping[str, Any], predicted: Mapping[str, np.ndarray],
                  rng: np.random.Generator) -> dict[str, Any]:
    """Every figure of the test year: model, baselines, first-call fields, calibration, subgroups."""
    test, test_year = data.test, data.plan.test_year
    p_severe, p_fatal = predicted["severe"], predicted["fatal"]
    y = {target: data.labels[target][test] for target in TARGETS}
    baselines: dict[str, dict[str, Any]] = {"base_rate": {}, "logistic_regression": {}}
    for target in TARGETS:
        base = float(data.labels[target][data.validation].mean())
        baselines["base_rate"][target] = {**binary_metrics(y[target], np.full(len(y[target]), base)), "value": base}
        training = data.training_rows(fits[target].start_year)
        logistic = _logistic_baseline(data.x_clean[training], data.labels[target][training], data.x_clean[test], rng)
        baselines["logistic_regression"][target] = binary_metrics(y[target], logistic)
    first_call = mask_fields(data.columns, test, 1.0, rng,
                             groups=[g for g in MASK_GROUPS if not set(g) & set(FIRST_CALL_FIELDS)])
    x_first = build_features(first_call, data.history)[test]
    p_first = apply_calibration(calibrators["severe"], raw_predict(fits["severe"].booster, x_first))
    masks = subgroup_masks(data.frame.loc[test].reset_index(drop=True))
    subgroups = {
        name: {"severe": binary_metrics(y["severe"][rows], p_severe[rows]),
               "fatal_auc": binary_metrics(y["fatal"][rows], p_fatal[rows])["auc"]}
        for name, rows in masks.items()
    }
    pedestrians = masks["pedestrian involved"]

    def people_mode(columns: IncidentColumns) -> dict[str, Any]:
        x = build_features(columns.take(test), data.history)  # the test year's rows only, built once
        severe, fatal = calibrate_targets(calibrators, *(raw_predict(fits[t].booster, x) for t in TARGETS))
        return {"severe": binary_metrics(y["severe"], severe), "fatal": binary_metrics(y["fatal"], fatal),
                "pedestrian_severe_auc": binary_metrics(y["severe"][pedestrians], severe[pedestrians])["auc"]}

    people = {
        "all_described": {"severe": binary_metrics(y["severe"], p_severe),
                          "fatal": binary_metrics(y["fatal"], p_fatal),
                          "pedestrian_severe_auc": subgroups["pedestrian involved"]["severe"]["auc"]},
        "some_described": people_mode(describe_some(data.columns, test, np.random.default_rng(SEED + 3),
                                                    hidden_rate=0.0)),
        "none_described": people_mode(mask_fields(data.columns, test, 1.0, rng, groups=[("people",)])),
    }
    return {
        "year": test_year,
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
        "people": people,
    }


#: What an eCall message carries, as incident fields (the card's ``msd_facts`` figure keeps only these).
MSD_FIELDS: Final = ("lat", "lon", "dep", "com", "year", "month", "day", "hour", "minute", "weekday", "vehicles",
                     "n_people")


#: No eCall estimate is ever exactly 0 or 1: a crash the vehicle reported always leaves some doubt.
ECALL_FLOOR: Final = 0.001


def _ecall_card(data: TrainingData, fits: Mapping[str, TargetFit], calibrators: Mapping[str, Any]) -> dict[str, Any]:
    """The card's ``ecall`` entry: the eCall calibrations, fitted out of fold on the validation year's messages
    with and without their point, and the test year's figures on the accidents that have a message."""
    validation = data.validation & data.ecall_rows
    validation_year, test_year = data.plan.validation_year, data.plan.test_year
    maps = {}
    for mode, key in (("trusted", "with_point"), ("untrusted", "without_point")):
        p_validation = calibrate_targets(calibrators, fits["severe"].cross_fit.oof_ecall[mode][validation],
                                         fits["fatal"].cross_fit.oof_ecall[mode][validation])
        maps[key] = {t: fit_isotonic(data.labels[t][validation], p, floor=ECALL_FLOOR)
                     for t, p in zip(TARGETS, p_validation, strict=True)}
    test = data.test & data.ecall_rows
    y = {t: data.labels[t][test] for t in TARGETS}

    def scored(x: np.ndarray, *, ecall_maps: Mapping[str, Any] | None = None) -> dict[str, Any]:
        severe, fatal = calibrate_targets(calibrators, raw_predict(fits["severe"].booster, x),
                                          raw_predict(fits["fatal"].booster, x))
        if ecall_maps is not None:  # as the API and the page apply them (core.dispatch.ecall)
            severe, fatal = recalibrate_targets(ecall_maps, severe, fatal)
        return {"severe": binary_metrics(y["severe"], severe), "fatal": binary_metrics(y["fatal"], fatal)}

    msd_only = mask_fields(data.columns, test, 1.0, np.random.default_rng(SEED),
                           groups=[g for g in MASK_GROUPS if not set(g) & set(MSD_FIELDS)])
    return {
        "simulation": "each accident replayed as the MSD one of its vehicles with an EN 15722 class (drawn at "
                      "random) would have sent: point, UTC time, class, occupants as passengers, automatic "
                      "activation; mapped by core.ecall.mapping as the API maps a message",
        "fitted_on": f"isotonic maps on the full-call calibrated, out-of-fold predictions of {validation_year}'s "
                     f"messages ({int(validation.sum())} accidents), with their point (trusted position) and "
                     "without (positionCanBeTrusted = false: department at most)",
        "calibration": maps,
        "test": {
            "year": test_year,
            "rows": int(test.sum()),
            "full_call": scored(data.x_clean[test]),
            "msd_facts": scored(build_features(msd_only, data.history)[test]),
            "message": scored(data.x_ecall["trusted"][test], ecall_maps=maps["with_point"]),
            "message_uncalibrated": scored(data.x_ecall["trusted"][test]),
            "untrusted_position": scored(data.x_ecall["untrusted"][test], ecall_maps=maps["without_point"]),
        },
    }


def _band_card(thresholds: Mapping[str, Any], plan: TrainingPlan, *, y_validation: np.ndarray, p_validation: np.ndarray,
               y_test: np.ndarray, p_test: np.ndarray) -> dict[str, Any]:
    """The risk bands of p_severe: their rule, cut-offs and, per band, accidents and observed severe rate.

    Chosen on the validation year only; the test-year figures are reported for
    information and played no part in the choice.
    """
    medium_from, high_from = band_cutoffs(thresholds)
    validation_year, test_year = plan.validation_year, plan.test_year
    medium_rule, high_rule = BAND_RULES["medium_from"], BAND_RULES["high_from"]
    fallback = thresholds[high_rule].get("fallback")
    return {
        "target": "severe",
        "rule": (f"low: p_severe < the {medium_rule} threshold, the highest that still flags "
                 f"{RECALL_RULES[medium_rule]:.0%} of the {validation_year} severe accidents (low holds at most "
                 f"{1 - RECALL_RULES[medium_rule]:.0%} of them); high: p_severe >= the {high_rule} threshold, the "
                 f"lowest at which at least {PRECISION_RULES[high_rule]:.0%} of the {validation_year} accidents "
                 f"flagged were severe (the best_f1 threshold if none reaches it); medium: in between. "
                 f"Chosen on {validation_year} only."),
        "medium_from": {"rule": medium_rule, "threshold": medium_from},
        "high_from": {"rule": high_rule, "threshold": high_from, "fallback": fallback,
                      **({"note": f"no threshold reached {PRECISION_RULES[high_rule]:.0%} precision on "
                                  f"{validation_year}: the best_f1 threshold is used"} if fallback else {})},
        "validation": {"year": validation_year, "chosen_on": True,
                       **band_figures(y_validation, p_validation, medium_from=medium_from, high_from=high_from)},
        "test": {"year": test_year, "chosen_on": False,
                 "note": f"test-year figures, for information only: {test_year} was not used to choose the bands",
                 **band_figures(y_test, p_test, medium_from=medium_from, high_from=high_from)},
    }


def _importance_by_field(booster: xgb.Booster) -> dict[str, float]:
    """Share of the total gain of each incident field (features summed per source field)."""
    by_field: dict[str, float] = {}
    for name, value in booster.get_score(importance_type="total_gain").items():
        by_field[FEATURE_SOURCE[name]] = by_field.get(FEATURE_SOURCE[name], 0.0) + value
    total = sum(by_field.values()) or 1.0
    return {k: v / total for k, v in sorted(by_field.items(), key=lambda kv: -kv[1])}


def _save_artifacts(data: TrainingData, fits: Mapping[str, TargetFit], models_dir: Path) -> None:
    """Boosters, place history and support table (over the severe model's training years)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    fits["severe"].booster.save_model(str(models_dir / MODEL_FILE))
    fits["fatal"].booster.save_model(str(models_dir / FATAL_MODEL_FILE))
    pq.write_table(tree_table({t: fits[t].booster for t in TARGETS}), models_dir / TREES_FILE, compression="zstd")
    save_place_history(data.history, counts_path=models_dir / HISTORY_COUNTS_FILE,
                       totals_path=models_dir / HISTORY_TOTALS_FILE)
    rows = data.training_rows(fits["severe"].start_year)
    columns = data.columns.take(rows)
    support = support_table(columns, data.labels["severe"][rows], data.labels["fatal"][rows])
    support["years"] = [fits["severe"].start_year, data.plan.validation_year]
    (models_dir / SUPPORT_FILE).write_text(json.dumps(support, separators=(",", ":")))


def planned_steps(plan: TrainingPlan) -> int:
    """How many steps :func:`train` reports through ``progress`` with ``plan`` (for a progress bar)."""
    return 8 + len(TARGETS) * (len(plan.start_years) + 2)


def train(con: duckdb.DuckDBPyConnection, *, models_dir: Path = config.MODELS_DIR,
          parquet_dir: Path | None = None, progress: Callable[[str], None] | None = None,
          plan: TrainingPlan | None = None) -> ModelCard:
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
    plan : TrainingPlan, optional
        Validation and test years, candidate start years, rounds and sample (default: the shipped model's).

    Returns
    -------
    ModelCard
        The model card, checked by :func:`core.model.card.parse_card` before it
        is written to ``severity_card.json``.

    Examples
    --------
    ``python -m core train`` (``make train``) runs ``train(store.connect())``
    and prints the card's figures; it takes 4 to 7 minutes on 2 cores.
    """
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    rng = np.random.default_rng(SEED)
    plan = plan or TrainingPlan()
    validation_year, test_year = plan.validation_year, plan.test_year
    data = prepare_training_data(con, rng, step, plan)
    fits = {target: fit_target(data, target, step) for target in TARGETS}

    step("calibration and thresholds on the validation year")
    validation = data.validation
    calibrators = {t: fit_isotonic(data.labels[t][validation], fits[t].cross_fit.oof[validation])
                   for t in TARGETS}
    p_val = dict(zip(TARGETS, calibrate_targets(calibrators, fits["severe"].cross_fit.oof[validation],
                                                fits["fatal"].cross_fit.oof[validation]), strict=True))
    thresholds = {t: choose_thresholds(data.labels[t][validation], p_val[t]) for t in TARGETS}

    step(f"eCall calibration on {validation_year}'s messages, figures on {test_year}'s")
    ecall = _ecall_card(data, fits, calibrators)

    step(f"scoring {test_year} and the baselines")
    predicted = _test_predictions(data, fits, calibrators)
    test_metrics = _test_metrics(data, fits, calibrators, thresholds, predicted, rng)
    bands = _band_card(thresholds["severe"], data.plan, y_validation=data.labels["severe"][validation],
                       p_validation=p_val["severe"], y_test=data.labels["severe"][data.test],
                       p_test=predicted["severe"])

    step("saving the model, its place history and its card")
    models_dir = Path(models_dir)
    # Written beside the model in service and moved in only once the card is checked: a card refused by
    # parse_card (or a crash) leaves the previous model whole.
    staging = models_dir.with_name(f".{models_dir.name}-training")
    shutil.rmtree(staging, ignore_errors=True)
    _save_artifacts(data, fits, staging)
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
        "years": {"history": [HISTORY_FIRST_YEAR, validation_year], "training": [severe_start, validation_year],
                  "training_fatal": [fatal_start, validation_year], "validation": validation_year, "test": test_year},
        "training_rows": int(data.training_rows(severe_start).sum()),
        "training_rows_fatal": int(data.training_rows(fatal_start).sum()),
        "start_year": {
            "chosen": severe_start,
            "chosen_fatal": fatal_start,
            "candidates": fits["severe"].candidates,
            "candidates_fatal": fits["fatal"].candidates,
            "how": f"each candidate trained (shipped settings) on its years up to {validation_year - 1} plus a "
                   f"random half of {validation_year}, scored by ROC-AUC on the other half. Candidates within "
                   f"{START_YEAR_TOLERANCE} AUC of the best are ties (the standard error of an AUC on ~29,000 "
                   "accidents is about 0.002); among ties the latest start year is kept: fewer years recorded "
                   "under the pre-2018 hospitalisation rule and a quicker training.",
        },
        "inputs": list(INCIDENT_FIELDS),
        "features": {"names": list(FEATURE_NAMES), "source": dict(FEATURE_SOURCE)},
        "params": {
            **{t: {"xgboost": _jsonable(settings.params), "mask_rate": settings.mask_rate,
                   "negative_share": settings.negative_share, "rounds": fits[t].booster.num_boosted_rounds()}
               for t, settings in TARGETS.items()},
            "seed": SEED, "validation_folds": N_FOLDS, "early_stopping_rounds": EARLY_STOPPING_ROUNDS,
        },
        "calibration": {
            "method": "isotonic, linear between breakpoints",
            "fitted_on": f"out-of-fold predictions of {validation_year} (models trained on the earlier years and "
                         f"the other half of {validation_year}, with the shipped settings)",
            **calibrators,
        },
        "thresholds": thresholds,
        "bands": bands,
        "metrics": {
            "validation": {
                "year": validation_year,
                "note": "out-of-fold predictions; the calibration maps were fitted on these same predictions, "
                        "so the calibrated figures here (ECE in particular) are not test figures",
                **{t: binary_metrics(data.labels[t][validation], p_val[t]) for t in TARGETS},
                "severe_raw_auc": binary_metrics(data.labels["severe"][validation],
                                                 fits["severe"].cross_fit.oof[validation])["auc"],
            },
            "test": test_metrics,
        },
        "ecall": ecall,
        "importance": _importance_by_field(fits["severe"].booster),
        "data_fingerprint": data_fingerprint(data.frame, Path(parquet_dir or config.parquet_dir())),
        "training_seconds": round(time.perf_counter() - started, 1),
        "plan": {"sample": plan.sample, "max_rounds": plan.max_rounds},
    }
    card["files"] = {name: file_sha256(staging / name) for name in MODEL_FILES}
    checked = parse_card(card, source=CARD_FILE)  # never put in service a model whose card load_model would refuse
    (staging / CARD_FILE).write_text(json.dumps(card, indent=1, ensure_ascii=False))
    (models_dir / REGISTRY_FILE).unlink(missing_ok=True)  # a model trained here is no registered version
    install_model_files(staging, models_dir)
    return checked


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in params.items()}

