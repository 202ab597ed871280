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


class ModelAnswer(_Strict):
    """``GET /v1/model``: the model in service."""

    model_version: str
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
