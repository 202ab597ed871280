"""What training writes and loading checks: file names, version, years, targets, errors.

Why a module of its own
-----------------------
Training (:mod:`core.model.train`) and loading (:mod:`core.model.loading`)
must agree on every file name, on the model version and on the targets, and
the array predictor (:mod:`core.model.trees`) raises the same errors as the
loader. Keeping that contract here lets each side import it without importing
the other (training pulls in scikit-learn and XGBoost; prediction must not).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

MODEL_VERSION: Final = "2.0.0"  # 1.1: risk bands recall_95 / precision_75 in the card; 1.2: eCall; 2.0: people
MODEL_FILE: Final = "severity.ubj"
FATAL_MODEL_FILE: Final = "severity_fatal.ubj"
CARD_FILE: Final = "severity_card.json"
SUPPORT_FILE: Final = "severity_support.json"
TREES_FILE: Final = "severity_trees.parquet"
#: Which registered version (MLflow, :mod:`core.lifecycle.registry`) ``models/`` holds; absent for a model trained
#: here and not registered yet.
REGISTRY_FILE: Final = "registry.json"
#: The place history (:mod:`core.features.history`): counts per place and year, and totals per place.
HISTORY_COUNTS_FILE: Final = "place_history.parquet"
HISTORY_TOTALS_FILE: Final = "place_totals.parquet"
#: Every file of a trained model but the card, each with its SHA-256 in the card.
MODEL_FILES: Final = (MODEL_FILE, FATAL_MODEL_FILE, HISTORY_COUNTS_FILE, HISTORY_TOTALS_FILE, SUPPORT_FILE,
                      TREES_FILE)

HISTORY_FIRST_YEAR: Final = 2005
VALIDATION_YEAR: Final = 2019
TEST_YEAR: Final = 2020
SEED: Final = 20240604
THREADS: Final = 2
#: Most boosting rounds of a validation fit (early stopping ends it well before).
MAX_ROUNDS: Final = 3000

_COMMON_PARAMS: Final = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_bin": 128,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "nthread": THREADS,
    "seed": SEED,
    "eval_metric": ["auc", "logloss"],  # the last one (log loss) decides early stopping
}


@dataclass(frozen=True)
class TargetSettings:
    """How one target is trained.

    Attributes
    ----------
    params : dict
        XGBoost parameters.
    mask_rate : float
        Probability that a field of a training row is hidden (see :func:`core.model.fitting.mask_fields`).
    negative_share : float
        Share of the negative training rows kept, each weighted by its inverse so that
        the raw probabilities keep their scale (the calibration fixes the rest); 1 keeps all.
    """

    params: dict[str, Any]
    mask_rate: float
    negative_share: float = 1.0


#: Chosen on the 2019 validation year (first half). Severe: depth 6-10 and eta 0.04-0.1 were
#: within 0.002 AUC; eta 0.1 keeps `python -m core train` within minutes on 2 cores; hiding
#: fields 15 % of the time cost < 0.001 AUC with every field known and gained 0.007 with only
#: first-call fields. Fatal (5.5 % of accidents): shallower trees, fields hidden 5 % of the
#: time (15 % cost 0.002 AUC), 30 % of the non-fatal rows (3x faster, so a slower eta fits).
TARGETS: Final[dict[str, TargetSettings]] = {
    "severe": TargetSettings({**_COMMON_PARAMS, "max_depth": 8, "eta": 0.1, "min_child_weight": 20}, 0.15),
    "fatal": TargetSettings({**_COMMON_PARAMS, "max_depth": 6, "eta": 0.05, "min_child_weight": 50}, 0.05, 0.3),
}

WORST_INJURY: Final = ("unharmed", "light", "hospitalised", "killed")


class ModelMissingError(FileNotFoundError):
    """No trained model in the models folder; the message says how to build one."""


class ModelCardError(ValueError):
    """The model files do not match their card (or this code); retrain."""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read by blocks of 1 MiB (the card records one per model file).

    Examples
    --------
    >>> from core.config import MODELS_DIR
    >>> len(file_sha256(MODELS_DIR / CARD_FILE))
    64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_model_files(staging: Path, models_dir: Path) -> None:
    """Move a complete model (card and files) from ``staging`` into ``models_dir``, the card last; remove ``staging``.

    Until the card is in, :func:`core.model.loading.load_model` refuses the mixed folder (the files' SHA-256
    differ from the old card's), so a crash midway never serves half a model. Every other file of
    ``staging`` (the registry's note) follows the card.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    for name in (*MODEL_FILES, CARD_FILE):
        os.replace(staging / name, models_dir / name)
    for rest in staging.iterdir():
        os.replace(rest, models_dir / rest.name)
    shutil.rmtree(staging)
