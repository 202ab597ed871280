"""The API as a user runs it: ``python -m core serve`` on a real uvicorn with two workers, and the keys command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import config
from core.api.audit import AuditLog
from tests.api_support import call, served_api


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=config.ROOT,
                          env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    with served_api(tmp_path_factory.mktemp("served"), workers=2, GRAVITE_API_BODY_TIMEOUT="1") as served:
        yield served


def dev_key(process: subprocess.Popen) -> str:
    for line in process.stderr:
        if line.strip().startswith("grv_"):
            return line.strip()
    raise AssertionError("no development key printed")


def test_served_with_two_workers_a_development_key_and_summed_metrics(server) -> None:
    url, _, process = server
    key = dev_key(process)
    status, answer, headers = call(f"{url}/v1/severity", key=key, body=b'{"dep": "59", "vehicles": [7, 2]}')
    assert status == 200 and answer["request_id"] == headers["x-request-id"] and 0 < answer["p_severe"] < 1
    for _ in range(30):  # several connections: both workers answer some
        call(f"{url}/v1/severity", key=key, body=b'{"atm": 42}')
    metrics = call(f"{url}/metrics", key=key)[1]
    refused = 'gravite_api_requests_total{method="POST",route="/v1/severity",status="422"} '
    assert f"{refused}30.0" in metrics  # every worker's count, summed


def test_a_body_sent_too_slowly_gets_408(server) -> None:
    url, env, process = server
    key = json.loads(Path(env["GRAVITE_API_KEYS_FILE"]).read_text())["keys"][0]
    assert key["name"] == "dev"  # the keys file holds only the hash
    assert "grv_" not in Path(env["GRAVITE_API_KEYS_FILE"]).read_text()
    created = cli("keys", "create", "--name", "lent-a-ecrire", env=env)
    token = created.stdout.strip().splitlines()[-1]
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /v1/severity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"dep\":".encode())
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 408") and '"field":"body"' in reply


def test_keys_command_creates_once_lists_and_revokes(tmp_path: Path) -> None:
    env = {**os.environ, "GRAVITE_API_KEYS_FILE": str(tmp_path / "keys.json")}
    created = cli("keys", "create", "--name", "samu-59", "--role", "operator", env=env)
    assert created.returncode == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("grv_") and key not in (tmp_path / "keys.json").read_text()
    assert oct((tmp_path / "keys.json").stat().st_mode)[-3:] == "600"
    again = cli("keys", "create", "--name", "samu-59", env=env)
    assert again.returncode == 2 and "déjà en service" in again.stderr
    assert cli("keys", "create", "--name", "x y", env=env).returncode == 2
    listed = cli("keys", "list", env=env).stdout
    assert "samu-59" in listed and "operator" in listed and "en service" in listed and key not in listed
    assert cli("keys", "revoke", "samu-59", env=env).returncode == 0
    assert "révoquée" in cli("keys", "list", env=env).stdout
    assert cli("keys", "revoke", "samu-59", env=env).returncode == 2


_WRITER = """
import sys
from pathlib import Path
from core.api.audit import AuditLog
from tests.api_support import call, served_api
log = AuditLog(Path(sys.argv[1]), max_bytes=20_000, backups=1000)
for number in range(int(sys.argv[3])):
    log.write({"writer": sys.argv[2], "number": number, "padding": "x" * 150})
"""


def test_the_audit_log_rotates_by_size_and_loses_no_line_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "3000"], cwd=config.ROOT)
               for name in ("a", "b")]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    files = sorted(tmp_path.glob("audit.jsonl*"))
    assert len(files) > 20  # rotated (6,000 lines of ~200 bytes, 20 kB per file)
    lines = [json.loads(line) for file in files if not file.name.endswith(".lock")
             for line in file.read_text().splitlines()]
    assert sorted((line["writer"], line["number"]) for line in lines) == sorted(
        (name, number) for name in ("a", "b") for number in range(3000))
    log = AuditLog(tmp_path / "small.jsonl", max_bytes=1000, backups=2)
    for number in range(100):
        log.write({"number": number, "padding": "y" * 100})
    kept = sorted(p.name for p in tmp_path.glob("small.jsonl*") if not p.name.endswith(".lock"))
    assert kept == ["small.jsonl", "small.jsonl.1", "small.jsonl.2"]
