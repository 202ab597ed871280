"""The JSON Schema of an incident, derived from the parser's own limits (for the API's OpenAPI document).

Why a module of its own
-----------------------
Integrators read the input contract in the OpenAPI document (``/docs``,
``docs/openapi.json``) and property tests generate requests from it, but the
rules themselves live in :mod:`core.incident.parse`. So the schema is built
here from the same constants (fields, codebook codes, departments, bounds), never
written by hand: a code added to the codebook appears in both at once. The
schema describes the canonical spelling; the parser also accepts numbers
written as text and ``-1`` for unknown, as documented in each description.
"""

from __future__ import annotations

from typing import Any, Final

from core import codebook, places
from core.incident.fields import CODED_FIELDS, FIELD_LABELS, MAX_AGE, MAX_ID_LENGTH, MAX_PEOPLE, MAX_VEHICLES

_UNKNOWN: Final = "absent, null ou -1 : inconnu"
#: Local date and time as the parser reads them (seconds optional), or a date alone.
DATETIME_PATTERN: Final = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$"
#: INSEE commune code: five digits, or 2A/2B and three digits in Corsica.
COMMUNE_PATTERN: Final = r"^(\d{5}|2[AB]\d{3})$"


def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "description": description}


def _code(field: str) -> dict[str, Any]:
    codes = sorted(codebook.valid_codes(field))
    return _nullable({"type": "integer", "enum": [-1, *codes]},
                     f"{FIELD_LABELS[field]} : code BAAC « {field} » ({_UNKNOWN})")


def _count(field: str, low: int, high: int) -> dict[str, Any]:
    return _nullable({"anyOf": [{"type": "integer", "minimum": low, "maximum": high}, {"const": -1}]},
                     f"{FIELD_LABELS[field]} : de {low} à {high} ({_UNKNOWN})")


def _person_schema() -> dict[str, Any]:
    """One person described: every fact optional (the parser's codes, :mod:`core.incident.parse`)."""
    def coded(field: str, codes: list[int], what: str) -> dict[str, Any]:
        return _nullable({"type": "integer", "enum": [-1, *codes]}, f"{what} : code BAAC « {field} » ({_UNKNOWN})")

    return {"type": "object", "additionalProperties": False, "properties": {
        "role": coded("catu", [1, 2, 3, 4], "Conducteur (1), passager (2) ou piéton (3 ; 4, le piéton en roller "
                                            "ou trottinette d’avant 2019, est lu 3)"),
        "age": _nullable({"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_AGE}, {"const": -1}]},
                         f"Âge en années, approximatif si besoin, de 0 à {MAX_AGE} ({_UNKNOWN})"),
        "sex": coded("sexe", sorted(codebook.valid_codes("sexe")), "Sexe : masculin (1), féminin (2)"),
        "equipment": coded("secu1", sorted(codebook.valid_codes("secu1")),
                           "Équipement de sécurité utilisé (0 aucun, 1 ceinture, 2 casque…, 8 : inconnu)"),
    }}


def incident_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 uses) of one incident.

    Examples
    --------
    >>> schema = incident_schema()
    >>> schema["additionalProperties"], schema["properties"]["atm"]["anyOf"][0]["enum"][:3]
    (False, [-1, 1, 2])
    >>> "2A" in schema["properties"]["dep"]["anyOf"][0]["enum"]
    True
    """
    catv = sorted(codebook.valid_codes("catv"))
    properties: dict[str, Any] = {
        "id": {"anyOf": [{"type": "string", "maxLength": MAX_ID_LENGTH}, {"type": "number"}, {"type": "null"}],
               "description": "Identifiant de l’appel, renvoyé tel quel"},
        "lat": _nullable({"type": "number", "minimum": -90, "maximum": 90},
                         "Latitude en degrés décimaux (WGS 84), avec lon ou sans aucune des deux"),
        "lon": _nullable({"type": "number", "minimum": -180, "maximum": 180},
                         "Longitude en degrés décimaux (WGS 84), avec lat ou sans aucune des deux"),
        "dep": _nullable({"type": "string", "enum": [code for code, _ in places.departments()]},
                         f"{FIELD_LABELS['dep']} : code INSEE ({_UNKNOWN})"),
        "com": _nullable({"type": "string", "pattern": COMMUNE_PATTERN},
                         f"{FIELD_LABELS['com']} : code INSEE à 5 caractères ({_UNKNOWN})"),
        "datetime": _nullable({"type": "string", "pattern": DATETIME_PATTERN},
                              "Heure locale ISO (2020-03-14T18:30) ou date seule (2020-03-14)"),
        **{field: _code(field) for field in CODED_FIELDS},
        "vma": _count("vma", 1, codebook.MAX_SPEED_LIMIT),
        "vehicles": _nullable({"type": "array", "minItems": 1, "maxItems": MAX_VEHICLES,
                               "items": {"anyOf": [{"type": "integer", "enum": [-1, *catv]}, {"type": "null"}]}},
                              f"{FIELD_LABELS['vehicles']} : un code BAAC « catv » par véhicule "
                              "(0, -1 ou null : véhicule indéterminé ; null au lieu de la liste : véhicules inconnus)"),
        "n_pedestrians": _count("n_pedestrians", 0, MAX_PEOPLE),
        "n_people": _count("n_people", 1, MAX_PEOPLE),
        "people": _nullable({"type": "array", "maxItems": MAX_PEOPLE, "items": _person_schema()},
                            f"{FIELD_LABELS['people']} : les personnes dont l’appelant parle, pas forcément "
                            "toutes (null ou liste vide : personne n’est décrit)"),
    }
    return {"type": "object", "title": "Incident", "properties": properties, "additionalProperties": False,
            "description": "Ce que l’appelant sait ; tout est facultatif (codes du fichier BAAC de l’ONISR)."}
