"""Parse one incident as a caller sends it: unknown values become None, unusable ones raise.

Why a module of its own
-----------------------
The rules of :mod:`core.incident` (what is unknown, what is refused, with which
French reason) are applied here, field by field, for the three doors alike:
:func:`parse_incident` returns the canonical form that
:func:`core.features.columns.columns_from_incidents` stacks, or raises
:class:`~core.incident.fields.IncidentError` naming the first wrong field.
Valid values take a fast path: a batch of thousands of incidents is parsed in
milliseconds.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Any, Final

from core import codebook, places
from core.incident.fields import (
    CODED_FIELDS,
    INCIDENT_FIELDS,
    MAX_AGE,
    MAX_ID_LENGTH,
    MAX_PEOPLE,
    MAX_VEHICLES,
    PASSTHROUGH_FIELDS,
    PERSON_FIELDS,
    SHOWN_DIGITS,
    UNKNOWN_NOTE,
    IncidentError,
    code_ranges,
    kind_of,
    shown,
)

_ALLOWED_KEYS: Final = frozenset((*INCIDENT_FIELDS, *PASSTHROUGH_FIELDS))


def _is_minus_one(value: Any) -> bool:
    """-1 written as a number or a text: the contract's "unknown"."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == -1
    return isinstance(value, str) and value.strip() in ("-1", "-1.0")


def _as_integer(field: str, value: Any, *, what: str) -> int | None:
    """A whole number from an int, an integral float or a numeric text; None when unknown."""
    if type(value) is int:
        return None if value == -1 else value
    if value is None or _is_minus_one(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) <= SHOWN_DIGITS and text.lstrip("+-").isdigit():
            return int(text)
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise IncidentError(field, f"attendu {what}, reçu {shown(value)} ({UNKNOWN_NOTE})")


#: Per coded field, its codes, and the values read as unknown (-1, and 0 when 0 is not a code):
#: the codebook's unknown-value rule, looked up once instead of per incident.
_CODES: Final = {field: codebook.valid_codes(field) for field in (*CODED_FIELDS, "catv")}
_UNKNOWN_CODES: Final = {field: {-1} | ({0} - codes) for field, codes in _CODES.items()}
_RANGES: Final = {field: code_ranges(codes) for field, codes in _CODES.items()}


def _parse_code(field: str, value: Any) -> int | None:
    code = _as_integer(field, value, what=f"un code entier ({_RANGES[field]})")
    if code is None or code in _UNKNOWN_CODES[field]:
        return None
    if code not in _CODES[field]:
        raise IncidentError(field, f"code {shown(code)} inconnu ; codes admis : {_RANGES[field]} ({UNKNOWN_NOTE})")
    return code


def _parse_count(field: str, value: Any, *, low: int, high: int, what: str) -> int | None:
    if type(value) is int and low <= value <= high:  # the usual case, quickly
        return value
    expected = f"{what} entre {low} et {high}"
    count = _as_integer(field, value, what=expected)
    if count is None:
        return None
    if not low <= count <= high:
        raise IncidentError(field, f"attendu {expected}, reçu {shown(count)} ({UNKNOWN_NOTE})")
    return count


def _parse_coordinate(field: str, value: Any, *, bound: float) -> float | None:
    if type(value) is float and -bound <= value <= bound:  # the usual case (NaN fails the test)
        return None if value == -1 else value
    if value is None or _is_minus_one(value) or (isinstance(value, str) and not value.strip()):
        return None
    number = _degrees(value)
    if number is None or not -bound <= number <= bound:
        name = "une latitude" if field == "lat" else "une longitude"
        raise IncidentError(field, f"attendu {name} en degrés décimaux entre -{bound:g} et {bound:g}, "
                                   f"reçu {shown(value)}")
    return number


def _degrees(value: Any) -> float | None:
    """A finite number of degrees from a number or a text (decimal comma accepted); None if it is none."""
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) > 360:  # float() of a huge integer overflows
        return None
    return float(value) if math.isfinite(value) else None


_EMPTY_DATE: Final = dict.fromkeys(("year", "month", "day", "hour", "minute", "weekday"))
_DATETIME_EXPECTED: Final = "une heure locale ISO (« 2020-03-14T18:30 ») ou une date (« 2020-03-14 »)"


def _parse_datetime(value: Any) -> dict[str, int | None]:
    if type(value) is not str and (value is None or _is_minus_one(value)):
        return dict(_EMPTY_DATE)
    if not isinstance(value, str):
        raise IncidentError("datetime", f"attendu {_DATETIME_EXPECTED}, reçu {shown(value)} ({UNKNOWN_NOTE})")
    text = value.strip()
    if not text or text in ("-1", "-1.0"):
        return dict(_EMPTY_DATE)
    try:
        if len(text) > 40:
            raise ValueError(text)
        if len(text) <= 10:
            day = dt.date.fromisoformat(text)
            moment = None
        else:
            moment = dt.datetime.fromisoformat(text)
            day = moment.date()
    except ValueError:
        raise IncidentError("datetime", f"attendu {_DATETIME_EXPECTED}, reçu {shown(value)}") from None
    return {
        "year": day.year, "month": day.month, "day": day.day, "weekday": day.weekday(),
        "hour": None if moment is None else moment.hour,
        "minute": None if moment is None else moment.minute,
    }


_CATV_UNKNOWN: Final = 0  # "Indéterminable": a vehicle whose category is not known
_INT_TYPE: Final = {int}


def _parse_vehicles(value: Any) -> tuple[int, ...] | None:
    if (type(value) is list and 0 < len(value) <= MAX_VEHICLES and set(map(type, value)) == _INT_TYPE
            and _CODES["catv"].issuperset(value)):  # the usual case, quickly (types first: True == 1, 7.0 == 7)
        return tuple(value)
    if value is None or _is_minus_one(value):
        return None
    expected = "une liste de codes catv, un par véhicule (ex. [7, 33])"
    if not isinstance(value, (list, tuple)):
        raise IncidentError("vehicles", f"attendu {expected}, reçu {shown(value)} ({UNKNOWN_NOTE})")
    if not value:
        raise IncidentError("vehicles", f"liste vide : attendu {expected}, ou null si inconnus")
    if len(value) > MAX_VEHICLES:
        raise IncidentError("vehicles", f"{len(value)} véhicules : au plus {MAX_VEHICLES}")
    codes = []
    for position, item in enumerate(value):
        field = f"vehicles[{position}]"
        allowed = f"codes catv admis : {_RANGES['catv']} (0, null ou -1 : véhicule indéterminé)"
        code = _as_integer(field, item, what=f"un code catv entier ; {allowed}")
        code = _CATV_UNKNOWN if code is None else code
        if code not in _CODES["catv"]:
            raise IncidentError(field, f"code catv {shown(code)} inconnu ; {allowed}")
        codes.append(code)
    return tuple(codes)


#: Codes of a person's facts: ``catu`` (the pre-2019 code 4, a pedestrian on rollers or a scooter, is read as 3
#: Piéton, as training reads it), ``sexe``, ``secu1`` without 8 "Non déterminable" (read as unknown, as -1 is).
_PERSON_CODES: Final = {"role": frozenset({1, 2, 3}), "sex": codebook.valid_codes("sexe"),
                        "equipment": codebook.valid_codes("secu1") - {8}}
_PERSON_UNKNOWN: Final = {"role": {-1}, "sex": {-1}, "equipment": {-1, 8}}
_PEDESTRIAN_ON_WHEELS: Final = 4
_PEOPLE_EXPECTED: Final = ("une liste de personnes décrites, chacune un objet {role, age, sex, equipment} aux champs "
                           "facultatifs (ex. [{\"role\": 3, \"age\": 80}])")


def _parse_people(value: Any) -> tuple[tuple[int | None, ...], ...] | None:
    """The people the caller described, as ``(role, age, sex, equipment)`` tuples; None when nobody was."""
    if value is None or _is_minus_one(value):
        return None
    if not isinstance(value, (list, tuple)):
        raise IncidentError("people", f"attendu {_PEOPLE_EXPECTED}, reçu {shown(value)} ({UNKNOWN_NOTE})")
    if not value:
        return None
    if len(value) > MAX_PEOPLE:
        raise IncidentError("people", f"{len(value)} personnes : au plus {MAX_PEOPLE}")
    people = [_parse_person(position, item) for position, item in enumerate(value)]
    # A person of whom nothing is said ({} or every fact unknown) tells nothing: the form drops it too.
    return tuple(person for person in people if person != _NOTHING_SAID) or None


_NOTHING_SAID: Final = (None,) * len(PERSON_FIELDS)
_PERSON_KEYS: Final = frozenset(PERSON_FIELDS)


def _parse_person(position: int, item: Any) -> tuple[int | None, ...]:
    where = f"people[{position}]"
    if not isinstance(item, Mapping):
        raise IncidentError(where, f"attendu un objet {{role, age, sex, equipment}}, reçu {kind_of(item)}")
    if not _PERSON_KEYS.issuperset(item):
        key = next(key for key in item if key not in PERSON_FIELDS)
        raise IncidentError(f"{where}.{key}" if isinstance(key, str) else where,
                            f"champ inconnu ; champs admis : {', '.join(PERSON_FIELDS)}")
    person = []
    for key in PERSON_FIELDS:
        value = item.get(key)
        # The usual cases, quickly (types first: True == 1, 7.0 == 7); anything else goes through the rules.
        if value is None:
            person.append(None)
            continue
        if type(value) is int and (0 <= value <= MAX_AGE if key == "age" else value in _PERSON_CODES[key]):
            person.append(value)
            continue
        field = f"{where}.{key}"
        if key == "age":
            person.append(_parse_count(field, item.get(key), low=0, high=MAX_AGE, what="un âge en années"))
            continue
        codes = _PERSON_CODES[key]
        code = _as_integer(field, item.get(key), what=f"un code entier ({code_ranges(codes)})")
        if key == "role" and code == _PEDESTRIAN_ON_WHEELS:
            code = codebook.PEDESTRIAN_CATU
        if code is not None and code not in _PERSON_UNKNOWN[key] and code not in codes:
            wheels = " et 4, piéton en roller ou trottinette, lu 3" if key == "role" else ""
            raise IncidentError(field, f"code {shown(code)} inconnu ; codes admis : {code_ranges(codes)}{wheels} "
                                       f"({UNKNOWN_NOTE})")
        person.append(None if code is None or code in _PERSON_UNKNOWN[key] else code)
    return tuple(person)


def _parse_place_code(field: str, value: Any) -> str | None:
    if type(value) is str:
        if len(value) > 12:
            raise _place_error(field, value)
        return _parse_place_text(field, value)
    if value is None or _is_minus_one(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10 ** 6:
        return _parse_place_text(field, str(value))
    raise _place_error(field, value)


def _place_error(field: str, value: Any) -> IncidentError:
    if field == "dep":
        return IncidentError("dep", f"code de département INSEE inconnu {shown(value)} ; admis : « 01 » à « 95 » "
                                    "(« 2A », « 2B » pour la Corse), « 971 » à « 978 », « 986 » à « 988 »")
    return IncidentError("com", f"attendu un code commune INSEE de 5 caractères (ex. « 75056 », « 2A004 »), "
                                f"reçu {shown(value)}")


@functools.lru_cache(maxsize=65536)
def _parse_place_text(field: str, value: str) -> str | None:
    """The checks of :func:`_parse_place_code` on a text code (cached: a batch repeats its places)."""
    text = value.strip().upper()
    if text in ("", "-1", "-1.0"):
        return None
    if field == "dep":
        dep = places.normalise_dep(text)
        if dep is None:
            raise _place_error("dep", value)
        return dep
    if len(text) != 5 or not (text.isdigit() or (text[:2] in ("2A", "2B") and text[2:].isdigit())):
        raise _place_error("com", value)
    return text


def parse_id(value: Any) -> str | int | float | None:
    """The ``id`` to echo back exactly: a JSON string (at most 200 characters) or a number.

    Integers are accepted from -2**63 to 2**64 - 1, and other numbers when
    finite and below 2**53 in size (beyond, a double no longer holds every
    integer, so the id would not come back as it was sent).

    Raises
    ------
    IncidentError
        For anything else (``true``, a list, NaN, a huge number, a text with a
        lone surrogate...), which could not be echoed as it came.

    Examples
    --------
    >>> parse_id("call-7"), parse_id(12), parse_id(None)
    ('call-7', 12, None)
    >>> try:
    ...     parse_id([1])
    ... except IncidentError as error:
    ...     print(error.field, "|", error.reason)
    id | attendu un texte (au plus 200 caractères) ou un nombre, reçu une liste
    """
    if value is None or type(value) is str and len(value) <= MAX_ID_LENGTH and _is_utf8(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -(2 ** 63) <= value < 2 ** 64:
        return value
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 2 ** 53:
        return value
    what = kind_of(value) if not isinstance(value, (str, int)) or isinstance(value, bool) else shown(value)
    raise IncidentError("id", f"attendu un texte (au plus {MAX_ID_LENGTH} caractères) ou un nombre, reçu {what}")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def echoed_id(obj: Any) -> str | int | float | None:
    """The object's ``id`` if it can be echoed back, else None (never raises)."""
    if not isinstance(obj, Mapping):
        return None
    try:
        return parse_id(obj.get("id"))
    except IncidentError:
        return None


def parse_incident(obj: Any) -> dict[str, Any]:
    """Validate one incident as a caller would send it and return its canonical form.

    Parameters
    ----------
    obj : Mapping
        BAAC variable names and codes, all optional; absent, ``null`` or ``-1``
        means unknown: ``lat``, ``lon`` (decimal degrees, both or neither), ``dep``,
        ``com`` (INSEE codes), ``datetime`` (ISO local time, or a date alone),
        ``lum``, ``atm``, ``agg``, ``int``, ``col``, ``catr``, ``surf``, ``obs``
        (codebook codes), ``vma`` (km/h), ``vehicles`` (list of ``catv`` codes, one
        per vehicle), ``n_pedestrians``, ``n_people``, ``people`` (the people described, each
        ``{"role", "age", "sex", "equipment"}``, every key optional); ``id`` is echoed back.

    Returns
    -------
    dict
        Keys :data:`core.incident.fields.NUMERIC_COLUMNS` (int or float, or None), ``dep``, ``com``
        (str or None), ``vehicles`` (tuple of ints or None), ``people`` (tuple of ``(role, age, sex,
        equipment)`` tuples, or None), ``id``.

    Raises
    ------
    IncidentError
        Naming the first field found wrong, with the reason in French.

    Examples
    --------
    >>> parse_incident({"atm": 2, "datetime": "2020-03-14T18:30", "vehicles": [7, 33]})["weekday"]
    5
    >>> parse_incident({"vma": -1, "n_people": -1, "lat": -1, "lon": -1})["vma"] is None
    True
    >>> try:
    ...     parse_incident({"atm": 42})
    ... except IncidentError as error:
    ...     print(error.field, "|", error.reason)
    atm | code 42 inconnu ; codes admis : 1 à 9 (absent, null ou -1 : inconnu)
    """
    if not isinstance(obj, Mapping):
        raise IncidentError("incident", f"attendu un objet JSON {{…}}, reçu {kind_of(obj)}")
    if not _ALLOWED_KEYS.issuperset(obj):
        key = next(key for key in obj if key not in _ALLOWED_KEYS)
        name = key if isinstance(key, str) else str(type(key))
        raise IncidentError(name, f"champ inconnu ; champs admis : {', '.join(INCIDENT_FIELDS)}, id")
    parsed: dict[str, Any] = {"id": parse_id(obj.get("id"))}
    parsed["lat"] = _parse_coordinate("lat", obj.get("lat"), bound=90)
    parsed["lon"] = _parse_coordinate("lon", obj.get("lon"), bound=180)
    if (parsed["lat"] is None) != (parsed["lon"] is None):
        given, missing = ("lat", "longitude") if parsed["lon"] is None else ("lon", "latitude")
        raise IncidentError(given, f"{missing} absente : donnez les deux coordonnées ou aucune")
    parsed["dep"] = _parse_place_code("dep", obj.get("dep"))
    parsed["com"] = _parse_place_code("com", obj.get("com"))
    parsed.update(_parse_datetime(obj.get("datetime")))
    for field in CODED_FIELDS:
        value = obj.get(field)
        # Fast path for a valid int code (0 is a code of obs); anything else goes through the rules.
        parsed[field] = value if type(value) is int and value in _CODES[field] else _parse_code(field, value)
    parsed["vma"] = _parse_count("vma", obj.get("vma"), low=1, high=codebook.MAX_SPEED_LIMIT,
                                 what="une vitesse maximale autorisée en km/h")
    parsed["vehicles"] = _parse_vehicles(obj.get("vehicles"))
    parsed["n_pedestrians"] = _parse_count("n_pedestrians", obj.get("n_pedestrians"), low=0, high=MAX_PEOPLE,
                                           what="un nombre de piétons")
    parsed["n_people"] = _parse_count("n_people", obj.get("n_people"), low=1, high=MAX_PEOPLE,
                                      what="un nombre de personnes")
    parsed["people"] = _parse_people(obj.get("people"))
    if parsed["people"] is not None and parsed["n_people"] is not None and len(parsed["people"]) > parsed["n_people"]:
        raise IncidentError("people", f"{len(parsed['people'])} personnes décrites pour {parsed['n_people']} "
                                      "personnes impliquées (n_people) : décrivez-en au plus autant")
    if None not in (parsed["n_people"], parsed["n_pedestrians"]) and parsed["n_pedestrians"] > parsed["n_people"]:
        raise IncidentError(
            "n_pedestrians", f"{parsed['n_pedestrians']} piétons pour {parsed['n_people']} personnes en tout : "
                             "les piétons comptent parmi les personnes impliquées (n_people)")
    if parsed["people"] is not None:
        _check_roles(parsed["people"], parsed["n_pedestrians"], parsed["n_people"])
    return parsed


def _check_roles(people: tuple[tuple[int | None, ...], ...], n_pedestrians: int | None, n_people: int | None) -> None:
    """More pedestrians described than ``n_pedestrians`` says, or more drivers and passengers than the people
    in the vehicles: one of the two is wrong, and the model would read a call that cannot happen."""
    pedestrians = sum(person[0] == codebook.PEDESTRIAN_CATU for person in people)
    if n_pedestrians is not None and pedestrians > n_pedestrians:
        raise IncidentError("people", f"{pedestrians} piéton(s) décrit(s) (rôle « Piéton », role 3) pour "
                                      f"{n_pedestrians} piéton(s) (« Piétons », n_pedestrians) : corrigez l’un ou "
                                      "l’autre")
    on_board = sum(person[0] in (1, 2) for person in people)
    if None not in (n_pedestrians, n_people) and on_board > n_people - n_pedestrians:
        raise IncidentError("people", f"{on_board} conducteur(s) ou passager(s) décrit(s) (role 1 ou 2) pour "
                                      f"{n_people - n_pedestrians} personne(s) dans les véhicules (« Personnes "
                                      "impliquées » moins « Piétons », n_people moins n_pedestrians) : corrigez "
                                      "l’un ou l’autre")
