"""The API's settings: where keys, audit log and model are, and its limits; read from the environment.

Why a module of its own
-----------------------
uvicorn starts each worker as a new process that builds the app from scratch
(:func:`core.api.app.create_app`), so ``python -m core serve`` hands its
options to the workers through ``GRAVITE_API_*`` variables, read here once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from core import config

#: Folder of the API's own files (keys, audit log, shared metrics), never committed.
API_DIR: Final = config.DATA_DIR / "api"


@dataclass(frozen=True)
class ApiSettings:
    """Limits and paths of one API process.

    Attributes
    ----------
    models_dir : Path
        The severity model served (``models/``).
    keys_file : Path
        Hashes, names and roles of the API keys (:mod:`core.api.keys`).
    audit_file : Path
        The audit log; rotated copies get ``.1`` … ``.N`` after it.
    audit_max_bytes, audit_backups : int
        Size at which the log is rotated, and how many rotated files are kept (0: all of them).
    rate : float
        Requests per second allowed to a key that sets none of its own.
    max_body_bytes : int
        Largest request body (413 beyond).
    max_batch : int
        Most incidents in one batch (422 beyond).
    body_timeout : float
        Seconds a client has to send its whole body (408 beyond).
    """

    models_dir: Path = config.MODELS_DIR
    keys_file: Path = API_DIR / "keys.json"
    audit_file: Path = API_DIR / "audit.jsonl"
    audit_max_bytes: int = 50 * 1024 * 1024
    audit_backups: int = 0
    rate: float = 50.0
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    body_timeout: float = 10.0

    def __post_init__(self) -> None:
        positive = {"rate": self.rate, "max_body_bytes": self.max_body_bytes, "max_batch": self.max_batch,
                    "body_timeout": self.body_timeout, "audit_max_bytes": self.audit_max_bytes}
        wrong = [name for name, value in positive.items() if not (value > 0 and math.isfinite(value))]
        if self.audit_backups < 0:
            wrong.append("audit_backups")
        if wrong:
            raise ValueError(f"réglage de l’API invalide : {', '.join(wrong)} (nombres positifs attendus ; "
                             "audit_backups ≥ 0)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ApiSettings:
        """Settings with each ``GRAVITE_API_<FIELD>`` variable that is set replacing the default.

        Examples
        --------
        >>> ApiSettings.from_env({"GRAVITE_API_RATE": "200", "GRAVITE_API_MAX_BATCH": "10"}).rate
        200.0
        >>> ApiSettings.from_env({"GRAVITE_API_RATE": "0"})
        Traceback (most recent call last):
        ...
        ValueError: réglage de l’API invalide : rate (nombres positifs attendus ; audit_backups ≥ 0)
        """
        values: dict[str, object] = {}
        for field in fields(cls):
            text = environ.get(f"GRAVITE_API_{field.name.upper()}")
            if text is not None:
                kind = type(getattr(cls, field.name))
                values[field.name] = Path(text) if kind is not str and issubclass(kind, Path) else kind(text)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The variables that give these settings to :meth:`from_env` in another process.

        Examples
        --------
        >>> ApiSettings.from_env(ApiSettings(rate=7.5).to_env()).rate
        7.5
        """
        return {f"GRAVITE_API_{field.name.upper()}": str(getattr(self, field.name)) for field in fields(self)}
