"""An API with its own keys and audit log in a temporary folder, for the API's tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import FastAPI

from core import config
from core.api.app import create_app
from core.api.keys import create_key
from core.api.settings import ApiSettings
from tests.e2e.server import free_port


@dataclass(frozen=True)
class ApiUnderTest:
    """The app and the keys the tests use (operator, admin, and a slow key of 2 requests per second)."""

    app: FastAPI
    settings: ApiSettings
    operator: str
    admin: str
    slow: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        """The ``Authorization`` header of ``key`` (default: the operator's)."""
        return {"Authorization": f"Bearer {key or self.operator}"}


def api_under_test(folder: Path, **settings: object) -> ApiUnderTest:
    """A fresh app whose keys file and audit log live in ``folder``."""
    config = ApiSettings(keys_file=folder / "keys.json", audit_file=folder / "audit.jsonl", **settings)
    operator = create_key(config.keys_file, "samu-59", "operator", rate=1e6)
    admin = create_key(config.keys_file, "admin", "admin", rate=1e6)
    slow = create_key(config.keys_file, "lent", "operator", rate=2)
    return ApiUnderTest(create_app(config), config, operator, admin, slow)


def call(url: str, *, key: str | None = None, body: bytes | None = None) -> tuple[int, dict | str, dict]:
    """Status, JSON body (or text) and headers of one request to a served API."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - a loopback URL of the test
            status, text, headers = response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read().decode(), dict(error.headers)
    try:
        return status, json.loads(text), headers
    except ValueError:
        return status, text, headers


#: What the served API prints (its development key among it), in its folder.
SERVER_LOG: Final = "server.log"


@contextmanager
def served_api(folder: Path, *, workers: int = 1, **env: str) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    """``python -m core serve --dev-key`` on a free port, its files in ``folder``: (url, environment, process)."""
    environment = {**os.environ, "GRAVITE_API_KEYS_FILE": str(folder / "keys.json"),
                   "GRAVITE_API_AUDIT_FILE": str(folder / "audit.jsonl"), "GRAVITE_DATA": str(folder), **env}
    port = free_port()
    log = folder / SERVER_LOG  # a file, not a pipe: a pipe nobody reads would block the server once full
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers",
                                    str(workers), "--dev-key"], cwd=config.ROOT, env=environment, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, environment, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return call(f"{url}/readyz")[0] == 200
    except OSError:
        return False
