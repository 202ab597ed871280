"""The API as a user runs it: ``python -m core serve`` on a real uvicorn with two workers, and the keys command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import config
from core.api.audit import AuditLog
from tests.api_support import SERVER_LOG, call, served_api


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=config.ROOT,
                          env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    with served_api(tmp_path_factory.mktemp("served"), workers=2, GRAVITE_API_BODY_TIMEOUT="1") as served:
        yield served


def dev_key(env: dict[str, str]) -> str:
    log = Path(env["GRAVITE_API_KEYS_FILE"]).with_name(SERVER_LOG).read_text()
    keys = [line.strip() for line in log.splitlines() if line.strip().startswith("grv_")]
    assert len(keys) == 1, "the development key is printed once"
    return keys[0]


def test_served_with_two_workers_a_development_key_and_summed_metrics(server) -> None:
    url, env, _ = server
    key = dev_key(env)
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
        reply = b""
        while chunk := sock.recv(65536):  # the server closes the connection after a 408
            reply += chunk
    text = reply.decode()
    assert text.startswith("HTTP/1.1 408") and "connection: close" in text.lower() and '"field":"body"' in text


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
import sys, time
from pathlib import Path
from core.api.audit import AuditLog
log = AuditLog(Path(sys.argv[1]), max_bytes=20_000, backups=0)
pause = float(sys.argv[4])
for number in range(int(sys.argv[3])):
    log.write({"writer": sys.argv[2], "number": number, "padding": "x" * 150})
    time.sleep(pause)
"""


def test_the_audit_log_rotates_by_size_and_loses_no_line_of_a_busy_or_a_quiet_worker(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, count, pause], cwd=config.ROOT)
               for name, count, pause in (("busy", "6000", "0"), ("quiet", "40", "0.05"))]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    files = [file for file in tmp_path.glob("audit.jsonl*") if not file.name.endswith(".lock")]
    assert len(files) > 40  # rotated (6,000 lines of ~200 bytes, 20 kB per file), every rotated file kept
    lines = [json.loads(line) for file in files for line in file.read_text().splitlines()]
    assert sorted((line["writer"], line["number"]) for line in lines) == sorted(
        [("busy", number) for number in range(6000)] + [("quiet", number) for number in range(40)])


def test_the_audit_log_keeps_the_newest_files_and_survives_a_failing_disk(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "small.jsonl", max_bytes=1000, backups=2)
    for number in range(100):
        log.write({"number": number, "padding": "y" * 100})
    rotated = log.rotated()
    assert len(rotated) == 2 and (tmp_path / "small.jsonl").exists()
    kept = [json.loads(line)["number"] for file in [*rotated, tmp_path / "small.jsonl"]
            for line in file.read_text().splitlines()]
    assert kept == list(range(kept[0], 100))  # the newest lines, in order, none lost inside the window
    full = AuditLog(tmp_path / "full.jsonl", max_bytes=10 ** 9, backups=0)
    disk_full = os.open("/dev/full", os.O_WRONLY)  # the log's descriptor now writes to a disk that is full
    os.dup2(disk_full, full._fd)
    os.close(disk_full)
    assert full.write({"number": 1}) is False and full.write({"number": 2}) is False
    assert full.failures == 2 and "No space left" in (full.last_error or "")


def test_a_second_server_on_the_same_port_is_refused(server) -> None:
    url, env, _ = server
    port = url.rsplit(":", 1)[1]
    second = subprocess.run([sys.executable, "-m", "core", "serve", "--port", port, "--workers", "2"],
                            capture_output=True, text=True, cwd=config.ROOT, env=env, timeout=60, check=False)
    assert second.returncode == 2 and "erreur" in second.stderr and "Address already in use" in second.stderr


def test_a_broken_keys_file_is_said_before_serving(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"version": 1, "keys": [{"name": "x"')
    env = {**os.environ, "GRAVITE_API_KEYS_FILE": str(keys), "GRAVITE_API_AUDIT_FILE": str(tmp_path / "a.jsonl")}
    done = subprocess.run([sys.executable, "-m", "core", "serve", "--port", "1", "--workers", "2"],
                          capture_output=True, text=True, cwd=config.ROOT, env=env, timeout=60, check=False)
    assert done.returncode == 2 and "fichier de clés" in done.stderr and "illisible" in done.stderr


def test_workers_stop_with_their_supervisor_even_when_it_is_killed(tmp_path: Path) -> None:
    with served_api(tmp_path, workers=2) as (_, _, process):
        workers = [pid for pid in _children(process.pid) if b"resource_tracker" not in _cmdline(pid)]
        assert len(workers) == 2
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_state(pid)[:1] not in (b"", b"Z") for pid in workers):  # gone, or a zombie
            assert time.monotonic() < deadline, "a worker outlived its supervisor"
            time.sleep(0.2)


def _children(parent: int) -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
            and _state(int(entry.name)).split()[1:2] == [str(parent).encode()]]


def _state(pid: int) -> bytes:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return b""
    return stat[stat.rindex(b")") + 2:]  # state, ppid, ...


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
