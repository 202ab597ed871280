"""The severity API's application: FastAPI with its routes, error shape and request observer.

Why a module of its own
-----------------------
``create_app`` is what uvicorn starts in each worker (``factory=True``) and
what the tests drive with FastAPI's TestClient, so everything one worker
needs is put together here: its :class:`~core.api.state.ApiState`, the routes
(:mod:`core.api.routes`), the one error shape (:mod:`core.api.errors`) and
:class:`Observe`, a pure ASGI middleware (no per-request task, unlike
Starlette's ``BaseHTTPMiddleware``) that gives each request its id, counts
and times it and writes its audit line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.requests import ClientDisconnect
from starlette.staticfiles import StaticFiles

from core.api.errors import install_error_handlers
from core.api.routes import router
from core.api.settings import ApiSettings
from core.api.state import ApiState
from core.jsonl import encode_result

API_VERSION: Final = "1.0.0"
#: Paths counted under their own name in the metrics and the audit (anything else is "other").
ROUTES: Final = frozenset(route.path for route in router.routes) | {"/docs", "/openapi.json"}
#: Swagger UI's files, served by the API itself so that /docs works without the internet (no CDN).
DOCS_ASSETS: Final = Path(fastapi_offline.__file__).parent / "static"
_ASSETS_PATH: Final = "/docs-assets"


def _audited(path: str) -> bool:
    """Probes and documentation carry neither key nor incident: they write no audit line."""
    return path not in ("/healthz", "/readyz", "/docs", "/openapi.json") and not path.startswith(_ASSETS_PATH)


#: Methods counted under their own name in the metrics (any other is "other": a client cannot add series).
_METHODS: Final = frozenset(("GET", "POST", "HEAD"))
#: Status recorded for a client that left before its request was read (nothing is sent), as nginx writes it.
CLIENT_CLOSED: Final = 499
_INTERNAL: Final = "erreur interne : signalez-la avec le request_id (détail dans le journal du serveur)"
_logger = logging.getLogger("gravite.api")


class Observe:
    """Pure ASGI middleware: request id (body and ``X-Request-ID``), metrics, latency, audit line.

    It also answers an unexpected exception itself (JSON 500 with the request's
    id, traceback to the server's log), and records a client that hung up in
    the middle of its body as 499 with nothing sent.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], state: ApiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = uuid.uuid4().hex
        record: dict[str, Any] = {"request_id": request_id}
        scope.setdefault("state", {})["audit"] = record
        status: int | None = None
        recorded = False
        header = (b"x-request-id", request_id.encode())

        def done(final_status: int) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(scope, record, final_status, time.perf_counter() - start)

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            elif not message.get("more_body") and status is not None:
                done(status)  # before the last bytes leave, so that a scrape right after the answer counts it
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            record["error"] = {"field": "body", "reason": "client parti avant la fin de sa requête"}
            done(CLIENT_CLOSED)
        except Exception:
            _logger.exception("request %s failed", request_id)
            record["error"] = {"field": "server", "reason": _INTERNAL}
            if status is None:
                body = encode_result({"error": record["error"], "request_id": request_id})
                await send_with_id({"type": "http.response.start", "status": 500,
                                    "headers": [(b"content-type", b"application/json"),
                                                (b"content-length", str(len(body)).encode())]})
                await send_with_id({"type": "http.response.body", "body": body})
        finally:
            done(status or 500)

    def _record(self, scope: dict[str, Any], record: dict[str, Any], status: int, seconds: float) -> None:
        path, method = scope["path"], scope["method"]
        route = path if path in ROUTES else "other"
        self.state.metrics.observe(route, method if method in _METHODS else "other", status, seconds)
        if not _audited(path):
            return
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "key": None, **record,
                "method": method[:16], "route": route, "status": status, "latency_ms": round(seconds * 1e3, 3)}
        if route == "other":
            line["path"] = path[:200]
        if not self.state.audit.write(line):
            self.state.metrics.audit_failures.inc()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API, with its settings (default: from the environment, see :class:`ApiSettings`)."""
    state = ApiState(settings or ApiSettings.from_env())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.start()
        following = asyncio.create_task(state.service.follow())
        yield
        following.cancel()
        state.close()

    app = FastAPI(title="Gravité — API de gravité des accidents", version=API_VERSION, lifespan=lifespan,
                  description=DESCRIPTION, openapi_tags=TAGS, docs_url=None, redoc_url=None)
    app.state.api = state
    app.include_router(router)
    app.mount(_ASSETS_PATH, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} — documentation",
                                   swagger_js_url=f"{_ASSETS_PATH}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{_ASSETS_PATH}/swagger-ui.css",
                                   swagger_favicon_url=f"{_ASSETS_PATH}/favicon.png")

    install_error_handlers(app)
    app.add_middleware(Observe, state=state)
    return app


DESCRIPTION: Final = """\
Estimation de la gravité d’un accident corporel de la route à partir de ce que l’appelant rapporte
(codes du fichier BAAC de l’ONISR) : probabilité d’au moins un tué ou blessé hospitalisé, d’au moins un tué,
bande de risque, principaux facteurs et nombre d’accidents passés comparables. Même modèle, mêmes règles et
mêmes réponses que `python -m core predict`.

Authentification : `Authorization: Bearer <clé>` (rôle `operator` pour estimer et lire le modèle,
`admin` aussi pour `/metrics` et le rechargement). Limites : corps ≤ 1 Mio (413), lot ≤ 1 000 incidents (422),
débit par clé (429 avec `Retry-After`). Toute erreur : `{"error": {"field", "reason"}, "request_id"}`.
"""
TAGS: Final = [
    {"name": "estimation", "description": "Probabilités de gravité d’un incident ou d’un lot"},
    {"name": "modèle", "description": "Le modèle en service : version, métriques, bandes"},
    {"name": "exploitation", "description": "Santé, disponibilité et métriques du service"},
]
