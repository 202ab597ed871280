"""The figures of the model card: metrics, alert thresholds, risk bands, as typed data.

Why a module of its own
-----------------------
:mod:`core.model.card` reads the whole card; the figures are the larger half
of it and what the pages read most (:mod:`core.model.report`,
:mod:`core.model.risk_bands`), so they live here. Each class is one object of
the JSON, its keys the field names except ``from`` and ``to`` of a band
(``low_edge`` and ``high_edge`` here). Entries per target (``severe``,
``fatal``) are :class:`ByTarget`; thresholds are keyed by rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from core.model.metrics import BAND_KEYS, PRECISION_FALLBACK, PRECISION_RULES, RECALL_RULES
from core.model.typed_json import Share

T = TypeVar("T")

#: Every alert-threshold rule a card must give for each target (see :func:`core.model.metrics.choose_thresholds`).
THRESHOLD_RULES: Final = (PRECISION_FALLBACK, *RECALL_RULES, *PRECISION_RULES)


@dataclass(frozen=True)
class ByTarget(Generic[T]):
    """One entry per target of the model."""

    severe: T
    fatal: T

    def of(self, target: str) -> T:
        """The entry of ``target`` (``"severe"`` or ``"fatal"``)."""
        if target not in ("severe", "fatal"):
            raise ValueError(f"unknown target {target!r}: 'severe' or 'fatal'")
        return self.severe if target == "severe" else self.fatal


@dataclass(frozen=True)
class Threshold:
    """An alert threshold with the share it flags, its precision and recall.

    ``fallback`` names the rule whose threshold replaced this one when it was never reached.
    """

    threshold: Share
    flagged_share: Share
    precision: Share | None
    recall: Share
    fallback: str | None = None


#: Thresholds of one target, by rule (``best_f1``, ``recall_80``, ``recall_95``, ``precision_75``).
ThresholdSet = dict[str, Threshold]


@dataclass(frozen=True)
class BandCut:
    """A cut-off of the risk bands and the threshold rule it follows."""

    rule: str
    threshold: Share
    fallback: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class BandFigures:
    """One risk band on one year: its probability range (``from``, ``to``), accidents, observed severe share."""

    low_edge: Share = field(metadata={"key": "from"})
    high_edge: Share = field(metadata={"key": "to"})
    n: int
    share: Share | None
    observed: Share | None
    share_of_positives: Share


@dataclass(frozen=True)
class BandYear:
    """The three risk bands on one year; ``chosen_on`` says whether the cut-offs were chosen on it."""

    year: int
    chosen_on: bool
    low: BandFigures
    medium: BandFigures
    high: BandFigures
    note: str | None = None

    def of(self, key: str) -> BandFigures:
        """The figures of band ``key`` (``low``, ``medium``, ``high``)."""
        if key not in BAND_KEYS:
            raise ValueError(f"unknown band {key!r}: one of {', '.join(BAND_KEYS)}")
        return getattr(self, key)


@dataclass(frozen=True)
class Bands:
    """The risk bands of ``p_severe``: their rule, cut-offs, and figures on the validation and test years."""

    target: str
    rule: str
    medium_from: BandCut
    high_from: BandCut
    validation: BandYear
    test: BandYear


@dataclass(frozen=True)
class BinaryMetrics:
    """Discrimination and calibration of one target on one set of accidents.

    ``value`` is the constant probability of the base-rate baseline. Shares and
    scores are None where undefined (no accident; AUC with one class only).
    """

    n: int
    observed: Share | None
    mean_predicted: Share | None
    auc: Share | None
    brier: Share | None
    log_loss: float | None
    ece: Share | None
    value: Share | None = None


@dataclass(frozen=True)
class CalibrationBin:
    """One equal-width probability bin of the test year: accidents, mean predicted and observed share."""

    low: Share
    high: Share
    n: int
    mean_predicted: Share | None
    observed: Share | None


@dataclass(frozen=True)
class Subgroup:
    """Test-year figures of one subgroup."""

    severe: BinaryMetrics
    fatal_auc: Share | None


@dataclass(frozen=True)
class Baselines:
    """The two baselines of the test year."""

    base_rate: ByTarget[BinaryMetrics]
    logistic_regression: ByTarget[BinaryMetrics]


@dataclass(frozen=True)
class FirstCallFigures:
    """The severe target when only first-call fields are known."""

    fields: tuple[str, ...]
    severe: BinaryMetrics


@dataclass(frozen=True)
class EcallFigures:
    """The test year replayed as eCall messages (:mod:`core.ecall.simulate`): what the model gives before anyone speaks.

    Every entry is measured on the same accidents (those with a vehicle of an EN 15722 class).
    """

    year: int
    rows: int
    full_call: ByTarget[BinaryMetrics]  # every recorded field: the reference
    msd_facts: ByTarget[BinaryMetrics]  # place, time, every vehicle's category, number of people
    message: ByTarget[BinaryMetrics]  # one message as the route maps it, eCall calibration applied
    message_uncalibrated: ByTarget[BinaryMetrics]  # the same, with the full-call calibration only
    untrusted_position: ByTarget[BinaryMetrics]  # the same messages with positionCanBeTrusted = false


@dataclass(frozen=True)
class PeopleFigures:
    """The test year with the people described one way: both targets, and severe ROC-AUC where a pedestrian was hit."""

    severe: BinaryMetrics
    fatal: BinaryMetrics
    pedestrian_severe_auc: Share | None


@dataclass(frozen=True)
class PeopleModes:
    """What describing the people changes (``metrics.test.people``): everyone described as recorded, some of
    them (each left out with the training's rate, at least one kept), nobody."""

    all_described: PeopleFigures
    some_described: PeopleFigures
    none_described: PeopleFigures


@dataclass(frozen=True)
class EvaluationMetrics:
    """Every figure of the test year (``metrics.test``), never used for a choice."""

    year: int
    severe: BinaryMetrics
    fatal: BinaryMetrics
    baselines: Baselines
    first_call_fields_only: FirstCallFigures
    calibration_table: ByTarget[tuple[CalibrationBin, ...]]
    thresholds: ByTarget[ThresholdSet]
    subgroups: dict[str, Subgroup]
    people: PeopleModes

    def _problems(self) -> Iterator[tuple[str, str]]:
        yield from rule_problems("thresholds", self.thresholds)


@dataclass(frozen=True)
class ValidationMetrics:
    """Figures of the validation year (out-of-fold predictions)."""

    year: int
    note: str
    severe: BinaryMetrics
    fatal: BinaryMetrics
    severe_raw_auc: Share


@dataclass(frozen=True)
class Metrics:
    """Validation and test figures."""

    validation: ValidationMetrics
    test: EvaluationMetrics


def rule_problems(name: str, thresholds: ByTarget[ThresholdSet]) -> Iterator[tuple[str, str]]:
    """``(entry, problem)`` for each target of ``thresholds`` that lacks a rule of :data:`THRESHOLD_RULES`."""
    for target in ("severe", "fatal"):
        missing = [rule for rule in THRESHOLD_RULES if rule not in thresholds.of(target)]
        if missing:
            yield f"{name}.{target}", f"has no {', '.join(missing)} threshold"
