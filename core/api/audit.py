"""The audit log: one JSON line per request, appended by every worker, rotated by size.

Why a module of its own
-----------------------
A dispatch centre must be able to say, for any estimate, who asked, what was
sent, what was answered and by which model. Each request adds one line (see
the README's "Audit log" for its fields and what a centre must keep or
purge); no key material is ever written, only the key's name.

Several worker processes append to the same file: each line is one
``write(2)`` on a descriptor opened with ``O_APPEND``, so lines never
interleave; rotation takes an exclusive lock (``fcntl.flock`` on a lock file
beside the log) and renames ``audit.jsonl`` to ``.1``, ``.1`` to ``.2``… keeping
``backups`` copies. A worker whose file was rotated by another notices the new
inode at its next size check and reopens.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any, Final

import orjson

#: Bytes written by this process between two checks of the file's size.
_CHECK_EVERY: Final = 64 * 1024
#: Answer fields the audit keeps as they are (``worst_injury`` follows from the two probabilities).
_KEPT: Final = ("id", "p_severe", "p_fatal", "band", "support", "support_severe_share", "model_version", "warnings",
                "error")


def audit_incident(parsed: dict[str, Any] | None) -> dict[str, Any] | None:
    """An incident as validated, with only its known fields (absent means unknown, as in the input contract).

    Examples
    --------
    >>> audit_incident({"id": None, "dep": "59", "atm": None, "vehicles": (7, 2)})
    {'dep': '59', 'vehicles': (7, 2)}
    """
    return None if parsed is None else {key: value for key, value in parsed.items() if value is not None}


def audit_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the audit keeps it: its figures, band and warnings; each factor as its field and effect.

    The factors' words follow from the incident and the model version, both in the
    line, so a batch of 1,000 writes a few hundred kilobytes instead of megabytes.

    Examples
    --------
    >>> audit_answer({"p_severe": 0.6, "p_fatal": 0.1, "worst_injury": {}, "band": {"key": "high"},
    ...               "top_factors": [{"field": "dep", "label": "…", "value": "…", "effect": 0.3, "text": "…"}]})
    {'p_severe': 0.6, 'p_fatal': 0.1, 'band': 'high', 'factors': [['dep', 0.3]]}
    """
    kept = {key: answer[key] for key in _KEPT if key in answer}
    if "band" in kept:
        kept["band"] = kept["band"]["key"]
    if "top_factors" in answer:
        kept["factors"] = [[factor["field"], factor["effect"]] for factor in answer["top_factors"]]
    return kept


class AuditLog:
    """Appends JSON lines to ``path``; rotates it past ``max_bytes``, keeping ``backups`` copies."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._fd = -1
        self._inode = -1
        self._since_check = 0
        self._open()
        self._check()

    def _open(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._inode = os.fstat(self._fd).st_ino

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line (a record that is not strict JSON is written with its text forms)."""
        try:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            line = orjson.dumps({key: repr(value) for key, value in record.items()},
                                option=orjson.OPT_APPEND_NEWLINE)
        if self._fd < 0:  # closed at a lifespan's end, written again by the next one
            self._open()
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view):]
        self._since_check += len(line)
        if self._since_check >= _CHECK_EVERY or self._since_check >= self.max_bytes:
            self._check()

    def _check(self) -> None:
        """Reopen when another worker rotated the file; rotate when it is too big."""
        self._since_check = 0
        lock = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                status = os.stat(self.path)
            except FileNotFoundError:
                self._open()
                return
            if status.st_ino != self._inode:
                self._open()
            elif status.st_size >= self.max_bytes:
                self._rotate()
        finally:
            os.close(lock)  # closing releases the lock

    def _rotate(self) -> None:
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._open()

    def close(self) -> None:
        """Close the file (the process ends)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
