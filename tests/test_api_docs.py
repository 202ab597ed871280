"""The integrators' documents of the API: the committed files are today's, and every example is answered.

``docs/openapi.json`` and the Postman collection must be what
``tools/export_api_docs.py`` writes from the code now; every curl command of the
README's "API" section and every request of the collection is sent, as written,
to the real application (FastAPI's TestClient, the committed model loaded) and
must get 200.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from core import config
from core.api.app import create_app
from core.api.docs import EXAMPLE_BATCH, EXAMPLE_INCIDENT, EXAMPLE_MSD
from core.api.keys import create_key
from core.api.settings import ApiSettings
from tools import export_api_docs

README = config.ROOT / "README.md"
KEY_VARIABLE = "$GRAVITE_KEY"


@dataclass
class Curl:
    """One curl command of the README."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def api_section(text: str) -> str:
    """The README's "## API" section, up to the next section of the same level."""
    start = text.index("\n## API\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def _split(command: str) -> list[str]:
    lexer = shlex.shlex(command.replace("\\\n", ""), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def shell_commands(block: str) -> list[list[str]]:
    """The commands of a sh block as words: continued lines and quotes spanning lines joined, comments dropped."""
    commands, pending = [], ""
    for line in block.splitlines():
        pending += line + "\n"
        if pending.endswith("\\\n"):
            continue
        try:
            words = _split(pending)
        except ValueError:  # a quote still open: the command goes on
            continue
        if words:
            commands.append(words)
        pending = ""
    assert not pending.strip(), f"command left unfinished in the README: {pending!r}"
    return commands


def parse_curl(words: list[str]) -> Curl:
    """The method, address, headers and body of ``curl [-s] [-X M] [-H H]… [-d BODY] URL``."""
    method, url, headers, body = None, None, {}, None
    rest = iter(words[1:])
    for word in rest:
        if word == "-s":
            continue
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(rest)
        elif word.startswith("http"):
            url = word
        else:
            raise AssertionError(f"curl option this test does not read: {word} in {words}")
    assert url is not None, f"curl command without an address: {words}"
    return Curl(method or ("POST" if body is not None else "GET"), url, headers, body)


def readme_curls(text: str) -> list[Curl]:
    """Every curl command in the sh blocks of the README's API section."""
    blocks = re.findall(r"```sh\n(.*?)```", api_section(text), flags=re.S)
    return [parse_curl(words) for block in blocks for words in shell_commands(block) if words[0] == "curl"]


def send_curl(client: TestClient, curl: Curl, key: str) -> Any:
    """Send ``curl`` to the app as curl would, the test's key in place of ``$GRAVITE_KEY``."""
    assert urlsplit(curl.url).netloc == "127.0.0.1:8000", curl.url
    headers = {name: value.replace(KEY_VARIABLE, key) for name, value in curl.headers.items()}
    content = curl.body.encode() if curl.body is not None else None
    return client.request(curl.method, curl.target, headers=headers, content=content)


def send_postman(client: TestClient, item: dict[str, Any], key: str) -> Any:
    """Send one request of the collection as Postman would, with ``{{apiKey}}`` set to the test's key."""
    request = item["request"]
    target = request["url"]["raw"].replace("{{baseUrl}}", "")
    headers = {header["key"]: header["value"] for header in request["header"]}
    if request.get("auth", {}).get("type") != "noauth":
        headers["Authorization"] = f"Bearer {key}"
    body = request.get("body", {}).get("raw")
    return client.request(request["method"], target, headers=headers,
                          content=body.encode() if body is not None else None)


CURLS = readme_curls(README.read_text(encoding="utf-8"))
COLLECTION = json.loads(export_api_docs.POSTMAN_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real app with the committed model loaded, its files in a temporary folder, and an admin key."""
    folder: Path = tmp_path_factory.mktemp("api")
    app = create_app(ApiSettings(keys_file=folder / "keys.json", audit_file=folder / "audit.jsonl"))
    key = create_key(folder / "keys.json", "t", "admin", rate=1e6)
    with TestClient(app) as client:
        yield client, key


# --- the committed files ---------------------------------------------------------------------------------------

def test_committed_documents_are_what_the_tool_writes() -> None:
    stale = export_api_docs.stale_files(export_api_docs.expected_files())
    assert not stale, f"stale: {[str(path) for path in stale]}; run python tools/export_api_docs.py"


def test_check_finds_a_stale_and_a_missing_file(tmp_path: Path) -> None:
    text = export_api_docs.OPENAPI_FILE.read_text(encoding="utf-8")
    changed, missing = tmp_path / "openapi.json", tmp_path / "absent.json"
    changed.write_text(text.rstrip("\n"), encoding="utf-8")
    assert export_api_docs.stale_files({changed: text, missing: text}) == [changed, missing]
    assert export_api_docs.main(["--check"]) == 0


def test_the_collection_has_one_request_per_route_and_no_other() -> None:
    openapi = json.loads(export_api_docs.OPENAPI_FILE.read_text(encoding="utf-8"))
    sent = {(item["request"]["method"], item["request"]["url"]["raw"].split("?")[0].replace("{{baseUrl}}", ""))
            for item in COLLECTION["item"]}
    assert sent == {(method.upper(), path) for path, operations in openapi["paths"].items() for method in operations}
    assert COLLECTION["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    assert {variable["key"] for variable in COLLECTION["variable"]} == {"baseUrl", "apiKey"}
    with pytest.raises(ValueError, match="GET /v1/new"):
        export_api_docs.postman_collection({**openapi, "paths": {**openapi["paths"], "/v1/new": {"get": {}}}})


# --- the README's examples ------------------------------------------------------------------------------------

def test_the_readme_shows_every_route_and_the_examples_of_the_code() -> None:
    openapi = json.loads(export_api_docs.OPENAPI_FILE.read_text(encoding="utf-8"))
    shown = {(curl.method, urlsplit(curl.url).path) for curl in CURLS}
    assert shown == {(method.upper(), path) for path, operations in openapi["paths"].items() for method in operations}
    bodies = {curl.target: json.loads(curl.body) for curl in CURLS if curl.body is not None}
    assert bodies == {"/v1/severity": EXAMPLE_INCIDENT, "/v1/severity?factors=false": EXAMPLE_INCIDENT,
                      "/v1/severity/batch": EXAMPLE_BATCH, "/v1/severity/ecall": EXAMPLE_MSD}


@pytest.mark.parametrize("curl", CURLS, ids=[f"{curl.method} {curl.target}" for curl in CURLS])
def test_each_readme_curl_is_answered(served: Any, curl: Curl) -> None:
    client, key = served
    response = send_curl(client, curl, key)
    assert response.status_code == 200, response.text
    if curl.target.startswith("/v1/severity/batch"):
        assert response.json()["counts"] == {"predicted": 2, "refused": 1}
    elif curl.target.startswith("/v1/severity/ecall"):
        assert response.json()["estimate"]["id"] == "ecall-0042"
    elif curl.target.startswith("/v1/severity"):
        assert response.json()["id"] == "appel-0042"


def test_a_refused_readme_body_would_be_seen(served: Any) -> None:
    client, key = served
    block = """curl -s http://127.0.0.1:8000/v1/severity -H "Authorization: Bearer $GRAVITE_KEY" \\
  -d '{"id": "appel-0044",
       "atm": 42}'  # a wrong weather code
"""
    [curl] = [parse_curl(words) for words in shell_commands(block)]
    response = send_curl(client, curl, key)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "atm"


def test_the_readme_answer_is_the_real_one(served: Any) -> None:
    client, key = served
    section = api_section(README.read_text(encoding="utf-8"))
    shown = json.loads(re.search(r"The answer to the first call.*?```json\n(.*?)```", section, flags=re.S)[1])
    real = client.post("/v1/severity", json=EXAMPLE_INCIDENT, headers={"Authorization": f"Bearer {key}"}).json()
    assert shown.keys() == real.keys()
    factors = shown.pop("top_factors")
    assert factors == real["top_factors"][:len(factors)]
    assert {name: value for name, value in shown.items() if name != "request_id"} == {
        name: real[name] for name in shown if name != "request_id"}


# --- the collection's requests --------------------------------------------------------------------------------

@pytest.mark.parametrize("item", COLLECTION["item"], ids=[item["name"] for item in COLLECTION["item"]])
def test_each_postman_request_is_answered(served: Any, item: dict[str, Any]) -> None:
    client, key = served
    response = send_postman(client, item, key)
    assert response.status_code == 200, response.text
    body = item["request"].get("body")
    if body is not None:
        assert json.loads(body["raw"]) in (EXAMPLE_INCIDENT, EXAMPLE_BATCH, EXAMPLE_MSD)
