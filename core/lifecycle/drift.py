"""The drift watch: are the incidents scored now still like the accidents the model learnt from?

Why a module of its own
-----------------------
A model's figures (AUC, calibration, bands) hold for accidents like those of its
training years. When the incidents a centre scores drift away from them (a field
its software stops sending, a new recording rule, another mix of roads or
vehicles), the estimates may be off long before anyone can measure it on
outcomes, which come a year later with the new BAAC files. This module compares
a *current* population (the incidents the API scored, read back from its audit
log, or a new year of the store) with the *reference* (the store's accidents of
the model's training years, ``card.years.training``), field by field and on the
model's own output, with the population stability index (PSI) that credit-risk
teams use for the same purpose:

    PSI = sum over bins of (a - e) * ln(a / e)

where ``e`` and ``a`` are the shares of the reference and of the current
population in each bin. Below 0.1 the two are alike; above
:data:`PSI_THRESHOLD` (0.2) the population has changed enough that the
estimates should be checked before they are trusted.

What is compared
----------------
Every field a caller can send (:data:`core.incident.fields.INCIDENT_FIELDS`),
each in the form that makes sense for it (:data:`DRIFT_FIELDS`):

* ``lat``, ``lon``, ``n_pedestrians``, ``n_people`` and the number of vehicles
  (``n_vehicles``): binned on the reference's deciles (edges made unique, so a
  count such as ``n_people`` gets the bins 1, 2, 3 and more);
* ``dep``, the codes ``lum`` … ``obs``, ``vma`` (a handful of legal limits), and
  from ``datetime`` the month, the weekday and the hour: one bin per value;
* ``com``: only whether it is given. There are tens of thousands of communes,
  most with a handful of accidents a year: a PSI over them would measure
  sampling noise; the department carries the place;
* ``vehicles``, twice: their number per incident (``n_vehicles``), and the mix of
  vehicle kinds among all vehicles (``vehicle_kinds``, the kinds of the model's
  features, :data:`core.features.names.VEHICLE_KINDS`; its "unknown" counts the
  vehicles of undetermined category, catv 0, and one per incident whose vehicles
  are unknown, so that the field has values whenever there are incidents);
* ``people``, over the people *described* only, one value per person (as
  ``vehicle_kinds`` is one per vehicle): their role (``person_role``, catu
  1 conducteur, 2 passager, 3 piéton), age (``person_age``, on the reference's
  deciles) and sex (``person_sex``), each over the people whose fact is said: a
  caller who leaves the sex unsaid is how callers talk, not drift (training hides
  facts at random for that reason; the share said is shown, ``people.facts_said``,
  as information). The reference describes everyone (the BAAC records every user); in
  service most calls describe nobody. So these fields say whether the people
  callers do describe are like the accidents' users, and are not compared when
  either population has fewer than :data:`MIN_PEOPLE` people with the fact said (the entry
  goes to ``not_compared``, its ``psi`` None, never flagged: a handful of people
  is no population). How often an incident describes anyone at all is reported
  beside them (``people``: the share of incidents describing at least one
  person, reference and current), as information, never flagged: it measures
  how callers use the API, not how the accidents changed, and the model was
  trained to do without people (training hides them at random);
* left out: ``year``, which drifts by construction (a new year lies outside the
  training years, every current row would fall in a bin the reference never
  had), the day of the month and the minute, which the model does not use, and
  a person's safety ``equipment``. Of the training years 2010–2019, the store
  built from the bundled archive has it (``secu1``) for 2010–2018 only,
  translated from the pre-2019 two-digit ``secu`` (equipment present, then used
  or not; no airbag or gloves, codes 5–7), and for no user of 2019 or 2020. A
  store year after the training years would be 100 % "unknown" and flagged by
  construction, and the equipment callers send (2019+ codes) would differ from
  the reference by coding before any change of population: the PSI would
  measure the BAAC's recoding and the archive's gap, not the incidents. It can
  join the fields (one line of :data:`DRIFT_FIELDS`) once the reference years
  carry 2019+ codes.

"Unknown" (NaN, ``""``, a missing field) is a bin of its own in every field: a
field suddenly unknown far more often in service is drift a centre must see.
The predicted risk (``p_severe`` of the model in service) is compared too, on
the deciles of the reference's predictions, computed on a fixed-seed sample of
:data:`RISK_SAMPLE` reference accidents (enough for ten bins, and quick), with
the people left out in *both* populations (every incident predicted as if
nobody were described). Knowing the people spreads the predicted risk (a
pedestrian of 85, a belted driver of 40): predicting the reference with
everyone described and service calls mostly with nobody would flag as a drift
of the risk what is only how often callers describe people, which the
``people`` line already shows. The risk entry says so (``people``).

A centre's own incidents differ from the national training data by place
(``dep``, ``lat``, ``lon``), and with it by road and vehicle mix, by
construction: read those lines as "this is not the country's average", and
watch how they move from one report to the next.

The functions take paths, connections and columns; the command line
(``python -m core drift``) chooses them (the audit files of
``ApiSettings.from_env().audit_file``, a store year) and logs the report.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

import numpy as np
import orjson

from core.features.build import build_features
from core.features.columns import IncidentColumns, columns_from_frame, columns_from_incidents, flat_vehicles
from core.features.names import KIND_NAMES, VEHICLE_KINDS
from core.features.training import training_frame
from core.formatting import format_count, format_decimal, format_percent
from core.incident.fields import FIELD_LABELS, PERSON_FIELDS, IncidentError
from core.incident.parse import parse_incident
from core.model.metrics import apply_calibration

if TYPE_CHECKING:
    import duckdb

    from core.model.loading import SeverityModel

#: PSI above which a field (or the predicted risk) is flagged: the population has changed.
PSI_THRESHOLD: Final = 0.2
#: Smallest share a bin counts with: an empty bin would make ln(a / e) infinite.
PSI_FLOOR: Final = 1e-4
#: Quantiles of the reference that cut a numeric field (or the predicted risk) into bins.
DECILES: Final = np.linspace(0.1, 0.9, 9)
#: Reference accidents whose risk is predicted (a fixed-seed random sample).
RISK_SAMPLE: Final = 50_000
#: Described people below which, in either population, the people fields are not compared (never flagged).
MIN_PEOPLE: Final = 50
#: Seed of the reference's risk sample and of the chance draws.
SEED: Final = 12
#: Draws of the current population's size from the reference, to tell what PSI chance alone gives.
CHANCE_DRAWS: Final = 200
#: Incidents scored together (bounds the memory of the feature matrix).
_PREDICT_BLOCK: Final = 100_000
#: Incidents read from the audit log stacked into columns at a time (bounds the memory of a long log).
_STACK_EVERY: Final = 50_000

Binning = Literal["deciles", "categories"]


# --- The index -------------------------------------------------------------------------------------------------------


def _unknown(values: np.ndarray) -> np.ndarray:
    """Which values are unknown: NaN in a float array, ``""`` or None in a text array."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.equal(values, "") | np.equal(values, None)


def bin_counts(expected: np.ndarray, actual: np.ndarray, *, binning: Binning) -> tuple[np.ndarray, np.ndarray]:
    """Count both samples in the same bins, the last bin being "unknown".

    Parameters
    ----------
    expected, actual : numpy.ndarray
        The reference and the current values of one field: floats with NaN for
        unknown, or texts with ``""`` for unknown.
    binning : {"deciles", "categories"}
        ``deciles``: bins cut at the deciles of the known expected values (edges
        made unique; a value equal to an edge starts a bin); ``categories``: one
        bin per value seen in either sample.

    Returns
    -------
    tuple of numpy.ndarray
        The expected and the actual counts, int64, of equal length.

    Examples
    --------
    >>> nan = float("nan")
    >>> [c.tolist() for c in bin_counts(np.array([1.0, 1, 2, nan]), np.array([2.0, 3, 3]), binning="categories")]
    [[2, 1, 0, 1], [0, 1, 2, 0]]
    >>> [c.tolist() for c in bin_counts(np.array(["59", "62", ""]), np.array(["59"]), binning="categories")]
    [[1, 1, 1], [1, 0, 0]]
    """
    expected_unknown, actual_unknown = _unknown(expected), _unknown(actual)
    expected_known, actual_known = expected[~expected_unknown], actual[~actual_unknown]
    if binning == "deciles":
        edges = np.unique(np.quantile(expected_known, DECILES)) if expected_known.size else np.empty(0)
        bins = len(edges) + 1
        expected_bins = np.searchsorted(edges, expected_known, side="right")
        actual_bins = np.searchsorted(edges, actual_known, side="right")
    elif binning == "categories":
        both = np.concatenate([expected_known, actual_known])
        categories, inverse = np.unique(both.astype(str) if both.dtype.kind == "O" else both, return_inverse=True)
        bins = len(categories)
        expected_bins, actual_bins = inverse[:len(expected_known)], inverse[len(expected_known):]
    else:
        raise ValueError(f"binning {binning!r}: expected 'deciles' or 'categories'")
    expected_counts = np.append(np.bincount(expected_bins, minlength=bins), expected_unknown.sum())
    actual_counts = np.append(np.bincount(actual_bins, minlength=bins), actual_unknown.sum())
    return expected_counts.astype(np.int64), actual_counts.astype(np.int64)


def stability_from_counts(expected_counts: np.ndarray, actual_counts: np.ndarray, *,
                          floor: float = PSI_FLOOR) -> float:
    """The population stability index of two samples counted in the same bins.

    ``sum((a - e) * ln(a / e))`` over the bins, ``e`` and ``a`` being each
    sample's shares, each share raised to at least ``floor`` (an empty bin
    would make the logarithm infinite; the floored shares then no longer sum to
    exactly 1, as in the usual practice). 0 when both are alike; above
    :data:`PSI_THRESHOLD` the population has changed.

    Raises
    ------
    ValueError
        When a sample is empty or the bins differ.

    Examples
    --------
    >>> stability_from_counts(np.array([50, 50]), np.array([50, 50]))
    0.0
    >>> round(stability_from_counts(np.array([50, 50]), np.array([80, 20])), 4)  # 0.3 ln(1.6) + 0.3 ln(2.5)
    0.4159
    """
    expected_counts, actual_counts = np.asarray(expected_counts), np.asarray(actual_counts)
    if expected_counts.shape != actual_counts.shape:
        raise ValueError(f"bins differ: {expected_counts.shape} and {actual_counts.shape}")
    if expected_counts.sum() <= 0 or actual_counts.sum() <= 0:
        raise ValueError("an empty sample has no distribution to compare")
    expected_shares = np.maximum(expected_counts / expected_counts.sum(), floor)
    actual_shares = np.maximum(actual_counts / actual_counts.sum(), floor)
    return float(np.sum((actual_shares - expected_shares) * np.log(actual_shares / expected_shares)))


def population_stability(expected: np.ndarray, actual: np.ndarray, *, binning: Binning,
                         floor: float = PSI_FLOOR) -> float:
    """The population stability index of one field between a reference and a current sample.

    Parameters
    ----------
    expected, actual : numpy.ndarray
        The reference's and the current values: floats with NaN for unknown, or
        texts with ``""`` for unknown ("unknown" is a bin of its own).
    binning : {"deciles", "categories"}
        How values are cut into bins (see :func:`bin_counts`).
    floor : float
        Smallest share a bin counts with (see :func:`stability_from_counts`).

    Returns
    -------
    float
        0 for samples alike; above :data:`PSI_THRESHOLD`, the population has changed.

    Examples
    --------
    >>> population_stability(np.array([1.0, 2, 3, 4]), np.array([4.0, 3, 2, 1]), binning="deciles")
    0.0
    >>> round(population_stability(np.array([1.0, 1, 2, 2]), np.array([1.0, 1, 1, 2]), binning="categories"), 4)
    0.2747
    """
    expected_counts, actual_counts = bin_counts(np.asarray(expected), np.asarray(actual), binning=binning)
    return stability_from_counts(expected_counts, actual_counts, floor=floor)


def chance_stability(expected_counts: np.ndarray, actual_size: int, *, draws: int = CHANCE_DRAWS,
                     seed: int = SEED, floor: float = PSI_FLOOR) -> float:
    """The PSI that chance alone gives a current sample of ``actual_size`` drawn from the reference.

    The 95th percentile over ``draws`` multinomial samples of the reference's
    shares: a field's PSI below it says nothing (a few hundred incidents spread
    over 24 hours or 100 departments leave many bins empty by chance).

    Examples
    --------
    >>> counts = np.array([500, 300, 200])
    >>> chance_stability(counts, 100) > chance_stability(counts, 10_000)
    True
    """
    expected_counts = np.asarray(expected_counts)
    samples = np.random.default_rng(seed).multinomial(actual_size, expected_counts / expected_counts.sum(),
                                                      size=draws)
    expected_shares = np.maximum(expected_counts / expected_counts.sum(), floor)
    sample_shares = np.maximum(samples / actual_size, floor)
    values = np.sum((sample_shares - expected_shares) * np.log(sample_shares / expected_shares), axis=1)
    return float(np.quantile(values, 0.95))


# --- The fields ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftField:
    """One compared field: its name, its French label, its bins and how its values are read from columns.

    With fewer than ``min_values`` values in either population the field is not compared; ``unit`` names one
    value and several in French (feminine: "aucune personne décrite").
    """

    name: str
    label: str
    binning: Binning
    values: Callable[[IncidentColumns], np.ndarray]
    min_values: int = 1
    unit: tuple[str, str] = ("valeur", "valeurs")


def _numeric(name: str) -> Callable[[IncidentColumns], np.ndarray]:
    return lambda columns: columns.numeric[name]


def _commune_given(columns: IncidentColumns) -> np.ndarray:
    """1.0 when the commune is given, NaN when it is not: one bin, plus "unknown"."""
    return np.where(columns.com != "", 1.0, np.nan)


def _vehicle_count(columns: IncidentColumns) -> np.ndarray:
    """Vehicles per incident, NaN when the vehicles are unknown."""
    _, rows, unknown = flat_vehicles(columns.vehicles)
    counts = np.bincount(rows, minlength=len(columns)).astype(np.float64)
    counts[unknown] = np.nan
    return counts


#: catv code 0..99 -> its kind's index in KIND_NAMES (the model's vehicle kinds), NaN for catv 0 (undetermined).
_KIND_OF_CODE: Final = np.array(
    [np.nan if code == 0 else next((KIND_NAMES.index(kind) for kind, codes in VEHICLE_KINDS.items() if code in codes),
                                   len(KIND_NAMES) - 1)
     for code in range(100)])


def _vehicle_kinds(columns: IncidentColumns) -> np.ndarray:
    """The kind of every vehicle of every incident (its index in KIND_NAMES, NaN when undetermined; a code
    beyond 0..99 counts as the nearest end's), then one NaN per incident whose vehicles are unknown."""
    codes, _, unknown = flat_vehicles(columns.vehicles)
    return np.concatenate([_KIND_OF_CODE.take(codes, mode="clip"), np.full(int(unknown.sum()), np.nan)])


def _persons(columns: IncidentColumns) -> np.ndarray:
    """Every described person of every incident, one row each, PERSON_FIELDS columns (NaN when not said).

    Examples
    --------
    >>> from core.incident.parse import parse_incident
    >>> people = [{"role": 3, "age": 82}, {"role": 1, "sex": 2}]
    >>> _persons(columns_from_incidents([parse_incident({"people": people}), parse_incident({})])).tolist()
    [[3.0, 82.0, nan, nan], [1.0, nan, 2.0, nan]]
    """
    persons = list(itertools.chain.from_iterable(filter(None, columns.described())))
    return np.array(persons, dtype=np.float64).reshape(len(persons), len(PERSON_FIELDS))


def _person_fact(fact: str) -> Callable[[IncidentColumns], np.ndarray]:
    """The ``fact`` of every described person who has it said: a caller leaving the sex unsaid is how callers
    talk (training hides facts at random for the same reason), not drift."""
    position = PERSON_FIELDS.index(fact)

    def said(columns: IncidentColumns) -> np.ndarray:
        values = _persons(columns)[:, position]
        return values[~np.isnan(values)]

    return said


def _person_field(fact: str, label: str, binning: Binning, known: str) -> DriftField:
    return DriftField(f"person_{fact}", label, binning, _person_fact(fact), min_values=MIN_PEOPLE,
                      unit=(f"personne décrite {known}", f"personnes décrites {known}"))


_CODED_LABELS: Final = {name: FIELD_LABELS[name] for name in ("lum", "atm", "agg", "int", "col", "catr", "surf", "obs")}

#: The compared fields, in the order of the incident's fields (see the module's docstring for why each is so).
DRIFT_FIELDS: Final[tuple[DriftField, ...]] = (
    DriftField("lat", "Latitude", "deciles", _numeric("lat")),
    DriftField("lon", "Longitude", "deciles", _numeric("lon")),
    DriftField("dep", FIELD_LABELS["dep"], "categories", lambda columns: columns.dep),
    DriftField("com", "Commune (renseignée ou non)", "categories", _commune_given),
    DriftField("month", "Mois", "categories", _numeric("month")),
    DriftField("weekday", "Jour de la semaine", "categories", _numeric("weekday")),
    DriftField("hour", "Heure", "categories", _numeric("hour")),
    *(DriftField(name, label, "categories", _numeric(name)) for name, label in _CODED_LABELS.items()),
    DriftField("vma", FIELD_LABELS["vma"], "categories", _numeric("vma")),
    DriftField("n_vehicles", "Nombre de véhicules", "deciles", _vehicle_count),
    DriftField("vehicle_kinds", "Catégories de véhicules", "categories", _vehicle_kinds),
    DriftField("n_pedestrians", FIELD_LABELS["n_pedestrians"], "deciles", _numeric("n_pedestrians")),
    DriftField("n_people", FIELD_LABELS["n_people"], "deciles", _numeric("n_people")),
    _person_field("role", "Rôle des personnes décrites", "categories", "de rôle connu"),
    _person_field("age", "Âge des personnes décrites", "deciles", "d’âge connu"),
    _person_field("sex", "Sexe des personnes décrites", "categories", "de sexe connu"),
)
#: The predicted risk's label in reports.
RISK_LABEL: Final = "Risque estimé (probabilité d’accident grave)"
#: The label of the share of incidents that describe at least one person (information, never flagged).
PEOPLE_LABEL: Final = "Incidents décrivant au moins une personne"
#: How the predicted risk treats the people described (the risk entry's ``people``).
RISK_PEOPLE: Final = "left out in both populations"


# --- The populations -------------------------------------------------------------------------------------------------


def store_columns(con: duckdb.DuckDBPyConnection, *, first_year: int, last_year: int) -> IncidentColumns:
    """The store's accidents of ``first_year..last_year`` as canonical incident columns.

    Examples
    --------
    >>> len(store_columns(con, first_year=2020, last_year=2020)) > 40_000
    True
    """
    return columns_from_frame(training_frame(con, first_year=first_year, last_year=last_year))


def reference_columns(con: duckdb.DuckDBPyConnection, model: SeverityModel) -> IncidentColumns:
    """The accidents of the model's training years (``card.years.training``): what the drift is measured from."""
    first_year, last_year = model.card.years.training
    return store_columns(con, first_year=first_year, last_year=last_year)


class AuditIncidents(NamedTuple):
    """What :func:`incidents_from_audit` read: the incidents, and what it set aside, by reason."""

    columns: IncidentColumns
    set_aside: dict[str, int]


#: Why an audit line (or one incident of a batch line) was set aside, in French.
SET_ASIDE_REASONS: Final[dict[str, str]] = {
    "empty_line": "lignes vides",
    "not_json": "lignes qui ne sont pas un objet JSON (coupées, abîmées)",
    "no_incident": "requêtes sans incident (modèle, métriques, requête refusée avant lecture)",
    "null_incident": "incidents refusés par l’API ou appels eCall de test (null)",
    "invalid_incident": "incidents qui ne passent plus la validation",
}
#: Date parts of a logged (validated) incident, written back as the caller's ``datetime``.
_DATE_PARTS: Final = ("year", "month", "day", "hour", "minute", "weekday")


def audit_files(audit_file: Path) -> list[Path]:
    """The live audit file and its rotated copies (``audit.jsonl.*``, oldest first, the lock file left out).

    Examples
    --------
    >>> audit_files(Path("/nowhere/audit.jsonl"))
    []
    """
    audit_file = Path(audit_file)
    rotated = sorted(path for path in audit_file.parent.glob(f"{audit_file.name}.*")
                     if path.suffix != ".lock" and path.is_file())
    return [*rotated, *([audit_file] if audit_file.is_file() else [])]


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of an audit file, gzip-compressed or not."""
    with (gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")) as lines:
        yield from lines


def _caller_incident(logged: Any) -> Any:
    """A logged incident (validated form: date parts, known fields only) as a caller sends it, to validate again."""
    if not isinstance(logged, Mapping):
        return logged  # parse_incident refuses it with its reason
    incident = {key: value for key, value in logged.items() if key not in _DATE_PARTS}
    if logged.get("year") is None:
        return incident
    try:
        day = dt.date(logged["year"], logged["month"], logged["day"])
        hour = logged.get("hour")
        incident["datetime"] = day.isoformat() if hour is None else \
            dt.datetime.combine(day, dt.time(hour, logged.get("minute") or 0)).isoformat(timespec="minutes")
    except (KeyError, TypeError, ValueError):
        raise IncidentError("datetime", "date incomplète ou impossible dans le journal") from None
    return incident


def _logged_incidents(line: bytes, reasons: Counter[str]) -> list[Any]:
    """The incidents of one audit line (None for a refused one); the line's reason counted when it has none."""
    if not line.strip():
        reasons["empty_line"] += 1
        return []
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        reasons["not_json"] += 1
        return []
    if "incidents" in record and isinstance(record["incidents"], list):
        return record["incidents"]
    if "incident" in record:
        return [record["incident"]]
    reasons["no_incident"] += 1
    return []


def incidents_from_audit(paths: Sequence[Path]) -> AuditIncidents:
    """The incidents the API scored, read back from its audit log, and what was set aside.

    A line holds ``incident`` (one validated incident, its known fields only)
    or ``incidents`` (a batch, null where the API refused one). Each incident
    is validated again (:func:`core.incident.parse.parse_incident`) and stacked
    (:func:`core.features.columns.columns_from_incidents`). Nothing is dropped
    silently: :data:`SET_ASIDE_REASONS` counts lines (``empty_line``,
    ``not_json``, ``no_incident``) and incidents (``null_incident``,
    ``invalid_incident``).

    Parameters
    ----------
    paths : sequence of Path
        Audit files (see :func:`audit_files`); ``.gz`` ones are read compressed.

    Returns
    -------
    AuditIncidents
        ``columns`` and ``set_aside`` (reason -> count, only the reasons met).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     log = Path(folder) / "audit.jsonl"
    ...     _ = log.write_text('{"incident": {"atm": 2}}\\n{"route": "/v1/model"}\\n{"incidents": [null]}\\n')
    ...     found = incidents_from_audit(audit_files(log))
    >>> found.columns.numeric["atm"].tolist(), found.set_aside
    ([2.0], {'no_incident': 1, 'null_incident': 1})
    """
    reasons: Counter[str] = Counter()
    stacked: list[IncidentColumns] = []
    parsed: list[dict[str, Any]] = []
    for path in paths:
        for line in _lines(Path(path)):
            for logged in _logged_incidents(line, reasons):
                if logged is None:
                    reasons["null_incident"] += 1
                    continue
                try:
                    parsed.append(parse_incident(_caller_incident(logged)))
                except IncidentError:
                    reasons["invalid_incident"] += 1
            if len(parsed) >= _STACK_EVERY:
                stacked.append(columns_from_incidents(parsed))
                parsed = []
    stacked.append(columns_from_incidents(parsed))
    set_aside = {key: reasons[key] for key in SET_ASIDE_REASONS if reasons[key]}
    return AuditIncidents(_concatenate(stacked), set_aside)


def _concatenate(parts: Sequence[IncidentColumns]) -> IncidentColumns:
    """Incident columns one after the other."""
    if len(parts) == 1:
        return parts[0]
    described = any(part.people is not None for part in parts)
    return IncidentColumns({name: np.concatenate([part.numeric[name] for part in parts]) for name in parts[0].numeric},
                           np.concatenate([part.dep for part in parts]), np.concatenate([part.com for part in parts]),
                           [vehicles for part in parts for vehicles in part.vehicles],
                           [person for part in parts for person in part.described()] if described else None)


# --- The report ------------------------------------------------------------------------------------------------------


def severe_probability(model: SeverityModel, columns: IncidentColumns) -> np.ndarray:
    """``p_severe`` of every incident, calibrated: the large-batch path of :mod:`core.model.predict`, figures only.

    The same features, booster and calibration map as
    :func:`core.model.predict.predict_columns`, without the support table,
    warnings and explanations a drift report does not need (about 1 s per
    100,000 incidents).

    Examples
    --------
    >>> from core.incident.parse import parse_incident
    >>> p = severe_probability(model, columns_from_incidents([parse_incident({"vehicles": [7, 1]})]))
    >>> 0 < float(p[0]) < 1
    True
    """
    calibration = model.calibrators["severe"]
    probabilities = []
    for start in range(0, len(columns), _PREDICT_BLOCK):
        block = columns.take(np.arange(start, min(start + _PREDICT_BLOCK, len(columns))))
        x = build_features(block, model.history)
        raw = model.severe.inplace_predict(x, validate_features=False).astype(np.float64)
        probabilities.append(apply_calibration(calibration, raw))
    return np.concatenate(probabilities) if probabilities else np.empty(0)


def _not_compared(values: Mapping[str, int], field: DriftField) -> str:
    """Why a field is not compared, in French: the population with too few values, and how many it has."""
    side = "current" if values["current"] < field.min_values else "reference"
    count, (one, several) = values[side], field.unit
    where = " dans la référence" if side == "reference" else ""
    if count == 0:
        return f"aucune {one}{where}"
    return (f"{format_count(count)} {one if count == 1 else several}{where} seulement "
            f"(il en faut {format_count(field.min_values)})")


def _field_entry(field: DriftField, reference: IncidentColumns, current: IncidentColumns, *,
                 threshold: float) -> dict[str, Any]:
    expected, actual = field.values(reference), field.values(current)
    values = {"reference": len(expected), "current": len(actual)}
    if min(values.values()) < field.min_values:
        return {"field": field.name, "label": field.label, "psi": None, "flagged": False, "values": values,
                "reason": _not_compared(values, field)}
    expected_counts, actual_counts = bin_counts(expected, actual, binning=field.binning)
    psi = stability_from_counts(expected_counts, actual_counts)
    chance = chance_stability(expected_counts, int(actual_counts.sum()))
    return {
        # Flagged only beyond what chance alone gives on so few incidents: a few hundred calls spread over
        # 100 departments are no drift.
        "field": field.name, "label": field.label, "psi": psi, "flagged": psi > max(threshold, chance),
        "unknown_share": {"reference": float(expected_counts[-1] / expected_counts.sum()),
                          "current": float(actual_counts[-1] / actual_counts.sum())},
        "bins": len(expected_counts), "chance": chance, "values": values,
    }


def _risk_entry(model: SeverityModel, reference: IncidentColumns, current: IncidentColumns, *, threshold: float,
                risk_sample: int, seed: int) -> dict[str, Any]:
    sample = np.sort(np.random.default_rng(seed).choice(len(reference), size=min(risk_sample, len(reference)),
                                                        replace=False))
    # Both populations predicted with nobody described: the reference describes everyone, service calls mostly
    # nobody, and the people spread the risk (see the module's docstring).
    expected = severe_probability(model, dataclasses.replace(reference.take(sample), people=None))
    actual = severe_probability(model, dataclasses.replace(current, people=None))
    expected_counts, actual_counts = bin_counts(expected, actual, binning="deciles")
    psi = stability_from_counts(expected_counts, actual_counts)
    chance = chance_stability(expected_counts, len(actual), seed=seed)
    return {"label": RISK_LABEL, "psi": psi, "flagged": psi > max(threshold, chance),
            "mean": {"reference": float(expected.mean()), "current": float(actual.mean())},
            "rows": {"reference": len(sample), "current": len(actual)}, "chance": chance, "people": RISK_PEOPLE}


def _people_entry(reference: IncidentColumns, current: IncidentColumns) -> dict[str, Any]:
    """How often incidents describe at least one person, and how many people, in each population."""

    def shares(columns: IncidentColumns) -> tuple[float, int]:
        described = [len(persons or ()) for persons in columns.described()]
        return float(np.mean(np.greater(described, 0))) if described else 0.0, int(sum(described))

    def said(columns: IncidentColumns) -> dict[str, float | None]:
        persons = _persons(columns)
        return {fact: float(np.mean(~np.isnan(persons[:, position]))) if len(persons) else None
                for position, fact in enumerate(PERSON_FIELDS)}

    (reference_share, reference_people), (current_share, current_people) = shares(reference), shares(current)
    return {"label": PEOPLE_LABEL, "described_share": {"reference": reference_share, "current": current_share},
            "persons": {"reference": reference_people, "current": current_people},
            # Of the people described, the share whose role, age, sex, equipment is said (information only).
            "facts_said": {"reference": said(reference), "current": said(current)}}


def drift_report(model: SeverityModel, reference: IncidentColumns, current: IncidentColumns, *, source: str,
                 reference_years: tuple[int, int] | None = None, set_aside: Mapping[str, int] | None = None,
                 threshold: float = PSI_THRESHOLD, risk_sample: int = RISK_SAMPLE, seed: int = SEED) -> dict[str, Any]:
    """Compare a current population of incidents with the reference, field by field and on the predicted risk.

    Parameters
    ----------
    model : SeverityModel
        The model in service (its version, training years and ``p_severe``).
    reference, current : IncidentColumns
        The training years' accidents (:func:`reference_columns`) and the
        incidents to check (:func:`incidents_from_audit`, :func:`store_columns`).
    source : str
        What ``current`` is, in French, for the report (``"journal d’audit de l’API"``,
        ``"accidents 2020 du magasin"``).
    reference_years : tuple of int, optional
        The reference's years; by default the model's training years.
    set_aside : mapping, optional
        What was set aside while reading ``current`` (:attr:`AuditIncidents.set_aside`).
    threshold : float
        PSI above which a field is flagged.
    risk_sample, seed : int
        Reference accidents whose risk is predicted (a random sample drawn with ``seed``).

    Returns
    -------
    dict
        JSON-able: ``source``, ``model_version``, ``reference`` {years, rows},
        ``current`` {rows, set_aside}, ``threshold``, ``fields`` (one entry per
        compared field of :data:`DRIFT_FIELDS`, highest PSI first: field, label,
        psi, flagged, unknown_share {reference, current}, bins, chance — the PSI
        chance alone would give, see :func:`chance_stability` —, values
        {reference, current}, how many values were binned), ``not_compared``
        (the fields with too few values, in practice the people fields when
        hardly anyone is described: field, label, psi None, flagged False,
        values, reason in French), ``people`` {label, described_share
        {reference, current}, persons {reference, current}} (information, never
        flagged), ``risk`` {label, psi, flagged, mean {reference, current},
        rows, chance, people: :data:`RISK_PEOPLE`, predicted with nobody
        described}, ``flagged`` (the flagged fields' names, then ``"risk"`` when
        the risk is flagged).

    Raises
    ------
    ValueError
        When ``current`` or ``reference`` holds no incident.

    Examples
    --------
    >>> report = drift_report(model, store_columns(con, first_year=2019, last_year=2019),
    ...                       store_columns(con, first_year=2020, last_year=2020), source="accidents 2020",
    ...                       reference_years=(2019, 2019))
    >>> first = report["fields"][0]  # 2020 left the collision type unknown for 3 % of its accidents, 2019 never
    >>> first["field"], round(first["psi"], 2), report["flagged"]
    ('col', 0.19, [])
    """
    if not len(current) or not len(reference):
        raise ValueError(f"rien à comparer : {len(reference)} accidents de référence, {len(current)} incidents")
    years = reference_years or model.card.years.training
    entries = [_field_entry(field, reference, current, threshold=threshold) for field in DRIFT_FIELDS]
    fields = sorted((entry for entry in entries if entry["psi"] is not None), key=lambda entry: -entry["psi"])
    risk = _risk_entry(model, reference, current, threshold=threshold, risk_sample=risk_sample, seed=seed)
    flagged = [entry["field"] for entry in fields if entry["flagged"]] + (["risk"] if risk["flagged"] else [])
    return {
        "source": source, "model_version": model.version,
        "reference": {"years": [int(years[0]), int(years[1])], "rows": len(reference)},
        "current": {"rows": len(current), "set_aside": dict(set_aside or {})},
        "threshold": threshold, "fields": fields,
        "not_compared": [entry for entry in entries if entry["psi"] is None],
        "people": _people_entry(reference, current), "risk": risk, "flagged": flagged,
    }


def _years_text(years: Sequence[int]) -> str:
    return str(years[0]) if years[0] == years[1] else f"{years[0]}–{years[1]}"


def _psi_line(label: str, psi: float | None, flagged: bool, detail: str, *, width: int) -> str:
    shown = "–" if psi is None else format_decimal(psi, 2)
    return f"  {label:<{width}} {shown:>6}  {'DÉRIVE' if flagged else '      '}  {detail}"


def _people_sentence(people: Mapping[str, Any]) -> str:
    """The share of incidents describing someone, reference and current, as one French sentence."""
    share, persons = people["described_share"], people["persons"]["current"]
    return (f"{people['label']} : {format_percent(share['reference'])} de la référence (le BAAC décrit chaque "
            f"usager),\n{format_percent(share['current'])} des incidents comparés ({format_count(persons)} "
            f"{'personne décrite' if persons <= 1 else 'personnes décrites'}) ; pour information, jamais une dérive.")


def format_drift(report: Mapping[str, Any]) -> str:
    """The drift report as French text for the command line: one line per field, then the predicted risk.

    Examples
    --------
    >>> report = {"source": "journal d’audit", "model_version": "v", "threshold": 0.2,
    ...           "reference": {"years": [2015, 2019], "rows": 295410}, "current": {"rows": 3, "set_aside": {}},
    ...           "fields": [{"field": "atm", "label": "Conditions atmosphériques", "psi": 0.234, "flagged": True,
    ...                       "unknown_share": {"reference": 0.0, "current": 0.5}, "chance": 0.9}],
    ...           "not_compared": [{"field": "person_age", "label": "Âge des personnes décrites", "psi": None,
    ...                             "flagged": False, "reason": "aucune personne décrite"}],
    ...           "people": {"label": "Incidents décrivant au moins une personne", "persons": {"current": 0},
    ...                      "described_share": {"reference": 1.0, "current": 0.0}},
    ...           "risk": {"label": "Risque", "psi": 0.01, "flagged": False, "chance": 0.1,
    ...                    "mean": {"reference": 0.36, "current": 0.4}, "people": RISK_PEOPLE}, "flagged": ["atm"]}
    >>> import unicodedata  # shown with plain spaces (the text has no-break ones before % and in 295 410)
    >>> print(unicodedata.normalize("NFKC", format_drift(report)))
    Dérive des données — journal d’audit, comparé aux accidents 2015–2019 de l’entraînement (modèle v)
    Référence : 295 410 accidents ; comparés : 3 incidents.
    Incidents décrivant au moins une personne : 100,0 % de la référence (le BAAC décrit chaque usager),
    0,0 % des incidents comparés (0 personne décrite) ; pour information, jamais une dérive.
    Indice de stabilité de la population (PSI) ; au-dessus de 0,20, la population a changé :
    vérifier avant de se fier aux estimations.
      Conditions atmosphériques    0,23  DÉRIVE  inconnu 0,0 % → 50,0 % ; le hasard seul peut donner 0,90
      Âge des personnes décrites      –          non comparé : aucune personne décrite
      Risque                       0,01          moyenne 36,0 % → 40,0 %, personnes laissées de côté des deux côtés
    En dérive : Conditions atmosphériques.
    """
    reference, current = report["reference"], report["current"]
    threshold = report["threshold"]
    lines = [
        f"Dérive des données — {report['source']}, comparé aux accidents {_years_text(reference['years'])} "
        f"de l’entraînement (modèle {report['model_version']})",
        f"Référence : {format_count(reference['rows'])} accidents ; comparés : {format_count(current['rows'])} "
        "incidents.",
    ]
    lines += [f"Mis de côté : {SET_ASIDE_REASONS.get(reason, reason)} : {format_count(count)}."
              for reason, count in current["set_aside"].items()]
    if report.get("people"):
        lines.append(_people_sentence(report["people"]))
    lines.append(f"Indice de stabilité de la population (PSI) ; au-dessus de {format_decimal(threshold, 2)}, "
                 "la population a changé :\nvérifier avant de se fier aux estimations.")
    risk, not_compared = report["risk"], report.get("not_compared", [])
    width = max(len(entry["label"]) for entry in [*report["fields"], *not_compared, risk])

    def chance(entry: Mapping[str, Any]) -> str:
        return f" ; le hasard seul peut donner {format_decimal(entry['chance'], 2)}" if entry["chance"] > threshold \
            else ""

    for entry in report["fields"]:
        unknown = entry["unknown_share"]
        detail = f"inconnu {format_percent(unknown['reference'])} → {format_percent(unknown['current'])}"
        lines.append(_psi_line(entry["label"], entry["psi"], entry["flagged"], detail + chance(entry), width=width))
    lines += [_psi_line(entry["label"], None, False, f"non comparé : {entry['reason']}", width=width)
              for entry in not_compared]
    mean = risk["mean"]
    detail = f"moyenne {format_percent(mean['reference'])} → {format_percent(mean['current'])}"
    if risk.get("people") == RISK_PEOPLE:
        detail += ", personnes laissées de côté des deux côtés"
    lines.append(_psi_line(risk["label"], risk["psi"], risk["flagged"], detail + chance(risk), width=width))
    labels = {entry["field"]: entry["label"] for entry in report["fields"]} | {"risk": risk["label"]}
    lines.append(f"En dérive : {', '.join(labels[name] for name in report['flagged'])}." if report["flagged"]
                 else f"Aucune dérive au-dessus de {format_decimal(threshold, 2)}.")
    return "\n".join(lines)
