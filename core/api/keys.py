"""API keys: created once and shown once, stored only as a hash, each with a name, a role and a rate.

Why a module of its own
-----------------------
A dispatch centre gives each client system its own key, so that it can be
revoked alone and every audit line names who asked. A key reads
``grv_<id>_<secret>``: the id (public, 8 characters) finds the record, the
SHA-256 of the whole key is compared in constant time
(:func:`hmac.compare_digest`); the ids are not secret. The secret holds 256 random bits, so a plain
SHA-256 cannot be brute-forced and costs a microsecond per request (a slow
password hash is for low-entropy secrets). The file is written only by
``python -m core keys`` (atomically, readable by its owner only); the server
reads it and notices a change within a second (:class:`KeyRing`), so a
revocation takes effect without a restart (a new key at once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Final

#: What each role may do; an admin may do everything an operator may.
ROLES: Final = ("operator", "admin")
PREFIX: Final = "grv_"
_ID_BYTES: Final = 4  # 8 hexadecimal characters (never the separator _)
_SECRET_BYTES: Final = 32  # 256 bits
#: Hash compared when the id matches no key, so that a wrong id costs what a wrong secret does.
_DECOY: Final = hashlib.sha256(b"no such key").hexdigest()
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class KeyCommandError(ValueError):
    """A key command that cannot be done (duplicate or unknown name, bad role), in French."""


@dataclass(frozen=True)
class ApiKey:
    """One key's record: never the key itself, only its SHA-256."""

    name: str
    role: str
    key_id: str
    sha256: str
    created: str
    rate: float | None = None  # requests per second; None: the server's default
    revoked: str | None = None

    def allows(self, role: str) -> bool:
        """Whether this key may use a route that needs ``role``.

        Examples
        --------
        >>> key = ApiKey("a", "operator", "x", "h", "t")
        >>> key.allows("operator"), key.allows("admin"), replace(key, role="admin").allows("operator")
        (True, False, True)
        """
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyFileError(ValueError):
    """The keys file cannot be read or holds a record this code does not understand."""


def read_keys(path: Path) -> list[ApiKey]:
    """Every record of the keys file (none when it does not exist).

    Raises
    ------
    KeyFileError
        When the file is not JSON, a record lacks a field or has one it should
        not, or names a role other than operator and admin.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        keys = [ApiKey(**record) for record in raw["keys"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise KeyFileError(f"fichier de clés {path} illisible ({type(error).__name__})") from None
    unknown = sorted({key.role for key in keys} - set(ROLES))
    if unknown:
        raise KeyFileError(f"fichier de clés {path} : rôle inconnu {unknown[0]!r}")
    return keys


def _write_keys(path: Path, keys: Iterable[ApiKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"version": 1, "keys": [asdict(key) for key in keys]}, out, ensure_ascii=False, indent=1)
    os.replace(staging, path)


def create_key(path: Path, name: str, role: str, *, rate: float | None = None) -> str:
    """Add a key and return it: the only time it is ever shown.

    Raises
    ------
    KeyCommandError
        For a role other than operator or admin, a name that is empty, too long or
        has characters other than letters, digits, ``-``, ``_`` and ``.``, or a name
        already held by a key in service.
    """
    if role not in ROLES:
        raise KeyCommandError(f"rôle inconnu « {role} » : operator ou admin")
    if not name or len(name) > 64 or not _NAME_CHARS.issuperset(name):
        raise KeyCommandError(f"nom invalide « {name[:64]} » : 1 à 64 lettres, chiffres, - _ ou .")
    if rate is not None and not rate > 0:
        raise KeyCommandError("le débit doit être un nombre de requêtes par seconde positif")
    keys = read_keys(path)
    if any(key.name == name and key.revoked is None for key in keys):
        raise KeyCommandError(f"une clé « {name} » est déjà en service : révoquez-la d’abord (keys revoke {name})")
    key_id = secrets.token_hex(_ID_BYTES)
    while any(key.key_id == key_id for key in keys):
        key_id = secrets.token_hex(_ID_BYTES)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_keys(path, [*keys, ApiKey(name, role, key_id, _hash(key), created, rate)])
    return key


def revoke_key(path: Path, name: str) -> ApiKey:
    """Revoke the key in service named ``name`` (its record stays, for the audit)."""
    keys = read_keys(path)
    live = [key for key in keys if key.name == name and key.revoked is None]
    if not live:
        raise KeyCommandError(f"aucune clé en service nommée « {name} »")
    revoked = replace(live[0], revoked=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    _write_keys(path, [revoked if key is live[0] else key for key in keys])
    return revoked


def key_id_of(token: str) -> str | None:
    """The public id of a presented key, or None when it does not look like one.

    Examples
    --------
    >>> key_id_of("grv_AbCd1234_secret"), key_id_of("nope")
    ('AbCd1234', None)
    """
    if not token.startswith(PREFIX):
        return None
    key_id, _, secret = token[len(PREFIX):].partition("_")
    return key_id if key_id and secret else None


class KeyRing:
    """The keys in service, as the server sees them: re-read when the file changes (checked once a second)."""

    def __init__(self, path: Path, *, check_every: float = 1.0) -> None:
        self.path = path
        self.check_every = check_every
        self._by_id: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int, int] | None = None
        self.error: str | None = None
        self._checked = float("-inf")
        self.refresh()

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read.

        A file that cannot be read (half-written by hand, wrong permissions, an
        unknown role) leaves the last keys read in service, and ``error`` says why
        until a good file replaces it.
        """
        self._checked = time.monotonic()
        try:
            status = self.path.stat()
            stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is read once, not at every request
        try:
            keys = read_keys(self.path) if stamp is not None else []
        except KeyFileError as error:
            self.error = str(error)
            return
        self.error = None
        self._by_id = {key.key_id: key for key in keys if key.revoked is None}

    @property
    def empty(self) -> bool:
        """No key in service: every request is refused."""
        return not self._by_id

    def find(self, token: str) -> ApiKey | None:
        """The key in service that ``token`` is, or None; the hash is compared in constant time."""
        if time.monotonic() - self._checked > self.check_every:
            self.refresh()
        key_id = key_id_of(token)
        record = self._by_id.get(key_id) if key_id else None
        if record is None and key_id:  # a key created a moment ago works at once (a stat per unknown id)
            self.refresh()
            record = self._by_id.get(key_id)
        matches = hmac.compare_digest(_hash(token), record.sha256 if record else _DECOY)
        return record if matches and record is not None else None
