"""Refusals of the API: one JSON shape for every status, ``{"error": {"field", "reason"}, "request_id"}``.

Why a module of its own
-----------------------
The command line writes ``{"error": {"field", "reason"}}`` for a line it
refuses; the API must say it the same way whatever refuses the request (its
own checks, FastAPI's query validation, Starlette's 404 and 405; an
unexpected exception is answered by :class:`core.api.app.Observe`), and note the refusal in the request's audit record.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.jsonl import encode_result

_JSON: Final = "application/json"
_HTTP_REASONS: Final = {404: ("path", "route inconnue : voir /docs"),
                        405: ("method", "méthode non admise sur cette route")}


class ApiError(Exception):
    """A refusal: HTTP status, the field at fault and the reason in French."""

    def __init__(self, status: int, field: str, reason: str, *, headers: dict[str, str] | None = None,
                 incident_id: Any = None) -> None:
        super().__init__(f"{status} {field}: {reason}")
        self.status, self.field, self.reason = status, field, reason
        self.headers = headers or {}
        self.incident_id = incident_id


def json_response(content: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Strict JSON in UTF-8 (:func:`core.jsonl.encode_result`, as the command line writes its lines)."""
    return Response(encode_result(content), status_code=status, media_type=_JSON, headers=headers)


def audit_record(request: Request) -> dict[str, Any]:
    """The audit fields of this request, filled in by the routes (kept in the ASGI scope's state)."""
    state = request.scope.setdefault("state", {})
    return state.setdefault("audit", {"request_id": ""})


async def _api_error(request: Request, error: ApiError) -> Response:
    body: dict[str, Any] = {"error": {"field": error.field, "reason": error.reason}}
    if error.incident_id is not None:
        body = {"id": error.incident_id, **body}
    record = audit_record(request)
    record["error"] = body["error"]
    return json_response({**body, "request_id": record["request_id"]}, error.status, error.headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    field, reason = _HTTP_REASONS.get(error.status_code, ("request", str(error.detail)))
    return await _api_error(request, ApiError(error.status_code, field, reason, headers=dict(error.headers or {})))


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return await _api_error(request, ApiError(422, field, f"valeur refusée : {first.get('msg', '')}"))


def install_error_handlers(app: FastAPI) -> None:
    """Make every refusal of ``app`` answer in the one JSON shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
