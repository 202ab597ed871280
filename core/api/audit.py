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
beside the log) and renames ``audit.jsonl`` to ``audit.jsonl.<UTC time>-<pid>Z``
(sortable, never renamed again). A worker whose file was rotated by another
notices the new inode within a second and reopens; until then its lines go on
into the renamed file, which is kept (by default every rotated file is kept:
the centre purges them by its own rule).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from core.incident.fields import PERSON_FIELDS

#: Bytes written by this process between two checks of the file's size.
_CHECK_EVERY: Final = 64 * 1024
#: The MSD field the audit never writes: the vehicle's identity is not needed to account for an estimate.
_VIN: Final = "vehicleIdentificationNumber"
#: Answer fields the audit keeps as they are (``worst_injury`` follows from the two probabilities).
_KEPT: Final = ("id", "p_severe", "p_fatal", "band", "support", "support_severe_share", "model_version", "warnings",
                "error")


def audit_incident(parsed: dict[str, Any] | None) -> dict[str, Any] | None:
    """An incident as validated, with only its known fields (absent means unknown, as in the input contract).

    Examples
    --------
    >>> audit_incident({"id": None, "dep": "59", "atm": None, "vehicles": (7, 2), "people": ((3, 80, None, None),)})
    {'dep': '59', 'vehicles': (7, 2), 'people': [{'role': 3, 'age': 80}]}
    """
    if parsed is None:
        return None
    kept = {key: value for key, value in parsed.items() if value is not None}
    if "people" in kept:  # as the caller sends them, so that the audit line reads back as an incident
        kept["people"] = [{key: value for key, value in zip(PERSON_FIELDS, person, strict=True) if value is not None}
                          for person in kept["people"]]
    return kept


def audit_msd(message: Mapping[str, Any]) -> dict[str, Any]:
    """An eCall MSD as received, without its VIN wherever the layout puts it: data minimisation.

    The flat layout has the VIN at the top, the nested one in ``msdStructure``, and
    the standard's wrapper ``{"id", "msd"}`` holds either of them in ``msd``.

    Examples
    --------
    >>> audit_msd({"id": 2, "msd": {"msdStructure": {"messageIdentifier": 1,
    ...                                              "vehicleIdentificationNumber": {"isowmi": "VF1"}},
    ...                             "optionalAdditionalData": {"oid": "8.1", "data": "00"}}})
    {'id': 2, 'msd': {'msdStructure': {'messageIdentifier': 1}, 'optionalAdditionalData': {'oid': '8.1', 'data': '00'}}}
    """
    kept = {key: value for key, value in message.items() if key != _VIN}
    for inner in ("msd", "msdStructure"):
        if isinstance(kept.get(inner), Mapping):
            kept[inner] = audit_msd(kept[inner])
    return kept


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
    """Appends JSON lines to ``path``; past ``max_bytes`` it is renamed with the time and a new one begun.

    ``backups`` = 0 keeps every rotated file (the centre purges them by its own
    rule); N > 0 keeps the N most recent. A write that fails (disk full, file
    unwritable) is counted in ``failures`` and never fails the request; a line
    cut by it is ended, so that the next one stays readable.
    """

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = max(0, backups)
        self.failures = 0
        self.last_error: str | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._fd = -1
        self._inode = -1
        self._since_check = 0
        self._checked = 0.0
        self._open()
        self._check()

    def _open(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._inode = os.fstat(self._fd).st_ino

    def write(self, record: dict[str, Any]) -> bool:
        """Append one record as one line; False when it could not be written (counted in ``failures``)."""
        try:
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            line = orjson.dumps({key: repr(value) for key, value in record.items()},
                                option=orjson.OPT_APPEND_NEWLINE)
        written = 0
        try:
            if self._fd < 0:  # closed at a lifespan's end, or lost after a failure
                self._open()
            while written < len(line):
                written += os.write(self._fd, memoryview(line)[written:])
            self._since_check += len(line)
            if self._since_check >= min(_CHECK_EVERY, self.max_bytes) or time.monotonic() - self._checked > 1.0:
                self._check()
        except OSError as error:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error.strerror or error}"
            if 0 < written < len(line):
                with contextlib.suppress(OSError):
                    os.write(self._fd, b"\n")
            return written == len(line)
        return True

    def _check(self) -> None:
        """Reopen when another worker rotated the file; rotate when it is too big (at most once a second apart)."""
        self._since_check = 0
        self._checked = time.monotonic()
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

    def rotated(self) -> list[Path]:
        """The rotated files, oldest first."""
        return sorted(self.path.parent.glob(f"{self.path.name}.*-*Z"))

    def _rotate(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")
        os.replace(self.path, self.path.with_name(f"{self.path.name}.{stamp}-{os.getpid()}Z"))
        self._open()
        if self.backups:
            for old in self.rotated()[:-self.backups]:
                old.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file (the process ends)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
