"""What the lifecycle last decided, for the pages: the gate's last decision and the last drift report.

Why a module of its own
-----------------------
The pages and the API show the lifecycle's state without importing MLflow,
the ingest or training: the commands write two small JSON files under
``data/lifecycle/`` (besides logging them to their MLflow run) and this module
reads them. A file is written whole under another name, then renamed, so a
reader never sees half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from core import config

GATE_FILE: Final = "gate.json"
DRIFT_FILE: Final = "drift.json"
#: The time-travel demonstration's record (:mod:`core.lifecycle.time_travel`).
TIME_TRAVEL_FILE: Final = "time_travel.json"
LIFECYCLE_SUBDIR: Final = "lifecycle"


def lifecycle_dir(data_dir: Path | None = None) -> Path:
    """``data/lifecycle/``: the last gate decision and drift report of this installation.

    ``config.DATA_DIR`` is read at each call (not when this module is imported), so a test can point it elsewhere.
    """
    return Path(data_dir or config.DATA_DIR) / LIFECYCLE_SUBDIR


def write_status(name: str, content: dict[str, Any], *, data_dir: Path | None = None) -> Path:
    """Write ``content`` as ``data/lifecycle/<name>`` (whole, then renamed); returns the path."""
    folder = lifecycle_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    partial = path.with_name(f".{name}.{os.getpid()}.part")
    partial.write_text(json.dumps(content, indent=1, ensure_ascii=False))
    os.replace(partial, path)
    return path


def read_status(name: str, *, data_dir: Path | None = None) -> dict[str, Any] | None:
    """The last ``gate.json`` or ``drift.json`` of this installation, or None when there is none (or unreadable).

    Examples
    --------
    >>> read_status(GATE_FILE, data_dir=Path("/nonexistent")) is None
    True
    """
    try:
        content = json.loads((lifecycle_dir(data_dir) / name).read_text())
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return None
    return content if isinstance(content, dict) else None
