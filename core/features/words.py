"""An incident's fields in French words: "Pluie légère", "2 × VL seul, 1 × Bicyclette", "Nord (59)".

Why a module of its own
-----------------------
The same words describe an incident wherever an operator reads it: in the
estimate's reasons (:mod:`core.model.explain`), in the session's list of calls
(:mod:`core.dispatch.intake`) and in the similar past accidents
(:mod:`core.dispatch.nearby`). They are written once here, below both the
model and the dispatch desk, from the codebook's labels, the place names and,
for a place, the history features of the incident's row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import numpy as np

from core import codebook, places
from core.features.columns import IncidentColumns
from core.features.names import FEATURE_INDEX
from core.formatting import format_count, format_decimal
from core.incident.fields import CODED_FIELDS

#: The words of a field the caller did not give.
UNKNOWN_VALUE: Final = "non renseigné"


def vehicle_label(code: int) -> str:
    """The official label of a ``catv`` code without its "(anciennement ...)" note.

    Examples
    --------
    >>> vehicle_label(10)
    'VU seul 1,5T <= PTAC <= 3,5T avec ou sans remorque'
    >>> vehicle_label(0)
    'Indéterminable'
    """
    return codebook.label("catv", code).split(" (anciennement")[0]


def vehicle_counts(codes: Iterable[int]) -> str:
    """Vehicles counted by category, in the order first met, e.g. ``2 × VL seul, 1 × Bicyclette``.

    Examples
    --------
    >>> vehicle_counts([7, 1, 7])
    '2 × VL seul, 1 × Bicyclette'
    """
    counted: dict[int, int] = {}
    for code in codes:
        counted[int(code)] = counted.get(int(code), 0) + 1
    return ", ".join(f"{n} × {vehicle_label(code)}" for code, n in counted.items())


def _number(value: float) -> int | None:
    value = float(value)
    return None if value != value else int(value)  # NaN is the only value unequal to itself


def _history_phrase(level: str, features: np.ndarray | None, *, where: str = "") -> str:
    """E.g. `` — 312 accidents passés, gravité 1,2 × la moyenne`` from a feature row ("" without one)."""
    if features is None:
        return ""
    log_count = float(features[FEATURE_INDEX[f"{level}_log_count"]])
    if log_count != log_count:
        return ""
    n = round(math.expm1(log_count))
    ratio = float(features[FEATURE_INDEX[f"{level}_severe_ratio"]])
    plural = "s" if n >= 2 else ""
    return (f" — {where}{format_count(n)} accident{plural} passé{plural}, gravité {format_decimal(ratio, 1)} "
            "× la moyenne")


def describe_field(source: str, columns: IncidentColumns, row: int, features: np.ndarray | None = None) -> str:
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
    >>> from core.features.columns import columns_from_incidents
    >>> from core.incident.parse import parse_incident
    >>> cols = columns_from_incidents([parse_incident({"atm": 2, "vehicles": [7, 7, 33]})])
    >>> describe_field("atm", cols, 0), describe_field("vehicles", cols, 0)
    ('Pluie légère', '2 × VL seul, 1 × Motocyclette > 125 cm 3')
    """
    num = columns.numeric
    if source in CODED_FIELDS:
        code = _number(num[source][row])
        return UNKNOWN_VALUE if code is None else codebook.label(source, code)
    if source == "vma":
        vma = _number(num["vma"][row])
        return UNKNOWN_VALUE if vma is None else f"{vma} km/h"
    if source == "vehicles":
        codes = columns.vehicles[row]
        return UNKNOWN_VALUE if codes is None else vehicle_counts(codes)
    if source in ("n_pedestrians", "n_people"):
        return _people_words(source, _number(num[source][row]))
    if source in ("dep", "com", "place"):
        return _place_words(source, columns, row, features)
    if source == "datetime":
        return _datetime_words(num, row)
    raise KeyError(f"no description for {source!r}")


def _people_words(source: str, count: int | None) -> str:
    """``2 piétons``, ``aucune personne``..."""
    if count is None:
        return UNKNOWN_VALUE
    noun = "piéton" if source == "n_pedestrians" else "personne"
    return f"{count} {noun}{'s' if count > 1 else ''}" if count else f"aucun {noun}"


def _place_words(source: str, columns: IncidentColumns, row: int, features: np.ndarray | None) -> str:
    """The department, the commune or the point, each with the history of its place when a feature row is given."""
    if source == "dep":
        dep = columns.dep[row]
        return f"{places.department_name(dep)} ({dep}){_history_phrase('dep', features)}" if dep else UNKNOWN_VALUE
    if source == "com":
        com = columns.com[row]
        name = places.commune_name(com) or "commune"
        return f"{name} ({com}){_history_phrase('com', features)}" if com else UNKNOWN_VALUE
    lat, lon = float(columns.numeric["lat"][row]), float(columns.numeric["lon"][row])
    if lat != lat:
        return UNKNOWN_VALUE
    return f"{lat:.4f}, {lon:.4f}" + _history_phrase("h3_7", features, where="quartier de ~5 km² : ")


def _datetime_words(num: dict[str, np.ndarray], row: int) -> str:
    """``samedi 14 mars 2020, 18:30``, or the date alone when the hour is unknown."""
    year = _number(num["year"][row])
    if year is None:
        return UNKNOWN_VALUE
    weekday = codebook.WEEKDAY_LABELS[int(num["weekday"][row])].lower()
    text = f"{weekday} {int(num['day'][row])} {codebook.MONTH_LABELS[int(num['month'][row])].lower()} {year}"
    hour = _number(num["hour"][row])
    return text if hour is None else f"{text}, {hour:02d}:{_number(num['minute'][row]) or 0:02d}"
