"""Predict incidents with a loaded model: calibrated probabilities, worst injury, reasons, support.

Why a module of its own
-----------------------
This is the path of every estimate, on the page (one incident, within a
couple of milliseconds) and on the command line (thousands): a few incidents
walk the trees as numpy arrays (:class:`core.model.trees.TreeArrays`), many go
through XGBoost; both are calibrated with the card's maps
(:func:`core.model.metrics.calibrate_targets`), explained in words
(:mod:`core.model.explain`) and compared with the past accidents sharing the
incident's key facts (the support table). Invalid incidents in a batch give an
error object in their place instead of failing the batch.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from core.features.build import build_features
from core.features.columns import IncidentColumns, columns_from_incidents
from core.features.facts import KEY_FACTS, key_facts
from core.incident.fields import IncidentError
from core.incident.flags import incident_warnings
from core.incident.parse import echoed_id, parse_incident
from core.model.explain import top_factors
from core.model.loading import PREDICT_THREADS, SeverityModel
from core.model.metrics import calibrate_targets
from core.model.spec import TARGETS
from core.model.trees import ARRAY_PREDICT_MAX_ROWS, leaf_booster, sigmoid

if TYPE_CHECKING:
    import xgboost as xgb

#: Incidents evaluated together (bounds memory).
PREDICT_BLOCK: Final = 4096


def _support(model: SeverityModel, facts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Past accidents sharing each incident's known key facts, and how many of them were severe."""
    query = np.where(np.isnan(facts), -9, facts).astype(np.int64)
    if len(query) == 1:
        patterns, inverse = query, np.zeros(1, dtype=np.int64)
    else:  # one integer per combination (codes are -9..9): a 1-D unique is far quicker than axis=0
        keys = ((query + 10) * (20 ** np.arange(query.shape[1]))).sum(axis=1)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        patterns = query[first]
    totals = np.zeros((len(patterns), 2))
    by_fact = model.support_codes.T  # (facts, combinations): a reduction over the first axis is the quick one
    for index, pattern in enumerate(patterns):
        known = pattern != -9
        match = (by_fact[known] == pattern[known, None]).all(axis=0)
        totals[index] = match @ model.support_counts[:, :2]  # accidents, severe: whole numbers, exact in any order
    inverse = inverse.ravel()
    return totals[inverse, 0], totals[inverse, 1]


def past_support(model: SeverityModel, facts: Mapping[str, int]) -> tuple[int, float | None]:
    """How many past accidents share these key facts (names of :data:`~core.features.facts.KEY_FACTS`), and
    the severe share among them (None when there is none): the ``support`` figures of an answer."""
    row = np.array([[facts.get(name, np.nan) for name in KEY_FACTS]], dtype=np.float64)
    count, severe = _support(model, row)
    return int(count[0]), (float(severe[0] / count[0]) if count[0] > 0 else None)


def predict_columns(model: SeverityModel, columns: IncidentColumns, *, explain: bool = True,
                    ids: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Predictions for a batch of canonical incidents (see :func:`predict_many` for raw JSON)."""
    results = []
    for start in range(0, len(columns), PREDICT_BLOCK):
        block = columns if len(columns) <= PREDICT_BLOCK else columns.take(slice(start, start + PREDICT_BLOCK))
        block_ids = None if ids is None else ids[start:start + PREDICT_BLOCK]
        results += _predict_block(model, block, explain=explain, ids=block_ids)
    return results


def _raw_probabilities(model: SeverityModel, x: np.ndarray, *, explain: bool
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Uncalibrated p_severe, p_fatal and the severe leaves (flat indices; None unless ``explain``).

    A few incidents: numpy walks the trees (:class:`~core.model.trees.TreeArrays`, a few tens of
    microseconds). Many: XGBoost's own C++ (faster per incident), the leaves from the severe
    booster's leaf copy (:func:`~core.model.trees.leaf_booster`). Both give the same leaves; the
    probabilities agree within 1e-6 (XGBoost sums in float32).
    """
    trees = model.trees
    if len(x) <= ARRAY_PREDICT_MAX_ROWS:
        leaves = trees.leaves(x)
        severe, fatal = trees.of("severe", leaves), trees.of("fatal", leaves)
        return sigmoid(trees.margin("severe", severe)), sigmoid(trees.margin("fatal", fatal)), severe
    raw = [model.booster(t).inplace_predict(x, validate_features=False).astype(np.float64) for t in TARGETS]
    severe = None
    if explain:
        node_ids = _severe_leaves(model).inplace_predict(x, predict_type="margin", validate_features=False)
        severe = trees.from_node_ids("severe", node_ids)
    return raw[0], raw[1], severe


#: Per loaded severe booster, the copy that predicts its leaves (:func:`core.model.trees.leaf_booster`).
_LEAF_BOOSTERS: Final[weakref.WeakKeyDictionary[xgb.Booster, xgb.Booster]] = weakref.WeakKeyDictionary()


def _severe_leaves(model: SeverityModel) -> xgb.Booster:
    """The severe booster's leaf copy, built on first use (about 0.2 s) and kept as long as the booster."""
    booster = model.severe
    leaves = _LEAF_BOOSTERS.get(booster)
    if leaves is None:
        leaves = _LEAF_BOOSTERS[booster] = leaf_booster(booster, nthread=PREDICT_THREADS)
    return leaves


def _predict_block(model: SeverityModel, columns: IncidentColumns, *, explain: bool,
                   ids: Sequence[Any] | None) -> list[dict[str, Any]]:
    x = build_features(columns, model.history)
    raw_severe, raw_fatal, severe_leaves = _raw_probabilities(model, x, explain=explain)
    p_severe, p_fatal = calibrate_targets(model.calibrators, raw_severe, raw_fatal)
    support, support_severe = _support(model, key_facts(columns))
    num = columns.numeric
    warnings = incident_warnings(lat=num["lat"], lon=num["lon"], dep=columns.dep, com=columns.com, year=num["year"],
                                 month=num["month"], day=num["day"], data_years=model.data_years)
    factors = top_factors(model.trees.field_credits(severe_leaves), columns, x) if explain else None
    share = np.divide(support_severe, support, out=np.full(len(support), np.nan), where=support > 0)
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
            "warnings": warnings[row],
        }
        if factors is not None:
            result["top_factors"] = factors[row]
        if ids is not None and ids[row] is not None:
            result = {"id": ids[row], **result}
        results.append(result)
    return results


def predict_one(model: SeverityModel, incident: Mapping[str, Any], *, explain: bool = True) -> dict[str, Any]:
    """Predict one incident given as a JSON-like dict (see :func:`core.incident.parse.parse_incident`).

    Returns
    -------
    dict
        ``p_severe``, ``p_fatal``, ``worst_injury`` {unharmed, light, hospitalised,
        killed}, ``top_factors`` (list of {field, label, value, effect, text}, effect
        in log-odds of the uncalibrated model), ``support`` (past accidents of the
        training years sharing the known key facts), ``support_severe_share``,
        ``model_version``, ``warnings`` (list of {field, reason}: what looks
        wrong but was scored, see :func:`core.incident.flags.incident_warnings`);
        ``id`` when the incident has one.

    Raises
    ------
    core.incident.fields.IncidentError
        Naming the wrong field and why.
    """
    parsed = parse_incident(incident)
    return predict_columns(model, columns_from_incidents([parsed]), explain=explain, ids=[parsed["id"]])[0]


#: A typical located call, predicted once at start-up so that the first real call pays no lazy loading.
_WARM_UP_INCIDENT: Final = {"dep": "75", "com": "75056", "lat": 48.8566, "lon": 2.3522, "datetime": "2020-01-01T12:00",
                            "vehicles": [7, 33], "agg": 2}


def warm_up(model: SeverityModel, *, batches: bool = False) -> None:
    """Load now what the first prediction would load lazily (department outlines, communes, trees' lookups).

    ``batches`` also loads the XGBoost boosters that large batches go through, and the severe one's
    leaf copy for their explanations (under a second).
    """
    predict_one(model, _WARM_UP_INCIDENT)
    if batches:
        for target in TARGETS:
            model.booster(target)
        _severe_leaves(model)


def predict_many(model: SeverityModel, incidents: Sequence[Any], *, explain: bool = True,
                 parsed_out: list[dict[str, Any] | None] | None = None) -> list[dict[str, Any]]:
    """Predict a batch; an invalid incident gives ``{"error": {"field", "reason"}}`` in its place.

    ``parsed_out``, when given, receives each incident's validated form
    (:func:`core.incident.parse.parse_incident`), or None for an invalid one,
    in order: what the API's audit log keeps.

    Examples
    --------
    >>> predict_many(model, [{"atm": 42, "id": 7}])  # doctest: +NORMALIZE_WHITESPACE
    [{'id': 7, 'error': {'field': 'atm',
                         'reason': 'code 42 inconnu ; codes admis : 1 à 9 (absent, null ou -1 : inconnu)'}}]
    >>> kept = []
    >>> _ = predict_many(model, [{"atm": 2, "vehicles": [7]}, {"atm": 42}], explain=False, parsed_out=kept)
    >>> kept[0]["atm"], kept[0]["vehicles"], kept[1]
    (2, (7,), None)
    """
    parsed: list[dict[str, Any]] = []
    slots: list[int] = []
    results: list[dict[str, Any]] = [{} for _ in incidents]
    validated: list[dict[str, Any] | None] = [None] * len(incidents)
    for position, incident in enumerate(incidents):
        try:
            validated[position] = canonical = parse_incident(incident)
            parsed.append(canonical)
            slots.append(position)
        except IncidentError as error:
            results[position] = error_result(error, incident)
    if parsed:
        predictions = predict_columns(model, columns_from_incidents(parsed), explain=explain,
                                      ids=[p["id"] for p in parsed])
        for position, prediction in zip(slots, predictions, strict=True):
            results[position] = prediction
    if parsed_out is not None:
        parsed_out.extend(validated)
    return results


def error_result(error: IncidentError, incident: Any = None) -> dict[str, Any]:
    """The error object of an invalid incident (echoing its ``id`` when it has one that can be echoed)."""
    result: dict[str, Any] = {"error": error.as_dict()}
    incident_id = echoed_id(incident)
    if incident_id is not None:
        result = {"id": incident_id, **result}
    return result
