"""Contract tests of the severity API through FastAPI's TestClient: every route, every status, the CLI's answers."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core import config
from core.api.docs import BatchAnswer, ErrorAnswer, EstimateAnswer, ModelAnswer, ReadyAnswer
from core.api.keys import create_key, revoke_key
from core.features.training import incident_from_row, training_frame
from core.model.loading import load_model
from core.model.risk_bands import band_thresholds
from tests.api_support import ApiUnderTest, api_under_test
from tests.test_features import ACCIDENT_201900000001, ACCIDENT_201900000134, BAD_VALUES


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> ApiUnderTest:
    return api_under_test(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(api: ApiUnderTest):
    with TestClient(api.app) as client:
        yield client


@pytest.fixture(scope="module")
def incidents_2020(store_con) -> list[dict]:
    """1,000 real accidents of 2020 as a caller would describe them, each with an id."""
    frame = training_frame(store_con, first_year=2020, last_year=2020)
    rows = frame.sample(1000, random_state=11).to_dict("records")
    return [{**incident_from_row(row), "id": f"2020-{number}"} for number, row in enumerate(rows)]


def run_cli(*args: str, stdin: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "core", *args], input=stdin, capture_output=True, text=True,
                          cwd=config.ROOT, timeout=600, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def audit_lines(api: ApiUnderTest) -> list[dict]:
    return [json.loads(line) for line in api.settings.audit_file.read_text().splitlines()]


def test_an_incident_gets_the_documented_estimate_with_its_request_id(api, client) -> None:
    response = client.post("/v1/severity", json={**ACCIDENT_201900000134, "id": "appel-1"}, headers=api.auth())
    assert response.status_code == 200
    answer = EstimateAnswer.model_validate(response.json())
    assert answer.id == "appel-1" and answer.request_id == response.headers["x-request-id"]
    assert answer.p_fatal <= answer.p_severe
    assert answer.worst_injury.light + answer.worst_injury.hospitalised + answer.worst_injury.killed == \
        pytest.approx(1, abs=1e-4)
    thresholds = band_thresholds(load_model().card)
    expected_band = "high" if answer.p_severe >= thresholds.high_from else (
        "medium" if answer.p_severe >= thresholds.medium_from else "low")
    assert answer.band.key == expected_band and answer.top_factors


def test_factors_can_be_left_out(api, client) -> None:
    response = client.post("/v1/severity?factors=false", json=ACCIDENT_201900000001, headers=api.auth())
    assert response.status_code == 200 and "top_factors" not in response.json()


def test_each_wrong_field_is_refused_with_the_cli_s_error(api, client) -> None:
    incidents = []
    for field, value in BAD_VALUES:
        incident = {**ACCIDENT_201900000001, "id": field}
        incident[field.split("[")[0]] = value
        incidents.append(incident)
    cli = run_cli("predict", "--no-factors", stdin="\n".join(json.dumps(i) for i in incidents))
    for incident, expected in zip(incidents, cli, strict=True):
        response = client.post("/v1/severity", json=incident, headers=api.auth())
        assert response.status_code == 422, incident
        body = ErrorAnswer.model_validate(response.json())
        assert {"id": body.id, "error": body.error.model_dump()} == expected


def test_broken_json_gets_the_cli_s_reason(api, client) -> None:
    texts = ['{"atm": 2', '{"id": NaN}', "[" * 5000, '{"a": 1} x', "\xff"]
    cli = run_cli("predict", stdin="\n".join(texts) + "\n")
    for number, (text, line) in enumerate(zip(texts, cli, strict=True), start=1):
        response = client.post("/v1/severity", content=text.encode("utf-8", "surrogateescape"), headers=api.auth())
        assert response.status_code == 422 and response.json()["error"]["field"] == "body"
        assert f"ligne {number} : " + response.json()["error"]["reason"] == line["error"]["reason"]
    empty = client.post("/v1/severity", content=b" ", headers=api.auth())
    assert empty.status_code == 422 and "vide" in empty.json()["error"]["reason"]


def test_a_batch_answers_each_incident_in_order(api, client) -> None:
    batch = [ACCIDENT_201900000001, {"atm": 42, "id": "bad"}, [1, 2], {**ACCIDENT_201900000134, "id": 7}]
    response = client.post("/v1/severity/batch", json={"incidents": batch}, headers=api.auth())
    assert response.status_code == 200
    answer = BatchAnswer.model_validate(response.json())
    assert answer.counts.model_dump() == {"predicted": 2, "refused": 2}
    results = response.json()["results"]
    assert results[1] == {"id": "bad", "error": results[1]["error"]} and results[1]["error"]["field"] == "atm"
    assert results[2]["error"]["field"] == "incident"
    assert results[3]["id"] == 7 and "p_severe" in results[0]


def test_api_and_cli_give_the_same_numbers_on_1000_incidents_of_2020(api, client, incidents_2020) -> None:
    cli = run_cli("predict", stdin="\n".join(json.dumps(incident) for incident in incidents_2020))
    response = client.post("/v1/severity/batch", json={"incidents": incidents_2020}, headers=api.auth())
    assert response.status_code == 200
    assert response.json()["results"] == cli
    for incident, expected in zip(incidents_2020[:50], cli, strict=False):
        single = client.post("/v1/severity", json=incident, headers=api.auth()).json()
        single.pop("request_id")
        assert single == expected


def test_model_route_gives_version_years_metrics_and_bands(api, client) -> None:
    response = client.get("/v1/model", headers=api.auth())
    assert response.status_code == 200
    answer = ModelAnswer.model_validate(response.json())
    card = load_model().card
    assert answer.model_version == card.model_version and answer.years.test == card.years.test
    assert answer.metrics.test.severe.auc == card.metrics.test.severe.auc
    thresholds = band_thresholds(card)
    assert [(b.from_, b.to) for b in answer.bands] == [
        (0.0, thresholds.medium_from), (thresholds.medium_from, thresholds.high_from), (thresholds.high_from, 1.0)]


def test_keys_are_required_and_checked(api, client) -> None:
    missing = client.post("/v1/severity", json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["field"] == "Authorization"
    forged = api.operator[:-4] + "AAAA"
    assert client.post("/v1/severity", json={}, headers=api.auth(forged)).status_code == 401
    assert client.post("/v1/severity", json={}, headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/metrics", headers=api.auth()).status_code == 403
    assert client.post("/v1/model/reload", headers=api.auth()).status_code == 403


def test_a_new_key_works_at_once_and_a_revoked_one_is_refused_within_a_second(api, client) -> None:
    key = create_key(api.settings.keys_file, "temporaire", "operator", rate=1e6)
    assert client.post("/v1/severity", json={}, headers=api.auth(key)).status_code == 200
    revoke_key(api.settings.keys_file, "temporaire")
    time.sleep(1.1)
    response = client.post("/v1/severity", json={}, headers=api.auth(key))
    assert response.status_code == 401 and "révoquée" in response.json()["error"]["reason"]


def test_a_key_beyond_its_rate_waits_for_retry_after(api, client) -> None:
    statuses = [client.post("/v1/severity", json={}, headers=api.auth(api.slow)) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    refused = statuses[-1]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    time.sleep(1.0)
    assert client.post("/v1/severity", json={}, headers=api.auth(api.slow)).status_code == 200


def test_limits_of_size(api, client) -> None:
    big = b'{"id": "' + b"x" * (1 << 20) + b'"}'
    assert client.post("/v1/severity", content=big, headers=api.auth()).status_code == 413

    def chunks():  # no Content-Length: the limit holds as the body streams in
        for _ in range(20):
            yield b" " * 65536

    streamed = client.post("/v1/severity", content=chunks(), headers=api.auth())
    assert streamed.status_code == 413 and streamed.json()["error"]["field"] == "body"
    too_many = client.post("/v1/severity/batch", json={"incidents": [{}] * 1001}, headers=api.auth())
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "incidents"
    assert "1001" in too_many.json()["error"]["reason"]


def test_unknown_routes_methods_and_query_values(api, client) -> None:
    assert client.get("/v2/severity", headers=api.auth()).status_code == 404
    assert client.get("/v1/severity", headers=api.auth()).status_code == 405
    wrong = client.post("/v1/severity?factors=peut-etre", json={}, headers=api.auth())
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "factors"


def test_health_readiness_and_metrics(api, client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = ReadyAnswer.model_validate(client.get("/readyz").json())
    assert ready.ready and ready.model_version == load_model().version
    before = client.get("/metrics", headers=api.auth(api.admin)).text
    client.post("/v1/severity", json={}, headers=api.auth())
    after = client.get("/metrics", headers=api.auth(api.admin))
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")

    def served(text: str) -> float:
        line = 'gravite_api_requests_total{method="POST",route="/v1/severity",status="200"} '
        return next((float(row[len(line):]) for row in text.splitlines() if row.startswith(line)), 0.0)

    assert served(after.text) == served(before) + 1
    assert f'gravite_api_model_info{{version="{load_model().version}"}} 1.0' in after.text
    assert 'gravite_api_request_seconds_bucket{le="0.01",route="/v1/severity"}' in after.text


def test_every_request_leaves_one_audit_line_without_key_material(api, client) -> None:
    before = len(audit_lines(api))
    ok = client.post("/v1/severity", json={**ACCIDENT_201900000134, "id": "audit-1"}, headers=api.auth())
    refused = client.post("/v1/severity", json={"atm": 42}, headers=api.auth())
    client.post("/v1/severity", json={}, headers=api.auth(api.operator + "x"))
    client.get("/healthz")
    lines = audit_lines(api)[before:]
    assert [line["status"] for line in lines] == [200, 422, 401]
    assert lines[0]["request_id"] == ok.json()["request_id"] and lines[0]["key"] == "samu-59"
    assert lines[0]["incident"]["id"] == "audit-1" and lines[0]["incident"]["vehicles"] == [7]
    assert lines[0]["result"]["p_severe"] == ok.json()["p_severe"] and lines[0]["model_version"]
    assert lines[0]["result"]["factors"] == [[f["field"], f["effect"]] for f in ok.json()["top_factors"]]
    assert "atm" in lines[0]["incident"] and "id" in lines[0]["incident"] and "n_pedestrians" in lines[0]["incident"]
    assert lines[1]["error"] == refused.json()["error"] and lines[2]["key"] is None
    text = api.settings.audit_file.read_text()
    for key in (api.operator, api.admin, api.slow):
        assert key.split("_", 2)[2] not in text


def test_reload_refuses_a_broken_model_and_keeps_serving(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(config.MODELS_DIR, models)
    api = api_under_test(tmp_path, models_dir=models)
    with TestClient(api.app) as client:
        assert client.post("/v1/model/reload", headers=api.auth(api.admin)).json()["reloaded"] is True
        card = json.loads((models / "severity_card.json").read_text())
        card["files"] = {name: "0" * 64 for name in card["files"]}
        (models / "severity_card.json").write_text(json.dumps(card))
        refused = client.post("/v1/model/reload", headers=api.auth(api.admin))
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "model"
        assert "changed since the card was written" in refused.json()["error"]["reason"]
        assert client.post("/v1/severity", json={}, headers=api.auth()).status_code == 200


def test_without_a_model_or_a_key_the_api_is_not_ready(tmp_path: Path) -> None:
    api = api_under_test(tmp_path, models_dir=tmp_path / "nothing")
    with TestClient(api.app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "make train" in ready.json()["checks"]["model"]
        assert client.post("/v1/severity", json={}, headers=api.auth()).status_code == 503
    api_without_keys = api_under_test(tmp_path / "c")
    api_without_keys.settings.keys_file.unlink()
    with TestClient(api_without_keys.app) as client:
        assert client.get("/readyz").status_code == 503


def test_a_broken_keys_file_keeps_the_last_good_keys_in_service(tmp_path: Path) -> None:
    api = api_under_test(tmp_path)
    with TestClient(api.app) as client:
        good = api.settings.keys_file.read_text()
        api.settings.keys_file.write_text(good[: len(good) // 2])  # half-written by hand
        time.sleep(1.1)
        assert client.post("/v1/severity", json={}, headers=api.auth()).status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200 and "illisible" in ready.json()["checks"]["keys"]
        api.settings.keys_file.write_text(good.replace('"operator"', '"root"', 1))  # a role this code ignores
        time.sleep(1.1)
        assert "rôle inconnu" in client.get("/readyz").json()["checks"]["keys"]
        api.settings.keys_file.write_text(good)
        time.sleep(1.1)
        assert client.get("/readyz").json()["checks"]["keys"] == "ok"


def test_a_client_leaving_mid_body_is_recorded_as_499_not_as_a_server_error(api, client) -> None:
    before = len(audit_lines(api))
    messages = iter([{"type": "http.request", "body": b'{"dep": ', "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/severity", "raw_path": b"/v1/severity", "query_string": b"", "root_path": "",
             "headers": [(b"authorization", f"Bearer {api.operator}".encode())], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80), "app": api.app}
    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever loop this thread already runs
        thread.submit(asyncio.run, api.app(scope, receive, send)).result()
    assert sent == []
    line = audit_lines(api)[before]
    assert line["status"] == 499 and line["key"] == "samu-59" and line["error"]["field"] == "body"


def test_probes_answer_head_and_odd_methods_add_no_metric_series(api, client) -> None:
    assert client.head("/healthz").status_code == 200 and client.head("/readyz").status_code == 200
    for method in ("PURGE", "MKCOL", "FOO1"):
        assert client.request(method, "/v1/severity", headers=api.auth()).status_code in (404, 405)
    metrics = client.get("/metrics", headers=api.auth(api.admin)).text
    assert "PURGE" not in metrics and "FOO1" not in metrics and 'method="other"' in metrics
