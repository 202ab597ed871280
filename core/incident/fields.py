"""The incident's fields, their French names and limits, and the error that names a wrong one.

Why a module of its own
-----------------------
Every door of the model (the severity page, ``python -m core predict``, the
HTTP API of :mod:`core.api`) and every module that shows an incident (the call form, the
explanations, the reliability page) needs the list of fields and their French
names; the parser (:mod:`core.incident.parse`) and the checks
(:mod:`core.incident.flags`) need the limits and :class:`IncidentError`. This
module imports only :mod:`core.formatting` from the project, so that naming a
field never pulls in the parser or the place tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from core.formatting import cut_text, format_quoted

#: Accident-level BAAC codes a caller can report, validated against the codebook.
CODED_FIELDS: Final = ("lum", "atm", "agg", "int", "col", "catr", "surf", "obs")

#: Every field an incident may carry (all optional); ``id`` is echoed back untouched.
INCIDENT_FIELDS: Final = (
    "lat", "lon", "dep", "com", "datetime", *CODED_FIELDS, "vma", "vehicles", "n_pedestrians", "n_people", "people",
)
#: What may be said of one person (``people``): BAAC ``catu``, age in years, BAAC ``sexe``, 2019+ ``secu1``.
PERSON_FIELDS: Final = ("role", "age", "sex", "equipment")
MAX_AGE: Final = 110
PASSTHROUGH_FIELDS: Final = ("id",)

#: Numeric columns of a parsed incident (None = unknown).
NUMERIC_COLUMNS: Final = (
    "lat", "lon", "year", "month", "day", "hour", "minute", "weekday",
    *CODED_FIELDS, "vma", "n_pedestrians", "n_people",
)

#: Incident field (or "place") -> French name shown to users.
FIELD_LABELS: Final[dict[str, str]] = {
    "datetime": "Date et heure",
    "place": "Lieu (coordonnées et historique de la zone)",
    "dep": "Département",
    "com": "Commune",
    "lum": "Luminosité",
    "atm": "Conditions atmosphériques",
    "surf": "État de la surface",
    "agg": "Agglomération",
    "int": "Intersection",
    "col": "Type de collision",
    "catr": "Catégorie de route",
    "vma": "Vitesse maximale autorisée",
    "obs": "Obstacle fixe heurté",
    "vehicles": "Véhicules",
    "n_pedestrians": "Piétons",
    "n_people": "Personnes impliquées",
    "people": "Personnes décrites (âge, sexe, équipement)",
}

MAX_PEOPLE: Final = 500
MAX_VEHICLES: Final = 100
#: Longest ``id`` echoed back (characters).
MAX_ID_LENGTH: Final = 200
#: Longest field path named by an error (characters): an eCall path such as
#: ``vehiclePropulsionStorageType.electricEnergyStorage`` (51) fits whole, a made-up key is cut.
MAX_FIELD_LENGTH: Final = 60
#: Longest error or warning reason (characters).
MAX_REASON_LENGTH: Final = 200
#: Characters of an offending text value shown in a reason.
_SHOWN_TEXT: Final = 30
#: Digits of an offending integer shown in a reason.
SHOWN_DIGITS: Final = 20
UNKNOWN_NOTE: Final = "absent, null ou -1 : inconnu"


class IncidentError(ValueError):
    """An incident field has a value that cannot be used.

    Attributes
    ----------
    field : str
        The offending field, as named in the input (``vehicles[2]`` for a list
        item, ``incident`` for the whole object), cut to :data:`MAX_FIELD_LENGTH` characters.
    reason : str
        Why, in French, with what is accepted (at most :data:`MAX_REASON_LENGTH`
        characters).
    """

    def __init__(self, field: str, reason: str) -> None:
        field = cut_text(field, MAX_FIELD_LENGTH, escape=True)
        if len(reason) > MAX_REASON_LENGTH:
            reason = reason[: MAX_REASON_LENGTH - 1] + "…"
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        """``{"field", "reason"}``, the error object of every door."""
        return {"field": self.field, "reason": self.reason}


def shown(value: Any) -> str:
    """A short, safe French rendering of an offending value, for a reason.

    Examples
    --------
    >>> shown(None), shown(True), shown(42), shown(2.5), shown("abc"), shown([1, 2]), shown({})
    ('null', 'true', '42', '2.5', '« abc »', 'une liste de 2 éléments', 'un objet')
    >>> shown(10 ** 30), shown("x" * 40)
    ('un entier de 31 chiffres', '« xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… »')
    >>> shown(float("nan")), shown("\\ud800")
    ('NaN', '« \\\\ud800 »')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = _digits(value)
        return f"un entier de {digits} chiffres" if digits > SHOWN_DIGITS else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        return format_quoted(value, _SHOWN_TEXT, escape=True)
    if isinstance(value, (list, tuple)):
        return f"une liste de {len(value)} élément{'s' if len(value) > 1 else ''}"
    if isinstance(value, Mapping):
        return "un objet"
    return "une valeur d’un autre type"


def _digits(value: int) -> int:
    """Decimal digits of an integer, without converting it to text (which fails past 4,300 digits)."""
    magnitude = abs(value)
    if magnitude < 10 ** 18:
        return len(str(magnitude))
    estimate = int(magnitude.bit_length() * math.log10(2))  # exact or one short
    return estimate + (magnitude >= 10 ** estimate)


def kind_of(value: Any) -> str:
    """The JSON kind of a value, in French."""
    if isinstance(value, bool):
        return "un booléen"
    if isinstance(value, (int, float)):
        return "un nombre"
    if isinstance(value, str):
        return "un texte"
    if isinstance(value, (list, tuple)):
        return "une liste"
    if isinstance(value, Mapping):
        return "un objet"
    return "null" if value is None else "une valeur d’un autre type"


def code_ranges(codes: Sequence[int] | frozenset[int]) -> str:
    """Codes as compact French ranges.

    Examples
    --------
    >>> code_ranges([1, 2, 3, 4, 5, 6, 7, 9]), code_ranges([1, 2])
    ('1 à 7, 9', '1, 2')
    """
    ordered = sorted(codes)
    parts: list[str] = []
    start = previous = ordered[0]
    for code in [*ordered[1:], None]:
        if code is not None and code == previous + 1:
            previous = code
            continue
        if previous - start >= 2:
            parts.append(f"{start} à {previous}")
        else:
            parts.extend(str(c) for c in range(start, previous + 1))
        if code is not None:
            start = previous = code
    return ", ".join(parts)

