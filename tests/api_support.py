"""An API with its own keys and audit log in a temporary folder, for the API's tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from core.api.app import create_app
from core.api.keys import create_key
from core.api.settings import ApiSettings


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
