"""The estimate's reasons in French words: what each field says and which fields moved it most.

Why a module of its own
-----------------------
An operator reads "Véhicules : 1 × VL seul, 1 × Motocyclette > 125 cm 3 —
augmente le risque", not a feature index and a log-odds. :func:`describe_field`
turns an incident field (and the past accidents of its place) into words, and
:func:`top_factors` orders the fields by their credit in the severe trees
(:meth:`core.model.trees.TreeArrays.field_credits`), leaving out the fields
the caller did not give. The French field names (:data:`FIELD_LABELS`) are
shared with the dispatch desk.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from core import codebook, places
from core import features as F
from core.incident import CODED_FIELDS, FIELD_LABELS
from core.model.trees import CREDIT_FIELDS

TOP_FACTORS: Final = 5

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
    >>> from core.incident import parse_incident
    >>> cols = F.columns_from_incidents([parse_incident({"atm": 2, "vehicles": [7, 7, 33]})])
    >>> describe_field("atm", cols, 0), describe_field("vehicles", cols, 0)
    ('Pluie légère', '2 × VL seul, 1 × Motocyclette > 125 cm 3')
    """
    num = columns.numeric
    if source in CODED_FIELDS:
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



def top_factors(by_source: np.ndarray, columns: F.IncidentColumns, row: int,
                features: np.ndarray) -> list[dict[str, Any]]:
    """The fields that moved the estimate most, in words; fields left unknown are not listed.

    Parameters
    ----------
    by_source : numpy.ndarray
        The incident's credit per field, in :data:`core.model.trees.CREDIT_FIELDS` order (log-odds).
    columns : IncidentColumns
        The incidents.
    row : int
        Which incident.
    features : numpy.ndarray
        Its feature row (for the history of its place).

    Returns
    -------
    list of dict
        At most :data:`TOP_FACTORS` of {field, label, value, effect, text}, largest effect first.
    """
    factors = []
    for index in np.argsort(-np.abs(by_source)):
        effect = float(by_source[index])
        if len(factors) == TOP_FACTORS or abs(effect) < 1e-3:
            break
        source = CREDIT_FIELDS[index]
        value = describe_field(source, columns, row, features)
        if value == _UNKNOWN:
            continue
        verb = "augmente" if effect > 0 else "diminue"
        factors.append({
            "field": source, "label": FIELD_LABELS[source], "value": value, "effect": round(effect, 4),
            "text": f"{FIELD_LABELS[source]} : {value} — {verb} le risque",
        })
    return factors

