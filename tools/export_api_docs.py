"""Write the severity API's documents for integrators: ``docs/openapi.json`` and a Postman collection.

Run from the repository root::

    .venv/bin/python tools/export_api_docs.py           # writes both files
    .venv/bin/python tools/export_api_docs.py --check   # exits 1, naming each stale file

Why a module of its own
-----------------------
Integrators of a dispatch centre read the API before they can run it: the
OpenAPI document and a request collection are committed beside the code, so
they must be written by a tool from the application itself (never by hand),
and a test (``tests/test_api_docs.py``) checks that the committed files are
what this tool writes today. The app is built with its keys and audit files in
a temporary folder and its lifespan never started: the OpenAPI document needs
no model and nothing is written under ``data/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import config  # noqa: E402
from core.api.app import create_app  # noqa: E402
from core.api.docs import EXAMPLE_BATCH, EXAMPLE_INCIDENT, EXAMPLE_MSD  # noqa: E402
from core.api.settings import ApiSettings  # noqa: E402

DOCS_DIR: Final = config.ROOT / "docs"
OPENAPI_FILE: Final = DOCS_DIR / "openapi.json"
POSTMAN_FILE: Final = DOCS_DIR / "gravite.postman_collection.json"
POSTMAN_SCHEMA: Final = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL: Final = "http://127.0.0.1:8000"
#: Routes any caller may use: the collection sends them without the key.
OPEN_ROUTES: Final = frozenset(("/healthz", "/readyz"))
#: The requests of the collection, in order: (method, path, query, body, name when not the route's summary).
REQUESTS: Final[tuple[tuple[str, str, dict[str, str], dict[str, Any] | None, str | None], ...]] = (
    ("POST", "/v1/severity", {}, EXAMPLE_INCIDENT, None),
    ("POST", "/v1/severity", {"factors": "false"}, EXAMPLE_INCIDENT, "Estimer un incident, sans les facteurs"),
    ("POST", "/v1/severity/batch", {}, EXAMPLE_BATCH, None),
    ("POST", "/v1/severity/ecall", {}, EXAMPLE_MSD, None),
    ("GET", "/v1/model", {}, None, None),
    ("POST", "/v1/model/reload", {}, None, None),
    ("GET", "/metrics", {}, None, None),
    ("GET", "/healthz", {}, None, None),
    ("GET", "/readyz", {}, None, None),
)


def render_json(document: Any) -> str:
    """The committed text of a JSON document: two-space indents, UTF-8 as is, the keys in their order, a newline.

    Examples
    --------
    >>> print(render_json({"b": "é", "a": [1]}), end="")
    {
      "b": "é",
      "a": [
        1
      ]
    }
    """
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API, built with its keys and audit files in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="gravite-api-docs-") as folder:
        settings = ApiSettings(keys_file=Path(folder) / "keys.json", audit_file=Path(folder) / "audit.jsonl")
        app = create_app(settings)
        try:
            return app.openapi()
        finally:
            app.state.api.close()


def _url(path: str, query: dict[str, str]) -> dict[str, Any]:
    """A Postman URL on ``{{baseUrl}}``.

    Examples
    --------
    >>> _url("/v1/severity", {"factors": "false"})["raw"]
    '{{baseUrl}}/v1/severity?factors=false'
    """
    raw = "{{baseUrl}}" + path + "".join(f"{'&' if i else '?'}{key}={value}"
                                          for i, (key, value) in enumerate(query.items()))
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": path.strip("/").split("/")}
    if query:
        url["query"] = [{"key": key, "value": value} for key, value in query.items()]
    return url


def postman_request(operation: dict[str, Any], method: str, path: str, query: dict[str, str],
                    body: dict[str, Any] | None, name: str | None = None) -> dict[str, Any]:
    """One item of the collection, named and described from the route's OpenAPI ``operation``.

    Examples
    --------
    >>> item = postman_request({"summary": "Le processus répond"}, "GET", "/healthz", {}, None)
    >>> item["name"], item["request"]["auth"], item["request"]["url"]["raw"]
    ('Le processus répond', {'type': 'noauth'}, '{{baseUrl}}/healthz')
    """
    request: dict[str, Any] = {"method": method, "header": [], "url": _url(path, query)}
    if operation.get("description"):
        request["description"] = operation["description"]
    if path in OPEN_ROUTES:
        request["auth"] = {"type": "noauth"}
    if body is not None:
        request["header"] = [{"key": "Content-Type", "value": "application/json"}]
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2, ensure_ascii=False),
                           "options": {"raw": {"language": "json"}}}
    return {"name": name or operation.get("summary", f"{method} {path}"), "request": request}


def _uncovered(openapi: dict[str, Any]) -> list[str]:
    covered = {(method.lower(), path) for method, path, *_ in REQUESTS}
    return [f"{method.upper()} {path}" for path, operations in openapi["paths"].items()
            for method in operations if (method, path) not in covered]


def postman_collection(openapi: dict[str, Any]) -> dict[str, Any]:
    """The Postman collection (v2.1) of the API: one request per route, with the README's examples.

    Raises
    ------
    ValueError
        When a route of ``openapi`` has no request in :data:`REQUESTS`, or a request no route.
    """
    missing = _uncovered(openapi)
    if missing:
        raise ValueError(f"routes sans requête dans la collection (REQUESTS) : {', '.join(missing)}")
    items = []
    for method, path, query, body, name in REQUESTS:
        operation = openapi["paths"].get(path, {}).get(method.lower())
        if operation is None:
            raise ValueError(f"la collection envoie {method} {path}, que l’API n’a pas")
        items.append(postman_request(operation, method, path, query, body, name))
    info = openapi["info"]
    return {
        "info": {"name": info["title"], "description": info.get("description", ""), "version": info["version"],
                 "schema": POSTMAN_SCHEMA},
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]},
        "variable": [{"key": "baseUrl", "value": BASE_URL, "type": "string"},
                     {"key": "apiKey", "value": "", "type": "string"}],
        "item": items,
    }


def expected_files() -> dict[Path, str]:
    """Each file this tool writes and its text."""
    openapi = openapi_document()
    return {OPENAPI_FILE: render_json(openapi), POSTMAN_FILE: render_json(postman_collection(openapi))}


def stale_files(expected: dict[Path, str]) -> list[Path]:
    """The files whose text on disk is not ``expected`` (missing files included)."""
    return [path for path, text in expected.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    """Write both files, or with ``--check`` say which are stale (exit 1) without writing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file differs, write nothing")
    args = parser.parse_args(argv)
    expected = expected_files()
    if args.check:
        stale = stale_files(expected)
        for path in stale:
            state = "n’est plus à jour" if path.exists() else "est absent"
            print(f"{path.relative_to(config.ROOT)} {state} : lancez python tools/export_api_docs.py",
                  file=sys.stderr)
        return 1 if stale else 0
    DOCS_DIR.mkdir(exist_ok=True)
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
        print(f"écrit {path.relative_to(config.ROOT)} ({len(text.encode()):,} octets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
