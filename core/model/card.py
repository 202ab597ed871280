"""The model card as typed data, checked once when the model is loaded.

Why a module of its own
-----------------------
Training (:mod:`core.model.train`) writes ``severity_card.json``; the pages,
the command line and prediction read it. Read as a nested dict, a card that
lacks an entry or holds a wrong value fails far from its cause, as a
``KeyError`` on a page. :func:`parse_card` turns the JSON into the frozen
dataclasses below and refuses, with :class:`~core.model.spec.ModelCardError`,
a card whose entries are missing, unknown or of the wrong type, whose shares
or metrics fall outside [0, 1], whose years are out of order or whose
thresholds lack a rule; the message names the entry (``metrics.test.severe.auc``).
:func:`core.model.loading.load_model` parses the committed card this way and
training checks the card it writes with the same function, so what one writes
the other reads.

This module holds the protocol, the settings and the calibration, and reads
the whole card; its figures (metrics, thresholds, bands) are in
:mod:`core.model.card_figures`. The JSON keys are the field names; entries
keyed by data (threshold rules, subgroups, years, files) are dicts. The
reading itself is :func:`core.model.typed_json.read_typed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.model.card_figures import Bands, ByTarget, EcallFigures, Metrics, ThresholdSet, rule_problems
from core.model.metrics import BAND_RULES, band_cutoffs
from core.model.spec import MAX_ROUNDS, ModelCardError
from core.model.typed_json import EntryError, Share, read_typed

YearRange = tuple[int, int]


# --------------------------------------------------------------------------- #
# The card
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Targets:
    """What each target means, in words."""

    severe: str
    fatal: str
    worst_injury: str


@dataclass(frozen=True)
class Years:
    """Years of the place history, of training (per target), of validation and of test."""

    history: YearRange
    training: YearRange
    training_fatal: YearRange
    validation: int
    test: int

    def _problems(self) -> Iterator[tuple[str, str]]:
        for name in ("history", "training", "training_fatal"):
            first, last = getattr(self, name)
            if first > last:
                yield name, f"is [{first}, {last}]: the first year comes after the last"
            elif last > self.validation:
                yield name, f"ends in {last}, after the validation year {self.validation}"
        if self.validation >= self.test:
            yield "test", f"is {self.test}, not after the validation year {self.validation}"


@dataclass(frozen=True)
class StartYearCandidate:
    """One first training year tried on the validation year."""

    start_year: int
    rounds: int
    training_rows: int
    auc: Share
    log_loss: float
    brier: Share


@dataclass(frozen=True)
class StartYear:
    """The first training years tried and the ones kept, per target."""

    chosen: int
    chosen_fatal: int
    candidates: tuple[StartYearCandidate, ...]
    candidates_fatal: tuple[StartYearCandidate, ...]
    how: str

    def _problems(self) -> Iterator[tuple[str, str]]:
        for name, candidates in (("chosen", self.candidates), ("chosen_fatal", self.candidates_fatal)):
            if getattr(self, name) not in {c.start_year for c in candidates}:
                yield name, f"is {getattr(self, name)}, not one of the candidates"


@dataclass(frozen=True)
class Features:
    """The model's feature names, in order, and the incident field each comes from."""

    names: tuple[str, ...]
    source: dict[str, str]

    def _problems(self) -> Iterator[tuple[str, str]]:
        missing = [name for name in self.names if name not in self.source]
        if missing:
            yield "source", f"has no entry for {', '.join(missing)}"


@dataclass(frozen=True)
class TargetParams:
    """How one target was trained."""

    xgboost: dict[str, Any]
    mask_rate: Share
    negative_share: Share
    rounds: int


@dataclass(frozen=True)
class Params:
    """Training settings of both targets and of the protocol."""

    severe: TargetParams
    fatal: TargetParams
    seed: int
    validation_folds: int
    early_stopping_rounds: int


@dataclass(frozen=True)
class IsotonicMap:
    """A calibration map: raw probability ``x`` to calibrated ``y``, linear between breakpoints."""

    x: tuple[float, ...]
    y: tuple[Share, ...]

    def _problems(self) -> Iterator[tuple[str, str]]:
        if len(self.x) != len(self.y) or not self.x:
            yield "y", f"has {len(self.y)} values for {len(self.x)} breakpoints"
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            yield "x", "is not increasing"


@dataclass(frozen=True)
class Calibration:
    """The isotonic calibration maps of both targets."""

    method: str
    fitted_on: str
    severe: IsotonicMap
    fatal: IsotonicMap

    def of(self, target: str) -> IsotonicMap:
        """The map of ``target`` (``"severe"`` or ``"fatal"``)."""
        return ByTarget(self.severe, self.fatal).of(target)


@dataclass(frozen=True)
class EcallCalibration:
    """The eCall maps: for a message whose incident has its point, and for one without (department at most)."""

    with_point: ByTarget[IsotonicMap]
    without_point: ByTarget[IsotonicMap]


@dataclass(frozen=True)
class EcallCard:
    """How eCall messages are answered: the calibration of their estimates and the test year's figures.

    A message says "this vehicle, these people"; read as a whole call that is a
    single-vehicle accident. ``calibration`` maps the full-call calibrated
    probabilities of a message's incident to observed shares (see :mod:`core.dispatch.ecall`).
    """

    simulation: str
    fitted_on: str
    calibration: EcallCalibration
    test: EcallFigures


@dataclass(frozen=True)
class StoreFile:
    """Size and SHA-256 of a Parquet file of the store trained on."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class DataFingerprint:
    """The store the model was trained on: accidents and severe accidents per year, its files."""

    hash: str
    rows_per_year: dict[int, int]
    severe_per_year: dict[int, int]
    files: dict[str, StoreFile]


@dataclass(frozen=True)
class Plan:
    """How much of the data and of the boosting a model was trained with (a quick model says so)."""

    sample: float | None
    max_rounds: int

    @property
    def is_quick(self) -> bool:
        """Trained on a sample (``--quick``): never for service."""
        return self.sample is not None


@dataclass(frozen=True)
class ModelCard:
    """The severity model's card: protocol, settings, calibration, thresholds, bands, figures, files.

    Build it with :func:`parse_card`.

    Examples
    --------
    >>> card = model.card
    >>> card.years.validation, card.years.test, card.metrics.test.severe.n
    (2019, 2020, 47744)
    """

    model_version: str
    created: str
    targets: Targets
    years: Years
    training_rows: int
    training_rows_fatal: int
    start_year: StartYear
    inputs: tuple[str, ...]
    features: Features
    params: Params
    calibration: Calibration
    thresholds: ByTarget[ThresholdSet]
    bands: Bands
    metrics: Metrics
    ecall: EcallCard
    importance: dict[str, Share]
    data_fingerprint: DataFingerprint
    training_seconds: float
    files: dict[str, str]
    plan: Plan = Plan(None, MAX_ROUNDS)

    def _problems(self) -> Iterator[tuple[str, str]]:
        yield from rule_problems("thresholds", self.thresholds)
        for name, years in (("chosen", self.years.training), ("chosen_fatal", self.years.training_fatal)):
            if getattr(self.start_year, name) != years[0]:
                yield f"start_year.{name}", f"is {getattr(self.start_year, name)} but training starts in {years[0]}"
        yield from self._band_problems()
        for path, year, expected in (("metrics.validation.year", self.metrics.validation.year, self.years.validation),
                                     ("bands.validation.year", self.bands.validation.year, self.years.validation),
                                     ("metrics.test.year", self.metrics.test.year, self.years.test),
                                     ("bands.test.year", self.bands.test.year, self.years.test),
                                     ("ecall.test.year", self.ecall.test.year, self.years.test)):
            if year != expected:
                yield path, f"is {year}, not {expected} as in years"

    def _band_problems(self) -> Iterator[tuple[str, str]]:
        """The bands' cut-offs must be the ones the severe thresholds give (the pages read the former)."""
        severe = self.thresholds.severe
        if any(rule not in severe for rule in BAND_RULES.values()):
            return  # rule_problems names the missing rules
        expected = band_cutoffs({rule: {"threshold": t.threshold} for rule, t in severe.items()})
        cuts = (self.bands.medium_from.threshold, self.bands.high_from.threshold)
        if cuts != expected:
            yield "bands", (f"cut-offs {cuts[0]:g}, {cuts[1]:g} differ from those of thresholds.severe "
                            f"({expected[0]:g}, {expected[1]:g})")
        if self.bands.high_from.fallback != severe[BAND_RULES["high_from"]].fallback:
            yield "bands.high_from.fallback", "differs from the one of thresholds.severe"


# --------------------------------------------------------------------------- #
# Reading the JSON
# --------------------------------------------------------------------------- #


def parse_card(raw: Any, *, source: str = "the model card") -> ModelCard:
    """Build a :class:`ModelCard` from the card's JSON, checking every entry.

    Parameters
    ----------
    raw : object
        The card as read by ``json.loads``.
    source : str
        Where it comes from, for the message (a file name).

    Raises
    ------
    ModelCardError
        Naming the first entry that does not fit and what is wrong with it.

    Examples
    --------
    >>> import json
    >>> from core.config import MODELS_DIR
    >>> raw = json.loads((MODELS_DIR / "severity_card.json").read_text())
    >>> parse_card(raw).metrics.test.year
    2020
    >>> raw["metrics"]["test"]["severe"]["auc"] = 1.7
    >>> parse_card(raw, source="card.json")
    Traceback (most recent call last):
    ...
    core.model.spec.ModelCardError: card.json: metrics.test.severe.auc is 1.7, outside [0, 1]; retrain with \
`python -m core train`
    """
    try:
        return read_typed(ModelCard, raw)
    except EntryError as refused:
        raise ModelCardError(f"{source}: {refused.path or 'the card'} {refused.problem}; "
                             "retrain with `python -m core train`") from None
