"""Every training run in MLflow: its settings, data, figures, plots and model files.

Why a module of its own
-----------------------
A centre that retrains on a new year must be able to say, months later, which
data and settings gave the model in service and how it scored. MLflow keeps
that record: one run per training, with the card's parameters and figures as
searchable values and the card, plots and model files as artifacts. By default
the store is local, under ``data/mlflow/`` (SQLite and an artifact folder,
never committed); ``MLFLOW_TRACKING_URI`` points it at a team's server
instead. The model files are logged as they are (XGBoost ``.ubj``, Parquet,
JSON): no pickle, and the registry's versions are plain folders that
:func:`core.model.loading.load_model` reads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from core import config
from core.model.card import ModelCard
from core.model.spec import CARD_FILE, MODEL_FILES, TARGETS

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

EXPERIMENT: Final = "gravite-severity"
#: The registered model: each training run gives one version of it.
MODEL_NAME: Final = "gravite-severity"
#: Where a run keeps the model's files (the registry's versions point here).
MODEL_ARTIFACTS: Final = "model"
TRACKING_SUBDIR: Final = "mlflow"


def tracking_dir(data_dir: Path = config.DATA_DIR) -> Path:
    """The local tracking folder: ``mlflow.db`` (runs and registry) and ``artifacts/``."""
    return Path(data_dir) / TRACKING_SUBDIR


def tracking_uri(data_dir: Path = config.DATA_DIR, *, local: bool = False) -> str:
    """``MLFLOW_TRACKING_URI`` when set (a team's server), else the local SQLite store under ``data_dir``.

    ``local`` always gives the local store: a demonstration or a test must never write into a team's registry.

    Examples
    --------
    >>> tracking_uri(Path("/srv/gravite/data"), local=True)
    'sqlite:////srv/gravite/data/mlflow/mlflow.db'
    """
    team = None if local else os.environ.get("MLFLOW_TRACKING_URI")
    return team or f"sqlite:///{tracking_dir(data_dir).resolve() / 'mlflow.db'}"


def tracking_client(data_dir: Path = config.DATA_DIR, *, local: bool = False) -> MlflowClient:
    """A client on the tracking store, the experiment created on first use (its artifacts beside the database).

    ``local``: the store under ``data_dir`` even when ``MLFLOW_TRACKING_URI`` is set (see :func:`tracking_uri`).
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the CLI prints its own steps
    from mlflow.tracking import MlflowClient

    for noisy in ("alembic", "mlflow.store.db.utils"):  # the SQLite store's schema messages on first use
        logging.getLogger(noisy).setLevel(logging.WARNING)
    uri = tracking_uri(data_dir, local=local)
    own = uri == tracking_uri(data_dir, local=True)
    if own:
        tracking_dir(data_dir).mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=(tracking_dir(data_dir).resolve() / "artifacts").as_uri()
                                 if own else None)
    return client


def experiment_id(client: MlflowClient) -> str:
    return client.get_experiment_by_name(EXPERIMENT).experiment_id


_UNSAFE: Final = re.compile(r"[^0-9A-Za-z_\-. /]")


def metric_name(*parts: str) -> str:
    """A metric name MLflow accepts, from the card's words.

    Examples
    --------
    >>> metric_name("test", "subgroup", "urban (agg 2)", "severe_auc")
    'test.subgroup.urban_agg_2.severe_auc'
    """
    return ".".join(_UNSAFE.sub("", part).strip().replace(" ", "_") for part in parts)


def card_params(card: ModelCard) -> dict[str, str]:
    """The settings of a run, flat: years, plan, start years, XGBoost settings per target, seed, folds."""
    params: dict[str, Any] = {
        "years.history": f"{card.years.history[0]}-{card.years.history[1]}",
        "years.training": f"{card.years.training[0]}-{card.years.training[1]}",
        "years.training_fatal": f"{card.years.training_fatal[0]}-{card.years.training_fatal[1]}",
        "years.validation": card.years.validation, "years.test": card.years.test,
        "plan.sample": card.plan.sample, "plan.max_rounds": card.plan.max_rounds,
        "model_version": card.model_version, "training_rows": card.training_rows,
        "training_rows_fatal": card.training_rows_fatal, "n_features": len(card.features.names),
        "seed": card.params.seed, "validation_folds": card.params.validation_folds,
    }
    for target in TARGETS:
        settings = getattr(card.params, target)
        params[f"{target}.mask_rate"] = settings.mask_rate
        params[f"{target}.negative_share"] = settings.negative_share
        params[f"{target}.rounds"] = settings.rounds
        for key, value in settings.xgboost.items():
            params[f"{target}.xgboost.{key}"] = value
    return {key: json.dumps(value) if isinstance(value, (list, dict)) else str(value) for key, value in params.items()}


def card_metrics(card: ModelCard) -> dict[str, float]:
    """The figures of a run, flat: validation and test per target, baselines, first call, subgroups, eCall."""
    metrics: dict[str, float] = {}

    def put(prefix: tuple[str, ...], figures: Any) -> None:
        for name in ("auc", "pr_auc", "brier", "log_loss", "ece"):
            value = getattr(figures, name, None)
            if value is not None:
                metrics[metric_name(*prefix, name)] = float(value)

    for target in TARGETS:
        put(("validation", target), getattr(card.metrics.validation, target))
        put(("test", target), getattr(card.metrics.test, target))
    test = card.metrics.test
    put(("test", "first_call", "severe"), test.first_call_fields_only.severe)
    for name, figures in test.subgroups.items():
        put(("test", "subgroup", name, "severe"), figures.severe)
        if figures.fatal_auc is not None:
            metrics[metric_name("test", "subgroup", name, "fatal_auc")] = float(figures.fatal_auc)
    for mode in ("full_call", "msd_facts", "message", "untrusted_position"):
        for target in TARGETS:
            put(("test", "ecall", mode, target), getattr(getattr(card.ecall.test, mode), target))
    metrics["training_seconds"] = float(card.training_seconds)
    return metrics


@contextmanager
def _plots(card: ModelCard, roc: Mapping[str, tuple[Any, Any]] | None) -> Iterator[Path]:
    """The card's calibration curves (test year, per target), the validation start-year comparison, and the
    test year's ROC curves when ``roc`` gives them (``{target: (outcomes, probabilities)}``), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with tempfile.TemporaryDirectory(prefix="gravite-plots-") as folder:
        figure, axes = plt.subplots(1, len(TARGETS), figsize=(10, 4.5))
        for axis, target in zip(axes, TARGETS, strict=True):
            table = getattr(card.metrics.test.calibration_table, target)
            filled = [row for row in table if row.mean_predicted is not None and row.observed is not None]
            predicted = [row.mean_predicted for row in filled]
            observed = [row.observed for row in filled]
            axis.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle="--", label="parfait")
            axis.plot(predicted, observed, marker="o", label=f"{card.years.test}")
            axis.set_title(f"Calibration, p_{target}, {card.years.test}")
            axis.set_xlabel("probabilité prédite")
            axis.set_ylabel("part observée")
            axis.legend()
        figure.tight_layout()
        figure.savefig(Path(folder) / "calibration.png", dpi=110)
        plt.close(figure)
        figure, axis = plt.subplots(figsize=(6, 4))
        for target in TARGETS:
            tried = getattr(card.start_year, "candidates" if target == "severe" else "candidates_fatal")
            axis.plot([c.start_year for c in tried], [c.auc for c in tried], marker="o", label=f"p_{target}")
        axis.set_title(f"ROC-AUC de validation ({card.years.validation}) selon la première année")
        axis.set_xlabel("première année d’entraînement")
        axis.set_ylabel("ROC-AUC")
        axis.legend()
        figure.tight_layout()
        figure.savefig(Path(folder) / "start_years.png", dpi=110)
        plt.close(figure)
        if roc:
            from sklearn.metrics import roc_auc_score, roc_curve

            figure, axis = plt.subplots(figsize=(5, 5))
            axis.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle="--", label="hasard")
            for target, (outcomes, probabilities) in roc.items():
                false_positive, true_positive, _ = roc_curve(outcomes, probabilities)
                axis.plot(false_positive, true_positive,
                          label=f"p_{target} (AUC {roc_auc_score(outcomes, probabilities):.3f})")
            axis.set_title(f"Courbes ROC, {card.years.test}")
            axis.set_xlabel("taux de faux positifs")
            axis.set_ylabel("taux de vrais positifs")
            axis.legend()
            figure.tight_layout()
            figure.savefig(Path(folder) / "roc.png", dpi=110)
            plt.close(figure)
        yield Path(folder)


def log_training(client: MlflowClient, card: ModelCard, models_dir: Path, *, run_name: str | None = None,
                 tags: Mapping[str, str] | None = None,
                 roc: Mapping[str, tuple[Any, Any]] | None = None) -> str:
    """Log one training run: parameters, figures, card, plots and the model's files; returns the run id.

    Parameters
    ----------
    client : MlflowClient
        From :func:`tracking_client`.
    card : ModelCard
        The trained model's card (:func:`core.model.train.train` returns it).
    models_dir : Path
        The folder holding the card and the model files, logged under ``model/``.
    run_name : str, optional
        Shown in the MLflow UI (default: the years it was trained and tested on).
    tags : mapping, optional
        More tags (``gravite.kind`` = ``training``, ``challenger``, ``bootstrap`` …).
    roc : mapping, optional
        ``{target: (outcomes, probabilities)}`` of the test year, for the ROC plot
        (:func:`test_year_roc`); without it, only the card's plots are drawn.
    """
    from mlflow.entities import Metric, Param, RunTag

    name = run_name or f"entraîné ≤ {card.years.validation}, testé {card.years.test}"
    all_tags = {"gravite.data_fingerprint": card.data_fingerprint.hash,
                "gravite.quick_model": str(card.plan.is_quick).lower(), **(tags or {})}
    run = client.create_run(experiment_id(client), run_name=name, tags=all_tags)
    run_id = run.info.run_id
    try:
        client.log_batch(run_id, params=[Param(k, v) for k, v in card_params(card).items()],
                         metrics=[Metric(k, v, 0, 0) for k, v in card_metrics(card).items()],
                         tags=[RunTag("gravite.years", f"{card.years.training[0]}-{card.years.validation}"
                                                       f"/{card.years.test}")])
        client.log_dict(run_id, {"names": list(card.features.names), "inputs": list(card.inputs)}, "features.json")
        client.log_dict(run_id, _data_fingerprint(card), "data_fingerprint.json")
        with _plots(card, roc) as folder:
            client.log_artifacts(run_id, str(folder), "plots")
        for file in (CARD_FILE, *MODEL_FILES):
            client.log_artifact(run_id, str(Path(models_dir) / file), MODEL_ARTIFACTS)
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _data_fingerprint(card: ModelCard) -> dict[str, Any]:
    fingerprint = card.data_fingerprint
    return {"hash": fingerprint.hash, "rows_per_year": fingerprint.rows_per_year,
            "severe_per_year": fingerprint.severe_per_year,
            "files": {name: {"bytes": f.bytes, "sha256": f.sha256} for name, f in fingerprint.files.items()}}


def test_year_roc(models_dir: Path, con: Any) -> dict[str, tuple[Any, Any]]:
    """The outcomes and probabilities of the model of ``models_dir`` on its card's test year, per target."""
    from core.lifecycle.gate import year_predictions
    from core.model.loading import load_model

    model = load_model(models_dir)
    frame, p_severe, p_fatal = year_predictions(model, con, model.card.years.test)
    return {"severe": (frame["severe"].to_numpy().astype(int), p_severe),
            "fatal": (frame["fatal"].to_numpy().astype(int), p_fatal)}
