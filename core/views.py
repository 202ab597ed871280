"""Named views: a page and its link's parameters saved under a name, kept in ``data/views.json``.

An analyst who comes back to the same selection every week (night accidents
in Nord, a comparison of two regions) saves it once and opens it from the home
page. A view is only a name, a page of an allowlist and the page's query
parameters: opening it is opening the link, which the page reads as any link
(what a hand-edited value gets wrong is set aside by the page, not here).

The file is read by every page that lists or saves views, so it must never
break one: it is checked entry by entry on reading; a file that cannot be read
whole (corrupt, hand-edited) is set aside under a timestamped name with a
French message, and its valid views are kept. It is written atomically (a
temporary file then ``os.replace``), so a failed write leaves the previous file
as it was. Writes of one server are serialised by a lock; two servers sharing
one data folder could still lose each other's last save.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from core import config
from core.formatting import format_quoted

VIEWS_FILE: Final = "views.json"
#: Where the views live, when set (tests and a second installation point it elsewhere).
VIEWS_FILE_ENV: Final = "GRAVITE_VIEWS_FILE"
FORMAT_VERSION: Final = 1
#: Pages a view may open (their address), with their French title.
PAGES: Final = {"explorer": "Explorer les accidents", "risk-map": "Carte des risques"}
MAX_NAME: Final = 80
MAX_VIEWS: Final = 200
MAX_PARAMS: Final = 40
MAX_VALUE: Final = 2000
_PARAM_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_LOCK = threading.Lock()


class ViewError(ValueError):
    """A view cannot be saved as given; the message is French, for the user."""


class ViewExistsError(ViewError):
    """A view of that name exists: saving again must say to replace it."""


@dataclass(frozen=True)
class SavedView:
    """A name, a page of :data:`PAGES` and its query parameters (as ``(key, value)`` pairs, sorted)."""

    name: str
    page: str
    params: tuple[tuple[str, str], ...]
    saved_at: str = ""


@dataclass(frozen=True)
class LoadedViews:
    """The views read, and a French notice when the file had to be set aside (None otherwise)."""

    views: tuple[SavedView, ...]
    notice: str | None = None


def views_path() -> Path:
    """The views file: ``$GRAVITE_VIEWS_FILE`` or ``data/views.json`` (read at each call, so tests can move it)."""
    return Path(os.environ.get(VIEWS_FILE_ENV) or config.DATA_DIR / VIEWS_FILE)


def same_name(first: str, second: str) -> bool:
    """Names are unique whatever their case and surrounding spaces.

    >>> same_name(" Nord la nuit", "nord LA NUIT ")
    True
    """
    return first.strip().casefold() == second.strip().casefold()


# --------------------------------------------------------------------------- #
# Checking a view
# --------------------------------------------------------------------------- #


def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "le nom est vide"
    if len(name.strip()) > MAX_NAME:
        return f"le nom dépasse {MAX_NAME} caractères"
    if not name.isprintable():
        return "le nom contient des caractères de contrôle"
    return None


def _params_problem(params: object) -> str | None:
    if not isinstance(params, Mapping):
        return "les paramètres ne sont pas une liste de clés et de valeurs"
    if len(params) > MAX_PARAMS:
        return f"plus de {MAX_PARAMS} paramètres"
    for key, value in params.items():
        if not isinstance(key, str) or not _PARAM_KEY.match(key):
            return f"paramètre {format_quoted(str(key))} non valable"
        if not isinstance(value, str) or len(value) > MAX_VALUE or not value.isprintable():
            return f"valeur du paramètre {format_quoted(key)} non valable"
    return None


def check_view(name: object, page: object, params: object, *, saved_at: str = "") -> SavedView:
    """The view, checked: a name of 1 to :data:`MAX_NAME` printable characters, a page of :data:`PAGES`, and at
    most :data:`MAX_PARAMS` text parameters with simple keys.

    Raises
    ------
    ViewError
        With a French message naming what is wrong.

    Examples
    --------
    >>> check_view(" Nord ", "explorer", {"years": "2019-2020", "deps": "59"}).params
    (('deps', '59'), ('years', '2019-2020'))
    >>> view_problem("Nord", "admin", {})
    "la page « admin » n'en accepte pas (pages possibles : explorer, risk-map)"
    """
    problem = view_problem(name, page, params)
    if problem:
        raise ViewError(f"Vue non enregistrable : {problem}.")
    return SavedView(name.strip(), page, tuple(sorted(params.items())), saved_at)  # type: ignore[union-attr]


def view_problem(name: object, page: object, params: object) -> str | None:
    """What is wrong with a view, in French; None when it can be saved."""
    if page not in PAGES:
        return f"la page {format_quoted(str(page))} n'en accepte pas (pages possibles : {', '.join(PAGES)})"
    return _name_problem(name) or _params_problem(params)


# --------------------------------------------------------------------------- #
# Reading and writing the file
# --------------------------------------------------------------------------- #


def _entries(text: str) -> list[object]:
    """The file's list of entries; ValueError (French) when the file is not a views file at all."""
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"JSON illisible, ligne {error.lineno}") from error
    if not isinstance(content, dict) or not isinstance(content.get("views"), list):
        raise ValueError("pas de liste « views »")
    if content.get("version") != FORMAT_VERSION:
        raise ValueError(f"version {format_quoted(str(content.get('version')))} inconnue")
    return content["views"]


def _read_entries(entries: list[object]) -> tuple[list[SavedView], list[str]]:
    """The valid, uniquely named views among ``entries``, and why each other one was left out."""
    views: list[SavedView] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        fields = entry if isinstance(entry, dict) else {}
        problem = view_problem(fields.get("name"), fields.get("page"), fields.get("params"))
        if problem is None and any(same_name(fields["name"], kept.name) for kept in views):
            problem = "nom en double"
        if problem is None and len(views) >= MAX_VIEWS:
            problem = f"au-delà de {MAX_VIEWS} vues"
        if problem:
            problems.append(f"vue n° {number} : {problem}")
            continue
        views.append(check_view(fields["name"], fields["page"], fields["params"],
                                saved_at=str(fields.get("saved_at", ""))))
    return views, problems


def _set_aside(path: Path) -> Path:
    """Rename the file with a timestamp beside it (nothing is deleted), and return the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.stem}.mis-de-cote-{stamp}{path.suffix}")
    os.replace(path, target)
    return target


def set_aside_files(path: Path | None = None) -> list[Path]:
    """Files of views set aside so far, oldest first (for the user to look at, or delete)."""
    path = path or views_path()
    return sorted(path.parent.glob(f"{path.stem}.mis-de-cote-*{path.suffix}"))


def _load_unlocked(path: Path) -> LoadedViews:
    if not path.exists():
        return LoadedViews(())
    try:
        views, problems = _read_entries(_entries(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        views, problems = [], [str(error) if isinstance(error, ValueError) else "fichier illisible"]
    if not problems:
        return LoadedViews(tuple(views))
    shown = " ; ".join(problems[:3]) + (" ; …" if len(problems) > 3 else "")
    notice = f"Le fichier des vues enregistrées n'a pas pu être lu en entier ({shown})."
    try:
        kept_as = _set_aside(path)
    except OSError as error:  # a read-only folder: say so, show what could be read, change nothing
        return LoadedViews(tuple(views), f"{notice} Il n'a pas pu être mis de côté ({error.strerror}) : "
                                         f"déplacez ou corrigez {format_quoted(str(path), 100)}.")
    notice += f" Il a été mis de côté, intact, sous {format_quoted(kept_as.name, 100)}"
    try:
        if views:
            _write_unlocked(views, path)
    except OSError as error:
        return LoadedViews(tuple(views), f"{notice} ; ses vues valables n'ont pas pu être réécrites "
                                         f"({error.strerror}).")
    return LoadedViews(tuple(views), f"{notice} ; {_kept_text(len(views))}.")


def _kept_text(count: int) -> str:
    """How many valid views the set-aside file gave back, in words.

    >>> _kept_text(0), _kept_text(2)
    ("aucune vue n'a pu être reprise", '2 vues valables reprises')
    """
    if count == 0:
        return "aucune vue n'a pu être reprise"
    return f"{count} vue valable reprise" if count == 1 else f"{count} vues valables reprises"


def load_views(path: Path | None = None) -> LoadedViews:
    """The saved views, in the file's order; a file that cannot be read whole is set aside with a notice.

    Never raises for the file's content: a missing file is no view, a corrupt
    or hand-edited one is renamed ``views.mis-de-cote-<timestamp>.json`` and
    its valid views are kept (written back to a clean file).
    """
    with _LOCK:
        return _load_unlocked(path or views_path())


def _write_unlocked(views: list[SavedView], path: Path) -> None:
    """Write ``views`` to a temporary file beside ``path``, flush it to disk, then swap it in."""
    content = {"version": FORMAT_VERSION, "views": [
        {"name": v.name, "page": v.page, "params": dict(v.params), "saved_at": v.saved_at} for v in views]}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_view(name: str, page: str, params: Mapping[str, str], *, replace: bool = False,
              path: Path | None = None) -> SavedView:
    """Save a view; an existing name (whatever its case) is replaced only with ``replace``.

    Raises
    ------
    ViewError
        The view is not valid, or there are already :data:`MAX_VIEWS`.
    ViewExistsError
        A view of that name exists and ``replace`` is False.
    """
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    view = check_view(name, page, params, saved_at=stamp)
    path = path or views_path()
    with _LOCK:
        views = list(_load_unlocked(path).views)
        existing = [v for v in views if same_name(v.name, view.name)]
        if existing and not replace:
            raise ViewExistsError(f"Une vue nommée {format_quoted(existing[0].name, MAX_NAME)} existe déjà.")
        if not existing and len(views) >= MAX_VIEWS:
            raise ViewError(f"Vue non enregistrable : {MAX_VIEWS} vues au plus ; supprimez-en une.")
        kept = [v if not same_name(v.name, view.name) else view for v in views]
        _write_unlocked(kept if existing else [*views, view], path)
    return view


def delete_view(name: str, *, path: Path | None = None) -> bool:
    """Delete the view named ``name``; False when there was none."""
    path = path or views_path()
    with _LOCK:
        views = list(_load_unlocked(path).views)
        kept = [v for v in views if not same_name(v.name, name)]
        if len(kept) == len(views):
            return False
        _write_unlocked(kept, path)
    return True
