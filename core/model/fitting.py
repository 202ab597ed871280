"""The validation protocol: hide fields at random, cross-fit the validation year, pick the start year.

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

:func:`core.model.train.train` runs these steps, then scores the test year and
writes the card.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from core.ecall.simulate import accident_messages, message_incidents
from core.features.build import build_features
from core.features.columns import IncidentColumns, columns_from_frame, columns_from_incidents
from core.features.history import PlaceHistory, build_place_history
from core.features.names import FEATURE_NAMES
from core.features.training import training_frame
from core.incident.fields import CODED_FIELDS
from core.incident.parse import parse_incident
from core.model.metrics import binary_metrics
from core.model.spec import HISTORY_FIRST_YEAR, MAX_ROUNDS, SEED, TARGETS, TEST_YEAR, THREADS, VALIDATION_YEAR

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import xgboost as xgb

START_YEAR_CANDIDATES: Final = (2005, 2010, 2015, 2018)
N_FOLDS: Final = 2
EARLY_STOPPING_ROUNDS: Final = 40
#: Start years whose validation AUC is within this of the best are ties: the latest of them is kept.
START_YEAR_TOLERANCE: Final = 0.001

#: Fields hidden together when masking a training row (a caller gives both coordinates or none).
MASK_GROUPS: Final = (
    ("lat", "lon"), ("dep",), ("com",), ("year", "month", "day", "hour", "minute", "weekday"),
    *((name,) for name in CODED_FIELDS), ("vma",), ("vehicles",), ("n_pedestrians",), ("n_people",), ("people",),
)
#: Share of the training rows whose people are all hidden (callers describe nobody about this often; the
#: ("people",) group of MASK_GROUPS hides them again at the mask rate, so about 55 % describe nobody), and,
#: among the others, the share of people left out of the description (a caller describes some of them) and of
#: each fact of a person described left unsaid (a caller says "a pedestrian, about 80" without the sex).
PEOPLE_HIDDEN_RATE: Final = 0.5
PERSON_LEFT_OUT_RATE: Final = 0.3
FACT_LEFT_OUT_RATE: Final = 0.3


@dataclass(frozen=True)
class TrainingPlan:
    """Which years a model learns, is validated and is tested on, and how much work training does.

    The shipped model is the default plan: trained on years up to 2019, validated on 2019, tested on 2020.
    A retraining on a new year moves both years on (:mod:`core.lifecycle.retrain`); the time-travel
    demonstration trains an older model with ``validation_year=2018``. ``sample`` and ``max_rounds`` make a
    quick, smaller model (tests, demonstrations), never the one put in service by ``python -m core train``.

    Examples
    --------
    >>> TrainingPlan().start_years
    (2005, 2010, 2015, 2018)
    >>> TrainingPlan(validation_year=2018, test_year=2019).start_years
    (2005, 2010, 2015)
    """

    validation_year: int = VALIDATION_YEAR
    test_year: int = TEST_YEAR
    candidates: tuple[int, ...] = field(default=START_YEAR_CANDIDATES)
    max_rounds: int = MAX_ROUNDS
    #: Share of each year's accidents kept, but the test year's, scored whole (None: all of them).
    sample: float | None = None

    def __post_init__(self) -> None:
        if not HISTORY_FIRST_YEAR < self.validation_year < self.test_year:
            raise ValueError(f"validation year {self.validation_year} and test year {self.test_year}: the test "
                             f"year must come after the validation year, both after {HISTORY_FIRST_YEAR}")
        if self.sample is not None and not 0 < self.sample <= 1:
            raise ValueError(f"sample {self.sample} is not a share in (0, 1]")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds {self.max_rounds} is below 1")

    @property
    def start_years(self) -> tuple[int, ...]:
        """The candidate first training years that come before the validation year (at least one)."""
        return tuple(y for y in self.candidates if y < self.validation_year) or (self.validation_year - 1,)


def mask_fields(columns: IncidentColumns, rows: np.ndarray, rate: float, rng: np.random.Generator,
                *, groups: Sequence[Sequence[str]] = MASK_GROUPS) -> IncidentColumns:
    """A copy of ``columns`` where, in ``rows``, each field group is made unknown with probability ``rate``."""
    numeric = {name: values.copy() for name, values in columns.numeric.items()}
    dep, com, vehicles, people = columns.dep.copy(), columns.com.copy(), list(columns.vehicles), columns.described()
    for group in groups:
        hidden = rows & (rng.random(len(columns)) < rate)
        for name in group:
            if name == "people":
                people = [None if gone else persons for persons, gone in zip(people, hidden, strict=True)]
            elif name == "dep":
                dep[hidden] = ""
            elif name == "com":
                com[hidden] = ""
            elif name == "vehicles":
                for row in np.flatnonzero(hidden):
                    vehicles[row] = None
            else:
                numeric[name][hidden] = np.nan
    return IncidentColumns(numeric, dep, com, vehicles, people)


def describe_some(columns: IncidentColumns, rows: np.ndarray, rng: np.random.Generator, *,
                  hidden_rate: float = PEOPLE_HIDDEN_RATE) -> IncidentColumns:
    """A copy of ``columns`` where, in ``rows``, people are described as callers describe them: nobody in
    ``hidden_rate`` of the incidents, and some of them in the others (each person left out with
    :data:`PERSON_LEFT_OUT_RATE`, at least one kept), each fact of a person kept (role, age, sex, equipment)
    left unsaid with :data:`FACT_LEFT_OUT_RATE`; a person left with nothing said is left out, and an incident
    left with nobody is one where nobody is described (as :func:`core.incident.parse.parse_incident` reads them).

    Examples
    --------
    >>> three = [{"role": 1, "age": 40, "sex": 1}, {"role": 2, "age": 8, "sex": 2}, {"role": 3, "age": 80, "sex": 2}]
    >>> columns = columns_from_incidents([parse_incident({"n_people": 3, "people": three})] * 2000)
    >>> some = describe_some(columns, np.ones(2000, dtype=bool), np.random.default_rng(0))
    >>> nobody = sum(persons is None for persons in some.people)
    >>> 900 < nobody < 1100
    True
    >>> described = [person for persons in some.people if persons is not None for person in persons]
    >>> kept = len(described) / (3 * (2000 - nobody))
    >>> 0.7 < kept < 0.8
    True
    >>> unsaid = [sum(person[fact] is None for person in described) / len(described) for fact in range(3)]
    >>> all(0.25 < share < 0.35 for share in unsaid)
    True
    >>> any(all(fact is None for fact in person) for person in described)
    False
    """
    hidden = rows & (rng.random(len(columns)) < hidden_rate)
    people = []
    for persons, row, gone in zip(columns.described(), rows, hidden, strict=True):
        if persons is None or not row:
            people.append(persons)
        elif gone:
            people.append(None)
        else:
            kept = rng.random(len(persons)) >= PERSON_LEFT_OUT_RATE
            kept[rng.integers(len(persons))] = True
            said = rng.random((len(persons), 4)) >= FACT_LEFT_OUT_RATE
            told = (tuple(fact if say else None for fact, say in zip(person, says, strict=True))
                    for person, keep, says in zip(persons, kept, said, strict=True) if keep)
            # A person of whom nothing is left said is no person described, as the contract reads it.
            people.append(tuple(person for person in told if any(fact is not None for fact in person)) or None)
    return IncidentColumns(columns.numeric, columns.dep, columns.com, columns.vehicles, people)


def _fit(params: Mapping[str, Any], x: np.ndarray, y: np.ndarray, *, rounds: int, weight: np.ndarray | None = None,
         x_val: np.ndarray | None = None, y_val: np.ndarray | None = None) -> xgb.Booster:
    import xgboost as xgb

    train = xgb.DMatrix(x, label=y, weight=weight, feature_names=list(FEATURE_NAMES), nthread=THREADS)
    if x_val is None:
        return xgb.train(dict(params), train, num_boost_round=rounds)
    valid = xgb.DMatrix(x_val, label=y_val, feature_names=list(FEATURE_NAMES), nthread=THREADS)
    return xgb.train(dict(params), train, num_boost_round=rounds, evals=[(valid, "validation")],
                     early_stopping_rounds=EARLY_STOPPING_ROUNDS, verbose_eval=False)


def raw_predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    """Uncalibrated probabilities of a booster for the feature rows ``x`` (float64)."""
    return booster.inplace_predict(x, validate_features=False).astype(np.float64)


@dataclass
class CrossFit:
    """Out-of-fold predictions of the validation year (of its accidents, and of their eCall messages) and the rounds."""

    oof: np.ndarray
    rounds: list[int]
    oof_ecall: dict[str, np.ndarray]  # per ECALL_MODES


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


@dataclass
class TrainingData:
    """Everything the training steps share: the store's accidents, labels, features and splits."""

    frame: pd.DataFrame
    years: np.ndarray
    labels: dict[str, np.ndarray]
    columns: IncidentColumns
    history: PlaceHistory
    x_clean: np.ndarray  # features as the fields were recorded (validation, test)
    x_masked: dict[str, np.ndarray]  # per target, fields hidden at random in the training years
    weight: dict[str, np.ndarray]  # per target, weight of each row, 0 for a negative row left out
    validation: np.ndarray
    test: np.ndarray
    folds: np.ndarray  # fold of each validation-year row, -1 elsewhere
    #: Per ECALL_MODES, features of each validation- and test-year accident replayed as the eCall message one
    #: of its vehicles would have sent (:mod:`core.ecall.simulate`), the same vehicle in both modes;
    #: ``ecall_rows`` tells which accidents have one.
    x_ecall: dict[str, np.ndarray]
    ecall_rows: np.ndarray
    plan: TrainingPlan

    def training_rows(self, start_year: int) -> np.ndarray:
        """Rows of the years ``start_year`` to the validation year (the final model's training rows)."""
        return (self.years >= start_year) & (self.years <= self.plan.validation_year)


@dataclass
class TargetFit:
    """One target's start-year comparison, validation predictions and final booster."""

    candidates: list[dict[str, Any]]
    start_year: int
    cross_fit: CrossFit
    booster: xgb.Booster


def prepare_training_data(con: duckdb.DuckDBPyConnection, rng: np.random.Generator,
                          step: Callable[[str], None], plan: TrainingPlan | None = None) -> TrainingData:
    """Read the store, build clean and masked features, subsample negatives and draw the validation folds."""
    plan = plan or TrainingPlan()
    validation_year, test_year = plan.validation_year, plan.test_year
    step("reading accidents from the store")
    frame = training_frame(con, first_year=HISTORY_FIRST_YEAR, last_year=test_year)
    if not (frame["year"] == validation_year).any() or not (frame["year"] == test_year).any():
        raise ValueError(f"the store has no accident of {validation_year} or of {test_year}: a model needs both "
                         "(ingest them first)")
    if plan.sample is not None:  # its own generator: the rest of training draws as without a sample
        kept = (np.random.default_rng(SEED + 2).random(len(frame)) < plan.sample) | (frame["year"] == test_year)
        frame = frame.loc[kept].reset_index(drop=True)
    years = frame["year"].to_numpy()
    labels = {"severe": frame["severe"].to_numpy().astype(np.int8), "fatal": frame["fatal"].to_numpy().astype(np.int8)}
    columns = columns_from_frame(frame)
    step("counting place history (years before the test year)")
    history = build_place_history(con, first_year=HISTORY_FIRST_YEAR, last_year=validation_year)
    step("building features")
    # The validation year's people described as callers describe them (nobody half the time, some of them
    # otherwise): early stopping, calibration and thresholds are chosen for the mix a centre sees. The test
    # year keeps everyone described as recorded; the card scores it with nobody and some described too.
    x_clean = build_features(describe_some(columns, years == validation_year, np.random.default_rng(SEED + 4)),
                             history)
    x_masked, weight = {}, {}
    for target, settings in TARGETS.items():
        masked = mask_fields(describe_some(columns, years <= validation_year, rng), years <= validation_year,
                             settings.mask_rate, rng)
        x_masked[target] = build_features(masked, history)
        kept = (labels[target] == 1) | (rng.random(len(years)) < settings.negative_share)
        weight[target] = np.where(labels[target] == 1, 1.0, kept / settings.negative_share)
    validation = years == validation_year
    folds = np.full(len(years), -1)
    folds[validation] = rng.permutation(validation.sum()) % N_FOLDS
    step(f"replaying {validation_year} and {test_year} as eCall messages")
    # Own generators, seeded alike in both modes (the same vehicles), so that the rest of training draws as before.
    x_ecall = {}
    for mode in ECALL_MODES:
        x_ecall[mode], ecall_rows = _ecall_features(con, frame, validation, history, np.random.default_rng(SEED),
                                                    trusted=mode == "trusted")
        x_test, test_rows = _ecall_features(con, frame, years == test_year, history,
                                            np.random.default_rng(SEED + 1), trusted=mode == "trusted")
        x_ecall[mode][test_rows], ecall_rows = x_test[test_rows], ecall_rows | test_rows
    return TrainingData(frame, years, labels, columns, history, x_clean, x_masked, weight, validation,
                        years == test_year, folds, x_ecall, ecall_rows, plan)


#: The two ways an eCall message reaches the model: with its point (trusted) and without (untrusted position).
ECALL_MODES: Final = ("trusted", "untrusted")


def _ecall_features(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, rows: np.ndarray, history: PlaceHistory,
                    draws: np.random.Generator, *, trusted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Features of the eCall incidents of ``rows`` (NaN elsewhere) and which rows have a message.

    ``draws`` picks the calling vehicles: two runs on the same rows with generators seeded alike pick the same.
    """
    chosen = np.flatnonzero(rows)
    accidents = frame.iloc[chosen].to_dict("records")
    incidents = message_incidents(accident_messages(con, accidents, draws, trusted=trusted))
    has = np.zeros(len(frame), dtype=bool)
    has[chosen] = [incident is not None for incident in incidents]
    x = np.full((len(frame), len(FEATURE_NAMES)), np.nan, dtype=np.float32)
    parsed = [parse_incident(incident) for incident in incidents if incident is not None]
    if parsed:
        x[has] = build_features(columns_from_incidents(parsed), history)
    return x, has


def _fit_rows(data: TrainingData, target: str, rows: np.ndarray, *, rounds: int,
              held: np.ndarray | None = None) -> xgb.Booster:
    """Fit ``target`` on ``rows`` (masked features, negatives subsampled); early stopping on ``held``."""
    rows = rows & (data.weight[target] > 0)
    label = data.labels[target]
    weight = data.weight[target][rows] if TARGETS[target].negative_share < 1 else None
    if held is None:
        return _fit(TARGETS[target].params, data.x_masked[target][rows], label[rows], rounds=rounds, weight=weight)
    return _fit(TARGETS[target].params, data.x_masked[target][rows], label[rows], rounds=rounds, weight=weight,
                x_val=data.x_clean[held], y_val=label[held])


def _cross_fit(data: TrainingData, target: str, start_year: int, *, only_fold: int | None = None,
               done: Mapping[int, tuple[np.ndarray, int]] | None = None) -> CrossFit:
    """Train on ``start_year``.. the year before validation + the other folds of it, predict each held fold."""
    earlier = (data.years >= start_year) & (data.years < data.plan.validation_year)
    oof = np.full(len(data.years), np.nan)
    oof_ecall = {mode: np.full(len(data.years), np.nan) for mode in ECALL_MODES}
    rounds = []
    for fold in range(N_FOLDS) if only_fold is None else (only_fold,):
        held = data.validation & (data.folds == fold)
        messages = held & data.ecall_rows
        if done and fold in done:
            oof[held], best, by_mode = done[fold]
            for mode, values in by_mode.items():
                oof_ecall[mode][messages] = values
        else:
            booster = _fit_rows(data, target, earlier | (data.validation & (data.folds != fold)),
                                rounds=data.plan.max_rounds, held=held)
            best = booster.best_iteration + 1
            oof[held] = raw_predict(booster[:best], data.x_clean[held])
            for mode in ECALL_MODES:
                oof_ecall[mode][messages] = raw_predict(booster[:best], data.x_ecall[mode][messages])
        rounds.append(best)
    return CrossFit(oof, rounds, oof_ecall)


def fit_target(data: TrainingData, target: str, step: Callable[[str], None]) -> TargetFit:
    """Compare start years on the first half of the validation year, cross-fit the chosen one, refit."""
    label = data.labels[target]
    held = data.validation & (data.folds == 0)
    candidates, fold0 = [], {}
    validation_year = data.plan.validation_year
    for start in data.plan.start_years:
        step(f"{target}: validation fit from {start} (held half of {validation_year})")
        fit = _cross_fit(data, target, start, only_fold=0)
        metrics = binary_metrics(label[held], fit.oof[held])
        fold0[start] = (fit.oof[held], fit.rounds[0],
                        {mode: values[held & data.ecall_rows] for mode, values in fit.oof_ecall.items()})
        trained_on = ((data.years >= start) & (data.years < validation_year)) | (data.validation & (data.folds != 0))
        candidates.append({"start_year": start, "rounds": fit.rounds[0], "training_rows": int(trained_on.sum()),
                           **{k: metrics[k] for k in ("auc", "log_loss", "brier")}})
    start = choose_start_year(candidates)
    step(f"{target}: validation fit from {start} (other half of {validation_year})")
    cross_fit = _cross_fit(data, target, start, done={0: fold0[start]})
    step(f"{target}: final fit on {start}-{validation_year}")
    booster = _fit_rows(data, target, data.training_rows(start), rounds=int(round(np.mean(cross_fit.rounds))))
    return TargetFit(candidates, start, cross_fit, booster)

