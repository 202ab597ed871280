"""The registry: versions of ``gravite-severity``, the ``champion`` alias, and ``models/`` as its export.

Why a module of its own
-----------------------
Every training run registers a version; one alias, ``champion``, names the
version in service, and ``models/`` holds that version's files, so the app,
the command line and the API keep reading one folder and ``make run`` needs no
training and no MLflow. Putting a version in service (:func:`promote`) copies
its files from the run's artifacts into a staging folder, checks them with
:func:`core.model.loading.load_model` (card, SHA-256 of every file), moves them
in (the card last, as training does), writes ``registry.json`` beside them,
then moves the alias: a version whose files fail the checks never reaches
``models/`` or the alias. Each promotion is recorded on the registered model
(tag ``gravite.champions``), so :func:`rollback` can go back one step.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from core import config
from core.lifecycle.tracking import MODEL_ARTIFACTS, MODEL_NAME, log_training
from core.model.loading import load_model, read_registry_note
from core.model.spec import CARD_FILE, REGISTRY_FILE, file_sha256, install_model_files

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

CHAMPION: Final = "champion"
#: Tag of the registered model: the versions put in service, oldest first, as JSON.
HISTORY_TAG: Final = "gravite.champions"


class RegistryError(ValueError):
    """A version that does not exist, a rollback with nothing to go back to; the message says what to do."""


@dataclass(frozen=True)
class Served:
    """The version in service: its number, run, when and why it was put in service."""

    version: int
    run_id: str
    promoted: str
    reason: str


def register(client: MlflowClient, run_id: str) -> int:
    """Register the model files of ``run_id`` as a new version of ``gravite-severity``; returns its number."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(MODEL_NAME)
    except MlflowException:
        client.create_registered_model(MODEL_NAME, description="Gravité : probabilité qu’un accident soit grave "
                                                               "(tué ou hospitalisé) et mortel, BAAC.")
    source = f"{client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACTS}"
    version = client.create_model_version(MODEL_NAME, source=source, run_id=run_id)
    return int(version.version)


def champion(client: MlflowClient) -> ModelVersion | None:
    """The version the ``champion`` alias names, or None (no registered model or no alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException:
        return None


def champions(client: MlflowClient) -> list[int]:
    """The versions put in service, oldest first (the last is the champion)."""
    from mlflow.exceptions import MlflowException

    try:
        tags = client.get_registered_model(MODEL_NAME).tags
    except MlflowException:
        return []
    return [int(v) for v in json.loads(tags.get(HISTORY_TAG, "[]"))]


def _version(client: MlflowClient, version: int) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(MODEL_NAME, str(version))
    except MlflowException:
        known = ", ".join(str(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'")) or "aucune"
        raise RegistryError(f"la version {version} de {MODEL_NAME} n’existe pas (versions : {known})") from None


def promote(client: MlflowClient, version: int, *, reason: str, models_dir: Path = config.MODELS_DIR,
            history: bool = True) -> Served:
    """Put ``version`` in service: its files checked and moved into ``models_dir``, then the alias moved.

    Parameters
    ----------
    client : MlflowClient
        From :func:`core.lifecycle.tracking.tracking_client`.
    version : int
        A registered version of ``gravite-severity``.
    reason : str
        Why, in words (the gate's decision, a person's name and reason); kept in ``registry.json`` and on the
        version.
    models_dir : Path
        The folder the app and the API read.
    history : bool
        Record the promotion for :func:`rollback` (False when rolling back).

    Raises
    ------
    RegistryError
        When the version does not exist.
    core.model.spec.ModelCardError
        When its files fail the checks of :func:`core.model.loading.load_model`; ``models_dir`` is then untouched.
    """
    chosen = _version(client, version)
    models_dir = Path(models_dir)
    staging = models_dir.with_name(f".{models_dir.name}-promoting")
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="gravite-version-") as folder:
        downloaded = Path(client.download_artifacts(chosen.run_id, MODEL_ARTIFACTS, folder))
        shutil.copytree(downloaded, staging)
    try:
        load_model(staging)  # card, file hashes, features: refused here, never in service
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    served = Served(int(chosen.version), chosen.run_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    reason)
    # The note names the card it goes with: a note left beside another model (a crash, a `git pull` of a new
    # committed model) is then ignored rather than believed (core.model.loading.read_registry_note).
    (staging / REGISTRY_FILE).write_text(json.dumps(
        {"name": MODEL_NAME, "version": served.version, "run_id": served.run_id, "promoted": served.promoted,
         "reason": reason, "card_sha256": file_sha256(staging / CARD_FILE)}, indent=1, ensure_ascii=False))
    install_model_files(staging, models_dir)
    _point_alias(client, served.version, promoted=served.promoted, reason=reason, history=history)
    return served


def _point_alias(client: MlflowClient, version: int, *, promoted: str, reason: str, history: bool) -> None:
    """Move ``champion`` to ``version`` and record it (once: promoting the champion again adds no step)."""
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
    client.set_model_version_tag(MODEL_NAME, str(version), "gravite.promoted", promoted)
    client.set_model_version_tag(MODEL_NAME, str(version), "gravite.reason", reason)
    steps = champions(client)
    if history and steps[-1:] != [version]:
        client.set_registered_model_tag(MODEL_NAME, HISTORY_TAG, json.dumps([*steps, version]))


def repair_alias(client: MlflowClient, *, models_dir: Path = config.MODELS_DIR) -> int | None:
    """Make ``champion`` name the version ``models/`` holds, when a crash left them apart; returns that version.

    ``models/`` is what is served: its note (checked against its card) wins over the alias. Returns None when
    ``models/`` holds no registered version.
    """
    note = read_registry_note(models_dir)
    if note is None:
        return None
    current = champion(client)
    if current is None or int(current.version) != note["version"]:
        _point_alias(client, note["version"], promoted=note["promoted"], reason=note["reason"], history=True)
    return int(note["version"])


def rollback(client: MlflowClient, *, models_dir: Path = config.MODELS_DIR) -> Served:
    """Put back the version that was in service before the champion (one step back per call)."""
    history = champions(client)
    if len(history) < 2:
        raise RegistryError("aucune version précédente à remettre en service "
                            f"(versions mises en service : {', '.join(map(str, history)) or 'aucune'})")
    current, previous = history[-1], history[-2]
    served = promote(client, previous, reason=f"retour arrière depuis la version {current}", models_dir=models_dir,
                     history=False)
    client.set_registered_model_tag(MODEL_NAME, HISTORY_TAG, json.dumps(history[:-1]))
    return served


def ensure_champion(client: MlflowClient, *, models_dir: Path = config.MODELS_DIR) -> int:
    """The champion's version; when the registry has none, the model of ``models_dir`` is logged and becomes it.

    A fresh installation serves the committed model, trained before any registry existed here: it is logged
    as a run (its card's figures, its files) and registered as the first champion, so the gate always has one
    to compare with.
    """
    repaired = repair_alias(client, models_dir=models_dir)
    if repaired is not None:
        return repaired
    # models/ serves a model the registry does not know: the committed one on a fresh installation, or one
    # brought by a `git pull`. It is what is in service, so it is registered as such.
    first = champion(client) is None
    model = load_model(models_dir)
    run_id = log_training(client, model.card, models_dir, run_name=f"modèle en service ({model.version})",
                          tags={"gravite.kind": "bootstrap"})
    version = register(client, run_id)
    promote(client, version, models_dir=models_dir,
            reason="le modèle de models/ au premier usage du registre" if first
            else "le modèle trouvé dans models/, hors registre (livré ou entraîné à part)")
    return version

