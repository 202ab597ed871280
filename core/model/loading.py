"""Load the committed severity model and check it against its card before anyone trusts it.

Why a module of its own
-----------------------
Every page and the command line start here. :func:`load_model` refuses a
model whose files, card and code disagree (another version, other features, a
file changed since training) or whose card does not hold what its readers
expect (:mod:`core.model.card`), with a message that names the entry and says
how to rebuild the model, and reads only what a prediction needs: the array
form of the trees, the place history and the support table. The XGBoost boosters themselves are read on
first use (large batches, the model page), so that loading stays quick.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow.parquet as pq

from core import config
from core.features.facts import KEY_FACTS
from core.features.history import PlaceHistory, load_place_history
from core.features.names import FEATURE_NAMES
from core.model.card import ModelCard, parse_card
from core.model.spec import (
    CARD_FILE,
    FATAL_MODEL_FILE,
    HISTORY_COUNTS_FILE,
    HISTORY_TOTALS_FILE,
    MODEL_FILE,
    MODEL_FILES,
    MODEL_VERSION,
    REGISTRY_FILE,
    SUPPORT_FILE,
    TARGETS,
    TREES_FILE,
    ModelCardError,
    ModelMissingError,
    file_sha256,
)
from core.model.trees import TreeArrays

if TYPE_CHECKING:
    import xgboost as xgb

#: XGBoost threads when predicting: one incident never goes through XGBoost (see TreeArrays);
#: batches use both cores.
PREDICT_THREADS: Final = 2


@dataclass(frozen=True)
class SeverityModel:
    """A loaded severity model: trees, calibration, place history, support table and card.

    Use :func:`load_model` to get one, then :func:`core.model.predict.predict_one` or
    :func:`core.model.predict.predict_many`.
    The XGBoost boosters themselves are read on first use (large batches, the model page).
    """

    models_dir: Path
    trees: TreeArrays  # the boosters as arrays, for quick prediction
    card: ModelCard
    history: PlaceHistory
    support_codes: np.ndarray  # (combinations, len(KEY_FACTS)), -1 = unknown in the store
    support_counts: np.ndarray  # (combinations, 3): accidents, severe, fatal
    #: Which registered version this is (``registry.json``: name, version, run_id, promoted, reason), or None.
    registry: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def version(self) -> str:
        """``model_version`` of the card."""
        return self.card.model_version

    @property
    def data_years(self) -> tuple[int, int]:
        """First year of the place history and the test year: the years of data the model has seen."""
        return self.card.years.history[0], self.card.years.test

    @functools.cached_property
    def calibrators(self) -> dict[str, dict[str, np.ndarray]]:
        """The card's calibration maps as arrays, by target, for :func:`core.model.metrics.calibrate_targets`."""
        maps = self.card.calibration
        return {target: {"x": np.asarray(maps.of(target).x), "y": np.asarray(maps.of(target).y)}
                for target in TARGETS}

    @functools.cached_property
    def severe(self) -> xgb.Booster:
        """The booster of ``p_severe`` (before calibration)."""
        return _load_booster(self.models_dir / MODEL_FILE)

    @functools.cached_property
    def fatal(self) -> xgb.Booster:
        """The booster of ``p_fatal`` (before calibration)."""
        return _load_booster(self.models_dir / FATAL_MODEL_FILE)

    def booster(self, target: str) -> xgb.Booster:
        """``severe`` or ``fatal`` by name."""
        return self.severe if target == "severe" else self.fatal


def _read_card(path: Path) -> ModelCard:
    """The card, checked against this code (version, features) and entry by entry (:func:`parse_card`)."""
    try:
        raw = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelCardError(f"{path.name} is not JSON ({error}): retrain with `python -m core train`") from None
    version = raw.get("model_version") if isinstance(raw, dict) else None
    if version != MODEL_VERSION:
        raise ModelCardError(f"model card version {version!r} but this code expects "
                             f"{MODEL_VERSION!r}: retrain with `python -m core train`")
    card = parse_card(raw, source=path.name)
    if card.features.names != tuple(FEATURE_NAMES):
        raise ModelCardError("the model was trained with other features than core.features builds: "
                             "retrain with `python -m core train`")
    return card


def _load_booster(path: Path) -> xgb.Booster:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(path))
    booster.set_param({"nthread": PREDICT_THREADS})
    return booster


def load_model(models_dir: Path = config.MODELS_DIR, *, verify: bool = True) -> SeverityModel:
    """Load the committed severity model and check it against its card.

    Parameters
    ----------
    models_dir : Path
        Folder holding the files written by :func:`core.model.train.train`.
    verify : bool
        Check the SHA-256 of every file against the card (a few milliseconds).

    Returns
    -------
    SeverityModel

    Raises
    ------
    ModelMissingError
        When a file is missing, with the command that rebuilds the model.
    ModelCardError
        When the files, the card and this code disagree (other version, other
        features, a file changed since training), or when an entry of the card
        is missing or wrong (the message names it, see :func:`~core.model.card.parse_card`).

    Examples
    --------
    >>> from core.model.predict import predict_one
    >>> model = load_model()
    >>> 0 < predict_one(model, {"vehicles": [7, 33], "agg": 1})["p_severe"] < 1
    True
    """
    models_dir = Path(models_dir)
    missing = [name for name in (CARD_FILE, *MODEL_FILES) if not (models_dir / name).exists()]
    if missing:
        raise ModelMissingError(
            f"No complete severity model in {models_dir} (missing {', '.join(missing)}). "
            "Build it with `python -m core train` (make train)."
        )
    card = _read_card(models_dir / CARD_FILE)
    if verify:
        changed = [name for name in MODEL_FILES if file_sha256(models_dir / name) != card.files.get(name)]
        if changed:
            raise ModelCardError(f"{', '.join(changed)} changed since the card was written: "
                                 "retrain with `python -m core train`")
    support = json.loads((models_dir / SUPPORT_FILE).read_text())
    if support["facts"] != list(KEY_FACTS):
        raise ModelCardError("the support table uses other key facts: retrain with `python -m core train`")
    rows = np.array(support["rows"], dtype=np.int64).reshape(-1, len(KEY_FACTS) + 3)
    trees = TreeArrays.from_table(pq.read_table(models_dir / TREES_FILE))
    if set(trees.targets) != set(TARGETS):
        raise ModelCardError(f"{TREES_FILE} holds {sorted(trees.targets)}: retrain with `python -m core train`")
    history = load_place_history(counts_path=models_dir / HISTORY_COUNTS_FILE,
                                 totals_path=models_dir / HISTORY_TOTALS_FILE)
    return SeverityModel(models_dir, trees, card, history,
                         rows[:, :len(KEY_FACTS)], rows[:, len(KEY_FACTS):].astype(np.float64),
                         read_registry_note(models_dir))


def read_registry_note(models_dir: Path = config.MODELS_DIR) -> dict[str, Any] | None:
    """Which registered version ``models_dir`` holds (``registry.json``, written when a version is put in
    service), or None for a model not registered on this installation, or when the note belongs to another card."""
    path = Path(models_dir) / REGISTRY_FILE
    try:
        note = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        raise ModelCardError(f"{path} is not JSON: put a version back with `python -m core promote VERSION`") from None
    if not isinstance(note, dict) or note.get("card_sha256") != file_sha256(Path(models_dir) / CARD_FILE):
        return None  # written beside another card (a crash mid-promotion, a new committed model): not this model
    return note
