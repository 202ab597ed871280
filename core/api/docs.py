"""What the OpenAPI document says the API answers: response schemas and the examples integrators copy.

Why a module of its own
-----------------------
The routes write their JSON themselves (orjson, the CLI's exact answer), so
these pydantic models are never used to build a response: they only describe
it, in ``/docs`` and ``docs/openapi.json``, and the property tests check every
real response against them (``extra="forbid"``: a field added to the answer
and not here fails the tests). The examples are the README's and the request
collection's (``tools/export_api_docs.py`` writes both files from here).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.ecall.msd import (
    MAX_LATITUDE_MAS,
    MAX_LONGITUDE_MAS,
    MAX_TIMESTAMP,
    PROPULSION_TYPES,
    UNKNOWN_BYTE,
    UNKNOWN_POSITION,
    VEHICLE_TYPES,
)
from core.incident.schema import incident_schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Strict):
    """What is wrong, as the command line says it."""

    field: str = Field(description="Le champ en cause (« vehicles[2] », « body », « Authorization »…)")
    reason: str = Field(description="Pourquoi, en français, avec ce qui est admis")


class ErrorAnswer(_Strict):
    """A refused request: 401, 403, 404, 405, 408, 409, 413, 422, 429, 500, 503."""

    id: str | int | float | None = Field(None, description="L’id de l’incident, quand il en avait un")
    error: ErrorDetail
    request_id: str


class WorstInjury(_Strict):
    """Probability of each worst injury of the accident (sums to 1; the model never predicts « Indemne »)."""

    unharmed: float
    light: float
    hospitalised: float
    killed: float


class Factor(_Strict):
    """One of the main reasons of the estimate."""

    field: str
    label: str
    value: str
    effect: float = Field(description="Effet en log-odds du modèle non calibré (> 0 : augmente le risque)")
    text: str


class Warning(_Strict):
    """Something that looks wrong in the incident but was scored."""

    field: str
    reason: str


class BandAnswer(_Strict):
    """The risk band of ``p_severe`` (cut-offs: ``GET /v1/model``)."""

    key: Literal["low", "medium", "high"]
    label: str


class Estimate(_Strict):
    """The estimate of one incident, as ``python -m core predict`` writes it."""

    id: str | int | float | None = Field(None, description="L’id envoyé, renvoyé tel quel")
    p_severe: float = Field(ge=0, le=1, description="Probabilité d’au moins un tué ou blessé hospitalisé")
    p_fatal: float = Field(ge=0, le=1, description="Probabilité d’au moins un tué")
    worst_injury: WorstInjury
    support: int = Field(ge=0, description="Accidents passés partageant les faits clés connus")
    support_severe_share: float | None = Field(description="Part de ces accidents avec un tué ou un hospitalisé")
    model_version: str
    warnings: list[Warning]
    top_factors: list[Factor] | None = Field(None, description="Absent avec factors=false")
    band: BandAnswer


class EstimateAnswer(Estimate):
    """``POST /v1/severity``: the estimate and the request's id (also in the ``X-Request-ID`` header)."""

    request_id: str


class ItemError(_Strict):
    """An incident of a batch that was refused, in its place."""

    id: str | int | float | None = None
    error: ErrorDetail


class BatchCounts(_Strict):
    """Incidents estimated and refused in the batch."""

    predicted: int
    refused: int


class BatchAnswer(_Strict):
    """``POST /v1/severity/batch``: one estimate or one error per incident, in order."""

    request_id: str
    model_version: str
    results: list[Estimate | ItemError]
    counts: BatchCounts


class EcallFact(_Strict):
    """One incident field the message told, in French words."""

    field: str = Field(description="Le champ de l’incident (« place » : lat et lon ensemble)")
    label: str
    value: str | int | float | list[int | float] | None = Field(
        description="La valeur donnée au modèle (null : lumière de nuit, code inconnu)")
    text: str


class UnknownField(_Strict):
    """An incident field the message cannot tell: the operator asks the caller."""

    field: str
    label: str


class EcallNotUsed(_Strict):
    """What the message says and the model does not read (absent from BAAC)."""

    propulsion: list[str] = Field(description="Énergies présentes (vehiclePropulsionStorageType)")
    direction_degrees: int | None = Field(description="Cap en degrés depuis le nord (null : inconnu)")


class EcallIncidentFields(_Strict):
    """The incident the model read, in the input contract's fields (empty for a test call)."""

    id: str | int | float | None = None
    lat: float | None = None
    lon: float | None = None
    dep: str | None = None
    com: str | None = None
    datetime: str | None = None
    lum: int | None = None
    vehicles: list[int] | None = None
    n_people: int | None = None


class EcallSummary(_Strict):
    """What came from the message, what stays unknown, and what the model does not weigh."""

    test_call: bool
    automatic_activation: bool
    position_trusted: bool
    vehicle_type: str = Field(description="Classe EN 15722 (passengerVehicleClassM1 … motorcyclesClassL7e)")
    incident: EcallIncidentFields
    from_message: list[EcallFact] = Field(description="Les champs de l’incident tirés du message")
    unknown: list[UnknownField] = Field(description="Les champs que le message ne dit pas (à demander)")
    not_used: EcallNotUsed
    signals: list[Warning] = Field(description="Ce que le modèle ignore mais que l’opérateur doit voir "
                                               "(déclenchement automatique, énergie) : jamais dans la probabilité")
    warnings: list[Warning] = Field(description="Ce qui affaiblit l’estimation (position non fiable, en mer…)")
    note: str | None = Field(None, description="Appel de test seulement : pourquoi il n’y a pas d’estimation")


class EcallAnswer(_Strict):
    """``POST /v1/severity/ecall``: the estimate of the message's incident (null for a test call) and its account."""

    estimate: Estimate | None = Field(description="L’estimation (recalibrée pour ce qu’un MSD tait) ; "
                                                  "null pour un appel de test")
    ecall: EcallSummary
    request_id: str
    model_version: str


class Metric(_Strict):
    """Discrimination and calibration of one target."""

    n: int
    observed: float | None
    mean_predicted: float | None
    auc: float | None
    brier: float | None
    log_loss: float | None
    ece: float | None
    value: float | None = None


class YearMetrics(_Strict):
    """One year's figures."""

    year: int
    severe: Metric
    fatal: Metric


class ModelMetrics(_Strict):
    """Test year (never used for a choice) and validation year (bands and calibration chosen on it)."""

    test: YearMetrics
    validation: YearMetrics


class ModelYears(_Strict):
    """Years of data behind the model."""

    history: list[int]
    training: list[int]
    training_fatal: list[int]
    validation: int
    test: int


class BandCut(_Strict):
    """One band and its probabilities of ``p_severe``: from (included) to (excluded)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    key: Literal["low", "medium", "high"]
    label: str
    from_: float = Field(alias="from")
    to: float


class RegistryVersion(_Strict):
    """Which registered version of ``gravite-severity`` (MLflow) is in service, since when and why."""

    name: str
    version: int
    run_id: str
    promoted: str
    reason: str


class ModelAnswer(_Strict):
    """``GET /v1/model``: the model in service."""

    model_version: str
    registry: RegistryVersion | None = Field(
        description="the registered version in service; null for a model not registered on this installation")
    created: str
    years: ModelYears
    inputs: list[str]
    metrics: ModelMetrics
    bands: list[BandCut]
    band_rule: str
    request_id: str
    reloaded: bool | None = None


class HealthAnswer(_Strict):
    """``GET /healthz``: the process answers."""

    status: Literal["ok"]


class ReadyAnswer(_Strict):
    """``GET /readyz``: ready to estimate (model loaded and checked, at least one key in service)."""

    ready: bool
    model_version: str | None
    checks: dict[str, str]


#: A call as the README shows it: a car and a motorcycle at night on a departmental road in the Nord.
EXAMPLE_INCIDENT: Final[dict[str, Any]] = {
    "id": "appel-0042", "dep": "59", "com": "59350", "lat": 50.6292, "lon": 3.0573,
    "datetime": "2024-11-08T22:40", "lum": 5, "atm": 2, "agg": 1, "catr": 3, "vehicles": [7, 33], "n_people": 2,
}
#: A batch: the call above, one with only the department and a pedestrian, and one with a wrong code.
EXAMPLE_BATCH: Final[dict[str, Any]] = {"incidents": [
    EXAMPLE_INCIDENT,
    {"id": "appel-0043", "dep": "13", "n_pedestrians": 1, "vehicles": [7]},
    {"id": "appel-0044", "atm": 42},
]}


def incident_body() -> dict[str, Any]:
    """The request body of ``POST /v1/severity`` for the OpenAPI document."""
    return {"required": True, "content": {"application/json": {
        "schema": incident_schema(), "examples": {"appel": {"summary": "Un appel", "value": EXAMPLE_INCIDENT}}}}}


def batch_body(max_batch: int) -> dict[str, Any]:
    """The request body of ``POST /v1/severity/batch`` for the OpenAPI document."""
    schema = {"type": "object", "title": "Lot", "additionalProperties": False, "required": ["incidents"],
              "properties": {"incidents": {"type": "array", "items": incident_schema(), "maxItems": max_batch,
                                           "description": f"Au plus {max_batch} incidents, estimés dans l’ordre"}}}
    return {"required": True, "content": {"application/json": {
        "schema": schema, "examples": {"lot": {"summary": "Trois appels", "value": EXAMPLE_BATCH}}}}}


#: An MSD as the centre's telephony decodes it (EN 15722 v2 in JSON encoding rules): a car crashing in Lyon
#: (Guillotière) on a Friday morning, the eCall triggered by the crash, two people on board.
EXAMPLE_MSD: Final[dict[str, Any]] = {
    "id": "ecall-0042",
    "msdStructure": {
        "messageIdentifier": 1,
        "control": {"automaticActivation": True, "testCall": False, "positionCanBeTrusted": True,
                    "vehicleType": "passengerVehicleClassM1"},
        "vehicleIdentificationNumber": {"isowmi": "VF1", "isovds": "RJB00C", "isovisModelyear": "R",
                                        "isovisSeqPlant": "5123456"},
        "vehiclePropulsionStorageType": {"gasolineTankPresent": True, "electricEnergyStorage": True},
        "timestamp": 1741937400,  # 2025-03-14 07:30 UTC
        "vehicleLocation": {"positionLatitude": 164731392, "positionLongitude": 17428500},  # 45.75872, 4.84125
        "vehicleDirection": 45,  # 90 degrees: heading east
        "recentVehicleLocationN1": {"latitudeDelta": 2, "longitudeDelta": -31},
        "recentVehicleLocationN2": {"latitudeDelta": 5, "longitudeDelta": -62},
        "numberOfPassengers": 2,
    },
}


def _or_unknown(schema: dict[str, Any], unknown: int, description: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"const": unknown}], "description": description}


def _msd_properties() -> dict[str, dict[str, Any]]:
    """Each MSD field's schema, by its EN 15722 name (the flat layout)."""
    delta = {"type": "integer", "minimum": -512, "maximum": 511}
    recent = {"type": "object", "additionalProperties": False,
              "properties": {"latitudeDelta": delta, "longitudeDelta": delta},
              "description": "Position précédente, en écart à la position (unités de 100 millisecondes d’arc) ; "
                             "gardée dans le journal d’audit"}
    return {
        "automaticActivation": {"type": "boolean", "description": "Déclenchement automatique (choc) ou manuel"},
        "testCall": {"type": "boolean", "description": "Appel de test : pas d’estimation"},
        "positionCanBeTrusted": {"type": "boolean",
                                 "description": "false : estimation sans le point ni la commune (département gardé "
                                                "quand le point ne peut être qu’en lui), avec un avertissement"},
        "vehicleType": {"type": "string", "enum": list(VEHICLE_TYPES),
                        "description": "Classe du véhicule (ou son rang, 1 à 13), changée en code catv du BAAC"},
        "vehiclePropulsionStorageType": {
            "type": "object", "additionalProperties": False,
            "properties": {name: {"type": "boolean"} for name in PROPULSION_TYPES},
            "description": "Énergies présentes : montrées, absentes du modèle"},
        "timestamp": {"type": "integer", "minimum": 0, "maximum": MAX_TIMESTAMP,
                      "description": "Secondes depuis le 1er janvier 1970 UTC (0 : inconnu) ; heure locale du lieu"},
        "vehicleLocation": {
            "type": "object", "additionalProperties": False,
            "required": ["positionLatitude", "positionLongitude"],
            "properties": {
                "positionLatitude": _or_unknown(
                    {"type": "integer", "minimum": -MAX_LATITUDE_MAS, "maximum": MAX_LATITUDE_MAS},
                    UNKNOWN_POSITION, f"Millisecondes d’arc (WGS 84) ; {UNKNOWN_POSITION} : inconnue"),
                "positionLongitude": _or_unknown(
                    {"type": "integer", "minimum": -MAX_LONGITUDE_MAS, "maximum": MAX_LONGITUDE_MAS},
                    UNKNOWN_POSITION, f"Millisecondes d’arc (WGS 84) ; {UNKNOWN_POSITION} : inconnue"),
            }},
        "vehicleDirection": _or_unknown({"type": "integer", "minimum": 0, "maximum": 179}, UNKNOWN_BYTE,
                                        f"Cap en pas de 2 degrés depuis le nord ({UNKNOWN_BYTE} : inconnu) : "
                                        "montré, absent du modèle"),
        "numberOfPassengers": _or_unknown({"type": "integer", "minimum": 0, "maximum": 254}, UNKNOWN_BYTE,
                                          f"Personnes à bord ({UNKNOWN_BYTE} : inconnu) : personnes impliquées, "
                                          "au moins 1"),
        "recentVehicleLocationN1": recent,
        "recentVehicleLocationN2": recent,
        "messageIdentifier": {"type": "integer", "minimum": 0, "maximum": 255,
                              "description": "Numéro du message : gardé dans le journal d’audit"},
        "vehicleIdentificationNumber": {
            "type": "object", "properties": {name: {"type": "string"} for name in
                                             ("isowmi", "isovds", "isovisModelyear", "isovisSeqPlant")},
            "description": "VIN : ni lu ni écrit dans le journal d’audit (minimisation des données)"},
    }


_ADDITIONAL_DATA: Final = {"type": "object", "properties": {"oid": {"type": "string"}, "data": {"type": "string"}},
                           "description": "Données additionnelles (oid, data) : non lues, gardées dans le journal "
                                          "d’audit"}
_CONTROL: Final = ("automaticActivation", "testCall", "positionCanBeTrusted", "vehicleType")
_FORMAT_VERSION: Final = {"type": "integer", "minimum": 0, "maximum": 255,
                          "description": "Version du format MSD : gardée dans le journal d’audit"}


def msd_schema() -> dict[str, Any]:
    """The JSON Schema of a decoded MSD: flat, the standard's nested ``MSDMessage``, or its ``{id, msd}`` wrapper.

    Examples
    --------
    >>> flat, nested, wrapped = msd_schema()["anyOf"]
    >>> flat["required"][:2], nested["required"], nested["properties"]["msdStructure"]["required"]
    (['automaticActivation', 'testCall'], ['msdStructure'], ['control', 'timestamp', 'vehicleLocation'])
    >>> wrapped["required"], "msdFormatVersion" in wrapped["properties"]["msd"]["anyOf"][0]["properties"]
    (['msd'], False)
    """
    fields = _msd_properties()
    identifier = incident_schema()["properties"]["id"]
    flat = {"type": "object", "title": "MSD à plat", "additionalProperties": False,
            "required": [*_CONTROL, "timestamp", "vehicleLocation"],
            "properties": {"id": identifier, **fields, "additionalData": _ADDITIONAL_DATA,
                           "optionalAdditionalData": _ADDITIONAL_DATA, "msdFormatVersion": _FORMAT_VERSION}}
    control = {"type": "object", "additionalProperties": False, "required": list(_CONTROL),
               "properties": {name: fields[name] for name in _CONTROL}}
    structure = {"type": "object", "additionalProperties": False,
                 "required": ["control", "timestamp", "vehicleLocation"],
                 "properties": {"control": control, **{name: schema for name, schema in fields.items()
                                                       if name not in _CONTROL}}}
    nested = {"type": "object", "title": "MSDMessage (EN 15722)", "additionalProperties": False,
              "required": ["msdStructure"],
              "properties": {"id": identifier, "msdStructure": structure, "optionalAdditionalData": _ADDITIONAL_DATA}}
    wrapped = {"type": "object", "title": "ECallMessage (EN 15722)", "additionalProperties": False,
               "required": ["msd"],
               "properties": {"id": _FORMAT_VERSION,
                              "msd": {"anyOf": [_inside_wrapper(flat), _inside_wrapper(nested)]}}}
    return {"anyOf": [flat, nested, wrapped], "title": "MSD",
            "description": "Le Minimum Set of Data d’un eCall (EN 15722), décodé en JSON par la téléphonie du centre "
                           "avec les noms de champs de la norme : à plat, imbriqué (msdStructure) ou dans l’enveloppe "
                           "{id, msd} ; « id » est le nôtre, renvoyé tel quel, sauf celui de l’enveloppe (version du "
                           "format)."}


def _inside_wrapper(layout: dict[str, Any]) -> dict[str, Any]:
    """A layout inside the wrapper, which gives the format version itself."""
    return {**layout, "properties": {name: schema for name, schema in layout["properties"].items()
                                     if name != "msdFormatVersion"}}


def msd_body() -> dict[str, Any]:
    """The request body of ``POST /v1/severity/ecall`` for the OpenAPI document."""
    return {"required": True, "content": {"application/json": {
        "schema": msd_schema(),
        "examples": {"ecall": {"summary": "Une voiture à Lyon, déclenchement automatique", "value": EXAMPLE_MSD}}}}}
