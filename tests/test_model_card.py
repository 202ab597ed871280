"""The model card is typed data checked at load: a card that does not fit is refused there, naming its entry."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from core import config
from core.model.card import ModelCard, parse_card
from core.model.loading import load_model
from core.model.spec import CARD_FILE, MODEL_VERSION, ModelCardError
from tests.cards import committed_card_json


@pytest.fixture(scope="module")
def models_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("card") / "models"
    shutil.copytree(config.MODELS_DIR, copy)
    return copy


def test_the_committed_card_loads_as_typed_data() -> None:
    card = load_model().card
    assert isinstance(card, ModelCard)
    raw = committed_card_json()
    # Every figure is the file's, read as attributes.
    assert card.model_version == raw["model_version"] == MODEL_VERSION
    assert card.years.training == tuple(raw["years"]["training"])
    assert card.metrics.test.severe.auc == raw["metrics"]["test"]["severe"]["auc"]
    assert card.thresholds.severe["precision_75"].threshold == raw["thresholds"]["severe"]["precision_75"]["threshold"]
    assert card.bands.validation.low.high_edge == raw["bands"]["validation"]["low"]["to"]
    assert card.data_fingerprint.rows_per_year == {int(y): n for y, n in raw["data_fingerprint"]["rows_per_year"]
                                                   .items()}
    assert [c.start_year for c in card.start_year.candidates] == [
        c["start_year"] for c in raw["start_year"]["candidates"]]
    assert card.calibration.fatal.x == tuple(raw["calibration"]["fatal"]["x"])


def _drop_auc(raw: dict) -> None:
    del raw["metrics"]["test"]["severe"]["auc"]


def _years_as_text(raw: dict) -> None:
    raw["years"]["test"] = "2020"


def _auc_above_one(raw: dict) -> None:
    raw["metrics"]["test"]["severe"]["auc"] = 1.7


def _years_backwards(raw: dict) -> None:
    raw["years"]["training"] = [2019, 2015]


def _test_before_validation(raw: dict) -> None:
    raw["years"]["test"] = 2018


def _negative_share(raw: dict) -> None:
    raw["bands"]["validation"]["high"]["share"] = -0.1


def _unknown_entry(raw: dict) -> None:
    raw["bands"]["test"]["medium"]["median"] = 0.3


def _band_rule_missing(raw: dict) -> None:
    del raw["thresholds"]["fatal"]["recall_95"]


def _calibration_short(raw: dict) -> None:
    raw["calibration"]["severe"]["y"].pop()


def _candidate_not_an_object(raw: dict) -> None:
    raw["start_year"]["candidates"][2] = 2015


def _fatal_start_not_the_training_start(raw: dict) -> None:
    raw["years"]["training_fatal"][0] -= 1


def _band_cut_not_the_threshold(raw: dict) -> None:
    raw["bands"]["medium_from"]["threshold"] += 0.01


@pytest.mark.parametrize(("change", "entry", "problem"), [
    (_drop_auc, "metrics.test.severe.auc", "is missing"),
    (_years_as_text, "years.test", "should be an integer, not str"),
    (_auc_above_one, "metrics.test.severe.auc", "is 1.7, outside [0, 1]"),
    (_years_backwards, "years.training", "the first year comes after the last"),
    (_test_before_validation, "years.test", "not after the validation year 2019"),
    (_negative_share, "bands.validation.high.share", "outside [0, 1]"),
    (_unknown_entry, "bands.test.medium.median", "is not an expected entry"),
    (_band_rule_missing, "thresholds.fatal", "has no recall_95 threshold"),
    (_calibration_short, "calibration.severe.y", "values for"),
    (_candidate_not_an_object, "start_year.candidates[2]", "should be an object, not int"),
    (_fatal_start_not_the_training_start, "start_year.chosen_fatal", "but training starts in"),
    (_band_cut_not_the_threshold, "bands", "differ from those of thresholds.severe"),
])
def test_a_card_that_does_not_fit_is_refused_at_load_naming_the_entry(
        models_copy: Path, change: Callable[[dict], None], entry: str, problem: str) -> None:
    raw = committed_card_json()
    change(raw)
    (models_copy / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelCardError, match=re.escape(f"{CARD_FILE}: {entry} ") + ".*" + re.escape(problem)):
        load_model(models_copy, verify=False)
    with pytest.raises(ModelCardError, match="python -m core train"):
        parse_card(raw)


def test_a_card_of_another_version_or_not_json_is_refused(models_copy: Path) -> None:
    raw = committed_card_json()
    raw["model_version"] = "0.9.0"
    raw.pop("bands")  # an older card: the version is what the message names, not the missing entry
    (models_copy / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(ModelCardError, match="version '0.9.0' but this code expects"):
        load_model(models_copy, verify=False)
    (models_copy / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelCardError, match=f"{CARD_FILE} is not JSON"):
        load_model(models_copy, verify=False)
