"""An incident's fields in French words: "Pluie légère", "2 × VL seul, 1 × Bicyclette", "Nord (59)".

Why a module of its own
-----------------------
The same words describe an incident wherever an operator reads it: in the
estimate's reasons (:mod:`core.model.explain`), in the session's list of calls
(:mod:`core.dispatch.intake`) and in the similar past accidents
(:mod:`core.dispatch.nearby`). They are written once here, below both the
model and the dispatch desk, from the codebook's labels, the place names and,
for a place, the history features of the incident's row. A batch's reasons
word the same departments, communes, vehicles and codes again and again:
:class:`FieldWords` words each distinct value once.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import struct
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np

from core import codebook, places
from core.features.columns import IncidentColumns
from core.features.names import FEATURE_INDEX
from core.formatting import format_count, format_decimal
from core.incident.fields import CODED_FIELDS

#: The words of a field the caller did not give.
UNKNOWN_VALUE: Final = "non renseigné"

#: The place levels that tell their history, by field: (feature prefix, words before the figures).
_HISTORY_LEVELS: Final = {"dep": ("dep", ""), "com": ("com", ""), "place": ("h3_7", "quartier de ~5 km² : ")}


@functools.lru_cache(maxsize=1024)
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


@functools.lru_cache(maxsize=1024)
def _code_label(source: str, code: int) -> str:
    """The codebook's label of a code (an incident's codes are few: each is looked up once)."""
    return codebook.label(source, code)


def _coded_words(source: str, code: float) -> str:
    return UNKNOWN_VALUE if code != code else _code_label(source, int(code))


def _speed_words(source: str, vma: float) -> str:
    return UNKNOWN_VALUE if vma != vma else f"{int(vma)} km/h"


def _people_words(source: str, count: float) -> str:
    """``2 piétons``, ``aucune personne``..."""
    if count != count:
        return UNKNOWN_VALUE
    number = int(count)
    noun = "piéton" if source == "n_pedestrians" else "personne"
    return f"{number} {noun}{'s' if number > 1 else ''}" if number else f"aucun {noun}"


def _vehicle_words(codes: tuple[int, ...] | None) -> str:
    return UNKNOWN_VALUE if codes is None else vehicle_counts(codes)


def _history_words(log_count: float, ratio: float, where: str) -> str:
    """E.g. `` — 312 accidents passés, gravité 1,2 × la moyenne`` ("" when the place has no history)."""
    if log_count != log_count:
        return ""
    n = round(math.expm1(log_count))
    plural = "s" if n >= 2 else ""
    return (f" — {where}{format_count(n)} accident{plural} passé{plural}, gravité {format_decimal(ratio, 1)} "
            "× la moyenne")


@functools.lru_cache(maxsize=8192)
def _history_of_bits(bits: int, where: str) -> str:
    """:func:`_history_words` of two float32 figures given by their bits, log count in the high half.

    The bits are the exact key of the words (NaN and -0.0 included), and a
    place's history figures come back from batch to batch: departments always,
    two communes or neighbourhoods in three within a year's incidents.

    Examples
    --------
    >>> log_count, ratio = np.array([np.log1p(312), 1.24], dtype=np.float32).view(np.uint32).tolist()
    >>> _history_of_bits(log_count << 32 | ratio, "")
    ' — 312 accidents passés, gravité 1,2 × la moyenne'
    """
    log_count, ratio = _FLOAT32_PAIR.unpack(_UINT32_PAIR.pack(bits >> 32, bits & 0xFFFFFFFF))
    return _history_words(log_count, ratio, where)


#: Two float32 numbers read from their bits.
_UINT32_PAIR: Final = struct.Struct("<2I")
_FLOAT32_PAIR: Final = struct.Struct("<2f")


def _area_words(source: str, code: str, history: str) -> str:
    """``Nord (59)`` or ``Lille (59350)``, then the history of the place."""
    if not code:
        return UNKNOWN_VALUE
    name = places.department_name(code) if source == "dep" else places.commune_name(code) or "commune"
    return f"{name} ({code}){history}"


def _point_words(lat: float, lon: float, history: str) -> str:
    return UNKNOWN_VALUE if lat != lat else f"{lat:.4f}, {lon:.4f}{history}"


#: Week days and months as written inside a date.
_WEEKDAY_WORDS: Final = {number: name.lower() for number, name in codebook.WEEKDAY_LABELS.items()}
_MONTH_WORDS: Final = {number: name.lower() for number, name in codebook.MONTH_LABELS.items()}

#: The columns of an incident's date and time, in the order of :func:`_date_words`.
_DATE_COLUMNS: Final = ("year", "month", "day", "weekday", "hour", "minute")


def _date_words(year: float, month: float, day: float, weekday: float, hour: float, minute: float) -> str:
    """``samedi 14 mars 2020, 18:30``, or the date alone when the hour is unknown."""
    if year != year:
        return UNKNOWN_VALUE
    text = f"{_WEEKDAY_WORDS[int(weekday)]} {int(day)} {_MONTH_WORDS[int(month)]} {int(year)}"
    return text if hour != hour else f"{text}, {int(hour):02d}:{0 if minute != minute else int(minute):02d}"


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
    if source == "vehicles":
        return _vehicle_words(columns.vehicles[row])
    if source == "people":
        return people_words(columns.described()[row])
    if source in _HISTORY_LEVELS:
        history = ""
        if features is not None:
            level, where = _HISTORY_LEVELS[source]
            history = _history_words(float(features[FEATURE_INDEX[f"{level}_log_count"]]),
                                     float(features[FEATURE_INDEX[f"{level}_severe_ratio"]]), where)
        if source == "place":
            return _point_words(float(columns.numeric["lat"][row]), float(columns.numeric["lon"][row]), history)
        return _area_words(source, (columns.dep if source == "dep" else columns.com)[row], history)
    if source == "datetime":
        return _date_words(*(float(columns.numeric[name][row]) for name in _DATE_COLUMNS))
    wording = _SCALAR_WORDING.get(source)
    if wording is None:
        raise KeyError(f"no description for {source!r}")
    return wording(source, float(columns.numeric[source][row]))


def people_words(persons: tuple[tuple[int | None, ...], ...] | None) -> str:
    """The people a caller described, in the codebook's words.

    Examples
    --------
    >>> people_words(((3, 82, 2, None), (1, 40, 1, 1)))
    'Piéton, 82 ans, Féminin ; Conducteur, 40 ans, Masculin, Ceinture'
    >>> people_words(None) == UNKNOWN_VALUE
    True
    """
    if persons is None:
        return UNKNOWN_VALUE
    described = []
    for role, age, sex, equipment in persons:
        parts = [codebook.label("catu", role) if role is not None else "Personne"]
        if age is not None:
            parts.append(f"{age} an{'s' if age > 1 else ''}")
        parts += [codebook.label(name, code) for name, code in (("sexe", sex), ("secu1", equipment))
                  if code is not None]
        described.append(", ".join(parts))
    return " ; ".join(described)


#: The words of a field that is one number: coded fields, speed limit, people.
_SCALAR_WORDING: Final[dict[str, Callable[[str, float], str]]] = {
    **dict.fromkeys(CODED_FIELDS, _coded_words), "vma": _speed_words,
    "n_pedestrians": _people_words, "n_people": _people_words,
}

#: Up to this many rows, each row is worded on its own (sorting out the distinct values costs more).
_FEW_ROWS: Final = 16


#: The column that tells whether a field made of several is given.
_GIVEN_BY: Final = {"place": "lat", "datetime": "year"}


def _list_of(values: np.ndarray, rows: np.ndarray | None) -> list:
    """``values[rows]`` (all of them by default) as a list."""
    return (values if rows is None else values[rows]).tolist()


def _words_of_values(values: np.ndarray, wording: Callable[[float], str]) -> list[str]:
    """``wording(value)`` for every value of a float column, each distinct value worded once.

    NaNs are worded once, and -0.0 with 0.0: numbers of a code, a speed or people word alike.
    """
    if len(values) <= _FEW_ROWS:
        return list(map(wording, values.tolist()))
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array(list(map(wording, distinct.tolist())), dtype=object)[inverse.ravel()].tolist()


def _words_of_keys(keys: list, wording: Callable[..., str]) -> list[str]:
    """``wording(*key)`` for every (hashable) key, each distinct key worded once."""
    worded = dict.fromkeys(keys)
    for key in worded:
        worded[key] = wording(*key)
    return list(map(worded.__getitem__, keys))


class FieldWords:
    """The fields of a batch of incidents in words, a field for many incidents at once.

    ``words(source, rows)`` is ``[describe_field(source, columns, row, features[row]) for row in rows]``,
    with each distinct value worded once: a thousand incidents have a few dozen
    departments, codes and lists of vehicles, and the history figures of a
    department or a commune repeat too. ``known(source)`` tells which incidents
    give the field (the others are worded ``non renseigné``).

    Parameters
    ----------
    columns : IncidentColumns
        The incidents.
    features : numpy.ndarray, optional
        Their float32 feature rows (``(incidents, features)``): place, department and commune then tell
        their history.

    Examples
    --------
    >>> from core.features.columns import columns_from_incidents
    >>> from core.incident.parse import parse_incident
    >>> cols = columns_from_incidents([parse_incident({"atm": 2, "dep": "59"}), parse_incident({"vehicles": [7]})])
    >>> words = FieldWords(cols)
    >>> words.words("atm"), words.words("dep", np.array([0])), words.words("vehicles", np.array([1]))
    (['Pluie légère', 'non renseigné'], ['Nord (59)'], ['1 × VL seul'])
    >>> words.known("atm").tolist(), words.known("vehicles").tolist()
    ([True, False], [False, True])

    The same words as :func:`describe_field`'s, on real accidents with their history, a third of
    their fields left out:

    >>> from core.features.build import build_features
    >>> from core.features.training import incident_from_row, training_frame
    >>> incidents = [incident_from_row(row) for row in
    ...              training_frame(con, first_year=2019, last_year=2019).iloc[::300].to_dict("records")]
    >>> for i, incident in enumerate(incidents):
    ...     for field in [field for field in incident if field != "lon"][i % 3::3]:
    ...         del incident[field]
    ...     if "lat" not in incident:  # both coordinates or none
    ...         _ = incident.pop("lon", None)
    >>> cols = columns_from_incidents([parse_incident(incident) for incident in incidents])
    >>> x = build_features(cols, model.history)
    >>> words = FieldWords(cols, x)
    >>> sources = [*CODED_FIELDS, "vma", "vehicles", "n_pedestrians", "n_people", "dep", "com", "place", "datetime"]
    >>> all(words.words(source) == [describe_field(source, cols, row, x[row]) for row in range(len(x))]
    ...     and words.known(source).tolist() == [text != UNKNOWN_VALUE for text in words.words(source)]
    ...     for source in sources), len(x) > 100
    (True, True)
    """

    def __init__(self, columns: IncidentColumns, features: np.ndarray | None = None) -> None:
        self._columns = columns
        self._features = features

    def known(self, source: str) -> np.ndarray:
        """Which incidents give field ``source``: exactly those whose words are not ``non renseigné``."""
        columns = self._columns
        if source in ("vehicles", "people"):
            values = columns.vehicles if source == "vehicles" else columns.described()
            return np.fromiter(map(operator.is_not, values, itertools.repeat(None)), dtype=bool, count=len(columns))
        if source in ("dep", "com"):
            return np.fromiter(map(bool, columns.dep if source == "dep" else columns.com), dtype=bool,
                               count=len(columns))
        if source not in _SCALAR_WORDING and source not in _GIVEN_BY:
            raise KeyError(f"no description for {source!r}")
        return ~np.isnan(columns.numeric[_GIVEN_BY.get(source, source)])

    def words(self, source: str, rows: np.ndarray | None = None) -> list[str]:
        """The value of field ``source`` of the incidents ``rows`` (all by default) in French words."""
        columns = self._columns
        if source == "vehicles":
            vehicles = columns.vehicles if rows is None else [columns.vehicles[row] for row in rows.tolist()]
            return _words_of_keys([(codes,) for codes in vehicles], _vehicle_words)
        if source == "people":
            people = columns.described() if rows is None else [columns.described()[row] for row in rows.tolist()]
            return _words_of_keys([(persons,) for persons in people], people_words)
        if source in ("dep", "com"):
            codes = _list_of(columns.dep if source == "dep" else columns.com, rows)
            return _words_of_keys(list(zip(itertools.repeat(source), codes, self._histories(source, rows))),
                                  _area_words)
        numeric = columns.numeric
        if source == "place":
            return list(map(_point_words, _list_of(numeric["lat"], rows), _list_of(numeric["lon"], rows),
                            self._histories(source, rows)))
        if source == "datetime":
            return list(map(_date_words, *(_list_of(numeric[name], rows) for name in _DATE_COLUMNS)))
        wording = _SCALAR_WORDING.get(source)
        if wording is None:
            raise KeyError(f"no description for {source!r}")
        return _words_of_values(numeric[source] if rows is None else numeric[source][rows],
                                functools.partial(wording, source))

    def _histories(self, source: str, rows: np.ndarray | None) -> list[str]:
        """The history words of the incidents' places at the level of ``source`` ("" without features)."""
        if self._features is None:
            return [""] * (len(self._columns) if rows is None else len(rows))
        level, where = _HISTORY_LEVELS[source]
        figures = [FEATURE_INDEX[f"{level}_log_count"], FEATURE_INDEX[f"{level}_severe_ratio"]]
        log_count, ratio = (self._features[:, figures] if rows is None else self._features[np.ix_(rows, figures)]).T
        if log_count.dtype != np.float32:
            return [_history_words(n, r, where) for n, r in zip(log_count.tolist(), ratio.tolist(), strict=True)]
        keys = log_count.view(np.uint32).astype(np.uint64) << np.uint64(32) | ratio.view(np.uint32)
        distinct, inverse = np.unique(keys, return_inverse=True)
        phrases = [_history_of_bits(key, where) for key in distinct.tolist()]
        return np.array(phrases, dtype=object)[inverse.ravel()].tolist()
