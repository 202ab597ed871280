"""The routes of the severity API: thin, each over the same prediction path as the command line.

Why a module of its own
-----------------------
Each route reads the body within the limits (:func:`read_body`), decodes it as
the CLI decodes a line (:func:`core.jsonl.decode_document`), validates and
predicts with :func:`core.model.predict.predict_many` (the one parser and
feature builder of every door), shapes the answer with
:func:`core.dispatch.answer.machine_answer` and writes it with orjson. The
key, its role and its rate are checked by the :data:`Operator` and
:data:`Admin` dependencies; what a route learns goes into its audit record.
The eCall route reads a decoded MSD instead, maps it with
:func:`core.ecall.mapping.incident_from_msd` and answers with
:func:`core.dispatch.ecall.ecall_answer` (the same prediction path beneath).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from core import config
from core.api.audit import audit_answer, audit_incident, audit_msd
from core.api.docs import (
    BatchAnswer,
    EcallAnswer,
    ErrorAnswer,
    EstimateAnswer,
    HealthAnswer,
    ModelAnswer,
    ReadyAnswer,
    batch_body,
    incident_body,
    msd_body,
)
from core.api.errors import ApiError, audit_record, json_response
from core.api.keys import ApiKey
from core.api.limits import retry_after
from core.api.metrics import CONTENT_TYPE
from core.api.settings import ApiSettings
from core.api.state import ApiState
from core.dispatch.answer import machine_answer
from core.dispatch.ecall import ecall_answer
from core.ecall.mapping import incident_from_msd
from core.incident.fields import IncidentError
from core.jsonl import decode_document, predict_safely
from core.model.predict import predict_many

router = APIRouter()
_bearer = HTTPBearer(auto_error=False, scheme_name="cle_api",
                     description="Clé d’API : `python -m core keys create --name NOM --role operator`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorAnswer} for status in (401, 403, 408, 413, 422, 429, 503)}


def _state(request: Request) -> ApiState:
    return request.app.state.api


def _authorise(request: Request, credentials: HTTPAuthorizationCredentials | None, role: str) -> ApiKey:
    """The key of the request if it may use a route of ``role`` now: else 401, 403 or 429."""
    state = _state(request)
    if credentials is None:
        raise ApiError(401, "Authorization", "clé d’API absente : en-tête « Authorization: Bearer <clé> »",
                       headers={"WWW-Authenticate": "Bearer"})
    key = state.keys.find(credentials.credentials)
    if key is None:
        raise ApiError(401, "Authorization", "clé d’API inconnue ou révoquée", headers={"WWW-Authenticate": "Bearer"})
    audit_record(request)["key"] = key.name
    if not key.allows(role):
        raise ApiError(403, "Authorization", f"la clé « {key.name} » (rôle {key.role}) n’ouvre pas cette route : "
                                             f"rôle {role} requis")
    rate = key.rate or state.settings.rate
    wait = state.limiter.wait(key.name, rate)
    if wait > 0:
        raise ApiError(429, "Authorization", f"plus de {rate:g} requêtes par seconde pour cette clé : "
                                             "réessayez après Retry-After secondes",
                       headers={"Retry-After": retry_after(wait)})
    return key


async def _operator(request: Request, credentials: Credentials) -> ApiKey:  # async: no thread hop
    return _authorise(request, credentials, "operator")


async def _admin(request: Request, credentials: Credentials) -> ApiKey:
    return _authorise(request, credentials, "admin")


#: A route any key in service may use (estimates, the model), and one for admins only.
Operator = Annotated[ApiKey, Depends(_operator)]
Admin = Annotated[ApiKey, Depends(_admin)]


async def read_body(request: Request, settings: ApiSettings) -> bytes:
    """The request's body: 413 past ``max_body_bytes`` (never read whole), 408 when it comes too slowly."""
    limit = settings.max_body_bytes
    too_big = f"corps de plus de {limit:,} octets : au plus {limit:,} octets".replace(",", "\u202f")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ApiError(413, "body", too_big)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "body", too_big)
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, "body", f"corps non reçu en entier en {settings.body_timeout:g} s",
                       headers={"Connection": "close"}) from None  # the rest of the body must not be read as a request
    return b"".join(chunks)


def _decoded(raw: bytes) -> Any:
    try:
        return decode_document(raw, "body")
    except IncidentError as error:
        raise ApiError(422, error.field, error.reason) from None


def _batch_incidents(body: Any, max_batch: int) -> list[Any]:
    if not isinstance(body, dict) or "incidents" not in body:
        raise ApiError(422, "incidents", "attendu un objet {\"incidents\": [ … ]}, un incident par élément")
    unknown = next((key for key in body if key != "incidents"), None)
    if unknown is not None:
        raise ApiError(422, str(unknown)[:40], "champ inconnu ; seul « incidents » est admis")
    incidents = body["incidents"]
    if not isinstance(incidents, list):
        raise ApiError(422, "incidents", "attendu une liste d’incidents")
    if len(incidents) > max_batch:
        raise ApiError(422, "incidents", f"{len(incidents)} incidents : au plus {max_batch} par lot")
    return incidents


@router.post("/v1/severity", tags=["estimation"], response_model=None, summary="Estimer un incident",
             openapi_extra={"requestBody": incident_body()}, responses={200: {"model": EstimateAnswer}, **_ERRORS})
async def severity(request: Request, key: Operator, factors: bool = True) -> Response:
    """One incident (the fields of `python -m core predict`) → its estimate, or 422 naming the wrong field."""
    state = _state(request)
    raw = await read_body(request, state.settings)
    served = state.served()
    incident = _decoded(raw)
    kept: list[dict[str, Any] | None] = []
    result = machine_answer(predict_many(served.model, [incident], explain=factors, parsed_out=kept)[0],
                            served.thresholds)
    record = audit_record(request)
    record.update(model_version=served.version, incident=audit_incident(kept[0]))
    if "error" in result:
        state.metrics.count_incidents(0, 1)
        raise ApiError(422, result["error"]["field"], result["error"]["reason"], incident_id=result.get("id"))
    state.metrics.count_incidents(1, 0)
    record["result"] = audit_answer(result)
    return json_response({**result, "request_id": record["request_id"]})


@router.post("/v1/severity/batch", tags=["estimation"], response_model=None, summary="Estimer un lot d’incidents",
             openapi_extra={"requestBody": batch_body(ApiSettings.max_batch)},
             responses={200: {"model": BatchAnswer}, **_ERRORS})
async def severity_batch(request: Request, key: Operator, factors: bool = True) -> Response:
    """Up to 1,000 incidents → one estimate or one error per incident, in order (200 even if some are refused)."""
    state = _state(request)
    raw = await read_body(request, state.settings)
    served = state.served()
    incidents = _batch_incidents(_decoded(raw), state.settings.max_batch)
    kept: list[dict[str, Any] | None] = []

    def predict(values: Any) -> list[dict[str, Any]]:
        validated: list[dict[str, Any] | None] = []
        try:
            results = predict_many(served.model, values, explain=factors, parsed_out=validated)
        except Exception:
            if len(values) == 1:  # retried alone by predict_safely: its place in the audit stays
                kept.append(None)
            raise
        kept.extend(validated)
        return results

    results = [machine_answer(result, served.thresholds) for result in predict_safely(predict, incidents)]
    refused = sum("error" in result for result in results)
    state.metrics.count_incidents(len(results) - refused, refused)
    record = audit_record(request)
    record.update(model_version=served.version, incidents=[audit_incident(parsed) for parsed in kept],
                  results=[audit_answer(result) for result in results])
    return json_response({"request_id": record["request_id"], "model_version": served.version, "results": results,
                          "counts": {"predicted": len(results) - refused, "refused": refused}})


@router.post("/v1/severity/ecall", tags=["estimation"], response_model=None,
             summary="Estimer un message eCall (MSD EN 15722)", openapi_extra={"requestBody": msd_body()},
             responses={200: {"model": EcallAnswer}, **_ERRORS})
async def severity_ecall(request: Request, key: Operator, factors: bool = True) -> Response:
    """A vehicle's eCall MSD, decoded as JSON → the estimate of its incident and what the message told.

    A test call gets no estimate (`estimate: null`, `ecall.note`); a wrong message 422 naming its field by path.
    """
    state = _state(request)
    raw = await read_body(request, state.settings)
    served = state.served()
    message = _decoded(raw)
    try:  # about 0.2 ms: inline, as the other routes predict (the outlines and points are read at worker start)
        ecall = incident_from_msd(message)
    except IncidentError as error:
        state.metrics.count_incidents(0, 1)
        raise ApiError(422, error.field, error.reason) from None
    kept: list[dict[str, Any] | None] = []
    answer = ecall_answer(served.model, ecall, served.thresholds, explain=factors, parsed_out=kept)
    estimate = answer["estimate"]
    record = audit_record(request)
    record.update(model_version=served.version, msd=audit_msd(message),
                  incident=audit_incident(kept[0]) if kept else None)
    if estimate is not None and "error" in estimate:  # the mapping writes valid fields: not expected
        state.metrics.count_incidents(0, 1)
        raise ApiError(422, estimate["error"]["field"], estimate["error"]["reason"], incident_id=estimate.get("id"))
    if estimate is not None:  # a test call is neither estimated nor refused
        state.metrics.count_incidents(1, 0)
    record["result"] = None if estimate is None else audit_answer(estimate)
    return json_response({**answer, "request_id": record["request_id"], "model_version": served.version})


@router.get("/v1/model", tags=["modèle"], response_model=None, summary="Le modèle en service",
            responses={200: {"model": ModelAnswer}, **_ERRORS})
async def model(request: Request, key: Operator) -> Response:
    """Version, years of data, test-year and validation metrics, bands and their cut-offs."""
    served = _state(request).served()
    record = audit_record(request)
    record["model_version"] = served.version
    return json_response({**served.summary, "request_id": record["request_id"]})


@router.post("/v1/model/reload", tags=["modèle"], response_model=None, summary="Recharger le modèle (admin)",
             responses={200: {"model": ModelAnswer}, 409: {"model": ErrorAnswer}, **_ERRORS})
async def reload(request: Request, key: Admin) -> Response:
    """Load the model of models/ in every worker (within a second); one failing its checks is refused (409)."""
    state = _state(request)
    try:
        served = await run_in_threadpool(state.service.reload)  # requests go on meanwhile
    except (FileNotFoundError, ValueError) as error:
        raise ApiError(409, "model", f"modèle refusé, celui en service reste : {error}") from None
    state.metrics.serving(served.version)
    record = audit_record(request)
    record["model_version"] = served.version
    return json_response({**served.summary, "request_id": record["request_id"], "reloaded": True})


@router.get("/metrics", tags=["exploitation"], response_model=None, summary="Métriques Prometheus (admin)",
            responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}, **_ERRORS})
async def metrics(request: Request, key: Admin) -> Response:
    """Requests by route and status, latency histogram, incidents, model version (every worker's, summed)."""
    return Response(_state(request).metrics.render(), media_type=CONTENT_TYPE)


@router.head("/healthz", include_in_schema=False)  # some load balancers probe with HEAD
@router.get("/healthz", tags=["exploitation"], response_model=None, summary="Le processus répond",
            responses={200: {"model": HealthAnswer}})
async def healthz() -> Response:
    """Always 200 while the process answers (no key needed)."""
    return json_response({"status": "ok"})


@router.head("/readyz", include_in_schema=False)
@router.get("/readyz", tags=["exploitation"], response_model=None, summary="Prêt à estimer",
            responses={200: {"model": ReadyAnswer}, 503: {"model": ReadyAnswer}})
async def readyz(request: Request) -> Response:
    """200 when the model is loaded and checked and a key is in service, else 503 with what is missing.

    A keys file that cannot be read (the last good keys stay in service) and audit lines that could not be
    written are said in ``checks`` without making the worker unready: estimates go on.
    """
    state = _state(request)
    served = state.service.current()
    state.keys.refresh()
    keys = "ok" if not state.keys.empty else "aucune clé en service : python -m core keys create"
    if state.keys.error:
        keys = f"{state.keys.error} : les clés lues avant restent en service ({keys})"
    audit = state.audit
    checks = {
        "model": f"ok ({served.version})" if served else f"absent : {state.service.error or 'chargement'}",
        "keys": keys,
        "audit": "ok" if not audit.failures else f"{audit.failures} lignes non écrites ({audit.last_error})",
        "store": ("présent" if (config.parquet_dir() / config.ACCIDENTS_FILE).exists()
                  else "absent (inutile pour estimer)"),
    }
    ready = served is not None and not state.keys.empty
    return json_response({"ready": ready, "model_version": served.version if served else None, "checks": checks},
                         200 if ready else 503)
